/**
 * Lambda entry point of the HTTP API (Function URL, IAM-authenticated): the same hono app
 * as the local server. Environment read once per container: SLUICE_BUCKET, SLUICE_TABLE,
 * SLUICE_DISPATCHER_FUNCTION (told when a subscription is created or enabled), SLUICE_ACCESS
 * (`acl`, the default, or `open`) and SLUICE_ADMINS.
 *
 * The caller is the IAM principal the Function URL authenticated (its request context). Only
 * the URL's callers are trusted with that context: the stack's grants (`grantInvokeUrl`) allow
 * `lambda:InvokeFunction` only with `lambda:InvokedViaFunctionUrl`, so nobody it grants can
 * invoke the function directly with a forged context.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { handle } from 'hono/aws-lambda';
import { accessSettingsFromEnv } from '../lib/access/authorizer';
import { principalOfUrlRequest } from '../lib/access/principal';
import { createSluice } from '../lib/compose';
import { createHttpApp } from '../lib/http/app';
import { awsStoresOptionsFromEnv, createAwsStores } from '../lib/storage/aws';
import { lambdaEventSender } from '../lib/storage/lambda-invoker';

const logger = new Logger({ serviceName: 'sluice-api' });
const metrics = new Metrics({ namespace: 'Sluice', serviceName: 'sluice-api' });
const stores = createAwsStores(awsStoresOptionsFromEnv(process.env));
const dispatcher = process.env.SLUICE_DISPATCHER_FUNCTION;
const send = lambdaEventSender();
const access = accessSettingsFromEnv(process.env, 'acl');
const app = createHttpApp(createSluice(stores, { access }), {
  principalOf: (c) => principalOfUrlRequest(c.env),
  subscriptions: {
    targets: ['lambda', 'webhook'],
    // records already waiting are delivered now, not at the next produce
    onChange: async (name, _s, kick) => {
      if (kick && dispatcher) await send(dispatcher, { kick: [name] });
    },
  },
  // a waiting Lambda is billed for the wait: an empty fetch answers at once with retryAfterMs
  waitInServer: false,
  // once per 500, with the stack; the UnexpectedErrors alarm watches the metric;
  // a storage failure (503, 429 after the SDK's retries) once as a warning, with its cause
  onUnexpectedError: ({ error, unexpected = true, method, route, requestId }) => {
    const e = error instanceof Error ? error : new Error(String(error));
    if (!unexpected) {
      logger.warn({ message: 'storage error', method, route, requestId }, e);
      return;
    }
    logger.error({ message: 'unexpected error', method, route, requestId }, e);
    metrics.addMetric('UnexpectedErrors', MetricUnit.Count, 1);
  },
  onResponse: (r) => {
    // a mutating request's line is its audit record: who, what, on which resource, and the outcome
    logger.info(MUTATING.has(r.method) ? 'audit' : 'request', { ...r });
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    if (r.status >= 500) metrics.addMetric('Errors', MetricUnit.Count, 1);
    if (r.status === 429 || r.errorCode === 'THROTTLED') metrics.addMetric('Throttles', MetricUnit.Count, 1);
    if (r.errorCode === 'CONFLICT' || r.errorCode === 'FENCED')
      metrics.addMetric('CommitConflicts', MetricUnit.Count, 1);
    if (r.route.endsWith('/records') && r.method === 'POST' && r.status === 200) {
      metrics.addMetric('ProducedRecords', MetricUnit.Count, r.records ?? 0);
      metrics.addMetric('ProducedBytes', MetricUnit.Bytes, r.bytes ?? 0);
      metrics.addMetric('ProduceLatency', MetricUnit.Milliseconds, r.durationMs);
    }
    if (r.route.endsWith('/records') && r.method === 'GET' && r.status === 200) {
      metrics.addMetric('ConsumedRecords', MetricUnit.Count, r.records ?? 0);
      metrics.addMetric('ConsumedBytes', MetricUnit.Bytes, r.bytes ?? 0);
    }
  },
});
const serve = handle(app);
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The Lambda handler: serve one request, then flush its metrics (CloudWatch EMF). */
export const handler = async (event: Parameters<typeof serve>[0], context: Parameters<typeof serve>[1]) => {
  try {
    return await serve(event, context);
  } finally {
    metrics.publishStoredMetrics();
  }
};
