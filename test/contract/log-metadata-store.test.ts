/**
 * One LogMetadataStore contract, run against the in-memory fake and against DynamoDB
 * Local: every condition, every rejection report, all-or-nothing commits.
 */
import { describe, expect, it } from 'vitest';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import {
  type AppendCommit,
  EMPTY_HEAD,
  type IndexEntry,
  type LogMetadataStore,
  type PartitionHead,
  partitionRef,
  type StoredProduceResult,
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
  chunks: [{ topic: 't', partition: 0, baseOffset: 0 }],
  order: 'AA==',
};

/** A commit of `counts[i]` records to partition i of `t`, from the given heads. */
function commitOf(
  t: TopicRecord,
  segmentKey: string,
  parts: { partition: number; head: PartitionHead; count: number }[],
  extra: Partial<AppendCommit> = {},
): AppendCommit {
  return {
    clientToken: `${segmentKey.slice(-20)}-0`,
    nowMs: NOW,
    topics: [{ name: t.name, topicId: t.topicId }],
    partitions: parts.map(({ partition, head, count }, i) => {
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
    segment: { key: segmentKey, bytes: 16 + parts.length * 100, createdMs: NOW },
    ...extra,
  };
}

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
      const c1 = commitOf(t, 'segments/one.seg', [
        { partition: 0, head: EMPTY_HEAD, count: 3 },
        { partition: 2, head: EMPTY_HEAD, count: 1 },
      ]);
      expect(await s.commitAppend(c1)).toEqual({ kind: 'committed' });
      const [h0, h1, h2] = await s.getHeads(t.topicId, [0, 1, 2]);
      expect(h0).toMatchObject({ nextOffset: 3, startOffset: 0, bytes: 100, maxTimestamp: 20 });
      expect(h1).toEqual(EMPTY_HEAD);
      expect(h2?.nextOffset).toBe(1);
      const c2 = commitOf(t, 'segments/two.seg', [{ partition: 0, head: h0 as PartitionHead, count: 2 }]);
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
      expect(await s.getSegmentFile('segments/one.seg')).toMatchObject({
        state: 'committed',
        refs: 2,
        bases: [0, 0],
      });
    });

    it('rejects a stale head with the fresh one, and writes nothing of the rejected commit', async () => {
      const s = await make();
      const t = topic('race');
      await s.createTopic(t);
      expect(
        (await s.commitAppend(commitOf(t, 'segments/w1.seg', [{ partition: 1, head: EMPTY_HEAD, count: 5 }]))).kind,
      ).toBe('committed');
      const stale = commitOf(t, 'segments/w2.seg', [
        { partition: 0, head: EMPTY_HEAD, count: 1 },
        { partition: 1, head: EMPTY_HEAD, count: 2 },
      ]);
      const r = await s.commitAppend(stale);
      expect(r.kind).toBe('rejected');
      if (r.kind !== 'rejected') return;
      expect(r.movedHeads.get(partitionRef(t.topicId, 1))?.nextOffset).toBe(5);
      expect(r.movedHeads.has(partitionRef(t.topicId, 0))).toBe(false);
      expect(r.goneTopics).toEqual([]);
      expect(r.segmentFile).toBeUndefined();
      // all or nothing: partition 0 did not advance, no entry, no segment file
      expect((await s.getHeads(t.topicId, [0]))[0]).toEqual(EMPTY_HEAD);
      expect(await s.queryIndex(t.topicId, 0, 0, 10, 10)).toEqual([]);
      expect(await s.getSegmentFile('segments/w2.seg')).toBeUndefined();
    });

    it('keeps partitions apart across many partitions: only moved heads are reported, neighbours untouched', async () => {
      const s = await make();
      const t = topic('wide', 40);
      await s.createTopic(t);
      const first = commitOf(t, 'segments/x1.seg', [
        { partition: 17, head: EMPTY_HEAD, count: 5 },
        { partition: 33, head: EMPTY_HEAD, count: 3 },
      ]);
      expect((await s.commitAppend(first)).kind).toBe('committed');
      const [h33] = await s.getHeads(t.topicId, [33]);
      const stale = commitOf(t, 'segments/x2.seg', [
        { partition: 0, head: EMPTY_HEAD, count: 1 },
        { partition: 17, head: EMPTY_HEAD, count: 2 },
        { partition: 33, head: h33 as PartitionHead, count: 2 },
        { partition: 34, head: EMPTY_HEAD, count: 2 },
      ]);
      const r = await s.commitAppend(stale);
      expect(r.kind).toBe('rejected');
      if (r.kind !== 'rejected') return;
      expect([...r.movedHeads.keys()]).toEqual([partitionRef(t.topicId, 17)]);
      expect(r.movedHeads.get(partitionRef(t.topicId, 17))?.nextOffset).toBe(5);
      const heads = await s.getHeads(t.topicId, [0, 16, 17, 32, 33, 34]);
      expect(heads.map((h) => h.nextOffset)).toEqual([0, 0, 5, 0, 3, 0]);
      // the fresh commit applies to all four; retention on one partition leaves its shard's others alone
      const [h17] = await s.getHeads(t.topicId, [17]);
      const fresh = commitOf(t, 'segments/x3.seg', [
        { partition: 0, head: EMPTY_HEAD, count: 1 },
        { partition: 17, head: h17 as PartitionHead, count: 2 },
        { partition: 33, head: h33 as PartitionHead, count: 2 },
        { partition: 34, head: EMPTY_HEAD, count: 2 },
      ]);
      expect((await s.commitAppend(fresh)).kind).toBe('committed');
      expect(await s.advanceStartOffset(t.topicId, 33, 0, 2, 100)).toBe('ok');
      const after = await s.getHeads(t.topicId, [0, 17, 33, 34]);
      expect(after.map((h) => [h.startOffset, h.nextOffset, h.bytes])).toEqual([
        [0, 1, 100],
        [0, 7, 200],
        [2, 5, 100],
        [0, 2, 100],
      ]);
      await s.deleteHeads(t.topicId, t.partitions);
      expect((await s.getHeads(t.topicId, [17, 33])).map((h) => h.nextOffset)).toEqual([0, 0]);
    });

    it('rejects a commit to a deleted or re-created topic', async () => {
      const s = await make();
      const t = topic('gone');
      await s.createTopic(t);
      await s.deleteTopic('gone', t.topicId, NOW);
      await s.createTopic(topic('gone'));
      const r = await s.commitAppend(commitOf(t, 'segments/g.seg', [{ partition: 0, head: EMPTY_HEAD, count: 1 }]));
      expect(r.kind === 'rejected' && r.goneTopics).toEqual([t.topicId]);
      expect((await s.getHeads(t.topicId, [0]))[0]).toEqual(EMPTY_HEAD);
    });

    it('fences a segment: a fenced segment can never be committed; a committed one reports its bases', async () => {
      const s = await make();
      const t = topic('fence');
      await s.createTopic(t);
      expect(await s.fenceSegment('segments/f1.seg', NOW)).toEqual({ fenced: true });
      const r = await s.commitAppend(commitOf(t, 'segments/f1.seg', [{ partition: 0, head: EMPTY_HEAD, count: 1 }]));
      expect(r.kind === 'rejected' && r.segmentFile?.state).toBe('aborted');
      expect((await s.getHeads(t.topicId, [0]))[0]).toEqual(EMPTY_HEAD);
      // the commit wins the other way round
      const ok = commitOf(t, 'segments/f2.seg', [{ partition: 3, head: EMPTY_HEAD, count: 2 }]);
      expect((await s.commitAppend(ok)).kind).toBe('committed');
      const f = await s.fenceSegment('segments/f2.seg', NOW);
      expect(f.fenced).toBe(false);
      expect(!f.fenced && f.file).toMatchObject({ state: 'committed', bases: [0], refs: 1 });
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
      expect(
        (await s.commitAppend(commitOf(t, 'segments/b.seg', [{ partition: 0, head: EMPTY_HEAD, count: 1 }]))).kind,
      ).toBe('committed');
      const many = Array.from({ length: 130 }, (_, i) => `segments/none-${i}.seg`); // more than one batch
      const files = await s.getSegmentFiles(['segments/a.seg', 'segments/b.seg', ...many]);
      expect([...files.keys()].sort()).toEqual(['segments/a.seg', 'segments/b.seg']);
      expect(files.get('segments/a.seg')?.state).toBe('aborted');
      expect(files.get('segments/b.seg')).toMatchObject({ state: 'committed', refs: 1, segmentKey: 'segments/b.seg' });
      expect(await s.getSegmentFiles([])).toEqual(new Map());
    });

    it('keeps an idempotency key for its window, then lets it be reused', async () => {
      const s = await make();
      const t = topic('idem');
      await s.createTopic(t);
      const idempotency = { key: 'req-1', expiresAtMs: NOW + 1000, result };
      const c1 = commitOf(t, 'segments/i1.seg', [{ partition: 0, head: EMPTY_HEAD, count: 1 }], { idempotency });
      expect((await s.commitAppend(c1)).kind).toBe('committed');
      expect(await s.getIdempotency('req-1', NOW)).toMatchObject({ key: 'req-1', ...result });
      const [h] = await s.getHeads(t.topicId, [0]);
      const dup = commitOf(t, 'segments/i2.seg', [{ partition: 0, head: h as PartitionHead, count: 1 }], {
        idempotency,
      });
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
      const p = (sequence: number, head: PartitionHead, key: string) =>
        commitOf(t, key, [{ partition: 0, head, count: 1 }], {
          producer: {
            producerId: 'p-1',
            sequence,
            expiresAtMs: NOW + 10_000,
            result: { ...result, requestHash: `s${sequence}` },
          },
        });
      const skip = await s.commitAppend(p(1, EMPTY_HEAD, 'segments/p0.seg'));
      expect(skip.kind === 'rejected' && skip.producer?.nextSequence).toBe(0);
      expect((await s.commitAppend(p(0, EMPTY_HEAD, 'segments/p1.seg'))).kind).toBe('committed');
      let [h] = await s.getHeads(t.topicId, [0]);
      expect((await s.commitAppend(p(1, h as PartitionHead, 'segments/p2.seg'))).kind).toBe('committed');
      [h] = await s.getHeads(t.topicId, [0]);
      const again = await s.commitAppend(p(1, h as PartitionHead, 'segments/p3.seg'));
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
contract('DynamoDB Local', async () => (await realStores()).metadata);
