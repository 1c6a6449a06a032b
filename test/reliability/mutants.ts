/**
 * Known bugs, seeded one at a time into an otherwise correct system, for the mutation
 * check: the checker must catch each within 20 seeds. (Skipping the CRC check is seeded in
 * the mutation test itself, by replacing the codec module.)
 */
import {
  type AppendCommit,
  type GroupStore,
  type LogMetadataStore,
  type OffsetCommit,
  shardRef,
} from '../../lib/storage/ports';
import { wrap as override } from './faults';
import type { Mutant } from './simulation';

/** The head CAS is dropped: a commit from a stale head overwrites offsets already used. */
export const dropHeadCas: Mutant = {
  metadata: (correct) =>
    override(correct, {
      commitAppend: async (c: AppendCommit) => {
        const r = await correct.commitAppend(c);
        if (r.kind !== 'rejected' || r.segmentFile || r.idempotency || r.producer || r.goneTopics.length) return r;
        // pretend the condition held: force the stale commit (its offsets from the stale heads) in…
        const forced = await correct.commitAppend({
          ...c,
          clientToken: `${c.clientToken}!`,
          shards: c.shards.map((s) => {
            const fresh = r.movedShards.get(shardRef(s.topicId, s.shard));
            return fresh ? { ...s, head: fresh } : s;
          }),
        });
        // …but answer with the stale bases, as a store without the CAS would have committed them
        return forced.kind === 'committed' ? { kind: 'committed' as const } : forced;
      },
    }),
};

/** The dedupe condition is dropped: a retried idempotent call is written again. */
export const dropDedupe: Mutant = {
  metadata: (correct) =>
    override(correct, {
      getIdempotency: async () => undefined,
      commitAppend: async (c: AppendCommit) => {
        const { idempotency: _ignored, ...rest } = c;
        return correct.commitAppend(rest);
      },
    }),
};

/** A lost response is taken as "nothing written" without re-reading: the fence lies. */
export const fenceWithoutReading: Mutant = {
  metadata: (correct) =>
    override(correct, {
      fenceSegment: async (key: string, nowMs: number) => {
        await correct.fenceSegment(key, nowMs);
        return { fenced: true as const };
      },
    }),
};

/** The lease-epoch condition on offset commits is dropped: a zombie's commit lands. */
export const dropLeaseEpochCondition: Mutant = {
  groups: (correct) =>
    override<GroupStore>(correct, {
      commitOffset: async (group: string, c: OffsetCommit) => {
        const r = await correct.commitOffset(group, c);
        if (r.status !== 'fenced') return r;
        await correct.setOffsets(group, [{ topicId: c.topicId, partition: c.partition, offset: c.offset }], c.nowMs);
        return { status: 'committed' as const };
      },
    }),
};

/** Consumers' reads ignore the high watermark they read: the index query is not bounded by it. */
export const readWithoutHwmBound: Mutant = {
  readerMetadata: (correct) =>
    override<LogMetadataStore>(correct, {
      queryIndex: (topicId: string, partition: number, from: number, _to: number, limit: number) =>
        correct.queryIndex(topicId, partition, from, Number.MAX_SAFE_INTEGER, limit),
    }),
};

/**
 * GC without its grace rules *and* without fencing a segment before deleting it: an object
 * whose commit is still in flight is deleted, and the commit then lands pointing at nothing.
 */
export const gcWithoutGraceOrFence: Mutant = {
  maintenance: { orphanGraceMs: 0, readGraceMs: 0 },
  maintenanceMetadata: (correct) =>
    override<LogMetadataStore>(correct, { fenceSegment: async () => ({ fenced: true as const }) }),
};

/**
 * GC without its grace rules but still fencing: not a bug in this design — the fence stops
 * a late commit and a reader whose object vanished re-reads the index — so the mutation
 * test expects this one to stay clean (defence in depth, shown rather than argued).
 */
export const gcWithoutGrace: Mutant = { maintenance: { orphanGraceMs: 0, readGraceMs: 0 } };

/**
 * Retention judges call items against the high watermark instead of the start offsets: it
 * releases call items whose chunks are still within retention, and their records vanish.
 */
export const releaseCallsStillNeeded: Mutant = {
  maintenanceMetadata: (correct) =>
    override<LogMetadataStore>(correct, {
      getShardHeads: async (topicId: string, shards: readonly number[]) =>
        (await correct.getShardHeads(topicId, shards)).map((s) => ({
          seq: s.seq,
          heads: s.heads.map((h) => ({ ...h, startOffset: h.nextOffset })),
        })),
    }),
};

/** Every mutant the checker must catch, by name. */
export const MUTANTS: Record<string, Mutant> = {
  dropHeadCas,
  dropDedupe,
  fenceWithoutReading,
  dropLeaseEpochCondition,
  readWithoutHwmBound,
  gcWithoutGraceOrFence,
  releaseCallsStillNeeded,
};
