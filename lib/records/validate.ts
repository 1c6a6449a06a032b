/**
 * The one place a record and a produce call are checked (pure; the limits are input), used
 * by the log before anything is written, by the client before anything is queued (with the
 * limits it learned from the server), and for the HTTP API's schema ranges. A problem is
 * an InvalidArgumentError with a message that names the record, the value and the limit.
 */
import { InvalidArgumentError } from '../errors';
import type { LogSettings } from '../settings';
import { HEAD_SHARD_SIZE } from '../storage/layout';
import { type RecordHeader, recordSizeBytes } from './types';

/** The limits a produce call is checked against: what a client must know of the server. */
export type ProduceLimits = Pick<
  LogSettings,
  | 'maxRecordsPerCall'
  | 'maxRecordBytes'
  | 'maxCallBytes'
  | 'maxHeadersPerRecord'
  | 'maxHeaderNameLength'
  | 'maxPartitionsPerCall'
  | 'maxPartitionsPerTopic'
>;

/** The `ProduceLimits` part of the log's settings. */
export function produceLimits(s: LogSettings): ProduceLimits {
  return {
    maxRecordsPerCall: s.maxRecordsPerCall,
    maxRecordBytes: s.maxRecordBytes,
    maxCallBytes: s.maxCallBytes,
    maxHeadersPerRecord: s.maxHeadersPerRecord,
    maxHeaderNameLength: s.maxHeaderNameLength,
    maxPartitionsPerCall: s.maxPartitionsPerCall,
    maxPartitionsPerTopic: s.maxPartitionsPerTopic,
  };
}

/**
 * The one transaction a produce call commits: 2 items per head shard it touches (48
 * partitions of a topic share one), the segment file and a dedupe item — DynamoDB allows
 * 100, so 49 head shards. Both the log and the client's batching count it here.
 */
export const MAX_COMMIT_ITEMS = 100;

/** Counts the commit items of a call as partitions are added to it. */
export class CommitBudget {
  private readonly shards = new Set<string>();

  /** The items if `(topic, partition)` joined the call. */
  itemsWith(topic: string, partition: number): number {
    const shard = `${topic}#${Math.floor(partition / HEAD_SHARD_SIZE)}`;
    return 2 * (this.shards.size + (this.shards.has(shard) ? 0 : 1)) + 2;
  }

  add(topic: string, partition: number): void {
    this.shards.add(`${topic}#${Math.floor(partition / HEAD_SHARD_SIZE)}`);
  }
}

/** A record in bytes, as it reaches the check (a JavaScript caller may pass anything). */
export interface RecordToCheck {
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: unknown;
  readonly partition?: unknown;
  readonly timestamp?: unknown;
}

/**
 * Characters of a string as JSON Schema's `maxLength` counts them (Unicode code points, a
 * surrogate pair once), so the HTTP document can declare the header-name rule exactly.
 */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++; // a string iterates by code point
  return n;
}

function isBytesOrNull(v: unknown): v is Uint8Array | null {
  return v === null || v instanceof Uint8Array;
}

/** Checks a partition number's form (its existence is the topic's business). */
export function checkPartitionNumber(p: unknown, where: string): void {
  if (p !== undefined && (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0)) {
    throw new InvalidArgumentError(`${where}: partition ${String(p)} must be a non-negative integer`);
  }
}

/**
 * The latest record timestamp accepted: 9999-12-31T23:59:59.999Z (ms). Heads pack a
 * partition's max timestamp as a delta from its neighbour's, which needs magnitudes below 2^52.
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/** Checks a producer timestamp (ms since the epoch, up to `MAX_TIMESTAMP_MS`). */
export function checkTimestamp(t: unknown, where: string): void {
  if (t !== undefined && (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t > MAX_TIMESTAMP_MS)) {
    throw new InvalidArgumentError(
      `${where}: timestamp ${String(t)} must be an integer of ms between 0 and ${MAX_TIMESTAMP_MS} (9999-12-31)`,
    );
  }
}

/**
 * Checks one record (bytes already encoded) against the limits; returns its size in bytes
 * (key + value + header names and values, what the call limit counts).
 */
export function checkRecord(r: RecordToCheck, limits: ProduceLimits, where: string): number {
  if (typeof r !== 'object' || r === null) throw new InvalidArgumentError(`${where} must be an object`);
  checkPartitionNumber(r.partition, where);
  checkTimestamp(r.timestamp, where);
  if (!isBytesOrNull(r.value) || !(r.key === undefined || isBytesOrNull(r.key))) {
    throw new InvalidArgumentError(`${where}: key and value must be bytes (Uint8Array) or null`);
  }
  const headers = r.headers ?? [];
  if (!Array.isArray(headers) || !headers.every((h) => Array.isArray(h) && isBytesOrNull(h[1]))) {
    throw new InvalidArgumentError(`${where}: headers must be [name, bytes | null] pairs`);
  }
  if (headers.length > limits.maxHeadersPerRecord) {
    throw new InvalidArgumentError(
      `${where} has ${headers.length} headers; at most ${limits.maxHeadersPerRecord} are allowed`,
    );
  }
  for (const [name] of headers as RecordHeader[]) {
    const n = typeof name === 'string' ? codePoints(name) : -1;
    if (n < 1 || n > limits.maxHeaderNameLength) {
      throw new InvalidArgumentError(`${where}: header names must be 1-${limits.maxHeaderNameLength} characters`);
    }
  }
  const size = recordSizeBytes({
    key: (r.key as Uint8Array | null | undefined) ?? null,
    value: r.value,
    headers: headers as RecordHeader[],
    timestamp: 0,
  });
  if (size > limits.maxRecordBytes) {
    throw new InvalidArgumentError(
      `${where} is ${size} bytes; at most ${limits.maxRecordBytes} are allowed`,
      'RECORD_TOO_LARGE',
      { size, limit: limits.maxRecordBytes },
    );
  }
  return size;
}

/** Checks the totals of one produce call. */
export function checkCallTotals(count: number, bytes: number, limits: ProduceLimits): void {
  if (count > limits.maxRecordsPerCall) {
    throw new InvalidArgumentError(
      `a produce call has ${count} records; at most ${limits.maxRecordsPerCall} are allowed`,
      'REQUEST_TOO_LARGE',
      { count, limit: limits.maxRecordsPerCall },
    );
  }
  if (bytes > limits.maxCallBytes) {
    throw new InvalidArgumentError(
      `a produce call has ${bytes} bytes of records; at most ${limits.maxCallBytes} are allowed`,
      'REQUEST_TOO_LARGE',
      { bytes, limit: limits.maxCallBytes },
    );
  }
}
