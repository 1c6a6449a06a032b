import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError, RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { encodeCallRefs } from './call-codec';
import { CallCache, callsOf, findChunks, partsIn, sameShardHead, shardHeadAfter, shardSlot } from './call-index';
import { batchGet, batchWrite } from './dynamo-query';
import {
  callAttributes,
  DynamoTable,
  headShardRewrite,
  type Item,
  idempotencyAttributes,
  packBases,
  parseCall,
  parseIdempotency,
  parseProducer,
  parseSegmentFile,
  parseShardHead,
  producerSlot,
  producerSlotValue,
  type TransactItem,
} from './dynamo-table';
import { callSk, HEAD_SHARD_SIZE, headShard, keys, TTL_ATTRIBUTE, ttlSeconds } from './layout';
import {
  type AppendCommit,
  type CallRecord,
  type CommitOutcome,
  emptyProducer,
  type IdempotencyRecord,
  type IndexEntry,
  type PartitionHead,
  type PartitionLog,
  type ProducerRecord,
  type SegmentFile,
  type ShardAppend,
  type ShardHead,
  shardRef,
} from './ports';

/** Head shards, call items, and the one transaction that appends a produce call. */
export class DynamoPartitionLog extends DynamoTable implements PartitionLog {
  /** Recent call items, immutable once committed: a tailing reader reads only new ones. */
  private readonly calls = new CallCache();

  async getHeads(topicId: string, partitions: readonly number[], consistent = true): Promise<PartitionHead[]> {
    const shards = await this.readShardHeads(topicId, [...new Set(partitions.map(headShard))], consistent);
    return partitions.map((p) => shards.get(headShard(p))?.heads[shardSlot(p)] as PartitionHead);
  }

  async getShardHeads(topicId: string, shards: readonly number[]): Promise<ShardHead[]> {
    const read = await this.readShardHeads(topicId, [...new Set(shards)], true);
    return shards.map((s) => read.get(s) as ShardHead);
  }

  private async readShardHeads(
    topicId: string,
    shards: readonly number[],
    consistent: boolean,
  ): Promise<Map<number, ShardHead>> {
    const items = await batchGet(
      this.db,
      this.table,
      shards.map((s) => keys.headShard(topicId, s)),
      consistent,
      'read partition heads',
    );
    const found = new Map(items.map((item) => [item.pk as string, item]));
    return new Map(shards.map((s) => [s, parseShardHead(found.get(keys.headShard(topicId, s).pk))]));
  }

  queryIndex(
    topicId: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
    limit: number,
  ): Promise<IndexEntry[]> {
    return findChunks(this, this.calls, topicId, partition, fromOffset, toOffset, limit);
  }

  cachedChunksOf(segmentKey: string): IndexEntry[] {
    return this.calls.chunksOf(segmentKey);
  }

  async readCalls(topicId: string, shard: number, afterSeq: number, limit: number): Promise<CallRecord[]> {
    const out: CallRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await translated('read call items', () =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk > :after',
            ExpressionAttributeValues: {
              ':pk': keys.callsPk(topicId, shard),
              ':after': afterSeq < 0 ? 'Q#' : callSk(afterSeq),
            },
            ConsistentRead: true,
            Limit: limit - out.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of res.Items ?? []) out.push(parseCall(item, topicId, shard));
      start = res.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  async newestCall(topicId: string, shard: number): Promise<CallRecord | undefined> {
    const res = await translated('read the newest call item', () =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.callsPk(topicId, shard) },
          ConsistentRead: true,
          ScanIndexForward: false,
          Limit: 1,
        }),
      ),
    );
    const item = res.Items?.[0];
    return item ? parseCall(item, topicId, shard) : undefined;
  }

  /**
   * The commit of a produce call: ONE TransactWriteItems, all or nothing.
   *
   * Items and conditions:
   * - per head shard touched, one Update: `q = :seq` — the CAS that makes offsets dense:
   *   nothing was committed to any partition of the shard since the head was read — moving
   *   `q` by one and setting the new heads of its partitions. Head shards are created with
   *   their topic and deleted with it, so the same condition rejects a commit to a deleted
   *   or re-created topic (no item: no `q`) without a check of the topic item.
   * - per head shard touched, Put call item `seq`, `attribute_not_exists(pk)`: the call's
   *   chunks in the shard and every partition's next offset after it
   * - Put segment file `attribute_not_exists(pk)`: the fence against GC and against our
   *   own aborted attempts (an aborted segment can never be committed)
   * - Put idempotency key, absent or expired; or Update producer, `nextSequence = :seq`
   *
   * Every condition returns the old item on failure (ALL_OLD), so a lost race yields the
   * fresh shard heads at once and a duplicate yields its stored answer.
   *
   *   producer A                          producer B
   *   read HEAD (q=7, n3=40)              read HEAD (q=7, n3=40)
   *   commit q=7, call 7, p3 40.. ── ok, q=8
   *                                       commit q=7 ── rejected, ALL_OLD q=8 n3=43
   *                                       commit q=8, call 8, p3 43.. ── ok, q=9
   */
  async commitAppend(c: AppendCommit): Promise<CommitOutcome> {
    type Role =
      | { role: 'heads'; shard: ShardAppend }
      | { role: 'call' }
      | { role: 'file' }
      | { role: 'idempotency' }
      | { role: 'producer'; producerId: string };
    const roles: Role[] = [];
    const items: TransactItem[] = [];
    const ALL_OLD = 'ALL_OLD' as const;
    const calls = callsOf(c);
    c.shards.forEach((s, i) => {
      const call = calls[i] as CallRecord;
      roles.push({ role: 'heads', shard: s });
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.headShard(s.topicId, s.shard),
          // the CAS on the shard's call sequence and heads (the item must exist: a deleted or
          // re-created topic has none), the sequence moved by one, the heads after the commit
          ...headShardRewrite(s.head, shardHeadAfter(s.head, partsIn(c, s))),
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      });
      roles.push({ role: 'call' });
      items.push({
        Put: {
          TableName: this.table,
          Item: { ...keys.callItem(s.topicId, s.shard, call.seq), ...callAttributes(call) },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    });
    roles.push({ role: 'file' });
    items.push({
      Put: {
        TableName: this.table,
        Item: {
          ...keys.segmentFile(c.segment.key),
          state: 'committed',
          calls: encodeCallRefs(calls),
          bytes: c.segment.bytes,
          createdMs: c.segment.createdMs,
          bases: packBases(c.partitions.map((p) => p.entry.baseOffset)),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: ALL_OLD,
      },
    });
    if (c.idempotency) {
      roles.push({ role: 'idempotency' });
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            ...keys.idempotency(c.idempotency.key),
            ...idempotencyAttributes(c.idempotency.key, c.idempotency.result),
            expiresAtMs: c.idempotency.expiresAtMs,
            [TTL_ATTRIBUTE]: ttlSeconds(c.idempotency.expiresAtMs),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAtMs < :now',
          ExpressionAttributeValues: { ':now': c.nowMs },
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      });
    }
    if (c.producer) {
      const pr = c.producer;
      roles.push({ role: 'producer', producerId: pr.producerId });
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.producer(pr.producerId),
          UpdateExpression:
            'SET producerId = :pid, nextSequence = :nextSeq, expiresAtMs = :exp, #ttl = :ttl, #slot = :result',
          // sequence 0 starts a producer (or restarts one whose state expired)
          ConditionExpression:
            pr.sequence === 0
              ? 'attribute_not_exists(pk) OR expiresAtMs < :now OR nextSequence = :seq'
              : 'nextSequence = :seq AND expiresAtMs >= :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE, '#slot': producerSlot(pr.sequence) },
          ExpressionAttributeValues: {
            ':pid': pr.producerId,
            ':nextSeq': pr.sequence + 1,
            ':seq': pr.sequence,
            ':exp': pr.expiresAtMs,
            ':ttl': ttlSeconds(pr.expiresAtMs),
            ':now': c.nowMs,
            ':result': producerSlotValue(pr.sequence, pr.result),
          },
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      });
    }
    if (items.length > 100) throw new InternalError(`a commit of ${items.length} items exceeds DynamoDB's 100`);

    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: c.clientToken }));
      this.calls.add(calls);
      return { kind: 'committed' };
    } catch (e) {
      if (awsErrorName(e) !== 'TransactionCanceledException') throw translateAwsError(e, 'commit append');
      const reasons = (e as { CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[] })
        .CancellationReasons;
      if (!reasons || reasons.length !== roles.length) {
        throw new RetriableError('UNAVAILABLE', 'commit cancelled without per-item reasons', e);
      }
      const movedShards = new Map<string, ShardHead>();
      const goneTopics: string[] = [];
      let transactionConflict = false;
      let segmentFile: SegmentFile | undefined;
      let idempotency: IdempotencyRecord | undefined;
      let producer: ProducerRecord | undefined;
      reasons.forEach((reason, i) => {
        const role = roles[i] as Role;
        const code = reason.Code ?? 'None';
        if (code === 'None') return;
        if (code === 'TransactionConflict') {
          transactionConflict = true;
          return;
        }
        if (code === 'ThrottlingError' || code === 'ProvisionedThroughputExceeded') {
          throw new RetriableError('THROTTLED', `commit throttled on item ${i}`, e);
        }
        if (code !== 'ConditionalCheckFailed') {
          throw new InternalError(`commit cancelled: item ${i} (${role.role}): ${code}`, e);
        }
        const old = reason.Item ? (unmarshall(reason.Item) as Item) : undefined;
        switch (role.role) {
          case 'heads': {
            // no head shard: the topic was deleted (with its heads) or re-created (new id)
            if (!old) {
              if (!goneTopics.includes(role.shard.topicId)) goneTopics.push(role.shard.topicId);
              break;
            }
            const fresh = parseShardHead(old);
            // the condition failed, yet the heads did not change: it raced a change we cannot see
            if (sameShardHead(fresh, role.shard.head)) transactionConflict = true;
            else movedShards.set(shardRef(role.shard.topicId, role.shard.shard), fresh);
            break;
          }
          case 'call':
            transactionConflict = true;
            break;
          case 'file':
            segmentFile = old ? parseSegmentFile(old) : undefined;
            if (!segmentFile) transactionConflict = true;
            break;
          case 'idempotency':
            idempotency = old ? parseIdempotency(old) : undefined;
            if (!idempotency) transactionConflict = true;
            break;
          case 'producer':
            producer =
              old && (old.expiresAtMs as number) >= c.nowMs ? parseProducer(old) : emptyProducer(role.producerId);
            break;
        }
      });
      return {
        kind: 'rejected',
        movedShards,
        goneTopics,
        transactionConflict,
        ...(segmentFile ? { segmentFile } : {}),
        ...(idempotency ? { idempotency } : {}),
        ...(producer ? { producer } : {}),
      };
    }
  }

  async deleteHeads(topicId: string, partitions: number): Promise<void> {
    const shards = Array.from({ length: Math.ceil(partitions / HEAD_SHARD_SIZE) }, (_, shard) => shard);
    await batchWrite(
      this.db,
      this.table,
      shards.map((shard) => ({ DeleteRequest: { Key: { ...keys.headShard(topicId, shard) } } })),
      'delete heads',
    );
  }
}
