import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { awsErrorName, translateAwsError } from './aws-errors';
import { batchWrite } from './dynamo-query';
import { DynamoTable } from './dynamo-table';
import { headAttributes, headShard, keys } from './layout';
import type { LogTrim } from './ports';

/** Moving a partition's start offset and deleting the call items below it. */
export class DynamoLogTrim extends DynamoTable implements LogTrim {
  /**
   * Condition: `s{p} = :from AND n{p} >= :to` on the partition's head shard (with
   * `:from < :to`). The start offset only moves forward, and never past the high watermark.
   * Failure: another retention run moved it first → `'conflict'` (re-read and retry).
   */
  async advanceStartOffset(
    topicId: string,
    partition: number,
    from: number,
    to: number,
    bytesRemoved: number,
  ): Promise<'ok' | 'conflict'> {
    if (to <= from) return 'conflict';
    const a = headAttributes(partition);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.headShard(topicId, headShard(partition)),
          UpdateExpression: 'SET #s = :to ADD #b :minus',
          ConditionExpression:
            from === 0 ? '(attribute_not_exists(#s) OR #s = :from) AND #n >= :to' : '#s = :from AND #n >= :to',
          ExpressionAttributeNames: { '#s': a.start, '#b': a.bytes, '#n': a.next },
          ExpressionAttributeValues: { ':from': from, ':to': to, ':minus': -bytesRemoved },
        }),
      );
      return 'ok';
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return 'conflict';
      throw translateAwsError(e, 'advance start offset');
    }
  }

  /** BatchWriteItem deletes, 25 a request: 1 write unit per call item, no transaction. */
  async releaseCalls(topicId: string, shard: number, seqs: readonly number[]): Promise<void> {
    await batchWrite(
      this.db,
      this.table,
      seqs.map((seq) => ({ DeleteRequest: { Key: { ...keys.callItem(topicId, shard, seq) } } })),
      'release call items',
    );
  }
}
