/**
 * What a push subscription delivers and what it reads back: exactly the event Lambda delivers
 * for a self-managed Kafka event source, so handlers written for Kafka event sources (with or
 * without Powertools' Kafka consumer utility) run unchanged, plus a `sluice` field naming the
 * subscription and the delivery.
 *
 *   { eventSource: 'SelfManagedKafka', bootstrapServers,
 *     records: { 'orders-3': [{ topic, partition, offset, timestamp, timestampType,
 *                               key (base64, absent when null), value (base64),
 *                               headers: [{ name: [byte, …] }, …] }, …] },
 *     sluice: { subscription, deliveryId } }
 *
 * A handler that reports partial failures answers `{ batchItemFailures: [{ itemIdentifier }] }`
 * with identifiers `"{topic}-{partition}@{offset}"` (`itemIdentifier`); the batch is done up
 * to the first failed record of each partition, and delivery resumes there.
 */
import type { LogRecord } from '../records/types';

/** One record as Lambda's Kafka event carries it. */
export interface KafkaEventRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: 'CREATE_TIME';
  /** Base64; absent for a null key (as Lambda delivers it). */
  readonly key?: string;
  /** Base64; the empty string for a null value (a tombstone). */
  readonly value: string;
  /** One object per header, in order: `{ name: [bytes] }` (a null value is no bytes). */
  readonly headers: readonly Record<string, number[]>[];
}

export interface KafkaEvent {
  readonly eventSource: 'SelfManagedKafka';
  /** Where the records came from: the Sluice deployment's name (there are no brokers). */
  readonly bootstrapServers: string;
  /** By `"{topic}-{partition}"`, each in offset order. */
  readonly records: Readonly<Record<string, readonly KafkaEventRecord[]>>;
  readonly sluice: { readonly subscription: string; readonly deliveryId: string };
}

/** The records of one partition in a delivery. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
}

const base64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** The Kafka event of one delivery. */
export function kafkaEvent(
  batches: readonly PartitionBatch[],
  sluice: { subscription: string; deliveryId: string; source: string },
): KafkaEvent {
  const records: Record<string, KafkaEventRecord[]> = {};
  for (const b of batches) {
    records[`${b.topic}-${b.partition}`] = b.records.map((r) => ({
      topic: b.topic,
      partition: b.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      timestampType: 'CREATE_TIME',
      ...(r.key === null ? {} : { key: base64(r.key) }),
      value: r.value === null ? '' : base64(r.value),
      headers: r.headers.map(([name, value]) => ({ [name]: value === null ? [] : [...value] })),
    }));
  }
  return {
    eventSource: 'SelfManagedKafka',
    bootstrapServers: sluice.source,
    records,
    sluice: { subscription: sluice.subscription, deliveryId: sluice.deliveryId },
  };
}

/** The identifier a handler names a failed record by: `"{topic}-{partition}@{offset}"`. */
export function itemIdentifier(topic: string, partition: number, offset: number): string {
  return `${topic}-${partition}@${offset}`;
}

/** Parses `itemIdentifier` (topics may contain `-` and `.`; the partition is after the last `-`). */
export function parseItemIdentifier(id: string): { topic: string; partition: number; offset: number } | undefined {
  const m = /^(.+)-(\d{1,4})@(\d{1,16})$/.exec(id);
  if (!m) return undefined;
  const partition = Number(m[2]);
  const offset = Number(m[3]);
  if (!Number.isSafeInteger(offset)) return undefined;
  return { topic: m[1] as string, partition, offset };
}

/** What a handler's answer says about a delivery, per partition. */
export type DeliveryOutcome =
  /** Everything succeeded. */
  | { readonly kind: 'success' }
  /** Records from `firstFailed` on (per `"{topic}-{partition}"`) failed; the ones before succeeded. */
  | { readonly kind: 'partial'; readonly firstFailed: ReadonlyMap<string, number> }
  /** The whole batch failed (the handler threw, or answered what cannot be read as a partial failure). */
  | { readonly kind: 'failure'; readonly reason: string };

/**
 * Reads a handler's answer for a delivery, as Lambda does for `ReportBatchItemFailures`: no
 * `batchItemFailures` (or an empty list) is success; identifiers of records in the batch mark
 * each partition failed from its lowest one; an identifier that is not a record of the batch,
 * or a malformed answer, fails the whole batch (nothing is taken as processed that might not be).
 */
export function readHandlerAnswer(
  answer: unknown,
  batches: readonly PartitionBatch[],
  reportsItemFailures: boolean,
): DeliveryOutcome {
  if (!reportsItemFailures || answer === null || typeof answer !== 'object') return { kind: 'success' };
  const failures = (answer as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  if (failures.length === 0) return { kind: 'success' };
  const ranges = new Map(
    batches.map((b) => [
      `${b.topic}-${b.partition}`,
      { first: b.records[0]?.offset ?? 0, last: b.records.at(-1)?.offset ?? -1 },
    ]),
  );
  const firstFailed = new Map<string, number>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const parsed = typeof id === 'string' ? parseItemIdentifier(id) : undefined;
    const key = parsed ? `${parsed.topic}-${parsed.partition}` : '';
    const range = ranges.get(key);
    if (!parsed || !range || parsed.offset < range.first || parsed.offset > range.last) {
      return { kind: 'failure', reason: `batchItemFailures names ${JSON.stringify(id)}, not a record of this batch` };
    }
    firstFailed.set(key, Math.min(firstFailed.get(key) ?? parsed.offset, parsed.offset));
  }
  return { kind: 'partial', firstFailed };
}
