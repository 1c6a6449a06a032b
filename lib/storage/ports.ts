/**
 * Storage ports. They speak the log's semantics (put-if-absent, advance a head, fence a
 * segment), not a datastore's. Adapters are named after their technology: `S3ObjectStore`,
 * `DynamoLogMetadataStore`, and the in-memory fakes `MemoryObjectStore`,
 * `MemoryLogMetadataStore`, which pass the same contract suite (test/contract/).
 *
 * Errors: adapters translate vendor errors into `lib/errors` (throttling and 5xx become
 * retriable `RetriableError`s). Expected outcomes (object exists, condition failed) are
 * return values.
 */

import type { AclRecord, QuotaRecord } from '../access/model';

/** One object in a listing. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

/** Immutable objects: S3 in production. */
export interface ObjectStore {
  /**
   * Creates `key` with `bytes` only if no object of that key exists (S3 `If-None-Match: *`).
   * `'exists'` means an object was already there (for Sluice's unique keys: our own
   * earlier attempt whose response was lost); it is never overwritten.
   */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<'created' | 'exists'>;
  /** Bytes `[start, end)` of the object, or `undefined` if the object does not exist. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined>;
  /** The whole object, or `undefined` if it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** One page of keys under `prefix` in key order, after `startAfter`. */
  list(
    prefix: string,
    options?: { startAfter?: string; limit?: number },
  ): Promise<{ objects: ObjectInfo[]; nextStartAfter?: string }>;
  /** Deletes the keys (missing keys are not an error). */
  deleteMany(keys: readonly string[]): Promise<void>;
}

/** An object deleted in a versioned bucket: its delete marker hides the version before it. */
export interface DeletedObject {
  readonly key: string;
  readonly deletedMs: number;
  /** The delete marker's version id: deleting the marker brings the object back. */
  readonly markerVersionId: string;
}

/** The deleted objects a versioned bucket still keeps (until its noncurrent versions expire). */
export interface ObjectHistory {
  /** One page of objects under `prefix` whose current version is a delete marker made at or after `sinceMs`. */
  deletedSince(
    prefix: string,
    sinceMs: number,
    options?: { after?: { key: string; versionId: string }; limit?: number },
  ): Promise<{ deleted: DeletedObject[]; next?: { key: string; versionId: string } }>;
  /** Brings the objects back (removes their delete markers). */
  undelete(objects: readonly DeletedObject[]): Promise<void>;
}

/** A topic's metadata item. */
export interface TopicRecord {
  readonly name: string;
  /** New on every create: a re-created name is a new topic and never sees old data. */
  readonly topicId: string;
  readonly partitions: number;
  readonly retentionMs: number | null;
  readonly retentionBytes: number | null;
  readonly createdMs: number;
}

/** A partition's head: the sequencer state. Missing head = empty partition (all zero). */
export interface PartitionHead {
  /** The high watermark: next offset to assign. */
  readonly nextOffset: number;
  /** First readable offset (moved forward only by retention). */
  readonly startOffset: number;
  /** Bytes of chunk data appended (minus what retention removed). */
  readonly bytes: number;
  /** Running maximum of record timestamps; -1 when empty. Monotonic by construction. */
  readonly maxTimestamp: number;
}

/** The head of a partition that has never been written. */
export const EMPTY_HEAD: PartitionHead = {
  nextOffset: 0,
  startOffset: 0,
  bytes: 0,
  maxTimestamp: -1,
};

/**
 * The heads of one head shard (partitions `48·shard … 48·shard + 47`, `HEAD_SHARD_SIZE`) and
 * its call sequence. Every commit to the shard writes call item `seq` and moves `seq` by one
 * (compare-and-set), so the shard's call items are dense and ordered, and the call item
 * records the head of every partition of the shard after it. Missing = all empty, `seq` 0.
 */
export interface ShardHead {
  /** The number of calls committed to the shard: the next call item's sequence. */
  readonly seq: number;
  /** Heads by partition − 48·shard (always `HEAD_SHARD_SIZE` of them). */
  readonly heads: readonly PartitionHead[];
}

/**
 * One index entry (one chunk of one call item): where the records `[baseOffset, lastOffset]`
 * of a partition live.
 */
export interface IndexEntry {
  readonly topicId: string;
  readonly partition: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly segmentKey: string;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
  /** Running max of timestamps up to and including this entry (for offsets-for-time). */
  readonly maxTimestampSoFar: number;
  readonly appendMs: number;
}

/**
 * One call item: what one produce call committed to one head shard — the segment, the
 * chunks of the shard's partitions it holds, and every partition's next offset after it.
 * The index of a partition is the sequence of its chunks in the call items of its shard.
 */
export interface CallRecord {
  readonly topicId: string;
  readonly shard: number;
  readonly seq: number;
  readonly segmentKey: string;
  readonly appendMs: number;
  /** Next offset of each partition of the shard after this call (by partition − 48·shard). */
  readonly nexts: readonly number[];
  /** The call's chunks in this shard, by partition. */
  readonly chunks: readonly IndexEntry[];
}

/** Which call item: a topic's head shard and the call's sequence in it. */
export interface CallRef {
  readonly topicId: string;
  readonly shard: number;
  readonly seq: number;
}

/** A segment object's bookkeeping item: the fence between commit and GC. */
export interface SegmentFile {
  readonly segmentKey: string;
  /** committed: referenced by call items; aborted: fenced, may never be committed. */
  readonly state: 'committed' | 'aborted';
  /**
   * For committed segments: the call items the commit wrote (one per head shard it touched).
   * Written once, never counted down: the object may go once none of them exists.
   */
  readonly calls: readonly CallRef[];
  readonly bytes: number;
  readonly createdMs: number;
  /** For committed segments: base offset of each chunk, in commit order. */
  readonly bases: readonly number[];
}

/** How the records of one topic were routed in a produce call (`lib/log/routing.ts`). */
export interface TopicRoute {
  readonly topic: string;
  /** The topic's partition count when the call was planned (keys hash modulo this). */
  readonly partitions: number;
  /** The partition of the call's records with a null key and no explicit partition. */
  readonly sticky: number;
}

/** The stored answer of an idempotent produce call. */
export interface StoredProduceResult {
  /** sha256 of the canonical request; a retry must match it. */
  readonly requestHash: string;
  /** How each topic of the call was routed: a retry of the same request routes to the same chunks. */
  readonly routes: readonly TopicRoute[];
  /** Base offset of each chunk, in the order routing the request gives them (`routeCall`). */
  readonly bases: readonly number[];
}

/** Dedupe state for an idempotency key. */
export interface IdempotencyRecord extends StoredProduceResult {
  readonly key: string;
  readonly expiresAtMs: number;
}

/** Dedupe state of an idempotent producer: its next sequence and recent answers. */
export interface ProducerRecord {
  readonly producerId: string;
  readonly nextSequence: number;
  /** Answers of recent sequences, by `sequence % PRODUCER_RESULT_SLOTS`. */
  readonly recent: readonly (StoredProduceResult & { sequence: number })[];
  readonly expiresAtMs: number;
}

/** The state of a producer with no live record: it must start at sequence 0. */
export function emptyProducer(producerId: string): ProducerRecord {
  return { producerId, nextSequence: 0, recent: [], expiresAtMs: 0 };
}

/**
 * How many recent answers a producer record keeps. An idempotent producer has one call in
 * flight (commits are in sequence order), so only its latest sequence can be retried; the
 * second slot answers a retry that races the next call's first attempt. An older sequence is
 * answered with OUT_OF_ORDER_SEQUENCE (nothing written). Every commit rewrites the record, so
 * each slot is paid for on every call.
 */
export const PRODUCER_RESULT_SLOTS = 2;

/** One partition's part of a commit. */
export interface PartitionAppend {
  /** The head this commit was computed from (`entry.baseOffset` is its `nextOffset`). */
  readonly head: PartitionHead;
  readonly entry: IndexEntry;
  readonly chunkBytes: number;
}

/** One head shard's part of a commit: the CAS expects `head.seq`. */
export interface ShardAppend {
  readonly topicId: string;
  readonly shard: number;
  /** The shard head every partition of the commit in this shard was computed from. */
  readonly head: ShardHead;
}

/** Everything one produce call commits in one transaction. */
export interface AppendCommit {
  /** Deterministic per attempt (≤ 36 chars), so SDK retries of an attempt are idempotent. */
  readonly clientToken: string;
  readonly nowMs: number;
  readonly partitions: readonly PartitionAppend[];
  /** Every head shard the partitions fall in, each once. */
  readonly shards: readonly ShardAppend[];
  readonly segment: { key: string; bytes: number; createdMs: number };
  readonly idempotency?: { key: string; expiresAtMs: number; result: StoredProduceResult };
  readonly producer?: {
    producerId: string;
    sequence: number;
    expiresAtMs: number;
    result: StoredProduceResult;
  };
}

/**
 * Why a commit was rejected. Every field reports a failed condition (with the item's
 * current state where the store returns it); several can be set at once.
 */
export interface CommitRejection {
  readonly kind: 'rejected';
  /** Fresh heads of shards whose `seq` moved (key: `shardRef(topicId, shard)`). */
  readonly movedShards: ReadonlyMap<string, ShardHead>;
  /** Topic ids that are gone or were re-created (their head shards no longer exist). */
  readonly goneTopics: readonly string[];
  /** The segment-file item already existed (ours, committed; or fenced by GC/abort). */
  readonly segmentFile?: SegmentFile;
  /** The idempotency key is live (a duplicate). */
  readonly idempotency?: IdempotencyRecord;
  /** The producer sequence was not the expected one. */
  readonly producer?: ProducerRecord;
  /** A concurrent transaction touched an item; retry after refreshing. */
  readonly transactionConflict: boolean;
}

/** The outcome of a commit attempt that reached the store. */
export type CommitOutcome = { readonly kind: 'committed' } | CommitRejection;

/** Key of a partition in maps: `${topicId}#${partition}`. */
export function partitionRef(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}

/** Key of a call item in sets: `${topicId}#${shard}#${seq}`. */
export function callRefKey(c: CallRef): string {
  return `${c.topicId}#${c.shard}#${c.seq}`;
}

/** Key of a head shard in maps: `${topicId}#s${shard}`. */
export function shardRef(topicId: string, shard: number): string {
  return `${topicId}#s${shard}`;
}

/** The topic catalogue: names, ids, partition counts, retention, deletion and purge records. */
export interface TopicCatalog {
  /**
   * Creates the topic iff no topic of that name exists, with its head shards (commits
   * require them: deleting them with the topic is what stops writes to a deleted topic);
   * `'exists'` otherwise.
   */
  createTopic(topic: TopicRecord): Promise<'created' | 'exists'>;
  /** The topic, or undefined. */
  getTopic(name: string): Promise<TopicRecord | undefined>;
  /** All topics, sorted by name. */
  listTopics(): Promise<TopicRecord[]>;
  /**
   * Grows the partition count from `from` to `to`. `'conflict'` if the topic is gone,
   * re-created, or no longer has `from` partitions.
   */
  setPartitionCount(name: string, topicId: string, from: number, to: number): Promise<'ok' | 'conflict'>;
  /** Changes a topic's retention (iff its id is still `topicId`). */
  setRetention(
    name: string,
    topicId: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<'ok' | 'conflict'>;
  /** Removes the topic and its head shards (iff its id is `topicId`) and records it for data purge. */
  deleteTopic(name: string, topicId: string, nowMs: number): Promise<'deleted' | 'not-found'>;
  /** Deleted topics whose data is still to be purged. */
  listDeletedTopics(): Promise<{ topicId: string; name: string; partitions: number; deletedMs: number }[]>;
  /** Forgets a deleted topic once its data is purged. */
  finishTopicPurge(topicId: string): Promise<void>;
}

/** Head shards, the index (call items), and the one commit that appends to them. */
export interface PartitionLog {
  /**
   * Heads of the given partitions of one topic (missing = EMPTY_HEAD), strongly consistent
   * unless `consistent` is false: then possibly stale, for half the read units — only for
   * callers a stale head merely delays (a long-poll waiting for new records).
   */
  getHeads(topicId: string, partitions: readonly number[], consistent?: boolean): Promise<PartitionHead[]>;
  /** Shard heads of one topic (missing = empty), strongly consistent. */
  getShardHeads(topicId: string, shards: readonly number[]): Promise<ShardHead[]>;
  /**
   * Index entries of a partition whose `lastOffset` is in `[fromOffset, toOffset]`, in
   * offset order, strongly consistent; at most `limit`. Call items are immutable, so the
   * adapter caches recent ones: one that retention has released since may still be answered.
   * Callers ask from at or above the start offset they read, below which every released call
   * item lies, so they never see one.
   */
  queryIndex(
    topicId: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
    limit: number,
  ): Promise<IndexEntry[]>;
  /**
   * The chunks of a segment's call items this adapter happens to have cached (none if it has
   * none; no request is made): they let a reader that fetches several partitions get their
   * chunks of one object with one GET.
   */
  cachedChunksOf(segmentKey: string): readonly IndexEntry[];
  /** Call items of a shard with `seq > afterSeq`, oldest first, strongly consistent; at most `limit`. */
  readCalls(topicId: string, shard: number, afterSeq: number, limit: number): Promise<CallRecord[]>;
  /** The one atomic commit of a produce call (see the adapter for the exact conditions). */
  commitAppend(commit: AppendCommit): Promise<CommitOutcome>;
  /** Removes the heads of partitions `0 … partitions − 1` (topic purge). */
  deleteHeads(topicId: string, partitions: number): Promise<void>;
}

/** Most segment keys one release batch holds (about 60 bytes each; an item holds 400 KB). */
export const RELEASE_BATCH_MAX = 5000;

/** The segment-file items: reference counts and the fence that settles every commit. */
export interface SegmentFiles {
  /** The segment-file item, strongly consistent. */
  getSegmentFile(segmentKey: string): Promise<SegmentFile | undefined>;
  /**
   * Segment-file items of many segments (absent keys have none), possibly stale unless
   * `consistent`: GC's orphan sweep may use a stale answer because it errs only towards
   * keeping — references only ever fall after a commit, and a missing item is settled by the
   * fence, not by this read.
   */
  getSegmentFiles(segmentKeys: readonly string[], consistent?: boolean): Promise<Map<string, SegmentFile>>;
  /**
   * Marks a segment aborted iff it has no segment-file item yet; after this no commit can
   * reference it. Returns the existing item if there was one.
   */
  fenceSegment(segmentKey: string, nowMs: number): Promise<{ fenced: true } | { fenced: false; file: SegmentFile }>;
  /** Which of `calls` still exist, strongly consistent (as `callRefKey`s). */
  existingCalls(calls: readonly CallRef[]): Promise<Set<string>>;
  /** Forgets committed segments' items once their objects are deleted. */
  deleteSegmentFiles(segmentKeys: readonly string[]): Promise<void>;
}

/** What idempotency keys and producer sequences already answered. */
export interface DedupeState {
  /** A live (unexpired at `nowMs`) idempotency record, strongly consistent. */
  getIdempotency(key: string, nowMs: number): Promise<IdempotencyRecord | undefined>;
  /** A live producer record, strongly consistent. */
  getProducer(producerId: string, nowMs: number): Promise<ProducerRecord | undefined>;
}

/** One partition's start offset moving forward (`LogTrim.advanceStartOffsets`). */
export interface StartOffsetMove {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
  readonly bytesRemoved: number;
}

/** Moving the start of a partition and deleting the call items below it (retention, purge). */
export interface LogTrim {
  /**
   * Moves the start offsets of partitions of ONE head shard, all or none, in one
   * conditional write: each from `from` to `to` (`from < to ≤ nextOffset`), subtracting
   * `bytesRemoved`; `'conflict'` if any start offset is no longer its `from`.
   */
  advanceStartOffsets(topicId: string, moves: readonly StartOffsetMove[]): Promise<'ok' | 'conflict'>;
  /**
   * Deletes call items of a shard (batched, unconditional: deleting one already gone is
   * nothing). The caller deletes only items whose every chunk is below its partition's
   * start offset, after queueing their segments for GC.
   */
  releaseCalls(topicId: string, shard: number, seqs: readonly number[]): Promise<void>;
}

/** A batch of segments queued for deletion by the call items that released them. */
export interface ReleaseBatch {
  /** The batch's key (to delete it once done). */
  readonly ref: string;
  readonly atMs: number;
  readonly segmentKeys: readonly string[];
}

/** Where the maintenance job's long passes continue, and the segments it is to delete. */
export interface JobState {
  /**
   * Queues segments whose call items are about to be released (written before the release,
   * so a crash in between loses nothing: GC re-checks each one's references). `id` is unique
   * per batch; at most `RELEASE_BATCH_MAX` keys.
   */
  queueRelease(id: string, atMs: number, segmentKeys: readonly string[]): Promise<void>;
  /** Batches queued before `beforeMs`, oldest first, strongly consistent; at most `limit`. */
  readReleases(beforeMs: number, limit: number): Promise<ReleaseBatch[]>;
  /** Removes handled batches. */
  deleteReleases(refs: readonly string[]): Promise<void>;
  /** Where a long job (the GC listing) continues in its next run; undefined if none. */
  readJobCursor(name: string): Promise<string | undefined>;
  /** Saves (or with undefined, clears) a job cursor. Last writer wins: a cursor is a hint. */
  writeJobCursor(name: string, cursor: string | undefined): Promise<void>;
}

/**
 * Topics, heads, the segment index, segment files, dedupe and job state: DynamoDB in
 * production. Use cases depend on the roles they need; the adapters implement them all.
 */
export interface LogMetadataStore extends TopicCatalog, PartitionLog, SegmentFiles, DedupeState, LogTrim, JobState {}

/** A consumer-group member's registration. */
export interface MemberRecord {
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly lastHeartbeatMs: number;
  readonly sessionTimeoutMs: number;
  /**
   * Partitions (`topic#partition`) this member must not be given now: their handler
   * overran its processing deadline and is still running. Sorted; absent when none.
   */
  readonly stalled?: readonly string[];
}

/** A partition lease: who may consume it, under which fencing epoch, until when. */
export interface LeaseRecord {
  readonly topicId: string;
  readonly partition: number;
  /** null once released. */
  readonly owner: string | null;
  /** Fencing token: grows by one on every acquire. */
  readonly epoch: number;
  readonly expiresAtMs: number;
}

/** A group's committed offset of one partition (the next offset to process). */
export interface CommittedOffsetRecord {
  readonly topicId: string;
  readonly partition: number;
  readonly offset: number;
  /** Lease epoch the commit was made under (0 for an admin reset). */
  readonly epoch: number;
  readonly metadata: string | null;
  readonly committedMs: number;
}

/** One offset commit of a group member, under its lease epoch. */
export interface OffsetCommit {
  readonly topicId: string;
  readonly partition: number;
  readonly memberId: string;
  readonly epoch: number;
  readonly offset: number;
  readonly metadata: string | null;
  readonly nowMs: number;
  /** Gives the lease up in the same write (a dispatcher that delivered all there was). */
  readonly release?: boolean;
}

/** What a commit attempt found. */
export type CommitOffsetOutcome =
  | { readonly status: 'committed' }
  /** The committer does not hold the lease at that epoch: a zombie. */
  | { readonly status: 'fenced'; readonly lease: LeaseRecord | undefined }
  /** A higher offset is already committed; offsets never move backwards. */
  | { readonly status: 'stale'; readonly committed: number };

/** A push subscription's stored definition (`lib/subscriptions`). */
export interface SubscriptionRecord {
  readonly name: string;
  /** The definition, as `lib/subscriptions/definition.ts` serialises it (opaque here). */
  readonly definition: string;
  /** 1 when created, one more on every change: updates compare-and-set it. */
  readonly version: number;
  readonly createdMs: number;
  readonly updatedMs: number;
}

/** Push subscriptions' definitions (each one is a consumer group of the same name). */
export interface SubscriptionCatalog {
  /** Creates the subscription iff none of that name exists. */
  createSubscription(s: SubscriptionRecord): Promise<'created' | 'exists'>;
  /** The subscription, strongly consistent, or undefined. */
  getSubscription(name: string): Promise<SubscriptionRecord | undefined>;
  /** Every subscription, sorted by name. */
  listSubscriptions(): Promise<SubscriptionRecord[]>;
  /** Replaces the subscription iff its version is still `s.version − 1`. */
  updateSubscription(s: SubscriptionRecord): Promise<'ok' | 'conflict'>;
  /** Removes the subscription; false if there was none. */
  deleteSubscription(name: string): Promise<boolean>;
}

/** Members, leases and committed offsets of consumer groups, and subscriptions: DynamoDB in production. */
export interface GroupStore extends SubscriptionCatalog {
  /** Registers or refreshes a member (each member writes only its own item). */
  putMember(group: string, member: MemberRecord, expiresAtMs: number): Promise<void>;
  deleteMember(group: string, memberId: string): Promise<void>;
  /** Everything of a group, strongly consistent (one Query). */
  readGroup(
    group: string,
  ): Promise<{ members: MemberRecord[]; leases: LeaseRecord[]; offsets: CommittedOffsetRecord[] }>;
  /** Takes a lease that is free, expired (by more than the skew bound) or already ours; epoch + 1. */
  acquireLease(
    group: string,
    lease: { topicId: string; partition: number; memberId: string },
    nowMs: number,
    leaseDurationMs: number,
    maxClockSkewMs: number,
  ): Promise<
    | {
        acquired: true;
        lease: LeaseRecord;
        /** The partition's committed offset, read with the lease (absent if never committed). */
        committed?: CommittedOffsetRecord;
      }
    | { acquired: false; lease: LeaseRecord | undefined }
  >;
  /** Extends a lease we hold at `epoch`. */
  renewLease(
    group: string,
    lease: { topicId: string; partition: number; memberId: string; epoch: number },
    nowMs: number,
    leaseDurationMs: number,
  ): Promise<{ renewed: true; lease: LeaseRecord } | { renewed: false; lease: LeaseRecord | undefined }>;
  /** Gives up a lease we hold at `epoch`; false if we no longer held it. */
  releaseLease(
    group: string,
    lease: { topicId: string; partition: number; memberId: string; epoch: number },
  ): Promise<boolean>;
  /** Commits an offset iff `memberId` holds the lease at `epoch`, never backwards. */
  commitOffset(group: string, commit: OffsetCommit): Promise<CommitOffsetOutcome>;
  /** Admin reset: sets offsets unconditionally (the caller checks the group is empty). */
  setOffsets(
    group: string,
    offsets: readonly { topicId: string; partition: number; offset: number }[],
    nowMs: number,
  ): Promise<void>;
  /**
   * Records that `group` uses these topics (idempotent; written on join and reset, not on
   * every heartbeat). The registry is how lag metrics and topic purge find groups.
   */
  registerGroup(group: string, topicIds: readonly string[], nowMs: number): Promise<void>;
  /**
   * Removes `group` from the registry iff it was last registered before `registeredBeforeMs`
   * (a join registering it meanwhile keeps it); true if it removed it. For a group with no
   * items left: nothing to measure or purge.
   */
  unregisterGroup(group: string, registeredBeforeMs: number): Promise<boolean>;
  /**
   * Deletes the lease items of `group` that expired before `expiredBeforeMs` and hold no
   * committed offset (each delete conditional on both: a lease taken meanwhile stays);
   * answers how many it deleted.
   */
  deleteIdleLeases(
    group: string,
    leases: readonly { topicId: string; partition: number }[],
    expiredBeforeMs: number,
  ): Promise<number>;
  /** Every registered group with the topic ids it has used, sorted by name. */
  listGroups(): Promise<{ group: string; topicIds: string[] }[]>;
  /**
   * Topic purge: deletes the group's leases and committed offsets of `topicId` and drops it
   * from the registry. Idempotent; answers how many partitions it forgot (one item each).
   */
  forgetTopic(group: string, topicId: string): Promise<number>;
}

/** The stored ACL entries (`lib/access`): one partition, read whole and cached by the authorizer. */
export interface AccessStore {
  /** Stores the entry iff no entry of its id exists. */
  putAcl(acl: AclRecord): Promise<'created' | 'exists'>;
  /** Every entry, by id. */
  listAcls(): Promise<AclRecord[]>;
  /** Deletes the entry; false if there was none. */
  deleteAcl(id: string): Promise<boolean>;
  /** Stores the quota (replacing the one of its id). */
  putQuota(quota: QuotaRecord): Promise<void>;
  /** Every quota, by id. */
  listQuotas(): Promise<QuotaRecord[]>;
  /** Deletes the quota; false if there was none. */
  deleteQuota(id: string): Promise<boolean>;
  /**
   * Counts one request of `scope` in the second `second`, iff fewer than `limit` were
   * counted in it (one conditional write); false: the limit is reached.
   */
  countRequest(scope: string, second: number, limit: number): Promise<boolean>;
}
