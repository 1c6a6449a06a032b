/**
 * The HTTP API v1 (ARCHITECTURE §8): one hono app, served by the Lambda adapter and by
 * the local Node server. Every input is validated by zod before anything is written; the
 * same schemas produce the OpenAPI document at `/v1/openapi.json`.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { ANONYMOUS, type Requirement } from '../access/model';
import type { SluiceCore } from '../compose';
import { uuidV4 } from '../ids';
import { produceLimits } from '../records/validate';
import { registerAccessRoutes } from './access-routes';
import { type AppEnv, answerError } from './env';
import {
  invalid,
  isStorageFailure,
  isUnexpected,
  reportToStderr,
  toHttpError,
  type UnexpectedErrorReporter,
} from './errors';
import { registerGroupRoutes } from './group-routes';
import { registerRecordRoutes } from './record-routes';
import { json } from './schemas';
import { registerSubscriptionRoutes, type SubscriptionRouteOptions } from './subscription-routes';
import { registerTopicRoutes } from './topic-routes';

/** Options of the HTTP app. */
export interface HttpAppOptions {
  /** Largest request body accepted. @default 6 MiB (AWS Lambda's synchronous payload limit) */
  readonly maxBodyBytes?: number;
  /** Told about every answered request (logs and metrics at the edge). */
  readonly onResponse?: (info: RequestInfo) => void;
  /** Told once about every unexpected error (a 500), with its stack. @default one JSON line on stderr */
  readonly onUnexpectedError?: UnexpectedErrorReporter;
  /**
   * Whether a fetch with `waitMs` waits in the server for records. In Lambda it must not:
   * a waiting function is billed for the whole wait and holds a unit of the API's
   * concurrency. Without it, a fetch that finds nothing answers at once with
   * `retryAfterMs`, and the client waits between polls (the Sluice client does, up to its
   * `waitMs`). @default true (the local server)
   */
  readonly waitInServer?: boolean;
  /**
   * Largest response body a fetch may answer, as the Lambda response envelope carries it (the
   * body JSON-escaped once more). @default 6 MB less 64 KiB (Lambda's synchronous payload limit)
   */
  readonly maxResponseBytes?: number;
  /** Which targets subscriptions may have, and who hears of their changes. @default Lambda and webhook targets */
  readonly subscriptions?: SubscriptionRouteOptions;
  /**
   * Who sent a request: the IAM principal ARN the transport authenticated (the Lambda entry
   * reads the Function URL's request context). What answers undefined is `anonymous`, whom
   * no ACL but one naming `anonymous` allows anything. @default anonymous
   */
  readonly principalOf?: (c: Context<AppEnv>) => string | undefined;
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
  /** Who asked (an IAM principal ARN, or `anonymous`). */
  readonly principal: string;
  /** What the request was authorized for (`produce topic orders`, ...), and the one refused. */
  readonly access?: { readonly checked: readonly string[]; readonly denied?: string };
}

/**
 * Record bytes of a produce call that fit in one request body: JSON carries keys, values and
 * header values base64 (4/3 the bytes), and each record's field names and punctuation come
 * on top — 60 % of the body leaves room for 10,000 records of ~96 bytes of JSON each in a
 * 6 MiB body (3.8 MiB of records → 5.0 MiB of base64 + 0.9 MiB).
 */
export function callBytesInBody(maxBodyBytes: number): number {
  return Math.max(1, Math.floor(maxBodyBytes * 0.6));
}

/** Builds the HTTP API over a log. */
export function createHttpApp(core: SluiceCore, options: HttpAppOptions = {}): OpenAPIHono<AppEnv> {
  const { log, clock, random } = core;
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
    c.set('principal', options.principalOf?.(c) ?? ANONYMOUS);
    c.set('authorizer', core.authorizer);
    await next();
    c.header('x-request-id', requestId);
  });

  app.onError((e, c) => {
    if (e instanceof HTTPException) {
      const message = /malformed json/i.test(e.message) ? 'request body is not valid JSON' : e.message;
      return answerError(c, invalid(message), e.status === 413 ? 413 : 400);
    }
    const requestId = c.get('requestId') ?? 'unknown';
    const unexpected = isUnexpected(e);
    if (unexpected || isStorageFailure(e)) {
      try {
        report({ error: e, unexpected, method: c.req.method, route: c.req.routePath, requestId });
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
        principal: c.get('principal'),
        ...access(c.get('checked'), c.get('denied')),
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
    // every POST and PATCH route takes a JSON body (an empty one is refused too); the route
    // table is consulted only off the hot path: a wrong method is 405, not a content-type complaint
    if (
      ['POST', 'PUT', 'PATCH'].includes(c.req.method) &&
      !/^application\/json\b/i.test(c.req.header('content-type') ?? '') &&
      allowed(c.req.path).includes(c.req.method)
    ) {
      return answerError(c, invalid('Content-Type must be application/json'), 400);
    }
    await next();
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/health',
      operationId: 'getHealth',
      responses: { 200: json(z.object({ status: z.literal('ok') }), 'Healthy') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/limits',
      operationId: 'getLimits',
      responses: {
        200: json(
          z
            .object({
              maxRecordsPerCall: z.number().int(),
              maxRecordBytes: z.number().int(),
              maxCallBytes: z.number().int(),
              maxHeadersPerRecord: z.number().int(),
              maxHeaderNameLength: z.number().int(),
              maxPartitionsPerCall: z.number().int(),
              maxPartitionsPerTopic: z.number().int(),
            })
            .openapi('Limits'),
          'What a produce call may hold on this server (clients check sends against it)',
        ),
      },
    }),
    (c) => {
      // a client must be able to send a call of maxCallBytes in one request body
      const s = log.settings;
      const inBody = callBytesInBody(maxBodyBytes);
      return c.json({ ...produceLimits(s), maxCallBytes: Math.min(s.maxCallBytes, inBody) }, 200);
    },
  );

  registerAccessRoutes(app, {
    authorizer: core.authorizer,
    clock,
    ...(core.access ? { store: core.access } : {}),
  });
  registerTopicRoutes(app, log);
  registerRecordRoutes(app, log, {
    waitInServer: options.waitInServer ?? true,
    maxResponseBytes: options.maxResponseBytes ?? 6 * 1024 * 1024 - 64 * 1024,
  });
  if (core.groups) {
    registerGroupRoutes(app, core.groups);
    registerSubscriptionRoutes(app, core.groups, options.subscriptions ?? { targets: ['lambda', 'webhook'] });
  }

  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
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

const said = (r: Requirement) =>
  r.type === 'cluster' ? `${r.operation} cluster` : `${r.operation} ${r.type} ${r.name}`;

/** The audit fields of a request: what it was authorized for, and what was refused. */
function access(checked: readonly Requirement[] | undefined, denied: Requirement | undefined) {
  if (!checked?.length) return {};
  return { access: { checked: checked.map(said), ...(denied ? { denied: said(denied) } : {}) } };
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

function describeIssues(error: z.ZodError): string {
  return flatIssues(error.issues)
    .slice(0, 5)
    .map((i) => {
      const path = i.path.join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] };

/**
 * A union's failure names what was wrong in the alternative that came closest (fewest
 * problems), not "invalid input": `options.batchSize: too big`, not `options: Invalid input`.
 */
function flatIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): Issue[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code === 'invalid_union' && i.errors && i.errors.length > 0) {
      // on a tie, the alternative whose discriminating value matched (no invalid_value) is meant
      const score = (e: Issue[]) => e.length + (e.some((x) => x.code === 'invalid_value') ? 0.5 : 0);
      const closest = [...i.errors].sort((a, b) => score(a) - score(b))[0] as Issue[];
      if (closest.length > 0) return flatIssues(closest, path);
    }
    return [{ ...i, path }];
  });
}
