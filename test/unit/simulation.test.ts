/**
 * The deterministic simulation, short version (the long one: `npm run test:reliability`):
 * seeds reproduce identical histories, and no seed shows an anomaly.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../reliability/simulation';

describe('deterministic simulation of producers with faults (fakes)', () => {
  it('reproduces the identical history from a seed', async () => {
    const a = await simulate(7, 300);
    const b = await simulate(7, 300);
    expect(a.historyHash).toBe(b.historyHash);
    expect((await simulate(8, 300)).historyHash).not.toBe(a.historyHash);
  });

  it('20 seeds x 2,000 operations: zero anomalies', async () => {
    const totals: Record<string, number> = {};
    let ambiguous = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const r = await simulate(seed, 2000);
      expect(r.anomalies, `seed ${seed}`).toEqual([]);
      for (const [k, v] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + v;
      ambiguous += r.ambiguous;
    }
    console.log(
      `[simulation] 20 seeds x 2000 ops, faults ${JSON.stringify(totals)}, ambiguous outcomes ${ambiguous}, anomalies 0`,
    );
    for (const kind of ['commit-failed-before-sending', 'commit-applied-response-lost', 'put-failed-before-sending']) {
      expect(totals[kind] ?? 0, kind).toBeGreaterThanOrEqual(50);
    }
  }, 120_000);
});
