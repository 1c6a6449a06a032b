/**
 * Offsets for a timestamp: the earliest offset whose record timestamp is ≥ T.
 *
 * Every index entry (a chunk of a call item) stores `maxTimestampSoFar`, the running maximum of record timestamps
 * up to and including it; it is monotonic along the partition by construction (the head
 * CAS guarantees each commit extends the head it read). So the first entry whose running
 * max is ≥ T holds the answer (every record before it is < T), and we find it by binary
 * search over offsets: O(log n) single-item Queries, never a scan. Then one chunk read
 * finds the first record ≥ T inside it.
 */
import { InvalidArgumentError } from '../errors';
import { decodeChunk } from '../records/segment-codec';
import type { IndexEntry } from '../storage/ports';
import type { LogContext } from './context';

/** The earliest offset with timestamp ≥ `timestampMs`, or null if every record is older. */
export async function offsetForTimestamp(
  ctx: LogContext,
  topicName: string,
  partition: number,
  timestampMs: number,
): Promise<{ offset: number | null; highWatermark: number; startOffset: number; reads: number }> {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
    throw new InvalidArgumentError(`timestamp ${timestampMs} must be a non-negative integer (ms)`);
  }
  const topic = await ctx.topics.getWithPartition(topicName, partition);
  const [head] = await ctx.metadata.getHeads(topic.topicId, [partition]);
  const { nextOffset: hwm, startOffset } = head as NonNullable<typeof head>;
  let reads = 1;
  const none = { offset: null, highWatermark: hwm, startOffset };
  if (hwm === startOffset || (head?.maxTimestamp ?? -1) < timestampMs) return { ...none, reads };

  const entryAt = async (offset: number): Promise<IndexEntry | undefined> => {
    reads++;
    const [e] = await ctx.metadata.queryIndex(topic.topicId, partition, offset, hwm - 1, 1);
    return e;
  };
  let lo = startOffset;
  let hi = hwm - 1;
  let found: IndexEntry | undefined;
  while (lo <= hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const e = await entryAt(mid);
    if (!e) break;
    if (e.maxTimestampSoFar >= timestampMs) {
      found = e;
      hi = e.baseOffset - 1;
    } else {
      lo = e.lastOffset + 1;
    }
  }
  if (!found) return { ...none, reads };
  const bytes = await ctx.objects.getRange(found.segmentKey, found.byteOffset, found.byteOffset + found.byteLength);
  if (!bytes) return offsetForTimestamp(ctx, topicName, partition, timestampMs); // retention raced us
  const { records } = decodeChunk(bytes, found.baseOffset);
  const first = records.find((r) => r.offset >= startOffset && r.timestamp >= timestampMs);
  return { offset: first ? first.offset : found.lastOffset + 1, highWatermark: hwm, startOffset, reads };
}
