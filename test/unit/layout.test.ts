import { describe, expect, it } from 'vitest';
import { SeededRandom, ulid, ulidTimeMs } from '../../lib/ids';
import {
  callSk,
  groupItemKind,
  HEAD_SHARD_SIZE,
  headShard,
  itemKind,
  keys,
  leaseSkPrefix,
  padOffset,
  parseCallSk,
  parseGroupPartitionSk,
  parseGroupRegistrySk,
  parseSegmentFilePk,
  parseSegmentObjectKey,
  parseTopicRegistrySk,
  segmentObjectKey,
  ttlSeconds,
} from '../../lib/storage/layout';

const TOPIC_ID = '0f0e0d0c-0b0a-4908-8706-050403020100';

describe('persisted key formats', () => {
  it('call sort keys round-trip and sort like the sequences they hold', () => {
    const seqs = [0, 1, 9, 10, 99, 100, 2 ** 40, Number.MAX_SAFE_INTEGER];
    for (const q of seqs) expect(parseCallSk(callSk(q))).toBe(q);
    const sorted = seqs.map(callSk).sort();
    expect(sorted.map(parseCallSk)).toEqual(seqs);
    expect(padOffset(42)).toBe('00000000000000000042');
    expect(() => padOffset(-1)).toThrow(RangeError);
    expect(() => parseCallSk('Q#12')).toThrow(RangeError);
    // every call item sorts after the bare prefix a reader starts from
    expect(callSk(0) > 'Q#').toBe(true);
  });

  it('segment object keys round-trip and sort by creation time', () => {
    const rng = new SeededRandom(1);
    const times = [Date.UTC(2026, 10, 22, 14, 5), Date.UTC(2026, 10, 22, 15, 0), Date.UTC(2027, 0, 1)];
    const made = times.map((t) => {
      const id = ulid(t, rng);
      expect(ulidTimeMs(id)).toBe(t);
      return segmentObjectKey(id, t);
    });
    expect(made[0]).toMatch(/^segments\/2026\/11\/22\/14\/[0-9A-Z]{26}\.seg$/);
    expect([...made].sort()).toEqual(made);
    made.forEach((k, i) => {
      const parsed = parseSegmentObjectKey(k);
      expect(parsed?.hourMs).toBe(Math.floor((times[i] as number) / 3_600_000) * 3_600_000);
    });
    expect(parseSegmentObjectKey('segments/2026/11/22/14/nope.seg')).toBeUndefined();
  });

  it('item keys use the documented prefixes', () => {
    expect(keys.topic('orders')).toEqual({ pk: 'T#orders', sk: 'META' });
    expect(parseTopicRegistrySk(keys.topicRegistry('orders').sk)).toBe('orders');
    expect(keys.headShard('id', headShard(HEAD_SHARD_SIZE + 1))).toEqual({ pk: 'H#id#1', sk: 'HEAD' });
    expect(headShard(HEAD_SHARD_SIZE - 1)).toBe(0);
    expect(keys.callItem('id', 1, 5)).toEqual({ pk: 'C#id#1', sk: 'Q#00000000000000000005' });
    expect(keys.segmentFile('segments/x.seg').pk).toBe('F#segments/x.seg');
    expect(keys.idempotency('abc').pk).toBe('K#abc');
    expect(keys.producer('p1').pk).toBe('D#p1');
    expect(keys.groupRegistry('billing')).toEqual({ pk: 'GROUPS', sk: 'G#billing' });
    expect(parseGroupRegistrySk(keys.groupRegistry('billing').sk)).toBe('billing');
    expect(() => parseGroupRegistrySk('T#x')).toThrow(RangeError);
    expect(keys.jobCursor('gc')).toEqual({ pk: 'JOB', sk: 'gc' });
    expect(keys.subscription('billing')).toEqual({ pk: 'SUBS', sk: 'S#billing' });
  });

  it('group items, segment-file keys, the deleted-topic registry and the TTL rule parse back', () => {
    expect(groupItemKind(keys.member('g', 'm1').sk)).toBe('member');
    expect(groupItemKind(keys.lease('g', TOPIC_ID, 3).sk)).toBe('lease');
    expect(groupItemKind('O#1')).toBeUndefined(); // layout 3's offset items are not read
    expect(groupItemKind('X#1')).toBeUndefined();
    expect(keys.lease('g', TOPIC_ID, 3).sk.startsWith(leaseSkPrefix(TOPIC_ID))).toBe(true);
    expect(parseGroupPartitionSk(keys.lease('g', TOPIC_ID, 3).sk)).toEqual({ topicId: TOPIC_ID, partition: 3 });
    expect(() => parseGroupPartitionSk(`O#${TOPIC_ID}#3`)).toThrow(RangeError);
    expect(parseSegmentFilePk(keys.segmentFile('segments/2026/01/01/00/x.seg').pk)).toBe(
      'segments/2026/01/01/00/x.seg',
    );
    expect(() => parseSegmentFilePk('T#x')).toThrow(RangeError);
    expect(keys.deletedTopic(TOPIC_ID).pk).toBe(keys.deletedTopicsPk);
    // an item is kept at least until its logical expiry, then an hour's grace by default
    expect(ttlSeconds(1_000_500)).toBe(1001 + 3600);
    expect(ttlSeconds(1_000_000, 60)).toBe(1060);
  });

  it('every item key names its kind (the cost meter reports units by it)', () => {
    const kind = (k: { pk: string; sk: string }) => itemKind(k.pk, k.sk);
    expect(kind(keys.topic('orders'))).toBe('topic');
    expect(kind(keys.topicRegistry('orders'))).toBe('topic registry');
    expect(kind(keys.headShard(TOPIC_ID, 2))).toBe('head shard');
    expect(kind(keys.callItem(TOPIC_ID, 2, 9))).toBe('call item');
    expect(kind(keys.segmentFile('segments/x.seg'))).toBe('segment file');
    expect(kind(keys.idempotency('k'))).toBe('idempotency key');
    expect(kind(keys.producer('p'))).toBe('producer');
    expect(kind(keys.deletedTopic(TOPIC_ID))).toBe('deleted topic');
    expect(kind(keys.member('g', 'm'))).toBe('member');
    expect(kind(keys.lease('g', TOPIC_ID, 1))).toBe('lease');
    expect(kind(keys.groupRegistry('g'))).toBe('group registry');
    expect(kind(keys.subscription('s'))).toBe('subscription');
    expect(kind(keys.jobCursor('gc'))).toBe('job');
    expect(kind(keys.releaseBatch(1, 'x'))).toBe('job');
    expect(itemKind('Z#1', 'META')).toBe('other');
  });

  it('a seeded random source reproduces the same ids', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    expect(ulid(0, a)).toBe(ulid(0, b));
    expect(Buffer.from(a.bytes(33)).toString('hex')).toBe(Buffer.from(b.bytes(33)).toString('hex'));
  });
});
