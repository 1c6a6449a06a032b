/**
 * The fault-injected simulation against the real local backends (LocalStack S3 + DynamoDB
 * Local): producers, a consumer group and two maintenance jobs, one long run, checked for
 * every invariant.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../lib/ids';
import { simulate } from '../reliability/simulation';
import { Totals } from '../reliability/summary';
import { realStores } from '../support/real';
import { sdkChaos } from '../support/sdk-faults';
import { TEST_DAY_MS } from '../support/time';

describe('reliability on the real backends', () => {
  it('2,000 produce operations with consumers and maintenance, faults injected: zero anomalies', async () => {
    // faults at the SDK layer too, on the real clients: inside the SDK's retry loop and outside it
    const sdkFaults: Record<string, number> = {};
    // one random stream per service, so S3's faults do not shift when the number of
    // DynamoDB requests changes; S3 sees fewer requests (~3,000), so twice the rate there:
    // every kind of fault is expected ≥ 7 times on each
    const s3Rng = new SeededRandom(77);
    const dynamoRng = new SeededRandom(78);
    const chaos: { on: boolean }[] = [];
    const stores = await realStores({
      s3: (c) => chaos.push(sdkChaos(c, 's3', 0.01, () => s3Rng.next(), sdkFaults)),
      dynamo: (c) => chaos.push(sdkChaos(c, 'dynamodb', 0.005, () => dynamoRng.next(), sdkFaults)),
    });
    const r = await simulate(2026, 2000, {
      stores,
      producers: 8,
      startMs: TEST_DAY_MS,
      beforeDrain: () => {
        for (const c of chaos) c.on = false;
      },
    });
    const totals = new Totals();
    totals.add(r);
    console.log(`[reliability] real backends:\n${totals.report()}\nSDK-layer faults: ${JSON.stringify(sdkFaults)}`);
    for (const service of ['s3', 'dynamodb']) {
      for (const kind of ['throttled-retried-by-sdk', 'response-lost-retried-by-sdk', 'response-lost-after-applied']) {
        expect(sdkFaults[`sdk-${service}-${kind}`] ?? 0, `${service} ${kind}`).toBeGreaterThan(0);
      }
    }
    expect(r.anomalies).toEqual([]);
  }, 600_000);
});
