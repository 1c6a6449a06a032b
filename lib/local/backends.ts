/**
 * Local backends: use the endpoints the AWS SDK's own variables name (`AWS_ENDPOINT_URL`,
 * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`), else start LocalStack (S3) and
 * DynamoDB Local ourselves, and stop exactly what we started.
 */

import { startDynamoDbLocal } from './dynamodb-local';
import { startLocalStack } from './localstack';
import type { ManagedProcess } from './processes';
import type { Progress } from './venv';

/** Endpoints of running backends and a way to stop the ones this process started. */
export interface LocalBackends {
  readonly s3Endpoint: string;
  readonly dynamoEndpoint: string;
  /** Which endpoints were started here (vs. configured). */
  readonly started: readonly string[];
  stop(): Promise<void>;
}

/** The S3 and DynamoDB endpoints configured through the SDK's variables, if any. */
export function configuredEndpoints(env: NodeJS.ProcessEnv): { s3?: string; dynamodb?: string } {
  const s3 = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const dynamodb = env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL || undefined;
  return { ...(s3 ? { s3 } : {}), ...(dynamodb ? { dynamodb } : {}) };
}

/** Starts whatever is not configured; both start in parallel. */
export async function startLocalBackends(
  env: NodeJS.ProcessEnv = process.env,
  progress: Progress = () => {},
): Promise<LocalBackends> {
  const configured = configuredEndpoints(env);
  const procs: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  // allSettled: if one fails, the other may still be starting and must be stopped too
  const [s3, dynamo] = await Promise.allSettled([
    configured.s3
      ? Promise.resolve({ endpoint: configured.s3 })
      : startLocalStack(progress).then((ls) => {
          procs.push(ls.process);
          return ls;
        }),
    configured.dynamodb
      ? Promise.resolve({ endpoint: configured.dynamodb })
      : startDynamoDbLocal(progress).then((d) => {
          procs.push(d.process);
          return d;
        }),
  ]);
  if (s3.status === 'rejected' || dynamo.status === 'rejected') {
    await stop();
    throw s3.status === 'rejected' ? s3.reason : (dynamo as PromiseRejectedResult).reason;
  }
  return {
    s3Endpoint: s3.value.endpoint,
    dynamoEndpoint: dynamo.value.endpoint,
    started: procs.map((p) => p.name),
    stop,
  };
}
