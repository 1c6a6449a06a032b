/**
 * DynamoDB's size and unit arithmetic against AWS's documented rules (ECONOMICS §1).
 */
import { describe, expect, it } from 'vitest';
import {
  itemSize,
  numberSize,
  readUnits,
  transactReadUnits,
  transactWriteUnits,
  valueSize,
  writeUnits,
} from '../../lib/storage/dynamo-units';

describe('item sizes', () => {
  it.each([
    // [what, item, bytes]
    ['a string: name + UTF-8 bytes', { name: { S: 'héllo' } }, 4 + 6],
    ['binary: name + raw bytes (base64 on the wire)', { b: { B: Buffer.from('hello').toString('base64') } }, 1 + 5],
    ['binary as bytes', { b: { B: new Uint8Array(7) } }, 1 + 7],
    ['null and boolean: 1 byte', { n: { NULL: true }, t: { BOOL: false } }, 1 + 1 + 1 + 1],
    [
      'a map: 3 + per element 1 + its name + its value',
      { m: { M: { a: { S: 'x' }, bb: { N: '12' } } } },
      1 + 3 + 3 + 5,
    ],
    ['a list: 3 + per element 1 + its value', { l: { L: [{ S: 'ab' }, { BOOL: true }] } }, 1 + 3 + 3 + 2],
    ['an empty list or map: 3', { l: { L: [] }, m: { M: {} } }, 1 + 3 + 1 + 3],
    ['sets: the sum of their members', { ss: { SS: ['a', 'bc'] }, ns: { NS: ['1', '22'] } }, 2 + 3 + 2 + 4],
    ['a key pair as Sluice writes it', { pk: { S: 'P#0f0e#3' }, sk: { S: 'HEAD' } }, 2 + 8 + 2 + 4],
  ])('%s', (_what, item, bytes) => {
    expect(itemSize(item)).toBe(bytes);
  });

  it.each([
    ['0', 2],
    ['7', 2],
    ['12', 2],
    ['123', 3],
    ['123.4500', 4], // trailing zeroes trimmed: 12345
    ['0.001', 2], // leading zeroes trimmed: 1
    ['-1000', 2],
    ['9007199254740991', 9], // 16 digits
    ['1767225600000', 5], // a millisecond timestamp: trailing zeroes trimmed, 17672256
  ])('the number %s takes %i bytes', (n, bytes) => {
    expect(numberSize(n)).toBe(bytes);
  });

  it('refuses what is not an attribute value', () => {
    expect(() => valueSize({})).toThrow(RangeError);
  });
});

describe('request units', () => {
  it('a write costs one unit per started KB, at least one; an update the larger image', () => {
    expect([writeUnits(0), writeUnits(1), writeUnits(1024), writeUnits(1025), writeUnits(2048)]).toEqual([
      1, 1, 1, 2, 2,
    ]);
    expect(writeUnits(100, 3000)).toBe(3);
  });

  it('a read costs one unit per started 4 KB strongly, half eventually; a Query rounds once over all it read', () => {
    expect([readUnits(1, true), readUnits(4096, true), readUnits(4097, true)]).toEqual([1, 1, 2]);
    expect([readUnits(100, false), readUnits(4097, false)]).toEqual([0.5, 1]);
    // ten items of 500 bytes in one Query page: 5,000 bytes → 2 units, not 10
    expect(readUnits(10 * 500, true)).toBe(2);
  });

  it('transactions cost twice (the examples of ECONOMICS §1)', () => {
    // two actions of 1.5 KB: 2 × 2 units × 2 = 8 (DynamoDB Local reports 4)
    expect(
      transactWriteUnits([
        { kind: 'put', bytes: 1536 },
        { kind: 'put', bytes: 1536 },
      ]),
    ).toBe(8);
    // a produce-like transaction of 25 small actions: 50 (DynamoDB Local reports 2)
    expect(transactWriteUnits(Array.from({ length: 25 }, () => ({ kind: 'condition' as const, bytes: 100 })))).toBe(50);
    expect(transactWriteUnits([{ kind: 'update', before: 2100, after: 900 }])).toBe(6);
    expect(transactReadUnits([100, 5000])).toBe(2 + 4);
  });
});
