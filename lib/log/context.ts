/**
 * What every log use case runs with: the storage ports, the injected clock and randomness,
 * the settings, and the per-process caches. Built once by `SluiceLog`.
 */
import type { Clock } from '../clock';
import type { KeyedGate } from '../concurrency';
import { InvalidArgumentError, PartitionNotFoundError, TopicNotFoundError } from '../errors';
import type { RandomSource } from '../ids';
import { type LogSettings, topicNameProblem } from '../settings';
import type { LogMetadataStore, ObjectStore, ShardHead, TopicCatalog, TopicRecord } from '../storage/ports';
import type { ChunkCache } from './chunk-cache';
import type { HeadReads } from './head-reads';

/** Dependencies and caches shared by the log's use cases. */
export interface LogContext {
  readonly objects: ObjectStore;
  readonly metadata: LogMetadataStore;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly settings: LogSettings;
  readonly topics: TopicCache;
  /**
   * The last head this process saw per head shard (`shardRef`). A guess for the next
   * commit's CAS: right for a lone writer, corrected by the failed condition (which returns
   * the fresh shard head) otherwise. Never used to answer reads.
   */
  readonly heads: Map<string, ShardHead>;
  readonly chunks: ChunkCache;
  /** Partitions (`partitionRef`) this process fetched, with when it last did: read-ahead targets. */
  readonly readers: Map<string, number>;
  /** Chunks (`ChunkCache.key`) a GET in flight is bringing as read-ahead, and when it lands. */
  readonly inflight: Map<string, Promise<void>>;
  /** Fetches' head reads and long-polls, shared per head shard. */
  readonly headReads: HeadReads;
  /**
   * Commits of this process to one head shard (`shardRef`) go one at a time: concurrent
   * requests sharing a process would only make each other's compare-and-set fail (a charged,
   * wasted transaction each) and could starve one another; other processes still race by CAS.
   */
  readonly commitGate: KeyedGate;
  /** Round-robin counter for the sticky partition of null-key records. */
  sticky: number;
}

/** Topic metadata cached for `topicCacheMs`; safe because commits check the topic id. */
export class TopicCache {
  private readonly entries = new Map<string, { topic: TopicRecord; atMs: number }>();
  private readonly reading = new Map<string, Promise<TopicRecord>>();

  constructor(
    private readonly metadata: Pick<TopicCatalog, 'getTopic'>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /**
   * The topic, from cache if fresh; throws TopicNotFoundError. Concurrent misses share one
   * read (a member starting on 288 partitions reads its topic once).
   */
  async get(name: string, options: { fresh?: boolean } = {}): Promise<TopicRecord> {
    const now = this.clock.nowMs();
    const hit = this.entries.get(name);
    if (hit && !options.fresh && now - hit.atMs < this.ttlMs) return hit.topic;
    // every path that names a topic (bodies of commits, resets, releases ...) meets the one rule
    // here, before a key is built from it: a name DynamoDB cannot key is a 400, never a 500
    const problem = topicNameProblem(name);
    if (problem) throw new InvalidArgumentError(problem, 'INVALID_TOPIC_NAME');
    const pending = this.reading.get(name);
    if (pending && !options.fresh) return pending;
    const read = this.read(name, now);
    this.reading.set(name, read);
    try {
      return await read;
    } finally {
      if (this.reading.get(name) === read) this.reading.delete(name);
    }
  }

  private async read(name: string, now: number): Promise<TopicRecord> {
    const topic = await this.metadata.getTopic(name);
    if (!topic) {
      this.entries.delete(name);
      throw new TopicNotFoundError(name);
    }
    this.entries.set(name, { topic, atMs: now });
    return topic;
  }

  /** The topic, re-read if `partition` is beyond the cached count; throws if it does not exist. */
  async getWithPartition(name: string, partition: number): Promise<TopicRecord> {
    let topic = await this.get(name);
    if (partition >= topic.partitions) topic = await this.get(name, { fresh: true });
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
      throw new PartitionNotFoundError(name, partition, topic.partitions);
    }
    return topic;
  }

  /** Forgets a topic (after it was found deleted or changed). */
  invalidate(name: string): void {
    this.entries.delete(name);
  }
}
