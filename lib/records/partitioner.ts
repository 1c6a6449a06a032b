/**
 * Partitioning, pure: the same inputs always give the same partition.
 *
 * Keyed records go where Kafka's Java client and kafkajs's DefaultPartitioner send them:
 * `toPositive(murmur2(keyBytes)) % numPartitions`. Records with a null key are "sticky":
 * every null-key record of one produce call goes to one partition, and successive calls
 * rotate (round-robin) — Kafka's sticky partitioner idea, which keeps the number of
 * partitions a call touches (and so its DynamoDB transaction) small.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit. */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Chooses a record's partition: an explicit partition wins; else the key's murmur2
 * partition; else (null key) the call's sticky partition.
 */
export function choosePartition(
  explicit: number | undefined,
  key: Uint8Array | null,
  numPartitions: number,
  stickyPartition: number,
): number {
  if (explicit !== undefined) return explicit;
  if (key !== null) return partitionForKey(key, numPartitions);
  return stickyPartition % numPartitions;
}
