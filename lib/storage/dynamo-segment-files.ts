import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { RetriableError } from '../errors';
import { awsErrorName, translateAwsError } from './aws-errors';
import { batchGet, batchWrite } from './dynamo-query';
import { DynamoTable, parseSegmentFile } from './dynamo-table';
import { callSk, keys, TTL_ATTRIBUTE, ttlSeconds } from './layout';
import { type CallRef, callRefKey, type SegmentFile, type SegmentFiles } from './ports';

/** Segment-file items: references, the fence, and their removal after GC. */
export class DynamoSegmentFiles extends DynamoTable implements SegmentFiles {
  async getSegmentFile(segmentKey: string): Promise<SegmentFile | undefined> {
    const item = await this.getItem(keys.segmentFile(segmentKey), 'get segment file');
    return item ? parseSegmentFile(item) : undefined;
  }

  /** BatchGetItem, eventually consistent by default: half the read units; see the port for when that is safe. */
  async getSegmentFiles(segmentKeys: readonly string[], consistent = false): Promise<Map<string, SegmentFile>> {
    const items = await batchGet(
      this.db,
      this.table,
      segmentKeys.map(keys.segmentFile),
      consistent,
      'get segment files',
    );
    return new Map(items.map(parseSegmentFile).map((f) => [f.segmentKey, f]));
  }

  /**
   * Condition: no segment-file item (`attribute_not_exists(pk)`). Success means no commit
   * can ever reference the segment (the commit's Put of the same item would fail).
   * Failure returns the existing item: committed (the commit won) or already aborted.
   *
   *   producer                         GC / ambiguity resolver
   *   PUT segment
   *   commit ... (slow, retrying)      fence F#seg ── ok: state=aborted
   *   commit ── rejected (F exists)    delete object (after grace)
   */
  async fenceSegment(
    segmentKey: string,
    nowMs: number,
  ): Promise<{ fenced: true } | { fenced: false; file: SegmentFile }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          // kept for a week (TTL): long after any producer could still try to commit it
          Item: {
            ...keys.segmentFile(segmentKey),
            state: 'aborted',
            bytes: 0,
            createdMs: nowMs,
            [TTL_ATTRIBUTE]: ttlSeconds(nowMs, 7 * 86_400),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { fenced: true };
    } catch (e) {
      if (awsErrorName(e) !== 'ConditionalCheckFailedException') throw translateAwsError(e, 'fence segment');
      const old = (e as { Item?: Record<string, AttributeValue> }).Item;
      const file = old ? parseSegmentFile(unmarshall(old)) : await this.getSegmentFile(segmentKey);
      if (!file) throw new RetriableError('UNAVAILABLE', `segment file ${segmentKey} vanished while fencing`);
      return { fenced: false, file };
    }
  }

  /** Strongly consistent BatchGetItem of the call items (≤ 4 KB each: 1 read unit per item). */
  async existingCalls(calls: readonly CallRef[]): Promise<Set<string>> {
    const items = await batchGet(
      this.db,
      this.table,
      calls.map((c) => keys.callItem(c.topicId, c.shard, c.seq)),
      true,
      'check call items',
    );
    const wanted = new Map(calls.map((c) => [`${keys.callItem(c.topicId, c.shard, c.seq).pk}|${callSk(c.seq)}`, c]));
    const out = new Set<string>();
    for (const item of items) {
      const c = wanted.get(`${item.pk as string}|${item.sk as string}`);
      if (c) out.add(callRefKey(c));
    }
    return out;
  }

  async deleteSegmentFiles(segmentKeys: readonly string[]): Promise<void> {
    await batchWrite(
      this.db,
      this.table,
      segmentKeys.map((k) => ({ DeleteRequest: { Key: { ...keys.segmentFile(k) } } })),
      'delete segment files',
    );
  }
}
