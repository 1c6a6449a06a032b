import {
  CallCache,
  callsOf,
  EMPTY_SHARD_HEAD,
  findChunks,
  partsIn,
  sameShardHead,
  shardHeadAfter,
  shardHeadAfterMoves,
  shardOfMoves,
  shardSlot,
} from './call-index';
import { HEAD_SHARD_SIZE, headShard, keys } from './layout';
import {
  type AppendCommit,
  type CallRecord,
  type CallRef,
  type CommitOutcome,
  callRefKey,
  emptyProducer,
  type IdempotencyRecord,
  type IndexEntry,
  type LogMetadataStore,
  type PartitionHead,
  PRODUCER_RESULT_SLOTS,
  type ProducerRecord,
  RELEASE_BATCH_MAX,
  type ReleaseBatch,
  type SegmentFile,
  type ShardHead,
  type StartOffsetMove,
  shardRef,
  type TopicRecord,
} from './ports';

/** How long DynamoDB remembers a transaction's ClientRequestToken. */
const TOKEN_WINDOW_MS = 10 * 60 * 1000;

/**
 * In-memory `LogMetadataStore` with the same semantics as `DynamoLogMetadataStore`: the
 * same conditions, the same all-or-nothing commit, the same rejection reports. It exists
 * for fast unit tests and simulations; the contract suite keeps it honest.
 */
export class MemoryLogMetadataStore implements LogMetadataStore {
  private readonly topics = new Map<string, TopicRecord>();
  private readonly shardHeads = new Map<string, ShardHead>();
  /** Call items per shard, by sequence. */
  private readonly calls = new Map<string, CallRecord[]>();
  private readonly callCache = new CallCache();
  private readonly files = new Map<string, SegmentFile>();
  private readonly idempotency = new Map<string, IdempotencyRecord>();
  private readonly producers = new Map<string, ProducerRecord>();
  private readonly tokens = new Map<string, number>();
  /** Topic ids deleted and awaiting data purge. */
  readonly deletedTopics = new Map<string, { name: string; partitions: number; deletedMs: number }>();

  async createTopic(topic: TopicRecord): Promise<'created' | 'exists'> {
    if (this.topics.has(topic.name)) return 'exists';
    this.topics.set(topic.name, { ...topic });
    this.addHeadShards(topic.topicId, 0, topic.partitions);
    return 'created';
  }

  async getTopic(name: string): Promise<TopicRecord | undefined> {
    const t = this.topics.get(name);
    return t ? { ...t } : undefined;
  }

  async listTopics(): Promise<TopicRecord[]> {
    return [...this.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((t) => ({ ...t }));
  }

  async setPartitionCount(name: string, topicId: string, from: number, to: number): Promise<'ok' | 'conflict'> {
    const t = this.topics.get(name);
    if (!t || t.topicId !== topicId || t.partitions !== from) return 'conflict';
    this.topics.set(name, { ...t, partitions: to });
    this.addHeadShards(topicId, from, to);
    return 'ok';
  }

  async setRetention(
    name: string,
    topicId: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<'ok' | 'conflict'> {
    const t = this.topics.get(name);
    if (!t || t.topicId !== topicId) return 'conflict';
    this.topics.set(name, { ...t, ...retention });
    return 'ok';
  }

  async deleteTopic(name: string, topicId: string, nowMs: number): Promise<'deleted' | 'not-found'> {
    const t = this.topics.get(name);
    if (!t || t.topicId !== topicId) return 'not-found';
    this.topics.delete(name);
    for (let s = 0; s * HEAD_SHARD_SIZE < t.partitions; s++) this.shardHeads.delete(shardRef(topicId, s));
    this.deletedTopics.set(topicId, { name, partitions: t.partitions, deletedMs: nowMs });
    return 'deleted';
  }

  /** The head shards partitions `from … to − 1` add, at call sequence 0 (as the topic item's write creates them). */
  private addHeadShards(topicId: string, from: number, to: number): void {
    for (let s = Math.ceil(from / HEAD_SHARD_SIZE); s * HEAD_SHARD_SIZE < to; s++) {
      if (!this.shardHeads.has(shardRef(topicId, s))) this.shardHeads.set(shardRef(topicId, s), EMPTY_SHARD_HEAD);
    }
  }

  async getHeads(topicId: string, partitions: readonly number[]): Promise<PartitionHead[]> {
    return partitions.map((p) => ({ ...(this.shardHead(topicId, headShard(p)).heads[shardSlot(p)] as PartitionHead) }));
  }

  async getShardHeads(topicId: string, shards: readonly number[]): Promise<ShardHead[]> {
    return shards.map((s) => this.shardHead(topicId, s));
  }

  private shardHead(topicId: string, shard: number): ShardHead {
    const h = this.shardHeads.get(shardRef(topicId, shard)) ?? EMPTY_SHARD_HEAD;
    return { seq: h.seq, heads: h.heads.map((x) => ({ ...x })) };
  }

  queryIndex(
    topicId: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
    limit: number,
  ): Promise<IndexEntry[]> {
    return findChunks(this, this.callCache, topicId, partition, fromOffset, toOffset, limit);
  }

  cachedChunksOf(segmentKey: string): IndexEntry[] {
    return this.callCache.chunksOf(segmentKey);
  }

  async readCalls(topicId: string, shard: number, afterSeq: number, limit: number): Promise<CallRecord[]> {
    const all = this.calls.get(shardRef(topicId, shard)) ?? [];
    return all.filter((c) => c.seq > afterSeq).slice(0, Math.max(0, limit));
  }

  async newestCall(topicId: string, shard: number): Promise<CallRecord | undefined> {
    return (this.calls.get(shardRef(topicId, shard)) ?? []).at(-1);
  }

  async commitAppend(c: AppendCommit): Promise<CommitOutcome> {
    // DynamoDB's ClientRequestToken: a repeat within 10 minutes of an applied transaction
    // succeeds again without applying it twice.
    const applied = this.tokens.get(c.clientToken);
    if (applied !== undefined && c.nowMs - applied < TOKEN_WINDOW_MS) return { kind: 'committed' };
    const movedShards = new Map<string, ShardHead>();
    const goneTopics: string[] = [];
    const transactionConflict = false;
    for (const s of c.shards) {
      // no head shard: the topic was deleted (with its heads) or re-created (new id)
      if (!this.shardHeads.has(shardRef(s.topicId, s.shard))) {
        if (!goneTopics.includes(s.topicId)) goneTopics.push(s.topicId);
        continue;
      }
      // the CAS: nothing committed to the shard and no trim of it since its head was read
      const current = this.shardHead(s.topicId, s.shard);
      if (!sameShardHead(current, s.head)) movedShards.set(shardRef(s.topicId, s.shard), current);
    }
    const existingFile = this.files.get(c.segment.key);
    const liveKey = c.idempotency ? this.liveIdempotency(c.idempotency.key, c.nowMs) : undefined;
    let producerRejected: ProducerRecord | undefined;
    if (c.producer) {
      const cur = this.liveProducer(c.producer.producerId, c.nowMs);
      const ok = cur ? cur.nextSequence === c.producer.sequence : c.producer.sequence === 0;
      // An expired record reads as absent (TTL deletion is lazy in DynamoDB too).
      if (!ok) producerRejected = cur ?? emptyProducer(c.producer.producerId);
    }
    if (
      movedShards.size > 0 ||
      goneTopics.length > 0 ||
      transactionConflict ||
      existingFile ||
      liveKey ||
      producerRejected
    ) {
      return {
        kind: 'rejected',
        movedShards,
        goneTopics,
        transactionConflict,
        ...(existingFile ? { segmentFile: { ...existingFile } } : {}),
        ...(liveKey ? { idempotency: liveKey } : {}),
        ...(producerRejected ? { producer: producerRejected } : {}),
      };
    }
    // all conditions hold: apply everything
    const calls = callsOf(c);
    c.shards.forEach((s, i) => {
      const ref = shardRef(s.topicId, s.shard);
      const current = this.shardHead(s.topicId, s.shard);
      this.shardHeads.set(ref, shardHeadAfter(current, partsIn(c, s)));
      const list = this.calls.get(ref) ?? [];
      list.push(calls[i] as CallRecord);
      this.calls.set(ref, list);
    });
    this.files.set(c.segment.key, {
      segmentKey: c.segment.key,
      state: 'committed',
      calls: calls.map((x) => ({ topicId: x.topicId, shard: x.shard, seq: x.seq })),
      bytes: c.segment.bytes,
      createdMs: c.segment.createdMs,
      bases: c.partitions.map((p) => p.entry.baseOffset),
    });
    if (c.idempotency) {
      this.idempotency.set(c.idempotency.key, {
        key: c.idempotency.key,
        expiresAtMs: c.idempotency.expiresAtMs,
        ...c.idempotency.result,
      });
    }
    if (c.producer) {
      const prev = this.liveProducer(c.producer.producerId, c.nowMs);
      const recent = prev ? [...prev.recent] : [];
      const slot = c.producer.sequence % PRODUCER_RESULT_SLOTS;
      const kept = recent.filter((r) => r.sequence % PRODUCER_RESULT_SLOTS !== slot);
      kept.push({ sequence: c.producer.sequence, ...c.producer.result });
      this.producers.set(c.producer.producerId, {
        producerId: c.producer.producerId,
        nextSequence: c.producer.sequence + 1,
        recent: kept.sort((a, b) => a.sequence - b.sequence),
        expiresAtMs: c.producer.expiresAtMs,
      });
    }
    this.tokens.set(c.clientToken, c.nowMs);
    return { kind: 'committed' };
  }

  async getSegmentFiles(segmentKeys: readonly string[]): Promise<Map<string, SegmentFile>> {
    const out = new Map<string, SegmentFile>();
    for (const k of segmentKeys) {
      const f = await this.getSegmentFile(k);
      if (f) out.set(k, f);
    }
    return out;
  }

  async getSegmentFile(segmentKey: string): Promise<SegmentFile | undefined> {
    const f = this.files.get(segmentKey);
    return f ? { ...f } : undefined;
  }

  async fenceSegment(
    segmentKey: string,
    nowMs: number,
  ): Promise<{ fenced: true } | { fenced: false; file: SegmentFile }> {
    const f = this.files.get(segmentKey);
    if (f) return { fenced: false, file: { ...f } };
    this.files.set(segmentKey, {
      segmentKey,
      state: 'aborted',
      calls: [],
      bytes: 0,
      createdMs: nowMs,
      bases: [],
    });
    return { fenced: true };
  }

  async getIdempotency(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    return this.liveIdempotency(key, nowMs);
  }

  async getProducer(producerId: string, nowMs: number): Promise<ProducerRecord | undefined> {
    return this.liveProducer(producerId, nowMs);
  }

  async advanceStartOffsets(topicId: string, moves: readonly StartOffsetMove[]): Promise<'ok' | 'conflict'> {
    const shardNo = shardOfMoves(moves);
    if (shardNo === 'conflict') return 'conflict';
    const after = shardHeadAfterMoves(this.shardHead(topicId, shardNo), moves);
    if (after === 'conflict') return 'conflict';
    this.shardHeads.set(shardRef(topicId, shardNo), after);
    return 'ok';
  }

  async releaseCalls(topicId: string, shard: number, seqs: readonly number[]): Promise<void> {
    const list = this.calls.get(shardRef(topicId, shard)) ?? [];
    const gone = new Set(seqs);
    this.calls.set(
      shardRef(topicId, shard),
      list.filter((c) => !gone.has(c.seq)),
    );
  }

  async existingCalls(calls: readonly CallRef[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const c of calls) {
      if ((this.calls.get(shardRef(c.topicId, c.shard)) ?? []).some((x) => x.seq === c.seq)) out.add(callRefKey(c));
    }
    return out;
  }

  async deleteHeads(topicId: string, partitions: number): Promise<void> {
    for (let s = 0; s * HEAD_SHARD_SIZE < partitions; s++) this.shardHeads.delete(shardRef(topicId, s));
  }

  async listDeletedTopics() {
    return [...this.deletedTopics].map(([topicId, t]) => ({ topicId, ...t }));
  }

  async finishTopicPurge(topicId: string): Promise<void> {
    this.deletedTopics.delete(topicId);
  }

  private readonly cursors = new Map<string, string>();

  async readJobCursor(name: string): Promise<string | undefined> {
    return this.cursors.get(name);
  }

  async writeJobCursor(name: string, cursor: string | undefined): Promise<void> {
    if (cursor === undefined) this.cursors.delete(name);
    else this.cursors.set(name, cursor);
  }

  async deleteSegmentFiles(segmentKeys: readonly string[]): Promise<void> {
    for (const k of segmentKeys) this.files.delete(k);
  }

  private readonly releases = new Map<string, ReleaseBatch>();

  async queueRelease(id: string, atMs: number, segmentKeys: readonly string[]): Promise<void> {
    if (segmentKeys.length === 0) return;
    if (segmentKeys.length > RELEASE_BATCH_MAX)
      throw new RangeError(`a release batch holds at most ${RELEASE_BATCH_MAX} keys`);
    const ref = keys.releaseBatch(atMs, id).sk;
    this.releases.set(ref, { ref, atMs, segmentKeys: [...segmentKeys] });
  }

  async readReleases(beforeMs: number, limit: number): Promise<ReleaseBatch[]> {
    return [...this.releases.values()]
      .filter((b) => b.atMs < beforeMs)
      .sort((a, b) => (a.ref < b.ref ? -1 : 1))
      .slice(0, limit)
      .map((b) => ({ ...b, segmentKeys: [...b.segmentKeys] }));
  }

  async deleteReleases(refs: readonly string[]): Promise<void> {
    for (const r of refs) this.releases.delete(r);
  }

  private liveIdempotency(key: string, nowMs: number): IdempotencyRecord | undefined {
    const r = this.idempotency.get(key);
    return r && r.expiresAtMs >= nowMs ? { ...r } : undefined;
  }

  private liveProducer(producerId: string, nowMs: number): ProducerRecord | undefined {
    const r = this.producers.get(producerId);
    return r && r.expiresAtMs >= nowMs ? { ...r, recent: [...r.recent] } : undefined;
  }
}
