/**
 * The two transports behind one interface: direct (the log over S3 + DynamoDB with the
 * caller's credentials; fastest and cheapest) and HTTP (the API; SigV4-signed on AWS).
 */

import { type AclInput, createAcl, deleteAcl, deleteQuota, setQuota } from '../access/manage';
import type { AclRecord, QuotaRecord, QuotaSpec } from '../access/model';
import { type Clock, systemClock } from '../clock';
import type { SluiceCore } from '../compose';
import { type ErrorCode, InternalError, InvalidArgumentError, RetriableError, SluiceError } from '../errors';
import {
  commitOffsets,
  deleteGroup,
  describeGroup,
  type GroupDeps,
  type HeartbeatResult,
  heartbeat,
  leaveGroup,
  type ResetTarget,
  resetOffsets,
} from '../groups/coordinator';
import type { FetchRequest, FetchResult } from '../log/fetch';
import type { SluiceLog } from '../log/log';
import type { ProduceRequest, ProduceResult } from '../log/produce';
import type { CreateTopicRequest, TopicDescription } from '../log/topics';
import { asOffset, type RecordHeader } from '../records/types';
import { type ProduceLimits, produceLimits } from '../records/validate';
import { SharedPoll } from '../shared-poll';
import type { RequestSigner } from '../storage/aws';
import type { AccessStore } from '../storage/ports';
import { type SubscriptionView, subscriptionView } from '../subscriptions/definition';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  type SubscriptionPatch,
  updateSubscription,
} from '../subscriptions/manage';

/** What the clients need from a transport. */
export interface Transport {
  createTopic(req: CreateTopicRequest): Promise<void>;
  describeTopic(name: string): Promise<Omit<TopicDescription, 'topicId' | 'createdMs'>>;
  listTopics(): Promise<{ name: string; partitions: number }[]>;
  deleteTopic(name: string): Promise<void>;
  /** Changes retention and/or grows partitions. */
  updateTopic(
    name: string,
    change: { retentionMs?: number | null; retentionBytes?: number | null; partitions?: number },
  ): Promise<void>;
  /** Kafka's deleteRecords. */
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<{ startOffset: number }>;
  /** What the log accepts in a produce call (the client checks sends against these). */
  limits(): Promise<ProduceLimits>;
  /** One atomic produce call (HTTP: atomic per topic; one request per topic). */
  produce(req: ProduceRequest): Promise<ProduceResult>;
  fetch(req: FetchRequest): Promise<FetchResult>;
  offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null>;
  /** Joins or heartbeats a consumer group; releases what the member handed over. */
  heartbeat(
    group: string,
    req: {
      memberId?: string;
      topics: readonly string[];
      release?: readonly { topic: string; partition: number; epoch: number }[];
      stalled?: readonly { topic: string; partition: number }[];
    },
  ): Promise<HeartbeatResult>;
  leaveGroup(group: string, memberId: string): Promise<void>;
  /** Commits offsets under the member's lease epochs; FENCED if it lost them. */
  commitOffsets(
    group: string,
    memberId: string,
    offsets: readonly { topic: string; partition: number; offset: number; epoch: number }[],
  ): Promise<void>;
  /** Consumer groups (`/v1/groups`): the registered groups, one described, offsets reset. */
  listGroups(): Promise<string[]>;
  describeGroup(group: string): Promise<GroupDescription>;
  resetOffsets(group: string, req: ResetRequest): Promise<ResetResult>;
  deleteGroup(group: string): Promise<void>;
  /** Push subscriptions (`/v1/subscriptions`). */
  createSubscription(input: unknown): Promise<SubscriptionView>;
  listSubscriptions(): Promise<SubscriptionView[]>;
  getSubscription(name: string): Promise<SubscriptionView>;
  updateSubscription(name: string, patch: SubscriptionPatch): Promise<SubscriptionView>;
  deleteSubscription(name: string): Promise<void>;
  /** Access control (`/v1/acls`; direct mode manages the table's entries, which only the API enforces). */
  listAcls(): Promise<AclRecord[]>;
  createAcl(input: AclInput): Promise<AclRecord>;
  deleteAcl(id: string): Promise<void>;
  /** Request quotas (`/v1/quotas`). */
  listQuotas(): Promise<QuotaRecord[]>;
  setQuota(input: QuotaSpec): Promise<QuotaRecord>;
  deleteQuota(id: string): Promise<void>;
}

/** A group as `GET /v1/groups/{g}` shows it. */
export type GroupDescription = Awaited<ReturnType<typeof describeGroup>>;
/** What an offset reset asks (a dry run unless `dryRun: false`) and answers. */
export type ResetRequest = { topic: string; to: ResetTarget; partitions?: readonly number[]; dryRun?: boolean };
export type ResetResult = Awaited<ReturnType<typeof resetOffsets>>;

/** Direct mode: calls the log (and the group operations) in-process. */
export class DirectTransport implements Transport {
  private readonly log: SluiceLog;
  private readonly groups?: GroupDeps;

  constructor(private readonly core: SluiceCore) {
    this.log = core.log;
    if (core.groups) this.groups = core.groups;
  }
  async listGroups() {
    return (await this.groupDeps().groups.listGroups()).map((g) => g.group);
  }
  describeGroup(group: string) {
    return describeGroup(this.groupDeps(), group);
  }
  resetOffsets(group: string, req: ResetRequest) {
    return resetOffsets(this.groupDeps(), group, req);
  }
  deleteGroup(group: string) {
    return deleteGroup(this.groupDeps(), group);
  }
  private accessStore(): AccessStore {
    if (!this.core.access) throw new InvalidArgumentError('this Sluice client was built without an ACL store');
    return this.core.access;
  }
  listAcls() {
    return this.accessStore().listAcls();
  }
  async createAcl(input: AclInput) {
    // direct mode has no authenticated principal: the entry records who made it as "direct"
    return (await createAcl(this.accessStore(), input, { principal: 'direct', clock: this.core.clock })).acl;
  }
  deleteAcl(id: string) {
    return deleteAcl(this.accessStore(), id);
  }
  listQuotas() {
    return this.accessStore().listQuotas();
  }
  setQuota(input: QuotaSpec) {
    return setQuota(this.accessStore(), input, { principal: 'direct', clock: this.core.clock });
  }
  deleteQuota(id: string) {
    return deleteQuota(this.accessStore(), id);
  }
  private groupDeps(): GroupDeps {
    if (!this.groups) throw new InvalidArgumentError('this Sluice client was built without a group store');
    return this.groups;
  }
  heartbeat(group: string, req: Parameters<Transport['heartbeat']>[1]) {
    return heartbeat(this.groupDeps(), group, req);
  }
  leaveGroup(group: string, memberId: string) {
    return leaveGroup(this.groupDeps(), group, memberId);
  }
  async commitOffsets(group: string, memberId: string, offsets: Parameters<Transport['commitOffsets']>[2]) {
    await commitOffsets(this.groupDeps(), group, memberId, offsets);
  }
  async createSubscription(input: unknown) {
    return subscriptionView(await createSubscription(this.groupDeps(), input));
  }
  async listSubscriptions() {
    return (await listSubscriptions(this.groupDeps())).map(subscriptionView);
  }
  async getSubscription(name: string) {
    return subscriptionView(await getSubscription(this.groupDeps(), name));
  }
  async updateSubscription(name: string, patch: SubscriptionPatch) {
    return subscriptionView((await updateSubscription(this.groupDeps(), name, patch)).subscription);
  }
  async deleteSubscription(name: string) {
    await deleteSubscription(this.groupDeps(), name);
  }
  async createTopic(req: CreateTopicRequest) {
    await this.log.createTopic(req);
  }
  async limits() {
    return produceLimits(this.log.settings);
  }
  describeTopic(name: string) {
    return this.log.describeTopic(name);
  }
  async listTopics() {
    return (await this.log.listTopics()).map((t) => ({ name: t.name, partitions: t.partitions }));
  }
  deleteTopic(name: string) {
    return this.log.deleteTopic(name);
  }
  async updateTopic(name: string, change: Parameters<Transport['updateTopic']>[1]) {
    if (change.partitions !== undefined) await this.log.addPartitions(name, change.partitions);
    if (change.retentionMs !== undefined || change.retentionBytes !== undefined)
      await this.log.setRetention(name, change);
  }
  deleteRecords(topic: string, partition: number, beforeOffset: number) {
    return this.log.deleteRecords(topic, partition, beforeOffset);
  }
  produce(req: ProduceRequest) {
    return this.log.append(req);
  }
  fetch(req: FetchRequest) {
    return this.log.fetch(req);
  }
  async offsetForTimestamp(topic: string, partition: number, timestampMs: number) {
    return (await this.log.offsetForTimestamp(topic, partition, timestampMs)).offset;
  }
}

/** A partition's bounds as this client last learned them. */
interface Bounds {
  readonly startOffset: number;
  readonly highWatermark: number;
}

/** A topic's shared poll in the HTTP transport, and the bounds it (or a records answer) last showed. */
interface TopicWatch {
  readonly poll: SharedPoll<Bounds>;
  readonly known: Map<number, Bounds>;
}

/** The longest pause between the polls of a client-side wait. */
const MAX_CLIENT_POLL_PAUSE_MS = 1000;

/** HTTP mode: the API v1, base64 on the wire so bytes survive exactly. */
export class HttpTransport implements Transport {
  private readonly base: string;
  /** Per topic this client has waited on: its shared poll and the bounds last learned. */
  private readonly watches = new Map<string, TopicWatch>();
  constructor(
    url: string,
    private readonly signer?: RequestSigner,
    private readonly clock: Clock = systemClock,
    /** Sent with every request (e.g. `x-sluice-principal` for `npm start` in ACL mode). */
    private readonly headers: Readonly<Record<string, string>> = {},
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  async createTopic(req: CreateTopicRequest) {
    await this.call('POST', '/v1/topics', req);
  }
  async describeTopic(name: string) {
    return (await this.call('GET', `/v1/topics/${encodeURIComponent(name)}`)) as Awaited<
      ReturnType<Transport['describeTopic']>
    >;
  }
  async listTopics() {
    return this.pages<{ name: string; partitions: number }>('/v1/topics', 'topics');
  }
  /** Every item of a paged listing, following `next`. */
  private async pages<T>(path: string, field: string): Promise<T[]> {
    const out: T[] = [];
    let after: string | undefined;
    do {
      const r = (await this.call('GET', after ? `${path}?after=${encodeURIComponent(after)}` : path)) as Record<
        string,
        unknown
      > & { next?: string };
      out.push(...(r[field] as T[]));
      after = r.next;
    } while (after);
    return out;
  }
  async deleteTopic(name: string) {
    await this.call('DELETE', `/v1/topics/${encodeURIComponent(name)}`);
  }
  async updateTopic(name: string, change: Parameters<Transport['updateTopic']>[1]) {
    await this.call('PATCH', `/v1/topics/${encodeURIComponent(name)}`, change);
  }
  async deleteRecords(topic: string, partition: number, beforeOffset: number) {
    return (await this.call(
      'POST',
      `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records:deleteBefore`,
      { offset: beforeOffset },
    )) as { startOffset: number };
  }

  async produce(req: ProduceRequest): Promise<ProduceResult> {
    const key =
      req.idempotencyKey ?? (req.producer ? `${req.producer.producerId}.${req.producer.sequence}` : undefined);
    const batches = [];
    for (const [i, b] of req.batches.entries()) {
      const body = {
        encoding: 'base64',
        records: b.records.map((r) => ({
          key: b64(r.key ?? null),
          value: b64(r.value),
          ...(r.headers?.length ? { headers: headersToJson(r.headers) } : {}),
          ...(r.partition !== undefined ? { partition: r.partition } : {}),
          ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
        })),
      };
      const headers: Record<string, string> = key
        ? { 'idempotency-key': req.batches.length > 1 ? `${key}.${i}` : key }
        : {};
      const res = (await this.call('POST', `/v1/topics/${encodeURIComponent(b.topic)}/records`, body, headers)) as {
        offsets: { partition: number; offset: number }[];
      };
      batches.push({ topic: b.topic, offsets: res.offsets });
    }
    return { batches, duplicate: false };
  }

  /**
   * A fetch; a server that does not wait (the deployed API) answers an idle partition at
   * once with `retryAfterMs`, and the waiting happens here, until `waitMs` has passed, on
   * one poll loop per topic (`SharedPoll`): a `GET` of the topic (every partition's bounds,
   * one request) at pauses doubling from that hint to 1 s, shared by every partition this
   * client waits on. A partition last seen at its end waits on that poll first — its next
   * read starts after this call, so it sees every commit before it — and asks for records
   * only once the topic shows news: a member of 12 idle partitions makes one request per
   * pause, not twelve, and no records request per partition and wait.
   */
  async fetch(req: FetchRequest): Promise<FetchResult> {
    const waitMs = req.waitMs ?? 0;
    const deadline = this.clock.nowMs() + waitMs;
    for (;;) {
      let watch = this.watches.get(req.topic);
      const known = watch?.known.get(req.partition);
      const atEnd = waitMs > 0 && known !== undefined && req.offset === known.highWatermark;
      if (!watch || !atEnd || req.offset < (known as Bounds).startOffset) {
        const remaining = Math.max(0, deadline - this.clock.nowMs());
        const r = await this.fetchOnce({ ...req, waitMs: remaining });
        // the wait is over when the deadline passed during this poll, not only before it
        const over = this.clock.nowMs() >= deadline;
        if (r.retryAfterMs === undefined || r.result.records.length > 0 || over || req.signal?.aborted) {
          this.learn(req.topic, req.partition, r.result);
          return r.result;
        }
        watch = this.watch(req.topic, r.retryAfterMs);
        this.learn(req.topic, req.partition, r.result);
      }
      const moved = await watch.poll.waitFor(req.partition, req.offset, deadline, req.signal);
      const now = watch.known.get(req.partition) as Bounds;
      if (moved === undefined && req.offset >= now.startOffset && req.offset <= now.highWatermark) {
        return { records: [], nextOffset: req.offset, ...now }; // the wait ended with no news
      }
      // news, or bounds that moved past this offset: the records request answers
    }
  }

  /** Remembers a partition's bounds from a records answer (for a topic this client polls). */
  private learn(topic: string, partition: number, r: FetchResult): void {
    this.watches.get(topic)?.known.set(partition, { startOffset: r.startOffset, highWatermark: r.highWatermark });
  }

  /** The shared poll of a topic's bounds (made at the first wait, with the server's pause). */
  private watch(topic: string, firstPauseMs: number): TopicWatch {
    let watch = this.watches.get(topic);
    if (!watch) {
      const known = new Map<number, Bounds>();
      const poll = new SharedPoll<Bounds>(
        this.clock,
        async () => {
          for (const o of (await this.describeTopic(topic)).offsets) {
            known.set(o.partition, { startOffset: o.startOffset, highWatermark: o.highWatermark });
          }
          return known;
        },
        (b, offset) => b.highWatermark > offset,
        { firstPauseMs: Math.min(firstPauseMs, MAX_CLIENT_POLL_PAUSE_MS), maxPauseMs: MAX_CLIENT_POLL_PAUSE_MS },
      );
      watch = { poll, known };
      this.watches.set(topic, watch);
    }
    return watch;
  }

  private async fetchOnce(req: FetchRequest): Promise<{ result: FetchResult; retryAfterMs?: number }> {
    const q = new URLSearchParams({ offset: String(req.offset), encoding: 'base64' });
    if (req.maxRecords !== undefined) q.set('maxRecords', String(req.maxRecords));
    if (req.maxBytes !== undefined) q.set('maxBytes', String(req.maxBytes));
    if (req.waitMs !== undefined) q.set('waitMs', String(req.waitMs));
    const r = (await this.call(
      'GET',
      `/v1/topics/${encodeURIComponent(req.topic)}/partitions/${req.partition}/records?${q}`,
    )) as {
      records: {
        offset: number;
        timestamp: number;
        key: string | null;
        value: string | null;
        headers: Record<string, string | null>;
      }[];
      nextOffset: number;
      highWatermark: number;
      startOffset: number;
      retryAfterMs?: number;
    };
    const result = {
      records: r.records.map((x) => ({
        offset: asOffset(x.offset),
        timestamp: x.timestamp,
        key: unb64(x.key),
        value: unb64(x.value),
        headers: Object.entries(x.headers).map(([n, v]) => [n, unb64(v)] as RecordHeader),
      })),
      nextOffset: r.nextOffset,
      highWatermark: r.highWatermark,
      startOffset: r.startOffset,
    };
    return { result, ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}) };
  }

  async limits() {
    return (await this.call('GET', '/v1/limits')) as ProduceLimits;
  }

  async heartbeat(group: string, req: Parameters<Transport['heartbeat']>[1]) {
    return (await this.call('POST', `/v1/groups/${encodeURIComponent(group)}/members`, req)) as HeartbeatResult;
  }
  async leaveGroup(group: string, memberId: string) {
    await this.call('DELETE', `/v1/groups/${encodeURIComponent(group)}/members/${encodeURIComponent(memberId)}`);
  }
  async commitOffsets(group: string, memberId: string, offsets: Parameters<Transport['commitOffsets']>[2]) {
    await this.call('POST', `/v1/groups/${encodeURIComponent(group)}/offsets`, { memberId, offsets });
  }

  async createSubscription(input: unknown) {
    return (await this.call('POST', '/v1/subscriptions', input)) as SubscriptionView;
  }
  async listSubscriptions() {
    return this.pages<SubscriptionView>('/v1/subscriptions', 'subscriptions');
  }
  async getSubscription(name: string) {
    return (await this.call('GET', `/v1/subscriptions/${encodeURIComponent(name)}`)) as SubscriptionView;
  }
  async updateSubscription(name: string, patch: SubscriptionPatch) {
    return (await this.call('PATCH', `/v1/subscriptions/${encodeURIComponent(name)}`, patch)) as SubscriptionView;
  }
  async deleteSubscription(name: string) {
    await this.call('DELETE', `/v1/subscriptions/${encodeURIComponent(name)}`);
  }

  async listAcls() {
    return this.pages<AclRecord>('/v1/acls', 'acls');
  }
  async listGroups() {
    return (await this.pages<{ group: string }>('/v1/groups', 'groups')).map((g) => g.group);
  }
  async describeGroup(group: string) {
    return (await this.call('GET', `/v1/groups/${encodeURIComponent(group)}`)) as GroupDescription;
  }
  async resetOffsets(group: string, req: ResetRequest) {
    return (await this.call('POST', `/v1/groups/${encodeURIComponent(group)}/offsets:reset`, req)) as ResetResult;
  }
  async deleteGroup(group: string) {
    await this.call('DELETE', `/v1/groups/${encodeURIComponent(group)}`);
  }
  async createAcl(input: AclInput) {
    return (await this.call('POST', '/v1/acls', input)) as AclRecord;
  }
  async deleteAcl(id: string) {
    await this.call('DELETE', `/v1/acls/${encodeURIComponent(id)}`);
  }
  async listQuotas() {
    return ((await this.call('GET', '/v1/quotas')) as { quotas: QuotaRecord[] }).quotas;
  }
  async setQuota(input: QuotaSpec) {
    return (await this.call('PUT', '/v1/quotas', input)) as QuotaRecord;
  }
  async deleteQuota(id: string) {
    await this.call('DELETE', `/v1/quotas/${encodeURIComponent(id)}`);
  }
  /** The caller as the server sees it (`GET /v1/whoami`). */
  async whoami() {
    return (await this.call('GET', '/v1/whoami')) as { principal: string; mode: 'acl' | 'open'; admin: boolean };
  }

  async offsetForTimestamp(topic: string, partition: number, timestampMs: number) {
    const r = (await this.call(
      'GET',
      `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/offsets?timestamp=${timestampMs}`,
    )) as { offset: number | null };
    return r.offset;
  }

  private async call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
    const url = new URL(`${this.base}${path}`);
    const text = body === undefined ? undefined : JSON.stringify(body);
    let headers: Record<string, string> = {
      ...this.headers,
      ...extra,
      ...(text !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    if (this.signer)
      headers = await this.signer.sign({ method, url, headers, ...(text !== undefined ? { body: text } : {}) });
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(text !== undefined ? { body: text } : {}) });
    } catch (e) {
      throw new RetriableError('UNAVAILABLE', `${method} ${path}: ${(e as Error).message}`, e);
    }
    const payload = res.status === 204 ? undefined : await res.text();
    let json: unknown;
    try {
      json = payload ? JSON.parse(payload) : undefined;
    } catch {
      // not Sluice's answer (a proxy's or Lambda's own error page)
      if (res.ok) throw new InternalError(`${method} ${path}: HTTP ${res.status} with a body that is not JSON`);
    }
    if (res.ok) return json;
    const err = (json as { error?: { code?: string; message?: string; retriable?: boolean } } | undefined)?.error;
    if (!err?.code) {
      const what = `${method} ${path}: HTTP ${res.status} without a Sluice error body: ${(payload ?? '').slice(0, 200)}`;
      // throttling and gateway errors of the infrastructure in front (Lambda, a proxy)
      if (res.status === 429 || res.status >= 500) {
        throw new RetriableError(res.status === 429 ? 'THROTTLED' : 'UNAVAILABLE', what);
      }
      // e.g. 403 from the Function URL's IAM check: retrying cannot help
      throw new SluiceError('INVALID_ARGUMENT', what);
    }
    const { code, message, retriable, ...details } = err as Record<string, unknown>;
    throw new SluiceError(code as ErrorCode, String(message), { retriable: Boolean(retriable), details });
  }
}

function b64(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

function unb64(s: string | null): Uint8Array | null {
  return s === null ? null : Buffer.from(s, 'base64');
}

function headersToJson(headers: readonly RecordHeader[]): Record<string, string | null> {
  const out: Record<string, string | null> = Object.create(null);
  for (const [n, v] of headers) out[n] = b64(v);
  return out;
}
