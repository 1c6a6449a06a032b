/**
 * Mutation check: each known bug, seeded alone into the simulation, is caught by the
 * checker within 20 seeds — and GC without its grace rules (but still fencing) is shown to
 * be harmless, because the fence and the reader's index re-read make it so.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { gcWithoutGrace, MUTANTS } from '../reliability/mutants';
import { type SimOptions, simulate } from '../reliability/simulation';

// the CRC mutant: readers restamp each chunk's CRC over whatever bytes arrived, which is
// the same as not checking it (the codec module is replaced only while `skipCrc.on`)
const skipCrc = vi.hoisted(() => ({ on: false }));
vi.mock('../../lib/records/segment-codec', async (importOriginal) => {
  const codec = await importOriginal<typeof import('../../lib/records/segment-codec')>();
  return {
    ...codec,
    decodeChunk: (bytes: Uint8Array, baseOffset: number) => {
      if (!skipCrc.on || bytes.byteLength < 8) return codec.decodeChunk(bytes, baseOffset);
      const copy = Buffer.from(bytes);
      copy.writeUInt32BE(crc32(copy.subarray(8)), 4);
      return codec.decodeChunk(copy, baseOffset);
    },
  };
});

async function firstCaught(options: SimOptions) {
  for (let seed = 1; seed <= 20; seed++) {
    const r = await simulate(seed, 400, options);
    if (r.anomalies.length > 0) return { seed, kinds: [...new Set(r.anomalies.map((a) => a.kind))] };
  }
  return undefined;
}

describe('mutation check', () => {
  it.each(Object.keys(MUTANTS))(
    'catches %s within 20 seeds',
    async (name) => {
      const caught = await firstCaught({ mutant: MUTANTS[name] });
      console.log(`[mutation] ${name}: caught at seed ${caught?.seed} as ${caught?.kinds.join(', ')}`);
      expect(caught).toBeDefined();
    },
    120_000,
  );

  it('catches a reader that skips the CRC check within 20 seeds', async () => {
    skipCrc.on = true;
    try {
      const caught = await firstCaught({});
      console.log(`[mutation] skipCrc: caught at seed ${caught?.seed} as ${caught?.kinds.join(', ')}`);
      expect(caught).toBeDefined();
    } finally {
      skipCrc.on = false;
    }
  }, 120_000);

  it('GC without its grace rules but with the fence stays clean over 20 seeds', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      expect((await simulate(seed, 400, { mutant: gcWithoutGrace })).anomalies, `seed ${seed}`).toEqual([]);
    }
  }, 120_000);
});
