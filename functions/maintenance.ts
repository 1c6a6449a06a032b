/**
 * Lambda entry point of the maintenance job (EventBridge schedule): purge deleted topics
 * (data and the groups' leases and offsets), retention, garbage collection —
 * within the invocation's remaining time — then the consumer lag of every registered group,
 * and a kick of the dispatcher for each push subscription that lags (a hand-over that was
 * lost, a dispatcher that crashed with nothing produced since: the stream will not say it).
 * Environment read once per container: SLUICE_BUCKET, SLUICE_TABLE, SLUICE_DISPATCHER_FUNCTION.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createSluice } from '../lib/compose';
import { groupLags } from '../lib/groups/lag';
import { runMaintenance } from '../lib/retention/job';
import { awsStoresOptionsFromEnv, createAwsStores } from '../lib/storage/aws';
import { lambdaEventSender } from '../lib/storage/lambda-invoker';
import { laggingSubscriptions } from '../lib/subscriptions/manage';

const logger = new Logger({ serviceName: 'sluice-maintenance' });
const metrics = new Metrics({ namespace: 'Sluice', serviceName: 'sluice-maintenance' });
const sluice = createSluice(createAwsStores(awsStoresOptionsFromEnv(process.env)));
const groupDeps = sluice.groups as NonNullable<typeof sluice.groups>;
const dispatcher = process.env.SLUICE_DISPATCHER_FUNCTION;
const send = lambdaEventSender();
/** Where the next lag pass starts (a job cursor). */
const LAG_CURSOR = 'lag';

/** The Lambda handler. */
export const handler = async (_event: unknown, context: Context) => {
  // the lag pass gets the last 15 s (it reads a few items per group); the job the rest
  const budgetMs = Math.max(5_000, context.getRemainingTimeInMillis() - 30_000);
  const report = await runMaintenance(sluice.maintenance, { budgetMs }, (message) => logger.info(message));
  logger.info('maintenance run', { ...report });
  metrics.addMetric('RetentionOffsetsRemoved', MetricUnit.Count, report.offsetsRemoved);
  metrics.addMetric('RetentionCallsReleased', MetricUnit.Count, report.callsReleased);
  metrics.addMetric(
    'GcObjectsDeleted',
    MetricUnit.Count,
    report.gc.orphansDeleted + report.gc.abortedDeleted + report.gc.releasedDeleted,
  );
  metrics.addMetric('GcBytesDeleted', MetricUnit.Bytes, report.gc.bytesDeleted);
  metrics.addMetric('MaintenanceFailures', MetricUnit.Count, report.failures);

  // the lag pass keeps 10 s for the metrics and kicks; what it did not reach, the next run does first
  const after = await sluice.maintenance.metadata.readJobCursor(LAG_CURSOR);
  const pass = await groupLags(groupDeps, {
    deadlineMs: sluice.clock.nowMs() + Math.max(1_000, context.getRemainingTimeInMillis() - 10_000),
    ...(after ? { after } : {}),
  });
  await sluice.maintenance.metadata.writeJobCursor(LAG_CURSOR, pass.next);
  const lags = pass.lags;
  for (const l of lags) {
    logger.info('consumer lag', { ...l });
    // a single metric is flushed by its first addMetric (and loses its dimension): one each
    for (const [name, unit, value] of [
      ['ConsumerLag', MetricUnit.Count, l.totalLag],
      ['ConsumerLagMs', MetricUnit.Milliseconds, l.maxLagMs],
    ] as const) {
      const m = metrics.singleMetric();
      m.addDimension('Group', l.group);
      m.addMetric(name, unit, value);
    }
  }
  // one series over every group: what the stack's lag alarm watches (groups come and go)
  metrics.addMetric('MaxConsumerLag', MetricUnit.Count, Math.max(0, ...lags.map((l) => l.totalLag)));
  metrics.addMetric('MaxConsumerLagMs', MetricUnit.Milliseconds, Math.max(0, ...lags.map((l) => l.maxLagMs)));
  const lagging = await laggingSubscriptions(groupDeps, lags);
  if (lagging.length > 0 && dispatcher) {
    logger.info('kicking lagging subscriptions', { subscriptions: lagging });
    await send(dispatcher, { kick: lagging });
  }
  metrics.publishStoredMetrics();
  return {
    complete: report.complete && pass.complete,
    groups: lags.length,
    maxConsumerLag: Math.max(0, ...lags.map((l) => l.totalLag)),
  };
};
