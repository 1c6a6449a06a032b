/**
 * Produce: write the object first, then commit (ARCHITECTURE §4).
 *
 * 1. Validate and partition the whole call; reject bad input before anything is written.
 * 2. Encode ONE segment for the call (one chunk per touched partition) and PUT it
 *    create-only under a fresh time-ordered key. Nothing is visible yet.
 * 3. Commit in ONE DynamoDB transaction: CAS every touched head shard (which exist only
 *    while the topic does), put one call item per shard (the index), the segment-file item
 *    (the GC fence) and the dedupe item.
 *    Offsets are `base + i`.
 * 4. A lost CAS race returns the fresh shard head; only the commit is redone (offsets inside
 *    a chunk are relative, so the segment is never re-encoded or re-PUT).
 * 5. An ambiguous commit (timeout / 5xx after the SDK's own retries) is resolved, never
 *    guessed: fence the segment-file item. If the fence wins, the commit can never apply
 *    and nothing was written; if it loses, the item says the commit applied and holds
 *    the base offsets. A caller is told "failed" only when nothing was written.
 */
import { createHash } from 'node:crypto';
import {
  IdempotencyKeyReusedError,
  InternalError,
  InvalidArgumentError,
  OutcomeUnknownError,
  OutOfOrderSequenceError,
  PartitionNotFoundError,
  RetriableError,
  SluiceError,
  TopicNotFoundError,
} from '../errors';
import { ulid } from '../ids';
import { type ChunkLocation, encodeSegment } from '../records/segment-codec';
import type { RecordHeader, RecordInput } from '../records/types';
import { CommitBudget, checkCallTotals, checkRecord, MAX_COMMIT_ITEMS } from '../records/validate';
import { idempotencyKeyProblem } from '../settings';
import { partsIn, shardHeadAfter, shardSlot } from '../storage/call-index';
import { HEAD_SHARD_SIZE, headShard, segmentObjectKey } from '../storage/layout';
import {
  type AppendCommit,
  type CommitRejection,
  type PartitionHead,
  type ShardAppend,
  type ShardHead,
  type StoredProduceResult,
  shardRef,
  type TopicRecord,
  type TopicRoute,
} from '../storage/ports';
import type { LogContext } from './context';
import { offsetsOf, type Routing, routeCall } from './routing';

/** A record as handed to `appendRecords`. */
export interface ProduceRecord {
  readonly key?: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly RecordHeader[];
  /** Explicit partition; else the key's murmur2 partition; else the call's sticky partition. */
  readonly partition?: number;
  /** Producer timestamp (ms); default: append time. */
  readonly timestamp?: number;
}

/** One produce call: records of one or more topics, committed atomically. */
export interface ProduceRequest {
  readonly batches: readonly { readonly topic: string; readonly records: readonly ProduceRecord[] }[];
  /** Makes retries of this call safe for `dedupeWindowMs`: same key, same answer. */
  readonly idempotencyKey?: string;
  /**
   * Whose key it is: keys of different scopes never meet (the HTTP API scopes each caller's
   * keys by its IAM identity, so nobody can claim, or be answered with, another's key).
   * @default one scope for every caller (direct mode)
   */
  readonly idempotencyScope?: string;
  /** Idempotent producer: sequences start at 0 and grow by 1 per call, committed in order. */
  readonly producer?: { readonly producerId: string; readonly sequence: number };
}

/** Where each record landed, per batch, in request order. */
export interface ProduceResult {
  readonly batches: readonly { topic: string; offsets: { partition: number; offset: number }[] }[];
  /** True when the answer was replayed from the dedupe state (nothing new was written). */
  readonly duplicate: boolean;
}

interface PlannedChunk {
  readonly topic: TopicRecord;
  readonly partition: number;
  readonly records: RecordInput[];
}

interface Plan {
  readonly chunks: PlannedChunk[];
  /** Each record's chunk (`chunks[i]` is `routing.chunks[i]`). */
  readonly routing: Routing;
  /** How each topic was routed: what a stored answer keeps to route a retry again. */
  readonly routes: readonly TopicRoute[];
  readonly topics: TopicRecord[];
  readonly requestHash: string;
}

interface WrittenSegment {
  readonly key: string;
  readonly id: string;
  readonly bytes: number;
  readonly createdMs: number;
  readonly locations: ChunkLocation[];
}

/** The key a call's dedupe item is stored under: `{scope}/{key}` (a client's key holds no `/`). */
function storedKey(req: ProduceRequest, key: string): string {
  return req.idempotencyScope === undefined ? key : `${req.idempotencyScope}/${key}`;
}

/** Appends the records of one call atomically and returns their offsets in request order. */
export async function appendRecords(ctx: LogContext, req: ProduceRequest): Promise<ProduceResult> {
  validateRequest(ctx, req);
  const nowMs = ctx.clock.nowMs();
  if (req.idempotencyKey !== undefined) {
    const plan0 = await planCall(ctx, req, nowMs);
    const existing = await ctx.metadata.getIdempotency(storedKey(req, req.idempotencyKey), nowMs);
    if (existing) return replay(existing, plan0, req, `idempotency key "${req.idempotencyKey}"`);
    return commitCall(ctx, req, plan0);
  }
  return commitCall(ctx, req, await planCall(ctx, req, nowMs));
}

async function commitCall(ctx: LogContext, req: ProduceRequest, plan: Plan): Promise<ProduceResult> {
  const segment = await writeSegment(ctx, plan);
  const deadline = ctx.clock.nowMs() + ctx.settings.commitDeadlineMs;
  // the PUT above runs alongside other requests of this process; their commits to a shard
  // take turns (`LogContext.commitGate`)
  const shards = plan.chunks.map((c) => shardRef(c.topic.topicId, headShard(c.partition)));
  return ctx.commitGate.run(shards, () => commitAttempts(ctx, req, plan, segment, deadline));
}

/** Commits a written segment: attempts until one applies, an answer is found, or it gives up. */
async function commitAttempts(
  ctx: LogContext,
  req: ProduceRequest,
  plan: Plan,
  written: WrittenSegment,
  deadline: number,
): Promise<ProduceResult> {
  const { settings, clock } = ctx;
  let segment = written;
  const stored = storedResultShape(plan);
  for (let attempt = 0; ; attempt++) {
    const now = clock.nowMs();
    if (attempt >= settings.maxCommitAttempts || now > deadline) {
      return giveUp(ctx, req, plan, segment, `gave up after ${attempt} commit attempts`);
    }
    const shards = await shardHeadsFor(ctx, plan);
    const commit = buildCommit(ctx, req, plan, segment, shards, stored, attempt, now);
    let outcome: Awaited<ReturnType<typeof ctx.metadata.commitAppend>>;
    try {
      outcome = await ctx.metadata.commitAppend(commit);
    } catch (e) {
      if (!(e instanceof SluiceError) || !e.retriable) throw e;
      // Ambiguous: the transaction may have applied. Resolve by fencing the segment.
      const resolved = await resolveAmbiguous(ctx, segment, e);
      if (resolved) return finish(ctx, req, plan, commit, resolved, false);
      if (clock.nowMs() > deadline)
        throw new RetriableError('UNAVAILABLE', 'commit deadline passed; nothing was written', e);
      segment = await writeSegment(ctx, plan);
      continue;
    }
    if (outcome.kind === 'committed') {
      return finish(
        ctx,
        req,
        plan,
        commit,
        commit.partitions.map((p) => p.entry.baseOffset),
        false,
      );
    }
    const decided = await handleRejection(ctx, req, plan, commit, outcome);
    if (decided === 'new-segment') {
      // our segment was fenced (GC, or an earlier attempt of ours): never write one we
      // could not commit in time
      if (clock.nowMs() > deadline)
        throw new RetriableError('UNAVAILABLE', 'commit deadline passed; nothing was written');
      segment = await writeSegment(ctx, plan);
    } else if (decided !== 'retry') return decided;
    if (attempt >= 3) await clock.sleep(jitterMs(ctx, attempt));
  }
}

/** Decides what a rejected commit means: an answer, a retry, or a new segment. */
async function handleRejection(
  ctx: LogContext,
  req: ProduceRequest,
  plan: Plan,
  commit: AppendCommit,
  r: CommitRejection,
): Promise<ProduceResult | 'retry' | 'new-segment'> {
  if (r.segmentFile) {
    // Our own earlier attempt committed (its response was lost) — or the segment was fenced.
    if (r.segmentFile.state === 'committed') return finish(ctx, req, plan, commit, r.segmentFile.bases, false);
    return 'new-segment';
  }
  if (r.idempotency) {
    await ctx.metadata.fenceSegment(commit.segment.key, ctx.clock.nowMs());
    return replay(r.idempotency, plan, req, `idempotency key "${req.idempotencyKey}"`);
  }
  if (r.producer && req.producer) {
    const { producerId, sequence } = req.producer;
    if (sequence < r.producer.nextSequence) {
      const prior = r.producer.recent.find((x) => x.sequence === sequence);
      await ctx.metadata.fenceSegment(commit.segment.key, ctx.clock.nowMs());
      if (!prior) {
        throw new OutOfOrderSequenceError(producerId, r.producer.nextSequence, sequence);
      }
      return replay(prior, plan, req, `producer ${producerId} sequence ${sequence}`);
    }
    if (sequence > r.producer.nextSequence) {
      await ctx.metadata.fenceSegment(commit.segment.key, ctx.clock.nowMs());
      throw new OutOfOrderSequenceError(producerId, r.producer.nextSequence, sequence);
    }
  }
  if (r.goneTopics.length > 0) {
    const gone = plan.topics.find((t) => r.goneTopics.includes(t.topicId)) as TopicRecord;
    ctx.topics.invalidate(gone.name);
    await ctx.metadata.fenceSegment(commit.segment.key, ctx.clock.nowMs());
    throw new TopicNotFoundError(gone.name);
  }
  for (const [ref, head] of r.movedShards) ctx.heads.set(ref, head);
  if (r.transactionConflict) {
    for (const s of commit.shards) ctx.heads.delete(shardRef(s.topicId, s.shard));
  }
  return 'retry';
}

/**
 * Resolves an ambiguous commit. Returns the base offsets if it applied; undefined if it
 * provably did not (our fence won: it never can apply now).
 */
async function resolveAmbiguous(
  ctx: LogContext,
  segment: WrittenSegment,
  cause: unknown,
): Promise<readonly number[] | undefined> {
  let fence: Awaited<ReturnType<typeof ctx.metadata.fenceSegment>>;
  try {
    fence = await ctx.metadata.fenceSegment(segment.key, ctx.clock.nowMs());
  } catch (e) {
    throw new OutcomeUnknownError(
      'the commit outcome is unknown and could not be resolved; retry with the same idempotency key',
      e ?? cause,
    );
  }
  if (fence.fenced) return undefined;
  return fence.file.state === 'committed' ? fence.file.bases : undefined;
}

async function giveUp(
  ctx: LogContext,
  req: ProduceRequest,
  plan: Plan,
  segment: WrittenSegment,
  why: string,
): Promise<ProduceResult> {
  const resolved = await resolveAmbiguous(ctx, segment, undefined);
  if (resolved) {
    return toResult(req, plan, resolved, false);
  }
  throw new RetriableError('UNAVAILABLE', `${why}; nothing was written`);
}

function finish(
  ctx: LogContext,
  req: ProduceRequest,
  plan: Plan,
  commit: AppendCommit,
  bases: readonly number[],
  duplicate: boolean,
): ProduceResult {
  // the shard heads after this commit, if it was this attempt that applied; a commit resolved
  // from the segment file may have been an earlier attempt on other heads: forget them (the
  // cached heads are only guesses, a wrong one costs one retry)
  const ours = commit.partitions.every((p, i) => p.entry.baseOffset === bases[i]);
  for (const s of commit.shards) {
    const ref = shardRef(s.topicId, s.shard);
    if (!ours) ctx.heads.delete(ref);
    else ctx.heads.set(ref, shardHeadAfter(s.head, partsIn(commit, s)));
  }
  return toResult(req, plan, bases, duplicate);
}

function toResult(req: ProduceRequest, plan: Plan, bases: readonly number[], duplicate: boolean): ProduceResult {
  return { batches: offsetsOf(req, plan.routing, bases), duplicate };
}

/**
 * The answer of an earlier attempt of this request, from its stored routes and bases: the
 * same request (same hash) routed with the same routes lands in the same chunks.
 */
function replay(stored: StoredProduceResult, plan: Plan, req: ProduceRequest, what: string): ProduceResult {
  if (stored.requestHash !== plan.requestHash) {
    throw new IdempotencyKeyReusedError(`${what} was already used for a different request`);
  }
  const routing = routeCall(req, stored.routes);
  if (routing.chunks.length !== stored.bases.length) {
    throw new InternalError(
      `the stored answer of ${what} has ${stored.bases.length} chunks; the request routes to ${routing.chunks.length}`,
    );
  }
  return { batches: offsetsOf(req, routing, stored.bases), duplicate: true };
}

function storedResultShape(plan: Plan): (bases: readonly number[]) => StoredProduceResult {
  return (bases) => ({ requestHash: plan.requestHash, routes: plan.routes, bases });
}

function buildCommit(
  ctx: LogContext,
  req: ProduceRequest,
  plan: Plan,
  segment: WrittenSegment,
  shards: ShardAppend[],
  stored: (bases: readonly number[]) => StoredProduceResult,
  attempt: number,
  nowMs: number,
): AppendCommit {
  const byRef = new Map(shards.map((s) => [shardRef(s.topicId, s.shard), s.head]));
  const partitions = plan.chunks.map((c, i) => {
    const shardHead = byRef.get(shardRef(c.topic.topicId, headShard(c.partition))) as ShardHead;
    const head = shardHead.heads[shardSlot(c.partition)] as PartitionHead;
    const loc = segment.locations[i] as ChunkLocation;
    const base = head.nextOffset;
    return {
      head,
      chunkBytes: loc.byteLength,
      entry: {
        topicId: c.topic.topicId,
        partition: c.partition,
        baseOffset: base,
        lastOffset: base + c.records.length - 1,
        segmentKey: segment.key,
        byteOffset: loc.byteOffset,
        byteLength: loc.byteLength,
        minTimestamp: loc.minTimestamp,
        maxTimestamp: loc.maxTimestamp,
        maxTimestampSoFar: Math.max(head.maxTimestamp, loc.maxTimestamp),
        appendMs: nowMs,
      },
    };
  });
  const result = stored(partitions.map((p) => p.entry.baseOffset));
  const expiresAtMs = nowMs + ctx.settings.dedupeWindowMs;
  return {
    clientToken: `${segment.id}-${attempt}`,
    nowMs,
    partitions,
    shards,
    segment: { key: segment.key, bytes: segment.bytes, createdMs: segment.createdMs },
    ...(req.idempotencyKey !== undefined
      ? { idempotency: { key: storedKey(req, req.idempotencyKey), expiresAtMs, result } }
      : {}),
    ...(req.producer ? { producer: { ...req.producer, expiresAtMs, result } } : {}),
  };
}

/**
 * The shard heads to CAS against, each once, in first-use order: the cached guess, else a
 * strongly consistent read.
 *
 * The answer is built from local values only. `ctx.heads` is shared by every call in this
 * process; reading it back after the await would race with a concurrent call that deletes
 * or replaces entries in between:
 *
 *   call A: cache miss s0 → getShardHeads(s0) ………… set s0 → read s0 (undefined!)
 *   call B:                 conflict → delete s0 ↑
 */
async function shardHeadsFor(ctx: LogContext, plan: Plan): Promise<ShardAppend[]> {
  const wanted = new Map<string, { topicId: string; shard: number; head: ShardHead | undefined }>();
  for (const c of plan.chunks) {
    const shard = headShard(c.partition);
    const ref = shardRef(c.topic.topicId, shard);
    if (!wanted.has(ref)) wanted.set(ref, { topicId: c.topic.topicId, shard, head: ctx.heads.get(ref) });
  }
  const missing = new Map<string, { ref: string; shard: number }[]>();
  for (const [ref, w] of wanted) {
    if (w.head !== undefined) continue;
    const list = missing.get(w.topicId) ?? [];
    list.push({ ref, shard: w.shard });
    missing.set(w.topicId, list);
  }
  await Promise.all(
    [...missing].map(async ([topicId, list]) => {
      const read = await ctx.metadata.getShardHeads(
        topicId,
        list.map((m) => m.shard),
      );
      list.forEach((m, i) => {
        const head = read[i];
        if (!head) throw new InternalError(`getShardHeads returned no head for ${topicId}/${m.shard}`);
        (wanted.get(m.ref) as { head: ShardHead | undefined }).head = head;
        ctx.heads.set(m.ref, head);
      });
    }),
  );
  return [...wanted.values()].map((w) => ({ topicId: w.topicId, shard: w.shard, head: w.head as ShardHead }));
}

async function writeSegment(ctx: LogContext, plan: Plan): Promise<WrittenSegment> {
  const createdMs = ctx.clock.nowMs();
  const id = ulid(createdMs, ctx.random);
  const key = segmentObjectKey(id, createdMs);
  const { bytes, chunks } = encodeSegment(
    plan.chunks.map((c) => ({ topicId: c.topic.topicId, partition: c.partition, records: c.records })),
    ctx.settings.codec,
  );
  // 'exists' can only be our own earlier attempt at this fresh key (80 random bits).
  await ctx.objects.putIfAbsent(key, bytes);
  return { key, id, bytes: bytes.byteLength, createdMs, locations: chunks };
}

function jitterMs(ctx: LogContext, attempt: number): number {
  const cap = Math.min(200, 5 * 2 ** Math.min(attempt, 6));
  const r = ctx.random.bytes(2);
  return (((r[0] as number) << 8) | (r[1] as number)) % (cap + 1);
}

/** Partitions the call, groups records into chunks and hashes the canonical request. */
async function planCall(ctx: LogContext, req: ProduceRequest, nowMs: number): Promise<Plan> {
  const topicsByName = new Map<string, TopicRecord>();
  for (const b of req.batches) {
    let maxExplicit = -1;
    for (const r of b.records) if (r.partition !== undefined && r.partition > maxExplicit) maxExplicit = r.partition;
    const topic =
      maxExplicit >= 0 ? await ctx.topics.getWithPartition(b.topic, maxExplicit) : await ctx.topics.get(b.topic);
    if (maxExplicit >= topic.partitions) throw new PartitionNotFoundError(b.topic, maxExplicit, topic.partitions);
    topicsByName.set(b.topic, topic);
  }
  const sticky = ctx.sticky++;
  const routes = [...topicsByName.values()].map((t) => ({
    topic: t.name,
    partitions: t.partitions,
    sticky: sticky % t.partitions,
  }));
  const routing = routeCall(req, routes);
  const budget = new CommitBudget();
  const chunks: PlannedChunk[] = routing.chunks.map((c, i) => {
    const topic = topicsByName.get(c.topic) as TopicRecord;
    if (i >= ctx.settings.maxPartitionsPerCall) {
      throw new InvalidArgumentError(
        `one produce call may touch at most ${ctx.settings.maxPartitionsPerCall} partitions (it is one atomic transaction); split the call`,
        'TOO_MANY_PARTITIONS',
      );
    }
    const items = budget.itemsWith(topic.topicId, c.partition);
    if (items > MAX_COMMIT_ITEMS) {
      throw new InvalidArgumentError(
        `this call needs a transaction of ${items} items (DynamoDB allows ${MAX_COMMIT_ITEMS}: 2 per ${HEAD_SHARD_SIZE} partitions of a topic it touches, 2 more); touch fewer partitions`,
        'TOO_MANY_PARTITIONS',
      );
    }
    budget.add(topic.topicId, c.partition);
    return { topic, partition: c.partition, records: [] };
  });
  let i = 0;
  for (const b of req.batches) {
    for (const r of b.records) {
      (chunks[routing.order[i++] as number] as PlannedChunk).records.push({
        key: r.key ?? null,
        value: r.value,
        headers: r.headers ?? [],
        timestamp: r.timestamp ?? nowMs,
      });
    }
  }
  // the hash identifies a request for dedupe; calls without a key or sequence skip it
  const deduped = req.idempotencyKey !== undefined || req.producer !== undefined;
  return {
    chunks,
    routing,
    routes,
    topics: [...topicsByName.values()],
    requestHash: deduped ? hashRequest(req) : '',
  };
}

/** sha256 of the canonical request: what the caller sent, not what the server added. */
function hashRequest(req: ProduceRequest): string {
  const h = createHash('sha256');
  const u32 = Buffer.alloc(4);
  const num = (n: number) => h.update(`${n};`);
  const bytes = (b: Uint8Array | null | undefined) => {
    if (b === null || b === undefined) return h.update('n;');
    u32.writeUInt32BE(b.byteLength);
    h.update(u32);
    h.update(b);
  };
  num(req.batches.length);
  for (const b of req.batches) {
    h.update(`${b.topic};`);
    num(b.records.length);
    for (const r of b.records) {
      num(r.partition ?? -1);
      num(r.timestamp ?? -1);
      bytes(r.key);
      bytes(r.value);
      num(r.headers?.length ?? 0);
      for (const [name, value] of r.headers ?? []) {
        h.update(`${name.length}:${name};`);
        bytes(value);
      }
    }
  }
  return h.digest('base64');
}

/** Rejects bad input with a precise message; nothing is written. */
function validateRequest(ctx: LogContext, req: ProduceRequest): void {
  const s = ctx.settings;
  if (!Array.isArray(req.batches) || req.batches.length === 0) {
    throw new InvalidArgumentError('a produce call needs at least one batch of records');
  }
  if (req.idempotencyKey !== undefined) {
    const problem = idempotencyKeyProblem(req.idempotencyKey);
    if (problem) throw new InvalidArgumentError(problem);
  }
  if (req.producer) {
    const problem = idempotencyKeyProblem(req.producer.producerId, 'producer id');
    if (problem) throw new InvalidArgumentError(problem);
    if (!Number.isSafeInteger(req.producer.sequence) || req.producer.sequence < 0) {
      throw new InvalidArgumentError(`producer sequence ${req.producer.sequence} must be a non-negative integer`);
    }
    if (req.idempotencyKey !== undefined) {
      throw new InvalidArgumentError('use either an idempotency key or a producer sequence, not both');
    }
  }
  // the log's settings are its limits (ProduceLimits is a part of them)
  let count = 0;
  let bytes = 0;
  for (const b of req.batches) {
    if (typeof b !== 'object' || b === null) throw new InvalidArgumentError('each batch must be { topic, records }');
    if (!Array.isArray(b.records) || b.records.length === 0) {
      throw new InvalidArgumentError(`batch for topic "${b.topic}" has no records`);
    }
    b.records.forEach((r: ProduceRecord, i: number) => {
      bytes += checkRecord(r, s, `record ${count + i} (topic "${b.topic}")`);
    });
    count += b.records.length;
  }
  checkCallTotals(count, bytes, s);
}
