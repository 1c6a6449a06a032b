/**
 * `SluiceLog`: the log's use cases over injected storage, clock and randomness. This is
 * what the HTTP app, the direct-mode client and the CLI call.
 */
import { type Clock, systemClock } from '../clock';
import { KeyedGate } from '../concurrency';
import { ConflictError, InvalidArgumentError } from '../errors';
import { type RandomSource, systemRandom, ulid } from '../ids';
import { type LogSettings, resolveLogSettings } from '../settings';
import type { LogMetadataStore, ObjectStore, TopicRecord } from '../storage/ports';
import { ChunkCache } from './chunk-cache';
import { type LogContext, TopicCache } from './context';
import { type FetchRequest, type FetchResult, type FetchStats, fetchRecords } from './fetch';
import { HeadReads } from './head-reads';
import { offsetForTimestamp } from './offsets-for-time';
import { appendRecords, type ProduceRequest, type ProduceResult } from './produce';
import {
  addPartitions,
  type CreateTopicRequest,
  createTopic,
  deleteTopic,
  describeTopic,
  listTopics,
  type TopicDescription,
} from './topics';
import { checkRetention, trimPartition } from './trim';

/** What a `SluiceLog` is built from. */
export interface SluiceLogOptions {
  readonly objects: ObjectStore;
  readonly metadata: LogMetadataStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** @default the OS's cryptographic randomness */
  readonly random?: RandomSource;
  readonly settings?: Partial<LogSettings>;
}

/** The event log: topics, produce, fetch, offsets for time. */
export class SluiceLog {
  private readonly ctx: LogContext;
  /** Bytes and GETs this instance read from the object store. */
  readonly fetchStats: FetchStats = { bytesFetched: 0, rangeGets: 0, cacheHits: 0 };

  constructor(options: SluiceLogOptions) {
    const settings = resolveLogSettings(options.settings);
    const clock = options.clock ?? systemClock;
    const random = options.random ?? systemRandom;
    const seed = random.bytes(2);
    this.ctx = {
      objects: options.objects,
      metadata: options.metadata,
      clock,
      random,
      settings,
      topics: new TopicCache(options.metadata, clock, settings.topicCacheMs),
      heads: new Map(),
      chunks: new ChunkCache(settings.chunkCacheBytes),
      readers: new Map(),
      inflight: new Map(),
      headReads: new HeadReads(options.metadata, clock, settings),
      commitGate: new KeyedGate(),
      sticky: ((seed[0] as number) << 8) | (seed[1] as number),
    };
  }

  /** The validated settings in force. */
  get settings(): LogSettings {
    return this.ctx.settings;
  }

  createTopic(req: CreateTopicRequest): Promise<TopicRecord> {
    return createTopic(this.ctx, req);
  }

  /** The topic's partitions with their bounds; with `partitions`, only those (one head read each). */
  describeTopic(name: string, partitions?: readonly number[]): Promise<TopicDescription> {
    return describeTopic(this.ctx, name, partitions);
  }

  listTopics(): Promise<TopicRecord[]> {
    return listTopics(this.ctx);
  }

  deleteTopic(name: string): Promise<void> {
    return deleteTopic(this.ctx, name);
  }

  addPartitions(name: string, partitions: number): Promise<TopicRecord> {
    return addPartitions(this.ctx, name, partitions);
  }

  /** Appends one call's records atomically; see `appendRecords`. */
  append(req: ProduceRequest): Promise<ProduceResult> {
    return appendRecords(this.ctx, req);
  }

  fetch(req: FetchRequest): Promise<FetchResult> {
    return fetchRecords(this.ctx, req, this.fetchStats);
  }

  /** Changes a topic's retention; it applies at the next retention run. */
  async setRetention(
    name: string,
    retention: { retentionMs?: number | null; retentionBytes?: number | null },
  ): Promise<TopicRecord> {
    const t = await this.ctx.topics.get(name, { fresh: true });
    const next = {
      retentionMs:
        retention.retentionMs === undefined ? t.retentionMs : checkRetention('retentionMs', retention.retentionMs),
      retentionBytes:
        retention.retentionBytes === undefined
          ? t.retentionBytes
          : checkRetention('retentionBytes', retention.retentionBytes),
    };
    if ((await this.ctx.metadata.setRetention(name, t.topicId, next)) === 'conflict') {
      throw new ConflictError(`topic "${name}" changed concurrently; retry`);
    }
    this.ctx.topics.invalidate(name);
    return { ...t, ...next };
  }

  /**
   * Kafka's deleteRecords: makes `beforeOffset` the partition's start offset (exactly; reads
   * below it answer OFFSET_OUT_OF_RANGE at once) and releases the chunks wholly below it.
   */
  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<{ startOffset: number }> {
    const t = await this.ctx.topics.getWithPartition(topic, partition);
    if (!Number.isSafeInteger(beforeOffset) || beforeOffset < 0) {
      throw new InvalidArgumentError(`offset ${beforeOffset} must be a non-negative integer`);
    }
    const now = this.ctx.clock.nowMs();
    const r = await trimPartition(this.ctx.metadata, t.topicId, partition, beforeOffset, now, () =>
      ulid(now, this.ctx.random),
    );
    return { startOffset: r.startOffset };
  }

  /** The topic's metadata (cached for `topicCacheMs`; `fresh` re-reads). */
  getTopic(name: string, options: { fresh?: boolean } = {}): Promise<TopicRecord> {
    return this.ctx.topics.get(name, options);
  }

  /**
   * When the record at `offset` was appended (ms), from the index (no object read); null
   * if `offset` is at or beyond the high watermark `hwm` or no longer indexed.
   */
  async appendTimeOf(topic: TopicRecord, partition: number, offset: number, hwm: number): Promise<number | null> {
    if (offset >= hwm) return null;
    const [entry] = await this.ctx.metadata.queryIndex(topic.topicId, partition, offset, hwm - 1, 1);
    return entry ? entry.appendMs : null;
  }

  offsetForTimestamp(topic: string, partition: number, timestampMs: number) {
    return offsetForTimestamp(this.ctx, topic, partition, timestampMs);
  }
}
