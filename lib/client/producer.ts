/**
 * The producer, shaped like kafkajs's: `send`, `sendBatch`, `flush`, `close`.
 *
 * It batches on the client like Kafka's RecordAccumulator, because a Lambda invocation
 * cannot batch across requests: messages queue until their produce call leaves — one S3
 * object and one DynamoDB transaction — which happens when the previous call has returned
 * (idempotent: one call at a time) and the oldest queued message has waited `lingerMs`, or
 * sooner once a call's worth is queued (`maxBatchBytes`, 10,000 records) or on `flush`.
 * Messages that arrive while a call is in flight join the next call, so under steady load
 * calls grow with the rate instead of queueing up behind each other. A call is split only
 * where one call's limits require it (48 partitions, 10,000 records, `maxBatchBytes`).
 * What is queued or in flight is bounded by `maxBufferedBytes`: a send beyond it waits up
 * to `maxBlockMs` for acknowledgements to free room, then fails with PRODUCER_BUFFER_FULL.
 * Retriable errors are retried with exponential backoff and full jitter.
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
import { CommitBudget, checkRecord, MAX_COMMIT_ITEMS, type ProduceLimits } from '../records/validate';
import { topicNameProblem } from '../settings';
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
  /**
   * How long a message may wait for others to join its produce call. The clock starts when
   * the message is queued; while a call is in flight the next one keeps filling, and it is
   * sent as soon as that call returns and its oldest message has waited this long.
   * @default 250 (see the README: the cheapest setting that still answers well under a second)
   */
  readonly lingerMs?: number;
  /**
   * The most bytes of one produce call; a call is sent without waiting once this much is
   * queued. Bounded by the server's `maxCallBytes` (over HTTP: what fits in a request body).
   * @default 4 MiB (one PUT and one commit per 4 MiB: a 100 MB/s topic of 64 producers
   * flushing every second makes one call per flush instead of two)
   */
  readonly maxBatchBytes?: number;
  /**
   * Bytes queued or in flight, not yet acknowledged (Kafka's `buffer.memory`). A send that
   * would go beyond waits for room (`maxBlockMs`). @default 32 MiB
   */
  readonly maxBufferedBytes?: number;
  /** How long a send waits for room in the buffer before it fails with PRODUCER_BUFFER_FULL. @default 60000 */
  readonly maxBlockMs?: number;
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

/** The defaults, in one place (the README quotes them). */
export const PRODUCER_DEFAULTS = {
  lingerMs: 250,
  maxBatchBytes: 4 * 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxBlockMs: 60_000,
  maxInFlight: 5,
  retries: 8,
  initialRetryMs: 100,
  maxRetryMs: 5000,
} as const;

interface Pending {
  readonly topic: string;
  readonly record: ProduceRecord;
  readonly bytes: number;
  /** The topic's partition count when the message was admitted. */
  readonly partitions: number;
  /** When it was queued: its linger runs from here. */
  readonly queuedMs: number;
  /** Admission order, for `flush`. */
  readonly seq: number;
  readonly done: (r: RecordMetadata | Error) => void;
}

/** The most bytes a produce call may ever carry (the log's own upper bound on `maxCallBytes`). */
const MAX_BYTES_PER_CALL = 256 * 1024 * 1024;

/**
 * Batches sends into produce calls like Kafka's RecordAccumulator; see the module comment.
 *
 *   send ─▶ admission (checked whole, in call order; waits for buffer room)
 *        ─▶ pending queue ─▶ sender: a call leaves when a slot is free (idempotent: one
 *           call at a time) AND (its oldest message has lingered, or a call's worth of
 *           bytes/records is queued, or flush/close asked) ─▶ ack frees buffer room
 *
 * Messages that arrive while a call is in flight join the next call: under load the calls
 * grow instead of queueing up, so the acknowledged rate follows the offered rate.
 */
export class Producer {
  private readonly lingerMs: number;
  private readonly maxBatchBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly maxBlockMs: number;
  private readonly maxInFlight: number;
  private readonly idempotent: boolean;
  private readonly retries: number;
  private readonly initialRetryMs: number;
  private readonly maxRetryMs: number;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** Bytes queued or in flight, not yet acknowledged. */
  private bufferedBytes = 0;
  /** A call just ended: the next one leaves after its acknowledgements were delivered. */
  private pumpScheduled = false;
  /** The first (smallest) `seq` of each call in flight (one entry per call). */
  private readonly inFlightSeqs = new Set<number>();
  private lingerTimer: { at: number; abort: AbortController } | undefined;
  /** Messages with `seq` up to here are sent without waiting for their linger (flush). */
  private flushThrough = -1;
  private nextSeq = 0;
  /** Woken whenever a call finishes (buffer room, flush progress). */
  private callEnded: (() => void)[] = [];
  /** Sends being checked and queued, one after another. */
  private admission: Promise<void> = Promise.resolve();
  private closed = false;
  private producerId: string;
  private sequence = 0;
  private sticky = 0;
  private readonly partitionCounts = new Map<string, number>();
  /** The server's limits, asked once (a failed ask is asked again by the next send). */
  private limitsAsked: Promise<ProduceLimits> | undefined;
  private limits: ProduceLimits | undefined;

  constructor(
    private readonly transport: Transport,
    options: ProducerOptions = {},
    private readonly clock: Clock = systemClock,
    private readonly random: RandomSource = systemRandom,
  ) {
    const d = PRODUCER_DEFAULTS;
    this.lingerMs = checked('lingerMs', options.lingerMs ?? d.lingerMs, 0, 60_000);
    this.maxBatchBytes = checked('maxBatchBytes', options.maxBatchBytes ?? d.maxBatchBytes, 1, MAX_BYTES_PER_CALL);
    this.maxBufferedBytes = checked(
      'maxBufferedBytes',
      options.maxBufferedBytes ?? Math.max(d.maxBufferedBytes, this.maxBatchBytes),
      this.maxBatchBytes,
      2 ** 40,
    );
    this.maxBlockMs = checked('maxBlockMs', options.maxBlockMs ?? d.maxBlockMs, 0, 3_600_000);
    this.maxInFlight = checked('maxInFlight', options.maxInFlight ?? d.maxInFlight, 1, 100);
    this.idempotent = options.idempotent ?? true;
    this.retries = checked('retries', options.retries ?? d.retries, 0, 100);
    this.initialRetryMs = checked('initialRetryMs', options.initialRetryMs ?? d.initialRetryMs, 1, 60_000);
    this.maxRetryMs = checked('maxRetryMs', options.maxRetryMs ?? d.maxRetryMs, 1, 600_000);
    this.producerId = uuidV4(random);
  }

  /** Bytes queued or in flight and not yet acknowledged (bounded by `maxBufferedBytes`). */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
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
    const blockUntil = this.clock.nowMs() + this.maxBlockMs;
    const limits = await this.serverLimits();
    // check the whole send before queuing any of it, with the server's own rules and limits
    const checkedSends: { topic: string; records: ProduceRecord[] }[] = [];
    let sendBytes = 0;
    for (const tm of args.topicMessages) {
      const topic = tm?.topic;
      const problem = topicNameProblem(topic);
      if (problem) throw new InvalidArgumentError(problem, 'INVALID_TOPIC_NAME');
      if (!Array.isArray(tm.messages) || tm.messages.length === 0) {
        throw new InvalidArgumentError(`send to "${topic}" needs at least one message`);
      }
      const messages: readonly Message[] = tm.messages;
      const records = messages.map((m, i) => toRecord(m, `message ${i} to "${topic}"`, limits));
      for (const r of records) sendBytes += sizeOf(r);
      checkedSends.push({ topic, records });
    }
    if (sendBytes > this.maxBufferedBytes) {
      throw new InvalidArgumentError(
        `this send has ${sendBytes} bytes, more than the producer's whole buffer (maxBufferedBytes ${this.maxBufferedBytes}); split it or raise maxBufferedBytes`,
        'REQUEST_TOO_LARGE',
        { bytes: sendBytes, limit: this.maxBufferedBytes },
      );
    }
    // admitted one send at a time, in call order (so per-partition order is the call order),
    // after the topic's partitions are known to hold every explicit partition and the
    // buffer has room for all of it
    const promises: Promise<RecordMetadata>[] = [];
    const turn = this.admission.then(async () => {
      const partitionsOf = new Map<string, number>();
      for (const { topic, records } of checkedSends)
        partitionsOf.set(topic, await this.checkPartitions(topic, records));
      await this.roomFor(sendBytes, blockUntil);
      const now = this.clock.nowMs();
      for (const { topic, records } of checkedSends) {
        const partitions = partitionsOf.get(topic) as number;
        for (const record of records) {
          const bytes = sizeOf(record);
          const seq = this.nextSeq++;
          promises.push(
            new Promise<RecordMetadata>((resolve, reject) => {
              this.pending.push({
                topic,
                record,
                bytes,
                partitions,
                queuedMs: now,
                seq,
                done: (r) => (r instanceof Error ? reject(r) : resolve(r)),
              });
            }),
          );
          this.pendingBytes += bytes;
          this.bufferedBytes += bytes;
        }
      }
      this.pump();
    });
    this.admission = turn.catch(() => {});
    await turn;
    return Promise.all(promises);
  }

  /** What the log accepts, learned from it once (a server may be configured otherwise than the defaults). */
  private async serverLimits(): Promise<ProduceLimits> {
    if (this.limits) return this.limits;
    this.limitsAsked ??= this.transport.limits();
    try {
      const limits = await this.limitsAsked;
      this.limits = limits;
      return limits;
    } catch (e) {
      this.limitsAsked = undefined;
      throw e;
    }
  }

  /** Checks explicit partitions against the topic's partition count; returns the count. */
  private async checkPartitions(topic: string, records: readonly ProduceRecord[]): Promise<number> {
    const highest = Math.max(-1, ...records.map((r) => r.partition ?? -1));
    const known = await this.partitionsOf(topic);
    if (highest < known) return known;
    this.partitionCounts.delete(topic); // partitions may have been added since we looked
    const partitions = await this.partitionsOf(topic);
    if (highest >= partitions) throw new PartitionNotFoundError(topic, highest, partitions);
    return partitions;
  }

  /** Waits until `bytes` more fit in the buffer, or fails once `until` has passed. */
  private async roomFor(bytes: number, until: number): Promise<void> {
    while (this.bufferedBytes > 0 && this.bufferedBytes + bytes > this.maxBufferedBytes) {
      const left = until - this.clock.nowMs();
      if (left <= 0) {
        throw new SluiceError(
          'PRODUCER_BUFFER_FULL',
          `the producer's buffer (maxBufferedBytes ${this.maxBufferedBytes}) stayed full for maxBlockMs ${this.maxBlockMs} ms: ` +
            `the log is not acknowledging as fast as you send; nothing of this send was queued`,
          { retriable: true, details: { bufferedBytes: this.bufferedBytes, limit: this.maxBufferedBytes } },
        );
      }
      const wake = new AbortController();
      await Promise.race([this.nextCallEnd(), this.clock.sleep(left, wake.signal)]);
      wake.abort();
    }
  }

  private nextCallEnd(): Promise<void> {
    return new Promise((r) => this.callEnded.push(r));
  }

  /** Sends everything queued now without waiting for its linger, and waits until it is acknowledged or failed. */
  async flush(): Promise<void> {
    await this.admission; // sends already made are queued first
    const through = this.nextSeq - 1;
    this.flushThrough = Math.max(this.flushThrough, through);
    this.pump();
    while (this.unfinishedThrough(through)) await this.nextCallEnd();
  }

  /** True while a message admitted at or before `seq` is queued or in flight. */
  private unfinishedThrough(seq: number): boolean {
    // the queue is in admission order (calls take from it without reordering what stays)
    if (((this.pending[0] as Pending | undefined)?.seq ?? Number.POSITIVE_INFINITY) <= seq) return true;
    // a call's first entry has its smallest seq (calls take the queue in order)
    for (const first of this.inFlightSeqs) if (first <= seq) return true;
    return false;
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.admission; // sends made before close are still admitted
    await this.flush();
  }

  /** Starts every call that may leave now; arms the linger timer for the next one. */
  private pump(): void {
    if (this.pumpScheduled) return;
    const slots = this.idempotent ? 1 : this.maxInFlight;
    while (this.pending.length > 0 && this.inFlightSeqs.size < slots) {
      const head = this.pending[0] as Pending;
      const waited = this.clock.nowMs() - head.queuedMs;
      const ready =
        waited >= this.lingerMs ||
        head.seq <= this.flushThrough ||
        this.pendingBytes >= Math.min(this.maxBatchBytes, (this.limits as ProduceLimits).maxCallBytes) ||
        this.pending.length >= (this.limits as ProduceLimits).maxRecordsPerCall;
      if (!ready) {
        this.armLinger(head.queuedMs + this.lingerMs);
        return;
      }
      this.startCall(this.takeCall());
    }
  }

  private armLinger(at: number): void {
    if (this.lingerTimer && this.lingerTimer.at <= at) return;
    this.lingerTimer?.abort.abort();
    const timer = { at, abort: new AbortController() };
    this.lingerTimer = timer;
    void this.clock.sleep(at - this.clock.nowMs(), timer.abort.signal).then(() => {
      if (this.lingerTimer !== timer) return;
      this.lingerTimer = undefined;
      this.pump();
    });
  }

  /**
   * Takes one produce call's worth from the queue, respecting one call's limits (the
   * server's `maxPartitionsPerCall`, at most 49 head shards, 10,000 records, `maxBatchBytes`). Partitions are computed here (the same
   * murmur2 the log uses; null keys stick to one partition per call). A message whose
   * partition does not fit stays queued, and so does every later message of that
   * partition, so per-partition order is the send order.
   */
  private takeCall(): Pending[] {
    const sticky = this.sticky++;
    const limits = this.limits as ProduceLimits; // known: something was admitted
    const maxBytes = Math.min(this.maxBatchBytes, limits.maxCallBytes);
    const call: Pending[] = [];
    const rest: Pending[] = [];
    const parts = new Set<string>();
    const budget = new CommitBudget();
    const blocked = new Set<string>();
    let bytes = 0;
    let i = 0;
    for (; i < this.pending.length; i++) {
      const p = this.pending[i] as Pending;
      const partition = choosePartition(p.record.partition, p.record.key ?? null, p.partitions, sticky);
      const ref = `${p.topic}#${partition}`;
      if (blocked.has(ref)) {
        rest.push(p);
        continue;
      }
      if (call.length > 0 && (call.length >= limits.maxRecordsPerCall || bytes + p.bytes > maxBytes)) break;
      if (
        !parts.has(ref) &&
        (parts.size >= limits.maxPartitionsPerCall || budget.itemsWith(p.topic, partition) > MAX_COMMIT_ITEMS)
      ) {
        blocked.add(ref);
        rest.push(p);
        continue;
      }
      parts.add(ref);
      budget.add(p.topic, partition);
      bytes += p.bytes;
      call.push({ ...p, record: { ...p.record, partition } });
    }
    // the call is full: everything from here stays, in order
    this.pending = i < this.pending.length ? rest.concat(this.pending.slice(i)) : rest;
    this.pendingBytes -= bytes;
    return call;
  }

  private startCall(entries: Pending[]): void {
    const first = (entries[0] as Pending).seq;
    this.inFlightSeqs.add(first);
    void this.runCall(entries).finally(() => {
      this.inFlightSeqs.delete(first);
      for (const p of entries) this.bufferedBytes -= p.bytes;
      const waiting = this.callEnded;
      this.callEnded = [];
      for (const wake of waiting) wake();
      // the next call leaves once the acknowledgements have been delivered: a sender that
      // awaited its send and sends again (a closed loop) joins it instead of the one after
      // (until then a send only queues; it must not start the call with what it finds)
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    });
  }

  private async runCall(entries: Pending[]): Promise<void> {
    try {
      const result = await this.produceWithRetries(entries);
      entries.forEach((p, i) => {
        p.done(result[i] as RecordMetadata);
      });
    } catch (e) {
      for (const p of entries) p.done(e instanceof Error ? e : new Error(String(e)));
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
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    const n = (await this.transport.describeTopic(topic)).partitions;
    this.partitionCounts.set(topic, n);
    return n;
  }
}

/** Bytes a record counts for batching and the buffer: what the log counts for its limits. */
function sizeOf(r: ProduceRecord): number {
  return recordSizeBytes({ key: r.key ?? null, value: r.value, headers: r.headers ?? [], timestamp: 0 });
}

function checked(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`producer option ${name} = ${v} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function bytesOf(v: unknown, what: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  throw new InvalidArgumentError(`${what} must be a string, a Uint8Array/Buffer or null, not ${describe(v)}`);
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v;
}

/**
 * Converts one message as a JavaScript caller may pass anything (strings become UTF-8),
 * then checks it with the log's own rules against the server's limits.
 */
function toRecord(m: Message, where: string, limits: ProduceLimits): ProduceRecord {
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
  }
  // kafkajs types timestamps as strings of digits
  const timestamp =
    typeof m.timestamp === 'string' && /^\d{1,16}$/.test(m.timestamp) ? Number(m.timestamp) : m.timestamp;
  const record: ProduceRecord = {
    key: bytesOf(m.key, `${where}: key`),
    value: bytesOf(m.value, `${where}: value`),
    headers,
    ...(m.partition !== undefined ? { partition: m.partition } : {}),
    ...(timestamp !== undefined ? { timestamp: timestamp as number } : {}),
  };
  checkRecord(record, limits, where);
  return record;
}
