/**
 * Starts the real local backends once for the contract and integration suites
 * (LocalStack host mode for S3, DynamoDB Local), unless the SDK's endpoint variables
 * point at running ones, and stops what it started.
 */
import type { TestProject } from 'vitest/node';
import { type LocalBackends, startLocalBackends } from '../../lib/local/backends';

let backends: LocalBackends | undefined;

export default async function setup(project: TestProject) {
  const started = Date.now();
  backends = await startLocalBackends(process.env, (m) => console.log(`[backends] ${m}`));
  console.log(
    `[backends] S3 ${backends.s3Endpoint}, DynamoDB ${backends.dynamoEndpoint} ready in ${Date.now() - started} ms` +
      (backends.started.length ? ` (started: ${backends.started.join(', ')})` : ' (configured endpoints)'),
  );
  project.provide('backends', { s3Endpoint: backends.s3Endpoint, dynamoEndpoint: backends.dynamoEndpoint });
  return async () => {
    await backends?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    backends: { s3Endpoint: string; dynamoEndpoint: string };
  }
}
