import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { type ItemKey, parseIndexSk, parseSegmentFilePk } from './layout';
import {
  type IdempotencyRecord,
  type IndexEntry,
  type PartitionHead,
  PRODUCER_RESULT_SLOTS,
  type ProducerRecord,
  type SegmentFile,
  type StoredProduceResult,
  type TopicRecord,
} from './ports';

/** An item as the document client reads and writes it. */
export type Item = Record<string, unknown>;
/** One action of a TransactWriteItems call. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * One DynamoDB table (`pk`, `sk`, TTL attribute `ttl`) and the helpers every role of the
 * metadata adapter uses. Every multi-writer transition is one conditional write,
 * documented at its method.
 */
export abstract class DynamoTable {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly table: string,
  ) {}

  protected async getItem(key: ItemKey, what: string): Promise<Item | undefined> {
    const res = await translated(what, () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })),
    );
    return res.Item;
  }

  /** Runs a small admin transaction; `'failed'` when a condition failed. */
  protected async transact(what: string, items: TransactItem[]): Promise<'ok' | 'failed'> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return 'ok';
    } catch (e) {
      if (awsErrorName(e) === 'TransactionCanceledException') {
        const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return 'failed';
        throw new RetriableError('UNAVAILABLE', `${what}: transaction cancelled (${reasons.map((r) => r.Code)})`, e);
      }
      throw translateAwsError(e, what);
    }
  }
}

/* Item codecs: the attribute layout of each item kind (the keys themselves are in layout.ts). */

export function topicAttributes(t: TopicRecord): Item {
  return {
    name: t.name,
    topicId: t.topicId,
    partitions: t.partitions,
    retentionMs: t.retentionMs,
    retentionBytes: t.retentionBytes,
    createdMs: t.createdMs,
  };
}

export function parseTopic(item: Item): TopicRecord {
  return {
    name: item.name as string,
    topicId: item.topicId as string,
    partitions: item.partitions as number,
    retentionMs: (item.retentionMs as number | null | undefined) ?? null,
    retentionBytes: (item.retentionBytes as number | null | undefined) ?? null,
    createdMs: item.createdMs as number,
  };
}

export function parseHead(item: Item): PartitionHead {
  return {
    nextOffset: (item.nextOffset as number | undefined) ?? 0,
    startOffset: (item.startOffset as number | undefined) ?? 0,
    bytes: (item.bytes as number | undefined) ?? 0,
    lastAppendMs: (item.lastAppendMs as number | undefined) ?? 0,
    maxTimestamp: (item.maxTimestamp as number | undefined) ?? -1,
  };
}

export function indexAttributes(e: IndexEntry): Item {
  return {
    baseOffset: e.baseOffset,
    segmentKey: e.segmentKey,
    byteOffset: e.byteOffset,
    byteLength: e.byteLength,
    minTimestamp: e.minTimestamp,
    maxTimestamp: e.maxTimestamp,
    maxTimestampSoFar: e.maxTimestampSoFar,
    appendMs: e.appendMs,
  };
}

export function parseIndexEntry(item: Item, topicId: string, partition: number): IndexEntry {
  return {
    topicId,
    partition,
    baseOffset: item.baseOffset as number,
    lastOffset: parseIndexSk(item.sk as string),
    segmentKey: item.segmentKey as string,
    byteOffset: item.byteOffset as number,
    byteLength: item.byteLength as number,
    minTimestamp: item.minTimestamp as number,
    maxTimestamp: item.maxTimestamp as number,
    maxTimestampSoFar: item.maxTimestampSoFar as number,
    appendMs: item.appendMs as number,
  };
}

export function parseSegmentFile(item: Item): SegmentFile {
  return {
    segmentKey: parseSegmentFilePk(item.pk as string),
    state: item.state as SegmentFile['state'],
    refs: item.refs as number,
    bytes: item.bytes as number,
    createdMs: item.createdMs as number,
    bases: (item.bases as number[] | undefined) ?? [],
    releasedMs: (item.releasedMs as number | undefined) ?? 0,
  };
}

export function parseResult(item: Item): StoredProduceResult {
  return {
    requestHash: item.requestHash as string,
    chunks: item.chunks as StoredProduceResult['chunks'],
    order: item.order as string,
  };
}

export function parseIdempotency(item: Item): IdempotencyRecord {
  return { key: item.key as string, expiresAtMs: item.expiresAtMs as number, ...parseResult(item) };
}

export function parseProducer(item: Item): ProducerRecord {
  const recent: ProducerRecord['recent'][number][] = [];
  for (let i = 0; i < PRODUCER_RESULT_SLOTS; i++) {
    const slot = item[`r${i}`] as Item | undefined;
    if (slot) recent.push({ sequence: slot.sequence as number, ...parseResult(slot) });
  }
  return {
    producerId: item.producerId as string,
    nextSequence: item.nextSequence as number,
    recent: recent.sort((a, b) => a.sequence - b.sequence),
    expiresAtMs: item.expiresAtMs as number,
  };
}
