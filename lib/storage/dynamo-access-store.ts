import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AclRecord, QuotaRecord } from '../access/model';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { queryPartition } from './dynamo-query';
import { ACL_SK_PREFIX, keys, QUOTA_SK_PREFIX, TTL_ATTRIBUTE } from './layout';
import type { AccessStore } from './ports';

/** The ACL entries (`ACLS/A#{id}`) and request quotas (`ACLS/Q#{id}`), their fields as attributes; request counters `R#{scope}#{second}`. */
export class DynamoAccessStore implements AccessStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Put iff absent (an entry's id is its content: a second put of it is `exists`). */
  async putAcl(acl: AclRecord): Promise<'created' | 'exists'> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.acl(acl.id), ...acl, operations: [...acl.operations] },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'created';
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return 'exists';
      throw translateAwsError(e, 'create ACL');
    }
  }

  async listAcls(): Promise<AclRecord[]> {
    const items = await queryPartition(this.db, this.table, keys.aclsPk, 'list ACLs', ACL_SK_PREFIX);
    return items.map((i) => ({
      id: i.id as string,
      principal: i.principal as string,
      effect: i.effect as AclRecord['effect'],
      resourceType: i.resourceType as AclRecord['resourceType'],
      resourceName: i.resourceName as string,
      pattern: i.pattern as AclRecord['pattern'],
      operations: i.operations as AclRecord['operations'],
      createdMs: i.createdMs as number,
      createdBy: i.createdBy as string,
    }));
  }

  async deleteAcl(id: string): Promise<boolean> {
    const res = await translated('delete ACL', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.acl(id), ReturnValues: 'ALL_OLD' })),
    );
    return res.Attributes !== undefined;
  }

  async putQuota(q: QuotaRecord): Promise<void> {
    await translated('put quota', () =>
      this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.quota(q.id), ...q } })),
    );
  }

  async listQuotas(): Promise<QuotaRecord[]> {
    const items = await queryPartition(this.db, this.table, keys.aclsPk, 'list quotas', QUOTA_SK_PREFIX);
    return items.map((i) => ({
      id: i.id as string,
      principal: i.principal as string,
      requestsPerSecond: i.requestsPerSecond as number,
      createdMs: i.createdMs as number,
      createdBy: i.createdBy as string,
    }));
  }

  async deleteQuota(id: string): Promise<boolean> {
    const res = await translated('delete quota', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.quota(id), ReturnValues: 'ALL_OLD' })),
    );
    return res.Attributes !== undefined;
  }

  /** `ADD n :one` on the second's counter iff `n < :limit`; the item expires a minute later (TTL). */
  async countRequest(scope: string, second: number, limit: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.requestCounter(scope, second),
          UpdateExpression: 'ADD n :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': second + 60 },
        }),
      );
      return true;
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return false;
      throw translateAwsError(e, 'count request');
    }
  }
}
