/**
 * The fault-injected producer run against the real local backends (LocalStack S3 +
 * DynamoDB Local): one long run, checked for every invariant.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../reliability/simulation';
import { realStores } from '../support/real';
import { TEST_DAY_MS } from '../support/time';

describe('reliability on the real backends', () => {
  it('2,000 produce operations with faults: zero anomalies', async () => {
    const stores = await realStores();
    const r = await simulate(2026, 2000, { stores, processes: 8, startMs: TEST_DAY_MS });
    console.log(
      `[reliability] real backends: ${r.operations} ops, faults ${JSON.stringify(r.faults)}, ambiguous ${r.ambiguous}, anomalies ${r.anomalies.length}`,
    );
    expect(r.anomalies).toEqual([]);
  }, 600_000);
});
