import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InternalError } from '../errors';
import { awsErrorName, translateAwsError } from './aws-errors';
import { DynamoTable, indexAttributes, type TransactItem } from './dynamo-table';
import { headAttributes, headShard, keys } from './layout';
import type { IndexEntry, LogTrim } from './ports';

/** Moving a partition's start offset, releasing index entries, and compaction's swap. */
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
   * Per entry, one transaction: Delete the entry (`attribute_exists(pk)`) and release its
   * segment reference (refs − 1). An entry already deleted fails its condition and
   * releases nothing, so concurrent or repeated runs never release twice.
   */
  async releaseIndexEntries(
    topicId: string,
    partition: number,
    entries: readonly { lastOffset: number; segmentKey: string }[],
    nowMs: number,
  ): Promise<number> {
    let released = 0;
    for (const e of entries) {
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.table,
                  Key: keys.indexEntry(topicId, partition, e.lastOffset),
                  ConditionExpression: 'attribute_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: this.table,
                  Key: keys.segmentFile(e.segmentKey),
                  UpdateExpression: 'ADD refs :minus SET releasedMs = :now',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeValues: { ':minus': -1, ':now': nowMs },
                },
              },
            ],
          }),
        );
        released++;
      } catch (err) {
        if (awsErrorName(err) !== 'TransactionCanceledException') throw translateAwsError(err, 'release index entry');
      }
    }
    return released;
  }

  /**
   * One transaction: Delete each old entry but the last (condition: still pointing at its
   * segment), overwrite the last one's key with the replacement (same condition; it covers
   * the same last offset), Put the new segment file (`attribute_not_exists`), and release
   * one reference per old entry from its segment file. Any failed condition → `'conflict'`.
   */
  async swapIndexEntries(
    old: readonly IndexEntry[],
    replacement: IndexEntry,
    segment: { key: string; bytes: number; createdMs: number },
    nowMs: number,
  ): Promise<'ok' | 'conflict'> {
    const { topicId, partition } = replacement;
    const last = old[old.length - 1];
    if (!last || last.lastOffset !== replacement.lastOffset)
      throw new InternalError('a swap must end at the same offset');
    const same = (e: IndexEntry) => ({
      ConditionExpression: 'segmentKey = :seg AND byteOffset = :off',
      ExpressionAttributeValues: { ':seg': e.segmentKey, ':off': e.byteOffset },
    });
    const releases = new Map<string, number>();
    for (const e of old) releases.set(e.segmentKey, (releases.get(e.segmentKey) ?? 0) + 1);
    const items: TransactItem[] = [
      ...old.slice(0, -1).map(
        (e): TransactItem => ({
          Delete: { TableName: this.table, Key: keys.indexEntry(topicId, partition, e.lastOffset), ...same(e) },
        }),
      ),
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.indexEntry(topicId, partition, replacement.lastOffset), ...indexAttributes(replacement) },
          ...same(last),
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: {
            ...keys.segmentFile(segment.key),
            state: 'committed',
            refs: 1,
            bytes: segment.bytes,
            createdMs: segment.createdMs,
            bases: [replacement.baseOffset],
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...[...releases].map(
        ([segKey, n]): TransactItem => ({
          Update: {
            TableName: this.table,
            Key: keys.segmentFile(segKey),
            UpdateExpression: 'ADD refs :minus SET releasedMs = :now',
            ExpressionAttributeValues: { ':minus': -n, ':now': nowMs },
          },
        }),
      ),
    ];
    if (items.length > 100) throw new InternalError(`a swap of ${items.length} items exceeds DynamoDB's 100`);
    const r = await this.transact('swap index entries', items);
    return r === 'ok' ? 'ok' : 'conflict';
  }
}
