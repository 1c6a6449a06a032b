import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mapLimit } from '../concurrency';
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
  SubscriptionRecord,
} from './ports';

type Item = Record<string, unknown>;

/** The lease item's attribute holding the epoch the committed offset was written under. */
const OFFSET_EPOCH = 'offsetEpoch';

/**
 * `GroupStore` on the Sluice table: members `G#{group}/M#{id}`, and per partition one lease
 * item `G#{group}/L#{topicId}#{p}` holding the lease (owner, epoch, expiry) and the
 * committed offset — one partition key per group, so one Query reads a whole group.
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
      else if (kind === 'lease') {
        leases.push(parseLease(item));
        if (typeof item.offset === 'number') offsets.push(parseOffset(item));
      }
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
      const item = res.Attributes as Item;
      return {
        acquired: true as const,
        lease: parseLease(item),
        ...(typeof item.offset === 'number' ? { committed: parseOffset(item) } : {}),
      };
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
   * One conditional UpdateItem on the partition's lease item, where the committed offset
   * lives: `owner = :me AND epoch = :e` and the offset does not move backwards
   * (`attribute_not_exists(offset) OR offset <= :o`). 1 write unit, not a 2-item
   * transaction (4). A failed condition returns the old item: another owner or epoch →
   * FENCED (a zombie), else the offset was ahead → stale. With `release`, the same write
   * gives the lease up (as `releaseLease`): a caught-up dispatcher's last two writes in one.
   */
  async commitOffset(group: string, c: OffsetCommit): Promise<CommitOffsetOutcome> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lease(group, c.topicId, c.partition),
          UpdateExpression:
            `SET #offset = :o, ${OFFSET_EPOCH} = :e, metadata = :md, committedMs = :now` +
            (c.release ? ', expiresAtMs = :zero REMOVE #owner' : ''),
          ConditionExpression: '#owner = :me AND epoch = :e AND (attribute_not_exists(#offset) OR #offset <= :o)',
          ExpressionAttributeNames: { '#offset': 'offset', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':me': c.memberId,
            ':o': c.offset,
            ':e': c.epoch,
            ':md': c.metadata,
            ':now': c.nowMs,
            ...(c.release ? { ':zero': 0 } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { status: 'committed' };
    } catch (e) {
      if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, 'commit offset');
      const old = (e as { Item?: Record<string, AttributeValue> }).Item;
      const item = old ? unmarshall(old) : undefined;
      if (item && item.owner === c.memberId && item.epoch === c.epoch && typeof item.offset === 'number') {
        return { status: 'stale', committed: item.offset };
      }
      return { status: 'fenced', lease: item ? parseLease(item) : undefined };
    }
  }

  /** Sets the offset attribute of each lease item (created if missing), leaving the lease as it is. */
  async setOffsets(
    group: string,
    offsets: readonly { topicId: string; partition: number; offset: number }[],
    nowMs: number,
  ) {
    await mapLimit(offsets, 8, (o) =>
      translated('reset offsets', () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.lease(group, o.topicId, o.partition),
            UpdateExpression: `SET #offset = :o, ${OFFSET_EPOCH} = :zero, metadata = :null, committedMs = :now, topicId = :tid, #partition = :p`,
            ExpressionAttributeNames: { '#offset': 'offset', '#partition': 'partition' },
            ExpressionAttributeValues: {
              ':o': o.offset,
              ':zero': 0,
              ':null': null,
              ':now': nowMs,
              ':tid': o.topicId,
              ':p': o.partition,
            },
          }),
        ),
      ),
    );
  }

  /** `ADD topicIds :ids` on `GROUPS/G#{group}`: a string set, so repeating it changes nothing. */
  async registerGroup(group: string, topicIds: readonly string[], nowMs: number): Promise<void> {
    if (topicIds.length === 0) return;
    await translated('register group', () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.groupRegistry(group),
          UpdateExpression: 'ADD topicIds :ids SET registeredMs = :now',
          ExpressionAttributeValues: { ':ids': new Set(topicIds), ':now': nowMs },
        }),
      ),
    );
  }

  /** One conditional DeleteItem per lease: `expiresAtMs < :cutoff AND attribute_not_exists(offset)`. */
  async deleteIdleLeases(
    group: string,
    leases: readonly { topicId: string; partition: number }[],
    expiredBeforeMs: number,
  ): Promise<number> {
    let deleted = 0;
    await mapLimit(leases, 8, async (l) => {
      try {
        await this.db.send(
          new DeleteCommand({
            TableName: this.table,
            Key: keys.lease(group, l.topicId, l.partition),
            ConditionExpression: 'expiresAtMs < :cutoff AND attribute_not_exists(#offset)',
            ExpressionAttributeNames: { '#offset': 'offset' },
            ExpressionAttributeValues: { ':cutoff': expiredBeforeMs },
          }),
        );
        deleted++;
      } catch (e) {
        if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, 'delete idle lease');
      }
    });
    return deleted;
  }

  /** Delete conditional on `registeredMs < cutoff` (or none: a registration of layout 4). */
  async unregisterGroup(group: string, registeredBeforeMs: number): Promise<boolean> {
    try {
      const res = await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.groupRegistry(group),
          ConditionExpression: 'attribute_not_exists(registeredMs) OR registeredMs < :cutoff',
          ExpressionAttributeValues: { ':cutoff': registeredBeforeMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return res.Attributes !== undefined;
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return false;
      throw translateAwsError(e, 'unregister group');
    }
  }

  async listGroups() {
    const items = await queryPartition(this.db, this.table, keys.groupRegistryPk, 'list groups');
    return items.map((i) => ({
      group: parseGroupRegistrySk(i.sk as string),
      topicIds: [...((i.topicIds as Set<string> | undefined) ?? [])].sort(),
    }));
  }

  /** Queries the topic's lease items (leases and offsets), deletes them, then `DELETE topicIds :id`. */
  async forgetTopic(group: string, topicId: string): Promise<number> {
    const pk = keys.groupPk(group);
    const items = await queryPartition(this.db, this.table, pk, 'forget topic', leaseSkPrefix(topicId));
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

  /** `SUBS/S#{name}`, iff absent. */
  async createSubscription(sub: SubscriptionRecord): Promise<'created' | 'exists'> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.subscription(sub.name), ...subscriptionAttributes(sub) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'created';
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return 'exists';
      throw translateAwsError(e, 'create subscription');
    }
  }

  async getSubscription(name: string): Promise<SubscriptionRecord | undefined> {
    const res = await translated('get subscription', () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: keys.subscription(name), ConsistentRead: true })),
    );
    return res.Item ? parseSubscription(res.Item) : undefined;
  }

  async listSubscriptions(): Promise<SubscriptionRecord[]> {
    const items = await queryPartition(this.db, this.table, keys.subscriptionsPk, 'list subscriptions');
    return items.map(parseSubscription);
  }

  /** Put conditional on `version = s.version − 1`. */
  async updateSubscription(sub: SubscriptionRecord): Promise<'ok' | 'conflict'> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.subscription(sub.name), ...subscriptionAttributes(sub) },
          ConditionExpression: 'version = :prev',
          ExpressionAttributeValues: { ':prev': sub.version - 1 },
        }),
      );
      return 'ok';
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return 'conflict';
      throw translateAwsError(e, 'update subscription');
    }
  }

  async deleteSubscription(name: string): Promise<boolean> {
    const res = await translated('delete subscription', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.subscription(name), ReturnValues: 'ALL_OLD' })),
    );
    return res.Attributes !== undefined;
  }

  /** For a failed conditional write: the old item, or rethrows anything else translated. */
  private failedCondition(e: unknown, what: string): LeaseRecord | undefined {
    if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, what);
    const old = (e as { Item?: Record<string, AttributeValue> }).Item;
    return old ? parseLease(unmarshall(old)) : undefined;
  }
}

function subscriptionAttributes(s: SubscriptionRecord): Item {
  return {
    name: s.name,
    definition: s.definition,
    version: s.version,
    createdMs: s.createdMs,
    updatedMs: s.updatedMs,
  };
}

function parseSubscription(item: Item): SubscriptionRecord {
  return {
    name: item.name as string,
    definition: item.definition as string,
    version: item.version as number,
    createdMs: item.createdMs as number,
    updatedMs: item.updatedMs as number,
  };
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
    epoch: (item[OFFSET_EPOCH] as number | undefined) ?? 0,
    metadata: (item.metadata as string | null | undefined) ?? null,
    committedMs: (item.committedMs as number | undefined) ?? 0,
  };
}
