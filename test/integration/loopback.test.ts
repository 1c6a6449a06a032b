/**
 * Every server the project starts for the tests (LocalStack, DynamoDB Local, and anything
 * they spawn) listens on loopback only.
 */
import { describe, expect, inject, it } from 'vitest';
import { configuredEndpoints } from '../../lib/local/backends';
import { isLoopback, listenersOf } from '../support/listening';

describe('local servers', () => {
  it.skipIf(process.platform !== 'linux' || Object.keys(configuredEndpoints(process.env)).length > 0)(
    'the backends started by the test setup listen on 127.0.0.1 only',
    () => {
      const { s3Endpoint, dynamoEndpoint } = inject('backends');
      // the setup ran in vitest's main process, this test's parent: its tree holds the servers
      const listeners = listenersOf(process.ppid);
      const ports = new Set(listeners.map((l) => l.port));
      for (const endpoint of [s3Endpoint, dynamoEndpoint]) expect(ports).toContain(Number(new URL(endpoint).port));
      expect(listeners.filter((l) => !isLoopback(l.address))).toEqual([]);
    },
  );
});
