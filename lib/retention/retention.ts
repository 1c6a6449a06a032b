/**
 * Retention (ARCHITECTURE §7): metadata first, objects last.
 *
 * 1. Decide (pure) which leading index entries a policy removes: whole chunks, like
 *    Kafka's whole segments. By time: chunks appended more than `retentionMs` ago (append
 *    time, the log's own clock — producer timestamps cannot pin or expire data). By size:
 *    the oldest chunks while the partition stays at or above `retentionBytes` without them.
 * 2. Advance the partition's start offset past them (conditional, never backwards): from
 *    here on a fetch below it answers OFFSET_OUT_OF_RANGE with the new bound.
 * 3. Delete their index entries and release their segment references. A crash between 2
 *    and 3 leaves entries below the start offset, which the next run releases.
 * 4. Objects are deleted by the GC pass only when nothing references them and a read
 *    grace has passed since the last release (see gc.ts).
 */
import { InvalidArgumentError, OffsetOutOfRangeError } from '../errors';
import type { IndexEntry, LogMetadataStore, PartitionHead } from '../storage/ports';

/** A topic's retention policy. */
export interface RetentionPolicy {
  readonly retentionMs: number | null;
  readonly retentionBytes: number | null;
}

/**
 * The leading entries `policy` removes from a partition (pure). `entries` are the
 * partition's entries from its start offset, oldest first; `head` its head.
 */
export function entriesToRemove(
  entries: readonly IndexEntry[],
  head: PartitionHead,
  policy: RetentionPolicy,
  nowMs: number,
): IndexEntry[] {
  let n = 0;
  if (policy.retentionMs !== null) {
    const cutoff = nowMs - policy.retentionMs;
    while (n < entries.length && (entries[n] as IndexEntry).appendMs < cutoff) n++;
  }
  if (policy.retentionBytes !== null) {
    let bytes = head.bytes;
    let m = 0;
    while (m < entries.length && bytes - (entries[m] as IndexEntry).byteLength >= policy.retentionBytes) {
      bytes -= (entries[m] as IndexEntry).byteLength;
      m++;
    }
    n = Math.max(n, m);
  }
  return entries.slice(0, n);
}

/** What one partition's retention run did. */
export interface RetentionOutcome {
  readonly entriesReleased: number;
  readonly startOffset: number;
  readonly advancedBy: number;
}

const PAGE = 100;

/** Applies `policy` (or an explicit `deleteBefore` offset) to one partition. */
export async function applyRetention(
  metadata: LogMetadataStore,
  topicId: string,
  partition: number,
  policy: RetentionPolicy,
  nowMs: number,
  deleteBefore?: number,
): Promise<RetentionOutcome> {
  const [head] = await metadata.getHeads(topicId, [partition]);
  const h = head as PartitionHead;
  if (deleteBefore !== undefined && (deleteBefore < h.startOffset || deleteBefore > h.nextOffset)) {
    throw new OffsetOutOfRangeError(
      deleteBefore,
      h.startOffset,
      h.nextOffset,
      'records can be deleted only within the log',
    );
  }
  // leftovers of an interrupted run: entries wholly below the start offset
  const leftovers = h.startOffset > 0 ? await metadata.queryIndex(topicId, partition, 0, h.startOffset - 1, PAGE) : [];
  let released = leftovers.length ? await metadata.releaseIndexEntries(topicId, partition, leftovers, nowMs) : 0;
  if (h.nextOffset === h.startOffset) return { entriesReleased: released, startOffset: h.startOffset, advancedBy: 0 };

  const live = await metadata.queryIndex(topicId, partition, h.startOffset, h.nextOffset - 1, PAGE);
  let remove: IndexEntry[];
  let newStart: number;
  if (deleteBefore !== undefined) {
    remove = live.filter((e) => e.lastOffset < deleteBefore);
    newStart = deleteBefore;
  } else {
    remove = entriesToRemove(live, h, policy, nowMs);
    newStart = remove.length ? (remove[remove.length - 1] as IndexEntry).lastOffset + 1 : h.startOffset;
  }
  if (newStart <= h.startOffset) return { entriesReleased: released, startOffset: h.startOffset, advancedBy: 0 };
  const bytes = remove.reduce((n, e) => n + e.byteLength, 0);
  if ((await metadata.advanceStartOffset(topicId, partition, h.startOffset, newStart, bytes)) === 'conflict') {
    return { entriesReleased: released, startOffset: h.startOffset, advancedBy: 0 }; // another run moved it
  }
  released += await metadata.releaseIndexEntries(topicId, partition, remove, nowMs);
  return { entriesReleased: released, startOffset: newStart, advancedBy: newStart - h.startOffset };
}

/** Validates a retention setting (null = none). */
export function checkRetention(name: string, v: number | null | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || v < 1)
    throw new InvalidArgumentError(`${name} ${v} must be a positive integer or null`);
  return v;
}
