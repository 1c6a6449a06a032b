/**
 * The trigger's reading of head-shard stream records, and the local dispatch queue's rules
 * (one drive per subscription partition at a time; work arriving meanwhile runs after it).
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock';
import { encodeHeads } from '../../lib/storage/head-codec';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import { EMPTY_HEAD, type PartitionHead } from '../../lib/storage/ports';
import {
  DispatchQueue,
  grownPartitions,
  type SubscriptionTrigger,
  type Work,
  type WorkResult,
} from '../../lib/subscriptions/trigger';

const heads = (next: Record<number, number>, start: Record<number, number> = {}): Uint8Array => {
  const list: PartitionHead[] = Array.from({ length: HEAD_SHARD_SIZE }, () => EMPTY_HEAD);
  for (const [p, n] of Object.entries(next))
    list[Number(p)] = { nextOffset: n, startOffset: start[Number(p)] ?? 0, bytes: n * 10, maxTimestamp: 1 };
  return encodeHeads(list);
};
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const record = (
  pk: string,
  before: Uint8Array | undefined,
  after: Uint8Array,
  asBase64 = false,
  eventName = 'MODIFY',
) => ({
  eventName,
  dynamodb: {
    Keys: { pk: { S: pk }, sk: { S: 'HEAD' } },
    NewImage: { h: { B: asBase64 ? b64(after) : after } },
    ...(before ? { OldImage: { h: { B: asBase64 ? b64(before) : before } } } : {}),
  },
});

describe('grownPartitions', () => {
  it('names the partitions whose next offset moved, once each with the newest high watermark', () => {
    const got = grownPartitions([
      record('H#t1#0', heads({ 0: 5, 1: 3 }), heads({ 0: 5, 1: 4, 7: 1 })),
      record('H#t1#0', heads({ 0: 5, 1: 4, 7: 1 }), heads({ 0: 5, 1: 9, 7: 1 }), true), // a Lambda event: base64
      record('H#t1#2', heads({ 3: 0 }), heads({ 3: 2 })),
      record('H#t-x#0', undefined, heads({ 0: 1 }), false, 'INSERT'),
    ]);
    expect(got).toEqual([
      { topicId: 't1', partition: 1, highWatermark: 9 },
      { topicId: 't1', partition: 7, highWatermark: 1 },
      { topicId: 't1', partition: 2 * HEAD_SHARD_SIZE + 3, highWatermark: 2 },
      { topicId: 't-x', partition: 0, highWatermark: 1 },
    ]);
  });

  it('ignores trims, removals and every other item', () => {
    expect(
      grownPartitions([
        record('H#t1#0', heads({ 0: 5 }), heads({ 0: 5 }, { 0: 3 })), // retention moved the start
        record('H#t1#0', heads({ 0: 5 }), heads({ 0: 6 }), false, 'REMOVE'),
        record('C#t1#0', heads({ 0: 5 }), heads({ 0: 6 })),
        { eventName: 'MODIFY', dynamodb: { Keys: { pk: { S: 'H#t1#0' } } } },
        {},
      ]),
    ).toEqual([]);
  });
});

describe('DispatchQueue', () => {
  it('drives each subscription partition once at a time; work for one in flight runs after it', async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const trigger = {
      run: async (work: Work[]): Promise<WorkResult[]> => {
        const w = work[0] as Work;
        started.push(`${w.subscription}/${w.partition}`);
        running++;
        most = Math.max(most, running);
        await new Promise<void>((r) => release.push(r));
        running--;
        return [{ ...w, status: 'caught-up', delivered: 1 }];
      },
    } as unknown as SubscriptionTrigger;
    const q = new DispatchQueue(trigger, systemClock, { concurrency: 2, budgetMs: 1_000, retryMs: 10 });
    const w = (subscription: string, partition: number): Work => ({ subscription, topic: 't', partition });
    q.add([w('a', 0), w('a', 1), w('b', 0)]);
    q.add([w('a', 0), w('a', 0)]); // in flight: once more after it, not twice
    await new Promise((r) => setTimeout(r, 5));
    expect(started).toEqual(['a/0', 'a/1']);
    while (release.length || started.length < 4) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    await q.idle();
    expect(started.sort()).toEqual(['a/0', 'a/0', 'a/1', 'b/0']);
    expect(most).toBe(2);
  });
});
