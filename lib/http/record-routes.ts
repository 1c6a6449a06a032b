/**
 * The record routes of the HTTP API: produce, fetch, and offsets for a time.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { idempotencyScopeOf } from '../access/principal';
import { InvalidArgumentError } from '../errors';
import type { SluiceLog } from '../log/log';
import type { ProduceRecord } from '../log/produce';
import { checkCallTotals, MAX_TIMESTAMP_MS, type ProduceLimits, produceLimits } from '../records/validate';
import { decodeField, type Encoding, encodeField } from './encoding';
import { type AppEnv, authorize, need } from './env';
import {
  ErrorSchema,
  errors,
  json,
  KeyField,
  link,
  PartitionNumber,
  PartitionParam,
  schema31,
  TopicName,
  uintQuery,
} from './schemas';

const EncodingSchema = z
  .enum(['utf8', 'base64'])
  .openapi({ description: 'How keys, values and header values are written' });

/**
 * Record headers: an object of strings (or null). Checked without copying, so that every
 * own key survives — including `__proto__`, which a copy into a plain object would turn
 * into a prototype and silently drop. The count and name rules are the log's
 * (`checkRecord`), declared here from the server's limits.
 */
const headersIn = (limits: ProduceLimits) =>
  z
    .custom<Record<string, string | null>>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        !Array.isArray(v) &&
        Object.entries(v).every(([, x]) => typeof x === 'string' || x === null),
      'headers must be an object whose values are strings or null',
    )
    .openapi(
      schema31({
        type: 'object',
        maxProperties: limits.maxHeadersPerRecord,
        propertyNames: { minLength: 1, maxLength: limits.maxHeaderNameLength },
        additionalProperties: { type: ['string', 'null'] },
      }),
    );

const recordIn = (limits: ProduceLimits) =>
  z
    .object({
      key: z.string().nullable().optional(),
      value: z.string().nullable(),
      headers: headersIn(limits).optional(),
      partition: PartitionNumber.optional(),
      timestamp: z.number().int().min(0).max(MAX_TIMESTAMP_MS).optional(),
    })
    .strict()
    .openapi('ProduceRecord');

/** Strict base64, as `decodeField` checks it (declared for base64 bodies). */
const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
const base64String = schema31({ type: ['string', 'null'], pattern: BASE64_PATTERN, contentEncoding: 'base64' });

const produceBody = (limits: ProduceLimits) =>
  z
    .object({
      // the count limit is the log's (413 REQUEST_TOO_LARGE); declared here
      records: z.array(recordIn(limits)).min(1).openapi({ maxItems: limits.maxRecordsPerCall }),
      encoding: EncodingSchema.optional(),
    })
    .strict()
    .openapi('ProduceRequest', {
      // with "encoding":"base64" every key, value and header value must be strict base64
      anyOf: [
        { properties: { encoding: { type: 'string', enum: ['utf8'] } } },
        {
          required: ['encoding'],
          properties: {
            encoding: { type: 'string', enum: ['base64'] },
            records: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  key: base64String,
                  value: base64String,
                  headers: { type: 'object', additionalProperties: base64String },
                },
              },
            },
          },
        },
      ],
    });

const Offsets = z.object({ offsets: z.array(z.object({ partition: z.number().int(), offset: z.number().int() })) });

const RecordOut = z
  .object({
    offset: z.number().int(),
    timestamp: z.number().int(),
    key: z.string().nullable(),
    value: z.string().nullable(),
    headers: z.record(z.string(), z.string().nullable()),
  })
  .openapi('Record');

/** Adds the record routes to the app. */
export function registerRecordRoutes(
  app: OpenAPIHono<AppEnv>,
  log: SluiceLog,
  options: { readonly waitInServer: boolean; readonly maxResponseBytes: number },
): void {
  const s = log.settings;
  // the record count is checked before each record is: 400,000 tiny records must not cost
  // seconds of validation to be refused (the body is parsed once; the route reads it cached)
  app.use('/v1/topics/:t/records', async (c, next) => {
    if (c.req.method === 'POST') {
      const body = (await c.req.json().catch(() => undefined)) as { records?: unknown } | undefined;
      if (Array.isArray(body?.records)) checkCallTotals(body.records.length, 0, produceLimits(s));
    }
    await next();
  });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/topics/{t}/records',
      operationId: 'produce',
      request: {
        params: z.object({ t: TopicName }),
        headers: z.object({ 'idempotency-key': KeyField('Idempotency-Key').optional() }),
        body: { content: { 'application/json': { schema: produceBody(produceLimits(s)) } }, required: true },
      },
      responses: {
        200: {
          ...json(Offsets, 'Offsets of the records, in request order; the request is atomic'),
          links: {
            Fetch: link('fetchRecords', {
              t: '$request.path.t',
              p: '$response.body#/offsets/0/partition',
              offset: '$response.body#/offsets/0/offset',
            }),
          },
        },
        409: json(ErrorSchema, 'IDEMPOTENCY_KEY_REUSED'),
        413: json(ErrorSchema, 'RECORD_TOO_LARGE or REQUEST_TOO_LARGE'),
        ...errors,
      },
    }),
    async (c) => {
      const { t } = c.req.valid('param');
      const body = c.req.valid('json');
      const idempotencyKey = c.req.valid('header')['idempotency-key'];
      await authorize(c, need.topic(t, 'produce'));
      const encoding: Encoding = body.encoding ?? 'utf8';
      const records = body.records.map((r, i) => toProduceRecord(r, i, encoding));
      const res = await log.append({
        batches: [{ topic: t, records }],
        ...(idempotencyKey !== undefined
          ? { idempotencyKey, idempotencyScope: idempotencyScopeOf(c.get('principal')) }
          : {}),
      });
      c.set('counted', countOf(records));
      return c.json({ offsets: res.batches[0]?.offsets ?? [] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics/{t}/partitions/{p}/records',
      operationId: 'fetchRecords',
      request: {
        params: z.object({ t: TopicName, p: PartitionParam }),
        query: z
          .object({
            offset: uintQuery('offset'),
            maxRecords: uintQuery('maxRecords', s.maxFetchRecords, 1).optional(),
            maxBytes: uintQuery('maxBytes', s.maxFetchBytes, 1).optional(),
            waitMs: uintQuery('waitMs', s.maxFetchWaitMs).optional(),
            encoding: EncodingSchema.optional(),
          })
          .strict(),
      },
      responses: {
        200: json(
          z.object({
            records: z.array(RecordOut),
            nextOffset: z.number().int(),
            highWatermark: z.number().int(),
            startOffset: z.number().int(),
            retryAfterMs: z
              .number()
              .int()
              .optional()
              .openapi({
                description:
                  'Present when a wait was asked and this server answered at once without records ' +
                  '(the deployed API never waits inside Lambda): poll again after this many ms, ' +
                  'doubling the pause while the partition stays idle',
              }),
          }),
          'Records from `offset`, contiguous',
        ),
        413: json(
          ErrorSchema,
          'RECORD_TOO_LARGE: the record at the offset does not fit an answer in this encoding (fetch it with encoding=base64)',
        ),
        416: json(ErrorSchema, 'OFFSET_OUT_OF_RANGE (carries startOffset and highWatermark)'),
        ...errors,
      },
    }),
    async (c) => {
      const { t, p } = c.req.valid('param');
      const q = c.req.valid('query');
      await authorize(c, need.topic(t, 'consume'));
      const encoding: Encoding = q.encoding ?? 'utf8';
      const r = await log.fetch({
        topic: t,
        partition: p,
        offset: q.offset,
        ...(q.maxRecords !== undefined ? { maxRecords: q.maxRecords } : {}),
        ...(q.maxBytes !== undefined ? { maxBytes: q.maxBytes } : {}),
        ...(q.waitMs !== undefined && options.waitInServer ? { waitMs: q.waitMs } : {}),
        signal: c.req.raw.signal,
      });
      const retry =
        !options.waitInServer && (q.waitMs ?? 0) > 0 && r.records.length === 0
          ? { retryAfterMs: Math.min(log.settings.fetchPollIntervalMs, q.waitMs ?? 0) }
          : {};
      const { records, nextOffset } = withinResponse(r, encoding, options.maxResponseBytes);
      c.set('counted', countOf(r.records.slice(0, records.length)));
      return c.json(
        {
          records,
          nextOffset,
          highWatermark: r.highWatermark,
          startOffset: r.startOffset,
          ...retry,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics/{t}/partitions/{p}/offsets',
      operationId: 'offsetForTime',
      request: {
        params: z.object({ t: TopicName, p: PartitionParam }),
        query: z.object({ timestamp: uintQuery('timestamp') }).strict(),
      },
      responses: {
        200: json(
          z.object({
            offset: z.number().int().nullable(),
            highWatermark: z.number().int(),
            startOffset: z.number().int(),
          }),
          'Earliest offset whose timestamp is >= `timestamp`; null when every record is older',
        ),
        ...errors,
      },
    }),
    async (c) => {
      const { t, p } = c.req.valid('param');
      await authorize(c, need.topic(t, 'consume'));
      const r = await log.offsetForTimestamp(t, p, c.req.valid('query').timestamp);
      return c.json({ offset: r.offset, highWatermark: r.highWatermark, startOffset: r.startOffset }, 200);
    },
  );
}

function countOf(records: readonly { key?: Uint8Array | null; value: Uint8Array | null }[]) {
  let bytes = 0;
  for (const r of records) bytes += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  return { records: records.length, bytes };
}

function toProduceRecord(r: z.infer<ReturnType<typeof recordIn>>, i: number, encoding: Encoding): ProduceRecord {
  const headers: [string, Uint8Array | null][] = [];
  if (r.headers) {
    for (const [name, v] of Object.entries(r.headers)) {
      headers.push([name, decodeField(v, encoding, `records[${i}].headers.${name}`)]);
    }
  }
  return {
    key: decodeField(r.key, encoding, `records[${i}].key`),
    value: decodeField(r.value, encoding, `records[${i}].value`),
    headers,
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
    ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
  };
}

function headersOut(headers: readonly (readonly [string, Uint8Array | null])[], encoding: Encoding) {
  // a null-prototype object: a header named "__proto__" is data, not a prototype
  const out: Record<string, string | null> = Object.create(null);
  for (const [name, v] of headers) out[name] = encodeField(v, encoding);
  return out;
}

/**
 * The fetched records as JSON, cut where the answer would outgrow `maxBytes` as the Lambda
 * response envelope carries it (the body escaped once more: a control byte as UTF-8 is six
 * bytes in the body and seven in the envelope). The cut moves `nextOffset` back to the first
 * record left out. A first record that alone does not fit cannot be answered in this encoding:
 * RECORD_TOO_LARGE, naming `encoding=base64` (4/3 of its bytes, nothing to escape).
 */
interface RecordJson {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

function withinResponse(
  r: Awaited<ReturnType<SluiceLog['fetch']>>,
  encoding: Encoding,
  maxBytes: number,
): { records: RecordJson[]; nextOffset: number } {
  const ENVELOPE = 512; // the answer's other fields and the envelope around the body
  let used = ENVELOPE;
  const out: RecordJson[] = [];
  for (const x of r.records) {
    const rec: RecordJson = {
      offset: x.offset,
      timestamp: x.timestamp,
      key: encodeField(x.key, encoding),
      value: encodeField(x.value, encoding),
      headers: headersOut(x.headers, encoding),
    };
    // as the envelope carries it: the record's JSON, each quote and backslash escaped once more
    const json = JSON.stringify(rec);
    const size = Buffer.byteLength(json) + escapesIn(json) + 3; // its quotes, and a comma
    if (used + size > maxBytes) {
      if (out.length > 0) return { records: out, nextOffset: x.offset };
      throw new InvalidArgumentError(
        `the record at offset ${x.offset} takes ${size} bytes as ${encoding} JSON, more than an answer may hold (${maxBytes}); fetch it with encoding=base64`,
        'RECORD_TOO_LARGE',
        { offset: x.offset },
      );
    }
    used += size;
    out.push(rec);
  }
  return { records: out, nextOffset: r.nextOffset };
}

/** How many characters of `json` a JSON string escapes again (quotes and backslashes). */
function escapesIn(json: string): number {
  let n = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 34 || c === 92) n++;
  }
  return n;
}
