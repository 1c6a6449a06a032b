import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { batchWrite, queryPartition } from './dynamo-query';
import {
  groupItemKind,
  keys,
  leaseSkPrefix,
  parseGroupPartitionSk,
  parseGroupRegistrySk,
  TTL_ATTRIBUTE,
  ttlSeconds,
} from './layout';
import type {
  CommitOffsetOutcome,
  CommittedOffsetRecord,
  GroupStore,
  LeaseRecord,
  MemberRecord,
  OffsetCommit,
} from './ports';

type Item = Record<string, unknown>;

/**
 * `GroupStore` on the Sluice table: members `G#{group}/M#{id}`, leases
 * `G#{group}/L#{topicId}#{p}`, committed offsets `G#{group}/O#{topicId}#{p}` — one
 * partition key per group, so one Query reads a whole group.
 */
export class DynamoGroupStore implements GroupStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putMember(group: string, m: MemberRecord, expiresAtMs: number): Promise<void> {
    await translated('put member', () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.member(group, m.memberId),
            memberId: m.memberId,
            topics: [...m.topics],
            lastHeartbeatMs: m.lastHeartbeatMs,
            sessionTimeoutMs: m.sessionTimeoutMs,
            ...(m.stalled?.length ? { stalled: [...m.stalled] } : {}),
            expiresAtMs,
            [TTL_ATTRIBUTE]: ttlSeconds(expiresAtMs),
          },
        }),
      ),
    );
  }

  async deleteMember(group: string, memberId: string): Promise<void> {
    await translated('delete member', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.member(group, memberId) })),
    );
  }

  async readGroup(group: string) {
    const members: MemberRecord[] = [];
    const leases: LeaseRecord[] = [];
    const offsets: CommittedOffsetRecord[] = [];
    for (const item of await queryPartition(this.db, this.table, keys.groupPk(group), 'read group')) {
      const sk = item.sk as string;
      const kind = groupItemKind(sk);
      if (kind === 'member') members.push(parseMember(item));
      else if (kind === 'lease') leases.push(parseLease(item));
      else if (kind === 'offset') offsets.push(parseOffset(item));
    }
    return { members, leases, offsets };
  }

  /**
   * Condition: no lease, or released, or ours, or expired by more than the skew bound
   * (`expiresAtMs < :now − maxClockSkewMs`, by the acquirer's clock). Sets owner, bumps the
   * epoch, sets expiry. Failure returns the holder's lease.
   *
   *   A holds epoch 4 until T          B (clock up to S ahead)
   *   A stops processing at T − S      B may acquire after T + S   → epoch 5
   *   A (zombie) commits with epoch 4  → FENCED
   */
  async acquireLease(
    group: string,
    l: { topicId: string; partition: number; memberId: string },
    nowMs: number,
    leaseDurationMs: number,
    maxClockSkewMs: number,
  ) {
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lease(group, l.topicId, l.partition),
          UpdateExpression:
            'SET #owner = :me, expiresAtMs = :exp, epoch = if_not_exists(epoch, :zero) + :one, topicId = :tid, #partition = :p',
          ConditionExpression:
            'attribute_not_exists(pk) OR attribute_not_exists(#owner) OR #owner = :me OR expiresAtMs < :cutoff',
          ExpressionAttributeNames: { '#owner': 'owner', '#partition': 'partition' },
          ExpressionAttributeValues: {
            ':me': l.memberId,
            ':exp': nowMs + leaseDurationMs,
            ':zero': 0,
            ':one': 1,
            ':tid': l.topicId,
            ':p': l.partition,
            ':cutoff': nowMs - maxClockSkewMs,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { acquired: true as const, lease: parseLease(res.Attributes as Item) };
    } catch (e) {
      return { acquired: false as const, lease: this.failedCondition(e, 'acquire lease') };
    }
  }

  /** Condition: `owner = :me AND epoch = :e`. Failure: the lease was taken (or released). */
  async renewLease(
    group: string,
    l: { topicId: string; partition: number; memberId: string; epoch: number },
    nowMs: number,
    leaseDurationMs: number,
  ) {
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lease(group, l.topicId, l.partition),
          UpdateExpression: 'SET expiresAtMs = :exp',
          ConditionExpression: '#owner = :me AND epoch = :e',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': l.memberId, ':e': l.epoch, ':exp': nowMs + leaseDurationMs },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { renewed: true as const, lease: parseLease(res.Attributes as Item) };
    } catch (e) {
      return { renewed: false as const, lease: this.failedCondition(e, 'renew lease') };
    }
  }

  /** Condition: `owner = :me AND epoch = :e`. Clears the owner; keeps the epoch. */
  async releaseLease(group: string, l: { topicId: string; partition: number; memberId: string; epoch: number }) {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lease(group, l.topicId, l.partition),
          UpdateExpression: 'REMOVE #owner SET expiresAtMs = :zero',
          ConditionExpression: '#owner = :me AND epoch = :e',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': l.memberId, ':e': l.epoch, ':zero': 0 },
        }),
      );
      return true;
    } catch (e) {
      this.failedCondition(e, 'release lease');
      return false;
    }
  }

  /**
   * One transaction: ConditionCheck the lease (`owner = :me AND epoch = :e`) and update the
   * offset iff it does not move backwards (`attribute_not_exists(offset) OR offset <= :o`).
   * Lease condition failed → FENCED (a zombie); offset condition failed → stale.
   */
  async commitOffset(group: string, c: OffsetCommit): Promise<CommitOffsetOutcome> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.table,
                Key: keys.lease(group, c.topicId, c.partition),
                ConditionExpression: '#owner = :me AND epoch = :e',
                ExpressionAttributeNames: { '#owner': 'owner' },
                ExpressionAttributeValues: { ':me': c.memberId, ':e': c.epoch },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: keys.committedOffset(group, c.topicId, c.partition),
                UpdateExpression:
                  'SET #offset = :o, epoch = :e, metadata = :md, committedMs = :now, topicId = :tid, #partition = :p',
                ConditionExpression: 'attribute_not_exists(#offset) OR #offset <= :o',
                ExpressionAttributeNames: { '#offset': 'offset', '#partition': 'partition' },
                ExpressionAttributeValues: {
                  ':o': c.offset,
                  ':e': c.epoch,
                  ':md': c.metadata,
                  ':now': c.nowMs,
                  ':tid': c.topicId,
                  ':p': c.partition,
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      );
      return { status: 'committed' };
    } catch (e) {
      if (awsErrorName(e) !== 'TransactionCanceledException') throw translateAwsError(e, 'commit offset');
      const reasons =
        (e as { CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[] })
          .CancellationReasons ?? [];
      const [leaseReason, offsetReason] = reasons;
      if (leaseReason?.Code === 'ConditionalCheckFailed') {
        return { status: 'fenced', lease: leaseReason.Item ? parseLease(unmarshall(leaseReason.Item)) : undefined };
      }
      if (offsetReason?.Code === 'ConditionalCheckFailed' && offsetReason.Item) {
        return { status: 'stale', committed: parseOffset(unmarshall(offsetReason.Item)).offset };
      }
      throw new RetriableError('UNAVAILABLE', `commit offset cancelled: ${reasons.map((r) => r.Code).join(', ')}`, e);
    }
  }

  async setOffsets(
    group: string,
    offsets: readonly { topicId: string; partition: number; offset: number }[],
    nowMs: number,
  ) {
    await batchWrite(
      this.db,
      this.table,
      offsets.map((o) => ({
        PutRequest: {
          Item: {
            ...keys.committedOffset(group, o.topicId, o.partition),
            topicId: o.topicId,
            partition: o.partition,
            offset: o.offset,
            epoch: 0,
            metadata: null,
            committedMs: nowMs,
          },
        },
      })),
      'reset offsets',
    );
  }

  /** `ADD topicIds :ids` on `GROUPS/G#{group}`: a string set, so repeating it changes nothing. */
  async registerGroup(group: string, topicIds: readonly string[]): Promise<void> {
    if (topicIds.length === 0) return;
    await translated('register group', () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.groupRegistry(group),
          UpdateExpression: 'ADD topicIds :ids',
          ExpressionAttributeValues: { ':ids': new Set(topicIds) },
        }),
      ),
    );
  }

  async listGroups() {
    const items = await queryPartition(this.db, this.table, keys.groupRegistryPk, 'list groups');
    return items.map((i) => ({
      group: parseGroupRegistrySk(i.sk as string),
      topicIds: [...((i.topicIds as Set<string> | undefined) ?? [])].sort(),
    }));
  }

  /** Queries the topic's `L#` and `O#` items, deletes them, then `DELETE topicIds :id`. */
  async forgetTopic(group: string, topicId: string): Promise<number> {
    const pk = keys.groupPk(group);
    const items = [
      ...(await queryPartition(this.db, this.table, pk, 'forget topic', leaseSkPrefix(topicId))),
      ...(await queryPartition(this.db, this.table, pk, 'forget topic', `O#${topicId}#`)),
    ];
    await batchWrite(
      this.db,
      this.table,
      items.map((i) => ({ DeleteRequest: { Key: { pk: i.pk, sk: i.sk } } })),
      'forget topic',
    );
    await translated('forget topic', () =>
      this.db
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.groupRegistry(group),
            UpdateExpression: 'DELETE topicIds :id',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':id': new Set([topicId]) },
          }),
        )
        .catch((e) => {
          if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw e;
        }),
    );
    return items.length;
  }

  /** For a failed conditional write: the old item, or rethrows anything else translated. */
  private failedCondition(e: unknown, what: string): LeaseRecord | undefined {
    if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, what);
    const old = (e as { Item?: Record<string, AttributeValue> }).Item;
    return old ? parseLease(unmarshall(old)) : undefined;
  }
}

function parseMember(item: Item): MemberRecord {
  return {
    memberId: item.memberId as string,
    topics: (item.topics as string[] | undefined) ?? [],
    lastHeartbeatMs: item.lastHeartbeatMs as number,
    sessionTimeoutMs: item.sessionTimeoutMs as number,
    ...(Array.isArray(item.stalled) && item.stalled.length ? { stalled: item.stalled as string[] } : {}),
  };
}

function parseLease(item: Item): LeaseRecord {
  const { topicId, partition } = parseGroupPartitionSk(item.sk as string);
  return {
    topicId,
    partition,
    owner: (item.owner as string | undefined) ?? null,
    epoch: (item.epoch as number | undefined) ?? 0,
    expiresAtMs: (item.expiresAtMs as number | undefined) ?? 0,
  };
}

function parseOffset(item: Item): CommittedOffsetRecord {
  const { topicId, partition } = parseGroupPartitionSk(item.sk as string);
  return {
    topicId,
    partition,
    offset: item.offset as number,
    epoch: (item.epoch as number | undefined) ?? 0,
    metadata: (item.metadata as string | null | undefined) ?? null,
    committedMs: (item.committedMs as number | undefined) ?? 0,
  };
}
