/**
 * The producer, shaped like kafkajs's: `send`, `sendBatch`, `flush`, `close`.
 *
 * Like Kafka's RecordAccumulator it batches on the client, because a Lambda invocation
 * cannot batch across requests: every `send` made within `lingerMs` (or until
 * `maxBatchBytes`) goes into ONE produce call — one S3 object and one DynamoDB
 * transaction — split only where one call's limits require it (48 partitions, 10,000
 * records, 5 MiB). Retriable errors are retried with exponential backoff and full jitter.
 *
 * Idempotent (the default, as in Kafka ≥ 3): each call carries the producer id and a
 * sequence number, so a retry — after a timeout, a lost response, a crash of the network —
 * returns the original offsets instead of writing twice; calls are sent one at a time, in
 * order, so per-partition order holds under retries.
 *
 * A send is checked whole before anything of it is queued (types, sizes, the topic, explicit
 * partitions): a bad send is rejected alone, with nothing written, and never fails the
 * other sends batched with it.
 */
import { type Clock, systemClock } from '../clock';
import { InvalidArgumentError, isRetriable, PartitionNotFoundError, SluiceError } from '../errors';
import { type RandomSource, systemRandom, uuidV4 } from '../ids';
import type { ProduceRecord } from '../log/produce';
import { choosePartition } from '../records/partitioner';
import { type RecordHeader, recordSizeBytes } from '../records/types';
import { DEFAULT_LOG_SETTINGS, topicNameProblem } from '../settings';
import type { Transport } from './transport';

/** Bytes, or a string encoded as UTF-8. */
export type BytesLike = string | Uint8Array;

/** A message as kafkajs users write it. */
export interface Message {
  readonly key?: BytesLike | null;
  readonly value: BytesLike | null;
  readonly headers?: Readonly<Record<string, BytesLike | null>>;
  readonly partition?: number;
  /** Milliseconds since the epoch; a string of digits is accepted too (kafkajs's type). */
  readonly timestamp?: number | string;
}

/** Where a message landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Producer settings (units in the names). */
export interface ProducerOptions {
  /** Wait this long for more messages before a flush. @default 5 */
  readonly lingerMs?: number;
  /** Flush as soon as this many bytes are pending. @default 1 MiB */
  readonly maxBatchBytes?: number;
  /** Produce calls in flight at once (non-idempotent producers only). @default 5 */
  readonly maxInFlight?: number;
  /** Dedupe retries with a producer id + sequence and keep order. @default true */
  readonly idempotent?: boolean;
  /** Retries of a retriable error before giving up. @default 8 */
  readonly retries?: number;
  /** First retry delay; doubles per retry (full jitter). @default 100 */
  readonly initialRetryMs?: number;
  /** Cap of one retry delay. @default 5000 */
  readonly maxRetryMs?: number;
}

interface Pending {
  readonly topic: string;
  readonly record: ProduceRecord;
  readonly bytes: number;
  readonly done: (r: RecordMetadata | Error) => void;
}

const MAX_PARTITIONS_PER_CALL = DEFAULT_LOG_SETTINGS.maxPartitionsPerCall;
const MAX_RECORDS_PER_CALL = DEFAULT_LOG_SETTINGS.maxRecordsPerCall;
const MAX_BYTES_PER_CALL = DEFAULT_LOG_SETTINGS.maxCallBytes;

/** Batches sends into produce calls; see the module comment. */
export class Producer {
  private readonly lingerMs: number;
  private readonly maxBatchBytes: number;
  private readonly maxInFlight: number;
  private readonly idempotent: boolean;
  private readonly retries: number;
  private readonly initialRetryMs: number;
  private readonly maxRetryMs: number;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private lingerTimer: AbortController | undefined;
  private inFlight = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  /** Sends being checked and queued, one after another. */
  private admission: Promise<void> = Promise.resolve();
  private closed = false;
  private producerId: string;
  private sequence = 0;
  private sticky = 0;
  private readonly partitionCounts = new Map<string, number>();

  constructor(
    private readonly transport: Transport,
    options: ProducerOptions = {},
    private readonly clock: Clock = systemClock,
    private readonly random: RandomSource = systemRandom,
  ) {
    this.lingerMs = checked('lingerMs', options.lingerMs ?? 5, 0, 60_000);
    this.maxBatchBytes = checked('maxBatchBytes', options.maxBatchBytes ?? 1024 * 1024, 1, MAX_BYTES_PER_CALL);
    this.maxInFlight = checked('maxInFlight', options.maxInFlight ?? 5, 1, 100);
    this.idempotent = options.idempotent ?? true;
    this.retries = checked('retries', options.retries ?? 8, 0, 100);
    this.initialRetryMs = checked('initialRetryMs', options.initialRetryMs ?? 100, 1, 60_000);
    this.maxRetryMs = checked('maxRetryMs', options.maxRetryMs ?? 5000, 1, 600_000);
    this.producerId = uuidV4(random);
  }

  /** Sends messages to one topic; resolves with each message's partition and offset, in order. */
  async send(args: { topic: string; messages: readonly Message[] }): Promise<RecordMetadata[]> {
    return this.sendBatch({ topicMessages: [args] });
  }

  /** Sends messages to several topics (batched with everything else pending). */
  async sendBatch(args: {
    topicMessages: readonly { topic: string; messages: readonly Message[] }[];
  }): Promise<RecordMetadata[]> {
    if (this.closed) throw new InvalidArgumentError('the producer is closed');
    if (!args || !Array.isArray(args.topicMessages) || args.topicMessages.length === 0) {
      throw new InvalidArgumentError('sendBatch needs topicMessages: [{ topic, messages }]');
    }
    // check the whole send before queuing any of it
    const checkedSends: { topic: string; records: ProduceRecord[] }[] = [];
    for (const tm of args.topicMessages) {
      const topic = tm?.topic;
      const problem = topicNameProblem(topic);
      if (problem) throw new InvalidArgumentError(problem, 'INVALID_TOPIC_NAME');
      if (!Array.isArray(tm.messages) || tm.messages.length === 0) {
        throw new InvalidArgumentError(`send to "${topic}" needs at least one message`);
      }
      const messages: readonly Message[] = tm.messages;
      checkedSends.push({ topic, records: messages.map((m, i) => toRecord(m, `message ${i} to "${topic}"`)) });
    }
    // admitted one send at a time, in call order (so per-partition order is the call order),
    // after the topic's partitions are known to hold every explicit partition
    const promises: Promise<RecordMetadata>[] = [];
    const turn = this.admission.then(async () => {
      for (const { topic, records } of checkedSends) await this.checkPartitions(topic, records);
      for (const { topic, records } of checkedSends) {
        for (const record of records) {
          const bytes = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0) + 32;
          promises.push(
            new Promise<RecordMetadata>((resolve, reject) => {
              this.pending.push({ topic, record, bytes, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
            }),
          );
          this.pendingBytes += bytes;
        }
      }
      if (this.pendingBytes >= this.maxBatchBytes) this.drain();
      else this.armLinger();
    });
    this.admission = turn.catch(() => {});
    await turn;
    return Promise.all(promises);
  }

  private async checkPartitions(topic: string, records: readonly ProduceRecord[]): Promise<void> {
    const highest = Math.max(-1, ...records.map((r) => r.partition ?? -1));
    if (highest < (await this.partitionsOf(topic))) return;
    this.partitionCounts.delete(topic); // partitions may have been added since we looked
    const partitions = await this.partitionsOf(topic);
    if (highest >= partitions) throw new PartitionNotFoundError(topic, highest, partitions);
  }

  /** Sends everything pending now and waits until every call in flight has finished. */
  async flush(): Promise<void> {
    this.drain();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.admission; // sends made before close are still admitted
    await this.flush();
  }

  private armLinger(): void {
    if (this.lingerTimer || this.pending.length === 0) return;
    const timer = new AbortController();
    this.lingerTimer = timer;
    void this.clock.sleep(this.lingerMs, timer.signal).then(() => {
      if (this.lingerTimer === timer) this.drain();
    });
  }

  /** Takes everything pending and starts its produce calls. */
  private drain(): void {
    this.lingerTimer?.abort();
    this.lingerTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const work = this.sendAll(batch).catch((e) => {
      for (const p of batch) p.done(e instanceof Error ? e : new Error(String(e)));
    });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async sendAll(batch: Pending[]): Promise<void> {
    const calls = await this.split(batch);
    if (this.idempotent) {
      // one call at a time, in order: the chain keeps per-partition order across flushes
      const previous = this.chain;
      const mine = (async () => {
        await previous.catch(() => {});
        for (const c of calls) await this.runCall(c);
      })();
      this.chain = mine;
      return mine;
    }
    await Promise.all(calls.map((c) => this.runCall(c)));
  }

  private inFlightCalls = 0;
  private waiters: (() => void)[] = [];

  private async runCall(entries: Pending[]): Promise<void> {
    while (this.inFlightCalls >= this.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlightCalls++;
    try {
      const result = await this.produceWithRetries(entries);
      entries.forEach((p, i) => {
        p.done(result[i] as RecordMetadata);
      });
    } catch (e) {
      for (const p of entries) p.done(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.inFlightCalls--;
      this.waiters.shift()?.();
    }
  }

  private async produceWithRetries(entries: Pending[]): Promise<RecordMetadata[]> {
    // group by topic, keeping each record's position so answers map back in order
    const topics = new Map<string, { records: ProduceRecord[]; at: number[] }>();
    entries.forEach((p, i) => {
      const t = topics.get(p.topic) ?? { records: [], at: [] };
      t.records.push(p.record);
      t.at.push(i);
      topics.set(p.topic, t);
    });
    const batches = [...topics].map(([topic, t]) => ({ topic, records: t.records }));
    const sequence = this.sequence;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.transport.produce({
          batches,
          ...(this.idempotent ? { producer: { producerId: this.producerId, sequence } } : {}),
        });
        if (this.idempotent) this.sequence = sequence + 1;
        const out: RecordMetadata[] = new Array(entries.length);
        res.batches.forEach((b) => {
          const t = topics.get(b.topic) as { at: number[] };
          b.offsets.forEach((o, j) => {
            out[t.at[j] as number] = { topic: b.topic, partition: o.partition, offset: o.offset };
          });
        });
        return out;
      } catch (e) {
        if (!isRetriable(e) || attempt >= this.retries) {
          // After an unresolved failure we cannot know whether `sequence` was used; a new
          // producer identity restarts at 0 (Kafka bumps the producer epoch likewise).
          if (this.idempotent && isRetriable(e)) {
            this.producerId = uuidV4(this.random);
            this.sequence = 0;
          }
          throw e;
        }
        if (e instanceof SluiceError && e.code === 'PARTITION_NOT_FOUND') this.partitionCounts.clear();
        await this.clock.sleep(this.backoffMs(attempt));
      }
    }
  }

  private backoffMs(attempt: number): number {
    const cap = Math.min(this.maxRetryMs, this.initialRetryMs * 2 ** attempt);
    const r = this.random.bytes(4);
    const u = (((r[0] as number) << 24) | ((r[1] as number) << 16) | ((r[2] as number) << 8) | (r[3] as number)) >>> 0;
    return Math.floor((u / 2 ** 32) * cap);
  }

  /** A topic's partition count, cached (cleared when the log says a partition is missing). */
  private async partitionsOf(topic: string): Promise<number> {
    let n = this.partitionCounts.get(topic);
    if (n === undefined) {
      n = (await this.transport.describeTopic(topic)).partitions;
      this.partitionCounts.set(topic, n);
    }
    return n;
  }

  /**
   * Splits a flush into produce calls that each respect one call's limits. Partitions are
   * computed here (the same murmur2 the log uses) so the 48-partition limit can be kept.
   */
  private async split(batch: Pending[]): Promise<Pending[][]> {
    const sticky = this.sticky++;
    const calls: Pending[][] = [];
    let current: Pending[] = [];
    let parts = new Set<string>();
    let bytes = 0;
    for (const p of batch) {
      const partitions = await this.partitionsOf(p.topic);
      const partition = choosePartition(p.record.partition, p.record.key ?? null, partitions, sticky);
      const ref = `${p.topic}#${partition}`;
      const grows = parts.has(ref) ? 0 : 1;
      if (
        current.length > 0 &&
        (parts.size + grows > MAX_PARTITIONS_PER_CALL ||
          current.length >= MAX_RECORDS_PER_CALL ||
          bytes + p.bytes > MAX_BYTES_PER_CALL)
      ) {
        calls.push(current);
        current = [];
        parts = new Set();
        bytes = 0;
      }
      current.push({ ...p, record: { ...p.record, partition } });
      parts.add(ref);
      bytes += p.bytes;
    }
    if (current.length > 0) calls.push(current);
    return calls;
  }
}

function checked(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`producer option ${name} = ${v} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

const MAX_RECORD_BYTES = DEFAULT_LOG_SETTINGS.maxRecordBytes;
const MAX_HEADERS = DEFAULT_LOG_SETTINGS.maxHeadersPerRecord;

function bytesOf(v: unknown, what: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  throw new InvalidArgumentError(`${what} must be a string, a Uint8Array/Buffer or null, not ${describe(v)}`);
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v;
}

/** Checks one message as a JavaScript caller may pass anything, and converts it. */
function toRecord(m: Message, where: string): ProduceRecord {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    throw new InvalidArgumentError(`${where} must be an object like { key?, value, headers? }`);
  }
  if (!('value' in m) || m.value === undefined) {
    throw new InvalidArgumentError(`${where} has no value (use null for a tombstone)`);
  }
  const headers: RecordHeader[] = [];
  if (m.headers !== undefined) {
    if (typeof m.headers !== 'object' || m.headers === null || Array.isArray(m.headers)) {
      throw new InvalidArgumentError(`${where}: headers must be an object of name → string/bytes/null`);
    }
    for (const name of Object.keys(m.headers)) {
      headers.push([name, bytesOf((m.headers as Record<string, unknown>)[name], `${where}: header "${name}"`)]);
    }
    if (headers.length > MAX_HEADERS) {
      throw new InvalidArgumentError(`${where} has ${headers.length} headers; at most ${MAX_HEADERS} are allowed`);
    }
  }
  if (m.partition !== undefined && (!Number.isSafeInteger(m.partition) || m.partition < 0)) {
    throw new InvalidArgumentError(`${where}: partition ${String(m.partition)} must be a non-negative integer`);
  }
  let timestamp: number | undefined;
  if (m.timestamp !== undefined) {
    timestamp =
      typeof m.timestamp === 'string' && /^\d{1,16}$/.test(m.timestamp) ? Number(m.timestamp) : (m.timestamp as number);
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new InvalidArgumentError(`${where}: timestamp ${String(m.timestamp)} must be a non-negative integer (ms)`);
    }
  }
  const record: ProduceRecord = {
    key: bytesOf(m.key, `${where}: key`),
    value: bytesOf(m.value, `${where}: value`),
    headers,
    ...(m.partition !== undefined ? { partition: m.partition } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  };
  const size = recordSizeBytes({ key: record.key ?? null, value: record.value, headers, timestamp: 0 });
  if (size > MAX_RECORD_BYTES) {
    throw new InvalidArgumentError(
      `${where} is ${size} bytes; at most ${MAX_RECORD_BYTES} are allowed`,
      'RECORD_TOO_LARGE',
      {
        size,
        limit: MAX_RECORD_BYTES,
      },
    );
  }
  return record;
}
