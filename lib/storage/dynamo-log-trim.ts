import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../concurrency';
import { awsErrorName, translateAwsError } from './aws-errors';
import { DynamoTable } from './dynamo-table';
import { headAttributes, headShard, keys } from './layout';
import type { LogTrim } from './ports';

/** Moving a partition's start offset and releasing the call items below it. */
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

  /**
   * Per call item, one transaction: Delete the item (`attribute_exists(pk)`) and release its
   * segment reference (refs − 1). An item already deleted fails its condition and releases
   * nothing, so concurrent or repeated runs never release twice. Items run 8 at a time.
   */
  async releaseCalls(
    topicId: string,
    shard: number,
    calls: readonly { seq: number; segmentKey: string }[],
    nowMs: number,
  ): Promise<number> {
    const released = await mapLimit(calls, 8, async (call) => {
      const r = await this.transact('release call item', [
        {
          Delete: {
            TableName: this.table,
            Key: keys.callItem(topicId, shard, call.seq),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        {
          Update: {
            TableName: this.table,
            Key: keys.segmentFile(call.segmentKey),
            UpdateExpression: 'ADD refs :minus SET releasedMs = :now',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':minus': -1, ':now': nowMs },
          },
        },
      ]);
      return r === 'ok' ? 1 : 0;
    });
    return released.reduce<number>((n, x) => n + x, 0);
  }
}
