/**
 * The HTTP API v1 (ARCHITECTURE §8): one hono app, served by the Lambda adapter and by
 * the local Node server. Every input is validated by zod before anything is written; the
 * same schemas produce the OpenAPI document at `/v1/openapi.json`.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { SluiceCore } from '../compose';
import { uuidV4 } from '../ids';
import type { ProduceRecord } from '../log/produce';
import { produceLimits } from '../records/validate';
import { MAX_PARTITIONS } from '../settings';
import { decodeField, type Encoding, encodeField } from './encoding';
import { type AppEnv, answerError } from './env';
import { invalid, isUnexpected, reportToStderr, toHttpError, type UnexpectedErrorReporter } from './errors';
import { registerGroupRoutes } from './group-routes';
import {
  ErrorSchema,
  errors,
  json,
  KeyField,
  MAX_SAFE,
  PartitionNumber,
  TopicName,
  TopicNameField,
  uintQuery,
} from './schemas';

/** Options of the HTTP app. */
export interface HttpAppOptions {
  /** Largest request body accepted. @default 6 MiB (AWS Lambda's synchronous payload limit) */
  readonly maxBodyBytes?: number;
  /** Told about every answered request (logs and metrics at the edge). */
  readonly onResponse?: (info: RequestInfo) => void;
  /** Told once about every unexpected error (a 500), with its stack. @default one JSON line on stderr */
  readonly onUnexpectedError?: UnexpectedErrorReporter;
}

/** What `onResponse` is told. */
export interface RequestInfo {
  readonly method: string;
  /** The matched route pattern, e.g. `/v1/topics/:t/records`. */
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
  /** Also in the `x-request-id` response header (and in the body of a 500). */
  readonly requestId: string;
  readonly errorCode?: string;
  readonly topic?: string;
  readonly group?: string;
  /** Records produced or fetched, and their key + value bytes. */
  readonly records?: number;
  readonly bytes?: number;
}

const PartitionParam = uintQuery('partition', MAX_PARTITIONS - 1).openapi({
  param: { name: 'p', in: 'path' },
  example: '0',
});

const EncodingSchema = z
  .enum(['utf8', 'base64'])
  .openapi({ description: 'How keys, values and header values are written' });

/**
 * Record headers: an object of strings (or null). Checked without copying, so that every
 * own key survives — including `__proto__`, which a copy into a plain object would turn
 * into a prototype and silently drop.
 */
const HeadersIn = z
  .custom<Record<string, string | null>>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      Object.entries(v).every(([, x]) => typeof x === 'string' || x === null),
    'headers must be an object whose values are strings or null',
  )
  .openapi({ type: 'object', additionalProperties: { type: 'string', nullable: true } });

const RecordIn = z
  .object({
    key: z.string().nullable().optional(),
    value: z.string().nullable(),
    headers: HeadersIn.optional(),
    partition: PartitionNumber.optional(),
    timestamp: z.number().int().min(0).max(MAX_SAFE).optional(),
  })
  .strict()
  .openapi('ProduceRecord');

/** Strict base64, as `decodeField` checks it (declared for base64 bodies). */
const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
const base64String = { type: 'string', nullable: true, pattern: BASE64_PATTERN, format: 'byte' } as const;

const produceBody = (maxRecords: number) =>
  z
    .object({
      // the count limit is the log's (413 REQUEST_TOO_LARGE); declared here
      records: z.array(RecordIn).min(1).openapi({ maxItems: maxRecords }),
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

/** A topic's partition count, declared with the server's own maximum. */
const PartitionCount = (max: number) =>
  z
    .number()
    .int()
    .openapi({ minimum: 1, maximum: max, description: `1-${max} (partitions only grow)` });

const topicBody = (maxPartitions: number) =>
  z
    .object({
      name: TopicNameField,
      partitions: PartitionCount(maxPartitions),
      retentionMs: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
      retentionBytes: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
    })
    .strict()
    .openapi('CreateTopic');

const TopicOut = z
  .object({
    name: z.string(),
    partitions: z.number().int(),
    retentionMs: z.number().int().nullable(),
    retentionBytes: z.number().int().nullable(),
  })
  .openapi('Topic');

const PartitionBounds = z.object({
  partition: z.number().int(),
  startOffset: z.number().int(),
  highWatermark: z.number().int(),
});

const RecordOut = z
  .object({
    offset: z.number().int(),
    timestamp: z.number().int(),
    key: z.string().nullable(),
    value: z.string().nullable(),
    headers: z.record(z.string(), z.string().nullable()),
  })
  .openapi('Record');

/** Builds the HTTP API over a log. */
export function createHttpApp(core: SluiceCore, options: HttpAppOptions = {}): OpenAPIHono<AppEnv> {
  const { log, clock, random } = core;
  const s = log.settings;
  const maxBodyBytes = options.maxBodyBytes ?? 6 * 1024 * 1024;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return answerError(c, invalid(describeIssues(result.error)), 400);
    },
  });

  const report = options.onUnexpectedError ?? reportToStderr;
  // the routes' methods by path, compiled once at the first request (routes are added below)
  let table: { pattern: RegExp; method: string }[] | undefined;
  const allowed = (path: string) => {
    table ??= routeTable(app.routes);
    return allowedMethods(table, path);
  };
  // first: every answer, errors included, carries the request id the operator's logs use
  app.use('*', async (c, next) => {
    const lambda = (c.env as { lambdaContext?: { awsRequestId?: string } } | undefined)?.lambdaContext;
    const requestId = lambda?.awsRequestId ?? uuidV4(random);
    c.set('requestId', requestId);
    await next();
    c.header('x-request-id', requestId);
  });

  app.onError((e, c) => {
    if (e instanceof HTTPException) {
      const message = /malformed json/i.test(e.message) ? 'request body is not valid JSON' : e.message;
      return answerError(c, invalid(message), e.status === 413 ? 413 : 400);
    }
    const requestId = c.get('requestId') ?? 'unknown';
    if (isUnexpected(e)) {
      try {
        report({ error: e, method: c.req.method, route: c.req.routePath, requestId });
      } catch {
        // a failing reporter must not turn the answer into something else
      }
    }
    const safeToRetry = ['GET', 'HEAD'].includes(c.req.method) || c.req.header('idempotency-key') !== undefined;
    const { status, body, retryAfter } = toHttpError(e, { requestId, safeToRetry });
    if (retryAfter !== undefined) c.header('Retry-After', String(retryAfter));
    return answerError(c, body, status);
  });
  // a path the API has, asked with a method it does not: 405 with the methods it does take
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    if (methods.length === 0) return answerError(c, invalid(`no route for ${c.req.method} ${c.req.path}`), 404);
    c.header('Allow', methods.join(', '));
    return answerError(
      c,
      invalid(`${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(' or ')}`, 'METHOD_NOT_ALLOWED'),
      405,
    );
  });

  if (options.onResponse) {
    const onResponse = options.onResponse;
    app.use('*', async (c, next) => {
      const started = clock.nowMs();
      await next();
      const errorCode = c.res.status >= 400 ? c.get('errorCode') : undefined;
      onResponse({
        requestId: c.get('requestId'),
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        durationMs: clock.nowMs() - started,
        ...(errorCode ? { errorCode } : {}),
        ...(c.req.param('t') ? { topic: c.req.param('t') } : {}),
        ...(c.req.param('g') ? { group: c.req.param('g') } : {}),
        ...(c.get('counted') ?? {}),
      });
    });
  }

  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        answerError(c, invalid(`request body is larger than ${maxBodyBytes} bytes`, 'REQUEST_TOO_LARGE'), 413),
    }),
  );
  app.use('*', async (c, next) => {
    // every POST and PATCH route takes a JSON body (an empty one is refused too); checked only
    // for a route that exists: a wrong method is 405, not a content-type complaint
    if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && allowed(c.req.path).includes(c.req.method)) {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/json\b/i.test(type)) {
        return answerError(c, invalid('Content-Type must be application/json'), 400);
      }
    }
    await next();
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/health',
      responses: { 200: json(z.object({ status: z.literal('ok') }), 'Healthy') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/limits',
      responses: {
        200: json(
          z
            .object({
              maxRecordsPerCall: z.number().int(),
              maxRecordBytes: z.number().int(),
              maxCallBytes: z.number().int(),
              maxHeadersPerRecord: z.number().int(),
              maxHeaderNameBytes: z.number().int(),
              maxPartitionsPerCall: z.number().int(),
              maxPartitionsPerTopic: z.number().int(),
            })
            .openapi('Limits'),
          'What a produce call may hold on this server (clients check sends against it)',
        ),
      },
    }),
    (c) => c.json(produceLimits(log.settings), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/topics',
      request: {
        body: { content: { 'application/json': { schema: topicBody(s.maxPartitionsPerTopic) } }, required: true },
      },
      responses: { 201: json(TopicOut, 'Created'), 409: json(ErrorSchema, 'TOPIC_EXISTS'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const t = await log.createTopic(body);
      return c.json(topicOut(t), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics',
      responses: {
        200: json(
          z.object({ topics: z.array(z.object({ name: z.string(), partitions: z.number().int() })) }),
          'Topics',
        ),
      },
    }),
    async (c) => {
      const topics = await log.listTopics();
      return c.json({ topics: topics.map((t) => ({ name: t.name, partitions: t.partitions })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics/{t}',
      request: { params: z.object({ t: TopicName }) },
      responses: { 200: json(TopicOut.extend({ offsets: z.array(PartitionBounds) }), 'The topic'), ...errors },
    }),
    async (c) => {
      const d = await log.describeTopic(c.req.valid('param').t);
      return c.json({ ...topicOut(d), offsets: d.offsets }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/topics/{t}',
      request: { params: z.object({ t: TopicName }) },
      responses: { 204: { description: 'Deleted' }, ...errors },
    }),
    async (c) => {
      await log.deleteTopic(c.req.valid('param').t);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/topics/{t}',
      request: {
        params: z.object({ t: TopicName }),
        body: {
          content: {
            'application/json': {
              schema: z
                .object({
                  retentionMs: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
                  retentionBytes: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
                  partitions: PartitionCount(s.maxPartitionsPerTopic).optional(),
                })
                .strict()
                .openapi('UpdateTopic'),
            },
          },
          required: true,
        },
      },
      responses: {
        200: json(TopicOut, 'Updated (retention applies at the next maintenance run)'),
        409: json(ErrorSchema, 'INVALID_PARTITIONS (partitions only grow) or CONFLICT'),
        ...errors,
      },
    }),
    async (c) => {
      const { t } = c.req.valid('param');
      const body = c.req.valid('json');
      if (body.partitions !== undefined) await log.addPartitions(t, body.partitions);
      const updated =
        body.retentionMs !== undefined || body.retentionBytes !== undefined
          ? await log.setRetention(t, body)
          : await log.getTopic(t, { fresh: true });
      return c.json(topicOut(updated), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/topics/{t}/partitions/{p}/records:deleteBefore',
      request: {
        params: z.object({ t: TopicName, p: PartitionParam }),
        body: {
          content: {
            'application/json': { schema: z.object({ offset: z.number().int().min(0).max(MAX_SAFE) }).strict() },
          },
          required: true,
        },
      },
      responses: {
        200: json(z.object({ startOffset: z.number().int() }), "Kafka's deleteRecords: the new start offset"),
        416: json(ErrorSchema, 'OFFSET_OUT_OF_RANGE'),
        ...errors,
      },
    }),
    async (c) => {
      const { t, p } = c.req.valid('param');
      return c.json(await log.deleteRecords(t, p, c.req.valid('json').offset), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/topics/{t}/records',
      request: {
        params: z.object({ t: TopicName }),
        headers: z.object({ 'idempotency-key': KeyField('Idempotency-Key').optional() }),
        body: { content: { 'application/json': { schema: produceBody(s.maxRecordsPerCall) } }, required: true },
      },
      responses: {
        200: json(Offsets, 'Offsets of the records, in request order; the request is atomic'),
        409: json(ErrorSchema, 'IDEMPOTENCY_KEY_REUSED'),
        413: json(ErrorSchema, 'RECORD_TOO_LARGE or REQUEST_TOO_LARGE'),
        ...errors,
      },
    }),
    async (c) => {
      const { t } = c.req.valid('param');
      const body = c.req.valid('json');
      const idempotencyKey = c.req.valid('header')['idempotency-key'];
      const encoding: Encoding = body.encoding ?? 'utf8';
      const records = body.records.map((r, i) => toProduceRecord(r, i, encoding));
      const res = await log.append({
        batches: [{ topic: t, records }],
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      });
      c.set('counted', countOf(records));
      return c.json({ offsets: res.batches[0]?.offsets ?? [] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics/{t}/partitions/{p}/records',
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
          }),
          'Records from `offset`, contiguous',
        ),
        416: json(ErrorSchema, 'OFFSET_OUT_OF_RANGE (carries startOffset and highWatermark)'),
        ...errors,
      },
    }),
    async (c) => {
      const { t, p } = c.req.valid('param');
      const q = c.req.valid('query');
      const encoding: Encoding = q.encoding ?? 'utf8';
      const r = await log.fetch({
        topic: t,
        partition: p,
        offset: q.offset,
        ...(q.maxRecords !== undefined ? { maxRecords: q.maxRecords } : {}),
        ...(q.maxBytes !== undefined ? { maxBytes: q.maxBytes } : {}),
        ...(q.waitMs !== undefined ? { waitMs: q.waitMs } : {}),
        signal: c.req.raw.signal,
      });
      c.set('counted', countOf(r.records));
      return c.json(
        {
          records: r.records.map((x) => ({
            offset: x.offset,
            timestamp: x.timestamp,
            key: encodeField(x.key, encoding),
            value: encodeField(x.value, encoding),
            headers: headersOut(x.headers, encoding),
          })),
          nextOffset: r.nextOffset,
          highWatermark: r.highWatermark,
          startOffset: r.startOffset,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics/{t}/partitions/{p}/offsets',
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
      const r = await log.offsetForTimestamp(t, p, c.req.valid('query').timestamp);
      return c.json({ offset: r.offset, highWatermark: r.highWatermark, startOffset: r.startOffset }, 200);
    },
  );

  if (core.groups) registerGroupRoutes(app, core.groups);

  app.doc('/v1/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'Sluice HTTP API',
      version: '1',
      description:
        'Serverless Kafka-style event log. Errors are {"error":{"code","message","retriable"}}; ' +
        'retriable errors (429, 503) carry Retry-After.',
    },
  });
  return app;
}

/** Each route's path as a pattern, with its method (middleware, `ALL`, left out). */
function routeTable(routes: readonly { method: string; path: string }[]): { pattern: RegExp; method: string }[] {
  return routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      method: r.method,
      pattern: new RegExp(
        `^${r.path
          .split('/')
          .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/')}$`,
      ),
    }));
}

/** The methods the routes take on `path` (HEAD wherever GET is). */
function allowedMethods(table: readonly { pattern: RegExp; method: string }[], path: string): string[] {
  const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

function countOf(records: readonly { key?: Uint8Array | null; value: Uint8Array | null }[]) {
  let bytes = 0;
  for (const r of records) bytes += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  return { records: records.length, bytes };
}

function topicOut(t: { name: string; partitions: number; retentionMs: number | null; retentionBytes: number | null }) {
  return { name: t.name, partitions: t.partitions, retentionMs: t.retentionMs, retentionBytes: t.retentionBytes };
}

function toProduceRecord(r: z.infer<typeof RecordIn>, i: number, encoding: Encoding): ProduceRecord {
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

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      const path = i.path.join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}
