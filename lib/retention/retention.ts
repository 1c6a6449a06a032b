/**
 * Retention (ARCHITECTURE §7): decide (pure) which leading index entries a policy removes —
 * whole chunks, like Kafka's whole segments. By time: chunks appended more than
 * `retentionMs` ago (append time, the log's own clock — producer timestamps cannot pin or
 * expire data). By size: the oldest chunks while the partition stays at or above
 * `retentionBytes` without them. The log's trim (lib/log/trim.ts) then moves the start
 * offset and releases the entries; GC deletes the objects later.
 */
import { type TrimOutcome, trimPartition } from '../log/trim';
import type { IndexEntry, LogTrim, PartitionHead, PartitionLog } from '../storage/ports';

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

/** Applies a topic's retention policy to one partition (the log's trim does the moving). */
export function applyRetention(
  metadata: PartitionLog & LogTrim,
  topicId: string,
  partition: number,
  policy: RetentionPolicy,
  nowMs: number,
): Promise<TrimOutcome> {
  return trimPartition(
    metadata,
    topicId,
    partition,
    { entries: (live, head) => entriesToRemove(live, head, policy, nowMs) },
    nowMs,
  );
}
