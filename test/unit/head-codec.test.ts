import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allEmpty, decodeHeads, encodeHeads } from '../../lib/storage/head-codec';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import { EMPTY_HEAD, type PartitionHead } from '../../lib/storage/ports';

const MAX = 2 ** 52 - 1;
const head: fc.Arbitrary<PartitionHead> = fc
  .record({
    next: fc.oneof(fc.nat(100), fc.integer({ min: 0, max: MAX })),
    retained: fc.nat(),
    bytes: fc.oneof(fc.nat(10_000), fc.integer({ min: 0, max: MAX })),
    maxTimestamp: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 253_402_300_799_999 })),
  })
  .map((h) => ({
    nextOffset: h.next,
    startOffset: Math.max(0, h.next - h.retained),
    bytes: h.bytes,
    maxTimestamp: h.maxTimestamp,
  }));

describe('packed head shard', () => {
  it('round-trips any heads, and packs equal heads to equal bytes (what a head CAS compares)', () => {
    fc.assert(
      fc.property(fc.array(head, { maxLength: HEAD_SHARD_SIZE }), (heads) => {
        const full = [...heads, ...Array(HEAD_SHARD_SIZE - heads.length).fill(EMPTY_HEAD)];
        const bytes = encodeHeads(heads);
        expect(decodeHeads(bytes, 'head')).toEqual(full);
        expect(encodeHeads(full)).toEqual(bytes);
        expect(encodeHeads(decodeHeads(bytes, 'head'))).toEqual(bytes);
      }),
    );
  });

  it('packs a busy 48-partition shard of a week-old keyed topic into well under one KB', () => {
    // ~2·10^8 records and ~200 GB per partition, close to each other; timestamps within a second
    const heads = Array.from({ length: HEAD_SHARD_SIZE }, (_, i) => {
      const next = 205_000_000 + ((i * 7919) % 30_000);
      return {
        nextOffset: next,
        startOffset: next - 204_000_000 - ((i * 104_729) % 20_000),
        bytes: 210_000_000_000 + ((i * 15_485_863) % 30_000_000),
        maxTimestamp: 1_796_000_000_000 + ((i * 31) % 1000),
      };
    });
    expect(encodeHeads(heads).byteLength).toBeLessThan(700);
    // an untouched shard (or its unwritten tail) costs nothing
    expect(encodeHeads([]).byteLength).toBe(5);
    expect(encodeHeads(heads.slice(0, 3)).byteLength).toBeLessThan(70);
    expect(allEmpty(decodeHeads(encodeHeads([]), 'head'))).toBe(true);
  });

  it('rejects truncated, trailing, ragged and unknown packings', () => {
    const bytes = encodeHeads([{ nextOffset: 3, startOffset: 1, bytes: 30, maxTimestamp: 9 }]);
    expect(() => decodeHeads(bytes.subarray(0, bytes.byteLength - 1), 'head shard H#x#0')).toThrow(
      /head shard H#x#0 is truncated/,
    );
    expect(() => decodeHeads(Uint8Array.from([...bytes, 0]), 'h')).toThrow(/trailing/);
    expect(() => decodeHeads(Uint8Array.from([2, ...bytes.subarray(1)]), 'h')).toThrow(/version 2/);
    // next offsets for two partitions, the other lists for one
    expect(() => decodeHeads(Uint8Array.from([1, 2, 6, 2, 1, 2, 1, 60, 1, 20]), 'h')).toThrow(/different lengths/);
  });
});
