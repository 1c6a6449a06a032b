/**
 * `npm run bench`: measures Sluice on this machine against the same local backends the
 * tests use. A progress line while it runs, tables at the end; `--json` adds one JSON
 * object as the last line. Two parts: the micro benchmarks below (about two minutes;
 * `SLUICE_BENCH_SECONDS` sets each phase's length, default 6) and the cost scenarios of
 * ECONOMICS §2 (`scenarios.ts`, about ten minutes; `SLUICE_BENCH_SCENARIO_SECONDS`, default
 * 20), then push subscriptions (`subscriptions.ts`, about a minute). `--only micro`,
 * `--only scenarios` or `--only subscriptions` runs one part, `--scenarios a,d` some scenarios.
 * Every DynamoDB unit is metered from item sizes (`RequestMeter`), never the emulator's.
 *
 * - codec encode/decode MB/s for 1 KiB records
 * - S3 PUTs and DynamoDB transactions per produce call touching 1, 12 and 48 partitions
 * - produce throughput and ack latency, 1 KiB records, 1/4/16 concurrent producers (the
 *   batching client, direct transport)
 * - Sluice vs the raw backends in the same run: one produce call of 100 records vs one PUT
 *   of the same bytes + one equivalent transaction, interleaved call by call so JIT warm-up
 *   and emulator drift hit both equally
 * - fetch throughput; S3 PUTs/GETs and DynamoDB write/read units per MB (ConsumedCapacity)
 *   and the implied AWS cost per GB at us-east-1 list prices
 * - maintenance: call items (the index) per GB, what a run with nothing due costs, and how
 *   fast retention and GC release calls — the produce-call rate one scheduled run keeps up with
 * - open loop: one producer with default options offered 100, 1,000 and 5,000 single keyed
 *   sends per second (not awaited one by one): acknowledged rate, records per produce call,
 *   ack p50/p99 — the closed-loop rows above cannot show a producer that falls behind
 */
import { performance } from 'node:perf_hooks';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { PRODUCER_DEFAULTS } from '../../lib/client/producer';
import { Sluice } from '../../lib/client/sluice';
import { systemClock } from '../../lib/clock';
import { systemRandom } from '../../lib/ids';
import { type LocalBackends, startLocalBackends } from '../../lib/local/backends';
import { documentClient, localDynamoClient, localS3Client } from '../../lib/local/clients';
import { ensureBucket, ensureTable } from '../../lib/local/provision';
import { SluiceLog } from '../../lib/log/log';
import { decodeChunk, encodeSegment } from '../../lib/records/segment-codec';
import type { RecordInput } from '../../lib/records/types';
import { runMaintenance } from '../../lib/retention/job';
import { DynamoLogMetadataStore } from '../../lib/storage/dynamo-log-metadata-store';
import { RequestMeter } from '../../lib/storage/request-meter';
import { S3ObjectStore } from '../../lib/storage/s3-object-store';
import { countCommands } from '../support/sdk-faults';
import { pct } from '../support/stats';
import { PRICES, runScenario, SCENARIOS, type ScenarioResult, scenarioTable } from './scenarios';
import { type SubscriptionBench, subscriptionBench, subscriptionTable } from './subscriptions';

const json = process.argv.includes('--json');
const argValue = (flag: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
/** `--only micro` or `--only scenarios` runs one part; `--scenarios a,d` picks scenarios. */
const ONLY = argValue('--only');
const PICKED = (argValue('--scenarios') ?? 'a,b,c,d').split(',');
const SCENARIO_SECONDS = Number(process.env.SLUICE_BENCH_SCENARIO_SECONDS ?? 20);
/** The runs of each scenario: (a) against lingerMs, and both transports where HTTP matters. */
const SCENARIO_RUNS: Record<string, { lingerMs: number; transport: 'direct' | 'http' }[]> = {
  a: [
    { lingerMs: 50, transport: 'direct' },
    { lingerMs: 250, transport: 'direct' },
    { lingerMs: 1000, transport: 'direct' },
    { lingerMs: 250, transport: 'http' },
  ],
  b: [
    { lingerMs: 250, transport: 'direct' },
    { lingerMs: 1000, transport: 'direct' },
  ],
  c: [
    { lingerMs: 250, transport: 'direct' },
    { lingerMs: 1000, transport: 'direct' },
  ],
  d: [
    { lingerMs: 250, transport: 'direct' },
    { lingerMs: 250, transport: 'http' },
  ],
};
const PHASE_MS = Number(process.env.SLUICE_BENCH_SECONDS ?? 6) * 1000;
const TOPIC_ID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const KIB = Buffer.alloc(1024, 7);
const OPEN_LOOP_RATES = [100, 1000, 5000];

const progress = (m: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${m}`);
  else if (m) process.stderr.write(`${m}\n`);
};

function records(n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: KIB,
    headers: [],
    timestamp: 1_767_225_600_000 + i,
  }));
}

function rate(ms: number, fn: () => void, bytesPerCall: number): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return (n * bytesPerCall) / ((performance.now() - start) / 1000) / 1e6;
}

function codecBench() {
  const batch = records(1000);
  const payload = batch.reduce((n, r) => n + (r.value?.byteLength ?? 0) + (r.key?.byteLength ?? 0), 0);
  const encode = () => encodeSegment([{ topicId: TOPIC_ID, partition: 0, records: batch }]);
  rate(300, encode, payload);
  const encodeMBs = rate(1500, encode, payload);
  const { bytes, chunks } = encode();
  const c = chunks[0] as { byteOffset: number; byteLength: number };
  const chunk = bytes.subarray(c.byteOffset, c.byteOffset + c.byteLength);
  const decode = () => decodeChunk(chunk, 0);
  rate(300, decode, payload);
  return { encodeMBs: Math.round(encodeMBs), decodeMBs: Math.round(rate(1500, decode, payload)) };
}

async function rawCall(
  s3: S3Client,
  doc: DynamoDBDocumentClient,
  bucket: string,
  table: string,
  body: Uint8Array,
  n: number,
) {
  // the same requests as one 1-partition produce call: PUT, then topic check + head CAS + entry + file
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/${n}`, Body: body, IfNoneMatch: '*' }));
  await doc.send(
    new TransactWriteCommand({
      ClientRequestToken: `raw-${n}-${bucket}`.slice(0, 36),
      TransactItems: [
        {
          ConditionCheck: {
            TableName: table,
            Key: { pk: 'RAWT', sk: 'META' },
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        {
          Update: {
            TableName: table,
            Key: { pk: 'RAW', sk: 'HEAD' },
            UpdateExpression: 'SET n = :next',
            ConditionExpression: n === 0 ? 'attribute_not_exists(n)' : 'n = :n',
            ExpressionAttributeValues: n === 0 ? { ':next': 1 } : { ':n': n, ':next': n + 1 },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: table,
            Item: { pk: 'RAW', sk: `S#${String(n).padStart(20, '0')}`, k: `raw/${n}` },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: table,
            Item: { pk: `RAWF#${n}`, sk: 'META', s: 'c' },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    }),
  );
}

async function main() {
  const started = performance.now();
  const results: Record<string, unknown> = {
    machine: `${process.platform} ${process.arch}, ${(await import('node:os')).cpus().length} cores, node ${process.version}`,
  };
  progress('starting local backends ...');
  const backends = await startLocalBackends(process.env, progress);
  try {
    if (!ONLY || ONLY === 'micro') await microBenchmarks(backends, results);
    if (!ONLY || ONLY === 'scenarios') {
      const runs: ScenarioResult[] = [];
      for (const s of SCENARIOS.filter((x) => PICKED.includes(x.id))) {
        // (d) is 10 records a minute: a minute at least, to see some
        const seconds = s.id === 'd' ? Math.max(60, SCENARIO_SECONDS) : SCENARIO_SECONDS;
        for (const o of SCENARIO_RUNS[s.id] ?? [])
          runs.push(await runScenario(backends, s, { ...o, seconds }, progress));
      }
      results.scenarios = runs;
    }
    if (!ONLY || ONLY === 'subscriptions') results.subscriptions = await subscriptionBench(backends, progress);
  } finally {
    progress('stopping backends ...');
    await backends.stop();
    progress('');
  }
  results.seconds = Math.round((performance.now() - started) / 1000);
  printTable(results);
  if (json) console.log(JSON.stringify(results));
}

async function microBenchmarks(backends: LocalBackends, results: Record<string, unknown>) {
  progress('codec: encoding and decoding 1 KiB records ...');
  results.codec = codecBench();
  {
    const s3 = localS3Client(backends.s3Endpoint);
    const dynamo = localDynamoClient(backends.dynamoEndpoint);
    const bucket = `sluice-bench-${Date.now()}`;
    const table = bucket;
    await Promise.all([ensureBucket(s3, bucket), ensureTable(dynamo, table)]);
    const s3Counts = countCommands(s3);
    const dbCounts = countCommands(dynamo);
    // request units by AWS's rules from item sizes, every attempt (never the emulator's figures)
    const meter = new RequestMeter(localDynamoClient(backends.dynamoEndpoint));
    meter.attachDynamo(dynamo, 'bench');
    const units = async () => {
      await meter.settle();
      return { write: meter.tally('bench').wru, read: meter.tally('bench').rru };
    };
    const doc = documentClient(dynamo);
    const stores = { objects: new S3ObjectStore(s3, bucket), metadata: new DynamoLogMetadataStore(doc, table) };
    const admin = new SluiceLog(stores);
    await admin.createTopic({ name: 'bench', partitions: 48 });

    // 1. requests per produce call
    const perCall: Record<string, { puts: number; transactions: number }> = {};
    for (const n of [1, 12, 48]) {
      progress(`requests per produce call touching ${n} partitions ...`);
      const log = new SluiceLog(stores);
      const call = () =>
        log.append({
          batches: [
            { topic: 'bench', records: Array.from({ length: n * 4 }, (_, i) => ({ value: KIB, partition: i % n })) },
          ],
        });
      await call(); // steady state: heads cached
      s3Counts.clear();
      dbCounts.clear();
      await call();
      perCall[`${n}`] = {
        puts: s3Counts.get('PutObjectCommand') ?? 0,
        transactions: dbCounts.get('TransactWriteItemsCommand') ?? 0,
      };
    }
    results.requestsPerProduceCall = perCall;

    // 2. Sluice vs raw, interleaved
    progress('Sluice vs raw backends (interleaved) ...');
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'RAWT', sk: 'META' } }));
    const BATCH = 100;
    const body = encodeSegment([{ topicId: TOPIC_ID, partition: 0, records: records(BATCH) }]).bytes;
    const log = new SluiceLog(stores);
    const sluiceCall = () =>
      log.append({
        batches: [{ topic: 'bench', records: Array.from({ length: BATCH }, () => ({ value: KIB, partition: 0 })) }],
      });
    let rawN = 0;
    for (let i = 0; i < 50; i++) {
      await sluiceCall();
      await rawCall(s3, doc, bucket, table, body, rawN++);
    }
    const sl: number[] = [];
    const rl: number[] = [];
    const until = performance.now() + PHASE_MS;
    while (performance.now() < until) {
      let t = performance.now();
      await sluiceCall();
      sl.push(performance.now() - t);
      t = performance.now();
      await rawCall(s3, doc, bucket, table, body, rawN++);
      rl.push(performance.now() - t);
    }
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const sluiceRate = (sl.length * BATCH) / (sum(sl) / 1000);
    const rawRate = (rl.length * BATCH) / (sum(rl) / 1000);
    sl.sort((a, b) => a - b);
    rl.sort((a, b) => a - b);
    results.vsRaw = {
      recordsPerCall: BATCH,
      sluice: { recordsPerSec: Math.round(sluiceRate), p50ms: +pct(sl, 50).toFixed(1), p99ms: +pct(sl, 99).toFixed(1) },
      raw: { recordsPerSec: Math.round(rawRate), p50ms: +pct(rl, 50).toFixed(1), p99ms: +pct(rl, 99).toFixed(1) },
      throughputRatio: +(sluiceRate / rawRate).toFixed(2),
      p50DeltaMs: +(pct(sl, 50) - pct(rl, 50)).toFixed(1),
    };

    // 3. produce through the batching client at 1/4/16 concurrent producers
    const produce: Record<string, number>[] = [];
    let producedBytes = 0;
    s3Counts.clear();
    dbCounts.clear();
    await meter.reset();
    for (const producers of [1, 4, 16]) {
      progress(`produce: ${producers} concurrent producer(s), 1 KiB records ...`);
      const sluice = new Sluice({ stores });
      const lat: number[] = [];
      let acked = 0;
      const stopAt = performance.now() + PHASE_MS;
      await Promise.all(
        Array.from({ length: producers }, async (_, w) => {
          const producer = sluice.producer({ lingerMs: 5 });
          // each producer keeps 64 sends outstanding, like an application under load
          await Promise.all(
            Array.from({ length: 64 }, async () => {
              while (performance.now() < stopAt) {
                const t = performance.now();
                await producer.send({ topic: 'bench', messages: [{ key: `k${w}`, value: KIB }] });
                lat.push(performance.now() - t);
                acked++;
              }
            }),
          );
          await producer.close();
        }),
      );
      lat.sort((a, b) => a - b);
      producedBytes += acked * 1024;
      produce.push({
        producers,
        recordsPerSec: Math.round(acked / (PHASE_MS / 1000)),
        MBps: +((acked * 1024) / (PHASE_MS / 1000) / 1e6).toFixed(2),
        p50ms: +pct(lat, 50).toFixed(1),
        p99ms: +pct(lat, 99).toFixed(1),
      });
    }
    const producedMB = producedBytes / 1e6;
    const produced = await units();
    const writeCost = {
      s3PutsPerMB: +((s3Counts.get('PutObjectCommand') ?? 0) / producedMB).toFixed(2),
      ddbWriteUnitsPerMB: +(produced.write / producedMB).toFixed(1),
      ddbReadUnitsPerMB: +(produced.read / producedMB).toFixed(1),
    };
    results.produce = produce;

    // 3b. open loop: one default producer offered single keyed 1 KiB sends at a fixed rate,
    // never awaited one by one (a service answering its own traffic); what was acknowledged
    // during the phase, how many records each produce call carried, and the ack latency
    await admin.createTopic({ name: 'openloop', partitions: 12 });
    const openLoop: Record<string, number>[] = [];
    for (const offered of OPEN_LOOP_RATES) {
      progress(`open loop: ${offered} sends/s, default producer options ...`);
      s3Counts.clear();
      const sluice = new Sluice({ stores });
      const producer = sluice.producer();
      const lat: number[] = [];
      let sent = 0;
      const start = performance.now();
      const end = start + PHASE_MS;
      const inFlight: Promise<void>[] = [];
      while (performance.now() < end) {
        const due = Math.floor(((performance.now() - start) / 1000) * offered);
        for (; sent < due; sent++) {
          const t = performance.now();
          inFlight.push(
            producer.send({ topic: 'openloop', messages: [{ key: `key-${sent % 10_000}`, value: KIB }] }).then(() => {
              if (performance.now() <= end) lat.push(performance.now() - t);
            }),
          );
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      const callsDuringPhase = s3Counts.get('PutObjectCommand') ?? 0;
      await producer.close();
      await Promise.all(inFlight);
      lat.sort((a, b) => a - b);
      openLoop.push({
        offeredPerSec: offered,
        ackedPerSec: Math.round(lat.length / (PHASE_MS / 1000)),
        ackedShare: +(lat.length / Math.max(1, sent)).toFixed(3),
        recordsPerCall: +(lat.length / Math.max(1, callsDuringPhase)).toFixed(1),
        p50ms: +pct(lat, 50).toFixed(1),
        p99ms: +pct(lat, 99).toFixed(1),
      });
    }
    results.openLoop = { lingerMs: PRODUCER_DEFAULTS.lingerMs, phases: openLoop };

    // 4. fetch: read everything of one partition back
    progress('fetch: reading back ...');
    s3Counts.clear();
    await meter.reset();
    const reader = new SluiceLog({ ...stores, settings: { chunkCacheBytes: 0 } });
    const hwm = (await reader.describeTopic('bench')).offsets.map((o) => o.highWatermark);
    let fetched = 0;
    let fetchedBytes = 0;
    const fetchStart = performance.now();
    for (let p = 0; p < 48 && performance.now() - fetchStart < PHASE_MS; p++) {
      let offset = 0;
      while (offset < (hwm[p] ?? 0) && performance.now() - fetchStart < PHASE_MS) {
        const r = await reader.fetch({
          topic: 'bench',
          partition: p,
          offset,
          maxRecords: 10_000,
          maxBytes: 4 * 1024 * 1024,
        });
        for (const x of r.records) fetchedBytes += x.value?.byteLength ?? 0;
        fetched += r.records.length;
        offset = r.nextOffset;
      }
    }
    const fetchSeconds = (performance.now() - fetchStart) / 1000;
    const fetchedMB = fetchedBytes / 1e6;
    results.fetch = {
      recordsPerSec: Math.round(fetched / fetchSeconds),
      MBps: +(fetchedMB / fetchSeconds).toFixed(2),
      s3GetsPerMB: +((s3Counts.get('GetObjectCommand') ?? 0) / fetchedMB).toFixed(2),
      ddbReadUnitsPerMB: +((await units()).read / fetchedMB).toFixed(1),
      readAmplification: +(reader.fetchStats.bytesFetched / fetchedBytes).toFixed(2),
    };
    const f = results.fetch as { s3GetsPerMB: number; ddbReadUnitsPerMB: number };
    results.costPerGB = {
      ...writeCost,
      produceUSD: +(
        1000 *
        ((writeCost.s3PutsPerMB * PRICES.s3PutPer1k) / 1000 +
          (writeCost.ddbWriteUnitsPerMB * PRICES.ddbWritePerM) / 1e6 +
          (writeCost.ddbReadUnitsPerMB * PRICES.ddbReadPerM) / 1e6)
      ).toFixed(4),
      consumeUSD: +(
        1000 *
        ((f.s3GetsPerMB * PRICES.s3GetPer1k) / 1000 + (f.ddbReadUnitsPerMB * PRICES.ddbReadPerM) / 1e6)
      ).toFixed(4),
    };

    // 5. maintenance: index items per GB, what a quiet run costs, and how fast retention releases
    progress('maintenance: multi-partition calls on 12 partitions, then retention of all of it ...');
    await admin.createTopic({ name: 'retained', partitions: 12 });
    const writer = new SluiceLog(stores);
    const value = Buffer.alloc(4096, 3);
    const retainedStart = performance.now();
    let calls = 0;
    while (performance.now() - retainedStart < PHASE_MS) {
      await writer.append({
        batches: [{ topic: 'retained', records: Array.from({ length: 12 }, (_, p) => ({ value, partition: p })) }],
      });
      calls++;
    }
    const t = await admin.getTopic('retained');
    // the 12 partitions share head shard 0: one call item per call
    const callItems = (await stores.metadata.readCalls(t.topicId, 0, -1, 10_000_000)).length;
    const retainedBytes = (await stores.metadata.getHeads(t.topicId, [...Array(12).keys()])).reduce(
      (n, h) => n + h.bytes,
      0,
    );
    const measure = async (settings: { readGraceMs?: number }) => {
      s3Counts.clear();
      dbCounts.clear();
      const u0 = await units();
      const started = performance.now();
      const report = await runMaintenance(
        { ...stores, clock: systemClock, random: systemRandom },
        { budgetMs: 600_000, ...settings },
      );
      const seconds = (performance.now() - started) / 1000;
      const u1 = await units();
      const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      const m = {
        s3: count(s3Counts),
        lists: s3Counts.get('ListObjectsV2Command') ?? 0,
        gets: s3Counts.get('GetObjectCommand') ?? 0,
        puts: s3Counts.get('PutObjectCommand') ?? 0,
        ddb: count(dbCounts),
        readUnits: u1.read - u0.read,
        writeUnits: u1.write - u0.write,
      };
      const usd =
        ((m.lists + m.puts) * PRICES.s3PutPer1k) / 1000 +
        (m.gets * PRICES.s3GetPer1k) / 1000 +
        (m.readUnits * PRICES.ddbReadPerM) / 1e6 +
        (m.writeUnits * PRICES.ddbWritePerM) / 1e6;
      return { ...m, usd, seconds, report };
    };
    // a run with nothing due (what every 5-minute run pays), then retention of everything
    // and GC of what it released (the read grace set to 0 so it happens in the same run)
    const quiet = await measure({});
    await admin.setRetention('retained', { retentionMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const expire = await measure({ readGraceMs: 0 });
    const released = expire.report.callsReleased;
    const partitionsTotal = (await admin.listTopics()).reduce((n, x) => n + x.partitions, 0);
    results.maintenance = {
      produceCalls: calls,
      retainedMB: +(retainedBytes / 1e6).toFixed(1),
      callItems,
      callItemsPerGB: Math.round(callItems / (retainedBytes / 1e9)),
      quietRun: {
        s3: quiet.s3,
        ddb: quiet.ddb,
        readUnits: quiet.readUnits,
        writeUnits: quiet.writeUnits,
        partitions: partitionsTotal,
        usdPerMonth: +(quiet.usd * 288 * 30).toFixed(4),
      },
      retention: {
        callsReleased: released,
        objectsDeleted: expire.report.gc.releasedDeleted,
        seconds: +expire.seconds.toFixed(2),
        callsPerSec: Math.round(released / expire.seconds),
        writeUnitsPerCall: +(expire.writeUnits / Math.max(1, released)).toFixed(2),
        readUnitsPerCall: +(expire.readUnits / Math.max(1, released)).toFixed(2),
        usdPerMillionCalls: +((expire.usd / Math.max(1, released)) * 1e6).toFixed(2),
        // one run every 5 minutes with a 60 s budget keeps up with this many produce calls a second
        sustainedCallsPerSec: Math.round(((released / expire.seconds) * 60) / 300),
      },
    };
  }
}

function printTable(r: Record<string, unknown>) {
  console.log(`Sluice benchmark — ${r.machine}; local emulators (LocalStack S3, DynamoDB Local); ${r.seconds} s`);
  if (r.codec) printMicro(r);
  const runs = (r.scenarios ?? []) as ScenarioResult[];
  for (const s of SCENARIOS) {
    const mine = runs.filter((x) => x.scenario === s.id);
    if (mine.length > 0) console.log(`\n${scenarioTable(s, mine)}`);
  }
  if (r.subscriptions) console.log(`\n${subscriptionTable(r.subscriptions as SubscriptionBench)}`);
}

function printMicro(r: Record<string, unknown>) {
  const codec = r.codec as { encodeMBs: number; decodeMBs: number };
  const per = r.requestsPerProduceCall as Record<string, { puts: number; transactions: number }>;
  const vs = r.vsRaw as {
    sluice: { recordsPerSec: number; p50ms: number; p99ms: number };
    raw: { recordsPerSec: number; p50ms: number; p99ms: number };
    throughputRatio: number;
    p50DeltaMs: number;
  };
  const produce = r.produce as {
    producers: number;
    recordsPerSec: number;
    MBps: number;
    p50ms: number;
    p99ms: number;
  }[];
  const f = r.fetch as {
    recordsPerSec: number;
    MBps: number;
    s3GetsPerMB: number;
    ddbReadUnitsPerMB: number;
    readAmplification: number;
  };
  const c = r.costPerGB as {
    s3PutsPerMB: number;
    ddbWriteUnitsPerMB: number;
    ddbReadUnitsPerMB: number;
    produceUSD: number;
    consumeUSD: number;
  };
  const m = r.maintenance as {
    produceCalls: number;
    retainedMB: number;
    callItems: number;
    callItemsPerGB: number;
    quietRun: Record<string, number>;
    retention: Record<string, number>;
  };
  const ol = r.openLoop as { lingerMs: number; phases: Record<string, number>[] } | undefined;
  const row = (...cells: (string | number)[]) => cells.map((x, i) => String(x).padStart(i === 0 ? 22 : 10)).join(' ');
  console.log(
    [
      '',
      `codec, 1 KiB records: encode ${codec.encodeMBs} MB/s, decode ${codec.decodeMBs} MB/s`,
      `requests per produce call: ${Object.entries(per)
        .map(([k, v]) => `${k} partition(s) → ${v.puts} PUT + ${v.transactions} transaction`)
        .join('; ')}`,
      '',
      row('', 'records/s', 'p50 ms', 'p99 ms'),
      row('Sluice, 100 rec/call', vs.sluice.recordsPerSec, vs.sluice.p50ms, vs.sluice.p99ms),
      row('raw PUT + transaction', vs.raw.recordsPerSec, vs.raw.p50ms, vs.raw.p99ms),
      `Sluice / raw throughput = ${vs.throughputRatio}; p50 difference ${vs.p50DeltaMs} ms`,
      '',
      row('producers (client)', 'records/s', 'MB/s', 'p50 ms', 'p99 ms'),
      ...produce.map((p) => row(p.producers, p.recordsPerSec, p.MBps, p.p50ms, p.p99ms)),
      '',
      `open loop, one producer with default options (lingerMs ${ol?.lingerMs}), single keyed 1 KiB sends, 12 partitions:`,
      row('offered sends/s', 'acked/s', 'acked', 'rec/call', 'p50 ms', 'p99 ms'),
      ...(ol?.phases ?? []).map((p) =>
        row(
          p.offeredPerSec as number,
          p.ackedPerSec as number,
          `${Math.round((p.ackedShare as number) * 100)} %`,
          p.recordsPerCall as number,
          p.p50ms as number,
          p.p99ms as number,
        ),
      ),
      '',
      `fetch: ${f.recordsPerSec} records/s, ${f.MBps} MB/s, read amplification ${f.readAmplification}`,
      `per MB produced: ${c.s3PutsPerMB} S3 PUTs, ${c.ddbWriteUnitsPerMB} DynamoDB write units, ${c.ddbReadUnitsPerMB} read units (metered: units from item sizes by AWS's rules)`,
      `per MB consumed: ${f.s3GetsPerMB} S3 GETs, ${f.ddbReadUnitsPerMB} DynamoDB read units`,
      `implied AWS cost (us-east-1 list): $${c.produceUSD} per GB produced, $${c.consumeUSD} per GB consumed`,
      '',
      `maintenance: ${m.produceCalls} calls x 12 partitions (${m.retainedMB} MB): ${m.callItems} call items (index), = ${m.callItemsPerGB} per GB`,
      `  a run with nothing due: ${JSON.stringify(m.quietRun)} (every 5 min: $${m.quietRun.usdPerMonth}/month for these partitions)`,
      `  retention of all of it + GC: ${m.retention.callsReleased} calls released, ${m.retention.objectsDeleted} objects deleted in ${m.retention.seconds} s = ${m.retention.callsPerSec} calls/s; ${m.retention.writeUnitsPerCall} WRU + ${m.retention.readUnitsPerCall} RRU per call ($${m.retention.usdPerMillionCalls} per million calls); a 60 s run every 5 min keeps up with ${m.retention.sustainedCallsPerSec} produce calls/s`,
    ].join('\n'),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
