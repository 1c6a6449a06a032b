/**
 * One LogMetadataStore contract, run against the in-memory fake and against DynamoDB
 * Local: every condition, every rejection report, all-or-nothing commits.
 */
import { describe, expect, it } from 'vitest';
import { storesFromClients } from '../../lib/storage/aws';
import { EMPTY_SHARD_HEAD } from '../../lib/storage/call-index';
import { HEAD_SHARD_SIZE, headShard } from '../../lib/storage/layout';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import {
  type AppendCommit,
  EMPTY_HEAD,
  type IndexEntry,
  type LogMetadataStore,
  type ShardHead,
  type StoredProduceResult,
  shardRef,
  type TopicRecord,
} from '../../lib/storage/ports';
import { realStores } from '../support/real';
import { TEST_DAY_MS } from '../support/time';

const NOW = TEST_DAY_MS;
let seq = 0;

function topic(name: string, partitions = 4): TopicRecord {
  seq++;
  return {
    name,
    topicId: `00000000-0000-4000-8000-${seq.toString().padStart(12, '0')}`,
    partitions,
    retentionMs: null,
    retentionBytes: 1000,
    createdMs: NOW,
  };
}

const result: StoredProduceResult = {
  requestHash: 'h1',
  routes: [{ topic: 't', partitions: 1, sticky: 0 }],
  bases: [0],
};

/**
 * A commit of `count` records to each partition of `t`, computed from the store's current
 * shard heads, or from `stale` ones where given (by shard).
 */
async function commitOf(
  s: LogMetadataStore,
  t: TopicRecord,
  segmentKey: string,
  parts: { partition: number; count: number }[],
  extra: Partial<AppendCommit> = {},
  stale: ReadonlyMap<number, ShardHead> = new Map(),
): Promise<AppendCommit> {
  const shardIds = [...new Set(parts.map((p) => headShard(p.partition)))];
  const fresh = await s.getShardHeads(t.topicId, shardIds);
  const heads = new Map(shardIds.map((id, i) => [id, stale.get(id) ?? (fresh[i] as ShardHead)]));
  return {
    clientToken: `${segmentKey.slice(-20)}-0`,
    nowMs: NOW,
    partitions: parts.map(({ partition, count }, i) => {
      const head = (heads.get(headShard(partition)) as ShardHead).heads[partition % HEAD_SHARD_SIZE] ?? EMPTY_HEAD;
      const entry: IndexEntry = {
        topicId: t.topicId,
        partition,
        baseOffset: head.nextOffset,
        lastOffset: head.nextOffset + count - 1,
        segmentKey,
        byteOffset: 16 + i * 100,
        byteLength: 100,
        minTimestamp: 10,
        maxTimestamp: 20 + head.nextOffset,
        maxTimestampSoFar: Math.max(head.maxTimestamp, 20 + head.nextOffset),
        appendMs: NOW,
      };
      return { head, entry, chunkBytes: 100 };
    }),
    shards: shardIds.map((shard) => ({ topicId: t.topicId, shard, head: heads.get(shard) as ShardHead })),
    segment: { key: segmentKey, bytes: 16 + parts.length * 100, createdMs: NOW },
    ...extra,
  };
}

/** A second view of a store with nothing cached (the same data). */
const coldViews = new WeakMap<LogMetadataStore, () => LogMetadataStore>();

function contract(name: string, make: () => Promise<LogMetadataStore>) {
  describe(`LogMetadataStore contract: ${name}`, () => {
    it('creates a topic once, lists sorted, grows partitions only from the expected count', async () => {
      const s = await make();
      const b = topic('b-topic');
      const a = topic('a-topic', 2);
      expect(await s.createTopic(b)).toBe('created');
      expect(await s.createTopic(a)).toBe('created');
      expect(await s.createTopic({ ...topic('b-topic'), partitions: 9 })).toBe('exists');
      expect(await s.getTopic('b-topic')).toEqual(b);
      expect(await s.getTopic('nope')).toBeUndefined();
      expect((await s.listTopics()).map((t) => t.name)).toEqual(['a-topic', 'b-topic']);
      expect(await s.setPartitionCount('a-topic', a.topicId, 3, 5)).toBe('conflict');
      expect(await s.setPartitionCount('a-topic', 'other-id', 2, 5)).toBe('conflict');
      expect(await s.setPartitionCount('a-topic', a.topicId, 2, 5)).toBe('ok');
      expect((await s.getTopic('a-topic'))?.partitions).toBe(5);
      expect((await s.listTopics()).find((t) => t.name === 'a-topic')?.partitions).toBe(5);
    });

    it('deletes a topic only by its current id', async () => {
      const s = await make();
      const t = topic('doomed');
      await s.createTopic(t);
      expect(await s.deleteTopic('doomed', 'wrong-id', NOW)).toBe('not-found');
      expect(await s.deleteTopic('doomed', t.topicId, NOW)).toBe('deleted');
      expect(await s.getTopic('doomed')).toBeUndefined();
      expect(await s.listTopics()).toEqual([]);
      expect(await s.deleteTopic('doomed', t.topicId, NOW)).toBe('not-found');
      // a re-created name is a new topic
      expect(await s.createTopic(topic('doomed'))).toBe('created');
    });

    it('reads missing heads as empty', async () => {
      const s = await make();
      expect(await s.getHeads('no-such-topic', [0, 1])).toEqual([EMPTY_HEAD, EMPTY_HEAD]);
    });

    it('commits atomically, advances heads and indexes entries by offset', async () => {
      const s = await make();
      const t = topic('orders');
      await s.createTopic(t);
      const c1 = await commitOf(s, t, 'segments/one.seg', [
        { partition: 0, count: 3 },
        { partition: 2, count: 1 },
      ]);
      expect(await s.commitAppend(c1)).toEqual({ kind: 'committed' });
      const [h0, h1, h2] = await s.getHeads(t.topicId, [0, 1, 2]);
      expect(h0).toMatchObject({ nextOffset: 3, startOffset: 0, bytes: 100, maxTimestamp: 20 });
      expect(h1).toEqual(EMPTY_HEAD);
      expect(h2?.nextOffset).toBe(1);
      const c2 = await commitOf(s, t, 'segments/two.seg', [{ partition: 0, count: 2 }]);
      expect((await s.commitAppend(c2)).kind).toBe('committed');
      const entries = await s.queryIndex(t.topicId, 0, 0, 100, 10);
      expect(entries.map((e) => [e.baseOffset, e.lastOffset, e.segmentKey])).toEqual([
        [0, 2, 'segments/one.seg'],
        [3, 4, 'segments/two.seg'],
      ]);
      expect(entries[1]).toEqual(c2.partitions[0]?.entry);
      // the entry holding offset 1 is the first with lastOffset >= 1; bounds are inclusive
      expect((await s.queryIndex(t.topicId, 0, 1, 100, 1)).map((e) => e.lastOffset)).toEqual([2]);
      expect((await s.queryIndex(t.topicId, 0, 3, 3, 10)).map((e) => e.lastOffset)).toEqual([]);
      expect((await s.queryIndex(t.topicId, 0, 3, 4, 10)).map((e) => e.lastOffset)).toEqual([4]);
      // one call item per call and shard: both partitions of c1 share one reference
      expect(await s.getSegmentFile('segments/one.seg')).toMatchObject({
        state: 'committed',
        calls: [{ topicId: t.topicId, shard: 0, seq: 0 }],
        bases: [0, 0],
      });
      const calls = await s.readCalls(t.topicId, 0, -1, 10);
      expect(calls.map((c) => [c.seq, c.segmentKey, c.nexts.slice(0, 3), c.chunks.map((e) => e.partition)])).toEqual([
        [0, 'segments/one.seg', [3, 0, 1], [0, 2]],
        [1, 'segments/two.seg', [5, 0, 1], [0]],
      ]);
      expect((await s.readCalls(t.topicId, 0, 0, 10)).map((c) => c.seq)).toEqual([1]);
      expect((await s.getShardHeads(t.topicId, [0]))[0]?.seq).toBe(2);
    });

    it('rejects a stale head with the fresh one, and writes nothing of the rejected commit', async () => {
      const s = await make();
      const t = topic('race');
      await s.createTopic(t);
      expect((await s.commitAppend(await commitOf(s, t, 'segments/w1.seg', [{ partition: 1, count: 5 }]))).kind).toBe(
        'committed',
      );
      const stale = await commitOf(
        s,
        t,
        'segments/w2.seg',
        [
          { partition: 0, count: 1 },
          { partition: 1, count: 2 },
        ],
        {},
        new Map([[0, EMPTY_SHARD_HEAD]]),
      );
      const r = await s.commitAppend(stale);
      expect(r.kind).toBe('rejected');
      if (r.kind !== 'rejected') return;
      // the fresh shard head: one call further, partition 1 at 5
      const moved = r.movedShards.get(shardRef(t.topicId, 0));
      expect(moved?.seq).toBe(1);
      expect(moved?.heads.slice(0, 2).map((h) => h.nextOffset)).toEqual([0, 5]);
      expect(r.goneTopics).toEqual([]);
      expect(r.segmentFile).toBeUndefined();
      // all or nothing: partition 0 did not advance, no entry, no segment file
      expect((await s.getHeads(t.topicId, [0]))[0]).toEqual(EMPTY_HEAD);
      expect(await s.queryIndex(t.topicId, 0, 0, 10, 10)).toEqual([]);
      expect((await s.readCalls(t.topicId, 0, -1, 10)).map((c) => c.segmentKey)).toEqual(['segments/w1.seg']);
      expect(await s.getSegmentFile('segments/w2.seg')).toBeUndefined();
    });

    it('never undoes a trim: a commit computed from heads read before it is rejected with the trimmed heads', async () => {
      const s = await make();
      const t = topic('trim-race');
      await s.createTopic(t);
      await s.commitAppend(await commitOf(s, t, 'segments/t1.seg', [{ partition: 2, count: 6 }]));
      // a producer reads the head, then retention moves partition 2's start before it commits
      const stale = await commitOf(s, t, 'segments/t2.seg', [{ partition: 3, count: 1 }]);
      expect(await s.advanceStartOffsets(t.topicId, [{ partition: 2, from: 0, to: 4, bytesRemoved: 60 }])).toBe('ok');
      const r = await s.commitAppend(stale);
      expect(r.kind).toBe('rejected');
      if (r.kind !== 'rejected') return;
      const moved = r.movedShards.get(shardRef(t.topicId, 0));
      expect(moved?.seq).toBe(1);
      expect(moved?.heads[2]).toMatchObject({ startOffset: 4, nextOffset: 6, bytes: 40 });
      expect(await s.getSegmentFile('segments/t2.seg')).toBeUndefined();
      // the retry from the fresh heads commits, and the trim stands
      expect((await s.commitAppend(await commitOf(s, t, 'segments/t3.seg', [{ partition: 3, count: 1 }]))).kind).toBe(
        'committed',
      );
      const heads = await s.getHeads(t.topicId, [2, 3]);
      expect(heads.map((h) => [h.startOffset, h.nextOffset, h.bytes])).toEqual([
        [4, 6, 40],
        [0, 1, 100],
      ]);
      // and a trim computed before that commit is refused, not applied over it
      expect(await s.advanceStartOffsets(t.topicId, [{ partition: 2, from: 0, to: 5, bytesRemoved: 10 }])).toBe(
        'conflict',
      );
      expect((await s.getHeads(t.topicId, [2]))[0]?.startOffset).toBe(4);
    });

    it('keeps shards apart across many partitions: only moved shards are reported, neighbours untouched', async () => {
      const s = await make();
      // partitions named by shard: P1 = the second partition of shard 1, and so on
      const S = HEAD_SHARD_SIZE;
      const [P0, P16, P17, P32, P33, P34] = [0, S, S + 1, 2 * S, 2 * S + 1, 2 * S + 2];
      const t = topic('wide', 2 * S + 8);
      await s.createTopic(t);
      const [cold1] = await s.getShardHeads(t.topicId, [1]);
      const first = await commitOf(s, t, 'segments/x1.seg', [{ partition: P17, count: 5 }]);
      expect((await s.commitAppend(first)).kind).toBe('committed');
      // stale on shard 1 only; shards 0 and 2 are read fresh
      const stale = await commitOf(
        s,
        t,
        'segments/x2.seg',
        [
          { partition: P0, count: 1 },
          { partition: P17, count: 2 },
          { partition: P33, count: 2 },
          { partition: P34, count: 2 },
        ],
        {},
        new Map([[1, cold1 as ShardHead]]),
      );
      const r = await s.commitAppend(stale);
      expect(r.kind).toBe('rejected');
      if (r.kind !== 'rejected') return;
      expect([...r.movedShards.keys()]).toEqual([shardRef(t.topicId, 1)]);
      expect(r.movedShards.get(shardRef(t.topicId, 1))?.heads[1]?.nextOffset).toBe(5);
      const heads = await s.getHeads(t.topicId, [P0, P16, P17, P32, P33, P34]);
      expect(heads.map((h) => h.nextOffset)).toEqual([0, 0, 5, 0, 0, 0]);
      expect(await s.readCalls(t.topicId, 2, -1, 10)).toEqual([]);
      // the fresh commit applies to all four in three shards; retention on one partition
      // leaves its shard's others alone
      const fresh = await commitOf(s, t, 'segments/x3.seg', [
        { partition: P0, count: 1 },
        { partition: P17, count: 2 },
        { partition: P33, count: 2 },
        { partition: P34, count: 2 },
      ]);
      expect((await s.commitAppend(fresh)).kind).toBe('committed');
      expect((await s.getShardHeads(t.topicId, [0, 1, 2])).map((h) => h.seq)).toEqual([1, 2, 1]);
      expect(await s.getSegmentFile('segments/x3.seg')).toMatchObject({
        calls: [
          { topicId: t.topicId, shard: 0, seq: 0 },
          { topicId: t.topicId, shard: 1, seq: 1 },
          { topicId: t.topicId, shard: 2, seq: 0 },
        ],
        bases: [0, 5, 0, 0],
      });
      expect(await s.advanceStartOffsets(t.topicId, [{ partition: P33, from: 0, to: 2, bytesRemoved: 100 }])).toBe(
        'ok',
      );
      const after = await s.getHeads(t.topicId, [P0, P17, P33, P34]);
      expect(after.map((h) => [h.startOffset, h.nextOffset, h.bytes])).toEqual([
        [0, 1, 100],
        [0, 7, 200],
        [2, 2, 0],
        [0, 2, 100],
      ]);
      // releasing a call item: once, with its segment reference
      const [call] = await s.readCalls(t.topicId, 2, -1, 1);
      expect(call?.chunks.map((e) => [e.partition, e.baseOffset, e.lastOffset])).toEqual([
        [P33, 0, 1],
        [P34, 0, 1],
      ]);
      // deleting a call item (twice is nothing); which of a segment's call items still exist
      const x3 = (await s.getSegmentFile('segments/x3.seg'))?.calls ?? [];
      expect((await s.existingCalls(x3)).size).toBe(3);
      await s.releaseCalls(t.topicId, 2, [0]);
      await s.releaseCalls(t.topicId, 2, [0]);
      expect([...(await s.existingCalls(x3))].sort()).toEqual([`${t.topicId}#0#0`, `${t.topicId}#1#1`].sort());
      expect(await s.existingCalls([])).toEqual(new Set());
      // (a cold reader: this one may still hold the released item in its cache)
      expect(await (coldViews.get(s)?.() ?? s).queryIndex(t.topicId, P34, 0, 10, 10)).toEqual([]);
      expect((await s.readCalls(t.topicId, 2, -1, 10)).map((c) => c.seq)).toEqual([]);
      expect((await s.queryIndex(t.topicId, P17, 0, 10, 10)).map((e) => e.lastOffset)).toEqual([4, 6]);
      await s.deleteHeads(t.topicId, t.partitions);
      expect((await s.getHeads(t.topicId, [P17, P33])).map((h) => h.nextOffset)).toEqual([0, 0]);
    });

    it('finds any offset of any partition among many calls, scanning when near and searching when far', async () => {
      const s = await make();
      const t = topic('long', 3);
      await s.createTopic(t);
      // 80 calls, each touching partition 0 and one of 1 or 2; partition 2 only every 4th call
      const expected = new Map<number, [number, number][]>([
        [0, []],
        [1, []],
        [2, []],
      ]);
      for (let i = 0; i < 80; i++) {
        const other = i % 4 === 0 ? 2 : 1;
        const parts = [
          { partition: 0, count: 1 + (i % 3) },
          { partition: other, count: 2 },
        ];
        const c = await commitOf(s, t, `segments/l${i}.seg`, parts);
        expect((await s.commitAppend(c)).kind).toBe('committed');
        for (const p of c.partitions) expected.get(p.entry.partition)?.push([p.entry.baseOffset, p.entry.lastOffset]);
      }
      const cold = coldViews.get(s)?.() ?? s;
      for (const view of [cold, s]) {
        for (const [partition, chunks] of expected) {
          const last = (chunks[chunks.length - 1] as [number, number])[1];
          for (const from of [0, 1, Math.floor(last / 3), Math.floor(last / 2), last - 1, last]) {
            const want = chunks.filter(([, l]) => l >= from && l <= last).slice(0, 3);
            const got = await view.queryIndex(t.topicId, partition, from, last, 3);
            expect(got.map((e) => [e.baseOffset, e.lastOffset])).toEqual(want);
          }
          // bounded above, inclusive
          const mid = chunks[10] as [number, number];
          const got = await view.queryIndex(t.topicId, partition, mid[0], mid[1], 10);
          expect(got.map((e) => [e.baseOffset, e.lastOffset])).toEqual([mid]);
          expect(await view.queryIndex(t.topicId, partition, last + 1, last + 10, 10)).toEqual([]);
        }
      }
      expect((await s.readCalls(t.topicId, 0, 70, 100)).map((c) => c.seq)).toEqual([
        71, 72, 73, 74, 75, 76, 77, 78, 79,
      ]);
    });

    it('rejects a commit to a deleted or re-created topic', async () => {
      const s = await make();
      const t = topic('gone');
      await s.createTopic(t);
      await s.deleteTopic('gone', t.topicId, NOW);
      await s.createTopic(topic('gone'));
      const r = await s.commitAppend(await commitOf(s, t, 'segments/g.seg', [{ partition: 0, count: 1 }]));
      expect(r.kind === 'rejected' && r.goneTopics).toEqual([t.topicId]);
      expect((await s.getHeads(t.topicId, [0]))[0]).toEqual(EMPTY_HEAD);
    });

    it('fences a segment: a fenced segment can never be committed; a committed one reports its bases', async () => {
      const s = await make();
      const t = topic('fence');
      await s.createTopic(t);
      expect(await s.fenceSegment('segments/f1.seg', NOW)).toEqual({ fenced: true });
      const r = await s.commitAppend(await commitOf(s, t, 'segments/f1.seg', [{ partition: 0, count: 1 }]));
      expect(r.kind === 'rejected' && r.segmentFile?.state).toBe('aborted');
      expect((await s.getHeads(t.topicId, [0]))[0]).toEqual(EMPTY_HEAD);
      // the commit wins the other way round
      const ok = await commitOf(s, t, 'segments/f2.seg', [{ partition: 3, count: 2 }]);
      expect((await s.commitAppend(ok)).kind).toBe('committed');
      const f = await s.fenceSegment('segments/f2.seg', NOW);
      expect(f.fenced).toBe(false);
      expect(!f.fenced && f.file).toMatchObject({
        state: 'committed',
        bases: [0],
        calls: [{ topicId: t.topicId, shard: 0, seq: 0 }],
      });
      // the same attempt again (same client token, as an SDK retry sends it): success, applied once
      expect((await s.commitAppend(ok)).kind).toBe('committed');
      expect((await s.getHeads(t.topicId, [3]))[0]?.nextOffset).toBe(2);
      // a new attempt of an applied segment reports the segment file (ambiguity resolution)
      const replay = await s.commitAppend({ ...ok, clientToken: 'another-attempt-1' });
      expect(replay.kind === 'rejected' && replay.segmentFile?.state).toBe('committed');
      expect((await s.getHeads(t.topicId, [3]))[0]?.nextOffset).toBe(2);
    });

    it('reads many segment-file items at once; segments without one are absent', async () => {
      const s = await make();
      const t = topic('files');
      await s.createTopic(t);
      await s.fenceSegment('segments/a.seg', NOW);
      expect((await s.commitAppend(await commitOf(s, t, 'segments/b.seg', [{ partition: 0, count: 1 }]))).kind).toBe(
        'committed',
      );
      const many = Array.from({ length: 130 }, (_, i) => `segments/none-${i}.seg`); // more than one batch
      const files = await s.getSegmentFiles(['segments/a.seg', 'segments/b.seg', ...many]);
      expect([...files.keys()].sort()).toEqual(['segments/a.seg', 'segments/b.seg']);
      expect(files.get('segments/a.seg')?.state).toBe('aborted');
      expect(files.get('segments/b.seg')).toMatchObject({ state: 'committed', calls: [{ shard: 0, seq: 0 }] });
      expect(await s.getSegmentFiles([])).toEqual(new Map());
    });

    it('keeps an idempotency key for its window, then lets it be reused', async () => {
      const s = await make();
      const t = topic('idem');
      await s.createTopic(t);
      const idempotency = { key: 'req-1', expiresAtMs: NOW + 1000, result };
      const c1 = await commitOf(s, t, 'segments/i1.seg', [{ partition: 0, count: 1 }], { idempotency });
      expect((await s.commitAppend(c1)).kind).toBe('committed');
      expect(await s.getIdempotency('req-1', NOW)).toMatchObject({ key: 'req-1', ...result });
      const dup = await commitOf(s, t, 'segments/i2.seg', [{ partition: 0, count: 1 }], { idempotency });
      const r = await s.commitAppend(dup);
      expect(r.kind === 'rejected' && r.idempotency?.requestHash).toBe('h1');
      expect((await s.getHeads(t.topicId, [0]))[0]?.nextOffset).toBe(1);
      // after the window the key reads as absent and may be used again
      expect(await s.getIdempotency('req-1', NOW + 1001)).toBeUndefined();
      const later = { ...dup, nowMs: NOW + 1001, idempotency: { ...idempotency, expiresAtMs: NOW + 5000 } };
      expect((await s.commitAppend(later)).kind).toBe('committed');
    });

    it('orders producer sequences and remembers recent answers', async () => {
      const s = await make();
      const t = topic('prod');
      await s.createTopic(t);
      const p = (sequence: number, key: string) =>
        commitOf(s, t, key, [{ partition: 0, count: 1 }], {
          producer: {
            producerId: 'p-1',
            sequence,
            expiresAtMs: NOW + 10_000,
            result: { ...result, requestHash: `s${sequence}` },
          },
        });
      const skip = await s.commitAppend(await p(1, 'segments/p0.seg'));
      expect(skip.kind === 'rejected' && skip.producer?.nextSequence).toBe(0);
      expect((await s.commitAppend(await p(0, 'segments/p1.seg'))).kind).toBe('committed');
      expect((await s.commitAppend(await p(1, 'segments/p2.seg'))).kind).toBe('committed');
      const again = await s.commitAppend(await p(1, 'segments/p3.seg'));
      expect(again.kind).toBe('rejected');
      if (again.kind !== 'rejected') return;
      expect(again.producer?.nextSequence).toBe(2);
      expect(again.producer?.recent.map((r) => [r.sequence, r.requestHash])).toEqual([
        [0, 's0'],
        [1, 's1'],
      ]);
      expect((await s.getProducer('p-1', NOW))?.nextSequence).toBe(2);
      expect(await s.getProducer('p-1', NOW + 10_001)).toBeUndefined();
    });

    it('keeps a job cursor until it is overwritten or cleared', async () => {
      const s = await make();
      expect(await s.readJobCursor('gc')).toBeUndefined();
      await s.writeJobCursor('gc', 'segments/2026/11/22/07/A.seg');
      await s.writeJobCursor('other', 'x');
      await s.writeJobCursor('gc', 'segments/2026/11/22/08/B.seg');
      expect(await s.readJobCursor('gc')).toBe('segments/2026/11/22/08/B.seg');
      await s.writeJobCursor('gc', undefined);
      expect(await s.readJobCursor('gc')).toBeUndefined();
      expect(await s.readJobCursor('other')).toBe('x');
    });
  });
}

contract('memory', async () => new MemoryLogMetadataStore());
contract('DynamoDB Local', async () => {
  const r = await realStores();
  coldViews.set(r.metadata, () => storesFromClients(r.s3, r.dynamo, r.bucket, r.table).metadata);
  return r.metadata;
});
