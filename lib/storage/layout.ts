/**
 * The storage layout: every persisted name, built and parsed in one place, free of any SDK
 * so that the adapters, the local provisioner and the CDK construct share it. DynamoDB keys
 * (one table, `pk` and `sk`) and S3 object keys are formats: zero-padded so they sort,
 * round-trip tested. Also here: the table's key schema, its TTL attribute and rule, the
 * segment prefix, and the environment variables a deployed function reads.
 *
 * | item              | pk                      | sk                   |
 * |-------------------|-------------------------|----------------------|
 * | topic             | T#{name}                | META                 |
 * | topic registry    | TOPICS                  | T#{name}             |
 * | head shard        | H#{topicId}#{shard}     | HEAD                 |
 * | call item         | C#{topicId}#{shard}     | Q#{seq:020}          |
 * | segment file      | F#{segmentKey}          | META                 |
 * | idempotency key   | K#{key}                 | META                 |
 * | producer          | D#{producerId}          | META                 |
 * | deleted topic     | DELETED                 | T#{topicId}          |
 * | group member      | G#{group}               | M#{memberId}         |
 * | partition lease   | G#{group}               | L#{topicId}#{p}      |
 * |  + committed offset (the same item: one conditional write commits under the lease)  |
 * | group registry    | GROUPS                  | G#{group}            |
 * | subscription      | SUBS                    | S#{name}             |
 * | ACL entry         | ACLS                    | A#{id}               |
 * | request quota     | ACLS                    | Q#{id}               |
 * | request counter   | R#{scope}#{second}      | META                 |
 * | job cursor        | JOB                     | {name}               |
 * | release batch     | JOB                     | R#{atMs:020}#{id}    |
 *
 * The heads of partitions `48·shard … 48·shard + 47` share one item (`HEAD_SHARD_SIZE`), packed
 * into one binary attribute (`HEADS_ATTRIBUTE`, `head-codec.ts`): a commit touching many
 * partitions of a topic updates a few items, not one per partition, and one conditional write
 * is atomic across the partitions of its shard. 48 because DynamoDB bills an item write per
 * started KB with a transaction doubling it: a full shard's packed heads (~0.6 KB) and call
 * item (~1 KB) cost 2 + 2 units for 48 partitions, where three shards of 16 cost 3 × (2 + 2).
 *
 * The index is one call item per produce call per head shard it touched, numbered by the
 * shard's call sequence (`seq` in the head shard, moved by every commit with a
 * compare-and-set): the chunks of the shard's partitions in that call and every partition's
 * next offset after it. A partition's chunks are found by their shard's call items in order;
 * the next offsets make "the first call holding offset `o` of partition `p`" a binary search.
 */

/** The table's primary key: two string attributes. */
export const TABLE_KEY = { partitionKey: 'pk', sortKey: 'sk' } as const;

/** The table's TTL attribute (epoch seconds). */
export const TTL_ATTRIBUTE = 'ttl';

/**
 * The TTL value of an item that expires at `expiresAtMs`, plus `graceS` seconds. DynamoDB
 * deletes expired items lazily (up to days late), so every reader also checks the item's
 * own expiry; the grace keeps an item at least until its logical expiry has passed.
 */
export function ttlSeconds(expiresAtMs: number, graceS = 3600): number {
  return Math.ceil(expiresAtMs / 1000) + graceS;
}

/** Environment variables a deployed Sluice function reads (set by `EventLog.bindEnvironment`). */
export const ENVIRONMENT = { bucket: 'SLUICE_BUCKET', table: 'SLUICE_TABLE' } as const;

/** A DynamoDB primary key. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

const META = 'META';

/**
 * The storage layout's version. Data written by an earlier layout is not readable by this one
 * (version 2: partition heads are shared by 16 partitions; dedupe answers are binary.
 * Version 3: one call item per call and head shard replaces one index entry per chunk.
 * Version 4: a group's committed offset lives in its partition's lease item; head shards of
 * 48 partitions instead of 16. Version 5: a dedupe answer keeps each topic's route and the
 * chunks' base offsets as deltas instead of a byte per record and the partition of every chunk;
 * a head shard's heads are one packed binary attribute instead of four numbers per partition;
 * a segment-file item's bases are packed deltas instead of a number list).
 */
export const LAYOUT_VERSION = 5;

/** Partitions whose heads share one item. */
export const HEAD_SHARD_SIZE = 48;

/** The head shard holding partition `p`. */
export function headShard(partition: number): number {
  return Math.floor(partition / HEAD_SHARD_SIZE);
}

/** The attribute of a head shard item holding its call sequence. */
export const SHARD_SEQ_ATTRIBUTE = 'q';

/** The attribute of a head shard item holding its partitions' heads, packed (`head-codec.ts`). */
export const HEADS_ATTRIBUTE = 'h';

const OFFSET_DIGITS = 20;

/** Zero-pads a non-negative integer to 20 digits (sorts as a string). */
export function padOffset(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not an offset: ${n}`);
  return n.toString().padStart(OFFSET_DIGITS, '0');
}

export const keys = {
  topic: (name: string): ItemKey => ({ pk: `T#${name}`, sk: META }),
  topicRegistry: (name: string): ItemKey => ({ pk: 'TOPICS', sk: `T#${name}` }),
  topicRegistryPk: 'TOPICS',
  headShard: (topicId: string, shard: number): ItemKey => ({ pk: `H#${topicId}#${shard}`, sk: 'HEAD' }),
  callsPk: (topicId: string, shard: number): string => `C#${topicId}#${shard}`,
  callItem: (topicId: string, shard: number, seq: number): ItemKey => ({
    pk: keys.callsPk(topicId, shard),
    sk: callSk(seq),
  }),
  segmentFile: (segmentKey: string): ItemKey => ({ pk: `F#${segmentKey}`, sk: META }),
  idempotency: (key: string): ItemKey => ({ pk: `K#${key}`, sk: META }),
  producer: (producerId: string): ItemKey => ({ pk: `D#${producerId}`, sk: META }),
  deletedTopic: (topicId: string): ItemKey => ({ pk: keys.deletedTopicsPk, sk: `T#${topicId}` }),
  deletedTopicsPk: 'DELETED',
  groupPk: (group: string): string => `G#${group}`,
  member: (group: string, memberId: string): ItemKey => ({ pk: `G#${group}`, sk: `M#${memberId}` }),
  lease: (group: string, topicId: string, partition: number): ItemKey => ({
    pk: `G#${group}`,
    sk: `L#${topicId}#${partition}`,
  }),
  groupRegistry: (group: string): ItemKey => ({ pk: 'GROUPS', sk: `G#${group}` }),
  groupRegistryPk: 'GROUPS',
  subscription: (name: string): ItemKey => ({ pk: keys.subscriptionsPk, sk: `S#${name}` }),
  subscriptionsPk: 'SUBS',
  acl: (id: string): ItemKey => ({ pk: keys.aclsPk, sk: `${ACL_SK_PREFIX}${id}` }),
  aclsPk: 'ACLS',
  quota: (id: string): ItemKey => ({ pk: keys.aclsPk, sk: `${QUOTA_SK_PREFIX}${id}` }),
  requestCounter: (scope: string, second: number): ItemKey => ({ pk: `R#${scope}#${second}`, sk: META }),
  jobCursor: (name: string): ItemKey => ({ pk: 'JOB', sk: name }),
  jobPk: 'JOB',
  releaseBatch: (atMs: number, id: string): ItemKey => ({
    pk: 'JOB',
    sk: `${RELEASE_SK_PREFIX}${padOffset(atMs)}#${id}`,
  }),
} as const;

/** The kinds of item the table holds, as the cost meter reports them. */
export type ItemKind =
  | 'topic'
  | 'topic registry'
  | 'head shard'
  | 'call item'
  | 'segment file'
  | 'idempotency key'
  | 'producer'
  | 'deleted topic'
  | 'member'
  | 'lease'
  | 'group registry'
  | 'subscription'
  | 'acl'
  | 'request counter'
  | 'job'
  | 'other';

const ITEM_KINDS_BY_PK_PREFIX: Readonly<Record<string, ItemKind>> = {
  'T#': 'topic',
  'H#': 'head shard',
  'C#': 'call item',
  'F#': 'segment file',
  'K#': 'idempotency key',
  'D#': 'producer',
  'R#': 'request counter',
};

/** The kind of item a key names (see the table above); `other` for none of them. */
export function itemKind(pk: string, sk: string): ItemKind {
  if (pk === keys.topicRegistryPk) return 'topic registry';
  if (pk === keys.deletedTopicsPk) return 'deleted topic';
  if (pk === keys.groupRegistryPk) return 'group registry';
  if (pk === keys.subscriptionsPk) return 'subscription';
  if (pk === keys.aclsPk) return 'acl';
  if (pk === keys.jobPk) return 'job';
  if (pk.startsWith('G#')) return groupItemKind(sk) ?? 'other';
  return ITEM_KINDS_BY_PK_PREFIX[pk.slice(0, 2)] ?? 'other';
}

/** Sort-key prefixes of the ACLS partition: ACL entries and request quotas. */
export const ACL_SK_PREFIX = 'A#';
export const QUOTA_SK_PREFIX = 'Q#';

/** Sort-key prefix of release batches in the JOB partition (job cursor names never start so). */
export const RELEASE_SK_PREFIX = 'R#';

/** The time a release batch's sort key holds. */
export function parseReleaseSk(sk: string): number {
  const m = /^R#(\d{20})#/.exec(sk);
  if (!m) throw new RangeError(`not a release batch key: ${sk}`);
  return Number(m[1]);
}

/** Sort-key prefix of a topic's lease items (lease and committed offset) in a group. */
export function leaseSkPrefix(topicId: string): string {
  return `L#${topicId}#`;
}

/** What an item of a group's partition is, by its sort key. */
export function groupItemKind(sk: string): 'member' | 'lease' | undefined {
  return sk.startsWith('M#') ? 'member' : sk.startsWith('L#') ? 'lease' : undefined;
}

/** The segment key of a segment-file item's partition key. */
export function parseSegmentFilePk(pk: string): string {
  if (!pk.startsWith('F#')) throw new RangeError(`not a segment-file key: ${pk}`);
  return pk.slice(2);
}

/** Parses the `{topicId}#{p}` tail of a lease item's sort key (`L#…`). */
export function parseGroupPartitionSk(sk: string): { topicId: string; partition: number } {
  const m = /^L#([0-9a-f-]{36})#(\d+)$/.exec(sk);
  if (!m) throw new RangeError(`not a lease sort key: ${sk}`);
  return { topicId: m[1] as string, partition: Number(m[2]) };
}

/** The group name of a group registry sort key. */
export function parseGroupRegistrySk(sk: string): string {
  if (!sk.startsWith('G#')) throw new RangeError(`not a group registry key: ${sk}`);
  return sk.slice(2);
}

/** Sort key of a call item. */
export function callSk(seq: number): string {
  return `Q#${padOffset(seq)}`;
}

/** The sequence encoded in a call item's sort key. */
export function parseCallSk(sk: string): number {
  const m = /^Q#(\d{20})$/.exec(sk);
  if (!m) throw new RangeError(`not a call sort key: ${sk}`);
  return Number(m[1]);
}

/** The topic name of a topic registry sort key. */
export function parseTopicRegistrySk(sk: string): string {
  if (!sk.startsWith('T#')) throw new RangeError(`not a topic registry key: ${sk}`);
  return sk.slice(2);
}

const SEGMENT_KEY = /^segments\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/([0-9A-HJKMNP-TV-Z]{26})\.seg$/;

/** S3 key of a segment: `segments/YYYY/MM/DD/HH/{ulid}.seg` (UTC hour of creation). */
export function segmentObjectKey(id: string, createdMs: number): string {
  const d = new Date(createdMs);
  const p2 = (n: number) => n.toString().padStart(2, '0');
  return `segments/${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}/${p2(d.getUTCHours())}/${id}.seg`;
}

/** Parses a segment key into its id and the UTC hour prefix; undefined if not a segment key. */
export function parseSegmentObjectKey(key: string): { id: string; hourMs: number } | undefined {
  const m = SEGMENT_KEY.exec(key);
  if (!m) return undefined;
  const [, y, mo, d, h, id] = m;
  return { id: id as string, hourMs: Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h)) };
}

/** Prefix under which every segment object lives. */
export const SEGMENT_PREFIX = 'segments/';
