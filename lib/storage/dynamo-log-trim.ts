import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { awsErrorName, translateAwsError } from './aws-errors';
import { shardOfMoves } from './call-index';
import { batchWrite } from './dynamo-query';
import { DynamoTable } from './dynamo-table';
import { headAttributes, keys } from './layout';
import type { LogTrim, StartOffsetMove } from './ports';

/** Moving a partition's start offset and deleting the call items below it. */
export class DynamoLogTrim extends DynamoTable implements LogTrim {
  /**
   * One UpdateItem on the head shard, for every move: condition `s{p} = :from AND n{p} >= :to`
   * each (with `:from < :to`). Start offsets only move forward, and never past the high
   * watermark. Failure: another trim moved one first → `'conflict'` (re-read and retry).
   */
  async advanceStartOffsets(topicId: string, moves: readonly StartOffsetMove[]): Promise<'ok' | 'conflict'> {
    const shard = shardOfMoves(moves);
    if (shard === 'conflict') return 'conflict';
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const sets: string[] = [];
    const adds: string[] = [];
    const conditions: string[] = [];
    moves.forEach((m, i) => {
      const a = headAttributes(m.partition);
      Object.assign(names, { [`#s${i}`]: a.start, [`#b${i}`]: a.bytes, [`#n${i}`]: a.next });
      Object.assign(values, { [`:from${i}`]: m.from, [`:to${i}`]: m.to, [`:minus${i}`]: -m.bytesRemoved });
      sets.push(`#s${i} = :to${i}`);
      adds.push(`#b${i} :minus${i}`);
      const from = m.from === 0 ? `(attribute_not_exists(#s${i}) OR #s${i} = :from${i})` : `#s${i} = :from${i}`;
      conditions.push(`${from} AND #n${i} >= :to${i}`);
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.headShard(topicId, shard),
          UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return 'ok';
    } catch (e) {
      if (awsErrorName(e) === 'ConditionalCheckFailedException') return 'conflict';
      throw translateAwsError(e, 'advance start offsets');
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
