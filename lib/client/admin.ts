/**
 * Admin operations, shaped like kafkajs's admin client.
 */
import type { AclInput } from '../access/manage';
import type { AclRecord, QuotaRecord, QuotaSpec } from '../access/model';
import type { CreateTopicRequest } from '../log/topics';
import type { SubscriptionInput, SubscriptionView } from '../subscriptions/definition';
import type { SubscriptionPatch } from '../subscriptions/manage';
import type { Transport } from './transport';

/** Topic administration and offset lookups. */
export class Admin {
  constructor(private readonly transport: Transport) {}

  /** Creates topics; resolves true if all were created (kafkajs semantics), throws on invalid input. */
  async createTopics(args: { topics: readonly CreateTopicRequest[] }): Promise<boolean> {
    for (const t of args.topics) await this.transport.createTopic(t);
    return true;
  }

  async deleteTopics(args: { topics: readonly string[] }): Promise<void> {
    for (const t of args.topics) await this.transport.deleteTopic(t);
  }

  /** Changes a topic's retention (null = none); applies at the next maintenance run. */
  async setRetention(
    topic: string,
    retention: { retentionMs?: number | null; retentionBytes?: number | null },
  ): Promise<void> {
    await this.transport.updateTopic(topic, retention);
  }

  /** Grows a topic to `count` partitions. */
  async createPartitions(args: { topicPartitions: readonly { topic: string; count: number }[] }): Promise<void> {
    for (const t of args.topicPartitions) await this.transport.updateTopic(t.topic, { partitions: t.count });
  }

  /** kafkajs's deleteTopicRecords: makes each `offset` its partition's start offset. */
  async deleteTopicRecords(args: { topic: string; partitions: readonly { partition: number; offset: number }[] }) {
    for (const p of args.partitions) await this.transport.deleteRecords(args.topic, p.partition, p.offset);
  }

  /** Names of all topics. */
  async listTopics(): Promise<string[]> {
    return (await this.transport.listTopics()).map((t) => t.name);
  }

  /** The topic with its settings and per-partition bounds. */
  describeTopic(topic: string) {
    return this.transport.describeTopic(topic);
  }

  /** Per partition: `low` (start offset) and `high` (high watermark), like kafkajs's fetchTopicOffsets. */
  async fetchTopicOffsets(topic: string): Promise<{ partition: number; low: number; high: number; offset: number }[]> {
    const d = await this.transport.describeTopic(topic);
    return d.offsets.map((o) => ({
      partition: o.partition,
      low: o.startOffset,
      high: o.highWatermark,
      offset: o.highWatermark,
    }));
  }

  /**
   * Per partition, the earliest offset whose timestamp is ≥ `timestampMs`; where every
   * record is older, the high watermark (kafkajs's fetchTopicOffsetsByTimestamp does the same).
   */
  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestampMs: number,
  ): Promise<{ partition: number; offset: number }[]> {
    const d = await this.transport.describeTopic(topic);
    return Promise.all(
      d.offsets.map(async (o) => {
        const at = await this.transport.offsetForTimestamp(topic, o.partition, timestampMs);
        return { partition: o.partition, offset: at ?? o.highWatermark };
      }),
    );
  }

  /**
   * Creates a push subscription: its topics' records are delivered, in order per partition,
   * to a Lambda function or a webhook (under `npm start`, also a handler module).
   */
  createSubscription(definition: SubscriptionInput): Promise<SubscriptionView> {
    return this.transport.createSubscription(definition);
  }

  listSubscriptions(): Promise<SubscriptionView[]> {
    return this.transport.listSubscriptions();
  }

  describeSubscription(name: string): Promise<SubscriptionView> {
    return this.transport.getSubscription(name);
  }

  /** Changes topics, target or options (`{ options: { enabled: false } }` pauses it). */
  updateSubscription(name: string, patch: SubscriptionPatch): Promise<SubscriptionView> {
    return this.transport.updateSubscription(name, patch);
  }

  /** Deletes it with its committed offsets. */
  deleteSubscription(name: string): Promise<void> {
    return this.transport.deleteSubscription(name);
  }

  /**
   * Allows (or, with `effect: 'deny'`, denies) a principal operations on resources, like
   * Kafka's createAcls. Idempotent: the same entry twice is one entry, with one id.
   */
  createAcl(input: AclInput): Promise<AclRecord> {
    return this.transport.createAcl(input);
  }

  listAcls(): Promise<AclRecord[]> {
    return this.transport.listAcls();
  }

  deleteAcl(id: string): Promise<void> {
    return this.transport.deleteAcl(id);
  }

  /** Limits each principal a pattern names to `requestsPerSecond` (Kafka's request quotas). */
  setQuota(input: QuotaSpec): Promise<QuotaRecord> {
    return this.transport.setQuota(input);
  }

  listQuotas(): Promise<QuotaRecord[]> {
    return this.transport.listQuotas();
  }

  deleteQuota(id: string): Promise<void> {
    return this.transport.deleteQuota(id);
  }
}
