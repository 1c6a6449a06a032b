/**
 * The dispatcher: delivers one partition of one subscription to its target, in offset order,
 * batch after batch, until it is caught up or its time budget ends.
 *
 * It holds the partition's lease in the subscription's group (the same lease, epoch and
 * committed offset a consumer member would hold), so at most one dispatcher drives a
 * partition, and each commit is conditional on the epoch it acquired: a dispatcher that lost
 * its lease (paused past its lease, a zombie) can never commit. The lease lasts one delivery
 * plus twice the clock-skew bound and is renewed before each delivery, so a crashed
 * dispatcher's partition is free again within that.
 *
 *   acquire lease (answers the committed offset) → loop:
 *     read the definition (at most once a second; a disabled or deleted subscription stops here)
 *     fetch from the position: ≤ batchSize records, ≤ maximumPayloadBytes of event
 *     gather for the batching window (from the first record's time; unless the batch is full)
 *     records older than maximumRecordAgeInSeconds → dead-letter, commit past
 *     deliver → success: commit past the batch
 *              partial (ReportBatchItemFailures): commit up to the first failure, retry it
 *              failure: bisect (halve the batch, no attempt counted) or count an attempt;
 *                       past maximumRetryAttempts → dead-letter the batch, commit past
 *     (a batch that reaches the high watermark read with it commits and releases in one write)
 *     caught up → release the lease, then read the head again: a commit that came while we
 *                 held the lease (its trigger found the lease taken) is not left behind
 *
 * Delivery is at least once: a batch is committed only after its target succeeded, so a
 * crash between the two delivers it again. The attempt count of a failing record is kept in
 * the committed offset's metadata, so it survives a crash or a hand-over.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import { OffsetOutOfRangeError, SluiceError, TopicNotFoundError } from '../errors';
import { type RandomSource, ulid } from '../ids';
import type { SluiceLog } from '../log/log';
import type { LogRecord } from '../records/types';
import type { GroupStore, LeaseRecord, TopicRecord } from '../storage/ports';
import {
  batchingWindowMs,
  deserializeSubscription,
  type StoredSubscription,
  type SubscriptionDefinition,
} from './definition';
import { type DeliveryOutcome, type KafkaEvent, kafkaEvent, readHandlerAnswer } from './kafka-event';

/** Something a delivery goes to: resolves with the handler's answer, rejects if it failed. */
export interface DeliveryTarget {
  deliver(event: KafkaEvent, signal: AbortSignal): Promise<unknown>;
}

/** Timing of the dispatcher. */
export interface DispatchSettings {
  /** A delivery not answered within this counts as failed (and the lease covers it). @default 60_000 */
  readonly deliveryTimeoutMs: number;
  /** First wait after a failed delivery; doubles per attempt. @default 500 */
  readonly retryBaseMs: number;
  /** Longest wait between attempts. @default 30_000 */
  readonly retryMaxMs: number;
  /** The clock-skew bound the group's leases assume. @default 1_000 */
  readonly maxClockSkewMs: number;
}

export const DEFAULT_DISPATCH_SETTINGS: DispatchSettings = {
  deliveryTimeoutMs: 60_000,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  maxClockSkewMs: 1_000,
};

/** What the dispatcher counts (metrics). */
export interface DispatchCounters {
  deliveries: number;
  records: number;
  failures: number;
  deadLettered: number;
  /** Records skipped without a dead-letter topic, or removed by retention before delivery. */
  skipped: number;
}

/** What a dispatcher is built from. */
export interface DispatchDeps {
  readonly log: SluiceLog;
  readonly groups: GroupStore;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly settings: DispatchSettings;
  /** The target of a subscription. */
  readonly target: (sub: SubscriptionDefinition) => DeliveryTarget;
  /** Names this dispatcher in the leases it holds (unique per process). */
  readonly dispatcherId: string;
  /** The event's `bootstrapServers`: the deployment's name. */
  readonly source: string;
  /** Told about each delivery's outcome (logs, metrics). */
  readonly observe?: (e: DeliveryReport) => void;
}

/** One delivery, for logs and metrics. */
export interface DeliveryReport {
  readonly subscription: string;
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly records: number;
  readonly outcome: DeliveryOutcome['kind'] | 'dead-lettered' | 'skipped';
  readonly reason?: string;
  readonly attempts: number;
  readonly durationMs: number;
  /** Age of the batch's first record when it was delivered (the iterator age). */
  readonly ageMs: number;
}

/** How driving a partition ended. */
export type DriveStatus =
  /** Delivered everything there was, lease released. */
  | 'caught-up'
  /** Another dispatcher holds the partition (it will see what is new). */
  | 'busy'
  /** The time budget ended with work left (lease released): hand over. */
  | 'budget'
  /** The lease was lost; nothing more is committed. */
  | 'fenced'
  /** The subscription is disabled, deleted, or no longer reads the topic. */
  | 'stopped';

export interface DriveResult {
  readonly status: DriveStatus;
  readonly delivered: number;
}

/** How often a drive reads the subscription's definition again (1 read unit each time). */
const DEFINITION_REREAD_MS = 1_000;

/** Events carry their records as base64 JSON; this leaves room for the envelope of each record. */
const RECORD_ENVELOPE_BYTES = 200;

/** The attempt state of a failing record, kept in the committed offset's metadata. */
interface RetryState {
  /** Offset of the record the attempts are counted for. */
  readonly o: number;
  /** Failed attempts so far. */
  readonly a: number;
}

function readRetry(metadata: string | null | undefined, position: number): number {
  if (!metadata) return 0;
  try {
    const r = JSON.parse(metadata) as Partial<RetryState>;
    return r.o === position && typeof r.a === 'number' ? r.a : 0;
  } catch {
    return 0;
  }
}

/** Bytes of a record in a delivery's event: base64 of key and value, headers as number lists. */
function eventBytes(r: LogRecord): number {
  let n =
    RECORD_ENVELOPE_BYTES + Math.ceil((r.key?.byteLength ?? 0) / 3) * 4 + Math.ceil((r.value?.byteLength ?? 0) / 3) * 4;
  for (const [name, value] of r.headers) n += name.length + 8 + (value?.byteLength ?? 0) * 4;
  return n;
}

/** Drives one partition of a subscription until caught up, stopped or `deadlineMs`. */
export async function drivePartition(
  d: DispatchDeps,
  name: string,
  topicName: string,
  partition: number,
  deadlineMs: number,
): Promise<DriveResult> {
  const run = new PartitionRun(d, name, topicName, partition, deadlineMs);
  return run.drive();
}

class PartitionRun {
  private topic!: TopicRecord;
  private lease!: LeaseRecord;
  private position = 0;
  private attempts = 0;
  /** While bisecting: the most records the next delivery may hold. */
  private limit = Number.POSITIVE_INFINITY;
  /** While bisecting: the end of the batch that failed whole (its halves are tried in turn). */
  private bisectEnd = -1;
  private delivered = 0;
  /** Whether the lease is held (a final commit may have released it). */
  private held = false;
  /** The partition's high watermark as of the last fetch. */
  private highWatermark = 0;
  private loadedMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly d: DispatchDeps,
    private readonly name: string,
    private readonly topicName: string,
    private readonly partition: number,
    private readonly deadlineMs: number,
  ) {}

  private get leaseMs(): number {
    return this.d.settings.deliveryTimeoutMs + 4 * this.d.settings.maxClockSkewMs;
  }

  private result(status: DriveStatus): DriveResult {
    return { status, delivered: this.delivered };
  }

  async drive(): Promise<DriveResult> {
    let sub = await this.load();
    if (!sub) return this.result('stopped');
    try {
      this.topic = await this.d.log.getTopic(this.topicName);
    } catch (e) {
      if (e instanceof TopicNotFoundError) return this.result('stopped');
      throw e;
    }
    if (this.partition >= this.topic.partitions) return this.result('stopped');
    if (!(await this.acquire(sub))) return this.result('busy');
    try {
      for (;;) {
        if (this.d.clock.nowMs() >= this.deadlineMs) return await this.handOver('budget');
        // the definition is read again at most once a second (a change applies from the next batch)
        if (this.d.clock.nowMs() - this.loadedMs >= DEFINITION_REREAD_MS) {
          sub = await this.load();
          if (!sub) return await this.handOver('stopped');
        }
        if (!(await this.renewIfDue())) return this.result('fenced');
        const step = await this.step(sub);
        if (step === 'fenced') return this.result('fenced');
        if (step === 'caught-up') {
          if (this.held) await this.release();
          // a commit that found the lease held while we had it: its records are ours to deliver
          const [head] = (await this.d.log.describeTopic(this.topicName, [this.partition])).offsets;
          if ((head?.highWatermark ?? 0) <= this.position || this.d.clock.nowMs() >= this.deadlineMs) {
            return this.result('caught-up');
          }
          if (!(await this.acquire(sub))) return this.result('busy');
        }
      }
    } catch (e) {
      if (this.held) await this.release().catch(() => undefined);
      throw e;
    }
  }

  /** The definition, or undefined if deleted, disabled, or it no longer reads the topic. */
  private async load(): Promise<StoredSubscription | undefined> {
    this.loadedMs = this.d.clock.nowMs();
    const r = await this.d.groups.getSubscription(this.name);
    if (!r) return undefined;
    const sub = deserializeSubscription(r);
    const o = sub.definition.options;
    return o.enabled && sub.definition.topics.includes(this.topicName) ? sub : undefined;
  }

  private async acquire(sub: StoredSubscription): Promise<boolean> {
    const s = this.d.settings;
    const r = await this.d.groups.acquireLease(
      this.name,
      { topicId: this.topic.topicId, partition: this.partition, memberId: this.d.dispatcherId },
      this.d.clock.nowMs(),
      this.leaseMs,
      s.maxClockSkewMs,
    );
    if (!r.acquired) return false;
    this.lease = r.lease;
    this.held = true;
    const start = sub.start[this.topic.topicId]?.[this.partition];
    this.position = r.committed?.offset ?? start ?? 0;
    this.attempts = readRetry(r.committed?.metadata, this.position);
    this.unbisect();
    return true;
  }

  private unbisect(): void {
    this.limit = Number.POSITIVE_INFINITY;
    this.bisectEnd = -1;
  }

  /** After a delivery from a bisected batch succeeded: the rest of that batch comes next, whole. */
  private afterBisectedSuccess(): void {
    if (this.position < this.bisectEnd) this.limit = this.bisectEnd - this.position;
    else this.unbisect();
  }

  private async release(): Promise<void> {
    this.held = false;
    await this.d.groups.releaseLease(this.name, {
      topicId: this.topic.topicId,
      partition: this.partition,
      memberId: this.d.dispatcherId,
      epoch: this.lease.epoch,
    });
  }

  private async handOver(status: 'budget' | 'stopped'): Promise<DriveResult> {
    if (this.held) await this.release();
    return this.result(status);
  }

  /** Renews the lease unless it still covers a whole delivery; false if it was lost. */
  private async renewIfDue(): Promise<boolean> {
    const s = this.d.settings;
    const now = this.d.clock.nowMs();
    if (this.lease.expiresAtMs - s.maxClockSkewMs - now > s.deliveryTimeoutMs + s.maxClockSkewMs) return true;
    const r = await this.d.groups.renewLease(
      this.name,
      {
        topicId: this.topic.topicId,
        partition: this.partition,
        memberId: this.d.dispatcherId,
        epoch: this.lease.epoch,
      },
      now,
      this.leaseMs,
    );
    if (!r.renewed) return false;
    this.lease = r.lease;
    return true;
  }

  /** Commits `offset` under the lease's epoch; false when fenced. */
  private async commit(offset: number, retry?: RetryState, release = false): Promise<boolean> {
    const r = await this.d.groups.commitOffset(this.name, {
      topicId: this.topic.topicId,
      partition: this.partition,
      memberId: this.d.dispatcherId,
      epoch: this.lease.epoch,
      offset,
      metadata: retry ? JSON.stringify(retry) : null,
      nowMs: this.d.clock.nowMs(),
      ...(release ? { release } : {}),
    });
    if (r.status === 'fenced') return false;
    if (r.status === 'committed' && release) this.held = false;
    // stale: an admin reset moved the group ahead of us; resume there
    this.position = r.status === 'stale' ? r.committed : offset;
    return true;
  }

  /** One batch: fetch, gather, age out, deliver, commit. */
  private async step(sub: StoredSubscription): Promise<'fenced' | 'caught-up' | 'progress'> {
    const o = sub.definition.options;
    let records = await this.fetch(o);
    if (records === undefined) return 'progress'; // the position moved to the start offset
    if (records.length === 0) return 'caught-up';

    // the batching window, counted from the first record's timestamp: a batch that is not full
    // waits out the rest of it, then is read once more (one read, not a poll through the window)
    const first = records[0] as LogRecord;
    const windowEnd = Math.min(this.d.clock.nowMs(), first.timestamp) + batchingWindowMs(o);
    if (records.length < Math.min(o.batchSize, this.limit) && !this.full(records, o)) {
      const wait = Math.min(windowEnd, this.deadlineMs) - this.d.clock.nowMs();
      if (wait > 0) {
        await this.d.clock.sleep(wait);
        records = (await this.fetch(o)) ?? [];
        if (records.length === 0) return 'progress';
      }
    }

    // too old to deliver: dead-letter the leading run of expired records
    if (o.maximumRecordAgeInSeconds !== -1) {
      const cutoff = this.d.clock.nowMs() - o.maximumRecordAgeInSeconds * 1000;
      const expired = records.findIndex((r) => r.timestamp >= cutoff);
      const n = expired === -1 ? records.length : expired;
      if (n > 0) {
        const gone = records.slice(0, n);
        await this.deadLetter(sub, gone, `older than maximumRecordAgeInSeconds (${o.maximumRecordAgeInSeconds})`);
        return (await this.commit(this.position + n)) ? 'progress' : 'fenced';
      }
    }

    // a single record larger than a delivery may carry can never be delivered
    const fits = this.fitting(records, o.maximumPayloadBytes);
    if (fits === 0) {
      await this.deadLetter(sub, records.slice(0, 1), `larger than maximumPayloadBytes (${o.maximumPayloadBytes})`);
      return (await this.commit(this.position + 1)) ? 'progress' : 'fenced';
    }
    const batch = records.slice(0, fits);
    return this.deliver(sub, batch);
  }

  private full(records: readonly LogRecord[], o: SubscriptionDefinition['options']): boolean {
    return this.fitting(records, o.maximumPayloadBytes) < records.length;
  }

  /** How many leading records fit one event of `maxBytes`. */
  private fitting(records: readonly LogRecord[], maxBytes: number): number {
    let bytes = 1024; // the envelope
    for (let i = 0; i < records.length; i++) {
      bytes += eventBytes(records[i] as LogRecord);
      if (bytes > maxBytes) return i;
    }
    return records.length;
  }

  /** Records from the position (undefined when retention moved past it: the position moves up). */
  private async fetch(o: SubscriptionDefinition['options']): Promise<LogRecord[] | undefined> {
    const maxRecords = Math.min(o.batchSize, this.limit, this.d.log.settings.maxFetchRecords);
    try {
      const r = await this.d.log.fetch({
        topic: this.topicName,
        partition: this.partition,
        offset: this.position,
        maxRecords,
        maxBytes: Math.min(this.d.log.settings.maxFetchBytes, o.maximumPayloadBytes),
      });
      this.highWatermark = r.highWatermark;
      return r.records;
    } catch (e) {
      if (!(e instanceof OffsetOutOfRangeError)) throw e;
      const start = (e.details as { startOffset?: number }).startOffset ?? this.position;
      const hwm = (e.details as { highWatermark?: number }).highWatermark ?? this.position;
      if (this.position > hwm) {
        // a reset past the log cannot happen through the API; do not spin on it
        throw e;
      }
      return (await this.commit(Math.max(start, this.position))) ? undefined : [];
    }
  }

  private async deliver(sub: StoredSubscription, batch: LogRecord[]): Promise<'fenced' | 'progress' | 'caught-up'> {
    const o = sub.definition.options;
    const began = this.d.clock.nowMs();
    const batches = [{ topic: this.topicName, partition: this.partition, records: batch }];
    const event = kafkaEvent(batches, {
      subscription: this.name,
      deliveryId: ulid(began, this.d.random),
      source: this.d.source,
    });
    const outcome = await this.invoke(sub, event, batches);
    const first = batch[0]?.offset as number;
    const report = (kind: DeliveryReport['outcome'], n: number, reason?: string) =>
      this.d.observe?.({
        subscription: this.name,
        topic: this.topicName,
        partition: this.partition,
        firstOffset: first,
        records: n,
        outcome: kind,
        ...(reason ? { reason } : {}),
        attempts: this.attempts,
        durationMs: this.d.clock.nowMs() - began,
        ageMs: Math.max(0, began - (batch[0]?.timestamp ?? began)),
      });
    if (outcome.kind === 'success') {
      report('success', batch.length);
      this.delivered += batch.length;
      this.attempts = 0;
      // everything there was is delivered: the commit gives the lease up too (one write, not two)
      const drained = first + batch.length >= this.highWatermark;
      if (!(await this.commit(first + batch.length, undefined, drained))) return 'fenced';
      if (!this.held) return 'caught-up';
      this.afterBisectedSuccess();
      return 'progress';
    }
    let failedAt = first;
    let reason = outcome.kind === 'failure' ? outcome.reason : 'the handler reported failed records';
    if (outcome.kind === 'partial') {
      failedAt = outcome.firstFailed.get(`${this.topicName}-${this.partition}`) ?? first;
      reason = `the handler reported ${this.topicName}-${this.partition}@${failedAt} failed`;
      if (failedAt > first) {
        this.delivered += failedAt - first;
        this.attempts = 0;
        if (!(await this.commit(failedAt))) return 'fenced';
      }
    }
    report(outcome.kind, batch.length, reason);
    const failed = batch.filter((r) => r.offset >= failedAt);
    if (o.bisectBatchOnFunctionError && outcome.kind === 'failure' && failed.length > 1) {
      // splitting is not an attempt (as Lambda); the halves of the first failed batch are tried in turn
      if (this.bisectEnd < failedAt + failed.length) this.bisectEnd = failedAt + failed.length;
      this.limit = Math.ceil(failed.length / 2);
      return 'progress';
    }
    this.attempts += 1;
    if (o.maximumRetryAttempts !== -1 && this.attempts > o.maximumRetryAttempts) {
      await this.deadLetter(sub, failed, reason);
      this.attempts = 0;
      if (!(await this.commit(failedAt + failed.length))) return 'fenced';
      this.afterBisectedSuccess();
      return 'progress';
    }
    // keep the count where a crash or hand-over finds it, then wait before the next attempt
    if (!(await this.commit(failedAt, { o: failedAt, a: this.attempts }))) return 'fenced';
    const s = this.d.settings;
    const wait = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** (this.attempts - 1));
    await this.d.clock.sleep(Math.max(0, Math.min(wait, this.deadlineMs - this.d.clock.nowMs())));
    return 'progress';
  }

  private async invoke(
    sub: StoredSubscription,
    event: KafkaEvent,
    batches: Parameters<typeof readHandlerAnswer>[1],
  ): Promise<DeliveryOutcome> {
    const abort = new AbortController();
    const timeoutMs = this.d.settings.deliveryTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const answer = await Promise.race([this.d.target(sub.definition).deliver(event, abort.signal), timeout]);
      return readHandlerAnswer(
        answer,
        batches,
        sub.definition.options.functionResponseTypes.includes('ReportBatchItemFailures'),
      );
    } catch (e) {
      return { kind: 'failure', reason: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Produces records that cannot be delivered to the dead-letter topic with `x-sluice-error*`
   * headers (one idempotent call: a retry after a crash adds nothing), or counts them skipped.
   */
  private async deadLetter(sub: StoredSubscription, records: readonly LogRecord[], reason: string): Promise<void> {
    const dlq = sub.definition.options.deadLetterTopic;
    const first = records[0]?.offset as number;
    const last = records.at(-1)?.offset as number;
    this.d.observe?.({
      subscription: this.name,
      topic: this.topicName,
      partition: this.partition,
      firstOffset: first,
      records: records.length,
      outcome: dlq ? 'dead-lettered' : 'skipped',
      reason,
      attempts: this.attempts,
      durationMs: 0,
      ageMs: Math.max(0, this.d.clock.nowMs() - (records[0]?.timestamp ?? this.d.clock.nowMs())),
    });
    if (!dlq) return;
    const source = `${this.topicName}/${this.partition}`;
    const key = createHash('sha256')
      .update(`${this.name}\n${this.topic.topicId}\n${this.partition}\n${first}\n${last}`)
      .digest('base64url');
    try {
      await this.d.log.append({
        idempotencyKey: `dlq:${key}`,
        batches: [
          {
            topic: dlq,
            records: records.map((r) => ({
              key: r.key,
              value: r.value,
              timestamp: r.timestamp,
              headers: [
                ...r.headers,
                ...deadLetterHeaders({ error: reason, attempts: this.attempts, source: `${source}/${r.offset}` }),
              ],
            })),
          },
        ],
      });
    } catch (e) {
      if (e instanceof SluiceError && e.code === 'IDEMPOTENCY_KEY_REUSED') return;
      throw e;
    }
  }
}

/** The headers a dead-lettered record carries (the consumer client adds the same). */
export function deadLetterHeaders(o: {
  error: string;
  attempts: number;
  source: string;
}): [name: string, value: Uint8Array][] {
  const enc = (s: string) => new TextEncoder().encode(s);
  return [
    ['x-sluice-error', enc(o.error.slice(0, 1024))],
    ['x-sluice-error-attempts', enc(String(o.attempts))],
    ['x-sluice-source', enc(o.source)],
  ];
}
