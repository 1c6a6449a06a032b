/**
 * The partition index over call items (layout version 3), shared by the adapters so that
 * both answer `queryIndex` by the same rules:
 *
 * - what a commit writes: one call item per head shard it touches (`callsOf`), and the shard
 *   head after it (`shardHeadAfter`);
 * - how a partition's chunks are found: a partition `p`'s chunks are in its shard's call
 *   items in sequence order, and every call item records each partition's next offset after
 *   it, so "no chunk of `p` reaching `from` up to here" (`nexts[p] ≤ from`) is monotonic in the
 *   sequence. A reader continues after the last call it knows to be before `from` (from its
 *   cache of recent, immutable call items: a tailing reader reads only the calls that are
 *   new), scans forward a page at a time, and binary-searches the sequence when it is far
 *   behind (a seek to an old offset: about log₂(calls) single-item reads).
 *
 *   shard 0, partition 2 (slot 2), from = 40
 *   seq      …  17        18        19        20
 *   nexts[2]    38        38        45        52      ← monotonic
 *   chunks      p0,p2     p1        p2,p5     p2      → 17 is the last call before 40;
 *                                                       the chunk holding 40 is in 19
 */
import { InternalError } from '../errors';
import { HEAD_SHARD_SIZE, headShard } from './layout';
import {
  type AppendCommit,
  type CallRecord,
  EMPTY_HEAD,
  type IndexEntry,
  type ShardHead,
  type StartOffsetMove,
  shardRef,
} from './ports';

/** The head of a shard nobody wrote to. */
export const EMPTY_SHARD_HEAD: ShardHead = {
  seq: 0,
  heads: Array.from({ length: HEAD_SHARD_SIZE }, () => EMPTY_HEAD),
};

/**
 * The head shard a set of start-offset moves is for, or `'conflict'` when one does not move
 * forward (`LogTrim.advanceStartOffsets`: nothing moves). Throws when the moves span head
 * shards or name a partition twice (a caller's bug, not a race).
 */
export function shardOfMoves(moves: readonly StartOffsetMove[]): number | 'conflict' {
  if (moves.length === 0 || moves.some((m) => m.to <= m.from)) return 'conflict';
  const shard = headShard((moves[0] as StartOffsetMove).partition);
  if (
    moves.some((m) => headShard(m.partition) !== shard) ||
    new Set(moves.map((m) => m.partition)).size < moves.length
  ) {
    throw new RangeError('start offsets move within one head shard, each partition once');
  }
  return shard;
}

/**
 * A shard's head after start-offset moves (`LogTrim.advanceStartOffsets`), or `'conflict'`
 * when one no longer applies: its partition's start is not `from` any more (another trim moved
 * it first) or `to` is past the partition's next offset.
 */
export function shardHeadAfterMoves(head: ShardHead, moves: readonly StartOffsetMove[]): ShardHead | 'conflict' {
  const heads = [...head.heads];
  for (const m of moves) {
    const cur = heads[shardSlot(m.partition)] ?? EMPTY_HEAD;
    if (cur.startOffset !== m.from || m.to > cur.nextOffset) return 'conflict';
    heads[shardSlot(m.partition)] = { ...cur, startOffset: m.to, bytes: cur.bytes - m.bytesRemoved };
  }
  return { seq: head.seq, heads };
}

/** True when two shard heads are the same state (what a head CAS compares). */
export function sameShardHead(a: ShardHead, b: ShardHead): boolean {
  return (
    a.seq === b.seq &&
    a.heads.every((h, i) => {
      const o = b.heads[i] ?? EMPTY_HEAD;
      return (
        h.nextOffset === o.nextOffset &&
        h.startOffset === o.startOffset &&
        h.bytes === o.bytes &&
        h.maxTimestamp === o.maxTimestamp
      );
    })
  );
}

/** Where partition `p` sits inside its shard's head and call items. */
export function shardSlot(partition: number): number {
  return partition - headShard(partition) * HEAD_SHARD_SIZE;
}

/** The partitions of a commit that fall in one of its head shards. */
export function partsIn(
  commit: AppendCommit,
  s: { readonly topicId: string; readonly shard: number },
): AppendCommit['partitions'] {
  return commit.partitions.filter((p) => p.entry.topicId === s.topicId && headShard(p.entry.partition) === s.shard);
}

/** The call items a commit writes, one per shard, in the order of `commit.shards`. */
export function callsOf(commit: AppendCommit): CallRecord[] {
  return commit.shards.map((s) => {
    const chunks = partsIn(commit, s).map((p) => p.entry);
    if (chunks.length === 0) throw new InternalError(`commit names shard ${s.shard} but has no chunk in it`);
    const nexts = s.head.heads.map((h) => h.nextOffset);
    for (const e of chunks) nexts[shardSlot(e.partition)] = e.lastOffset + 1;
    return {
      topicId: s.topicId,
      shard: s.shard,
      seq: s.head.seq,
      segmentKey: commit.segment.key,
      appendMs: (chunks[0] as IndexEntry).appendMs,
      nexts,
      chunks,
    };
  });
}

/** A shard's head after a commit of `parts` (its entries and chunk sizes) onto `head`. */
export function shardHeadAfter(
  head: ShardHead,
  parts: readonly { entry: IndexEntry; chunkBytes: number }[],
): ShardHead {
  const heads = [...head.heads];
  for (const p of parts) {
    const i = shardSlot(p.entry.partition);
    const h = heads[i] ?? EMPTY_HEAD;
    heads[i] = {
      nextOffset: p.entry.lastOffset + 1,
      startOffset: h.startOffset,
      bytes: h.bytes + p.chunkBytes,
      maxTimestamp: p.entry.maxTimestampSoFar,
    };
  }
  return { seq: head.seq + 1, heads };
}

/** How an adapter reads call items. */
export interface CallSource {
  /** Call items of a shard with `seq > afterSeq`, oldest first, strongly consistent; at most `limit`. */
  readCalls(topicId: string, shard: number, afterSeq: number, limit: number): Promise<CallRecord[]>;
  /** The shard's newest call item, strongly consistent. */
  newestCall(topicId: string, shard: number): Promise<CallRecord | undefined>;
}

const PAGE = 25;

/**
 * Recent call items per shard. They are immutable once committed, so a cached one is right
 * for as long as it exists, and a reader whose call item retention removed meanwhile finds
 * its object gone and is told OFFSET_OUT_OF_RANGE (the fetch re-reads the head).
 */
export class CallCache {
  private readonly shards = new Map<string, Map<number, CallRecord>>();
  /** The cached call items of each segment (a call writes one per head shard it touches). */
  private readonly bySegment = new Map<string, CallRecord[]>();

  constructor(
    private readonly perShard = 512,
    private readonly maxShards = 256,
    private readonly maxSegments = 8192,
  ) {}

  /** Every chunk of `segmentKey` in the call items cached here (none if it has none). */
  chunksOf(segmentKey: string): IndexEntry[] {
    return (this.bySegment.get(segmentKey) ?? []).flatMap((c) => c.chunks);
  }

  get(topicId: string, shard: number, seq: number): CallRecord | undefined {
    return this.shards.get(shardRef(topicId, shard))?.get(seq);
  }

  add(calls: readonly CallRecord[]): void {
    for (const c of calls) {
      const ref = shardRef(c.topicId, c.shard);
      let m = this.shards.get(ref);
      if (!m) {
        if (this.shards.size >= this.maxShards) this.shards.delete(this.shards.keys().next().value as string);
        m = new Map();
        this.shards.set(ref, m);
      }
      if (!m.has(c.seq)) {
        const same = this.bySegment.get(c.segmentKey) ?? [];
        same.push(c);
        this.bySegment.set(c.segmentKey, same);
        if (this.bySegment.size > this.maxSegments) {
          this.bySegment.delete(this.bySegment.keys().next().value as string);
        }
      }
      m.set(c.seq, c);
      if (m.size > this.perShard) {
        // drop the oldest quarter (by sequence)
        const seqs = [...m.keys()].sort((a, b) => a - b).slice(0, this.perShard / 4);
        for (const s of seqs) m.delete(s);
      }
    }
  }

  /** The highest cached sequence of the shard for which `before` holds, or −1. */
  lastBefore(topicId: string, shard: number, before: (c: CallRecord) => boolean): number {
    let lo = -1;
    for (const c of this.shards.get(shardRef(topicId, shard))?.values() ?? []) {
      if (c.seq > lo && before(c)) lo = c.seq;
    }
    return lo;
  }
}

/**
 * The index entries of a partition whose `lastOffset` is in `[from, to]`, in offset order, at
 * most `limit`, found in its shard's call items (see the module comment).
 */
export async function findChunks(
  source: CallSource,
  cache: CallCache,
  topicId: string,
  partition: number,
  from: number,
  to: number,
  limit: number,
): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  if (to < from || limit <= 0) return out;
  const shard = headShard(partition);
  const slot = shardSlot(partition);
  // the call holds no chunk of the partition ending at or after `from`, nor does any before it
  const before = (c: CallRecord) => (c.nexts[slot] as number) <= from;
  let after = cache.lastBefore(topicId, shard, before);
  for (;;) {
    const cached = cache.get(topicId, shard, after + 1);
    let page: CallRecord[];
    if (cached) page = [cached];
    else {
      page = await source.readCalls(topicId, shard, after, PAGE);
      cache.add(page);
      if (page.length === 0) return out;
      const last = page[page.length - 1] as CallRecord;
      if (out.length === 0 && page.length === PAGE && before(last)) {
        // far behind: binary search instead of scanning page by page
        after = await searchLastBefore(source, cache, topicId, shard, before, last.seq);
        continue;
      }
    }
    for (const call of page) {
      after = call.seq;
      for (const e of call.chunks) {
        if (e.partition !== partition || e.lastOffset < from || e.lastOffset > to) continue;
        out.push(e);
        if (out.length >= limit) return out;
      }
      // later calls hold only offsets at or beyond this call's next offset
      if ((call.nexts[slot] as number) > to) return out;
    }
  }
}

/**
 * The last sequence after `lo` (for which `before` holds) at which `before` still holds:
 * binary search between `lo` and the newest call. Sequences deleted by retention (holes)
 * hold no chunks and count as "not before".
 */
async function searchLastBefore(
  source: CallSource,
  cache: CallCache,
  topicId: string,
  shard: number,
  before: (c: CallRecord) => boolean,
  lo: number,
): Promise<number> {
  const newest = await source.newestCall(topicId, shard);
  if (!newest) return lo;
  cache.add([newest]);
  if (before(newest)) return newest.seq;
  let low = lo;
  let high = newest.seq; // `before` fails here
  while (high - low > 1) {
    const mid = low + Math.floor((high - low) / 2);
    const [m] = await source.readCalls(topicId, shard, mid - 1, 1);
    if (m && m.seq < high) {
      cache.add([m]);
      if (before(m)) {
        low = m.seq;
        continue;
      }
    }
    high = mid;
  }
  return low;
}
