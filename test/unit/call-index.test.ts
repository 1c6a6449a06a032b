import { describe, expect, it } from 'vitest';
import { InternalError } from '../../lib/errors';
import { SeededRandom } from '../../lib/ids';
import { decodeCall, encodeCall } from '../../lib/storage/call-codec';
import { CallCache, type CallSource, findChunks } from '../../lib/storage/call-index';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import type { CallRecord, IndexEntry } from '../../lib/storage/ports';

const TOPIC = '0f0e0d0c-0b0a-4908-8706-050403020100';
const SEG = 'segments/2026/12/02/05/01JEXAMPLE0000000000000000.seg';

/** A shard's history: `calls` calls, each touching a random subset of `partitions`. */
function history(rng: SeededRandom, calls: number, partitions: number, shard = 0): CallRecord[] {
  const next = new Array<number>(HEAD_SHARD_SIZE).fill(0);
  let maxTs = -1;
  const out: CallRecord[] = [];
  for (let seq = 0; seq < calls; seq++) {
    const touched = new Set<number>();
    for (let n = 1 + rng.int(3); n > 0; n--) touched.add(rng.int(partitions));
    const appendMs = 1_700_000_000_000 + seq * 10;
    const chunks: IndexEntry[] = [...touched]
      .sort((a, b) => a - b)
      .map((i, k) => {
        const count = 1 + rng.int(5);
        const base = next[i] as number;
        next[i] = base + count;
        maxTs = Math.max(maxTs, appendMs + 3);
        return {
          topicId: TOPIC,
          partition: shard * HEAD_SHARD_SIZE + i,
          baseOffset: base,
          lastOffset: base + count - 1,
          segmentKey: `${SEG}${seq}`,
          byteOffset: 16 + k * 300,
          byteLength: 300,
          minTimestamp: appendMs - 5,
          maxTimestamp: appendMs + 3,
          maxTimestampSoFar: maxTs,
          appendMs,
        };
      });
    out.push({ topicId: TOPIC, shard, seq, segmentKey: `${SEG}${seq}`, appendMs, nexts: [...next], chunks });
  }
  return out;
}

/** A call source over a list (holes allowed), counting its reads. */
function source(calls: CallRecord[]) {
  const reads = { pages: 0, newest: 0 };
  const src: CallSource = {
    async readCalls(_t, _s, afterSeq, limit) {
      reads.pages++;
      return calls.filter((c) => c.seq > afterSeq).slice(0, limit);
    },
    async newestCall() {
      reads.newest++;
      return calls.at(-1);
    },
  };
  return { src, reads };
}

function brute(calls: CallRecord[], partition: number, from: number, to: number, limit: number) {
  return calls
    .flatMap((c) => c.chunks)
    .filter((e) => e.partition === partition && e.lastOffset >= from && e.lastOffset <= to)
    .slice(0, limit);
}

describe('call items', () => {
  it('round-trip through their packed form, about 20 bytes a chunk', () => {
    const rng = new SeededRandom(3);
    for (const c of history(rng, 50, 16, 2)) {
      const bytes = encodeCall(c);
      expect(decodeCall(bytes, TOPIC, 2, c.seq)).toEqual(c);
      expect(bytes.byteLength).toBeLessThan(130 + 24 * c.chunks.length);
    }
  });

  it('refuse a chunk that does not belong to the call, and a damaged body', () => {
    const [c] = history(new SeededRandom(4), 1, 4) as [CallRecord];
    const first = c.chunks[0] as IndexEntry;
    expect(() => encodeCall({ ...c, chunks: [{ ...first, lastOffset: first.lastOffset + 1 }] })).toThrow(InternalError);
    expect(() => encodeCall({ ...c, chunks: [{ ...first, partition: 40 }] })).toThrow(InternalError);
    expect(() => encodeCall({ ...c, nexts: c.nexts.slice(1) })).toThrow(InternalError);
    const bytes = encodeCall(c);
    expect(() => decodeCall(bytes.subarray(0, bytes.byteLength - 1), TOPIC, 0, 0)).toThrow(/truncated/);
    expect(() => decodeCall(Uint8Array.from([...bytes, 0]), TOPIC, 0, 0)).toThrow(/trailing/);
    expect(() => decodeCall(Uint8Array.from([9, ...bytes.subarray(1)]), TOPIC, 0, 0)).toThrow(/version/);
  });
});

describe('finding a partition’s chunks among its shard’s calls', () => {
  it('answers like a full scan, from any offset, with holes where calls were released, cold or warm', async () => {
    const rng = new SeededRandom(11);
    for (let round = 0; round < 30; round++) {
      const all = history(rng, 1 + rng.int(400), 1 + rng.int(16));
      // retention released a prefix, and some calls further on
      const cut = rng.int(Math.min(all.length, 60));
      const calls = all.filter((_, i) => i >= cut && rng.next() > 0.1);
      const { src } = source(calls);
      const warm = new CallCache();
      for (let q = 0; q < 20; q++) {
        const partition = rng.int(HEAD_SHARD_SIZE);
        const last = Math.max(0, ...all.map((c) => c.nexts[partition] as number));
        const from = rng.int(last + 2);
        const to = from + rng.int(last + 2);
        const limit = 1 + rng.int(30);
        const want = brute(calls, partition, from, to, limit);
        expect(await findChunks(src, new CallCache(), TOPIC, partition, from, to, limit)).toEqual(want);
        expect(await findChunks(src, warm, TOPIC, partition, from, to, limit)).toEqual(want);
      }
    }
  });

  it('reads only new calls when tailing, and about log₂(calls) when seeking far back', async () => {
    const calls = history(new SeededRandom(5), 20_000, 4);
    const { src, reads } = source(calls);
    const cache = new CallCache();
    // a seek to the middle, cold: a binary search, not 400 pages
    const mid = (calls[10_000] as CallRecord).chunks[0] as IndexEntry;
    const found = await findChunks(src, cache, TOPIC, mid.partition, mid.baseOffset, mid.lastOffset, 1);
    expect(found).toEqual([mid]);
    expect(reads.pages + reads.newest).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(20_000)) + 2);
    // tailing: the calls up to the last one read are known; the next read starts after them
    const p = 0;
    const tail = brute(calls, p, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).slice(-3);
    const end = (calls.at(-1) as CallRecord).nexts[p] as number;
    const first = tail[0] as IndexEntry;
    expect(await findChunks(src, cache, TOPIC, p, first.baseOffset, end - 1, 10)).toEqual(tail);
    const before = reads.pages + reads.newest;
    // the same range again comes from the cache (the calls are immutable)
    expect(await findChunks(src, cache, TOPIC, p, first.baseOffset, end - 1, 10)).toEqual(tail);
    expect(reads.pages + reads.newest).toBe(before);
  });
});
