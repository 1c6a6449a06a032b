import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { translated } from './aws-errors';
import { queryPartition } from './dynamo-query';
import { DynamoTable, parseTopic, type TransactItem, topicAttributes } from './dynamo-table';
import { HEAD_SHARD_SIZE, type ItemKey, keys, SHARD_SEQ_ATTRIBUTE } from './layout';
import type { TopicCatalog, TopicRecord } from './ports';

/** The topic catalogue on the table: topic items, the topic registry and deleted-topic records. */
export class DynamoTopicCatalog extends DynamoTable implements TopicCatalog {
  /**
   * Condition: no topic item of that name (`attribute_not_exists(pk)`), written together
   * with its registry entry and its head shards (call sequence 0). Failure means the name is
   * taken: `'exists'`.
   */
  async createTopic(t: TopicRecord): Promise<'created' | 'exists'> {
    const body = topicAttributes(t);
    const r = await this.transact('create topic', [
      ...this.newHeadShards(t.topicId, 0, t.partitions),
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.topic(t.name), ...body },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.topicRegistry(t.name), ...body },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ]);
    return r === 'ok' ? 'created' : 'exists';
  }

  async getTopic(name: string): Promise<TopicRecord | undefined> {
    const item = await this.getItem(keys.topic(name), 'get topic');
    return item ? parseTopic(item) : undefined;
  }

  async listTopics(): Promise<TopicRecord[]> {
    return (await queryPartition(this.db, this.table, keys.topicRegistryPk, 'list topics')).map(parseTopic);
  }

  /**
   * Condition: `topicId = :id AND partitions = :from` on the topic and its registry entry.
   * Failure: the topic was deleted, re-created or grown concurrently → `'conflict'`.
   */
  async setPartitionCount(name: string, topicId: string, from: number, to: number): Promise<'ok' | 'conflict'> {
    const update = (key: ItemKey): TransactItem => ({
      Update: {
        TableName: this.table,
        Key: key,
        UpdateExpression: 'SET #partitions = :to',
        ConditionExpression: 'topicId = :id AND #partitions = :from',
        ExpressionAttributeNames: { '#partitions': 'partitions' },
        ExpressionAttributeValues: { ':to': to, ':id': topicId, ':from': from },
      },
    });
    const r = await this.transact('add partitions', [
      update(keys.topic(name)),
      update(keys.topicRegistry(name)),
      ...this.newHeadShards(topicId, from, to),
    ]);
    return r === 'ok' ? 'ok' : 'conflict';
  }

  /** Condition: `topicId = :id` on the topic and its registry entry; else `'conflict'`. */
  async setRetention(
    name: string,
    topicId: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<'ok' | 'conflict'> {
    const update = (key: ItemKey): TransactItem => ({
      Update: {
        TableName: this.table,
        Key: key,
        UpdateExpression: 'SET retentionMs = :ms, retentionBytes = :bytes',
        ConditionExpression: 'topicId = :id',
        ExpressionAttributeValues: { ':ms': retention.retentionMs, ':bytes': retention.retentionBytes, ':id': topicId },
      },
    });
    const r = await this.transact('set retention', [update(keys.topic(name)), update(keys.topicRegistry(name))]);
    return r === 'ok' ? 'ok' : 'conflict';
  }

  /**
   * Condition: the topic item still has id `topicId`. Deletes it, its registry entry and its
   * head shards (from here no commit to it can apply) and records `DELETED/T#{topicId}` for
   * the data purge, atomically. Failure → `'not-found'`.
   */
  async deleteTopic(name: string, topicId: string, nowMs: number): Promise<'deleted' | 'not-found'> {
    const topic = await this.getTopic(name);
    if (!topic || topic.topicId !== topicId) return 'not-found';
    const r = await this.transact('delete topic', [
      {
        Delete: {
          TableName: this.table,
          Key: keys.topic(name),
          ConditionExpression: 'topicId = :id',
          ExpressionAttributeValues: { ':id': topicId },
        },
      },
      { Delete: { TableName: this.table, Key: keys.topicRegistry(name) } },
      ...Array.from(
        { length: Math.ceil(topic.partitions / HEAD_SHARD_SIZE) },
        (_, s): TransactItem => ({ Delete: { TableName: this.table, Key: keys.headShard(topicId, s) } }),
      ),
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.deletedTopic(topicId), name, topicId, partitions: topic.partitions, deletedMs: nowMs },
        },
      },
    ]);
    return r === 'ok' ? 'deleted' : 'not-found';
  }

  /** Puts of the head shards that partitions `from … to − 1` add (shards already there stay). */
  private newHeadShards(topicId: string, from: number, to: number): TransactItem[] {
    const first = Math.ceil(from / HEAD_SHARD_SIZE);
    return Array.from({ length: Math.max(0, Math.ceil(to / HEAD_SHARD_SIZE) - first) }, (_, i) => ({
      Put: {
        TableName: this.table,
        Item: { ...keys.headShard(topicId, first + i), [SHARD_SEQ_ATTRIBUTE]: 0 },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    }));
  }

  async listDeletedTopics() {
    return (await queryPartition(this.db, this.table, keys.deletedTopicsPk, 'list deleted topics')).map((i) => ({
      topicId: i.topicId as string,
      name: i.name as string,
      partitions: i.partitions as number,
      deletedMs: i.deletedMs as number,
    }));
  }

  async finishTopicPurge(topicId: string): Promise<void> {
    await translated('finish topic purge', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.deletedTopic(topicId) })),
    );
  }
}
