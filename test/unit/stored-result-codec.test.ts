import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeChunkOrder,
  decodeStoredResult,
  encodeChunkOrder,
  encodeStoredResult,
} from '../../lib/storage/stored-result-codec';

const result = fc.record({
  requestHash: fc.oneof(
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')),
    fc.string(),
  ),
  chunks: fc.array(
    fc.record({
      topic: fc.oneof(fc.constantFrom('orders', 'payments'), fc.string({ minLength: 1, maxLength: 249 })),
      partition: fc.nat(100_000),
      baseOffset: fc.maxSafeNat(),
    }),
    { maxLength: 60 },
  ),
  order: fc.oneof(
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('base64')),
    fc.string(),
  ),
});

describe('stored produce answer codec', () => {
  it('round-trips every answer exactly, with and without a producer sequence', () => {
    fc.assert(
      fc.property(result, fc.maxSafeNat(), (r, seq) => {
        expect(decodeStoredResult(encodeStoredResult(r))).toEqual(r);
        expect(decodeStoredResult(encodeStoredResult(r, seq), true)).toEqual({ sequence: seq, ...r });
      }),
    );
  });

  it('is compact: a 64-record call over 12 partitions packs into under 200 bytes', () => {
    const r = {
      requestHash: createHash('sha256').update('x').digest('base64'),
      chunks: Array.from({ length: 12 }, (_, p) => ({ topic: 'orders', partition: p, baseOffset: 123_456_789 + p })),
      order: Buffer.from(Array.from({ length: 64 }, (_, i) => i % 12)).toString('base64'),
    };
    expect(encodeStoredResult(r, 41).byteLength).toBeLessThan(200);
  });

  it('rejects truncated or trailing bytes', () => {
    const bytes = encodeStoredResult({
      requestHash: 'h',
      chunks: [{ topic: 't', partition: 1, baseOffset: 2 }],
      order: 'AA==',
    });
    expect(() => decodeStoredResult(bytes.subarray(0, bytes.byteLength - 1))).toThrow(/truncated/);
    expect(() => decodeStoredResult(Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
  });

  it('stores each record’s chunk in one byte up to 256 chunks, two beyond, and reads either back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.array(fc.nat(4095), { maxLength: 300 }), (chunks, raw) => {
        const order = raw.map((c) => c % chunks);
        const b64 = encodeChunkOrder(order, chunks);
        expect(Buffer.from(b64, 'base64').length).toBe(order.length * (chunks > 256 ? 2 : 1));
        expect([...decodeChunkOrder(b64, chunks)]).toEqual(order);
      }),
    );
  });
});
