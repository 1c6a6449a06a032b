/**
 * The cost scenarios of ECONOMICS §2, run scaled down on the local backends and metered at
 * the SDK layer (`RequestMeter`), then extrapolated to a month (730 h).
 *
 * A run: a fresh bucket and table; the scenario's topic; `hosted` producer instances (each
 * its own client, as separate processes would be) offered keyed 1 KiB sends open loop at the
 * scenario's per-producer rate, so every producer batches exactly as in the scenario; a
 * consumer group with the scenario's members (scaled with the producers) tailing the topic;
 * then the maintenance job as the schedule would run it over that data — the orphan sweep over
 * every object (each is looked at once in its life), a retention run that expires everything
 * and GC of what it released (what 7-day retention does to every byte in steady state), and
 * an idle run, whose cost every scheduled run pays.
 *
 * Extrapolation to a month, term by term, by what each term grows with:
 * - by bytes (month bytes / the run's acknowledged bytes): the producers' PUTs and commits,
 *   the consumers' GETs, the maintenance work (sweep, retention, GC of that data — each of
 *   its two runs less what the idle run cost, which every run pays and the schedule
 *   counts: `lessFixed`);
 * - by time (month / the run's duration): the consumers' DynamoDB reads (polls of every
 *   partition, whatever the rate) and the group coordination (heartbeats, leases, commits);
 *   a run hosts fewer members than the scenario when it hosts fewer producers, so member
 *   heartbeats of the missing members are not counted (a few WRU per member-minute);
 * - by schedule (every 5 minutes): the cost of a maintenance run with nothing to do.
 * Batching: each hosted producer runs at the scenario's per-producer rate, so it flushes as
 * in the scenario — unless the local backends answer slower than the linger, when its
 * calls carry more records than on AWS; the per-call and per-chunk terms are then scaled to
 * the scenario's flushes (`batchingCorrection`, shown in the table): PUTs per call, GETs per
 * chunk, commits and maintenance per call item (call × head shard).
 * Storage: 7 days of the rate at the bytes-per-payload-byte the run wrote to S3 (and the
 * table's bytes the run left). Lambda: the maintenance function (512 MB) for its measured
 * run times; with HTTP transport, the API function (1,024 MB) for every request's measured
 * handler time, rounded up to the millisecond as Lambda bills.
 */
import { performance } from 'node:perf_hooks';
import { Sluice } from '../../lib/client/sluice';
import { systemClock } from '../../lib/clock';
import { createSluice } from '../../lib/compose';
import { assignPartitions } from '../../lib/groups/assignor';
import { groupLags } from '../../lib/groups/lag';
import { createHttpApp } from '../../lib/http/app';
import { serveHttpApp } from '../../lib/http/node-server';
import type { LocalBackends } from '../../lib/local/backends';
import { localDynamoClient, localS3Client } from '../../lib/local/clients';
import { ensureBucket, ensureTable } from '../../lib/local/provision';
import { runMaintenance } from '../../lib/retention/job';
import { DEFAULT_LOG_SETTINGS } from '../../lib/settings';
import { storesFromClients } from '../../lib/storage/aws';
import { HEAD_SHARD_SIZE, headShard } from '../../lib/storage/layout';
import { type MeterTally, RequestMeter, sumTallies } from '../../lib/storage/request-meter';
import { pct } from '../support/stats';

/** us-east-1 list prices (ECONOMICS §1). */
export const PRICES = {
  s3PutPer1k: 0.005,
  s3GetPer1k: 0.0004,
  s3GBMonth: 0.023,
  ddbWritePerM: 0.625,
  ddbReadPerM: 0.125,
  ddbGBMonth: 0.25,
  provisionedWcuHour: 0.00065,
  provisionedRcuHour: 0.00013,
  lambdaRequestPerM: 0.2,
  lambdaGBSecond: 0.0000133334,
};
const MONTH_S = 730 * 3600;
const RETENTION_S = 7 * 24 * 3600;
const MAINTENANCE_RUNS_PER_MONTH = MONTH_S / 300;
/** A full GC pass starts at most hourly (`gcIntervalMs`). */
const API_MEMORY_GB = 1;
const MAINTENANCE_MEMORY_GB = 0.5;
const KIB = Buffer.alloc(1024, 7);
const KEYS = 10_000;

/**
 * The key sequence the producers send: a linear congruential walk over the `KEYS` keys that
 * visits every one before repeating (Hull–Dobell: 17 is coprime to 10,000, and 7,920 is a
 * multiple of 20, so of 2, 5 and 4), so every partition of a scenario sees keyed records in
 * the same spread a random key would give it.
 */
export function nextKey(key: number): number {
  return (key * 7921 + 17) % KEYS;
}

/** A scenario of ECONOMICS §2 and its anchors (§3, $/month). */
export interface Scenario {
  readonly id: 'a' | 'b' | 'c' | 'd';
  /** Offered payload bytes per second over all producers. */
  readonly bytesPerSec: number;
  readonly partitions: number;
  readonly producers: number;
  readonly members: number;
  /** Producers this machine hosts in the scaled run (each at the scenario's per-producer rate). */
  readonly hosted: number;
  readonly anchors: Readonly<Record<string, number>>;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'a',
    bytesPerSec: 1_000_000,
    partitions: 12,
    producers: 4,
    members: 2,
    hosted: 1,
    anchors: { 'Kinesis on-demand': 396, 'Kinesis provisioned': 87, 'MSK Serverless': 1015, 'S2 Standard': 151 },
  },
  {
    id: 'b',
    bytesPerSec: 10_000_000,
    partitions: 48,
    producers: 16,
    members: 4,
    hosted: 1,
    anchors: { 'Kinesis on-demand': 3701, 'Kinesis provisioned': 691, 'MSK Serverless': 5147, 'S2 Standard': 1500 },
  },
  {
    id: 'c',
    bytesPerSec: 100_000_000,
    partitions: 288,
    producers: 64,
    members: 24,
    hosted: 1,
    anchors: { 'Kinesis on-demand': 36749, 'Kinesis provisioned': 6787, 'MSK Serverless': 46331, 'S2 Standard': 15000 },
  },
  {
    id: 'd',
    bytesPerSec: (10 * 1024) / 60,
    partitions: 12,
    producers: 1,
    members: 1,
    hosted: 1,
    anchors: { 'Kinesis on-demand': 29, 'Kinesis provisioned': 26, 'MSK Serverless': 561 },
  },
];

/** One scenario run's result, extrapolated. */
export interface ScenarioResult {
  readonly scenario: Scenario['id'];
  readonly lingerMs: number;
  readonly transport: 'direct' | 'http';
  readonly seconds: number;
  readonly hostedProducers: number;
  readonly members: number;
  /** GETs scaled from the hosted members to the scenario's (`readersCorrection`). */
  readonly readersCorrection: number;
  readonly offered: number;
  readonly acked: number;
  readonly recordsPerCall: number;
  /** What a produce call carries in the scenario on AWS (flush every linger at its rate). */
  readonly scenarioRecordsPerCall: number;
  /** Factors applied to per-call and per-chunk terms when the local run batched more (1 = none). */
  readonly batchingCorrection: { readonly calls: number; readonly chunks: number; readonly shards: number };
  readonly ackP50ms: number;
  readonly ackP99ms: number;
  readonly e2eP50ms: number;
  readonly e2eP99ms: number;
  /** $/month by term. */
  readonly monthly: Readonly<Record<string, number>>;
  readonly totalMonthly: number;
  /** The total with the table on provisioned capacity, autoscaled to 70 % of the average load. */
  readonly totalProvisionedMonthly: number;
  /** Metered requests of the run, by role (not extrapolated). */
  readonly metered: Readonly<Record<string, MeterTally>>;
}

const usd = (t: MeterTally) =>
  (t.s3Put * PRICES.s3PutPer1k) / 1000 +
  (t.s3Get * PRICES.s3GetPer1k) / 1000 +
  (t.wru * PRICES.ddbWritePerM) / 1e6 +
  (t.rru * PRICES.ddbReadPerM) / 1e6;

/** `t` less `runs` times the fixed cost of a run (`fixed`), request class by class, never below 0. */
export function lessFixed(t: MeterTally, fixed: MeterTally, runs: number): MeterTally {
  const less = (a: number, b: number) => Math.max(0, a - runs * b);
  return {
    ...t,
    s3Put: less(t.s3Put, fixed.s3Put),
    s3Get: less(t.s3Get, fixed.s3Get),
    wru: less(t.wru, fixed.wru),
    rru: less(t.rru, fixed.rru),
  };
}

const round = (n: number) => (n >= 100 ? Math.round(n) : +n.toFixed(2));

/** Handler time of every request an app served (Lambda bills each rounded up to 1 ms). */
type Fetch = ReturnType<typeof createHttpApp>['fetch'];
function timedApp(app: { fetch: Fetch }) {
  const stats = { requests: 0, billedMs: 0 };
  return {
    stats,
    app: {
      fetch: (async (...args: Parameters<Fetch>) => {
        const t = performance.now();
        try {
          return await app.fetch(...args);
        } finally {
          stats.requests++;
          stats.billedMs += Math.ceil(performance.now() - t);
        }
      }) as Fetch,
    },
  };
}

/**
 * Distinct partitions a flush of `n` uniformly keyed records touches, the calls it takes
 * (at most `maxPartitionsPerCall` partitions each: the producer's split), and the head
 * shards (`HEAD_SHARD_SIZE` partitions) those calls touch in all — what a commit and its
 * call items cost per.
 */
function flushShape(n: number, partitions: number, maxPartitionsPerCall = DEFAULT_LOG_SETTINGS.maxPartitionsPerCall) {
  const chunks = partitions * (1 - (1 - 1 / partitions) ** n);
  const calls = Math.max(1, Math.ceil(chunks / maxPartitionsPerCall));
  const shardCount = Math.ceil(partitions / HEAD_SHARD_SIZE);
  const shards = calls * shardCount * (1 - (1 - 1 / shardCount) ** (n / calls));
  return { chunks, calls, shards };
}

/**
 * When the local backends answer slower than the scenario's linger, the producer's calls
 * carry more records than they would on AWS (it flushes every linger or when a call
 * returns, whichever is later), so the run has fewer calls, chunks and call items per byte
 * than the scenario. The per-call, per-chunk and per-call-item terms are then scaled to the
 * scenario's flushes: a flush every `lingerMs` at the per-producer rate, split as the
 * producer splits it. 1 when the run batched as the scenario does.
 */
export function batchingCorrection(s: Scenario, lingerMs: number, runRecordsPerCall: number) {
  const perProducer = s.bytesPerSec / s.producers / KIB.byteLength;
  const flush = Math.max(1, (perProducer * lingerMs) / 1000);
  const scenario = flushShape(flush, s.partitions);
  // the run's flush size: the one whose calls carry what the run's calls carried
  let runFlush = Math.max(1, runRecordsPerCall);
  while (runFlush / flushShape(runFlush, s.partitions).calls < runRecordsPerCall && runFlush < 1e7) runFlush *= 1.01;
  const run = flushShape(runFlush, s.partitions);
  const scenarioRecordsPerCall = flush / scenario.calls;
  if (runRecordsPerCall <= scenarioRecordsPerCall * 1.25)
    return { calls: 1, chunks: 1, shards: 1, scenarioRecordsPerCall };
  return {
    calls: scenario.calls / flush / (run.calls / runFlush),
    chunks: scenario.chunks / flush / (run.chunks / runFlush),
    shards: scenario.shards / flush / (run.shards / runFlush),
    scenarioRecordsPerCall,
  };
}

/**
 * A member reads an object with one GET per head shard among the partitions it owns (its
 * read-ahead sees the chunks of the call items it has read: those of its shards). A run
 * hosting fewer members than the scenario, each owning more partitions, makes fewer GETs
 * per object than the scenario's members do in all: this scales them to the scenario's
 * members, as the group's own assignor places them — (member, head shard) pairs.
 */
export function readersCorrection(s: Scenario, hostedMembers: number): number {
  const getsPerObject = (members: number) => {
    const ids = Array.from({ length: Math.min(members, s.partitions) }, (_, i) => `member-${i}`);
    const partitions = Array.from({ length: s.partitions }, (_, partition) => ({ topic: 'events', partition }));
    const owners = assignPartitions(
      ids.map((memberId) => ({ memberId, topics: ['events'] })),
      partitions,
      new Map(),
    );
    return new Set([...owners].map(([k, m]) => `${m}/${headShard(Number(k.split('#')[1]))}`)).size;
  };
  return getsPerObject(s.members) / getsPerObject(hostedMembers);
}

/** Runs one scenario at one linger and transport; `seconds` of offered load. */
export async function runScenario(
  backends: LocalBackends,
  s: Scenario,
  options: { lingerMs: number; transport: 'direct' | 'http'; seconds: number },
  progress: (m: string) => void,
): Promise<ScenarioResult> {
  const name = `sluice-cost-${s.id}-${options.lingerMs}-${options.transport}-${systemClock.nowMs()}`;
  const s3 = localS3Client(backends.s3Endpoint);
  const dynamo = localDynamoClient(backends.dynamoEndpoint);
  await Promise.all([ensureBucket(s3, name), ensureTable(dynamo, name)]);
  const meter = new RequestMeter(dynamo);
  const storesOf = (role: string) => {
    const roleS3 = localS3Client(backends.s3Endpoint);
    const roleDynamo = localDynamoClient(backends.dynamoEndpoint);
    meter.attachS3(roleS3, role);
    meter.attachDynamo(roleDynamo, role);
    return storesFromClients(roleS3, roleDynamo, name, name);
  };
  const admin = createSluice(storesOf('admin'));
  await admin.log.createTopic({ name: 'events', partitions: s.partitions });

  // with HTTP transport, one local server per side (its handler time is the API Lambda's)
  const servers: { close(): Promise<void> }[] = [];
  const api: Record<string, { requests: number; billedMs: number }> = {};
  const viaHttp = async (side: string, stores: ReturnType<typeof storesOf>) => {
    // served as the deployed function serves it: no waiting inside Lambda
    const timed = timedApp(createHttpApp(createSluice(stores), { waitInServer: false }));
    api[side] = timed.stats;
    const server = await serveHttpApp(timed.app, 0);
    servers.push(server);
    return new Sluice({ http: { url: server.url } });
  };
  const produceStores = storesOf('produce');
  const consumeStores = { ...storesOf('consume'), groups: storesOf('groups').groups };
  const producerSide =
    options.transport === 'http' ? await viaHttp('produce', produceStores) : new Sluice({ stores: produceStores });
  const consumerSide =
    options.transport === 'http' ? await viaHttp('consume', consumeStores) : new Sluice({ stores: consumeStores });

  const members = Math.max(1, Math.round((s.members * s.hosted) / s.producers));
  const e2e: number[] = [];
  let consumed = 0;
  const consumers = Array.from({ length: members }, () => consumerSide.consumer({ groupId: 'cost' }));
  for (const c of consumers) {
    await c.subscribe({ topics: ['events'], fromBeginning: true });
    void c.run({
      eachBatch: async ({ batch }) => {
        const now = systemClock.nowMs();
        for (const m of batch.messages) e2e.push(now - m.timestamp);
        consumed += batch.messages.length;
      },
    });
  }

  const perProducer = s.bytesPerSec / s.producers / KIB.byteLength;
  const producers = Array.from({ length: s.hosted }, () => producerSide.producer({ lingerMs: options.lingerMs }));
  const ack: number[] = [];
  const inFlight: Promise<void>[] = [];
  let offered = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + options.seconds * 1000;
  const sent = producers.map(() => 0);
  let key = 0;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * perProducer);
    for (const [i, p] of producers.entries()) {
      for (; (sent[i] as number) < due; sent[i] = (sent[i] as number) + 1) {
        const t = performance.now();
        key = nextKey(key);
        offered++;
        inFlight.push(
          p
            .send({ topic: 'events', messages: [{ key: `key-${key}`, value: KIB, timestamp: systemClock.nowMs() }] })
            .then(
              () => {
                ack.push(performance.now() - t);
              },
              () => {
                failed++;
              },
            ),
        );
      }
    }
    progress(
      `scenario (${s.id}) ${options.transport} lingerMs ${options.lingerMs}: ${ack.length}/${offered} acked, ${consumed} consumed`,
    );
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(producers.map((p) => p.close()));
  await Promise.all(inFlight);
  const acked = ack.length;
  const drainUntil = performance.now() + 60_000;
  while (consumed < acked && performance.now() < drainUntil) {
    progress(`scenario (${s.id}): consumers catching up, ${consumed}/${acked}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(consumers.map((c) => c.stop()));
  const consumeSeconds = (performance.now() - start) / 1000;
  const seconds = options.seconds;
  const traffic = await meter.report();
  const produceCalls = traffic.produce?.commands['S3:PutObject'] ?? 0;
  await meter.reset();

  // maintenance over the run's data: the orphan sweep over it (each object is looked at once
  // in its life), then retention of everything and GC of what it released (what 7-day
  // retention does to every byte in steady state), then a run with nothing to do
  progress(`scenario (${s.id}): maintenance ...`);
  const maintenance = createSluice(storesOf('maintenance'));
  const job = async (settings: Parameters<typeof runMaintenance>[1]) => {
    const t = performance.now();
    await runMaintenance(maintenance.maintenance, { budgetMs: 600_000, ...settings });
    if (maintenance.groups) await groupLags(maintenance.groups);
    return (performance.now() - t) / 1000;
  };
  let workSeconds = await job({ orphanGraceMs: 0 });
  const tableBytes = meter.storedItemBytes(name);
  const sweep = await meter.report();
  await meter.reset();
  await admin.log.setRetention('events', { retentionMs: 1 });
  await new Promise((r) => setTimeout(r, 20));
  workSeconds += await job({ readGraceMs: 0, orphanGraceMs: 0 });
  const work = { ...(await meter.report()) };
  for (const [role, t] of Object.entries(sweep)) work[role] = sumTallies([t, ...(work[role] ? [work[role]] : [])]);
  await meter.reset();
  const idleSeconds = await job({});
  const idle = await meter.report();
  await Promise.all(servers.map((x) => x.close()));

  // each of the two work runs also did what every run does (the idle run's requests: the
  // sweep's last page, a read of each shard and of the due releases, the cursors, the lag):
  // that is the scheduled term, charged once per run — the work term is what the data added
  const idleTally = sumTallies(Object.values(idle));
  const workTally = lessFixed(sumTallies(Object.values(work)), idleTally, 2);
  const workDataSeconds = Math.max(0, workSeconds - 2 * idleSeconds);

  const ackedBytes = acked * KIB.byteLength;
  // by bytes: month bytes over the run's acknowledged bytes; by time: month over the run
  const fBytes = (s.bytesPerSec * MONTH_S) / Math.max(1, ackedBytes);
  const fTime = MONTH_S / consumeSeconds;
  const batching = batchingCorrection(s, options.lingerMs, acked / Math.max(1, produceCalls));
  const readers = readersCorrection(s, members);
  const payloadPerByte = (traffic.produce?.s3PutBytes ?? 0) / Math.max(1, ackedBytes);
  const retainedGB = (s.bytesPerSec * RETENTION_S) / 1e9;
  const none = sumTallies([]);
  const produce = traffic.produce ?? none;
  const consume = traffic.consume ?? none;
  const putUsd = (t: MeterTally) => (t.s3Put * PRICES.s3PutPer1k) / 1000;
  const getUsd = (t: MeterTally) => (t.s3Get * PRICES.s3GetPer1k) / 1000;
  const lambda = (stats: { requests: number; billedMs: number } | undefined, memoryGB: number) =>
    stats
      ? (stats.requests * PRICES.lambdaRequestPerM) / 1e6 + (stats.billedMs / 1000) * memoryGB * PRICES.lambdaGBSecond
      : 0;
  const monthly: Record<string, number> = {
    'produce: S3 PUTs': putUsd(produce) * fBytes * batching.calls,
    'produce: DynamoDB': (usd(produce) - putUsd(produce)) * fBytes * batching.shards,
    'consume: S3 GETs': getUsd(consume) * fBytes * batching.chunks * readers,
    'consume: DynamoDB polls': (usd(consume) - getUsd(consume)) * fTime,
    'consume: group coordination': usd(traffic.groups ?? none) * fTime,
    'maintenance: work': usd(workTally) * fBytes * batching.shards,
    'maintenance: scheduled runs': usd(idleTally) * MAINTENANCE_RUNS_PER_MONTH,
    'maintenance: Lambda':
      MAINTENANCE_RUNS_PER_MONTH * (PRICES.lambdaRequestPerM / 1e6) +
      MAINTENANCE_MEMORY_GB *
        PRICES.lambdaGBSecond *
        (workDataSeconds * fBytes * batching.shards + idleSeconds * MAINTENANCE_RUNS_PER_MONTH),
    'API Lambda (HTTP)':
      lambda(api.produce, API_MEMORY_GB) * fBytes * batching.calls + lambda(api.consume, API_MEMORY_GB) * fTime,
    'storage: S3 (7 days)': retainedGB * payloadPerByte * PRICES.s3GBMonth,
    'storage: DynamoDB': retainedGB * (tableBytes / Math.max(1, ackedBytes)) * PRICES.ddbGBMonth,
  };
  const total = Object.values(monthly).reduce((a, b) => a + b, 0);
  // the same units on provisioned capacity autoscaled to 70 % of a flat load (EventLog's
  // `capacity: { mode: 'provisioned' }`), at least one unit of each
  const unitsPerMonth = [
    [produce, fBytes * batching.shards],
    [consume, fTime],
    [traffic.groups ?? none, fTime],
    [workTally, fBytes * batching.shards],
    [idleTally, MAINTENANCE_RUNS_PER_MONTH],
  ] as const;
  const wru = unitsPerMonth.reduce((n, [t, f]) => n + t.wru * f, 0);
  const rru = unitsPerMonth.reduce((n, [t, f]) => n + t.rru * f, 0);
  const onDemandDynamo = (wru * PRICES.ddbWritePerM + rru * PRICES.ddbReadPerM) / 1e6;
  const provisionedDynamo =
    730 *
    (Math.max(1, wru / MONTH_S / 0.7) * PRICES.provisionedWcuHour +
      Math.max(1, rru / MONTH_S / 0.7) * PRICES.provisionedRcuHour);
  ack.sort((a, b) => a - b);
  e2e.sort((a, b) => a - b);
  return {
    scenario: s.id,
    lingerMs: options.lingerMs,
    transport: options.transport,
    seconds,
    hostedProducers: s.hosted,
    members,
    readersCorrection: +readers.toFixed(2),
    offered,
    acked,
    recordsPerCall: +(acked / Math.max(1, produceCalls)).toFixed(1),
    scenarioRecordsPerCall: +batching.scenarioRecordsPerCall.toFixed(1),
    batchingCorrection: {
      calls: +batching.calls.toFixed(2),
      chunks: +batching.chunks.toFixed(2),
      shards: +batching.shards.toFixed(2),
    },
    ackP50ms: Math.round(pct(ack, 50)),
    ackP99ms: Math.round(pct(ack, 99)),
    e2eP50ms: Math.round(pct(e2e, 50)),
    e2eP99ms: Math.round(pct(e2e, 99)),
    monthly: Object.fromEntries(Object.entries(monthly).map(([k, v]) => [k, round(v)])),
    totalMonthly: round(total),
    totalProvisionedMonthly: round(total - onDemandDynamo + provisionedDynamo),
    metered: { ...traffic, ...Object.fromEntries(Object.entries(work).map(([k, v]) => [`${k} (work)`, v])) },
    ...(failed > 0 ? { failedSends: failed } : {}),
  };
}

/** The console table of one scenario: one column per run, anchors beside. */
export function scenarioTable(s: Scenario, runs: readonly ScenarioResult[]): string {
  const head = runs.map((r) => `${r.transport} ${r.lingerMs} ms`);
  const terms = Object.keys(runs[0]?.monthly ?? {});
  const rows: string[][] = [['$/month', ...head]];
  for (const term of terms) {
    if (runs.every((r) => (r.monthly[term] ?? 0) === 0)) continue;
    rows.push([term, ...runs.map((r) => String(r.monthly[term] ?? 0))]);
  }
  rows.push(['total', ...runs.map((r) => String(r.totalMonthly))]);
  rows.push(['total, table provisioned (70 %)', ...runs.map((r) => String(r.totalProvisionedMonthly))]);
  rows.push(['acked / offered', ...runs.map((r) => `${r.acked}/${r.offered}`)]);
  rows.push([
    'records per call: run / scenario',
    ...runs.map((r) => `${r.recordsPerCall} / ${r.scenarioRecordsPerCall}`),
  ]);
  rows.push([
    'batching correction calls/chunks/call items',
    ...runs.map(
      (r) => `×${r.batchingCorrection.calls} / ×${r.batchingCorrection.chunks} / ×${r.batchingCorrection.shards}`,
    ),
  ]);
  rows.push(['GETs scaled to the members', ...runs.map((r) => `×${r.readersCorrection}`)]);
  rows.push(['ack p50 / p99 ms', ...runs.map((r) => `${r.ackP50ms} / ${r.ackP99ms}`)]);
  rows.push(['produce→consume p50 / p99 ms', ...runs.map((r) => `${r.e2eP50ms} / ${r.e2eP99ms}`)]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const first = runs[0];
  const title =
    `(${s.id}) ${(s.bytesPerSec / 1e6).toPrecision(2)} MB/s, ${s.partitions} partitions, ${s.producers} producers ` +
    `(${first?.hostedProducers} hosted), ${s.members} members (${first?.members} run), keyed 1 KiB`;
  const anchors = Object.entries(s.anchors)
    .map(([k, v]) => `${k} $${v}`)
    .join(', ');
  return [title, ...rows.map(line), `anchors (ECONOMICS §3): ${anchors}`].join('\n');
}
