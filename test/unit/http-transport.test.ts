/**
 * The HTTP transport against answers that are not Sluice's own (a gateway's HTML error
 * page, an IAM denial): clear errors, retriable only where a retry can help.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import { ManualClock } from '../../lib/clock';
import { createSluice } from '../../lib/compose';
import type { SluiceError } from '../../lib/errors';
import { createHttpApp } from '../../lib/http/app';
import { serveHttpApp } from '../../lib/http/node-server';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { TEST_DAY_MS } from '../support/time';

let server: Server;
let url: string;
const answers: Record<string, { status: number; type: string; body: string }> = {
  '/v1/topics/gateway': { status: 502, type: 'text/html', body: '<html><h1>502 Bad Gateway</h1></html>' },
  '/v1/topics/denied': { status: 403, type: 'application/json', body: '{"Message":"Forbidden"}' },
  '/v1/topics/busy': { status: 429, type: 'application/json', body: '{"Reason":"ConcurrentInvocationLimitExceeded"}' },
  '/v1/topics/garbled': { status: 200, type: 'application/json', body: '{"name": "garbled", ' },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const a = answers[req.url ?? ''] ?? { status: 404, type: 'text/plain', body: 'no' };
    res.writeHead(a.status, { 'content-type': a.type });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function errorOf(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected a rejection');
}

describe('HTTP transport, answers that are not Sluice error bodies', () => {
  it('a gateway error page is UNAVAILABLE (retriable), an IAM denial is not retriable, 429 is THROTTLED', async () => {
    const t = new Sluice({ http: { url } }).transport;
    expect(await errorOf(t.describeTopic('gateway'))).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    const denied = await errorOf(t.describeTopic('denied'));
    expect(denied).toMatchObject({ retriable: false });
    expect(denied.message).toContain('403');
    expect(denied.message).toContain('Forbidden');
    expect(await errorOf(t.describeTopic('busy'))).toMatchObject({ code: 'THROTTLED', retriable: true });
    expect(await errorOf(t.describeTopic('garbled'))).toMatchObject({ code: 'INTERNAL' });
  });
});

describe('fetch without waiting in the server (as the deployed API serves it)', () => {
  const stores = () => ({
    objects: new MemoryObjectStore(),
    metadata: new MemoryLogMetadataStore(),
    groups: new MemoryGroupStore(),
  });

  it('an idle fetch with waitMs answers at once with retryAfterMs; one with records has none', async () => {
    // a manual clock that nobody advances: a wait inside the server would never end
    const core = createSluice({ ...stores(), clock: new ManualClock(TEST_DAY_MS) });
    const app = createHttpApp(core, { waitInServer: false });
    await core.log.createTopic({ name: 't', partitions: 1 });
    const idle = await (await app.request('/v1/topics/t/partitions/0/records?offset=0&waitMs=20000')).json();
    expect(idle).toMatchObject({ records: [], nextOffset: 0, retryAfterMs: 200 });
    await core.log.append({ batches: [{ topic: 't', records: [{ value: Buffer.from('x'), headers: [] }] }] });
    const full = (await (await app.request('/v1/topics/t/partitions/0/records?offset=0&waitMs=20000')).json()) as {
      records: unknown[];
      retryAfterMs?: number;
    };
    expect(full.records).toHaveLength(1);
    expect(full.retryAfterMs).toBeUndefined();
    const now = (await (await app.request('/v1/topics/t/partitions/0/records?offset=1')).json()) as {
      retryAfterMs?: number;
    };
    expect(now.retryAfterMs).toBeUndefined(); // no wait asked: nothing to retry
  });

  it('the client waits between polls, with a growing pause, and returns the record that arrived', async () => {
    const core = createSluice(stores());
    const requests = { records: 0, topic: 0 };
    const app = createHttpApp(core, {
      waitInServer: false,
      onResponse: (r) => {
        if (r.method === 'GET' && r.route.endsWith('/records')) requests.records++;
        if (r.method === 'GET' && /\/topics\/:\w+$/.test(r.route)) requests.topic++;
      },
    });
    const served = await serveHttpApp(app, 0);
    try {
      await core.log.createTopic({ name: 't', partitions: 12 });
      const transport = new Sluice({ http: { url: served.url } }).transport;
      setTimeout(() => {
        void core.log.append({
          batches: [{ topic: 't', records: [{ value: Buffer.from('late'), headers: [], partition: 0 }] }],
        });
      }, 700);
      const got = await transport.fetch({ topic: 't', partition: 0, offset: 0, waitMs: 5000 });
      expect(got.records.map((r) => Buffer.from(r.value ?? []).toString())).toEqual(['late']);
      // the records at 0 and once the topic showed news; the topic at 200, 600 and 1,400 ms
      // (pauses 200, 400, 800): a few requests, not one per 200 ms
      expect(requests.records).toBe(2);
      expect(requests.topic).toBeGreaterThanOrEqual(2);
      expect(requests.topic).toBeLessThanOrEqual(4);
      // 12 idle partitions waiting at once share one poll of the topic: one request per
      // pause for all of them (0.2, 0.6, 1.4, 2.4, 3.4 s), and — their ends known from that
      // poll — no records request at all
      requests.records = 0;
      requests.topic = 0;
      const started = Date.now();
      const idle = await Promise.all(
        Array.from({ length: 12 }, (_, p) =>
          transport.fetch({ topic: 't', partition: p, offset: p === 0 ? 1 : 0, waitMs: 2500 }),
        ),
      );
      expect(idle.every((r) => r.records.length === 0)).toBe(true);
      expect(idle.map((r) => r.highWatermark)).toEqual([1, ...Array(11).fill(0)]);
      expect(requests.records).toBe(0);
      expect(requests.topic).toBeLessThanOrEqual(6);
      // each wait ended at the first poll at or after its deadline: at most one pause late
      expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
      expect(Date.now() - started).toBeLessThan(2500 + 1000 + 500);
      // a record for partition 5: only its fetch asks for records, and gets it
      requests.records = 0;
      setTimeout(() => {
        void core.log.append({
          batches: [{ topic: 't', records: [{ value: Buffer.from('p5'), headers: [], partition: 5 }] }],
        });
      }, 300);
      const woken = await Promise.all(
        Array.from({ length: 12 }, (_, p) =>
          transport.fetch({ topic: 't', partition: p, offset: p === 0 ? 1 : 0, waitMs: 2500 }),
        ),
      );
      expect(woken.map((r) => r.records.length)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      expect(requests.records).toBe(1);
    } finally {
      await served.close();
    }
  }, 20_000);
});
