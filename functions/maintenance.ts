/**
 * Lambda entry point of the maintenance job (EventBridge schedule): purge deleted topics,
 * retention, compaction, garbage collection — within the invocation's remaining time.
 * Environment read once per container: SLUICE_BUCKET, SLUICE_TABLE.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { systemClock } from '../lib/clock';
import { systemRandom } from '../lib/ids';
import { runMaintenance } from '../lib/retention/job';
import { awsStoresOptionsFromEnv, createAwsStores } from '../lib/storage/aws';

const logger = new Logger({ serviceName: 'sluice-maintenance' });
const metrics = new Metrics({ namespace: 'Sluice', serviceName: 'sluice-maintenance' });
const stores = createAwsStores(awsStoresOptionsFromEnv(process.env));
/** Where the GC listing continues; kept while the container is warm (a cold start restarts it). */
let gcCursor: string | undefined;

/** The Lambda handler. */
export const handler = async (_event: unknown, context: Context) => {
  const budgetMs = Math.max(5_000, context.getRemainingTimeInMillis() - 15_000);
  const report = await runMaintenance(
    { ...stores, clock: systemClock, random: systemRandom },
    { budgetMs },
    gcCursor,
    (message) => logger.info(message),
  );
  gcCursor = report.gcCursor;
  logger.info('maintenance run', { ...report });
  metrics.addMetric('RetentionOffsetsRemoved', MetricUnit.Count, report.offsetsRemoved);
  metrics.addMetric('CompactionSwaps', MetricUnit.Count, report.compactionSwaps);
  metrics.addMetric(
    'GcObjectsDeleted',
    MetricUnit.Count,
    report.gc.orphansDeleted + report.gc.abortedDeleted + report.gc.releasedDeleted,
  );
  metrics.addMetric('GcBytesDeleted', MetricUnit.Bytes, report.gc.bytesDeleted);
  metrics.publishStoredMetrics();
  return { complete: report.complete };
};
