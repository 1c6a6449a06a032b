/**
 * Retention (ARCHITECTURE §7), one head shard at a time: decide (pure) how far each
 * partition's start offset moves — whole chunks, like Kafka's whole segments — then move
 * them and release the call items left wholly below (lib/log/trim.ts). By time: chunks
 * appended more than `retentionMs` ago (append time, the log's own clock — producer
 * timestamps cannot pin or expire data). By size: the oldest chunks while the partition
 * stays at or above `retentionBytes` without them. GC deletes the objects later.
 */
import { releaseBelowStart, type TrimStore } from '../log/trim';
import { shardSlot } from '../storage/call-index';
import { HEAD_SHARD_SIZE } from '../storage/layout';
import type { IndexEntry, PartitionHead, StartOffsetMove } from '../storage/ports';

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

/** What retention did to one shard. */
export interface ShardRetentionOutcome {
  /** Partitions whose start offset moved, with the new start and how far it moved. */
  readonly advanced: { partition: number; startOffset: number; advancedBy: number }[];
  readonly callsReleased: number;
  /** False when more is due than one pass does (the next run continues). */
  readonly complete: boolean;
}

/** Call items one pass decides from (the oldest of the shard). */
const WINDOW = 1000;

/**
 * Applies a topic's retention policy to one head shard: reads its oldest call items once,
 * decides every partition's new start offset from them, moves them all in one conditional
 * write, and releases the call items left wholly below.
 */
export async function applyRetention(
  metadata: TrimStore,
  topic: { topicId: string; partitions: number },
  shard: number,
  policy: RetentionPolicy,
  nowMs: number,
  newId: () => string,
): Promise<ShardRetentionOutcome> {
  const [head] = await metadata.getShardHeads(topic.topicId, [shard]);
  const calls = await metadata.readCalls(topic.topicId, shard, -1, WINDOW);
  const advanced: ShardRetentionOutcome['advanced'] = [];
  const moves: StartOffsetMove[] = [];
  const first = shard * HEAD_SHARD_SIZE;
  for (let p = first; p < Math.min(first + HEAD_SHARD_SIZE, topic.partitions); p++) {
    const h = head?.heads[shardSlot(p)] as PartitionHead;
    if (h.nextOffset === h.startOffset) continue;
    const live = calls.flatMap((c) => c.chunks.filter((e) => e.partition === p && e.lastOffset >= h.startOffset));
    const remove = entriesToRemove(live, h, policy, nowMs);
    if (remove.length === 0) continue;
    const to = (remove[remove.length - 1] as IndexEntry).lastOffset + 1;
    const bytesRemoved = remove.reduce((n, e) => n + e.byteLength, 0);
    moves.push({ partition: p, from: h.startOffset, to, bytesRemoved });
  }
  // every partition of the shard in one conditional write (a conflict: another trim moved
  // one first — this pass releases what is already below, the next run decides again)
  if (moves.length > 0 && (await metadata.advanceStartOffsets(topic.topicId, moves)) === 'ok') {
    for (const m of moves) advanced.push({ partition: m.partition, startOffset: m.to, advancedBy: m.to - m.from });
  }
  const released = await releaseBelowStart(metadata, topic.topicId, shard, nowMs, newId, calls);
  // a full window wholly released may have more due behind it
  const more = calls.length === WINDOW && released.calls >= calls.length;
  return { advanced, callsReleased: released.calls, complete: released.complete && !more };
}
