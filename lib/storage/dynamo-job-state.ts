import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { translated } from './aws-errors';
import { DynamoTable } from './dynamo-table';
import { keys } from './layout';
import type { JobState } from './ports';

/** Job cursors of the maintenance job. */
export class DynamoJobState extends DynamoTable implements JobState {
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
}
