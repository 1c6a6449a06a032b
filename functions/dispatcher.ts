/**
 * Lambda entry point of the push-subscription dispatcher. Invoked by the event-source mapping
 * on the table's stream (head-shard changes only: the mapping's filter), by the API (a
 * subscription created or enabled), by the maintenance job (one lagging with nobody on it)
 * and by itself (what a run's budget left). Delivers each partition's batches to its
 * subscription's target in order, under the partition's lease. Environment read once per
 * container: SLUICE_BUCKET, SLUICE_TABLE, SLUICE_DISPATCHER_FUNCTION (its own name, for
 * hand-overs), SLUICE_DISPATCH_BUDGET_MS (longest run, default 60 s: a run holds up the
 * stream shard that invoked it), SLUICE_DELIVERY_TIMEOUT_MS (default 60 s).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createSluice } from '../lib/compose';
import { awsStoresOptionsFromEnv, createAwsStores } from '../lib/storage/aws';
import { lambdaEventSender, lambdaInvoker } from '../lib/storage/lambda-invoker';
import { DEFAULT_DISPATCH_SETTINGS, type DeliveryReport } from '../lib/subscriptions/dispatcher';
import { type DispatcherEvent, runDispatcherEvent } from '../lib/subscriptions/dispatcher-event';
import { targetFactory } from '../lib/subscriptions/targets';
import { SubscriptionTrigger } from '../lib/subscriptions/trigger';

const logger = new Logger({ serviceName: 'sluice-dispatcher' });
const metrics = new Metrics({ namespace: 'Sluice', serviceName: 'sluice-dispatcher' });
const env = process.env;
const sluice = createSluice(createAwsStores(awsStoresOptionsFromEnv(env)));
const groups = sluice.groups as NonNullable<typeof sluice.groups>;
const self = env.SLUICE_DISPATCHER_FUNCTION as string;
const budgetMs = Number(env.SLUICE_DISPATCH_BUDGET_MS ?? 60_000);
const send = lambdaEventSender();

/** One series per subscription and what happened (a delivery, its records, failures, dead-letters). */
function count(r: DeliveryReport): void {
  const m = metrics.singleMetric();
  m.addDimension('Subscription', r.subscription);
  if (r.outcome === 'success') {
    m.addMetric('SubscriptionRecordsDelivered', MetricUnit.Count, r.records);
    const age = metrics.singleMetric();
    age.addDimension('Subscription', r.subscription);
    age.addMetric('SubscriptionIteratorAge', MetricUnit.Milliseconds, r.ageMs);
  } else if (r.outcome === 'dead-lettered' || r.outcome === 'skipped') {
    m.addMetric('SubscriptionDeadLettered', MetricUnit.Count, r.records);
    logger.warn('records dead-lettered', { ...r });
  } else {
    m.addMetric('SubscriptionFailures', MetricUnit.Count, 1);
    logger.warn('delivery failed', { ...r });
  }
}

const trigger = new SubscriptionTrigger({
  log: sluice.log,
  groups: groups.groups,
  clock: sluice.clock,
  random: sluice.random,
  settings: {
    ...DEFAULT_DISPATCH_SETTINGS,
    deliveryTimeoutMs: Number(env.SLUICE_DELIVERY_TIMEOUT_MS ?? DEFAULT_DISPATCH_SETTINGS.deliveryTimeoutMs),
  },
  target: targetFactory({ lambda: lambdaInvoker() }),
  dispatcherId: `lambda-${env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local'}`.slice(0, 120),
  source: `sluice:${env.SLUICE_TABLE}`,
  observe: count,
});

/** The Lambda handler. */
export const handler = async (event: DispatcherEvent, context: Context) => {
  // the delivery in flight at the deadline must end before the function does
  const remaining = context.getRemainingTimeInMillis() - DEFAULT_DISPATCH_SETTINGS.deliveryTimeoutMs - 10_000;
  const deadlineMs = sluice.clock.nowMs() + Math.max(1_000, Math.min(budgetMs, remaining));
  try {
    const run = await runDispatcherEvent(groups, trigger, event, deadlineMs);
    const delivered = run.results.reduce((n, r) => n + r.delivered, 0);
    logger.info('dispatch run', {
      partitions: run.results.length,
      delivered,
      statuses: run.results.map((r) => `${r.subscription}:${r.topic}-${r.partition}:${r.status}`).slice(0, 50),
      errors: run.results
        .filter((r) => r.error)
        .map((r) => r.error)
        .slice(0, 5),
      handedOver: run.next?.work.length ?? 0,
    });
    if (run.next) await send(self, run.next);
    return { partitions: run.results.length, delivered, handedOver: run.next?.work.length ?? 0 };
  } finally {
    metrics.publishStoredMetrics();
  }
};
