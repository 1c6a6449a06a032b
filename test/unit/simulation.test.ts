/**
 * The deterministic simulation, short version (the long one: `npm run test:reliability`):
 * seeds reproduce identical histories; 20 seeds × 2,000 produce operations, with consumers
 * and two maintenance jobs alongside, show no anomaly; every fault category and crash point
 * occurs at least 50 times and at least 500 ambiguous produce outcomes are resolved.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../reliability/simulation';
import { Totals } from '../reliability/summary';

describe('deterministic simulation with faults (fakes)', () => {
  it('totals add counts over runs and keep the worst run of each quantile', () => {
    const totals = new Totals();
    const run = (duplicates: number, p99: number) => ({
      seed: 1,
      operations: 10,
      faults: { 'get-corrupted': 1 },
      ambiguous: 2,
      anomalies: [],
      stats: { 'duplicate-processing': duplicates, 'ack-to-visibility-p99-ms': p99 },
      historyHash: '',
      history: [],
    });
    totals.add(run(3, 100));
    totals.add(run(4, 50));
    expect(totals.stats).toEqual({ 'duplicate-processing': 7, 'ack-to-visibility-p99-ms': 100 });
    expect([totals.operations, totals.ambiguous, totals.faults['get-corrupted']]).toEqual([20, 4, 2]);
  });

  it('reproduces the identical history from a seed', async () => {
    const a = await simulate(7, 300);
    const b = await simulate(7, 300);
    expect(a.historyHash).toBe(b.historyHash);
    expect((await simulate(8, 300)).historyHash).not.toBe(a.historyHash);
  });

  it('20 seeds x 2,000 operations: zero anomalies, every fault kind ≥ 50 times, ≥ 500 ambiguous outcomes', async () => {
    const totals = new Totals();
    for (let seed = 1; seed <= 20; seed++) {
      const r = await simulate(seed, 2000);
      expect(r.anomalies, `seed ${seed}`).toEqual([]);
      totals.add(r);
    }
    console.log(`[simulation]\n${totals.report()}`);
    for (const [category, n] of Object.entries(totals.categories())) expect(n, category).toBeGreaterThanOrEqual(50);
    expect(totals.ambiguous).toBeGreaterThanOrEqual(500);
    // the run exercised what it claims to: groups, retention (its call items released) and GC did work
    for (const k of ['polls', 'fenced-commits', 'offsets-removed-by-retention', 'calls-released', 'objects-deleted']) {
      expect(totals.stats[k] ?? 0, k).toBeGreaterThan(0);
    }
  }, 300_000);
});
