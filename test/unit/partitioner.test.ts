import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../lib/ids';
import { choosePartition, murmur2, partitionForKey } from '../../lib/records/partitioner';

const require = createRequire(import.meta.url);
// kafkajs's default (Java-compatible) partitioner, used as the reference implementation
const { Partitioners } = require('kafkajs') as {
  Partitioners: {
    DefaultPartitioner: () => (args: {
      topic: string;
      partitionMetadata: { partitionId: number; leader: number }[];
      message: { key: Buffer | string | null; partition?: number };
    }) => number;
  };
};

describe('murmur2 partitioner', () => {
  it("matches Kafka's Java test vectors (UtilsTest.testMurmur2)", () => {
    const cases: [string | number[], number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      [[0x61, 0x62, 0x63], 479470107],
    ];
    for (const [input, expected] of cases) {
      const bytes = typeof input === 'string' ? Buffer.from(input) : Uint8Array.from(input);
      expect(murmur2(bytes), String(input)).toBe(expected);
    }
  });

  it("picks the same partition as kafkajs's DefaultPartitioner for 20,000 random keys", () => {
    const rng = new SeededRandom(42);
    const partitioner = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 20_000; i++) {
      const key = Buffer.from(rng.bytes(rng.int(64)));
      const n = 1 + rng.int(1024);
      const partitionMetadata = Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 0 }));
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key } });
      expect(partitionForKey(key, n)).toBe(expected);
    }
  });

  it('an explicit partition wins; a null key goes to the sticky partition', () => {
    const key = Buffer.from('user-42');
    expect(choosePartition(3, key, 8, 0)).toBe(3);
    expect(choosePartition(undefined, key, 8, 0)).toBe(partitionForKey(key, 8));
    expect(choosePartition(undefined, null, 8, 13)).toBe(5);
    expect(choosePartition(undefined, null, 8, 14)).toBe(6);
  });
});
