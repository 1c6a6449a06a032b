/**
 * The log's behaviour, as one suite run twice: on the in-memory fakes (test/unit) and on
 * the real local backends (test/integration).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { type SluiceError, TopicNotFoundError } from '../../lib/errors';
import { SluiceLog, type SluiceLogOptions } from '../../lib/log/log';
import type { ProduceRecord } from '../../lib/log/produce';
import { partitionForKey } from '../../lib/records/partitioner';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import type { LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import { TEST_DAY_MS } from './time';

/** Stores for one test. */
export type StoresFactory = () => Promise<{ objects: ObjectStore; metadata: LogMetadataStore }>;

export const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
export const str = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));
export const rec = (value: string, extra: Partial<ProduceRecord> = {}): ProduceRecord => ({
  value: utf8(value),
  ...extra,
});

/** Moves a manual clock in small steps (letting real I/O run between) until `p` settles. */
export async function advanceUntilSettled<T>(clock: ManualClock, p: Promise<T>, stepMs = 100): Promise<T> {
  let settled = false;
  const watched = p.finally(() => {
    settled = true;
  });
  for (let i = 0; i < 10_000 && !settled; i++) {
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 2));
  }
  return watched;
}

/** Awaits a promise expected to reject with a SluiceError and returns it. */
export async function rejection(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected a rejection');
}

export function logSuite(name: string, stores: StoresFactory) {
  const make = async (opts: Partial<SluiceLogOptions> = {}) => {
    const s = await stores();
    return { ...s, log: new SluiceLog({ ...s, ...opts }) };
  };

  describe(`log behaviour: ${name}`, () => {
    it('round-trips records byte for byte with dense offsets and request-order answers', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'orders', partitions: 3 });
      const res = await log.append({
        batches: [
          {
            topic: 'orders',
            records: [
              rec('a', { partition: 1 }),
              rec('b', {
                partition: 0,
                key: utf8('k'),
                headers: [
                  ['trace', utf8('t1')],
                  ['n', null],
                ],
              }),
              rec('c', { partition: 1, timestamp: 1234 }),
              { value: null, key: null, partition: 2 },
            ],
          },
        ],
      });
      expect(res.duplicate).toBe(false);
      expect(res.batches[0]?.offsets).toEqual([
        { partition: 1, offset: 0 },
        { partition: 0, offset: 0 },
        { partition: 1, offset: 1 },
        { partition: 2, offset: 0 },
      ]);
      const p1 = await log.fetch({ topic: 'orders', partition: 1, offset: 0 });
      expect(p1.records.map((r) => [r.offset, str(r.value)])).toEqual([
        [0, 'a'],
        [1, 'c'],
      ]);
      expect(p1.records[1]?.timestamp).toBe(1234);
      expect(p1).toMatchObject({ nextOffset: 2, highWatermark: 2, startOffset: 0 });
      const p0 = await log.fetch({ topic: 'orders', partition: 0, offset: 0 });
      expect(str(p0.records[0]?.key ?? null)).toBe('k');
      expect(p0.records[0]?.headers.map(([n, v]) => [n, str(v)])).toEqual([
        ['trace', 't1'],
        ['n', null],
      ]);
      const p2 = await log.fetch({ topic: 'orders', partition: 2, offset: 0 });
      expect(p2.records[0]?.value).toBeNull();
      const more = await log.append({ batches: [{ topic: 'orders', records: [rec('d', { partition: 1 })] }] });
      expect(more.batches[0]?.offsets).toEqual([{ partition: 1, offset: 2 }]);
      const from1 = await log.fetch({ topic: 'orders', partition: 1, offset: 1 });
      expect(from1.records.map((r) => [r.offset, str(r.value)])).toEqual([
        [1, 'c'],
        [2, 'd'],
      ]);
    });

    it('routes keyed records with murmur2 and keeps null keys of one call together', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'keyed', partitions: 8 });
      const keys = ['alice', 'bob', 'carol', 'dave', 'erin'];
      const res = await log.append({
        batches: [{ topic: 'keyed', records: keys.map((k) => rec(k, { key: utf8(k) })) }],
      });
      expect(res.batches[0]?.offsets.map((o) => o.partition)).toEqual(keys.map((k) => partitionForKey(utf8(k), 8)));
      const nulls = await log.append({ batches: [{ topic: 'keyed', records: [rec('x'), rec('y'), rec('z')] }] });
      const parts = new Set(nulls.batches[0]?.offsets.map((o) => o.partition));
      expect(parts.size).toBe(1);
    });

    it('honours maxRecords and maxBytes strictly, but always returns one record', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'limits', partitions: 1 });
      for (let i = 0; i < 4; i++) {
        await log.append({
          batches: [
            { topic: 'limits', records: Array.from({ length: 5 }, (_, j) => rec(`${i * 5 + j}`.padStart(10, '-'))) },
          ],
        });
      }
      const a = await log.fetch({ topic: 'limits', partition: 0, offset: 3, maxRecords: 7 });
      expect(a.records.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
      expect(a.nextOffset).toBe(10);
      const b = await log.fetch({ topic: 'limits', partition: 0, offset: 0, maxBytes: 35 });
      expect(b.records.map((r) => r.offset)).toEqual([0, 1, 2]);
      const c = await log.fetch({ topic: 'limits', partition: 0, offset: 19, maxBytes: 1 });
      expect(c.records.map((r) => r.offset)).toEqual([19]);
      expect(c.nextOffset).toBe(20);
      const all = await log.fetch({ topic: 'limits', partition: 0, offset: 0, maxRecords: 1000 });
      expect(all.records.map((r) => str(r.value))).toEqual(
        Array.from({ length: 20 }, (_, i) => `${i}`.padStart(10, '-')),
      );
    });

    it('answers OFFSET_OUT_OF_RANGE with both bounds, and an empty read at the high watermark', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'range', partitions: 2 });
      await log.append({
        batches: [{ topic: 'range', records: [rec('a', { partition: 0 }), rec('b', { partition: 0 })] }],
      });
      const e = await rejection(log.fetch({ topic: 'range', partition: 0, offset: 3 }));
      expect(e.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(e.details).toMatchObject({ startOffset: 0, highWatermark: 2, offset: 3 });
      const atEnd = await log.fetch({ topic: 'range', partition: 0, offset: 2 });
      expect(atEnd).toMatchObject({ records: [], nextOffset: 2, highWatermark: 2 });
      expect((await rejection(log.fetch({ topic: 'range', partition: 2, offset: 0 }))).code).toBe(
        'PARTITION_NOT_FOUND',
      );
      expect((await rejection(log.fetch({ topic: 'nope', partition: 0, offset: 0 }))).code).toBe('TOPIC_NOT_FOUND');
      expect((await rejection(log.fetch({ topic: 'range', partition: 0, offset: -1 }))).code).toBe('INVALID_ARGUMENT');
    });

    it('long-polls at the high watermark until a record arrives or the wait ends', async () => {
      const clock = new ManualClock(TEST_DAY_MS);
      const { log } = await make({ clock });
      await log.createTopic({ name: 'poll', partitions: 1 });
      const started = clock.nowMs();
      const empty = await advanceUntilSettled(
        clock,
        log.fetch({ topic: 'poll', partition: 0, offset: 0, waitMs: 1000 }),
      );
      expect(empty.records).toEqual([]);
      expect(clock.nowMs() - started).toBeGreaterThanOrEqual(1000);
      const waiting = log.fetch({ topic: 'poll', partition: 0, offset: 0, waitMs: 20_000 });
      await clock.advance(200);
      await log.append({ batches: [{ topic: 'poll', records: [rec('late')] }] });
      const before = clock.nowMs();
      const got = await advanceUntilSettled(clock, waiting);
      expect(got.records.map((r) => str(r.value))).toEqual(['late']);
      // answered within a poll interval or two of the append, not at the end of the wait
      expect(clock.nowMs() - before).toBeLessThan(2000);
    });

    it('an idle long-poll re-reads the head eventually consistent, with a doubling pause', async () => {
      const clock = new ManualClock(TEST_DAY_MS);
      const s = await stores();
      const reads: { at: number; consistent: boolean }[] = [];
      const getHeads = s.metadata.getHeads.bind(s.metadata);
      s.metadata.getHeads = (topicId, partitions, consistent) => {
        reads.push({ at: clock.nowMs(), consistent: consistent ?? true });
        return getHeads(topicId, partitions, consistent);
      };
      const log = new SluiceLog({ ...s, clock });
      await log.createTopic({ name: 'idle', partitions: 1 });
      await log.append({ batches: [{ topic: 'idle', records: [rec('a')] }] });
      reads.length = 0;
      const r = await advanceUntilSettled(clock, log.fetch({ topic: 'idle', partition: 0, offset: 1, waitMs: 5000 }));
      const start = reads[0]?.at ?? 0;
      expect(r.records).toEqual([]);
      // strong first (a fetch sees what finished before it), then eventual after pauses of
      // 200, 400, 800 and then 1,000 ms: 8 reads over 5 s where a fixed 200 ms took 26
      // (the manual clock also moves while real I/O runs, so pauses are at least these)
      expect(reads[0]?.consistent).toBe(true);
      expect(reads.slice(1).every((x) => !x.consistent)).toBe(true);
      expect(reads.length).toBeGreaterThanOrEqual(6);
      expect(reads.length).toBeLessThanOrEqual(8);
      const pauses = reads.slice(1).map((x, i) => x.at - (reads[i] as { at: number }).at);
      pauses.slice(0, -1).forEach((p, i) => {
        expect(p).toBeGreaterThanOrEqual(Math.min(200 * 2 ** i, 1000));
      });
      expect((reads.at(-1)?.at ?? 0) - start).toBeGreaterThanOrEqual(5000);
    });

    it('fetches of one process share head reads per head shard: one strong read, one poll loop', async () => {
      const clock = new ManualClock(TEST_DAY_MS);
      const s = await stores();
      const reads: { at: number; done?: number; consistent: boolean; partitions: number[] }[] = [];
      const getHeads = s.metadata.getHeads.bind(s.metadata);
      s.metadata.getHeads = async (topicId, partitions, consistent) => {
        const read = { at: clock.nowMs(), consistent: consistent ?? true, partitions: [...partitions] };
        reads.push(read);
        const heads = await getHeads(topicId, partitions, consistent);
        Object.assign(read, { done: clock.nowMs() });
        return heads;
      };
      const log = new SluiceLog({ ...s, clock });
      const partitions = HEAD_SHARD_SIZE + 4; // head shards 0 (0–47) and 1 (48–51)
      await log.createTopic({ name: 'shared', partitions });
      reads.length = 0;
      // a member's idle partitions, all long-polling at the end of the log
      const fetches = Array.from({ length: partitions }, (_, p) =>
        log.fetch({ topic: 'shared', partition: p, offset: 0, waitMs: 5000 }),
      );
      const start = clock.nowMs();
      const results = await advanceUntilSettled(clock, Promise.all(fetches));
      expect(results.every((r) => r.records.length === 0)).toBe(true);
      const strong = reads.filter((r) => r.consistent);
      // one strong read per shard, each for all of its partitions (each fetch made one before)
      expect(strong.map((r) => r.partitions.length).sort((a, b) => a - b)).toEqual([4, HEAD_SHARD_SIZE]);
      // one poll loop per shard: ≤ 7 eventual reads each over 5 s (each fetch polled 7 times before)
      expect(reads.filter((r) => !r.consistent).length).toBeLessThanOrEqual(14);
      // every wait ended at the first poll at or after its deadline: at most one pause late
      expect(clock.nowMs() - start).toBeGreaterThanOrEqual(5000);
      // (the manual clock also moves while real I/O runs: the time spent inside the reads a
      // wait starts after and ends with is added; on the in-memory stores it is 0)
      const inRead = (r: { at: number; done?: number }) => (r.done ?? r.at) - r.at;
      const ioMs = Math.max(...strong.map(inRead)) + Math.max(0, ...reads.filter((r) => !r.consistent).map(inRead));
      expect(clock.nowMs() - start).toBeLessThanOrEqual(5000 + 1000 + 200 + ioMs);

      // a record for one partition wakes only its waiter, within a poll or two
      const waiting = [0, 1].map((p) => log.fetch({ topic: 'shared', partition: p, offset: 0, waitMs: 20_000 }));
      let p0Done = false;
      void waiting[0]?.then(() => {
        p0Done = true;
      });
      await clock.advance(300);
      await log.append({ batches: [{ topic: 'shared', records: [rec('x', { partition: 1 })] }] });
      const appended = clock.nowMs();
      const got = await advanceUntilSettled(clock, waiting[1] as Promise<{ records: { value: Uint8Array | null }[] }>);
      expect(got.records.map((r) => str(r.value))).toEqual(['x']);
      expect(clock.nowMs() - appended).toBeLessThan(2000);
      expect(p0Done).toBe(false);
      expect((await advanceUntilSettled(clock, waiting[0] as Promise<{ records: unknown[] }>)).records).toEqual([]);
    });

    it('a strong head read asked for while one is in flight sees what committed before it was asked', async () => {
      const s = await stores();
      const log = new SluiceLog({ ...s });
      await log.createTopic({ name: 'fresh', partitions: 2 });
      const getHeads = s.metadata.getHeads.bind(s.metadata);
      let hold: Promise<void> | undefined;
      s.metadata.getHeads = async (topicId, partitions, consistent) => {
        const gate = hold;
        const heads = await getHeads(topicId, partitions, consistent); // read now, answered later
        await gate;
        return heads;
      };
      let release!: () => void;
      hold = new Promise<void>((r) => {
        release = r;
      });
      const early = log.fetch({ topic: 'fresh', partition: 0, offset: 0 });
      await new Promise((r) => setTimeout(r, 20)); // its read is in flight (and read an empty log)
      hold = undefined;
      await log.append({ batches: [{ topic: 'fresh', records: [rec('a', { partition: 1 })] }] });
      const late = log.fetch({ topic: 'fresh', partition: 1, offset: 0 });
      release();
      expect((await early).highWatermark).toBe(0);
      expect((await late).records.map((r) => str(r.value))).toEqual(['a']);
    });

    it('moves the start offsets of a head shard in one conditional write: all or none', async () => {
      const s = await stores();
      const log = new SluiceLog({ ...s });
      const last = HEAD_SHARD_SIZE; // the first partition of the second head shard
      const t = await log.createTopic({ name: 'starts', partitions: last + 1 });
      for (let i = 0; i < 3; i++) {
        await log.append({
          batches: [{ topic: 'starts', records: [0, 1, last].map((p) => rec(`r${i}`, { partition: p })) }],
        });
      }
      const starts = async () => (await log.describeTopic('starts')).offsets.map((o) => o.startOffset);
      const move = (partition: number, from: number, to: number) => ({ partition, from, to, bytesRemoved: 0 });
      expect(await s.metadata.advanceStartOffsets(t.topicId, [move(0, 0, 2), move(1, 0, 1)])).toBe('ok');
      // one stale `from`, or one beyond the high watermark: nothing moves
      expect(await s.metadata.advanceStartOffsets(t.topicId, [move(0, 0, 3), move(1, 1, 2)])).toBe('conflict');
      expect(await s.metadata.advanceStartOffsets(t.topicId, [move(0, 2, 3), move(1, 1, 4)])).toBe('conflict');
      expect((await starts()).slice(0, 2)).toEqual([2, 1]);
      expect(await s.metadata.advanceStartOffsets(t.topicId, [move(0, 2, 3), move(1, 1, 3)])).toBe('ok');
      expect((await starts()).slice(0, 2)).toEqual([3, 3]);
      // never backwards, never across head shards
      expect(await s.metadata.advanceStartOffsets(t.topicId, [move(0, 3, 2)])).toBe('conflict');
      await expect(s.metadata.advanceStartOffsets(t.topicId, [move(2, 0, 1), move(last, 0, 1)])).rejects.toThrow(
        RangeError,
      );
      expect(await starts()).toEqual([3, 3, ...Array(last - 2).fill(0), 0]);
    });

    it('commits one call over 300 partitions atomically, and replays its answer to a retry', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'wide', partitions: 300 });
      const records = Array.from({ length: 600 }, (_, i) => rec(`w${i}`, { partition: (i * 7) % 300 }));
      const req = { batches: [{ topic: 'wide', records }], idempotencyKey: 'wide-call-1' };
      const first = await log.append(req);
      expect(first.duplicate).toBe(false);
      expect(first.batches[0]?.offsets.slice(0, 3)).toEqual([
        { partition: 0, offset: 0 },
        { partition: 7, offset: 0 },
        { partition: 14, offset: 0 },
      ]);
      // every partition got its two records, densely, in request order
      const d = await log.describeTopic('wide');
      expect(d.offsets.every((o) => o.highWatermark === 2)).toBe(true);
      const again = await log.append(req);
      expect(again).toEqual({ ...first, duplicate: true });
      const got = await log.fetch({ topic: 'wide', partition: 299, offset: 0 });
      expect(got.records.map((r) => str(r.value))).toEqual(
        records.flatMap((r, i) => (r.partition === 299 ? [`w${i}`] : [])),
      );
    });

    it('concurrent calls of one process to one head shard take turns: one transaction each, none wasted', async () => {
      const s = await stores();
      let commits = 0;
      const commitAppend = s.metadata.commitAppend.bind(s.metadata);
      s.metadata.commitAppend = (c) => {
        commits++;
        return commitAppend(c);
      };
      const log = new SluiceLog(s);
      await log.createTopic({ name: 'turns', partitions: 8 });
      await log.append({ batches: [{ topic: 'turns', records: [rec('warm', { partition: 0 })] }] });
      commits = 0;
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          log.append({ batches: [{ topic: 'turns', records: [rec(`c${i}`, { partition: i }), rec(`d${i}`)] }] }),
        ),
      );
      expect(commits).toBe(8);
      expect(answers.every((a) => a.duplicate === false)).toBe(true);
      const d = await log.describeTopic('turns');
      expect(d.offsets.reduce((n, o) => n + o.highWatermark, 0)).toBe(17);
    });

    it('replays a mixed call the way it was routed, from another process, after the topics changed', async () => {
      const s = await stores();
      const log = new SluiceLog(s);
      await log.createTopic({ name: 'mix-a', partitions: 6 });
      await log.createTopic({ name: 'mix-b', partitions: 3 });
      // null keys, keys and explicit partitions over two topics, interleaved
      const req = {
        idempotencyKey: 'mixed-1',
        batches: [
          { topic: 'mix-a', records: [rec('a0'), rec('a1', { key: utf8('k1') }), rec('a2', { partition: 5 })] },
          { topic: 'mix-b', records: [rec('b0', { key: utf8('k2') }), rec('b1')] },
          { topic: 'mix-a', records: [rec('a3'), rec('a4', { key: utf8('k3') })] },
        ],
      };
      for (let i = 0; i < 4; i++) await log.append({ batches: [{ topic: 'mix-a', records: [rec(`pre${i}`)] }] });
      const first = await log.append(req);
      // the sticky partition and the partition counts the retry would choose now differ
      await log.addPartitions('mix-a', 11);
      await log.addPartitions('mix-b', 7);
      const other = new SluiceLog(s);
      for (let i = 0; i < 3; i++) await other.append({ batches: [{ topic: 'mix-b', records: [rec(`mid${i}`)] }] });
      const again = await other.append(req);
      expect(again).toEqual({ ...first, duplicate: true });
      // and the answer names where the records really are
      for (const [b, batch] of req.batches.entries()) {
        for (const [i, r] of batch.records.entries()) {
          const at = first.batches[b]?.offsets[i] as { partition: number; offset: number };
          const got = await log.fetch({
            topic: batch.topic,
            partition: at.partition,
            offset: at.offset,
            maxRecords: 1,
          });
          expect(str(got.records[0]?.value ?? null)).toBe(str(r.value));
        }
      }
    });

    it('a read whose later index page retention released meanwhile returns what it read, then OFFSET_OUT_OF_RANGE', async () => {
      const s = await stores();
      const log = new SluiceLog({ ...s });
      await log.createTopic({ name: 'edge', partitions: 1 });
      for (let i = 0; i < 30; i++) await log.append({ batches: [{ topic: 'edge', records: [rec(`e${i}`)] }] });
      // after the reader's first page of the index (offsets 0–24), retention moves the start
      // to 27 and releases the call items below it; later pages are what a reader without
      // them in its cache sees: the index from 27 on
      const queryIndex = s.metadata.queryIndex.bind(s.metadata);
      let pages = 0;
      s.metadata.queryIndex = async (...a) => {
        const page = await queryIndex(...a);
        if (pages++ > 0) return page.filter((e) => e.lastOffset >= 27);
        await log.deleteRecords('edge', 0, 27);
        return page.slice(0, 25);
      };
      const got = await log.fetch({ topic: 'edge', partition: 0, offset: 0, maxRecords: 1000 });
      expect(got.records.map((r) => str(r.value))).toEqual(Array.from({ length: 25 }, (_, i) => `e${i}`));
      expect(got.nextOffset).toBe(25);
      const next = await rejection(log.fetch({ topic: 'edge', partition: 0, offset: 25 }));
      expect(next).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', details: { startOffset: 27 } });
    });

    it('a stale head behind the position is no news: the long-poll keeps waiting, no error', async () => {
      const clock = new ManualClock(TEST_DAY_MS);
      const s = await stores();
      const getHeads = s.metadata.getHeads.bind(s.metadata);
      // every eventual read answers from before the last commit
      s.metadata.getHeads = async (topicId, partitions, consistent) => {
        const heads = await getHeads(topicId, partitions, consistent);
        return consistent === false ? heads.map((h) => ({ ...h, nextOffset: h.nextOffset - 1 })) : heads;
      };
      const log = new SluiceLog({ ...s, clock });
      await log.createTopic({ name: 'stale', partitions: 1 });
      await log.append({ batches: [{ topic: 'stale', records: [rec('a'), rec('b')] }] });
      const start = clock.nowMs();
      const r = await advanceUntilSettled(clock, log.fetch({ topic: 'stale', partition: 0, offset: 2, waitMs: 3000 }));
      expect(r).toMatchObject({ records: [], nextOffset: 2, highWatermark: 2 });
      expect(clock.nowMs() - start).toBeGreaterThanOrEqual(3000);
    });

    it('finds the earliest offset with timestamp >= T in O(log n) reads', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'times', partitions: 1 });
      // 40 calls of 3 records; timestamps rise by 10 per record, with one late straggler
      for (let i = 0; i < 40; i++) {
        const base = 1000 + i * 30;
        await log.append({
          batches: [
            {
              topic: 'times',
              records: [
                rec(`r${i}a`, { timestamp: base }),
                rec(`r${i}b`, { timestamp: i === 20 ? 5 : base + 10 }),
                rec(`r${i}c`, { timestamp: base + 20 }),
              ],
            },
          ],
        });
      }
      for (const [t, expected] of [
        [0, 0],
        [1000, 0],
        [1001, 1],
        [1015, 2],
        [1600, 60],
        [1605, 62],
        [2190, 119],
      ] as const) {
        const r = await log.offsetForTimestamp('times', 0, t);
        expect(r.offset, `T=${t}`).toBe(expected);
        expect(r.reads).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(120)) + 1);
      }
      expect((await log.offsetForTimestamp('times', 0, 999_999)).offset).toBeNull();
    });

    it('administers topics: describe, list, add partitions, delete; a re-created name sees no old data', async () => {
      const { log } = await make();
      await log.createTopic({ name: 'admin', partitions: 2, retentionMs: 3_600_000 });
      await log.createTopic({ name: 'another', partitions: 1 });
      expect((await rejection(log.createTopic({ name: 'admin', partitions: 1 }))).code).toBe('TOPIC_EXISTS');
      await log.append({ batches: [{ topic: 'admin', records: [rec('old', { partition: 1 })] }] });
      const d = await log.describeTopic('admin');
      expect(d).toMatchObject({ name: 'admin', partitions: 2, retentionMs: 3_600_000, retentionBytes: null });
      expect(d.offsets).toEqual([
        { partition: 0, startOffset: 0, highWatermark: 0 },
        { partition: 1, startOffset: 0, highWatermark: 1 },
      ]);
      expect((await log.listTopics()).map((t) => t.name)).toEqual(['admin', 'another']);
      await log.addPartitions('admin', 4);
      expect((await log.describeTopic('admin')).offsets).toHaveLength(4);
      await log.append({ batches: [{ topic: 'admin', records: [rec('new-p', { partition: 3 })] }] });
      expect((await rejection(log.addPartitions('admin', 3))).code).toBe('INVALID_PARTITIONS');
      await log.deleteTopic('admin');
      expect(await rejection(log.describeTopic('admin'))).toBeInstanceOf(TopicNotFoundError);
      expect((await rejection(log.deleteTopic('admin'))).code).toBe('TOPIC_NOT_FOUND');
      await log.createTopic({ name: 'admin', partitions: 2 });
      expect((await log.describeTopic('admin')).offsets.every((o) => o.highWatermark === 0)).toBe(true);
      const fresh = await log.fetch({ topic: 'admin', partition: 1, offset: 0 });
      expect(fresh.records).toEqual([]);
    });

    it('a reader of several partitions reads each object once: its other partitions come from the same GET', async () => {
      const { log, objects, metadata } = await make();
      await log.createTopic({ name: 'wide', partitions: 12 });
      let gets = 0;
      let bytes = 0;
      const counted: ObjectStore = Object.create(objects, {
        getRange: {
          value: async (k: string, a: number, b: number) => {
            gets++;
            const r = await objects.getRange(k, a, b);
            bytes += r?.byteLength ?? 0;
            return r;
          },
        },
      });
      const reader = new SluiceLog({ objects: counted, metadata });
      const mine = [0, 2, 3, 5, 8, 11];
      // the reader has read these partitions before (it is at their end)
      for (const p of mine) await reader.fetch({ topic: 'wide', partition: p, offset: 0 });
      const sent = new Map<number, string[]>();
      for (let c = 0; c < 10; c++) {
        const records = Array.from({ length: 12 }, (_, p) => rec(`${c}:${p}:${'z'.repeat(200 + p)}`, { partition: p }));
        for (const r of records)
          sent.set(r.partition as number, [...(sent.get(r.partition as number) ?? []), str(r.value) as string]);
        await log.append({ batches: [{ topic: 'wide', records }] });
      }
      // all six at once, as a group member's partition loops do
      const got = await Promise.all(mine.map((p) => reader.fetch({ topic: 'wide', partition: p, offset: 0 })));
      got.forEach((r, i) => {
        expect(r.records.map((x) => str(x.value))).toEqual(sent.get(mine[i] as number));
      });
      // one GET per object (10), not one per chunk (60); the other six partitions' bytes mostly not read
      expect(gets).toBeLessThanOrEqual(12);
      const objectBytes = (await objects.list('segments/')).objects.reduce((n, o) => n + o.size, 0);
      expect(bytes).toBeLessThan(objectBytes);
      // a partition this reader never read is not read ahead: its fetch GETs for itself
      const before = gets;
      await reader.fetch({ topic: 'wide', partition: 1, offset: 0 });
      expect(gets - before).toBeGreaterThanOrEqual(1);
    });

    it('serves 32 concurrent appends through ONE log: dense, byte-exact, nothing lost or doubled', async () => {
      // one log shared by every request, as in one server process or one direct-mode client:
      // its caches (heads, topics) are shared state across the concurrent calls
      const { log } = await make();
      await log.createTopic({ name: 'shared', partitions: 12 });
      const writers = 32;
      const callsEach = 4;
      const sent = new Map<string, string>(); // "p#offset" → value
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let c = 0; c < callsEach; c++) {
            const values = Array.from({ length: 5 }, (_, i) => `w${w}-c${c}-r${i}-${'x'.repeat((w * 7 + i) % 50)}`);
            const req = {
              batches: [
                { topic: 'shared', records: values.map((v, i) => rec(v, { key: utf8(`key-${(w * 5 + i) % 17}`) })) },
              ],
            };
            // as a client does: a retriable refusal (this much contention on a slow emulator can
            // exhaust the commit attempts) wrote nothing and is sent again; anything else fails
            let res: Awaited<ReturnType<typeof log.append>> | undefined;
            for (let attempt = 0; !res; attempt++) {
              try {
                res = await log.append(req);
              } catch (e) {
                if (!(e as SluiceError).retriable || attempt >= 20) throw e;
              }
            }
            res.batches[0]?.offsets.forEach((o, i) => {
              const at = `${o.partition}#${o.offset}`;
              expect(sent.has(at), `offset ${at} given twice`).toBe(false);
              sent.set(at, values[i] as string);
            });
          }
        }),
      );
      expect(sent.size).toBe(writers * callsEach * 5);
      const d = await log.describeTopic('shared');
      let total = 0;
      for (const { partition, highWatermark } of d.offsets) {
        total += highWatermark;
        const got: string[] = [];
        for (let offset = 0; offset < highWatermark; ) {
          const r = await log.fetch({ topic: 'shared', partition, offset, maxRecords: 1000 });
          got.push(...r.records.map((x) => str(x.value) as string));
          offset = r.nextOffset;
        }
        // dense: every offset below the high watermark holds exactly what its answer said
        expect(got).toEqual(Array.from({ length: highWatermark }, (_, o) => sent.get(`${partition}#${o}`)));
      }
      expect(total).toBe(sent.size);
    });

    it('a producer holding a deleted topic cannot write into it', async () => {
      const s = await stores();
      const writer = new SluiceLog({ ...s, settings: { topicCacheMs: 60_000 } });
      const admin = new SluiceLog(s);
      await admin.createTopic({ name: 'vanishing', partitions: 1 });
      await writer.append({ batches: [{ topic: 'vanishing', records: [rec('1')] }] });
      await admin.deleteTopic('vanishing');
      await admin.createTopic({ name: 'vanishing', partitions: 1 });
      // the writer's cache still has the old topic id: the commit's topic check refuses it
      const e = await rejection(writer.append({ batches: [{ topic: 'vanishing', records: [rec('2')] }] }));
      expect(e.code).toBe('TOPIC_NOT_FOUND');
      expect((await admin.describeTopic('vanishing')).offsets[0]?.highWatermark).toBe(0);
      // and the next call uses the new topic
      const ok = await writer.append({ batches: [{ topic: 'vanishing', records: [rec('3')] }] });
      expect(ok.batches[0]?.offsets[0]?.offset).toBe(0);
    });
  });
}
