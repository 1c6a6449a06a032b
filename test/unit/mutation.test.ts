/**
 * Mutation check: each known bug, seeded alone, is caught by the checker within 20 seeds.
 */
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../reliability/mutants';
import { simulate } from '../reliability/simulation';

describe('mutation check', () => {
  it.each(Object.keys(MUTANTS))(
    'catches %s within 20 seeds',
    async (name) => {
      let caughtAt: number | undefined;
      let kinds: string[] = [];
      for (let seed = 1; seed <= 20 && caughtAt === undefined; seed++) {
        const r = await simulate(seed, 400, { mutant: MUTANTS[name] });
        if (r.anomalies.length > 0) {
          caughtAt = seed;
          kinds = [...new Set(r.anomalies.map((a) => a.kind))];
        }
      }
      console.log(`[mutation] ${name}: caught at seed ${caughtAt} as ${kinds.join(', ')}`);
      expect(caughtAt).toBeDefined();
    },
    60_000,
  );
});
