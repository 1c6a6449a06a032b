/**
 * Record types shared by the codec, the log and the clients.
 */

/** A dense, 0-based position inside a partition. Branded so offsets never mix with byte positions. */
export type Offset = number & { readonly __brand: 'Offset' };

/** Brands a number as an offset (it must be a non-negative safe integer). */
export function asOffset(n: number): Offset {
  return n as Offset;
}

/** One record header: a name and raw bytes (null allowed, as in Kafka). Names may repeat. */
export type RecordHeader = readonly [name: string, value: Uint8Array | null];

/** A record as a producer hands it in (bytes already encoded). */
export interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
  /** Milliseconds since the epoch; producer-supplied or append time. */
  readonly timestamp: number;
}

/** A record read back from the log, at its offset. */
export interface LogRecord extends RecordInput {
  readonly offset: Offset;
}

/** Bytes one record occupies for limit checks: key + value + header names and values. */
export function recordSizeBytes(r: RecordInput): number {
  let n = (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  for (const [name, value] of r.headers) n += Buffer.byteLength(name) + (value?.byteLength ?? 0);
  return n;
}
