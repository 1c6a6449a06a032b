/**
 * What wakes the dispatcher: the change stream of the head shards. Every commit rewrites its
 * head shard item (`H#{topicId}#{shard}`, the packed heads in `h`), so a stream of that item's
 * old and new images says exactly which partitions grew — and nothing else writes to it
 * while nothing is produced (a trim moves a start offset, never a next offset). In AWS the
 * stream is read by a Lambda event-source mapping filtered to head shards (Streams reads by
 * Lambda triggers are not billed); `npm start` reads DynamoDB Local's stream the same way.
 *
 *   stream records → partitions whose next offset moved → enabled subscriptions of their topic
 *   → drivePartition for each, a few at a time, until caught up or the time budget ends
 *   → what the budget left is handed over (a follow-up invocation, or the next loop locally)
 *
 * A partition whose lease another dispatcher holds is that dispatcher's: it reads the head
 * again after releasing, so records committed meanwhile are not left behind.
 */

import { mapLimit } from '../concurrency';
import { TopicNotFoundError } from '../errors';
import { decodeHeads } from '../storage/head-codec';
import { HEAD_SHARD_SIZE, HEADS_ATTRIBUTE } from '../storage/layout';
import { deserializeSubscription, type StoredSubscription } from './definition';
import { type DispatchDeps, type DriveStatus, drivePartition } from './dispatcher';

/** A binary attribute value: bytes from the SDK, base64 in a Lambda event's JSON. */
type Binary = Uint8Array | string;

/** A stream record of the table, as the SDK's GetRecords or a Lambda event carries it. */
export interface TableStreamRecord {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly Keys?: Readonly<Record<string, { S?: string } | undefined>>;
    readonly NewImage?: Readonly<Record<string, { B?: Binary } | undefined>>;
    readonly OldImage?: Readonly<Record<string, { B?: Binary } | undefined>>;
  };
}

/** A partition that grew. */
export interface GrownPartition {
  readonly topicId: string;
  readonly partition: number;
  readonly highWatermark: number;
}

const HEAD_PK = /^H#(.+)#(\d+)$/;

function heads(image: Readonly<Record<string, { B?: Binary } | undefined>> | undefined, what: string) {
  const b = image?.[HEADS_ATTRIBUTE]?.B;
  if (b === undefined) return undefined;
  return decodeHeads(typeof b === 'string' ? new Uint8Array(Buffer.from(b, 'base64')) : b, what);
}

/**
 * The partitions whose next offset moved, from stream records of head shards (others are
 * ignored), each once with its newest high watermark.
 */
export function grownPartitions(records: readonly TableStreamRecord[]): GrownPartition[] {
  const out = new Map<string, GrownPartition>();
  for (const r of records) {
    if (r.eventName !== 'MODIFY' && r.eventName !== 'INSERT') continue;
    const pk = r.dynamodb?.Keys?.pk?.S;
    const m = pk ? HEAD_PK.exec(pk) : null;
    if (!m) continue;
    const topicId = m[1] as string;
    const shard = Number(m[2]);
    const after = heads(r.dynamodb?.NewImage, `head shard ${pk}`);
    if (!after) continue;
    const before = heads(r.dynamodb?.OldImage, `head shard ${pk}`);
    after.forEach((h, i) => {
      if (h.nextOffset <= (before?.[i]?.nextOffset ?? 0)) return;
      const partition = shard * HEAD_SHARD_SIZE + i;
      const key = `${topicId}#${partition}`;
      const seen = out.get(key);
      if (!seen || seen.highWatermark < h.nextOffset) out.set(key, { topicId, partition, highWatermark: h.nextOffset });
    });
  }
  return [...out.values()];
}

/** One partition of one subscription to deliver. */
export interface Work {
  readonly subscription: string;
  readonly topic: string;
  readonly partition: number;
}

/** How one piece of work ended. */
export interface WorkResult extends Work {
  readonly status: DriveStatus | 'error';
  readonly delivered: number;
  readonly error?: string;
}

export interface TriggerOptions {
  /** Partitions driven at once. @default 8 */
  readonly concurrency?: number;
  /** How long the list of subscriptions is trusted. @default 10_000 */
  readonly subscriptionsCacheMs?: number;
}

/** Subscriptions by the topic id they read (cached: one Query per `subscriptionsCacheMs`). */
interface Routes {
  readonly loadedMs: number;
  readonly byTopicId: ReadonlyMap<string, { topic: string; subscriptions: string[] }>;
}

/** Turns stream records (or a kick) into deliveries. One per process. */
export class SubscriptionTrigger {
  private routes: Routes | undefined;
  private readonly concurrency: number;
  private readonly cacheMs: number;

  constructor(
    private readonly d: DispatchDeps,
    options: TriggerOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 8;
    this.cacheMs = options.subscriptionsCacheMs ?? 10_000;
  }

  /** Forgets the cached subscriptions (after one is created or changed in this process). */
  invalidate(): void {
    this.routes = undefined;
  }

  private async loadRoutes(): Promise<Routes> {
    const now = this.d.clock.nowMs();
    if (this.routes && now - this.routes.loadedMs < this.cacheMs) return this.routes;
    const byTopicId = new Map<string, { topic: string; subscriptions: string[] }>();
    for (const r of await this.d.groups.listSubscriptions()) {
      const s = deserializeSubscription(r);
      if (!s.definition.options.enabled) continue;
      for (const topic of s.definition.topics) {
        try {
          const t = await this.d.log.getTopic(topic);
          const entry = byTopicId.get(t.topicId) ?? { topic, subscriptions: [] };
          entry.subscriptions.push(s.definition.name);
          byTopicId.set(t.topicId, entry);
        } catch (e) {
          if (!(e instanceof TopicNotFoundError)) throw e;
        }
      }
    }
    this.routes = { loadedMs: now, byTopicId };
    return this.routes;
  }

  /** The work that new records in these partitions make. */
  async workFor(grown: readonly GrownPartition[]): Promise<Work[]> {
    if (grown.length === 0) return [];
    const routes = await this.loadRoutes();
    const work: Work[] = [];
    for (const g of grown) {
      const r = routes.byTopicId.get(g.topicId);
      for (const subscription of r?.subscriptions ?? []) {
        work.push({ subscription, topic: r?.topic as string, partition: g.partition });
      }
    }
    return work;
  }

  /** Every partition of a subscription (a kick: after it is created or enabled). */
  async workOf(sub: StoredSubscription): Promise<Work[]> {
    const work: Work[] = [];
    for (const topic of sub.definition.topics) {
      const t = await this.d.log.getTopic(topic);
      for (let partition = 0; partition < t.partitions; partition++) {
        work.push({ subscription: sub.definition.name, topic, partition });
      }
    }
    return work;
  }

  /**
   * Drives the work, `concurrency` partitions at a time, until each is caught up (or busy,
   * stopped, fenced) or `deadlineMs` passes. A failure of one partition does not stop the
   * others; it is answered (and retried by whoever hands the work over).
   */
  async run(work: readonly Work[], deadlineMs: number): Promise<WorkResult[]> {
    const unique = [...new Map(work.map((w) => [`${w.subscription}\n${w.topic}\n${w.partition}`, w])).values()];
    return mapLimit(unique, this.concurrency, async (w): Promise<WorkResult> => {
      if (this.d.clock.nowMs() >= deadlineMs) return { ...w, status: 'budget', delivered: 0 };
      try {
        const r = await drivePartition(this.d, w.subscription, w.topic, w.partition, deadlineMs);
        return { ...w, ...r };
      } catch (e) {
        return { ...w, status: 'error', delivered: 0, error: e instanceof Error ? e.message : String(e) };
      }
    });
  }
}

/**
 * Work driven continuously in one long-lived process (`npm start`): each (subscription,
 * partition) at most once at a time, `concurrency` at once; work that arrives for one in
 * flight runs again after it, work its budget cut short goes on, a failure is tried again
 * after `retryMs`.
 */
export class DispatchQueue {
  private readonly waiting = new Map<string, Work>();
  /** In flight, and whether it is wanted again when it ends. */
  private readonly inFlight = new Map<string, boolean>();
  private readonly done = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly trigger: SubscriptionTrigger,
    private readonly clock: DispatchDeps['clock'],
    private readonly options: {
      concurrency: number;
      budgetMs: number;
      retryMs: number;
      onResult?: (r: WorkResult) => void;
    },
  ) {}

  add(work: readonly Work[]): void {
    for (const w of work) {
      const key = `${w.subscription}\n${w.topic}\n${w.partition}`;
      if (this.inFlight.has(key)) this.inFlight.set(key, true);
      else this.waiting.set(key, w);
    }
    this.pump();
  }

  /** Resolves once nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (this.waiting.size === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.done.add(resolve);
    });
  }

  /** Takes no new work; resolves when what is in flight ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.clear();
    await this.idle();
  }

  private pump(): void {
    for (const [key, w] of this.waiting) {
      if (this.stopped || this.inFlight.size >= this.options.concurrency) break;
      this.waiting.delete(key);
      this.inFlight.set(key, false);
      void this.drive(key, w);
    }
    if (this.waiting.size === 0 && this.inFlight.size === 0) {
      for (const resolve of this.done) resolve();
      this.done.clear();
    }
  }

  private async drive(key: string, w: Work): Promise<void> {
    const [r] = await this.trigger.run([w], this.clock.nowMs() + this.options.budgetMs);
    this.options.onResult?.(r as WorkResult);
    const again = this.inFlight.get(key) === true || r?.status === 'budget';
    if (r?.status === 'error' && !this.stopped) {
      // a failing store or an unknown topic: try again later, without spinning
      await this.clock.sleep(this.options.retryMs);
    }
    this.inFlight.delete(key);
    if (!this.stopped && (again || r?.status === 'error')) this.waiting.set(key, w);
    this.pump();
  }
}
