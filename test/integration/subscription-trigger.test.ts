/**
 * Push subscriptions end to end on the real local backends, as `npm start` runs them: the
 * table's stream on DynamoDB Local triggers the dispatcher, which delivers to a real webhook
 * (an HTTP server on loopback) and to a handler module written for Lambda Kafka event
 * sources (Powertools' Kafka consumer). Nothing polls the log: idle, no request is made.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createSluice } from '../../lib/compose';
import { describeGroup } from '../../lib/groups/coordinator';
import { localDynamoClient } from '../../lib/local/clients';
import { type LocalSubscriptions, startLocalSubscriptions } from '../../lib/local/subscriptions';
import { RequestMeter } from '../../lib/storage/request-meter';
import type { KafkaEvent } from '../../lib/subscriptions/kafka-event';
import { createSubscription, updateSubscription } from '../../lib/subscriptions/manage';
import type { WorkResult } from '../../lib/subscriptions/trigger';
import { rec } from '../support/log-suite';
import { realStores } from '../support/real';
import { pct } from '../support/stats';
import { until } from '../support/until';

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A webhook on loopback that keeps what it was sent, with the time it arrived. */
async function webhook(answer: (e: KafkaEvent) => { status: number; body?: unknown }) {
  const got: { event: KafkaEvent; atMs: number }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const event = JSON.parse(body) as KafkaEvent;
      got.push({ event, atMs: Date.now() });
      const a = answer(event);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body === undefined ? '' : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, got };
}

async function setup() {
  const stores = await realStores({ stream: true });
  const core = createSluice(stores);
  const results: WorkResult[] = [];
  const push: LocalSubscriptions = await startLocalSubscriptions(core, {
    endpoint: inject('backends').dynamoEndpoint,
    dynamo: localDynamoClient(inject('backends').dynamoEndpoint),
    table: stores.table,
    say: () => undefined,
    idleMs: 100,
    onResult: (r) => results.push(r),
  });
  cleanup.push(() => push.stop());
  const groups = core.groups as NonNullable<typeof core.groups>;
  const create = async (input: unknown) => {
    const s = await createSubscription(groups, input);
    await push.onChange(s.definition.name, s, true);
    return s;
  };
  return { stores, core, groups, push, results, create };
}

describe('push subscriptions, triggered by the table stream', () => {
  it('delivers every partition in order to a webhook, soon after each commit; idle, it makes no request', async () => {
    const t = await setup();
    await t.core.log.createTopic({ name: 'orders', partitions: 3 });
    const hook = await webhook(() => ({ status: 200 }));
    await t.create({
      name: 'to-hook',
      topics: ['orders'],
      target: { type: 'webhook', url: hook.url },
      options: { maximumBatchingWindowInSeconds: 0, batchSize: 50 },
    });
    const committedAt = new Map<string, number>();
    for (let call = 0; call < 20; call++) {
      const r = await t.core.log.append({
        batches: [
          {
            topic: 'orders',
            records: [0, 1, 2].map((p) => rec(`c${call}-p${p}`, { partition: p })),
          },
        ],
      });
      const now = Date.now();
      for (const o of r.batches[0]?.offsets ?? []) committedAt.set(`${o.partition}@${o.offset}`, now);
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(
      () => hook.got.flatMap((g) => Object.values(g.event.records).flat()).length >= 60,
      30_000,
      'the webhook to get 60 records',
    );
    const latencies: number[] = [];
    for (let p = 0; p < 3; p++) {
      const mine = hook.got.flatMap((g) => (g.event.records[`orders-${p}`] ?? []).map((r) => ({ r, atMs: g.atMs })));
      expect(mine.map((x) => x.r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(mine.map((x) => Buffer.from(x.r.value, 'base64').toString())).toEqual(
        Array.from({ length: 20 }, (_, i) => `c${i}-p${p}`),
      );
      for (const x of mine) latencies.push(x.atMs - (committedAt.get(`${p}@${x.r.offset}`) as number));
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `push delivery latency (commit → webhook), local stream: p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms`,
    );
    await until(
      async () => (await describeGroup(t.groups, 'to-hook')).partitions.every((p) => p.lag === 0),
      10_000,
      'no lag',
    );

    // idle: the stream says nothing, so nothing runs and no billable request is made
    const meter = new RequestMeter(localDynamoClient(inject('backends').dynamoEndpoint));
    meter.attachDynamo(t.stores.dynamo, 'idle');
    meter.attachS3(t.stores.s3, 'idle');
    await new Promise((r) => setTimeout(r, 500)); // the last releases settle
    await meter.reset();
    const drivesBefore = t.results.length;
    await new Promise((r) => setTimeout(r, 3_000));
    await meter.settle();
    const idle = meter.tally('idle');
    expect(t.results.length - drivesBefore).toBe(0);
    expect(idle.commands).toEqual({});
    expect(idle.wru + idle.rru + idle.s3Get + idle.s3Put).toBe(0);
    // and the meter does see what the next record costs, delivery included
    await t.core.log.append({ batches: [{ topic: 'orders', records: [rec('after-idle', { partition: 1 })] }] });
    await until(
      () =>
        hook.got.length > 0 &&
        JSON.stringify(hook.got.at(-1)?.event).includes(Buffer.from('after-idle').toString('base64')),
      10_000,
      'the record after the idle time',
    );
    await until(() => t.results.length > drivesBefore, 10_000, 'the drive to end');
    await meter.settle();
    expect(meter.tally('idle').commands['DynamoDB:TransactWriteItems']).toBeGreaterThan(0);
  });

  it('a Powertools Kafka handler module: partial failure resumes, disabled stops, enabled resumes', async () => {
    const t = await setup();
    await t.core.log.createTopic({ name: 'payments', partitions: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sub-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'seen.jsonl');
    process.env.SLUICE_TEST_SUBSCRIBER_OUT = out;
    const seen = () => {
      try {
        return readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { partition: number; offset: number; key: string; n: number });
      } catch {
        return [];
      }
    };
    await t.create({
      name: 'to-module',
      topics: ['payments'],
      target: { type: 'module', path: resolve('test/fixtures/kafka-subscriber.ts') },
      options: {
        maximumBatchingWindowInSeconds: 0,
        functionResponseTypes: ['ReportBatchItemFailures'],
      },
    });
    const value = (n: number, failOnce = false) => JSON.stringify({ n, ...(failOnce ? { failOnce } : {}) });
    await t.core.log.append({
      batches: [
        {
          topic: 'payments',
          records: [0, 1, 2, 3, 4].map((n) =>
            rec(value(n, n === 2), { key: new Uint8Array(Buffer.from(`k${n}`)), partition: 0 }),
          ),
        },
      ],
    });
    await until(() => seen().length >= 5, 30_000, 'the module to see 5 records');
    // offset 2 failed once: 0 and 1 were not delivered again, 2 onwards were
    expect(seen().map((s) => s.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(seen().map((s) => s.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);

    await updateSubscription(t.groups, 'to-module', { options: { enabled: false } });
    await t.push.onChange('to-module', undefined, false);
    await t.core.log.append({ batches: [{ topic: 'payments', records: [rec(value(5), { partition: 1 })] }] });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seen()).toHaveLength(5);
    const enabled = await updateSubscription(t.groups, 'to-module', { options: { enabled: true } });
    await t.push.onChange('to-module', enabled.subscription, enabled.enabled);
    await until(() => seen().length >= 6, 30_000, 'the module to see the 6th record');
    expect(seen()[5]).toMatchObject({ partition: 1, offset: 0, n: 5 });
  });
});
