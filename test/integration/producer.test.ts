/**
 * The TypeScript producer client on the real local backends: batching, order and
 * exactly-once under injected failures, flush/close, and the HTTP transport.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import { DirectTransport, type Transport } from '../../lib/client/transport';
import { createSluice } from '../../lib/compose';
import { RetriableError } from '../../lib/errors';
import { createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { SeededRandom } from '../../lib/ids';
import { realStores } from '../support/real';
import { countCommands, flakyRequests } from '../support/sdk-faults';

async function readPartition(sluice: Sluice, topic: string, partition: number) {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const r = await sluice.transport.fetch({ topic, partition, offset, maxRecords: 10_000 });
    for (const x of r.records) out.push({ offset: x.offset, value: Buffer.from(x.value ?? []).toString() });
    if (r.nextOffset >= r.highWatermark) return out;
    offset = r.nextOffset;
  }
}

describe('producer client (direct transport)', () => {
  it('merges concurrent sends into one produce call: one segment, one transaction', async () => {
    const stores = await realStores();
    const sluice = new Sluice({ stores });
    await sluice.admin().createTopics({
      topics: [
        { name: 'batch-a', partitions: 4 },
        { name: 'batch-b', partitions: 2 },
      ],
    });
    const producer = sluice.producer({ lingerMs: 50 });
    await producer.send({ topic: 'batch-a', messages: [{ value: 'warm-up' }] }); // caches topic metadata
    const s3 = countCommands(stores.s3);
    const db = countCommands(stores.dynamo);
    const sends = Array.from({ length: 20 }, (_, i) =>
      producer.send({
        topic: i % 2 ? 'batch-a' : 'batch-b',
        messages: [
          { key: `k${i}`, value: `v${i}` },
          { value: `w${i}`, headers: { n: String(i) } },
        ],
      }),
    );
    const results = await Promise.all(sends);
    expect(s3.get('PutObjectCommand')).toBe(1);
    expect(db.get('TransactWriteItemsCommand')).toBe(1);
    // every message answered with its own place, and reads back there
    for (const [i, r] of results.entries()) {
      expect(r).toHaveLength(2);
      const topic = i % 2 ? 'batch-a' : 'batch-b';
      for (const [j, m] of r.entries()) {
        expect(m.topic).toBe(topic);
        const got = await sluice.transport.fetch({ topic, partition: m.partition, offset: m.offset, maxRecords: 1 });
        expect(Buffer.from(got.records[0]?.value ?? []).toString()).toBe(j === 0 ? `v${i}` : `w${i}`);
      }
    }
    await producer.close();
  });

  it('keeps per-partition order and writes each message once under injected failures', async () => {
    const stores = await realStores();
    const rng = new SeededRandom(2026);
    const sluice = new Sluice({ stores });
    await sluice.admin().createTopics({ topics: [{ name: 'flaky', partitions: 2 }] });
    const putFails = flakyRequests(stores.s3, /PutObject/, 0.25, () => rng.next(), 'before');
    const lost = flakyRequests(stores.dynamo, /TransactWrite/, 0.25, () => rng.next(), 'after');
    const failsBefore = flakyRequests(stores.dynamo, /TransactWrite/, 0.1, () => rng.next(), 'before');
    const producer = sluice.producer({ lingerMs: 2, retries: 50, initialRetryMs: 1, maxRetryMs: 20 });
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      sent.push(producer.send({ topic: 'flaky', messages: [{ partition: i % 2, value: `m${i}` }] }));
      if (i % 3 === 2) await Promise.all(sent.slice(-3)); // ~50 produce calls
    }
    await Promise.all(sent);
    await producer.close();
    expect(putFails.fired + lost.fired + failsBefore.fired).toBeGreaterThan(10);
    expect(lost.fired).toBeGreaterThan(3);
    for (const partition of [0, 1]) {
      const read = await readPartition(sluice, 'flaky', partition);
      const expected = Array.from({ length: 75 }, (_, k) => `m${2 * k + partition}`);
      expect(read.map((r) => r.value)).toEqual(expected); // in send order, each exactly once
      expect(read.map((r) => r.offset)).toEqual(expected.map((_, k) => k));
    }
  });

  it.each([
    [true, 'exactly once'],
    [false, 'at least once, with duplicates'],
  ] as const)('idempotent=%s: responses lost between client and log give %s', async (idempotent, _what) => {
    const stores = await realStores();
    const rng = new SeededRandom(7);
    const core = createSluice(stores);
    const log = core.log;
    const direct = new DirectTransport(core);
    let lostResponses = 0;
    // the whole produce call applied, then its answer lost on the way back (an HTTP timeout)
    const lossy: Transport = Object.assign(Object.create(direct) as Transport, {
      produce: async (req: Parameters<Transport['produce']>[0]) => {
        const res = await direct.produce(req);
        if (rng.next() < 0.3) {
          lostResponses++;
          throw new RetriableError('UNAVAILABLE', 'injected: response lost');
        }
        return res;
      },
    });
    const sluice = new Sluice({ transport: lossy });
    await log.createTopic({ name: 'lossy', partitions: 1 });
    const producer = sluice.producer({ lingerMs: 1, retries: 50, initialRetryMs: 1, maxRetryMs: 5, idempotent });
    for (let i = 0; i < 40; i++) await producer.send({ topic: 'lossy', messages: [{ value: `m${i}` }] });
    await producer.close();
    expect(lostResponses).toBeGreaterThan(5);
    const values = (await readPartition(sluice, 'lossy', 0)).map((r) => r.value);
    const expected = Array.from({ length: 40 }, (_, i) => `m${i}`);
    if (idempotent) expect(values).toEqual(expected);
    else {
      // the reason idempotence is the default: retries after a lost answer write again
      expect(values.length).toBe(40 + lostResponses);
      expect([...new Set(values)]).toEqual(expected);
    }
  });

  it('flush and close lose nothing', async () => {
    const stores = await realStores();
    const sluice = new Sluice({ stores });
    await sluice.admin().createTopics({ topics: [{ name: 'drain', partitions: 3 }] });
    const producer = sluice.producer({ lingerMs: 10_000, maxBatchBytes: 4096 });
    const acks = Array.from({ length: 300 }, (_, i) =>
      producer.send({ topic: 'drain', messages: [{ key: `k${i % 17}`, value: `v${i}` }] }),
    );
    await producer.flush();
    const more = Array.from({ length: 50 }, (_, i) =>
      producer.send({ topic: 'drain', messages: [{ value: `late${i}` }] }),
    );
    await producer.close();
    const all = (await Promise.all([...acks, ...more])).flat();
    expect(all).toHaveLength(350);
    await expect(producer.send({ topic: 'drain', messages: [{ value: 'x' }] })).rejects.toThrow(/closed/);
    const offsets = await sluice.admin().fetchTopicOffsets('drain');
    expect(offsets.reduce((n, o) => n + o.high, 0)).toBe(350);
    const values = new Set<string>();
    for (const p of [0, 1, 2]) for (const r of await readPartition(sluice, 'drain', p)) values.add(r.value);
    expect(values.size).toBe(350);
  });

  it('rejects sends that can never succeed, at once, without retrying', async () => {
    const stores = await realStores();
    const sluice = new Sluice({ stores });
    const producer = sluice.producer();
    await expect(producer.send({ topic: 'missing', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    expect(() => sluice.producer({ lingerMs: -1 })).toThrow(/lingerMs/);
  });
});

describe('producer and admin over the HTTP transport', () => {
  let server: RunningServer;
  let sluice: Sluice;
  beforeAll(async () => {
    const stores = await realStores();
    server = await serveHttpApp(createHttpApp(createSluice(stores)), 0);
    sluice = new Sluice({ http: { url: server.url } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends, reads back bytes exactly, and looks up offsets', async () => {
    const admin = sluice.admin();
    await admin.createTopics({ topics: [{ name: 'over-http', partitions: 2 }] });
    expect(await admin.listTopics()).toContain('over-http');
    const producer = sluice.producer({ lingerMs: 5 });
    const bin = Buffer.from([0, 1, 254, 255]);
    const res = await Promise.all([
      producer.send({
        topic: 'over-http',
        messages: [{ partition: 1, value: bin, headers: { h: 'x' }, timestamp: 1000 }],
      }),
      producer.send({ topic: 'over-http', messages: [{ partition: 1, value: 'text', timestamp: 2000 }] }),
    ]);
    expect(res.flat().map((r) => r.offset)).toEqual([0, 1]);
    const got = await sluice.transport.fetch({ topic: 'over-http', partition: 1, offset: 0 });
    expect(Buffer.from(got.records[0]?.value ?? []).equals(bin)).toBe(true);
    expect(got.records[0]?.headers.map(([n, v]) => [n, Buffer.from(v ?? []).toString()])).toEqual([['h', 'x']]);
    expect(await admin.fetchTopicOffsetsByTimestamp('over-http', 1500)).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 1 },
    ]);
    await expect(sluice.transport.fetch({ topic: 'over-http', partition: 1, offset: 9 })).rejects.toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      retriable: false,
    });
    await producer.close();
  });

  it('changes retention, grows partitions and deletes records through the admin client', async () => {
    const admin = sluice.admin();
    await admin.createTopics({ topics: [{ name: 'admin-http', partitions: 1 }] });
    const producer = sluice.producer({ lingerMs: 0 });
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'admin-http', messages: [{ value: `m${i}` }] });
    await admin.setRetention('admin-http', { retentionMs: 86_400_000, retentionBytes: null });
    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-http', count: 3 }] });
    await admin.deleteTopicRecords({ topic: 'admin-http', partitions: [{ partition: 0, offset: 2 }] });
    const d = await admin.describeTopic('admin-http');
    expect(d).toMatchObject({ partitions: 3, retentionMs: 86_400_000, retentionBytes: null });
    expect(d.offsets[0]).toEqual({ partition: 0, startOffset: 2, highWatermark: 4 });
    await expect(sluice.transport.fetch({ topic: 'admin-http', partition: 0, offset: 1 })).rejects.toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
    });
    await expect(admin.setRetention('admin-http', { retentionMs: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await producer.close();
  });
});
