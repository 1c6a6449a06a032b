/**
 * Trimming the head of a partition: the one way records leave the log (ARCHITECTURE §7),
 * used by retention (which decides how far) and by `deleteRecords` (the caller decides).
 * Metadata first, objects last:
 *
 * 1. Advance the partition's start offset (conditional on the one read, never backwards):
 *    from here on a fetch below it answers OFFSET_OUT_OF_RANGE with the new bound.
 * 2. Delete the index entries wholly below it and release their segment references. A
 *    crash between 1 and 2 leaves entries below the start offset, which the next trim of
 *    the partition releases first.
 * 3. Objects are deleted by the GC pass only when nothing references them and a read grace
 *    has passed since the last release (lib/retention/gc.ts).
 *
 * Granularity is a whole index entry (a chunk), like Kafka's whole segments, except that an
 * explicit offset moves the start offset exactly (the entry holding it stays).
 */
import { InvalidArgumentError, OffsetOutOfRangeError } from '../errors';
import type { IndexEntry, LogTrim, PartitionHead, PartitionLog } from '../storage/ports';

/** What one trim did. */
export interface TrimOutcome {
  readonly entriesReleased: number;
  readonly startOffset: number;
  readonly advancedBy: number;
}

/** How far to trim, decided from the live entries (from the start offset, oldest first). */
export type TrimDecision =
  | { readonly before: number }
  | { readonly entries: (live: readonly IndexEntry[], head: PartitionHead) => readonly IndexEntry[] };

const PAGE = 100;

/**
 * Trims one partition: below an exact offset (`{ before }`, Kafka's deleteRecords; outside
 * `[startOffset, highWatermark]` is OFFSET_OUT_OF_RANGE), or past the leading entries a
 * policy picks (`{ entries }`). A concurrent trim that moved the start offset first wins;
 * this one then changes nothing.
 */
export async function trimPartition(
  metadata: PartitionLog & LogTrim,
  topicId: string,
  partition: number,
  decision: TrimDecision,
  nowMs: number,
): Promise<TrimOutcome> {
  const [head] = await metadata.getHeads(topicId, [partition]);
  const h = head as PartitionHead;
  if ('before' in decision && (decision.before < h.startOffset || decision.before > h.nextOffset)) {
    throw new OffsetOutOfRangeError(
      decision.before,
      h.startOffset,
      h.nextOffset,
      'records can be deleted only within the log',
    );
  }
  // leftovers of an interrupted trim: entries wholly below the start offset
  const leftovers = h.startOffset > 0 ? await metadata.queryIndex(topicId, partition, 0, h.startOffset - 1, PAGE) : [];
  let released = leftovers.length ? await metadata.releaseIndexEntries(topicId, partition, leftovers, nowMs) : 0;
  const unchanged = () => ({ entriesReleased: released, startOffset: h.startOffset, advancedBy: 0 });
  if (h.nextOffset === h.startOffset) return unchanged();

  const live = await metadata.queryIndex(topicId, partition, h.startOffset, h.nextOffset - 1, PAGE);
  let remove: readonly IndexEntry[];
  let newStart: number;
  if ('before' in decision) {
    remove = live.filter((e) => e.lastOffset < decision.before);
    newStart = decision.before;
  } else {
    remove = decision.entries(live, h);
    newStart = remove.length ? (remove[remove.length - 1] as IndexEntry).lastOffset + 1 : h.startOffset;
  }
  if (newStart <= h.startOffset) return unchanged();
  const bytes = remove.reduce((n, e) => n + e.byteLength, 0);
  if ((await metadata.advanceStartOffset(topicId, partition, h.startOffset, newStart, bytes)) === 'conflict') {
    return unchanged(); // another trim moved it
  }
  released += await metadata.releaseIndexEntries(topicId, partition, [...remove], nowMs);
  return { entriesReleased: released, startOffset: newStart, advancedBy: newStart - h.startOffset };
}

/** Validates a retention setting (null = none). */
export function checkRetention(name: string, v: number | null | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || v < 1)
    throw new InvalidArgumentError(`${name} ${v} must be a positive integer or null`);
  return v;
}
