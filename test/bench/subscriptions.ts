/**
 * The push-subscription benchmark (`npm run bench`, or `--only subscriptions`): `npm start`'s
 * dispatcher — triggered by DynamoDB Local's table stream — delivering to a webhook on
 * loopback, metered request by request.
 *
 * - latency: an open-loop producer commits one record to each of 4 partitions every 100 ms;
 *   the time from each commit's acknowledgement to the webhook receiving the record, p50/p99
 * - throughput: 20,000 records waiting in one partition, delivered in batches of 100 (and of
 *   1,000): records per second per partition, and the store requests each delivered record cost
 * - cost per million records delivered at list prices: S3 GETs and DynamoDB units measured,
 *   the deployed dispatcher's Lambda time taken as the measured drive time at 512 MB, and one
 *   invocation per drive (an upper bound: the event-source mapping batches stream records)
 * - idle: the stream silent for 5 s — dispatcher runs and billable requests (both 0)
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createSluice } from '../../lib/compose';
import type { LocalBackends } from '../../lib/local/backends';
import { localDynamoClient, localS3Client } from '../../lib/local/clients';
import { ensureBucket, ensureTable } from '../../lib/local/provision';
import { startLocalSubscriptions } from '../../lib/local/subscriptions';
import { storesFromClients } from '../../lib/storage/aws';
import { RequestMeter } from '../../lib/storage/request-meter';
import type { KafkaEvent } from '../../lib/subscriptions/kafka-event';
import { createSubscription, updateSubscription } from '../../lib/subscriptions/manage';
import type { WorkResult } from '../../lib/subscriptions/trigger';
import { pct } from '../support/stats';
import { PRICES } from './scenarios';

const DISPATCHER_GB = 0.5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SubscriptionBench {
  latency: {
    records: number;
    p50ms: number;
    p99ms: number;
    maxMs: number;
    s3GetsPerMillion: number;
    readUnitsPerMillion: number;
    writeUnitsPerMillion: number;
    storeUsdPerMillion: number;
  };
  throughput: {
    batchSize: number;
    records: number;
    seconds: number;
    recordsPerSecPerPartition: number;
    deliveries: number;
    s3GetsPerMillion: number;
    readUnitsPerMillion: number;
    writeUnitsPerMillion: number;
    storeUsdPerMillion: number;
    lambdaUsdPerMillion: number;
    usdPerMillion: number;
  }[];
  idle: { seconds: number; dispatcherRuns: number; requests: number };
}

export async function subscriptionBench(
  backends: LocalBackends,
  progress: (m: string) => void,
): Promise<SubscriptionBench> {
  const s3 = localS3Client(backends.s3Endpoint);
  const dynamo = localDynamoClient(backends.dynamoEndpoint);
  const name = `sluice-bench-push-${process.pid}-${Math.floor(performance.now())}`;
  await Promise.all([ensureBucket(s3, name), ensureTable(dynamo, name, { stream: true })]);
  // the producer's side, unmetered
  const core = createSluice(storesFromClients(s3, dynamo, name, name));
  const groups = core.groups as NonNullable<typeof core.groups>;
  // the dispatcher's side: its own clients, metered; a fresh one per measurement (cold caches)
  const meter = new RequestMeter(localDynamoClient(backends.dynamoEndpoint));
  const dispatcherCore = () => {
    const ds3 = localS3Client(backends.s3Endpoint);
    const ddb = localDynamoClient(backends.dynamoEndpoint);
    meter.attachDynamo(ddb, 'push');
    meter.attachS3(ds3, 'push');
    return createSluice(storesFromClients(ds3, ddb, name, name));
  };

  const arrivals: { event: KafkaEvent; atMs: number }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      arrivals.push({ event: JSON.parse(body) as KafkaEvent, atMs: performance.timeOrigin + performance.now() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const runs: WorkResult[] = [];
  const start = () =>
    startLocalSubscriptions(dispatcherCore(), {
      endpoint: backends.dynamoEndpoint,
      dynamo,
      table: name,
      say: () => undefined,
      onResult: (r) => runs.push(r),
    });
  let push = await start();
  const fresh = async () => {
    await push.stop();
    push = await start();
  };
  const costPerMillion = (t: ReturnType<RequestMeter['tally']>, records: number) => {
    const perM = (x: number) => (x / Math.max(1, records)) * 1e6;
    return {
      s3GetsPerMillion: Math.round(perM(t.s3Get)),
      readUnitsPerMillion: Math.round(perM(t.rru)),
      writeUnitsPerMillion: Math.round(perM(t.wru)),
      storeUsdPerMillion: +(
        (perM(t.s3Get) / 1000) * PRICES.s3GetPer1k +
        (perM(t.s3Put) / 1000) * PRICES.s3PutPer1k +
        (perM(t.wru) / 1e6) * PRICES.ddbWritePerM +
        (perM(t.rru) / 1e6) * PRICES.ddbReadPerM
      ).toFixed(3),
    };
  };
  const delivered = () => arrivals.reduce((n, a) => n + Object.values(a.event.records).flat().length, 0);
  try {
    await core.log.createTopic({ name: 'push', partitions: 4 });
    await core.log.createTopic({ name: 'bulk', partitions: 1 });
    const create = async (input: Parameters<typeof createSubscription>[1]) => {
      const s = await createSubscription(groups, input);
      await push.onChange(s.definition.name, s, s.definition.options.enabled);
    };

    // 1. latency, open loop
    progress('push subscriptions: delivery latency, 4 partitions, a commit every 100 ms ...');
    await create({
      name: 'latency',
      topics: ['push'],
      target: { type: 'webhook', url },
      options: { maximumBatchingWindowInSeconds: 0 },
    });
    await sleep(300);
    await meter.reset();
    const committed = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const seconds = Number(process.env.SLUICE_BENCH_SECONDS ?? 6);
    const end = performance.now() + seconds * 1000;
    let n = 0;
    while (performance.now() < end) {
      const i = n++;
      pending.push(
        core.log
          .append({
            batches: [
              { topic: 'push', records: [0, 1, 2, 3].map((p) => ({ value: Buffer.from(`r${i}`), partition: p })) },
            ],
          })
          .then((r) => {
            const at = performance.timeOrigin + performance.now();
            for (const o of r.batches[0]?.offsets ?? []) committed.set(`${o.partition}@${o.offset}`, at);
          }),
      );
      await sleep(100);
    }
    await Promise.all(pending);
    const want = committed.size;
    for (let i = 0; i < 300 && delivered() < want; i++) await sleep(100);
    const latencies: number[] = [];
    for (const a of arrivals) {
      for (const rs of Object.values(a.event.records)) {
        for (const r of rs) {
          const c = committed.get(`${r.partition}@${r.offset}`);
          if (c !== undefined) latencies.push(Math.max(0, a.atMs - c));
        }
      }
    }
    await sleep(300);
    await meter.settle();
    latencies.sort((a, b) => a - b);
    const latency = {
      records: latencies.length,
      p50ms: Math.round(pct(latencies, 50)),
      p99ms: Math.round(pct(latencies, 99)),
      maxMs: Math.round(Math.max(0, ...latencies)),
      // a delivery per commit: the dear case (each wakes the dispatcher for 4 records)
      ...costPerMillion(meter.tally('push'), latencies.length),
      ...(process.env.SLUICE_BENCH_DEBUG ? { tally: meter.tally('push') } : {}),
    };
    await updateSubscription(groups, 'latency', { options: { enabled: false } });

    // 2. throughput and cost: a backlog of one partition, delivered
    const throughput: SubscriptionBench['throughput'] = [];
    const RECORDS = 20_000;
    const value = Buffer.alloc(256, 7);
    for (let i = 0; i < RECORDS; i += 1000) {
      await core.log.append({
        batches: [{ topic: 'bulk', records: Array.from({ length: 1000 }, () => ({ value, partition: 0 })) }],
      });
    }
    for (const batchSize of [100, 1000]) {
      progress(`push subscriptions: ${RECORDS} waiting records, batches of ${batchSize} ...`);
      arrivals.length = 0;
      await fresh();
      await sleep(300);
      await meter.reset();
      const runsBefore = runs.length;
      const t0 = performance.now();
      await create({
        name: `bulk-${batchSize}`,
        topics: ['bulk'],
        target: { type: 'webhook', url },
        options: { maximumBatchingWindowInSeconds: 0, batchSize, startingPosition: 'TRIM_HORIZON' },
      });
      for (let i = 0; i < 1200 && delivered() < RECORDS; i++) await sleep(50);
      const secs = (performance.now() - t0) / 1000;
      // one partition: the dispatcher is busy (billed) for the whole delivery, waits on the target included
      const driveMs = secs * 1000;
      await sleep(300);
      await meter.settle();
      const cost = costPerMillion(meter.tally('push'), RECORDS);
      const perM = (x: number) => (x / RECORDS) * 1e6;
      const drives = Math.max(1, runs.length - runsBefore);
      const lambda =
        perM((driveMs / 1000) * DISPATCHER_GB) * PRICES.lambdaGBSecond +
        (perM(drives) / 1e6) * PRICES.lambdaRequestPerM;
      throughput.push({
        batchSize,
        records: delivered(),
        seconds: +secs.toFixed(2),
        recordsPerSecPerPartition: Math.round(delivered() / secs),
        deliveries: arrivals.length,
        ...cost,
        lambdaUsdPerMillion: +lambda.toFixed(3),
        usdPerMillion: +(cost.storeUsdPerMillion + lambda).toFixed(3),
      });
      await updateSubscription(groups, `bulk-${batchSize}`, { options: { enabled: false } });
    }

    // 3. idle
    progress('push subscriptions: idle for 5 s ...');
    await sleep(500);
    await meter.reset();
    const runsBefore = runs.length;
    await sleep(5_000);
    await meter.settle();
    const t = meter.tally('push');
    const idle = {
      seconds: 5,
      dispatcherRuns: runs.length - runsBefore,
      requests: Object.values(t.commands).reduce((a, b) => a + b, 0),
    };
    return { latency, throughput, idle };
  } finally {
    await push.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** The console table of the push-subscription benchmark. */
export function subscriptionTable(b: SubscriptionBench): string {
  const lines = [
    'Push subscriptions (npm start dispatcher, table stream on DynamoDB Local, webhook on loopback)',
    `  delivery latency, commit ack → webhook: p50 ${b.latency.p50ms} ms, p99 ${b.latency.p99ms} ms (${b.latency.records} records, open loop)`,
    `  a delivery per commit of 4 records (4 partitions, 10 commits/s): ${b.latency.readUnitsPerMillion} RRU/M, ${b.latency.writeUnitsPerMillion} WRU/M, ${b.latency.s3GetsPerMillion} GETs/M = $${b.latency.storeUsdPerMillion} per million delivered`,
    '  batch  records/s/partition  deliveries  S3 GETs/M  RRU/M   WRU/M   store $/M  Lambda $/M  total $/M',
  ];
  for (const t of b.throughput) {
    lines.push(
      `  ${String(t.batchSize).padStart(5)}  ${String(t.recordsPerSecPerPartition).padStart(19)}  ${String(t.deliveries).padStart(10)}  ${String(t.s3GetsPerMillion).padStart(9)}  ${String(t.readUnitsPerMillion).padStart(6)}  ${String(t.writeUnitsPerMillion).padStart(6)}  ${t.storeUsdPerMillion.toFixed(3).padStart(9)}  ${t.lambdaUsdPerMillion.toFixed(3).padStart(10)}  ${t.usdPerMillion.toFixed(3).padStart(9)}`,
    );
  }
  lines.push(
    `  idle ${b.idle.seconds} s: ${b.idle.dispatcherRuns} dispatcher runs, ${b.idle.requests} billable requests`,
  );
  return lines.join('\n');
}
