import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError, RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { batchGet } from './dynamo-query';
import {
  DynamoTable,
  type Item,
  indexAttributes,
  parseHead,
  parseIdempotency,
  parseIndexEntry,
  parseProducer,
  parseSegmentFile,
  type TransactItem,
} from './dynamo-table';
import { indexSk, keys, TTL_ATTRIBUTE, ttlSeconds } from './layout';
import {
  type AppendCommit,
  type CommitOutcome,
  EMPTY_HEAD,
  emptyProducer,
  type IdempotencyRecord,
  type IndexEntry,
  type PartitionHead,
  type PartitionLog,
  PRODUCER_RESULT_SLOTS,
  type ProducerRecord,
  partitionRef,
  type SegmentFile,
} from './ports';

/** Partition heads, index entries, and the one transaction that appends a produce call. */
export class DynamoPartitionLog extends DynamoTable implements PartitionLog {
  async getHeads(topicId: string, partitions: readonly number[], consistent = true): Promise<PartitionHead[]> {
    const items = await batchGet(
      this.db,
      this.table,
      partitions.map((p) => keys.head(topicId, p)),
      consistent,
      'read partition heads',
    );
    const found = new Map(items.map((item) => [item.pk as string, parseHead(item)]));
    return partitions.map((p) => found.get(keys.partitionPk(topicId, p)) ?? { ...EMPTY_HEAD });
  }

  async queryIndex(
    topicId: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
    limit: number,
  ): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    if (toOffset < fromOffset || limit <= 0) return out;
    let start: Record<string, unknown> | undefined;
    do {
      const res = await translated('query index', () =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': keys.partitionPk(topicId, partition),
              ':from': indexSk(fromOffset),
              ':to': indexSk(toOffset),
            },
            ConsistentRead: true,
            Limit: limit - out.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of res.Items ?? []) out.push(parseIndexEntry(item, topicId, partition));
      start = res.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  /**
   * The commit of a produce call: ONE TransactWriteItems, all or nothing.
   *
   * Items and conditions:
   * - per topic, ConditionCheck `topicId = :tid` (deleted / re-created topics reject)
   * - per partition, Update HEAD `nextOffset = :base` (or absent when `:base` is 0):
   *   the CAS that makes offsets dense; sets the new high watermark
   * - per partition, Put index entry, `attribute_not_exists(pk)`
   * - Put segment file `attribute_not_exists(pk)`: the fence against GC and against our
   *   own aborted attempts (an aborted segment can never be committed)
   * - Put idempotency key, absent or expired; or Update producer, `nextSequence = :seq`
   *
   * Every condition returns the old item on failure (ALL_OLD), so a lost race yields the
   * fresh head at once and a duplicate yields its stored answer.
   *
   *   producer A                          producer B
   *   read HEAD (next=7)                  read HEAD (next=7)
   *   commit base=7 n=3 ── ok, next=10
   *                                       commit base=7 n=2 ── rejected, ALL_OLD next=10
   *                                       commit base=10 n=2 ── ok, next=12
   */
  async commitAppend(c: AppendCommit): Promise<CommitOutcome> {
    type Role =
      | { role: 'topic'; topicId: string }
      | { role: 'head'; ref: string }
      | { role: 'entry' }
      | { role: 'file' }
      | { role: 'idempotency' }
      | { role: 'producer'; producerId: string };
    const roles: Role[] = [];
    const items: TransactItem[] = [];
    const ALL_OLD = 'ALL_OLD' as const;
    for (const t of c.topics) {
      roles.push({ role: 'topic', topicId: t.topicId });
      items.push({
        ConditionCheck: {
          TableName: this.table,
          Key: keys.topic(t.name),
          ConditionExpression: 'topicId = :tid',
          ExpressionAttributeValues: { ':tid': t.topicId },
        },
      });
    }
    for (const p of c.partitions) {
      const e = p.entry;
      roles.push({ role: 'head', ref: partitionRef(e.topicId, e.partition) });
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.head(e.topicId, e.partition),
          UpdateExpression:
            'SET nextOffset = :next, lastAppendMs = :now, maxTimestamp = :maxTs, startOffset = if_not_exists(startOffset, :zero) ADD bytes :bytes',
          ConditionExpression:
            p.head.nextOffset === 0 ? 'attribute_not_exists(nextOffset) OR nextOffset = :base' : 'nextOffset = :base',
          ExpressionAttributeValues: {
            ':next': e.lastOffset + 1,
            ':now': c.nowMs,
            ':maxTs': e.maxTimestampSoFar,
            ':zero': 0,
            ':bytes': p.chunkBytes,
            ':base': p.head.nextOffset,
          },
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      });
      roles.push({ role: 'entry' });
      items.push({
        Put: {
          TableName: this.table,
          Item: { ...keys.indexEntry(e.topicId, e.partition, e.lastOffset), ...indexAttributes(e) },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    roles.push({ role: 'file' });
    items.push({
      Put: {
        TableName: this.table,
        Item: {
          ...keys.segmentFile(c.segment.key),
          state: 'committed',
          refs: c.partitions.length,
          bytes: c.segment.bytes,
          createdMs: c.segment.createdMs,
          bases: c.partitions.map((p) => p.entry.baseOffset),
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
            key: c.idempotency.key,
            ...c.idempotency.result,
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
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE, '#slot': `r${pr.sequence % PRODUCER_RESULT_SLOTS}` },
          ExpressionAttributeValues: {
            ':pid': pr.producerId,
            ':nextSeq': pr.sequence + 1,
            ':seq': pr.sequence,
            ':exp': pr.expiresAtMs,
            ':ttl': ttlSeconds(pr.expiresAtMs),
            ':now': c.nowMs,
            ':result': { sequence: pr.sequence, ...pr.result },
          },
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      });
    }
    if (items.length > 100) throw new InternalError(`a commit of ${items.length} items exceeds DynamoDB's 100`);

    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: c.clientToken }));
      return { kind: 'committed' };
    } catch (e) {
      if (awsErrorName(e) !== 'TransactionCanceledException') throw translateAwsError(e, 'commit append');
      const reasons = (e as { CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[] })
        .CancellationReasons;
      if (!reasons || reasons.length !== roles.length) {
        throw new RetriableError('UNAVAILABLE', 'commit cancelled without per-item reasons', e);
      }
      const movedHeads = new Map<string, PartitionHead>();
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
          case 'topic':
            goneTopics.push(role.topicId);
            break;
          case 'head':
            movedHeads.set(role.ref, old ? parseHead(old) : { ...EMPTY_HEAD });
            break;
          case 'entry':
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
        movedHeads,
        goneTopics,
        transactionConflict,
        ...(segmentFile ? { segmentFile } : {}),
        ...(idempotency ? { idempotency } : {}),
        ...(producer ? { producer } : {}),
      };
    }
  }

  async deleteHead(topicId: string, partition: number): Promise<void> {
    await translated('delete head', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.head(topicId, partition) })),
    );
  }
}
