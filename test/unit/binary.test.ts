import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryReader, BinaryWriter } from '../../lib/storage/binary';

describe('packed binary attributes', () => {
  it('round-trips varints, signed integers, bytes and delta lists in sequence', () => {
    const big = 2 ** 52 - 1;
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.integer({ min: -big, max: big }),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.integer({ min: 0, max: big }), { maxLength: 200 }),
        (u, s, b, ns) => {
          const bytes = new BinaryWriter().varint(u).signed(s).bytes(b).deltas(ns).done();
          const r = new BinaryReader(bytes, 'test value');
          expect(r.varint()).toBe(u);
          expect(r.signed()).toBe(s);
          expect([...r.bytes()]).toEqual([...b]);
          expect(r.deltas()).toEqual(ns);
          r.end();
        },
      ),
    );
  });

  it('zigzags small magnitudes of either sign into one byte, and neighbouring offsets into a byte each', () => {
    for (const n of [0, -1, 1, -64, 63]) expect(new BinaryWriter().signed(n).done().byteLength).toBe(1);
    expect(new BinaryWriter().signed(64).done().byteLength).toBe(2);
    const offsets = Array.from({ length: 100 }, (_, i) => 5_000_000_000 + i * 50);
    // 1 (count) + 5 (the first, ~2^32, zigzagged to ~2^33) + 99 × 1 (each +50)
    expect(new BinaryWriter().deltas(offsets).done().byteLength).toBe(1 + 5 + 99);
  });

  it('refuses what it cannot encode, and names the value it failed to read', () => {
    expect(() => new BinaryWriter().signed(2 ** 52)).toThrow(RangeError);
    expect(() => new BinaryWriter().signed(0.5)).toThrow(RangeError);
    expect(() => new BinaryWriter().deltas([1, -1])).toThrow(RangeError);
    const bytes = new BinaryWriter().deltas([10, 20]).done();
    expect(() => new BinaryReader(bytes.subarray(0, 2), 'call item').deltas()).toThrow(/call item.*truncated/);
    expect(() => new BinaryReader(Uint8Array.from([1, 1]), 'call item').deltas()).toThrow(/negative/);
  });
});
