/**
 * The fault-injected simulation against the real local backends (LocalStack S3 + DynamoDB
 * Local): producers, a consumer group and two maintenance jobs, one long run, checked for
 * every invariant.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../reliability/simulation';
import { Totals } from '../reliability/summary';
import { realStores } from '../support/real';
import { TEST_DAY_MS } from '../support/time';

describe('reliability on the real backends', () => {
  it('2,000 produce operations with consumers and maintenance, faults injected: zero anomalies', async () => {
    const stores = await realStores();
    const r = await simulate(2026, 2000, { stores, producers: 8, startMs: TEST_DAY_MS });
    const totals = new Totals();
    totals.add(r);
    console.log(`[reliability] real backends:\n${totals.report()}`);
    expect(r.anomalies).toEqual([]);
  }, 600_000);
});
