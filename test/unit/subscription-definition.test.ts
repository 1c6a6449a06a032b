import { describe, expect, it } from 'vitest';
import { batchingWindowMs, parseSubscription } from '../../lib/subscriptions/definition';

const base = { name: 'billing-push', topics: ['orders'], target: { type: 'webhook', url: 'https://example.com/hook' } };

describe('subscription definition', () => {
  it("fills in Lambda's event-source-mapping defaults", () => {
    const r = parseSubscription(base);
    if (!('ok' in r)) throw new Error(r.problems.join('\n'));
    expect(r.ok.options).toEqual({
      batchSize: 100,
      maximumPayloadBytes: 6 * 1024 * 1024,
      startingPosition: 'LATEST',
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      bisectBatchOnFunctionError: false,
      functionResponseTypes: [],
      enabled: true,
      parallelizationFactor: 1,
    });
    expect(batchingWindowMs(r.ok.options)).toBe(500);
    const w = parseSubscription({ ...base, options: { maximumBatchingWindowInSeconds: 0 } });
    expect('ok' in w && batchingWindowMs(w.ok.options)).toBe(0);
  });

  it('accepts every target kind, and Lambda ARNs with a version or alias', () => {
    for (const target of [
      { type: 'lambda', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:handle-orders' },
      { type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f:live' },
      { type: 'webhook', url: 'http://127.0.0.1:8080/hook' },
      { type: 'module', path: './handlers/orders.mjs' },
    ]) {
      expect(parseSubscription({ ...base, target }), JSON.stringify(target)).toHaveProperty('ok');
    }
  });

  it.each([
    [{ options: { batchSize: 0 } }, 'options.batchSize'],
    [{ options: { batchSize: 10_001 } }, 'options.batchSize'],
    [{ options: { maximumBatchingWindowInSeconds: 301 } }, 'options.maximumBatchingWindowInSeconds'],
    [{ options: { maximumRetryAttempts: -2 } }, 'options.maximumRetryAttempts'],
    [{ options: { maximumRecordAgeInSeconds: 59 } }, 'options.maximumRecordAgeInSeconds'],
    [{ options: { maximumRecordAgeInSeconds: 604_801 } }, 'options.maximumRecordAgeInSeconds'],
    [{ options: { maximumPayloadBytes: 6 * 1024 * 1024 + 1 } }, 'options.maximumPayloadBytes'],
    [{ options: { parallelizationFactor: 11 } }, 'options.parallelizationFactor'],
    [{ options: { parallelizationFactor: 2 } }, 'options.parallelizationFactor'],
    [{ options: { startingPosition: 'AT_TIMESTAMP' } }, 'options.startingPositionTimestamp'],
    [{ options: { startingPositionTimestamp: 1 } }, 'options.startingPositionTimestamp'],
    [{ options: { functionResponseTypes: ['Other'] } }, 'options.functionResponseTypes.0'],
    [{ options: { unknown: 1 } }, 'options'],
    [{ name: '__internal' }, 'name'],
    [{ topics: [] }, 'topics'],
    [{ topics: ['a', 'a'] }, 'topics'],
    [{ topics: ['bad name'] }, 'topics.0'],
    [{ target: { type: 'webhook', url: 'http://example.com/hook' } }, 'target.url'],
    [{ target: { type: 'webhook', url: 'ftp://example.com/hook' } }, 'target.url'],
    [{ target: { type: 'lambda', functionArn: 'arn:aws:s3:::bucket' } }, 'target.functionArn'],
    [{ target: { type: 'queue' } }, 'target.type'],
  ])('refuses %j, naming %s', (change, field) => {
    const r = parseSubscription({ ...base, ...change });
    expect('problems' in r).toBe(true);
    if ('problems' in r)
      expect(
        r.problems.some((p) => p.startsWith(`${field}:`)),
        r.problems.join('\n'),
      ).toBe(true);
  });
});
