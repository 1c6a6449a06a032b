/**
 * Topic administration: create, describe, list, delete, add partitions.
 */
import {
  ConflictError,
  InvalidArgumentError,
  LimitExceededError,
  SluiceError,
  TopicExistsError,
  TopicNotFoundError,
} from '../errors';
import { uuidV4 } from '../ids';
import { topicNameProblem } from '../settings';
import type { TopicRecord } from '../storage/ports';
import type { LogContext } from './context';
import { checkRetention } from './trim';

/** What a topic is created with. */
export interface CreateTopicRequest {
  readonly name: string;
  readonly partitions: number;
  /** Delete records older than this (ms); null = forever. @default null */
  readonly retentionMs?: number | null;
  /** Keep at most about this many bytes per partition; null = no limit. @default null */
  readonly retentionBytes?: number | null;
}

/** A topic with per-partition bounds. */
export interface TopicDescription {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly retentionMs: number | null;
  readonly retentionBytes: number | null;
  readonly createdMs: number;
  readonly offsets: { partition: number; startOffset: number; highWatermark: number }[];
}

/** Creates a topic with a fresh topic id; `TOPIC_EXISTS` if the name is taken. */
export async function createTopic(ctx: LogContext, req: CreateTopicRequest): Promise<TopicRecord> {
  const nameProblem = topicNameProblem(req.name);
  if (nameProblem) throw new InvalidArgumentError(nameProblem, 'INVALID_TOPIC_NAME');
  checkPartitions(ctx, req.partitions);
  const retentionMs = checkRetention('retentionMs', req.retentionMs);
  const retentionBytes = checkRetention('retentionBytes', req.retentionBytes);
  const topic: TopicRecord = {
    name: req.name,
    topicId: uuidV4(ctx.random),
    partitions: req.partitions,
    retentionMs,
    retentionBytes,
    createdMs: ctx.clock.nowMs(),
  };
  // a quota, not a lock: creates racing at the limit may pass it by a few
  const existing = await ctx.metadata.listTopics();
  if (existing.some((t) => t.name === req.name)) throw new TopicExistsError(req.name);
  const count = existing.length;
  if (count >= ctx.settings.maxTopics) {
    throw new LimitExceededError(
      `this deployment has ${count} topics, its limit (maxTopics ${ctx.settings.maxTopics}); delete one or raise the limit`,
      { setting: 'maxTopics', limit: ctx.settings.maxTopics },
    );
  }
  if ((await ctx.metadata.createTopic(topic)) === 'exists') throw new TopicExistsError(req.name);
  ctx.topics.invalidate(req.name);
  return topic;
}

/**
 * The topic with each partition's start offset and high watermark (strongly consistent);
 * with `only`, of those partitions alone (one head read each, not one per partition of the
 * topic), in that order. Partitions beyond the topic's are the caller's to reject.
 */
export async function describeTopic(
  ctx: LogContext,
  name: string,
  only?: readonly number[],
): Promise<TopicDescription> {
  const topic = await ctx.topics.get(name, { fresh: true });
  const partitions = only ?? Array.from({ length: topic.partitions }, (_, p) => p);
  const heads = await ctx.metadata.getHeads(topic.topicId, partitions);
  return {
    ...topic,
    offsets: heads.map((h, i) => ({
      partition: partitions[i] as number,
      startOffset: h.startOffset,
      highWatermark: h.nextOffset,
    })),
  };
}

/** All topics, sorted by name. */
export async function listTopics(ctx: LogContext): Promise<TopicRecord[]> {
  return ctx.metadata.listTopics();
}

/**
 * Deletes a topic: it disappears at once (a re-created name gets a new id and never sees
 * old data); its partition metadata and segment references are purged by the retention
 * job from the `DELETED` record.
 */
export async function deleteTopic(ctx: LogContext, name: string): Promise<void> {
  const topic = await ctx.topics.get(name, { fresh: true });
  const r = await ctx.metadata.deleteTopic(name, topic.topicId, ctx.clock.nowMs());
  ctx.topics.invalidate(name);
  if (r === 'not-found') throw new TopicNotFoundError(name);
}

/** Grows a topic to `partitions` partitions (never shrinks; keyed records may move, as in Kafka). */
export async function addPartitions(ctx: LogContext, name: string, partitions: number): Promise<TopicRecord> {
  checkPartitions(ctx, partitions);
  const topic = await ctx.topics.get(name, { fresh: true });
  if (partitions <= topic.partitions) {
    // Kafka's INVALID_PARTITIONS: the count is well-formed, the topic's state refuses it
    throw new SluiceError(
      'INVALID_PARTITIONS',
      `topic "${name}" has ${topic.partitions} partitions; the new count ${partitions} must be larger (partitions only grow)`,
      { details: { partitions: topic.partitions } },
    );
  }
  const r = await ctx.metadata.setPartitionCount(name, topic.topicId, topic.partitions, partitions);
  ctx.topics.invalidate(name);
  if (r === 'conflict') throw new ConflictError(`topic "${name}" changed concurrently; describe it and retry`);
  return { ...topic, partitions };
}

function checkPartitions(ctx: LogContext, partitions: number): void {
  const max = ctx.settings.maxPartitionsPerTopic;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > max) {
    throw new InvalidArgumentError(`partitions ${partitions} must be an integer in [1, ${max}]`);
  }
}
