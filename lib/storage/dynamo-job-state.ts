import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { translated } from './aws-errors';
import { batchWrite } from './dynamo-query';
import { DynamoTable } from './dynamo-table';
import { keys, padOffset, parseReleaseSk, RELEASE_SK_PREFIX } from './layout';
import { type JobState, RELEASE_BATCH_MAX, type ReleaseBatch } from './ports';

/** Job cursors of the maintenance job, and its queue of released segments. */
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

  /** One item per batch; the keys joined by newlines (segment keys never hold one). */
  async queueRelease(id: string, atMs: number, segmentKeys: readonly string[]): Promise<void> {
    if (segmentKeys.length === 0) return;
    if (segmentKeys.length > RELEASE_BATCH_MAX)
      throw new RangeError(`a release batch holds at most ${RELEASE_BATCH_MAX} keys`);
    await translated('queue released segments', () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.releaseBatch(atMs, id), segments: segmentKeys.join('\n') },
        }),
      ),
    );
  }

  async readReleases(beforeMs: number, limit: number): Promise<ReleaseBatch[]> {
    const res = await translated('read released segments', () =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': keys.jobPk,
            ':from': RELEASE_SK_PREFIX,
            ':to': `${RELEASE_SK_PREFIX}${padOffset(beforeMs)}`,
          },
          ConsistentRead: true,
          Limit: limit,
        }),
      ),
    );
    return (res.Items ?? []).map((item) => ({
      ref: item.sk as string,
      atMs: parseReleaseSk(item.sk as string),
      segmentKeys: (item.segments as string).split('\n'),
    }));
  }

  async deleteReleases(refs: readonly string[]): Promise<void> {
    await batchWrite(
      this.db,
      this.table,
      refs.map((sk) => ({ DeleteRequest: { Key: { pk: keys.jobPk, sk } } })),
      'delete release batches',
    );
  }
}
