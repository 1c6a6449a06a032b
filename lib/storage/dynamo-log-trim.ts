import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { awsErrorName, translateAwsError } from './aws-errors';
import { shardHeadAfterMoves, shardOfMoves } from './call-index';
import { batchWrite } from './dynamo-query';
import { DynamoTable, headShardRewrite, parseShardHead } from './dynamo-table';
import { keys } from './layout';
import type { LogTrim, StartOffsetMove } from './ports';

/** How often a trim re-reads and retries a head shard that commits keep changing. */
const TRIM_ATTEMPTS = 8;

/** Moving a partition's start offset and deleting the call items below it. */
export class DynamoLogTrim extends DynamoTable implements LogTrim {
  /**
   * A strong read of the head shard and one conditional UpdateItem of its packed heads, for
   * every move: the moves must apply to the heads read (each partition's start is `from`, and
   * `to` ≤ its next offset), and the write is conditioned on the call sequence and the heads
   * being those read, so a commit in between (which rewrites the heads) is never undone.
   * Start offsets only move forward, and never past the high watermark. A commit that lands
   * between the read and the write leaves the moves applicable, so the trim reads again and
   * retries (up to `TRIM_ATTEMPTS`: a busy shard must not starve retention). `'conflict'`: a
   * move no longer applies (another trim moved it first) — re-read and decide again.
   */
  async advanceStartOffsets(topicId: string, moves: readonly StartOffsetMove[]): Promise<'ok' | 'conflict'> {
    const shard = shardOfMoves(moves);
    if (shard === 'conflict') return 'conflict';
    const key = keys.headShard(topicId, shard);
    for (let attempt = 1; ; attempt++) {
      const item = await this.getItem(key, 'read a head shard to trim');
      if (!item) return 'conflict';
      const head = parseShardHead(item);
      const after = shardHeadAfterMoves(head, moves);
      if (after === 'conflict') return 'conflict';
      try {
        await this.db.send(new UpdateCommand({ TableName: this.table, Key: key, ...headShardRewrite(head, after) }));
        return 'ok';
      } catch (e) {
        if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, 'advance start offsets');
        if (attempt >= TRIM_ATTEMPTS) return 'conflict';
      }
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
