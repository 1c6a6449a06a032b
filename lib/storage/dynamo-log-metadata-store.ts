import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError, RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { batchGet, queryPartition } from './dynamo-query';
import { type ItemKey, indexSk, keys, parseIndexSk, parseSegmentFilePk, TTL_ATTRIBUTE, ttlSeconds } from './layout';
import {
  type AppendCommit,
  type CommitOutcome,
  EMPTY_HEAD,
  emptyProducer,
  type IdempotencyRecord,
  type IndexEntry,
  type LogMetadataStore,
  type PartitionHead,
  PRODUCER_RESULT_SLOTS,
  type ProducerRecord,
  partitionRef,
  type SegmentFile,
  type StoredProduceResult,
  type TopicRecord,
} from './ports';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * `LogMetadataStore` on one DynamoDB table (`pk`, `sk`, TTL attribute `ttl`). Every
 * multi-writer transition is one conditional write, documented at its method.
 */
export class DynamoLogMetadataStore implements LogMetadataStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Condition: no topic item of that name (`attribute_not_exists(pk)`), written together
   * with its registry entry. Failure means the name is taken: `'exists'`.
   */
  async createTopic(t: TopicRecord): Promise<'created' | 'exists'> {
    const body = topicAttributes(t);
    const r = await this.transact('create topic', [
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
    const r = await this.transact('add partitions', [update(keys.topic(name)), update(keys.topicRegistry(name))]);
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
   * Condition: the topic item still has id `topicId`. Deletes it and its registry entry and
   * records `DELETED/T#{topicId}` for the data purge, atomically. Failure → `'not-found'`.
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
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.deletedTopic(topicId), name, topicId, partitions: topic.partitions, deletedMs: nowMs },
        },
      },
    ]);
    return r === 'ok' ? 'deleted' : 'not-found';
  }

  async getHeads(topicId: string, partitions: readonly number[]): Promise<PartitionHead[]> {
    const items = await batchGet(
      this.db,
      this.table,
      partitions.map((p) => keys.head(topicId, p)),
      true,
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

  async getSegmentFile(segmentKey: string): Promise<SegmentFile | undefined> {
    const item = await this.getItem(keys.segmentFile(segmentKey), 'get segment file');
    return item ? parseSegmentFile(item) : undefined;
  }

  /** Eventually consistent BatchGetItem: half the read units; see the port for why that is safe. */
  async getSegmentFiles(segmentKeys: readonly string[]): Promise<Map<string, SegmentFile>> {
    const items = await batchGet(this.db, this.table, segmentKeys.map(keys.segmentFile), false, 'get segment files');
    return new Map(items.map(parseSegmentFile).map((f) => [f.segmentKey, f]));
  }

  /**
   * Condition: no segment-file item (`attribute_not_exists(pk)`). Success means no commit
   * can ever reference the segment (the commit's Put of the same item would fail).
   * Failure returns the existing item: committed (the commit won) or already aborted.
   *
   *   producer                         GC / ambiguity resolver
   *   PUT segment
   *   commit ... (slow, retrying)      fence F#seg ── ok: state=aborted
   *   commit ── rejected (F exists)    delete object (after grace)
   */
  async fenceSegment(
    segmentKey: string,
    nowMs: number,
  ): Promise<{ fenced: true } | { fenced: false; file: SegmentFile }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          // kept for a week (TTL): long after any producer could still try to commit it
          Item: {
            ...keys.segmentFile(segmentKey),
            state: 'aborted',
            refs: 0,
            bytes: 0,
            createdMs: nowMs,
            bases: [],
            releasedMs: nowMs,
            [TTL_ATTRIBUTE]: ttlSeconds(nowMs, 7 * 86_400),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { fenced: true };
    } catch (e) {
      if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, 'fence segment');
      const old = (e as { Item?: Record<string, AttributeValue> }).Item;
      const file = old ? parseSegmentFile(unmarshall(old)) : await this.getSegmentFile(segmentKey);
      if (!file) throw new RetriableError('UNAVAILABLE', `segment file ${segmentKey} vanished while fencing`);
      return { fenced: false, file };
    }
  }

  async getIdempotency(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const item = await this.getItem(keys.idempotency(key), 'get idempotency key');
    if (!item || (item.expiresAtMs as number) < nowMs) return undefined;
    return parseIdempotency(item);
  }

  async getProducer(producerId: string, nowMs: number): Promise<ProducerRecord | undefined> {
    const item = await this.getItem(keys.producer(producerId), 'get producer');
    if (!item || (item.expiresAtMs as number) < nowMs) return undefined;
    return parseProducer(item);
  }

  /**
   * Condition: `startOffset = :from AND nextOffset >= :to` (with `:from < :to`). The start
   * offset only moves forward, and never past the high watermark. Failure: another
   * retention run moved it first → `'conflict'` (re-read and retry).
   */
  async advanceStartOffset(
    topicId: string,
    partition: number,
    from: number,
    to: number,
    bytesRemoved: number,
  ): Promise<'ok' | 'conflict'> {
    if (to <= from) return 'conflict';
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.head(topicId, partition),
          UpdateExpression: 'SET startOffset = :to ADD bytes :minus',
          ConditionExpression:
            from === 0
              ? '(attribute_not_exists(startOffset) OR startOffset = :from) AND nextOffset >= :to'
              : 'startOffset = :from AND nextOffset >= :to',
          ExpressionAttributeValues: { ':from': from, ':to': to, ':minus': -bytesRemoved },
        }),
      );
      return 'ok';
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return 'conflict';
      throw translateAwsError(e, 'advance start offset');
    }
  }

  /**
   * Per entry, one transaction: Delete the entry (`attribute_exists(pk)`) and release its
   * segment reference (refs − 1). An entry already deleted fails its condition and
   * releases nothing, so concurrent or repeated runs never release twice.
   */
  async releaseIndexEntries(
    topicId: string,
    partition: number,
    entries: readonly { lastOffset: number; segmentKey: string }[],
    nowMs: number,
  ): Promise<number> {
    let released = 0;
    for (const e of entries) {
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.table,
                  Key: keys.indexEntry(topicId, partition, e.lastOffset),
                  ConditionExpression: 'attribute_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: this.table,
                  Key: keys.segmentFile(e.segmentKey),
                  UpdateExpression: 'ADD refs :minus SET releasedMs = :now',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeValues: { ':minus': -1, ':now': nowMs },
                },
              },
            ],
          }),
        );
        released++;
      } catch (err) {
        if (awsErrorName(err) !== 'TransactionCanceledException') throw translateAwsError(err, 'release index entry');
      }
    }
    return released;
  }

  async deleteHead(topicId: string, partition: number): Promise<void> {
    await translated('delete head', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.head(topicId, partition) })),
    );
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

  async readJobCursor(name: string): Promise<string | undefined> {
    const res = await translated('read job cursor', () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: keys.jobCursor(name), ConsistentRead: true })),
    );
    return res.Item?.cursor as string | undefined;
  }

  async writeJobCursor(name: string, cursor: string | undefined): Promise<void> {
    await translated('write job cursor', () =>
      cursor === undefined
        ? this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.jobCursor(name) }))
        : this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.jobCursor(name), cursor } })),
    );
  }

  async deleteSegmentFile(segmentKey: string): Promise<void> {
    await translated('delete segment file', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.segmentFile(segmentKey) })),
    );
  }

  /**
   * One transaction: Delete each old entry but the last (condition: still pointing at its
   * segment), overwrite the last one's key with the replacement (same condition; it covers
   * the same last offset), Put the new segment file (`attribute_not_exists`), and release
   * one reference per old entry from its segment file. Any failed condition → `'conflict'`.
   */
  async swapIndexEntries(
    old: readonly IndexEntry[],
    replacement: IndexEntry,
    segment: { key: string; bytes: number; createdMs: number },
    nowMs: number,
  ): Promise<'ok' | 'conflict'> {
    const { topicId, partition } = replacement;
    const last = old[old.length - 1];
    if (!last || last.lastOffset !== replacement.lastOffset)
      throw new InternalError('a swap must end at the same offset');
    const same = (e: IndexEntry) => ({
      ConditionExpression: 'segmentKey = :seg AND byteOffset = :off',
      ExpressionAttributeValues: { ':seg': e.segmentKey, ':off': e.byteOffset },
    });
    const releases = new Map<string, number>();
    for (const e of old) releases.set(e.segmentKey, (releases.get(e.segmentKey) ?? 0) + 1);
    const items: TransactItem[] = [
      ...old.slice(0, -1).map(
        (e): TransactItem => ({
          Delete: { TableName: this.table, Key: keys.indexEntry(topicId, partition, e.lastOffset), ...same(e) },
        }),
      ),
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.indexEntry(topicId, partition, replacement.lastOffset), ...indexAttributes(replacement) },
          ...same(last),
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: {
            ...keys.segmentFile(segment.key),
            state: 'committed',
            refs: 1,
            bytes: segment.bytes,
            createdMs: segment.createdMs,
            bases: [replacement.baseOffset],
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...[...releases].map(
        ([segKey, n]): TransactItem => ({
          Update: {
            TableName: this.table,
            Key: keys.segmentFile(segKey),
            UpdateExpression: 'ADD refs :minus SET releasedMs = :now',
            ExpressionAttributeValues: { ':minus': -n, ':now': nowMs },
          },
        }),
      ),
    ];
    if (items.length > 100) throw new InternalError(`a swap of ${items.length} items exceeds DynamoDB's 100`);
    const r = await this.transact('swap index entries', items);
    return r === 'ok' ? 'ok' : 'conflict';
  }

  private async getItem(key: ItemKey, what: string): Promise<Item | undefined> {
    const res = await translated(what, () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })),
    );
    return res.Item;
  }

  /** Runs a small admin transaction; `'failed'` when a condition failed. */
  private async transact(what: string, items: TransactItem[]): Promise<'ok' | 'failed'> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return 'ok';
    } catch (e) {
      if (awsErrorName(e) === 'TransactionCanceledException') {
        const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return 'failed';
        throw new RetriableError('UNAVAILABLE', `${what}: transaction cancelled (${reasons.map((r) => r.Code)})`, e);
      }
      throw translateAwsError(e, what);
    }
  }
}

function topicAttributes(t: TopicRecord): Item {
  return {
    name: t.name,
    topicId: t.topicId,
    partitions: t.partitions,
    retentionMs: t.retentionMs,
    retentionBytes: t.retentionBytes,
    createdMs: t.createdMs,
  };
}

function parseTopic(item: Item): TopicRecord {
  return {
    name: item.name as string,
    topicId: item.topicId as string,
    partitions: item.partitions as number,
    retentionMs: (item.retentionMs as number | null | undefined) ?? null,
    retentionBytes: (item.retentionBytes as number | null | undefined) ?? null,
    createdMs: item.createdMs as number,
  };
}

function parseHead(item: Item): PartitionHead {
  return {
    nextOffset: (item.nextOffset as number | undefined) ?? 0,
    startOffset: (item.startOffset as number | undefined) ?? 0,
    bytes: (item.bytes as number | undefined) ?? 0,
    lastAppendMs: (item.lastAppendMs as number | undefined) ?? 0,
    maxTimestamp: (item.maxTimestamp as number | undefined) ?? -1,
  };
}

function indexAttributes(e: IndexEntry): Item {
  return {
    baseOffset: e.baseOffset,
    segmentKey: e.segmentKey,
    byteOffset: e.byteOffset,
    byteLength: e.byteLength,
    minTimestamp: e.minTimestamp,
    maxTimestamp: e.maxTimestamp,
    maxTimestampSoFar: e.maxTimestampSoFar,
    appendMs: e.appendMs,
  };
}

function parseIndexEntry(item: Item, topicId: string, partition: number): IndexEntry {
  return {
    topicId,
    partition,
    baseOffset: item.baseOffset as number,
    lastOffset: parseIndexSk(item.sk as string),
    segmentKey: item.segmentKey as string,
    byteOffset: item.byteOffset as number,
    byteLength: item.byteLength as number,
    minTimestamp: item.minTimestamp as number,
    maxTimestamp: item.maxTimestamp as number,
    maxTimestampSoFar: item.maxTimestampSoFar as number,
    appendMs: item.appendMs as number,
  };
}

function parseSegmentFile(item: Item): SegmentFile {
  return {
    segmentKey: parseSegmentFilePk(item.pk as string),
    state: item.state as SegmentFile['state'],
    refs: item.refs as number,
    bytes: item.bytes as number,
    createdMs: item.createdMs as number,
    bases: (item.bases as number[] | undefined) ?? [],
    releasedMs: (item.releasedMs as number | undefined) ?? 0,
  };
}

function parseResult(item: Item): StoredProduceResult {
  return {
    requestHash: item.requestHash as string,
    chunks: item.chunks as StoredProduceResult['chunks'],
    order: item.order as string,
  };
}

function parseIdempotency(item: Item): IdempotencyRecord {
  return { key: item.key as string, expiresAtMs: item.expiresAtMs as number, ...parseResult(item) };
}

function parseProducer(item: Item): ProducerRecord {
  const recent: ProducerRecord['recent'][number][] = [];
  for (let i = 0; i < PRODUCER_RESULT_SLOTS; i++) {
    const slot = item[`r${i}`] as Item | undefined;
    if (slot) recent.push({ sequence: slot.sequence as number, ...parseResult(slot) });
  }
  return {
    producerId: item.producerId as string,
    nextSequence: item.nextSequence as number,
    recent: recent.sort((a, b) => a.sequence - b.sequence),
    expiresAtMs: item.expiresAtMs as number,
  };
}
