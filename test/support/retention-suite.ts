/**
 * Retention, GC and topic deletion with a manual clock, run on the in-memory fakes and
 * on the real local backends.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { commitOffsets, heartbeat } from '../../lib/groups/coordinator';
import { resolveGroupSettings } from '../../lib/groups/settings';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import { CHUNK_HEADER_BYTES } from '../../lib/records/segment-codec';
import { runMaintenance } from '../../lib/retention/job';
import { SEGMENT_PREFIX } from '../../lib/storage/layout';
import {
  type AppendCommit,
  EMPTY_HEAD,
  type GroupStore,
  type LogMetadataStore,
  type ObjectStore,
} from '../../lib/storage/ports';
import { rec, rejection } from './log-suite';
import { TEST_DAY_MS } from './time';

export type RetentionStoresFactory = () => Promise<{
  objects: ObjectStore;
  metadata: LogMetadataStore;
  groups: GroupStore;
  /** Item count of the table mentioning `topicId` (real backends only). */
  itemsMentioning?: (topicId: string) => Promise<number>;
}>;

const GRACE = { orphanGraceMs: 3_600_000, readGraceMs: 600_000 };

async function objectKeys(objects: ObjectStore): Promise<string[]> {
  return (await objects.list(SEGMENT_PREFIX, { limit: 1000 })).objects.map((o) => o.key);
}

/**
 * An object store whose first GET waits until `release()`: a reader that has read the index
 * and is about to GET, held there while the job runs.
 */
function holdFirstGet(objects: ObjectStore) {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  let gets = 0;
  const held: ObjectStore = Object.create(objects, {
    getRange: {
      value: async (k: string, a: number, b: number) => {
        if (gets++ === 0) await gate;
        return objects.getRange(k, a, b);
      },
    },
  });
  return {
    objects: held,
    /** Resolves once the first GET is waiting. */
    reached: async () => {
      while (gets === 0) await new Promise((r) => setTimeout(r, 5));
    },
    release: () => open(),
    gets: () => gets,
  };
}

export function retentionSuite(name: string, make: RetentionStoresFactory) {
  async function setup() {
    const stores = await make();
    const clock = new ManualClock(TEST_DAY_MS + 12 * 3_600_000);
    const log = new SluiceLog({ ...stores, clock, settings: { topicCacheMs: 0 } });
    const job = () => runMaintenance({ ...stores, clock, random: new SeededRandom(5) }, GRACE);
    return { ...stores, clock, log, job };
  }

  describe(`retention and GC: ${name}`, () => {
    it('time retention removes exactly the chunks older than retentionMs, moves startOffset forward only', async () => {
      const { log, clock, job } = await setup();
      await log.createTopic({ name: 'timed', partitions: 1, retentionMs: 60_000 });
      for (let i = 0; i < 5; i++) {
        await log.append({ batches: [{ topic: 'timed', records: [rec(`a${i}`), rec(`b${i}`)] }] });
        await clock.advance(10_000);
      }
      // now t = 50 s; advance to 75 s: chunks appended at 0 s and 10 s are older than 60 s
      await clock.advance(25_000);
      const r = await job();
      expect(r.offsetsRemoved).toBe(4);
      const d = await log.describeTopic('timed');
      expect(d.offsets[0]).toEqual({ partition: 0, startOffset: 4, highWatermark: 10 });
      const e = await rejection(log.fetch({ topic: 'timed', partition: 0, offset: 2 }));
      expect(e.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(e.details).toMatchObject({ startOffset: 4, highWatermark: 10 });
      const rest = await log.fetch({ topic: 'timed', partition: 0, offset: 4 });
      expect(rest.records.map((x) => x.offset)).toEqual([4, 5, 6, 7, 8, 9]);
      // nothing younger goes; a second run changes nothing
      expect((await job()).offsetsRemoved).toBe(0);
      expect((await log.describeTopic('timed')).offsets[0]?.startOffset).toBe(4);
    });

    it('size retention keeps at least retentionBytes; retention can be changed later', async () => {
      const { log, job } = await setup();
      await log.createTopic({ name: 'sized', partitions: 1 });
      for (let i = 0; i < 6; i++) {
        await log.append({ batches: [{ topic: 'sized', records: [{ value: new Uint8Array(100) }] }] });
      }
      expect((await job()).offsetsRemoved).toBe(0); // no policy yet
      // each chunk is the same size B; keep at least 2.5 B → three chunks stay
      const { offsets } = await log.describeTopic('sized');
      expect(offsets[0]?.highWatermark).toBe(6);
      // chunk header + one record: offset delta, timestamp, null key, value length, value, header count
      const b = CHUNK_HEADER_BYTES + 4 + 8 + 4 + 4 + 100 + 2;
      await log.setRetention('sized', { retentionBytes: Math.floor(2.5 * b) });
      expect((await job()).offsetsRemoved).toBe(3);
      expect((await log.describeTopic('sized')).offsets[0]?.startOffset).toBe(3);
      expect((await rejection(log.setRetention('sized', { retentionMs: -5 }))).code).toBe('INVALID_ARGUMENT');
    });

    it('deleteRecords sets the start offset exactly and releases only whole chunks below it', async () => {
      const { log, objects, clock, job } = await setup();
      await log.createTopic({ name: 'del', partitions: 1 });
      for (let i = 0; i < 4; i++)
        await log.append({ batches: [{ topic: 'del', records: [rec(`x${2 * i}`), rec(`x${2 * i + 1}`)] }] });
      expect(await log.deleteRecords('del', 0, 5)).toEqual({ startOffset: 5 });
      expect((await rejection(log.fetch({ topic: 'del', partition: 0, offset: 4 }))).code).toBe('OFFSET_OUT_OF_RANGE');
      const got = await log.fetch({ topic: 'del', partition: 0, offset: 5 });
      expect(got.records.map((r) => r.offset)).toEqual([5, 6, 7]);
      expect((await rejection(log.deleteRecords('del', 0, 3))).code).toBe('OFFSET_OUT_OF_RANGE');
      expect((await rejection(log.deleteRecords('del', 0, 9))).code).toBe('OFFSET_OUT_OF_RANGE');
      // the two released chunks' objects stay through the read grace, then go; the others stay
      expect(await objectKeys(objects)).toHaveLength(4);
      await job();
      expect(await objectKeys(objects)).toHaveLength(4);
      await clock.advance(GRACE.readGraceMs + 1);
      const r = await job();
      expect(r.gc.releasedDeleted).toBe(2);
      expect(await objectKeys(objects)).toHaveLength(2);
      expect((await log.fetch({ topic: 'del', partition: 0, offset: 5 })).records).toHaveLength(3);
    });

    it('keeps an object while any partition still references it', async () => {
      const { log, objects, clock, job } = await setup();
      await log.createTopic({ name: 'shared', partitions: 2, retentionMs: 1000 });
      await log.createTopic({ name: 'kept', partitions: 1 });
      await log.append({
        batches: [
          { topic: 'shared', records: [rec('s0', { partition: 0 }), rec('s1', { partition: 1 })] },
          { topic: 'kept', records: [rec('k')] },
        ],
      });
      await clock.advance(2000);
      await job();
      await clock.advance(GRACE.readGraceMs + 1);
      await job();
      expect(await objectKeys(objects)).toHaveLength(1); // 'kept' still references it
      expect((await log.fetch({ topic: 'kept', partition: 0, offset: 0 })).records).toHaveLength(1);
    });

    it('deletes an orphan after its grace; a slow producer can never commit a segment GC deleted', async () => {
      const { log, objects, metadata, clock, job } = await setup();
      await log.createTopic({ name: 'orph', partitions: 1 });
      // a producer crashes between the PUT and the commit
      const crashing = new SluiceLog({
        objects,
        metadata: Object.create(metadata, {
          commitAppend: {
            value: async () => {
              throw new Error('crash');
            },
          },
        }) as LogMetadataStore,
        clock,
      });
      await expect(crashing.append({ batches: [{ topic: 'orph', records: [rec('lost')] }] })).rejects.toThrow('crash');
      expect(await objectKeys(objects)).toHaveLength(1);
      await job();
      expect(await objectKeys(objects)).toHaveLength(1); // within the grace
      await clock.advance(GRACE.orphanGraceMs + 1);
      expect((await job()).gc.orphansDeleted).toBe(1);
      expect(await objectKeys(objects)).toHaveLength(0);

      // a slow producer: PUT done, commit stalled past the orphan grace while GC runs
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let stalled = false;
      const slow = new SluiceLog({
        objects,
        metadata: Object.create(metadata, {
          commitAppend: {
            value: async (c: AppendCommit) => {
              if (!stalled) {
                stalled = true;
                await gate;
              }
              return metadata.commitAppend({ ...c, nowMs: clock.nowMs() });
            },
          },
        }) as LogMetadataStore,
        clock,
      });
      const pending = slow.append({ batches: [{ topic: 'orph', records: [rec('slow-but-safe')] }] });
      while (!stalled) await new Promise((r) => setTimeout(r, 5));
      const [stalledKey] = await objectKeys(objects);
      await clock.advance(GRACE.orphanGraceMs + 1);
      expect((await job()).gc.orphansDeleted).toBe(1); // fenced, then deleted
      release();
      // the stalled commit can no longer apply: the producer reports a retriable failure
      // with nothing written (its commit deadline passed and its segment is fenced) …
      const e = await rejection(pending);
      expect(e).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
      expect((await log.describeTopic('orph')).offsets[0]?.highWatermark).toBe(0);
      // … and its retry lands in a new segment
      const res = await slow.append({ batches: [{ topic: 'orph', records: [rec('slow-but-safe')] }] });
      expect(res.batches[0]?.offsets).toEqual([{ partition: 0, offset: 0 }]);
      const got = await log.fetch({ topic: 'orph', partition: 0, offset: 0 });
      expect(Buffer.from(got.records[0]?.value ?? []).toString()).toBe('slow-but-safe');
      const keys = await objectKeys(objects);
      expect(keys).toHaveLength(1);
      expect(keys).not.toContain(stalledKey);
    });

    it('a call item stays until every partition in it has moved past it; then its object goes after the grace', async () => {
      const { log, objects, metadata, clock, job } = await setup();
      const t = await log.createTopic({ name: 'calls', partitions: 3 });
      for (let i = 0; i < 4; i++) {
        await log.append({
          batches: [{ topic: 'calls', records: [rec(`a${i}`, { partition: 0 }), rec(`b${i}`, { partition: 1 })] }],
        });
      }
      await log.append({ batches: [{ topic: 'calls', records: [rec('c', { partition: 2 })] }] });
      expect((await metadata.readCalls(t.topicId, 0, -1, 100)).map((c) => c.chunks.length)).toEqual([2, 2, 2, 2, 1]);
      // partition 0 moves past three calls; partition 1 still needs them
      await log.deleteRecords('calls', 0, 3);
      expect(await metadata.readCalls(t.topicId, 0, -1, 100)).toHaveLength(5);
      expect((await log.fetch({ topic: 'calls', partition: 1, offset: 0 })).records).toHaveLength(4);
      // partition 1 moves past two: the first two calls are wholly below and go, the third stays
      await log.deleteRecords('calls', 1, 2);
      expect((await metadata.readCalls(t.topicId, 0, -1, 100)).map((c) => c.seq)).toEqual([2, 3, 4]);
      expect((await log.fetch({ topic: 'calls', partition: 0, offset: 3 })).records.map((r) => r.offset)).toEqual([3]);
      expect((await log.fetch({ topic: 'calls', partition: 1, offset: 2 })).records.map((r) => r.offset)).toEqual([
        2, 3,
      ]);
      await job();
      expect(await objectKeys(objects)).toHaveLength(5);
      await clock.advance(GRACE.readGraceMs + 1);
      expect((await job()).gc.releasedDeleted).toBe(2);
      expect(await objectKeys(objects)).toHaveLength(3);
    });

    it('a reader whose object retention deleted meanwhile is told OFFSET_OUT_OF_RANGE; a referenced object that vanished is corruption, never a gap', async () => {
      const { log, objects, metadata, clock, job } = await setup();
      await log.createTopic({ name: 'paused', partitions: 2, retentionMs: 60_000 });
      for (let i = 0; i < 6; i++) {
        await log.append({
          batches: [{ topic: 'paused', records: [rec(`p${i}`, { partition: 0 }), rec(`q${i}`, { partition: 1 })] }],
        });
      }
      const held = holdFirstGet(objects);
      const reader = new SluiceLog({ objects: held.objects, metadata, clock, settings: { chunkCacheBytes: 0 } });
      const pending = rejection(reader.fetch({ topic: 'paused', partition: 0, offset: 0, maxRecords: 100 }));
      await held.reached();
      // while it waits: retention removes everything, and GC (with no read grace) the objects
      await clock.advance(60_001);
      expect((await job()).offsetsRemoved).toBe(12);
      await clock.advance(GRACE.readGraceMs + 1);
      expect((await job()).gc.releasedDeleted).toBe(6);
      held.release();
      const e = await pending;
      expect(e.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(e.details).toMatchObject({ startOffset: 6, highWatermark: 6 });

      // an object deleted while a call item still references it (no retention): an error
      await log.setRetention('paused', { retentionMs: null });
      await log.append({ batches: [{ topic: 'paused', records: [rec('r', { partition: 1 })] }] });
      const [entry] = await metadata.queryIndex((await log.getTopic('paused')).topicId, 1, 6, 100, 1);
      await objects.deleteMany([entry?.segmentKey as string]);
      const fresh = new SluiceLog({ objects, metadata, clock, settings: { chunkCacheBytes: 0 } });
      const c = await rejection(fresh.fetch({ topic: 'paused', partition: 1, offset: 6 }));
      expect(c.code).toBe('CORRUPT_DATA');
    });

    it('retention keeps up with a long shard: many calls released in one run, page after page', async () => {
      const { log, metadata, clock, job } = await setup();
      const t = await log.createTopic({ name: 'long', partitions: 2, retentionMs: 60_000 });
      for (let i = 0; i < 260; i++) {
        await log.append({
          batches: [{ topic: 'long', records: [rec(`l${i}`, { partition: i % 2 }), rec(`m${i}`, { partition: 1 })] }],
        });
      }
      await clock.advance(30_000);
      await log.append({ batches: [{ topic: 'long', records: [rec('young', { partition: 0 })] }] });
      await clock.advance(30_001);
      const r = await job();
      expect(r).toMatchObject({ callsReleased: 260, complete: true });
      expect((await log.describeTopic('long')).offsets.map((o) => o.startOffset)).toEqual([130, 390]);
      expect((await metadata.readCalls(t.topicId, 0, -1, 10)).map((c) => c.seq)).toEqual([260]);
      const got = await log.fetch({ topic: 'long', partition: 0, offset: 130 });
      expect(got.records.map((x) => Buffer.from(x.value ?? []).toString())).toEqual(['young']);
    });

    it('the orphan sweep looks at each object once, after its grace, and continues at its cursor', async () => {
      const { log, objects, metadata, clock, job } = await setup();
      await log.createTopic({ name: 'sweep', partitions: 1 });
      for (let i = 0; i < 4; i++) {
        await log.append({ batches: [{ topic: 'sweep', records: [rec(`g${i}`)] }] });
        await clock.advance(1000);
      }
      expect((await job()).gc.objectsChecked).toBe(0); // all within the orphan grace
      await clock.advance(GRACE.orphanGraceMs - 2500); // the first two are past it
      expect((await job()).gc.objectsChecked).toBe(2);
      expect((await job()).gc.objectsChecked).toBe(0); // never again
      await clock.advance(5000);
      const r = await job();
      expect(r.gc.objectsChecked).toBe(2);
      const keys = await objectKeys(objects);
      expect(r.gcCursor).toBe(keys[3]);
      expect(await metadata.readJobCursor('gc')).toBe(keys[3]);
      // committed and referenced: left alone, all four still readable
      expect((await log.fetch({ topic: 'sweep', partition: 0, offset: 0 })).records).toHaveLength(4);
      // a cursor set back (another copy of the job saved an older one): only the rest again
      await metadata.writeJobCursor('gc', keys[1]);
      expect((await job()).gc.objectsChecked).toBe(2);
    });

    it('a released segment is deleted once its read grace has passed, and only when no call item holds it', async () => {
      const { log, objects, metadata, clock, job } = await setup();
      await log.createTopic({ name: 'short', partitions: 1, retentionMs: 1000 });
      await log.createTopic({ name: 'long', partitions: 1 });
      // one call into both topics, one into the short one only
      await log.append({
        batches: [
          { topic: 'short', records: [rec('a')] },
          { topic: 'long', records: [rec('b')] },
        ],
      });
      await log.append({ batches: [{ topic: 'short', records: [rec('c')] }] });
      await clock.advance(2000);
      expect((await job()).callsReleased).toBe(2);
      expect(await metadata.readReleases(clock.nowMs() + 1, 10)).toHaveLength(1);
      expect((await job()).gc.releasedDeleted).toBe(0); // within the read grace
      await clock.advance(GRACE.readGraceMs + 1);
      const r = await job();
      // the shared object stays for 'long'; the other goes, with its item; the queue empties
      expect(r.gc).toMatchObject({ objectsChecked: 2, releasedDeleted: 1 });
      expect(await objectKeys(objects)).toHaveLength(1);
      expect(await metadata.readReleases(clock.nowMs() + 1, 10)).toEqual([]);
      expect((await log.fetch({ topic: 'long', partition: 0, offset: 0 })).records).toHaveLength(1);
    });

    it('after a topic is deleted nothing of it remains; a re-created name starts empty', async () => {
      const s = await setup();
      const { log, objects, metadata, clock, job } = s;
      const t = await log.createTopic({ name: 'gone', partitions: 3 });
      const kept = await log.createTopic({ name: 'kept', partitions: 1 });
      for (let i = 0; i < 3; i++) {
        await log.append({
          batches: [{ topic: 'gone', records: [0, 1, 2].map((p) => rec(`v${i}`, { partition: p })) }],
        });
      }
      // two groups used the topic (one also uses another topic): leases and offsets to purge
      const g = { groups: s.groups, log, clock, random: new SeededRandom(9), settings: resolveGroupSettings() };
      for (const [group, topics] of [
        ['g-gone', ['gone']],
        ['g-both', ['gone', 'kept']],
      ] as const) {
        const hb = await heartbeat(g, group, { memberId: 'm', topics });
        expect(hb.assignments.length).toBe(topics.length === 1 ? 3 : 4);
        await commitOffsets(
          g,
          group,
          'm',
          hb.assignments.map((a) => ({ topic: a.topic, partition: a.partition, offset: a.topic === 'gone' ? 3 : 0 })),
        );
      }
      await log.deleteTopic('gone');
      await log.createTopic({ name: 'gone', partitions: 1 });
      const purge = await job();
      expect(purge).toMatchObject({ topicsPurged: 1, groupItemsPurged: 6 }); // 3 partitions × 2 groups
      await clock.advance(GRACE.readGraceMs + 1);
      const r = await job();
      expect(r.topicsPurged).toBe(0);
      for (const group of ['g-gone', 'g-both']) {
        const state = await s.groups.readGroup(group);
        expect([...state.leases, ...state.offsets].filter((x) => x.topicId === t.topicId)).toEqual([]);
      }
      // the other topic's lease and offset stay; the registry forgets only the deleted topic
      const both = await s.groups.readGroup('g-both');
      expect([...both.leases, ...both.offsets].map((x) => x.topicId)).toEqual([kept.topicId, kept.topicId]);
      expect(await s.groups.listGroups()).toEqual([
        { group: 'g-both', topicIds: [kept.topicId] },
        { group: 'g-gone', topicIds: [] },
      ]);
      expect(await objectKeys(objects)).toEqual([]);
      expect(await metadata.getHeads(t.topicId, [0, 1, 2])).toEqual([EMPTY_HEAD, EMPTY_HEAD, EMPTY_HEAD]);
      expect(await metadata.readCalls(t.topicId, 0, -1, 10)).toEqual([]);
      expect(await metadata.listDeletedTopics()).toEqual([]);
      if (s.itemsMentioning) expect(await s.itemsMentioning(t.topicId)).toBe(0);
      expect((await log.describeTopic('gone')).offsets).toEqual([{ partition: 0, startOffset: 0, highWatermark: 0 }]);
    });
  });
}
