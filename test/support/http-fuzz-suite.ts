/**
 * Bad-input fuzzing of the HTTP API (fast-check), in-process, as one suite run on the fakes
 * (test/unit) and on DynamoDB Local + LocalStack (test/integration): every generated bad
 * request is answered with a 4xx and a known error code, writes nothing, and the server stays
 * healthy — a name the fakes take but DynamoDB refuses (a 3,000-character topic in a commit)
 * shows only against the real store.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import type { GroupStore, LogMetadataStore, ObjectStore } from '../../lib/storage/ports';

const CODES = new Set([
  'INVALID_ARGUMENT',
  'INVALID_TOPIC_NAME',
  'TOPIC_NOT_FOUND',
  'PARTITION_NOT_FOUND',
  'RECORD_TOO_LARGE',
  'REQUEST_TOO_LARGE',
  'TOO_MANY_PARTITIONS',
  'IDEMPOTENCY_KEY_REUSED',
  'OFFSET_OUT_OF_RANGE',
  'TOPIC_EXISTS',
  'FENCED',
  'CONFLICT',
]);

export function httpFuzzSuite(
  name: string,
  make: () => Promise<{ objects: ObjectStore; metadata: LogMetadataStore; groups: GroupStore }>,
  numRuns: number,
) {
  let objects: ObjectStore;
  let app: ReturnType<typeof createHttpApp>;
  let log: ReturnType<typeof createSluice>['log'];

  async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    const res = await app.request(path, {
      method,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json', ...headers } } : { headers }),
    });
    const text = await res.text();
    return {
      status: res.status,
      json: text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : undefined,
    };
  }

  async function written(): Promise<number> {
    return (await objects.list('segments/')).objects.length;
  }

  beforeAll(async () => {
    const stores = await make();
    objects = stores.objects;
    const core = createSluice(stores, { log: { maxRecordBytes: 1024, maxRecordsPerCall: 100 } });
    log = core.log;
    app = createHttpApp(core, { maxBodyBytes: 256 * 1024 });
    await log.createTopic({ name: 'fuzz', partitions: 4 });
    await send('POST', '/v1/topics/fuzz/records', JSON.stringify({ records: [{ value: 'seed' }] }), {
      'Idempotency-Key': 'used-key',
    });
  });

  const badRecord = fc.oneof(
    fc.record({ value: fc.integer() }),
    fc.record({
      value: fc.string(),
      partition: fc.oneof(
        fc.integer({ min: 4, max: 2 ** 40 }),
        fc.integer({ max: -1 }),
        // JSON turns NaN and ±Infinity into null and -0 into 0: keep only doubles that stay invalid
        fc.double().filter((d) => Number.isFinite(d) && !Number.isInteger(d)),
      ),
    }),
    fc.record({
      value: fc.string(),
      timestamp: fc.oneof(fc.integer({ max: -1 }), fc.constant(2 ** 53 + 2), fc.string()),
    }),
    fc.record({ value: fc.string({ minLength: 1025, maxLength: 1100 }) }),
    fc.record({ value: fc.string(), extra: fc.anything().filter((x) => x !== undefined) }), // undefined vanishes in JSON
    fc.record({ value: fc.string(), headers: fc.dictionary(fc.string(), fc.integer(), { minKeys: 1 }) }),
  );

  describe(`HTTP API bad-input fuzzing: ${name}`, () => {
    it('keeps a header named __proto__ as data (it is a legal header name)', async () => {
      await log.createTopic({ name: 'proto', partitions: 1 });
      const r = await send(
        'POST',
        '/v1/topics/proto/records',
        '{"records":[{"value":"a","headers":{"__proto__":"x","ok":"y"}}]}',
      );
      expect(r.status).toBe(200);
      const read = await app.request('/v1/topics/proto/partitions/0/records?offset=0');
      const text = await read.text();
      expect(text).toContain('"__proto__":"x"');
      expect(text).toContain('"ok":"y"');
    });

    it('bad produce bodies: 4xx with a known code, nothing written, server healthy', async () => {
      const before = await written();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.array(badRecord, { minLength: 1, maxLength: 5 }).map((records) => JSON.stringify({ records })),
            fc.string().map((s) => `{"records":[${s}`), // malformed JSON
            fc
              .record({ records: fc.constant([{ value: '!!notbase64' }]), encoding: fc.constant('base64') })
              .map((b) => JSON.stringify(b)),
            fc
              .integer({ min: 101, max: 150 })
              .map((n) => JSON.stringify({ records: Array.from({ length: n }, () => ({ value: 'x' })) })),
            // anything but an array of records is invalid
            fc
              .anything()
              .filter((x) => !Array.isArray(x))
              .map((x) => JSON.stringify({ records: x })),
          ),
          async (body) => {
            const r = await send('POST', '/v1/topics/fuzz/records', body);
            expect(r.status).toBeGreaterThanOrEqual(400);
            expect(r.status).toBeLessThan(500);
            expect(CODES.has(r.json?.error?.code ?? '')).toBe(true);
          },
        ),
        { numRuns },
      );
      expect(await written()).toBe(before);
      expect((await send('GET', '/v1/health')).status).toBe(200);
    });

    it('bad topic names inside group bodies (commit, reset, release, join): 4xx with a known code', async () => {
      const badTopic = fc.oneof(
        fc.string({ minLength: 250, maxLength: 3000 }),
        fc.string().filter((t) => !/^[A-Za-z0-9._-]{1,249}$/.test(t)),
        fc.constant('__internal'),
        fc.constant('..'),
      );
      await fc.assert(
        fc.asyncProperty(badTopic, fc.integer({ min: 0, max: 3 }), async (topic, which) => {
          const bodies = [
            ['/v1/groups/fz/offsets', { offsets: [{ topic, partition: 0, offset: 0 }] }],
            ['/v1/groups/fz/offsets', { memberId: 'm', offsets: [{ topic, partition: 0, offset: 0, epoch: 1 }] }],
            ['/v1/groups/fz/offsets:reset', { topic, to: 'earliest', dryRun: false }],
            [
              '/v1/groups/fz/members',
              { memberId: 'm', topics: ['fuzz'], release: [{ topic, partition: 0, epoch: 1 }] },
            ],
          ] as const;
          const [path, body] = bodies[which] as (typeof bodies)[number];
          const r = await send('POST', path, JSON.stringify(body));
          expect(r.status, JSON.stringify(r.json)).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
          expect(CODES.has(r.json?.error?.code ?? '')).toBe(true);
        }),
        { numRuns },
      );
      expect((await send('GET', '/v1/health')).status).toBe(200);
    });

    it('bad names, partitions, offsets, keys and epochs in paths and queries: 4xx, nothing written', async () => {
      const before = await written();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc
              .string({ minLength: 1 })
              .map((t) => ['GET', `/v1/topics/${encodeURIComponent(t)}/partitions/0/records?offset=0`] as const),
            fc
              .string()
              .map((p) => ['GET', `/v1/topics/fuzz/partitions/${encodeURIComponent(p)}/records?offset=0`] as const),
            fc
              .oneof(fc.string(), fc.constant('9007199254740993'), fc.constant('-1'))
              .map((o) => ['GET', `/v1/topics/fuzz/partitions/1/records?offset=${encodeURIComponent(o)}`] as const),
            fc
              .integer({ min: 2, max: 1000 })
              .map((o) => ['GET', `/v1/topics/fuzz/partitions/3/records?offset=${o}`] as const),
            fc.string({ minLength: 1 }).map((g) => ['GET', `/v1/groups/${encodeURIComponent(`${g} `)}`] as const),
          ),
          async ([method, path]) => {
            const r = await send(method, path);
            if (r.status === 200) return; // a random topic name can be valid and just empty-missing → 404 below
            expect(r.status).toBeGreaterThanOrEqual(400);
            expect(r.status).toBeLessThan(500);
            expect(CODES.has(r.json?.error?.code ?? '')).toBe(true);
          },
        ),
        { numRuns },
      );
      // idempotency-key reuse with another payload, stale epochs
      const reuse = await send('POST', '/v1/topics/fuzz/records', JSON.stringify({ records: [{ value: 'other' }] }), {
        'Idempotency-Key': 'used-key',
      });
      expect(reuse.json?.error?.code).toBe('IDEMPOTENCY_KEY_REUSED');
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), async (epoch) => {
          const r = await send(
            'POST',
            '/v1/groups/fz/offsets',
            JSON.stringify({ memberId: 'ghost', offsets: [{ topic: 'fuzz', partition: 0, offset: 0, epoch }] }),
          );
          expect(r.status).toBe(409);
          expect(r.json?.error?.code).toBe('FENCED');
        }),
        { numRuns: 50 },
      );
      expect(await written()).toBe(before);
      expect((await send('GET', '/v1/health')).status).toBe(200);
    });
  });
}
