/**
 * Known bugs, seeded one at a time into an otherwise correct store, for the mutation
 * check: the checker must catch each within a few seeds.
 */
import type { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import type { AppendCommit, LogMetadataStore } from '../../lib/storage/ports';

type Mutant = (correct: MemoryLogMetadataStore) => LogMetadataStore;

/** The head CAS is dropped: a commit from a stale head overwrites offsets already used. */
export const dropHeadCas: Mutant = (correct) =>
  Object.create(correct, {
    commitAppend: {
      value: async (c: AppendCommit) => {
        const r = await correct.commitAppend(c);
        if (r.kind !== 'rejected' || r.segmentFile || r.idempotency || r.producer || r.goneTopics.length) return r;
        // pretend the condition held: force the stale commit in by rewriting it on the current heads
        const forced = await correct.commitAppend({
          ...c,
          clientToken: `${c.clientToken}!`,
          partitions: c.partitions.map((p) => {
            const fresh = r.movedHeads.get(`${p.entry.topicId}#${p.entry.partition}`);
            return fresh ? { ...p, head: fresh } : p;
          }),
        });
        // …but answer with the stale bases, as a store without the CAS would have committed them
        return forced.kind === 'committed' ? { kind: 'committed' as const } : forced;
      },
    },
  });

/** The dedupe condition is dropped: a retried idempotent call is written again. */
export const dropDedupe: Mutant = (correct) =>
  Object.create(correct, {
    getIdempotency: { value: async () => undefined },
    commitAppend: {
      value: async (c: AppendCommit) => {
        const { idempotency: _ignored, ...rest } = c;
        return correct.commitAppend(rest);
      },
    },
  });

/** A lost response is taken as "nothing written" without re-reading: the fence lies. */
export const fenceWithoutReading: Mutant = (correct) =>
  Object.create(correct, {
    fenceSegment: {
      value: async (key: string, nowMs: number) => {
        await correct.fenceSegment(key, nowMs);
        return { fenced: true as const };
      },
    },
  });

/** Every mutant, by name. */
export const MUTANTS: Record<string, Mutant> = { dropHeadCas, dropDedupe, fenceWithoutReading };
