/**
 * The benchmark's batching correction: none when a run batched as the scenario does; per
 * call, per chunk and per call item when the local backends made its calls larger.
 */
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../lib/records/partitioner';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import { sumTallies } from '../../lib/storage/request-meter';
import { batchingCorrection, lessFixed, nextKey, readersCorrection, SCENARIOS } from '../bench/scenarios';

const scenario = (id: string) => SCENARIOS.find((s) => s.id === id) as (typeof SCENARIOS)[number];

describe('batchingCorrection', () => {
  it('is 1 when the run flushed every linger at the scenario rate', () => {
    // (a): 1 MB/s over 4 producers = 244 records/s each; 250 ms → 61 records per flush
    expect(batchingCorrection(scenario('a'), 250, 62)).toMatchObject({ calls: 1, chunks: 1, shards: 1 });
    expect(batchingCorrection(scenario('a'), 250, 62).scenarioRecordsPerCall).toBeCloseTo(61, 0);
  });

  it('scales calls by records per call and chunks by partitions touched per record', () => {
    // twice the records per call, every call touching all 12 partitions either way
    const c = batchingCorrection(scenario('a'), 250, 122);
    expect(c.calls).toBeCloseTo(2, 1);
    expect(c.chunks).toBeCloseTo(2, 1);
    // 12 partitions are one head shard: one call item per call
    expect(c.shards).toBeCloseTo(2, 1);
  });

  it('keeps a flush on 288 partitions in one call, and counts its call items per head shard', () => {
    // (c): 1,526 records/s per producer, 250 ms → 381 records over ~211 partitions in all 6
    // head shards: one call; run calls of 1,000 records touch all 6 shards too, and ~277
    // partitions (fewer per record than the scenario's: chunks scale by less than calls)
    const c = batchingCorrection(scenario('c'), 250, 1000);
    expect(c.scenarioRecordsPerCall).toBeCloseTo(381, 0);
    expect(c.calls).toBeCloseTo(1000 / 381, 1);
    expect(c.shards).toBeCloseTo(1000 / 381, 1);
    expect(c.chunks).toBeCloseTo(211 / 381 / (277 / 1000), 1);
  });
});

describe('readersCorrection', () => {
  it('scales one hosted member to the scenario’s members, by the head shards the assignor gives each', () => {
    // (a): 12 partitions in one head shard: each of 2 members reads each object once
    expect(readersCorrection(scenario('a'), 1)).toBeCloseTo(2, 5);
    expect(readersCorrection(scenario('a'), 2)).toBeCloseTo(1, 5);
    // (b), (c): members of 12 contiguous partitions each lie in 1–2 head shards (at most
    // members + shards − 1 pairs); the one hosted member reads every shard (spread by a
    // hash instead, (c) was × 11.9 with shards of 16)
    for (const [id, members, partitions] of [
      ['b', 4, 48],
      ['c', 24, 288],
    ] as const) {
      const shards = Math.ceil(partitions / HEAD_SHARD_SIZE);
      const c = readersCorrection(scenario(id), 1);
      expect(c).toBeGreaterThanOrEqual(members / shards);
      expect(c).toBeLessThanOrEqual((members + shards - 1) / shards);
    }
  });
});

describe('lessFixed', () => {
  it('takes the fixed cost of each run off a work tally, class by class, never below zero', () => {
    const work = { ...sumTallies([]), s3Put: 2, s3Get: 5, wru: 100, rru: 40 };
    const fixed = { ...sumTallies([]), s3Put: 1, s3Get: 3, wru: 10, rru: 1 };
    expect(lessFixed(work, fixed, 2)).toMatchObject({ s3Put: 0, s3Get: 0, wru: 80, rru: 38 });
  });
});

describe('nextKey', () => {
  it('visits all 10,000 keys before repeating, so every partition of (c) gets keyed records', () => {
    const seen = new Set<number>();
    let key = 0;
    for (let i = 0; i < 10_000; i++) {
      key = nextKey(key);
      seen.add(key);
    }
    expect(seen.size).toBe(10_000);
    const partitions = new Set([...seen].map((k) => partitionForKey(Buffer.from(`key-${k}`), 288)));
    expect(partitions.size).toBe(288);
  });
});
