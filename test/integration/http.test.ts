/**
 * The HTTP API v1 over a real local server and the real local backends.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import { createSluice } from '../../lib/compose';
import { RetriableError } from '../../lib/errors';
import { callBytesInBody, createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { SEGMENT_PREFIX } from '../../lib/storage/layout';
import type { LogMetadataStore } from '../../lib/storage/ports';
import { type RealStores, realStores } from '../support/real';

let stores: RealStores;
let server: RunningServer;
let url: string;

beforeAll(async () => {
  stores = await realStores();
  server = await serveHttpApp(createHttpApp(createSluice(stores), { maxBodyBytes: 64 * 1024 }), 0);
  url = server.url;
});
afterAll(async () => {
  await server?.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * POST with node:http, which reads a response the server sends before the upload ends
 * (fetch reports that as a socket error); as curl does.
 */
function postRaw(
  path: string,
  body: string,
): Promise<{ status: number; headers: Headers; body: { error: Record<string, unknown> } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(text) }));
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE' && (e as NodeJS.ErrnoException).code !== 'ECONNRESET')
        reject(e);
    });
    req.end(body);
  });
}

async function segmentCount(): Promise<number> {
  return (await stores.objects.list(SEGMENT_PREFIX)).objects.length;
}

describe('HTTP API v1', () => {
  it('answers 8 concurrent clients × 40 sequential produce calls through ONE server: no 500, dense, byte-exact', async () => {
    await call('POST', '/v1/topics', { name: 'busy', partitions: 12 });
    const sent = new Map<string, string>();
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        for (let n = 0; n < 40; n++) {
          const values = Array.from({ length: 5 }, (_, i) => `c${client}-n${n}-r${i}`);
          const res = await call('POST', '/v1/topics/busy/records', {
            records: values.map((value, i) => ({ key: `k-${(client * 40 + n + i) % 97}`, value })),
          });
          statuses.push(res.status);
          if (res.status !== 200) continue;
          (res.body.offsets as { partition: number; offset: number }[]).forEach((o, i) => {
            sent.set(`${o.partition}#${o.offset}`, values[i] as string);
          });
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(sent.size).toBe(8 * 40 * 5);
    const d = await call('GET', '/v1/topics/busy');
    for (const { partition, highWatermark } of d.body.offsets as { partition: number; highWatermark: number }[]) {
      const got: string[] = [];
      for (let offset = 0; offset < highWatermark; ) {
        const r = await call('GET', `/v1/topics/busy/partitions/${partition}/records?offset=${offset}&maxRecords=1000`);
        got.push(...(r.body.records as { value: string }[]).map((x) => x.value));
        offset = r.body.nextOffset;
      }
      expect(got).toEqual(Array.from({ length: highWatermark }, (_, o) => sent.get(`${partition}#${o}`)));
    }
  });

  it('serves health and the OpenAPI document', async () => {
    expect(await call('GET', '/v1/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const doc = await call('GET', '/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/health',
        '/v1/limits',
        '/v1/topics',
        '/v1/topics/{t}',
        '/v1/topics/{t}/records',
        '/v1/topics/{t}/partitions/{p}/records',
        '/v1/topics/{t}/partitions/{p}/offsets',
      ]),
    );
  });

  it('round-trips topics and records, offsets in request order, utf8 and base64', async () => {
    const created = await call('POST', '/v1/topics', { name: 'http-orders', partitions: 3, retentionMs: 86_400_000 });
    expect(created).toMatchObject({
      status: 201,
      body: { name: 'http-orders', partitions: 3, retentionMs: 86_400_000, retentionBytes: null },
    });
    expect((await call('GET', '/v1/topics')).body.topics).toContainEqual({ name: 'http-orders', partitions: 3 });
    const produced = await call('POST', '/v1/topics/http-orders/records', {
      records: [
        { value: 'a', partition: 2 },
        { value: 'b', partition: 0, key: 'k', headers: { trace: 't-1', empty: null } },
        { value: 'c', partition: 2, timestamp: 1700000000000 },
      ],
    });
    expect(produced).toMatchObject({
      status: 200,
      body: {
        offsets: [
          { partition: 2, offset: 0 },
          { partition: 0, offset: 0 },
          { partition: 2, offset: 1 },
        ],
      },
    });
    const bin = Buffer.from([0, 255, 1, 2]).toString('base64');
    await call('POST', '/v1/topics/http-orders/records', {
      encoding: 'base64',
      records: [{ value: bin, key: null, partition: 2 }],
    });
    const read = await call('GET', '/v1/topics/http-orders/partitions/2/records?offset=0');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ nextOffset: 3, highWatermark: 3, startOffset: 0 });
    expect(read.body.records.map((r: { offset: number; value: string }) => [r.offset, r.value])).toEqual([
      [0, 'a'],
      [1, 'c'],
      [2, Buffer.from([0, 255, 1, 2]).toString('utf8')],
    ]);
    expect(read.body.records[1].timestamp).toBe(1700000000000);
    const b64 = await call('GET', '/v1/topics/http-orders/partitions/2/records?offset=2&encoding=base64');
    expect(b64.body.records[0].value).toBe(bin);
    const p0 = await call('GET', '/v1/topics/http-orders/partitions/0/records?offset=0&maxRecords=1');
    expect(p0.body.records[0]).toMatchObject({ key: 'k', value: 'b', headers: { trace: 't-1', empty: null } });
    const described = await call('GET', '/v1/topics/http-orders');
    expect(described.body.offsets).toEqual([
      { partition: 0, startOffset: 0, highWatermark: 1 },
      { partition: 1, startOffset: 0, highWatermark: 0 },
      { partition: 2, startOffset: 0, highWatermark: 3 },
    ]);
    await call('POST', '/v1/topics/http-orders/records', {
      records: [1000, 2000, 3000].map((timestamp) => ({ value: 't', partition: 1, timestamp })),
    });
    const at = await call('GET', '/v1/topics/http-orders/partitions/1/offsets?timestamp=1500');
    expect(at.body).toEqual({ offset: 1, highWatermark: 3, startOffset: 0 });
    const none = await call('GET', '/v1/topics/http-orders/partitions/1/offsets?timestamp=5000');
    expect(none.body.offset).toBeNull();
    expect((await call('DELETE', '/v1/topics/http-orders')).status).toBe(204);
    expect((await call('GET', '/v1/topics/http-orders')).status).toBe(404);
  });

  it('makes retries safe with Idempotency-Key, and refuses the key for another payload', async () => {
    await call('POST', '/v1/topics', { name: 'http-idem', partitions: 2 });
    const body = {
      records: [
        { value: 'once', partition: 1 },
        { value: 'twice?', partition: 0 },
      ],
    };
    const first = await call('POST', '/v1/topics/http-idem/records', body, { 'Idempotency-Key': 'abc-123' });
    const retry = await call('POST', '/v1/topics/http-idem/records', body, { 'Idempotency-Key': 'abc-123' });
    expect(retry).toMatchObject({ status: 200, body: first.body });
    const other = await call(
      'POST',
      '/v1/topics/http-idem/records',
      { records: [{ value: 'x' }] },
      { 'Idempotency-Key': 'abc-123' },
    );
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const bad = await call('POST', '/v1/topics/http-idem/records', body, { 'Idempotency-Key': 'not ok!' });
    expect(bad.status).toBe(400);
    const d = await call('GET', '/v1/topics/http-idem');
    expect(d.body.offsets.map((o: { highWatermark: number }) => o.highWatermark)).toEqual([1, 1]);
  });

  it('rejects every class of bad request with its status and code, and writes nothing', async () => {
    await call('POST', '/v1/topics', { name: 'http-errors', partitions: 2 });
    await call('POST', '/v1/topics/http-errors/records', { records: [{ value: 'seed', partition: 0 }] });
    const before = await segmentCount();
    const cases: [
      string,
      () => Promise<{ status: number; body: { error: Record<string, unknown> } }>,
      number,
      string,
    ][] = [
      [
        'malformed JSON',
        () => call('POST', '/v1/topics/http-errors/records', '{"records":[{"value":'),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'not JSON content type',
        () => call('POST', '/v1/topics', undefined, { 'content-type': 'text/plain' }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'unknown field',
        () => call('POST', '/v1/topics/http-errors/records', { records: [{ value: 'x', color: 'red' }] }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'unknown top-level field',
        () => call('POST', '/v1/topics', { name: 'z', partitions: 1, shards: 2 }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'wrong type',
        () => call('POST', '/v1/topics/http-errors/records', { records: [{ value: 5 }] }),
        400,
        'INVALID_ARGUMENT',
      ],
      ['no records', () => call('POST', '/v1/topics/http-errors/records', { records: [] }), 400, 'INVALID_ARGUMENT'],
      [
        'partitions as string',
        () => call('POST', '/v1/topics', { name: 'z', partitions: '3' }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'bad topic name',
        () => call('POST', '/v1/topics', { name: 'no spaces', partitions: 1 }),
        400,
        'INVALID_TOPIC_NAME',
      ],
      ['bad topic name in path', () => call('GET', '/v1/topics/__consumer_offsets'), 400, 'INVALID_ARGUMENT'],
      [
        'partition beyond the topic',
        () => call('POST', '/v1/topics/http-errors/records', { records: [{ value: 'x', partition: 2 }] }),
        404,
        'PARTITION_NOT_FOUND',
      ],
      [
        'negative partition',
        () => call('POST', '/v1/topics/http-errors/records', { records: [{ value: 'x', partition: -1 }] }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'partition path not a number',
        () => call('GET', '/v1/topics/http-errors/partitions/abc/records?offset=0'),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'offset not a number',
        () => call('GET', '/v1/topics/http-errors/partitions/0/records?offset=-1'),
        400,
        'INVALID_ARGUMENT',
      ],
      ['missing offset', () => call('GET', '/v1/topics/http-errors/partitions/0/records'), 400, 'INVALID_ARGUMENT'],
      [
        'unknown query parameter',
        () => call('GET', '/v1/topics/http-errors/partitions/0/records?offset=0&limit=3'),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'timestamp beyond 2^53',
        () =>
          call('POST', '/v1/topics/http-errors/records', '{"records":[{"value":"x","timestamp":9007199254740993}]}'),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'invalid base64',
        () =>
          call('POST', '/v1/topics/http-errors/records', { encoding: 'base64', records: [{ value: 'not base64!' }] }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'unknown encoding',
        () => call('POST', '/v1/topics/http-errors/records', { encoding: 'hex', records: [{ value: '00' }] }),
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'unknown topic',
        () => call('POST', '/v1/topics/nope/records', { records: [{ value: 'x' }] }),
        404,
        'TOPIC_NOT_FOUND',
      ],
      [
        'unknown partition on read',
        () => call('GET', '/v1/topics/http-errors/partitions/7/records?offset=0'),
        404,
        'PARTITION_NOT_FOUND',
      ],
      ['unknown route', () => call('GET', '/v1/nothing-here'), 404, 'INVALID_ARGUMENT'],
      ['topic exists', () => call('POST', '/v1/topics', { name: 'http-errors', partitions: 1 }), 409, 'TOPIC_EXISTS'],
      [
        'body over the limit',
        () =>
          postRaw('/v1/topics/http-errors/records', JSON.stringify({ records: [{ value: 'x'.repeat(1024 * 1024) }] })),
        413,
        'REQUEST_TOO_LARGE',
      ],
      [
        'offset beyond the high watermark',
        () => call('GET', '/v1/topics/http-errors/partitions/0/records?offset=5'),
        416,
        'OFFSET_OUT_OF_RANGE',
      ],
    ];
    for (const [what, run, status, code] of cases) {
      const r = await run();
      expect(r.status, what).toBe(status);
      expect(r.body?.error?.code, what).toBe(code);
      expect(typeof r.body?.error?.message, what).toBe('string');
      expect(r.body?.error?.retriable, what).toBe(false);
    }
    const oor = await call('GET', '/v1/topics/http-errors/partitions/0/records?offset=5');
    expect(oor.body.error).toMatchObject({ startOffset: 0, highWatermark: 1 });
    expect(await segmentCount()).toBe(before);
  });

  it('reports a call size that fits its body limit, and a default producer’s largest calls are accepted', async () => {
    const sluice = createSluice(stores);
    const deployed = await serveHttpApp(createHttpApp(sluice), 0); // the deployed 6 MiB body limit
    const tight = await serveHttpApp(createHttpApp(sluice, { maxBodyBytes: 1024 * 1024 }), 0);
    try {
      const limitsOf = async (url: string) =>
        (await (await fetch(`${url}/v1/limits`)).json()) as { maxCallBytes: number };
      expect((await limitsOf(deployed.url)).maxCallBytes).toBe(callBytesInBody(6 * 1024 * 1024));
      expect((await limitsOf(deployed.url)).maxCallBytes).toBeLessThan(sluice.log.settings.maxCallBytes);
      expect((await limitsOf(tight.url)).maxCallBytes).toBe(callBytesInBody(1024 * 1024));
      // a call of 200,001 records within the body limit is refused by its count, before any
      // record is checked (the bad last one is never looked at: 413, not 400)
      await sluice.log.createTopic({ name: 'http-many', partitions: 1 });
      const many = await fetch(`${deployed.url}/v1/topics/http-many/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: [...Array.from({ length: 200_000 }, () => ({ value: '' })), { value: 5 }] }),
      });
      expect(many.status).toBe(413);
      expect(((await many.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'REQUEST_TOO_LARGE',
        message: expect.stringContaining('200001 records'),
      });
      await sluice.log.createTopic({ name: 'http-bulk', partitions: 4 });
      // 6 MiB queued at once against a 1 MiB body: the producer (default maxBatchBytes 4 MiB)
      // cuts its calls at the server's maxCallBytes, and every one is accepted (no 413)
      const producer = new Sluice({ http: { url: tight.url } }).producer({ lingerMs: 50 });
      const value = 'v'.repeat(1000);
      const acks = await Promise.all(
        Array.from({ length: 6 * 1024 }, (_, i) =>
          producer.send({ topic: 'http-bulk', messages: [{ value, partition: i % 4 }] }),
        ),
      );
      await producer.close();
      expect(acks.flat()).toHaveLength(6 * 1024);
      const d = await sluice.log.describeTopic('http-bulk');
      expect(d.offsets.map((o) => o.highWatermark)).toEqual([1536, 1536, 1536, 1536]);
    } finally {
      await Promise.all([deployed.close(), tight.close()]);
    }
  });

  it('answers 413 for an oversized record within the body limit', async () => {
    const small = await serveHttpApp(
      createHttpApp(createSluice(stores, { log: { maxRecordBytes: 100 } }), { maxBodyBytes: 64 * 1024 }),
      0,
    );
    try {
      await fetch(`${small.url}/v1/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'http-small', partitions: 1 }),
      });
      const res = await fetch(`${small.url}/v1/topics/http-small/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ value: 'x'.repeat(101) }] }),
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RECORD_TOO_LARGE');
      // the server says what it accepts, and its client checks sends against that before queuing
      const limits = await (await fetch(`${small.url}/v1/limits`)).json();
      expect(limits).toMatchObject({ maxRecordBytes: 100, maxPartitionsPerCall: 1024, maxRecordsPerCall: 10_000 });
      const producer = new Sluice({ http: { url: small.url } }).producer({ lingerMs: 0 });
      await expect(
        producer.send({ topic: 'http-small', messages: [{ value: 'x'.repeat(101) }] }),
      ).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE', details: { limit: 100 } });
      await producer.close();
    } finally {
      await small.close();
    }
  });

  it.each([
    ['THROTTLED', 429],
    ['UNAVAILABLE', 503],
  ] as const)('maps a retriable %s to %i with Retry-After', async (code, status) => {
    const failing: LogMetadataStore = Object.create(stores.metadata, {
      listTopics: {
        value: async () => {
          throw new RetriableError(code, 'injected');
        },
      },
    });
    const s = await serveHttpApp(createHttpApp(createSluice({ objects: stores.objects, metadata: failing })), 0);
    try {
      const res = await fetch(`${s.url}/v1/topics`);
      expect(res.status).toBe(status);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toEqual({
        error: { code, message: 'injected', retriable: true, requestId: res.headers.get('x-request-id') },
      });
    } finally {
      await s.close();
    }
  });
});
