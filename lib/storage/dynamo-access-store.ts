import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AclRecord } from '../access/model';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { queryPartition } from './dynamo-query';
import { keys } from './layout';
import type { AccessStore } from './ports';

/** The ACL entries: `ACLS/A#{id}`, the entry's fields as attributes. */
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
    const items = await queryPartition(this.db, this.table, keys.aclsPk, 'list ACLs');
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
}
