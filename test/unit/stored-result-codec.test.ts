import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStoredResult, encodeStoredResult } from '../../lib/storage/stored-result-codec';

const result = fc.record({
  requestHash: fc.oneof(
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')),
    fc.string(),
  ),
  routes: fc.array(
    fc.record({
      topic: fc.oneof(fc.constantFrom('orders', 'payments'), fc.string({ minLength: 1, maxLength: 249 })),
      partitions: fc.integer({ min: 1, max: 100_000 }),
      sticky: fc.nat(99_999),
    }),
    { maxLength: 8 },
  ),
  bases: fc.array(fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: 2 ** 50 })), { maxLength: 300 }),
});

describe('stored produce answer codec', () => {
  it('round-trips every answer exactly, with and without a producer sequence', () => {
    fc.assert(
      fc.property(result, fc.maxSafeNat(), (r, seq) => {
        expect(decodeStoredResult(encodeStoredResult(r))).toEqual(r);
        expect(decodeStoredResult(encodeStoredResult(r, seq), true)).toEqual({
          sequence: seq,
          ...r,
        });
      }),
    );
  });

  it('is compact: a keyed call over 288 partitions of offsets near 10^9 packs into under 700 bytes', () => {
    let offset = 1_000_000_000;
    const r = {
      requestHash: createHash('sha256').update('x').digest('base64'),
      routes: [{ topic: 'orders', partitions: 288, sticky: 17 }],
      bases: Array.from({ length: 288 }, (_, i) => (offset += ((i * 7919) % 400) - 200)),
    };
    const bytes = encodeStoredResult(r, 41).byteLength;
    expect(bytes).toBeLessThan(700);
    // nothing is stored per record: the same answer for a call twice as large costs the same
    expect(encodeStoredResult({ ...r, bases: r.bases.map((b) => b * 2) }, 41).byteLength).toBeLessThan(bytes + 300);
  });

  it('rejects truncated or trailing bytes, unknown versions and negative bases', () => {
    const bytes = encodeStoredResult({
      requestHash: 'h',
      routes: [{ topic: 't', partitions: 2, sticky: 1 }],
      bases: [2],
    });
    expect(() => decodeStoredResult(bytes.subarray(0, bytes.byteLength - 1))).toThrow(/truncated/);
    expect(() => decodeStoredResult(Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
    expect(() => decodeStoredResult(Uint8Array.from([1, ...bytes.subarray(1)]))).toThrow(/version 1/);
    // bases [2] with the delta +2 (zigzag 4) turned into -2 (zigzag 3)
    const negative = Uint8Array.from(bytes);
    negative[negative.byteLength - 1] = 3;
    expect(() => decodeStoredResult(negative)).toThrow(/negative/);
  });
});
