import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError, RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { batchGet, batchWrite } from './dynamo-query';
import {
  DynamoTable,
  type Item,
  idempotencyAttributes,
  indexAttributes,
  parseHead,
  parseIdempotency,
  parseIndexEntry,
  parseProducer,
  parseSegmentFile,
  producerSlot,
  producerSlotValue,
  type TransactItem,
} from './dynamo-table';
import { HEAD_SHARD_SIZE, headAttributes, headShard, indexSk, keys, TTL_ATTRIBUTE, ttlSeconds } from './layout';
import {
  type AppendCommit,
  type CommitOutcome,
  emptyProducer,
  type IdempotencyRecord,
  type IndexEntry,
  type PartitionAppend,
  type PartitionHead,
  type PartitionLog,
  type ProducerRecord,
  partitionRef,
  type SegmentFile,
} from './ports';

/** Partition heads, index entries, and the one transaction that appends a produce call. */
export class DynamoPartitionLog extends DynamoTable implements PartitionLog {
  async getHeads(topicId: string, partitions: readonly number[], consistent = true): Promise<PartitionHead[]> {
    const shards = [...new Set(partitions.map(headShard))];
    const items = await batchGet(
      this.db,
      this.table,
      shards.map((s) => keys.headShard(topicId, s)),
      consistent,
      'read partition heads',
    );
    const found = new Map(items.map((item) => [item.pk as string, item]));
    return partitions.map((p) => parseHead(found.get(keys.headShard(topicId, headShard(p)).pk), p));
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
   * - per head shard touched, one Update: for each of its partitions in the call
   *   `n{p} = :base` (or absent when `:base` is 0) — the CAS that makes offsets dense — and
   *   the new high watermark; one item for up to 16 partitions
   * - per partition, Put index entry, `attribute_not_exists(pk)`
   * - Put segment file `attribute_not_exists(pk)`: the fence against GC and against our
   *   own aborted attempts (an aborted segment can never be committed)
   * - Put idempotency key, absent or expired; or Update producer, `nextSequence = :seq`
   *
   * Every condition returns the old item on failure (ALL_OLD), so a lost race yields the
   * fresh heads at once and a duplicate yields its stored answer.
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
      | { role: 'heads'; topicId: string; expected: ReadonlyMap<number, number> }
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
    const shards = new Map<string, { topicId: string; shard: number; parts: PartitionAppend[] }>();
    for (const p of c.partitions) {
      const shard = headShard(p.entry.partition);
      const ref = `${p.entry.topicId}#${shard}`;
      const s = shards.get(ref) ?? { topicId: p.entry.topicId, shard, parts: [] };
      s.parts.push(p);
      shards.set(ref, s);
    }
    for (const s of shards.values()) {
      const update = headShardUpdate(s.parts);
      roles.push({
        role: 'heads',
        topicId: s.topicId,
        expected: new Map(s.parts.map((p) => [p.entry.partition, p.head.nextOffset])),
      });
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.headShard(s.topicId, s.shard),
          ...update,
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      });
    }
    for (const p of c.partitions) {
      const e = p.entry;
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
          case 'heads': {
            let moved = 0;
            for (const [partition, expected] of role.expected) {
              const head = parseHead(old, partition);
              if (head.nextOffset === expected) continue;
              movedHeads.set(partitionRef(role.topicId, partition), head);
              moved++;
            }
            // the condition failed, yet no head moved: it raced a change we cannot see
            if (moved === 0) transactionConflict = true;
            break;
          }
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

/**
 * The Update of one head shard for the partitions of a commit in it: per partition, the CAS
 * on its next offset (absent counts as 0) and the new head.
 */
function headShardUpdate(parts: readonly PartitionAppend[]): {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  const sets: string[] = [];
  const adds: string[] = [];
  const conds: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':zero': 0 };
  parts.forEach((p, i) => {
    const a = headAttributes(p.entry.partition);
    Object.assign(names, { [`#n${i}`]: a.next, [`#s${i}`]: a.start, [`#b${i}`]: a.bytes, [`#t${i}`]: a.maxTs });
    Object.assign(values, {
      [`:base${i}`]: p.head.nextOffset,
      [`:next${i}`]: p.entry.lastOffset + 1,
      [`:ts${i}`]: p.entry.maxTimestampSoFar,
      [`:bytes${i}`]: p.chunkBytes,
    });
    sets.push(`#n${i} = :next${i}`, `#t${i} = :ts${i}`, `#s${i} = if_not_exists(#s${i}, :zero)`);
    adds.push(`#b${i} :bytes${i}`);
    conds.push(p.head.nextOffset === 0 ? `(attribute_not_exists(#n${i}) OR #n${i} = :base${i})` : `#n${i} = :base${i}`);
  });
  return {
    UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
    ConditionExpression: conds.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
