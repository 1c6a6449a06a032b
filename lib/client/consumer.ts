/**
 * The group consumer, shaped like kafkajs's: `subscribe`, `run({ eachMessage | eachBatch })`,
 * `commitOffsets`, `seek`, `pause`/`resume`, `stop`, and `for await (const batch of consumer)`.
 *
 * - Heartbeats run on their own timer, independent of handlers: a slow handler never makes
 *   the member look dead (no rebalance storms).
 * - A partition is processed only while its lease is held: when a heartbeat no longer
 *   lists it, or its lease would expire (`expiresAtMs − maxClockSkewMs`) without renewal,
 *   processing stops at once and its commits would be fenced anyway.
 * - Revoked partitions (assigned elsewhere) finish their in-flight batch, commit, and are
 *   released in the next heartbeat: only moved partitions pause.
 * - At-least-once: a record's offset is committed only after its handler returned.
 * - A failing record is retried `retry.attempts` times with backoff; then, with a
 *   `deadLetterTopic`, it is produced there with error headers and committed past, so one
 *   poison record cannot block a partition. Without one the consumer stops with the error.
 *   A failing `eachBatch` is retried whole, then bisected (as Lambda's
 *   BisectBatchOnFunctionError): halves that succeed are processed, and only the records
 *   that fail alone are dead-lettered — never a record that was not tried alone.
 * - A handler that makes no progress (a message done, `resolveOffset`, `heartbeat`) for
 *   `maxProcessingMs` — Kafka's `max.poll.interval.ms` — loses its partition: the member
 *   releases the lease and tells the group not to give it back while the handler still
 *   runs, reports it through `onPartitionsRevoked` (reason `timeout`), and another member
 *   takes over from the committed offset (at-least-once).
 */
import { type Clock, systemClock } from '../clock';
import { InvalidArgumentError, isRetriable, SluiceError } from '../errors';
import type { Assignment } from '../groups/coordinator';
import type { LogRecord } from '../records/types';
import { groupNameProblem, topicNameProblem } from '../settings';
import type { Producer } from './producer';
import type { Transport } from './transport';

/** Consumer settings (units in the names). */
export interface ConsumerOptions {
  readonly groupId: string;
  /** Records per fetch. @default 500 */
  readonly maxRecords?: number;
  /** Bytes per fetch. @default 1 MiB */
  readonly maxBytes?: number;
  /** Long-poll wait at the end of a partition (the log re-reads its head with a growing pause meanwhile). @default 5000 */
  readonly maxWaitMs?: number;
  /** Partitions whose handlers may run at once. @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  /** Handler retries before a record is dead-lettered. @default { attempts: 3, initialRetryMs: 100 } */
  readonly retry?: { readonly attempts?: number; readonly initialRetryMs?: number };
  /** Where records that keep failing go (with `x-sluice-error*` headers). */
  readonly deadLetterTopic?: string;
  /** Stop processing this long before a lease expires without renewal. @default 1000 */
  readonly maxClockSkewMs?: number;
  /**
   * A handler that makes no progress for this long loses its partition (see the module
   * comment). @default 300000 (5 minutes, Kafka's max.poll.interval.ms)
   */
  readonly maxProcessingMs?: number;
}

/** A batch of one partition. */
export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: LogRecord[];
  readonly highWatermark: number;
}

/** What `eachBatch` is handed (kafkajs's shape). */
export interface EachBatchPayload {
  readonly batch: Batch;
  /** Marks `offset` (and everything before it in the batch) processed: committed even if the handler fails later. */
  resolveOffset(offset: number | string): void;
  /** Tells the consumer the handler is alive (resets its `maxProcessingMs` deadline). Heartbeats themselves run on their own. */
  heartbeat(): Promise<void>;
  /** False once the partition is no longer this member's: stop and return. */
  isRunning(): boolean;
  /** True once the partition is no longer this member's (kafkajs's `isStale`). */
  isStale(): boolean;
}

/** What `run` takes. */
export interface RunOptions {
  readonly eachMessage?: (p: { topic: string; partition: number; message: LogRecord }) => Promise<void>;
  readonly eachBatch?: (p: EachBatchPayload) => Promise<void>;
  /**
   * With eachBatch: a batch whose handler returns counts as processed whole. With `false`
   * only what the handler resolved does; the rest is delivered again. @default true
   */
  readonly eachBatchAutoResolve?: boolean;
  /** Commit processed offsets automatically. @default true */
  readonly autoCommit?: boolean;
  /** @default 5000 */
  readonly autoCommitIntervalMs?: number;
  /** Also commit after this many processed records. @default none */
  readonly autoCommitThreshold?: number;
  /** Told when partitions are revoked or lost. */
  readonly onPartitionsRevoked?: (p: RevokedPartition[]) => void;
}

/**
 * Why a partition left this member: `revoked` (the group moved it; handed over after the
 * batch in hand), `lost` (its lease could not be kept), `timeout` (its handler overran
 * `maxProcessingMs`).
 */
export interface RevokedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly reason: 'revoked' | 'lost' | 'timeout';
}

interface Owned {
  readonly topic: string;
  readonly partition: number;
  epoch: number;
  expiresAtMs: number;
  /** Next offset to fetch. */
  position: number | undefined;
  /** Next offset to commit (processed up to here). */
  processed: number | undefined;
  committed: number | null;
  revoked: boolean;
  worker?: Promise<void>;
  abort: AbortController;
  /** While a handler runs: when it last made progress. */
  busySinceMs?: number;
  /** Called when its handler overran `maxProcessingMs`: frees the slot it held. */
  stalled?: () => void;
  /** The handler call in progress (it may outlive the partition when it overran). */
  handler?: Promise<void>;
  /** Its handler overran its deadline; the partition was given up. */
  overdue?: boolean;
}

const key = (topic: string, partition: number) => `${topic}#${partition}`;

/** A consumer-group member; see the module comment. */
export class Consumer {
  private topics: string[] = [];
  private fromBeginning = false;
  private memberId: string | undefined;
  private readonly owned = new Map<string, Owned>();
  private readonly paused = new Set<string>();
  private readonly seeks = new Map<string, number>();
  private readonly described = new Map<string, { atMs: number; description: ReturnType<Transport['describeTopic']> }>();
  private release: { topic: string; partition: number; epoch: number }[] = [];
  /** Partitions whose handler overran its deadline and still runs: the group must not give them back. */
  private readonly stalled = new Map<string, { topic: string; partition: number; owned: Owned }>();
  private readonly maxProcessingMs: number;
  private running = false;
  private stopping = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatIntervalMs = 3000;
  private run_: RunOptions | undefined;
  private sinceCommit = 0;
  private lastCommitMs = 0;
  private slots: number;
  private waiting: (() => void)[] = [];
  private failure: Error | undefined;
  private stoppedResolve!: (e: Error | undefined) => void;
  /** Resolves when the consumer has stopped: with the error that stopped it, if any. */
  readonly stopped: Promise<Error | undefined>;

  constructor(
    private readonly transport: Transport,
    private readonly options: ConsumerOptions,
    private readonly deadLetters: Producer | undefined,
    private readonly clock: Clock = systemClock,
  ) {
    const problem = groupNameProblem(options?.groupId);
    if (problem) throw new InvalidArgumentError(`a consumer needs a valid groupId: ${problem}`);
    this.slots = options.partitionsConsumedConcurrently ?? 1;
    this.maxProcessingMs = options.maxProcessingMs ?? 300_000;
    if (!Number.isSafeInteger(this.maxProcessingMs) || this.maxProcessingMs < 100) {
      throw new InvalidArgumentError(`maxProcessingMs ${options.maxProcessingMs} must be an integer ≥ 100`);
    }
    this.stopped = new Promise((r) => {
      this.stoppedResolve = r;
    });
  }

  /** The member id the group knows this consumer by (after `run`). */
  get id(): string | undefined {
    return this.memberId;
  }

  /** Subscribes to topics; `fromBeginning` applies only where the group has no committed offset. */
  async subscribe(args: { topics: readonly string[]; fromBeginning?: boolean }): Promise<void> {
    if (this.running) throw new InvalidArgumentError('subscribe before run');
    if (!Array.isArray(args?.topics) || args.topics.length === 0) {
      throw new InvalidArgumentError('subscribe needs topics: [name, …]');
    }
    for (const t of args.topics) {
      const p = topicNameProblem(t);
      if (p) throw new InvalidArgumentError(p, 'INVALID_TOPIC_NAME');
    }
    this.topics = [...new Set([...this.topics, ...args.topics])];
    this.fromBeginning = args.fromBeginning ?? false;
  }

  /** Starts consuming; resolves once the first heartbeat has answered. */
  async run(options: RunOptions): Promise<void> {
    if (!options.eachMessage === !options.eachBatch) {
      throw new InvalidArgumentError('run needs exactly one of eachMessage or eachBatch');
    }
    if (this.topics.length === 0) throw new InvalidArgumentError('subscribe to at least one topic before run');
    this.run_ = options;
    this.running = true;
    this.lastCommitMs = this.clock.nowMs();
    await this.beat();
    this.scheduleHeartbeat();
  }

  /** Commits offsets now (the next offset to process), under the partitions' current epochs. */
  async commitOffsets(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    const withEpochs = offsets.map((o) => {
      const owned = this.owned.get(key(o.topic, o.partition));
      if (!owned) throw new SluiceError('FENCED', `this member does not hold ${o.topic}/${o.partition}`);
      return { ...o, epoch: owned.epoch };
    });
    await this.transport.commitOffsets(this.options.groupId, this.memberId as string, withEpochs);
    for (const o of offsets) {
      const owned = this.owned.get(key(o.topic, o.partition));
      if (owned) owned.committed = Math.max(owned.committed ?? 0, o.offset);
    }
  }

  /** Moves a partition's position (takes effect at its next fetch). */
  seek(args: { topic: string; partition: number; offset: number }): void {
    this.seeks.set(key(args.topic, args.partition), args.offset);
  }

  /** Stops fetching the given partitions (all of a topic without `partitions`). */
  pause(list: readonly { topic: string; partitions?: readonly number[] }[]): void {
    for (const t of list) for (const k of this.keysOf(t)) this.paused.add(k);
  }

  resume(list: readonly { topic: string; partitions?: readonly number[] }[]): void {
    for (const t of list) for (const k of this.keysOf(t)) this.paused.delete(k);
  }

  /** Finishes in-flight batches, commits (unless autoCommit is off), releases the leases promptly, and stops. */
  async stop(): Promise<void> {
    if (!this.running || this.stopping) return this.stopped.then(() => undefined);
    this.stopping = true;
    clearTimeout(this.heartbeatTimer);
    // finish the batches in hand, but a handler past its processing deadline is left behind
    await Promise.allSettled([...this.owned.values()].map((o) => this.finishedOrOverdue(o)));
    if (this.run_?.autoCommit !== false) await this.commitProcessed().catch(() => {});
    if (this.memberId) await this.transport.leaveGroup(this.options.groupId, this.memberId).catch(() => {});
    this.running = false;
    this.stoppedResolve(this.failure);
  }

  /**
   * Simulates a crash (tests, chaos drills): stops everything at once without committing or
   * leaving, like a process that died. Its leases expire by themselves.
   */
  kill(): void {
    this.stopping = true;
    this.running = false;
    clearTimeout(this.heartbeatTimer);
    for (const o of this.owned.values()) o.abort.abort();
    this.owned.clear();
    this.stoppedResolve(undefined);
  }

  /**
   * Batches as an async iterator. A batch counts as processed when the loop asks for the
   * next one (or leaves with `break`); if the loop body throws, the batch is not committed
   * and the consumer stops with that error.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    type Entry = { batch: Batch; done: () => void; fail: (e: unknown) => void };
    const queue: Entry[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    await this.run({
      eachBatch: ({ batch }) =>
        new Promise<void>((done, fail) => {
          if (closed) return fail(new Error('the batch iterator was closed'));
          queue.push({ batch, done, fail });
          wake?.();
        }),
    });
    let current: Entry | undefined;
    try {
      while (this.running) {
        const next = queue.shift();
        if (!next) {
          await Promise.race([new Promise<void>((r) => (wake = r)), this.stopped]);
          continue;
        }
        current = next;
        yield next.batch;
        current = undefined;
        next.done();
      }
    } catch (e) {
      current?.fail(e);
      current = undefined;
      throw e;
    } finally {
      closed = true;
      // leaving the loop with break: the batch in hand was processed
      current?.done();
      for (const q of queue) q.fail(new Error('the batch iterator was closed'));
    }
  }

  private keysOf(t: { topic: string; partitions?: readonly number[] }): string[] {
    if (t.partitions) return t.partitions.map((p) => key(t.topic, p));
    return [...this.owned.values()].filter((o) => o.topic === t.topic).map((o) => key(o.topic, o.partition));
  }

  private scheduleHeartbeat(): void {
    if (!this.running || this.stopping) return;
    this.heartbeatTimer = setTimeout(() => {
      void this.beat()
        .catch(() => {}) // a failed heartbeat is retried next interval; leases guard safety
        .finally(() => this.scheduleHeartbeat());
    }, this.heartbeatIntervalMs);
    this.heartbeatTimer.unref?.();
  }

  private async beat(): Promise<void> {
    const overdue = this.stallOverdue();
    const release = this.release;
    const r = await this.transport.heartbeat(this.options.groupId, {
      ...(this.memberId ? { memberId: this.memberId } : {}),
      topics: this.topics,
      ...(release.length ? { release } : {}),
      stalled: [...this.stalled.values()].map(({ topic, partition }) => ({ topic, partition })),
    });
    this.release = this.release.filter((x) => !release.includes(x));
    this.memberId = r.memberId;
    this.heartbeatIntervalMs = r.heartbeatIntervalMs;
    if (this.stopping) return;
    const now = new Set(r.assignments.map((a) => key(a.topic, a.partition)));
    const lost: RevokedPartition[] = [...overdue];
    for (const [k, o] of this.owned) {
      if (!now.has(k) && !r.revoked.some((x) => key(x.topic, x.partition) === k)) {
        o.abort.abort();
        this.owned.delete(k);
        lost.push({ topic: o.topic, partition: o.partition, reason: 'lost' });
      }
    }
    for (const a of r.assignments) this.take(a);
    for (const x of r.revoked) {
      const o = this.owned.get(key(x.topic, x.partition));
      if (o && !o.revoked) {
        o.revoked = true;
        lost.push({ topic: o.topic, partition: o.partition, reason: 'revoked' });
        void this.handOver(o);
      } else if (!o) this.release.push(x);
    }
    if (lost.length) this.run_?.onPartitionsRevoked?.(lost);
  }

  private take(a: Assignment): void {
    const k = key(a.topic, a.partition);
    const cur = this.owned.get(k);
    if (cur && cur.epoch === a.epoch) {
      cur.expiresAtMs = a.expiresAtMs;
      return;
    }
    cur?.abort.abort();
    const o: Owned = {
      topic: a.topic,
      partition: a.partition,
      epoch: a.epoch,
      expiresAtMs: a.expiresAtMs,
      position: a.committedOffset ?? undefined,
      processed: undefined,
      committed: a.committedOffset,
      revoked: false,
      abort: new AbortController(),
    };
    this.owned.set(k, o);
    o.worker = this.work(o);
  }

  /**
   * Partitions whose handler made no progress for `maxProcessingMs`: each stops being this
   * member's at once (its slot freed, its lease released in the next heartbeat, the group
   * told not to give it back until the handler returns). What it had processed before is
   * committed first; the handler's later progress is ignored (at-least-once).
   */
  private stallOverdue(): RevokedPartition[] {
    const now = this.clock.nowMs();
    const out: RevokedPartition[] = [];
    for (const [k, o] of this.owned) {
      if (o.busySinceMs === undefined || now - o.busySinceMs < this.maxProcessingMs) continue;
      this.owned.delete(k);
      this.stalled.set(k, { topic: o.topic, partition: o.partition, owned: o });
      o.abort.abort();
      o.stalled?.();
      this.release.push({ topic: o.topic, partition: o.partition, epoch: o.epoch });
      out.push({ topic: o.topic, partition: o.partition, reason: 'timeout' });
      o.overdue = true;
      // the handler may still return one day: then the group may give the partition back
      void o.handler?.finally(() => {
        if (this.stalled.get(k)?.owned === o) this.stalled.delete(k);
      });
    }
    return out;
  }

  /** Resolves when the partition's worker is done, or once its handler is past its deadline. */
  private async finishedOrOverdue(o: Owned): Promise<void> {
    for (;;) {
      const left =
        o.busySinceMs === undefined ? this.maxProcessingMs : o.busySinceMs + this.maxProcessingMs - this.clock.nowMs();
      const timer = new AbortController();
      const outcome = await Promise.race([
        (o.worker ?? Promise.resolve()).then(
          () => 'done' as const,
          () => 'done' as const,
        ),
        this.clock.sleep(Math.max(1, left), timer.signal).then(() => 'tick' as const),
      ]);
      timer.abort();
      if (outcome === 'done') return;
      if (o.busySinceMs !== undefined && this.clock.nowMs() - o.busySinceMs >= this.maxProcessingMs) return;
    }
  }

  /** Finish the in-flight batch of a revoked partition, commit it, release it. */
  private async handOver(o: Owned): Promise<void> {
    o.abort.abort();
    await this.finishedOrOverdue(o);
    if (o.overdue) return; // given up already: released by the stall
    // with manual commits, what was not committed is redelivered to the next owner
    if (this.run_?.autoCommit !== false) await this.commitOne(o).catch(() => {});
    this.owned.delete(key(o.topic, o.partition));
    this.release.push({ topic: o.topic, partition: o.partition, epoch: o.epoch });
    if (this.running && !this.stopping) {
      clearTimeout(this.heartbeatTimer);
      void this.beat()
        .catch(() => {})
        .finally(() => this.scheduleHeartbeat());
    }
  }

  private holds(o: Owned): boolean {
    const skew = this.options.maxClockSkewMs ?? 1000;
    return (
      this.running &&
      !this.stopping &&
      !o.revoked &&
      !o.abort.signal.aborted &&
      this.owned.get(key(o.topic, o.partition)) === o &&
      this.clock.nowMs() < o.expiresAtMs - skew
    );
  }

  private async work(o: Owned): Promise<void> {
    const k = key(o.topic, o.partition);
    try {
      if (o.position === undefined) {
        const d = await this.bounds(o.topic);
        const b = d.offsets[o.partition] as { startOffset: number; highWatermark: number };
        o.position = this.fromBeginning ? b.startOffset : b.highWatermark;
      }
      while (this.holds(o)) {
        const sought = this.seeks.get(k);
        if (sought !== undefined) {
          this.seeks.delete(k);
          o.position = sought;
        }
        if (this.paused.has(k)) {
          await this.clock.sleep(100, o.abort.signal);
          continue;
        }
        let fetched: Awaited<ReturnType<Transport['fetch']>>;
        try {
          fetched = await this.transport.fetch({
            topic: o.topic,
            partition: o.partition,
            offset: o.position as number,
            maxRecords: this.options.maxRecords ?? 500,
            maxBytes: this.options.maxBytes ?? 1024 * 1024,
            waitMs: this.options.maxWaitMs ?? 5000,
          });
        } catch (e) {
          if (e instanceof SluiceError && e.code === 'OFFSET_OUT_OF_RANGE') {
            const start = (e.details.startOffset as number) ?? 0;
            // retention removed records the group had not consumed: resume at the start
            if ((o.position as number) < start) o.position = start;
            else o.position = e.details.highWatermark as number;
            continue;
          }
          if (isRetriable(e)) {
            await this.clock.sleep(200, o.abort.signal);
            continue;
          }
          throw e;
        }
        if (fetched.records.length === 0 || !this.holds(o)) {
          // an idle partition still commits what was processed before, on the interval
          await this.maybeAutoCommit();
          continue;
        }
        await this.slot(o, () => this.handle(o, fetched.records, fetched.highWatermark));
        await this.maybeAutoCommit();
      }
    } catch (e) {
      if (!this.stopping) this.crash(e as Error);
    }
  }

  /**
   * A topic's bounds for partitions starting without a committed offset: one description
   * shared by every partition loop that asks within a second (a member given 288 new
   * partitions reads the topic once, not once per partition — each read is all its heads).
   * A second-old start or end only moves where a new partition starts by that second.
   */
  private bounds(topic: string): ReturnType<Transport['describeTopic']> {
    const now = this.clock.nowMs();
    const cached = this.described.get(topic);
    if (cached && now - cached.atMs < 1000) return cached.description;
    const description = this.transport.describeTopic(topic);
    this.described.set(topic, { atMs: now, description });
    description.catch(() => this.described.delete(topic));
    return description;
  }

  private async handle(o: Owned, records: LogRecord[], highWatermark: number): Promise<void> {
    const run = this.run_ as RunOptions;
    o.busySinceMs = this.clock.nowMs();
    try {
      if (run.eachBatch) {
        await this.handleBatch(o, run.eachBatch, records, highWatermark, run.eachBatchAutoResolve ?? true);
        return;
      }
      const eachMessage = run.eachMessage as NonNullable<RunOptions['eachMessage']>;
      for (const message of records) {
        if (!this.holds(o)) return; // lost the lease: stop at once
        try {
          await this.retrying(o, () => eachMessage({ topic: o.topic, partition: o.partition, message }));
        } catch (e) {
          if (!this.holds(o)) return;
          await this.deadLetter(o, message, e);
        }
        this.processedThrough(o, message.offset + 1);
      }
    } finally {
      o.busySinceMs = undefined;
    }
  }

  /**
   * One fetched batch through `eachBatch`: whole, with retries; if it keeps failing, what
   * the handler resolved counts, and the rest is bisected — each half retried on its own —
   * until the records that fail alone are found and dead-lettered (or, without a dead-
   * letter topic, the consumer stops with the error, having kept what was resolved).
   */
  private async handleBatch(
    o: Owned,
    eachBatch: NonNullable<RunOptions['eachBatch']>,
    records: LogRecord[],
    highWatermark: number,
    autoResolve: boolean,
  ): Promise<void> {
    let resolved = -1;
    const attempt = (messages: LogRecord[]) => {
      const first = (messages[0] as LogRecord).offset;
      const last = (messages[messages.length - 1] as LogRecord).offset;
      return eachBatch({
        batch: { topic: o.topic, partition: o.partition, messages, highWatermark },
        resolveOffset: (offset) => {
          const n = Number(offset);
          if (!Number.isSafeInteger(n) || n < first || n > last) {
            throw new InvalidArgumentError(
              `resolveOffset(${String(offset)}) is outside this batch [${first}, ${last}]`,
            );
          }
          if (n > resolved && this.holds(o)) {
            resolved = n;
            this.processedThrough(o, n + 1);
          }
        },
        heartbeat: async () => this.progressed(o),
        isRunning: () => this.holds(o),
        isStale: () => !this.holds(o),
      });
    };
    const process = async (messages: LogRecord[]): Promise<void> => {
      const last = messages[messages.length - 1] as LogRecord;
      let failure: unknown;
      try {
        await this.retrying(o, () => attempt(messages));
        // without auto-resolve only what was resolved counts; the rest comes again
        if (autoResolve && this.holds(o)) this.processedThrough(o, last.offset + 1);
        return;
      } catch (e) {
        failure = e;
      }
      if (!this.holds(o)) return;
      const rest = messages.filter((m) => m.offset > resolved);
      if (rest.length === 0) return;
      if (!this.options.deadLetterTopic || !this.deadLetters) throw failure;
      if (rest.length === 1) {
        const poison = rest[0] as LogRecord;
        await this.deadLetter(o, poison, failure);
        this.processedThrough(o, poison.offset + 1);
        return;
      }
      const mid = Math.ceil(rest.length / 2);
      await process(rest.slice(0, mid));
      if (this.holds(o)) await process(rest.slice(mid));
    };
    // the position is now past what was processed: anything the handler did not resolve
    // (auto-resolve off) is fetched again
    await process(records);
  }

  /** Processed up to `next` (exclusive): the next fetch starts there, the commit at least there; resets the deadline. */
  private processedThrough(o: Owned, next: number): void {
    // the position moves through a re-read after a seek backwards too; what counts as
    // processed (and is committed) only grows
    const from = o.position ?? next - 1;
    if (next <= from) return;
    this.sinceCommit += next - from;
    o.position = next;
    if (o.processed === undefined || next > o.processed) o.processed = next;
    this.progressed(o);
  }

  private progressed(o: Owned): void {
    if (o.busySinceMs !== undefined) o.busySinceMs = this.clock.nowMs();
  }

  /** Runs `fn`, retrying `retry.attempts` times in all with backoff; throws the last error. */
  private async retrying(o: Owned, fn: () => Promise<void>): Promise<void> {
    const attempts = this.options.retry?.attempts ?? 3;
    const initial = this.options.retry?.initialRetryMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= attempts || !this.holds(o)) throw e;
        await this.clock.sleep(Math.min(10_000, initial * 2 ** (attempt - 1)), o.abort.signal);
        this.progressed(o); // a handler that fails and is retried is not hung
      }
    }
  }

  /** Produces a record that keeps failing to the dead-letter topic, with the error; throws without one. */
  private async deadLetter(o: Owned, record: LogRecord, e: unknown): Promise<void> {
    if (!this.options.deadLetterTopic || !this.deadLetters) throw e;
    const err = e as Error;
    await this.deadLetters.send({
      topic: this.options.deadLetterTopic,
      messages: [
        {
          key: record.key,
          value: record.value,
          timestamp: record.timestamp,
          headers: {
            ...Object.fromEntries(record.headers.map(([n, v]) => [n, v])),
            'x-sluice-error': String(err?.message ?? err),
            'x-sluice-error-attempts': String(this.options.retry?.attempts ?? 3),
            'x-sluice-source': `${o.topic}/${o.partition}/${record.offset}`,
          },
        },
      ],
    });
  }

  private async maybeAutoCommit(): Promise<void> {
    const run = this.run_ as RunOptions;
    if (run.autoCommit === false) return;
    const due =
      this.clock.nowMs() - this.lastCommitMs >= (run.autoCommitIntervalMs ?? 5000) ||
      (run.autoCommitThreshold !== undefined && this.sinceCommit >= run.autoCommitThreshold);
    if (due) await this.commitProcessed();
  }

  private async commitProcessed(): Promise<void> {
    this.lastCommitMs = this.clock.nowMs();
    this.sinceCommit = 0;
    await Promise.all([...this.owned.values()].map((o) => this.commitOne(o)));
  }

  private async commitOne(o: Owned): Promise<void> {
    if (o.processed === undefined || o.processed === o.committed) return;
    const offset = o.processed;
    try {
      await this.transport.commitOffsets(this.options.groupId, this.memberId as string, [
        { topic: o.topic, partition: o.partition, offset, epoch: o.epoch },
      ]);
      o.committed = offset;
    } catch (e) {
      if (e instanceof SluiceError && e.code === 'FENCED') {
        // a zombie: someone else owns it now; stop processing it
        o.abort.abort();
        if (this.owned.get(key(o.topic, o.partition)) === o) this.owned.delete(key(o.topic, o.partition));
        return;
      }
      throw e;
    }
  }

  /**
   * Runs a partition's handler in one of the `partitionsConsumedConcurrently` slots. A
   * handler that overruns its deadline gives its slot back at once (it keeps running, but
   * other partitions no longer wait for it).
   */
  private async slot(o: Owned, fn: () => Promise<void>): Promise<void> {
    while (this.slots === 0) await new Promise<void>((r) => this.waiting.push(r));
    this.slots--;
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.slots++;
      this.waiting.shift()?.();
    };
    const overdue = new Promise<void>((resolve) => {
      o.stalled = () => {
        free();
        resolve();
      };
    });
    const running = fn();
    o.handler = running;
    running.catch(() => {}); // still observed below unless the handler was left behind
    try {
      await Promise.race([running, overdue]);
    } finally {
      free();
    }
  }

  private crash(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    void this.stop();
  }
}
