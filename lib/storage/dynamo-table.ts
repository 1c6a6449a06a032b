import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { RetriableError } from '../errors';
import { awsErrorName, translateAwsError, translated } from './aws-errors';
import { BinaryReader, BinaryWriter } from './binary';
import { decodeCall, decodeCallRefs, encodeCall } from './call-codec';
import { EMPTY_SHARD_HEAD } from './call-index';
import { allEmpty, decodeHeads, encodeHeads } from './head-codec';
import { HEADS_ATTRIBUTE, type ItemKey, parseCallSk, parseSegmentFilePk, SHARD_SEQ_ATTRIBUTE } from './layout';
import {
  type CallRecord,
  type IdempotencyRecord,
  PRODUCER_RESULT_SLOTS,
  type ProducerRecord,
  type SegmentFile,
  type ShardHead,
  type StoredProduceResult,
  type TopicRecord,
} from './ports';
import { decodeStoredResult, encodeStoredResult } from './stored-result-codec';

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

/** A shard's head out of its item (absent, or no heads yet: nobody wrote to the shard). */
export function parseShardHead(item: Item | undefined): ShardHead {
  const packed = item?.[HEADS_ATTRIBUTE] as Uint8Array | undefined;
  return {
    seq: (item?.[SHARD_SEQ_ATTRIBUTE] as number | undefined) ?? 0,
    heads: packed ? decodeHeads(packed, `head shard ${item?.pk as string}`) : EMPTY_SHARD_HEAD.heads,
  };
}

/**
 * The one conditional write of a head shard item, for commits and trims alike: it rewrites the
 * call sequence and the packed heads as `after`, on condition that both are still `read`'s —
 * the bytes of `h` equal what `read` packs to (the encoding is canonical), or no heads at all
 * when nobody wrote to the shard — so neither writer can undo what another wrote since its read.
 */
export function headShardRewrite(
  read: ShardHead,
  after: ShardHead,
): {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  const empty = allEmpty(read.heads);
  return {
    UpdateExpression: 'SET #q = :seqAfter, #h = :heads',
    ConditionExpression: `#q = :seq AND ${empty ? 'attribute_not_exists(#h)' : '#h = :old'}`,
    ExpressionAttributeNames: { '#q': SHARD_SEQ_ATTRIBUTE, '#h': HEADS_ATTRIBUTE },
    ExpressionAttributeValues: {
      ':seq': read.seq,
      ':seqAfter': after.seq,
      ':heads': encodeHeads(after.heads),
      ...(empty ? {} : { ':old': encodeHeads(read.heads) }),
    },
  };
}

/** A call item's attributes (besides its key): the packed body. */
export function callAttributes(call: CallRecord): Item {
  return { c: encodeCall(call) };
}

export function parseCall(item: Item, topicId: string, shard: number): CallRecord {
  return decodeCall(item.c as Uint8Array, topicId, shard, parseCallSk(item.sk as string));
}

/**
 * A committed segment-file item's `bases` (its chunks' base offsets, the answer of an
 * ambiguous commit): packed as deltas, a byte or two per chunk where a number list took ~7.
 */
export function packBases(bases: readonly number[]): Uint8Array {
  return new BinaryWriter().deltas(bases).done();
}

function unpackBases(packed: Uint8Array | undefined, segmentKey: string): number[] {
  if (!packed) return [];
  const r = new BinaryReader(packed, `segment file ${segmentKey}`);
  const bases = r.deltas();
  r.end();
  return bases;
}

export function parseSegmentFile(item: Item): SegmentFile {
  return {
    segmentKey: parseSegmentFilePk(item.pk as string),
    state: item.state as SegmentFile['state'],
    calls: item.calls ? decodeCallRefs(item.calls as Uint8Array, parseSegmentFilePk(item.pk as string)) : [],
    bytes: item.bytes as number,
    createdMs: item.createdMs as number,
    bases: unpackBases(item.bases as Uint8Array | undefined, parseSegmentFilePk(item.pk as string)),
  };
}

/** The attribute of a producer record's slot `i` (sequence `s` lives in slot `s % SLOTS`). */
function slotAttribute(i: number): string {
  return `r${i}`;
}

/** The attribute of a producer record's slot for `sequence`. */
export function producerSlot(sequence: number): string {
  return slotAttribute(sequence % PRODUCER_RESULT_SLOTS);
}

export function idempotencyAttributes(key: string, result: StoredProduceResult): Item {
  return { key, result: encodeStoredResult(result) };
}

export function parseIdempotency(item: Item): IdempotencyRecord {
  return {
    key: item.key as string,
    expiresAtMs: item.expiresAtMs as number,
    ...decodeStoredResult(item.result as Uint8Array),
  };
}

/** A producer slot's value: the sequence and its answer, packed. */
export function producerSlotValue(sequence: number, result: StoredProduceResult): Uint8Array {
  return encodeStoredResult(result, sequence);
}

export function parseProducer(item: Item): ProducerRecord {
  const recent: ProducerRecord['recent'][number][] = [];
  for (let i = 0; i < PRODUCER_RESULT_SLOTS; i++) {
    const slot = item[slotAttribute(i)] as Uint8Array | undefined;
    if (slot) recent.push(decodeStoredResult(slot, true));
  }
  return {
    producerId: item.producerId as string,
    nextSequence: item.nextSequence as number,
    recent: recent.sort((a, b) => a.sequence - b.sequence),
    expiresAtMs: item.expiresAtMs as number,
  };
}
