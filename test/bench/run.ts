/**
 * `npm run bench`: measures Sluice on this machine against the same local backends the
 * tests use. Prints a table (and progress while it runs); `--json` prints one JSON object
 * as the last line.
 *
 * Measured now: segment codec encode/decode throughput for 1 KiB records; S3 PUTs and
 * DynamoDB transactions per produce call touching 1, 12 and 48 partitions; produce
 * throughput and ack latency with 1, 4 and 16 concurrent producers next to the raw rate of
 * the backends alone (one PUT of the same bytes, then one equivalent transaction).
 */
import { performance } from 'node:perf_hooks';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalBackends } from '../../lib/local/backends';
import { documentClient, localDynamoClient, localS3Client } from '../../lib/local/clients';
import { ensureBucket, ensureTable } from '../../lib/local/provision';
import { SluiceLog } from '../../lib/log/log';
import { decodeChunk, encodeSegment } from '../../lib/records/segment-codec';
import type { RecordInput } from '../../lib/records/types';
import { DynamoLogMetadataStore } from '../../lib/storage/dynamo-log-metadata-store';
import { S3ObjectStore } from '../../lib/storage/s3-object-store';
import { countCommands } from '../support/sdk-faults';

const json = process.argv.includes('--json');
const progress = (m: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${m}`);
  else process.stderr.write(`${m}\n`);
};

function records(n: number, size: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: Buffer.alloc(size, i % 251),
    headers: [],
    timestamp: 1_767_225_600_000 + i,
  }));
}

function codecBench() {
  const TOPIC = '0f0e0d0c-0b0a-4908-8706-050403020100';
  const batch = records(1000, 1024);
  const payload = batch.reduce((n, r) => n + (r.value?.byteLength ?? 0) + (r.key?.byteLength ?? 0), 0);
  const run = (ms: number, fn: () => void) => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      fn();
      n++;
    }
    return (n * payload) / ((performance.now() - start) / 1000) / 1e6;
  };
  const encode = () => encodeSegment([{ topicId: TOPIC, partition: 0, records: batch }]);
  run(300, encode); // warm up
  const encodeMBs = run(1500, encode);
  const { bytes, chunks } = encode();
  const c = chunks[0] as { byteOffset: number; byteLength: number };
  const chunk = bytes.subarray(c.byteOffset, c.byteOffset + c.byteLength);
  const decode = () => decodeChunk(chunk, 0);
  run(300, decode);
  const decodeMBs = run(1500, decode);
  return { recordBytes: 1024, recordsPerChunk: 1000, encodeMBs, decodeMBs };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main() {
  const results: Record<string, unknown> = { machine: `${process.platform} ${process.arch}, node ${process.version}` };
  progress('codec: encoding and decoding 1 KiB records ...');
  results.codec = codecBench();

  progress('starting local backends ...');
  const backends = await startLocalBackends(process.env, progress);
  try {
    const s3 = localS3Client(backends.s3Endpoint);
    const dynamo = localDynamoClient(backends.dynamoEndpoint);
    const bucket = `sluice-bench-${Date.now()}`;
    const table = bucket;
    await Promise.all([ensureBucket(s3, bucket), ensureTable(dynamo, table)]);
    const s3Counts = countCommands(s3);
    const dbCounts = countCommands(dynamo);
    const doc = documentClient(dynamo);
    const stores = { objects: new S3ObjectStore(s3, bucket), metadata: new DynamoLogMetadataStore(doc, table) };
    const admin = new SluiceLog(stores);
    await admin.createTopic({ name: 'bench', partitions: 48 });

    // requests per produce call
    const perCall: Record<string, { puts: number; transactions: number }> = {};
    for (const n of [1, 12, 48]) {
      progress(`requests per produce call touching ${n} partitions ...`);
      const log = new SluiceLog(stores);
      // warm the head cache so the call measured is a steady-state one
      await log.append({
        batches: [
          { topic: 'bench', records: Array.from({ length: n }, (_, p) => ({ value: Buffer.from('w'), partition: p })) },
        ],
      });
      s3Counts.clear();
      dbCounts.clear();
      await log.append({
        batches: [
          {
            topic: 'bench',
            records: Array.from({ length: n * 4 }, (_, i) => ({ value: Buffer.alloc(1024), partition: i % n })),
          },
        ],
      });
      perCall[`${n} partitions`] = {
        puts: s3Counts.get('PutObjectCommand') ?? 0,
        transactions: dbCounts.get('TransactWriteItemsCommand') ?? dbCounts.get('TransactWriteCommand') ?? 0,
      };
    }
    results.requestsPerProduceCall = perCall;

    // produce throughput and latency vs the raw backends
    const BATCH = 100; // records of 1 KiB per call
    const DURATION_MS = Number(process.env.SLUICE_BENCH_SECONDS ?? 8) * 1000;
    const produce: Record<string, unknown>[] = [];
    for (const producers of [1, 4, 16]) {
      progress(`produce: ${producers} concurrent producer(s), ${BATCH} x 1 KiB per call ...`);
      const lat: number[] = [];
      let recordsDone = 0;
      const until = performance.now() + DURATION_MS;
      await Promise.all(
        Array.from({ length: producers }, async (_, w) => {
          const log = new SluiceLog(stores);
          while (performance.now() < until) {
            const t0 = performance.now();
            await log.append({
              batches: [
                {
                  topic: 'bench',
                  records: Array.from({ length: BATCH }, () => ({ value: Buffer.alloc(1024, w), partition: w % 48 })),
                },
              ],
            });
            lat.push(performance.now() - t0);
            recordsDone += BATCH;
          }
        }),
      );
      lat.sort((a, b) => a - b);
      const seconds = DURATION_MS / 1000;
      produce.push({
        producers,
        recordsPerSec: Math.round(recordsDone / seconds),
        MBps: +((recordsDone * 1024) / seconds / 1e6).toFixed(2),
        p50ms: +percentile(lat, 50).toFixed(1),
        p99ms: +percentile(lat, 99).toFixed(1),
      });
    }
    // raw: one PUT of the same bytes, then one equivalent transaction (head update + index put + file put)
    progress('raw backends: PUT + transaction of the same size ...');
    const body = encodeSegment([
      { topicId: '0f0e0d0c-0b0a-4908-8706-050403020100', partition: 0, records: records(BATCH, 1024) },
    ]).bytes;
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'RAWT', sk: 'META' } }));
    const rawLat: number[] = [];
    let rawCalls = 0;
    const rawUntil = performance.now() + DURATION_MS;
    while (performance.now() < rawUntil) {
      const t0 = performance.now();
      const id = `${rawCalls}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/${id}`, Body: body, IfNoneMatch: '*' }));
      // the same four items as Sluice's 1-partition commit: topic check, head CAS, entry, file
      await doc.send(
        new TransactWriteCommand({
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
                ConditionExpression: rawCalls === 0 ? 'attribute_not_exists(n)' : 'n = :n',
                ExpressionAttributeValues: rawCalls === 0 ? { ':next': 1 } : { ':n': rawCalls, ':next': rawCalls + 1 },
              },
            },
            {
              Put: {
                TableName: table,
                Item: { pk: 'RAW', sk: `S#${id.padStart(20, '0')}`, k: `raw/${id}` },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table,
                Item: { pk: `RAWF#${id}`, sk: 'META', s: 'c' },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      rawLat.push(performance.now() - t0);
      rawCalls++;
    }
    rawLat.sort((a, b) => a - b);
    const raw = {
      recordsPerSec: Math.round((rawCalls * BATCH) / (DURATION_MS / 1000)),
      p50ms: +percentile(rawLat, 50).toFixed(1),
      p99ms: +percentile(rawLat, 99).toFixed(1),
    };
    const single = produce[0] as { recordsPerSec: number; p50ms: number };
    results.produce = produce;
    results.rawBackends = { ...raw, sluiceOverVsRaw: +(single.recordsPerSec / raw.recordsPerSec).toFixed(2) };
  } finally {
    progress('stopping backends ...');
    await backends.stop();
    progress('');
  }

  const codec = results.codec as { encodeMBs: number; decodeMBs: number };
  const lines = [
    `Sluice benchmark — ${results.machine}`,
    `codec (1 KiB records): encode ${codec.encodeMBs.toFixed(0)} MB/s, decode ${codec.decodeMBs.toFixed(0)} MB/s`,
    'requests per produce call:',
    ...Object.entries(results.requestsPerProduceCall as Record<string, { puts: number; transactions: number }>).map(
      ([k, v]) => `  ${k.padEnd(14)} S3 PUTs ${v.puts}, DynamoDB transactions ${v.transactions}`,
    ),
    'produce (100 x 1 KiB per call, local emulators):',
    '  producers  records/s    MB/s   p50 ms   p99 ms',
    ...(
      results.produce as { producers: number; recordsPerSec: number; MBps: number; p50ms: number; p99ms: number }[]
    ).map(
      (r) =>
        `  ${String(r.producers).padStart(9)}  ${String(r.recordsPerSec).padStart(9)}  ${r.MBps.toFixed(2).padStart(6)}  ${r.p50ms.toFixed(1).padStart(7)}  ${r.p99ms.toFixed(1).padStart(7)}`,
    ),
    `raw backends (1 PUT + 1 transaction, sequential): ${(results.rawBackends as { recordsPerSec: number }).recordsPerSec} records/s, p50 ${(results.rawBackends as { p50ms: number }).p50ms} ms; Sluice (1 producer) / raw = ${(results.rawBackends as { sluiceOverVsRaw: number }).sluiceOverVsRaw}`,
  ];
  console.log(lines.join('\n'));
  if (json) console.log(JSON.stringify(results));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
