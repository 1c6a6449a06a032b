/**
 * Trimming the head of a partition: the one way records leave the log (ARCHITECTURE §7),
 * used by retention (which decides how far, lib/retention/retention.ts) and by
 * `deleteRecords` (the caller decides). Metadata first, objects last:
 *
 * 1. Advance the partition's start offset (conditional on the one read, never backwards):
 *    from here on a fetch below it answers OFFSET_OUT_OF_RANGE with the new bound.
 * 2. Delete the shard's oldest call items whose every chunk is below its partition's start
 *    offset, releasing their segment references (`releaseBelowStart`) — after queueing their
 *    segments for GC. A crash between 1 and 2 leaves such items behind; the next trim of the
 *    shard releases them first.
 * 3. GC deletes a queued object once nothing references it and the read grace has passed
 *    (lib/retention/gc.ts).
 *
 * A call item holds the chunks of up to 48 partitions, so storage is reclaimed a call at a
 * time, like Kafka's whole segments: once every partition in it has moved past its chunk.
 * An explicit offset moves the start offset exactly (the chunk holding it stays).
 */
import { InvalidArgumentError, OffsetOutOfRangeError } from '../errors';
import { shardSlot } from '../storage/call-index';
import { headShard } from '../storage/layout';
import {
  type CallRecord,
  type JobState,
  type LogTrim,
  type PartitionHead,
  type PartitionLog,
  RELEASE_BATCH_MAX,
  type ShardHead,
} from '../storage/ports';

/** What trimming needs of the metadata store. */
export type TrimStore = PartitionLog & LogTrim & Pick<JobState, 'queueRelease'>;

/** What one trim did. */
export interface TrimOutcome {
  readonly callsReleased: number;
  readonly startOffset: number;
  readonly advancedBy: number;
}

/** Call items read per page when releasing. */
export const RELEASE_PAGE = 100;

/**
 * Kafka's deleteRecords on one partition: `before` becomes its start offset (outside
 * `[startOffset, highWatermark]` is OFFSET_OUT_OF_RANGE). A concurrent trim that moved the
 * start offset first wins; this one then changes nothing.
 */
export async function trimPartition(
  metadata: TrimStore,
  topicId: string,
  partition: number,
  before: number,
  nowMs: number,
  newId: () => string,
): Promise<TrimOutcome> {
  const [head] = await metadata.getHeads(topicId, [partition]);
  const h = head as PartitionHead;
  if (before < h.startOffset || before > h.nextOffset) {
    throw new OffsetOutOfRangeError(before, h.startOffset, h.nextOffset, 'records can be deleted only within the log');
  }
  let advancedBy = 0;
  if (before > h.startOffset) {
    const live = await metadata.queryIndex(topicId, partition, h.startOffset, before - 1, 10_000);
    const bytes = live.filter((e) => e.lastOffset < before).reduce((n, e) => n + e.byteLength, 0);
    const move = { partition, from: h.startOffset, to: before, bytesRemoved: bytes };
    if ((await metadata.advanceStartOffsets(topicId, [move])) === 'ok') {
      advancedBy = before - h.startOffset;
    }
  }
  const released = await releaseBelowStart(metadata, topicId, headShard(partition), nowMs, newId);
  return { callsReleased: released.calls, startOffset: advancedBy ? before : h.startOffset, advancedBy };
}

/** Whether every chunk of `call` is below its partition's start offset in `head`. */
export function whollyBelowStart(call: CallRecord, head: ShardHead): boolean {
  return call.chunks.every((e) => e.lastOffset < (head.heads[shardSlot(e.partition)] as PartitionHead).startOffset);
}

/** Pages of call items one release reads at most. */
const RELEASE_MAX_PAGES = 50;

/**
 * Deletes the leading call items of a shard that lie wholly below the start offsets (reading
 * the shard head strongly first), page by page; stops at the first call still needed.
 * `oldest`: the shard's oldest call items, when the caller has just read them (retention
 * decides from them) — they are the first page instead of a second read of the same items.
 */
export async function releaseBelowStart(
  metadata: TrimStore,
  topicId: string,
  shard: number,
  nowMs: number,
  newId: () => string,
  oldest?: readonly CallRecord[],
): Promise<{ calls: number; complete: boolean }> {
  const [head] = await metadata.getShardHeads(topicId, [shard]);
  let calls = 0;
  let read = oldest ?? (await metadata.readCalls(topicId, shard, -1, RELEASE_PAGE));
  for (let page = 0; page < RELEASE_MAX_PAGES; page++) {
    const below: CallRecord[] = [];
    for (const c of read) {
      if (!whollyBelowStart(c, head as ShardHead)) break;
      below.push(c);
    }
    if (below.length) calls += await releaseCalls(metadata, topicId, shard, below, nowMs, newId);
    if (below.length < read.length || read.length < RELEASE_PAGE) return { calls, complete: true };
    read = await metadata.readCalls(topicId, shard, (below[below.length - 1] as CallRecord).seq, RELEASE_PAGE);
  }
  return { calls, complete: false };
}

/** Queues the calls' segments for GC, then releases the calls (see the module comment). */
export async function releaseCalls(
  metadata: TrimStore,
  topicId: string,
  shard: number,
  calls: readonly CallRecord[],
  nowMs: number,
  newId: () => string,
): Promise<number> {
  const segments = [...new Set(calls.map((c) => c.segmentKey))];
  for (let i = 0; i < segments.length; i += RELEASE_BATCH_MAX) {
    await metadata.queueRelease(newId(), nowMs, segments.slice(i, i + RELEASE_BATCH_MAX));
  }
  await metadata.releaseCalls(
    topicId,
    shard,
    calls.map((c) => c.seq),
  );
  return calls.length;
}

/** Validates a retention setting (null = none). */
export function checkRetention(name: string, v: number | null | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || v < 1)
    throw new InvalidArgumentError(`${name} ${v} must be a positive integer or null`);
  return v;
}
