/**
 * The Lambda handlers of functions/, invoked in-process with realistic Function URL
 * (payload 2.0) events against the local backends: topic, produce, fetch and group round
 * trip through the deployed code path, and one maintenance run. (Lambda execution itself
 * is not emulated: the handlers run in this process.)
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { realStores } from '../support/real';

type Handler = (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode: number; body: string; headers?: Record<string, string> }>;
let api: Handler;
let table = '';
let maintenance: (
  event: unknown,
  context: Context,
) => Promise<{ complete: boolean; groups: number; maxConsumerLag: number }>;

const saved = { ...process.env };
afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

beforeAll(async () => {
  const stores = await realStores();
  table = stores.table;
  const { s3Endpoint, dynamoEndpoint } = inject('backends');
  Object.assign(process.env, {
    SLUICE_BUCKET: stores.bucket,
    SLUICE_TABLE: stores.table,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // the API's default access mode is acl: the round trip's caller is an admin
    SLUICE_ADMINS: DEV,
  });
  api = (await import('../../functions/api')).handler as unknown as Handler;
  // the maintenance function's metrics are on (read at construction): the test reads its EMF
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  maintenance = (await import('../../functions/maintenance')).handler;
});

const DEV = 'arn:aws:iam::123456789012:user/dev';

/** A Lambda Function URL event (payload format 2.0), as AWS sends it (`principal: null`: as LocalStack sends it). */
function urlEvent(method: string, path: string, body?: unknown, principal: string | null = DEV) {
  const [rawPath, rawQueryString = ''] = path.split('?');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: {
      host: 'abc123.lambda-url.us-east-1.on.aws',
      'x-forwarded-proto': 'https',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      ...(principal === null
        ? {}
        : { authorizer: { iam: { accessKey: 'AKIA…', accountId: '123456789012', userArn: principal } } }),
      domainName: 'abc123.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: `req-${Math.random()}`,
      routeKey: '$default',
      stage: '$default',
      time: '22/Nov/2026:12:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

async function call(method: string, path: string, body?: unknown, principal?: string | null) {
  const r = await api(urlEvent(method, path, body, principal), context);
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

/** What `fn` wrote to stdout (Powertools' log lines), parsed. */
async function stdoutOf(fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

describe('Lambda handlers in-process', () => {
  it('serves the produce / fetch / group round trip', async () => {
    expect(await call('GET', '/v1/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await call('POST', '/v1/topics', { name: 'lambda', partitions: 2 })).status).toBe(201);
    const produced = await call('POST', '/v1/topics/lambda/records', {
      records: [
        { value: 'one', partition: 1 },
        { value: 'two', partition: 1 },
      ],
    });
    expect(produced).toEqual({
      status: 200,
      body: {
        offsets: [
          { partition: 1, offset: 0 },
          { partition: 1, offset: 1 },
        ],
      },
    });
    const fetched = await call('GET', '/v1/topics/lambda/partitions/1/records?offset=0');
    expect(fetched.body.records.map((r: { value: string }) => r.value)).toEqual(['one', 'two']);
    const joined = await call('POST', '/v1/groups/lambda-g/members', { memberId: 'fn-member', topics: ['lambda'] });
    expect(joined.body.assignments).toHaveLength(2);
    const epoch = joined.body.assignments.find((a: { partition: number }) => a.partition === 1).epoch;
    const committed = await call('POST', '/v1/groups/lambda-g/offsets', {
      memberId: 'fn-member',
      offsets: [{ topic: 'lambda', partition: 1, offset: 2, epoch }],
    });
    expect(committed.status).toBe(200);
    const group = await call('GET', '/v1/groups/lambda-g');
    expect(group.body.partitions[1]).toMatchObject({ committedOffset: 2, lag: 0, owner: 'fn-member' });
    const bad = await call('POST', '/v1/topics/lambda/records', { records: [{ value: 1 }] });
    expect(bad.status).toBe(400);
  });

  it("runs the maintenance job and reports each group's consumer lag as CloudWatch EMF", async () => {
    // three more records behind the group's committed offset 2 on partition 1
    await call('POST', '/v1/topics/lambda/records', {
      records: ['a', 'b', 'c'].map((value) => ({ value, partition: 1 })),
    });
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n'));
      return true;
    }) as typeof process.stdout.write;
    let result: Awaited<ReturnType<typeof maintenance>>;
    try {
      result = await maintenance({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    } finally {
      process.stdout.write = write;
    }
    expect(result).toEqual({ complete: true, groups: 1, maxConsumerLag: 3 });
    const emf = lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    const perGroup = emf.find((m) => m.Group === 'lambda-g' && 'ConsumerLag' in m);
    expect(perGroup).toMatchObject({ ConsumerLag: 3, service: 'sluice-maintenance' });
    expect(perGroup._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Sluice' });
    // each per-group metric carries the Group dimension (not only the first one flushed)
    const ageOfOldest = emf.find((m) => m.Group === 'lambda-g' && 'ConsumerLagMs' in m);
    expect(ageOfOldest.ConsumerLagMs).toBeGreaterThanOrEqual(0);
    const overall = emf.find((m) => 'MaxConsumerLag' in m);
    expect(overall).toMatchObject({ MaxConsumerLag: 3 });
    expect(overall.Group).toBeUndefined();
  });

  it('authorizes the IAM principal of the Function URL context, writes an audit line per mutating request, trusts no missing context', async () => {
    const service = 'arn:aws:sts::123456789012:assumed-role/orders-service/i-0abc';
    const logged = await stdoutOf(async () => {
      const denied = await call('POST', '/v1/topics/lambda/records', { records: [{ value: 'no' }] }, service);
      expect(denied.status).toBe(403);
      expect(denied.body.error).toMatchObject({ code: 'FORBIDDEN', principal: service, operation: 'produce' });
      const acl = await call('POST', '/v1/acls', {
        principal: 'arn:aws:iam::123456789012:role/orders-service',
        resourceType: 'topic',
        resourceName: 'lambda',
        operations: ['produce'],
      });
      expect(acl.status).toBe(201);
      expect((await call('POST', '/v1/topics/lambda/records', { records: [{ value: 'yes' }] }, service)).status).toBe(
        200,
      );
      expect((await call('GET', '/v1/topics/lambda/partitions/0/records?offset=0', undefined, service)).status).toBe(
        403,
      );
      // LocalStack's Function URLs carry no IAM context: such a caller is anonymous, allowed nothing
      const anonymous = await call('POST', '/v1/topics/lambda/records', { records: [{ value: 'no' }] }, null);
      expect(anonymous.body.error).toMatchObject({ code: 'FORBIDDEN', principal: 'anonymous' });
      expect((await call('GET', '/v1/whoami', undefined, service)).body).toMatchObject({ principal: service });
    });
    const audit = logged.filter((l) => l.message === 'audit');
    expect(audit.map((a) => [a.principal, a.status, (a.access as { checked: string[] }).checked])).toEqual([
      [service, 403, ['produce topic lambda']],
      [DEV, 201, ['alter cluster']],
      [service, 200, ['produce topic lambda']],
      ['anonymous', 403, ['produce topic lambda']],
    ]);
    expect(audit[0]).toMatchObject({ method: 'POST', route: '/v1/topics/:t/records', topic: 'lambda' });
    expect(audit[0]?.access).toMatchObject({ denied: 'produce topic lambda' });
    // reads are logged as requests, with their principal, not as audit records
    expect(logged.filter((l) => l.message === 'request').map((l) => l.principal)).toEqual([service, service]);
  });

  it('logs an unexpected error once with its stack and request id, and counts it for the alarm', async () => {
    // a table that does not exist: DynamoDB says ResourceNotFound, which no code path expects
    vi.resetModules();
    process.env.SLUICE_TABLE = 'no-such-table';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const broken = (await import('../../functions/api')).handler as unknown as Handler;
    const lines: string[] = [];
    const capture = (stream: NodeJS.WriteStream) => {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array) => {
        lines.push(...String(chunk).split('\n'));
        return true;
      }) as typeof stream.write;
      return () => {
        stream.write = write;
      };
    };
    const restore = [capture(process.stdout), capture(process.stderr)];
    let r: Awaited<ReturnType<Handler>>;
    try {
      r = await broken(urlEvent('POST', '/v1/topics', { name: 'nowhere', partitions: 1 }), {
        ...context,
        awsRequestId: 'req-7f3a',
      });
    } finally {
      for (const undo of restore) undo();
    }
    expect(r.statusCode).toBe(500);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'INTERNAL', requestId: 'req-7f3a', retriable: false });
    const logged = lines.filter((l) => l.includes('unexpected error')).map((l) => JSON.parse(l));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'ERROR', method: 'POST', route: '/v1/topics', requestId: 'req-7f3a' });
    expect(JSON.stringify(logged[0])).toContain('ResourceNotFoundException');
    const emf = lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    expect(emf.find((m) => 'UnexpectedErrors' in m)).toMatchObject({ UnexpectedErrors: 1, service: 'sluice-api' });
  });
});

describe("EventLog.addSubscription's custom resource handler", () => {
  /** CloudFormation's side: a pre-signed response URL that keeps what it was sent. */
  async function responseUrl() {
    const { createServer } = await import('node:http');
    const got: Record<string, unknown>[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        got.push({ method: req.method, ...JSON.parse(body) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}/cfn`,
      got,
      close: () => server.close(),
    };
  }

  it('creates, changes and deletes the subscription it declares, answering CloudFormation each time', async () => {
    // the table of this file's stores (the test above pointed a fresh module at a missing one)
    vi.resetModules();
    process.env.SLUICE_TABLE = table;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const handler = (await import('../../functions/resources')).handler;
    await api(urlEvent('POST', '/v1/topics', { name: 'declared', partitions: 2 }), context);
    const cfn = await responseUrl();
    const definition = (options: Record<string, unknown>) =>
      JSON.stringify({
        name: 'declared-sub',
        topics: ['declared'],
        target: { type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:subscriber' },
        options,
      });
    const base = {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:resource',
      ResponseURL: cfn.url,
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
      LogicalResourceId: 'Sub',
      ResourceType: 'Custom::SluiceSubscription',
    };
    try {
      await handler({
        ...base,
        RequestType: 'Create',
        RequestId: 'r1',
        ResourceProperties: { ServiceToken: '', Definition: definition({ batchSize: 50 }) },
      });
      expect(cfn.got[0], String(cfn.got[0]?.Reason)).toMatchObject({
        method: 'PUT',
        Status: 'SUCCESS',
        PhysicalResourceId: 'declared-sub',
        RequestId: 'r1',
      });
      const read = async () => JSON.parse((await api(urlEvent('GET', '/v1/subscriptions/declared-sub'), context)).body);
      expect(await read()).toMatchObject({ version: 1, options: { batchSize: 50 } });

      await handler({
        ...base,
        RequestType: 'Update',
        RequestId: 'r2',
        PhysicalResourceId: 'declared-sub',
        ResourceProperties: { ServiceToken: '', Definition: definition({ batchSize: 75, enabled: false }) },
        OldResourceProperties: { ServiceToken: '' },
      });
      expect(cfn.got[1]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'declared-sub' });
      expect(await read()).toMatchObject({ version: 2, options: { batchSize: 75, enabled: false } });

      // a bad definition fails the deployment with the rule it broke, and writes nothing
      await handler({
        ...base,
        RequestType: 'Create',
        RequestId: 'r3',
        ResourceProperties: {
          ServiceToken: '',
          Definition: definition({ batchSize: 0 }).replace('declared-sub', 'other'),
        },
      });
      expect(cfn.got[2]).toMatchObject({ Status: 'FAILED' });
      expect(String(cfn.got[2]?.Reason)).toContain('batchSize');

      await handler({
        ...base,
        RequestType: 'Delete',
        RequestId: 'r4',
        PhysicalResourceId: 'declared-sub',
        ResourceProperties: { ServiceToken: '', Definition: definition({}) },
      });
      expect(cfn.got[3]).toMatchObject({ Status: 'SUCCESS' });
      expect(JSON.parse((await api(urlEvent('GET', '/v1/subscriptions/declared-sub'), context)).body).error.code).toBe(
        'SUBSCRIPTION_NOT_FOUND',
      );
      // a declared topic: created, then grown and given retention, never shrunk, deleted if the policy says so
      const topic = (RequestType: 'Create' | 'Update' | 'Delete', RequestId: string, spec: Record<string, unknown>) =>
        handler({
          ...base,
          ResourceType: 'Custom::SluiceTopic',
          RequestType,
          RequestId,
          ...(RequestType === 'Create' ? {} : { PhysicalResourceId: 'declared-topic' }),
          ...(RequestType === 'Update' ? { OldResourceProperties: { ServiceToken: '' } } : {}),
          ResourceProperties: { ServiceToken: '', Topic: JSON.stringify({ name: 'declared-topic', ...spec }) },
        } as Parameters<typeof handler>[0]);
      const described = async () => JSON.parse((await api(urlEvent('GET', '/v1/topics/declared-topic'), context)).body);
      await topic('Create', 't1', { partitions: 2, retentionMs: null, retentionBytes: null });
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'declared-topic' });
      expect(await described()).toMatchObject({ partitions: 2, retentionMs: null });
      await topic('Update', 't2', { partitions: 4, retentionMs: 3_600_000, retentionBytes: null });
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'SUCCESS' });
      expect(await described()).toMatchObject({ partitions: 4, retentionMs: 3_600_000 });
      await topic('Update', 't3', { partitions: 3, retentionMs: null, retentionBytes: null });
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'FAILED' });
      expect(String(cfn.got.at(-1)?.Reason)).toMatch(/has 4 partitions; partitions only grow/);
      expect(await described()).toMatchObject({ partitions: 4, retentionMs: 3_600_000 });
      // created again over an existing one (a retried create): adopted
      await topic('Create', 't4', { partitions: 4, retentionMs: 3_600_000, retentionBytes: null });
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'SUCCESS' });
      await topic('Delete', 't5', { partitions: 4 });
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'SUCCESS' });
      expect(JSON.parse((await api(urlEvent('GET', '/v1/topics/declared-topic'), context)).body).error.code).toBe(
        'TOPIC_NOT_FOUND',
      );

      // deleting what a failed create left (no subscription) succeeds
      await handler({
        ...base,
        RequestType: 'Delete',
        RequestId: 'r5',
        PhysicalResourceId: 'failed-r3',
        ResourceProperties: { ServiceToken: '', Definition: definition({}) },
      });
      expect(cfn.got[4]).toMatchObject({ Status: 'SUCCESS' });

      // a declared ACL entry: written at deployment (its id is the physical id), removed with it
      const reader = 'arn:aws:sts::123456789012:assumed-role/declared-reader/s1';
      const acl = (RequestType: 'Create' | 'Delete', RequestId: string, spec: Record<string, unknown>, id?: string) =>
        handler({
          ...base,
          ResourceType: 'Custom::SluiceAcl',
          RequestType,
          RequestId,
          ...(id ? { PhysicalResourceId: id } : {}),
          ResourceProperties: { ServiceToken: '', Acl: JSON.stringify(spec) },
        } as Parameters<typeof handler>[0]);
      const spec = {
        principal: 'arn:aws:iam::123456789012:role/declared-reader',
        effect: 'allow',
        resourceType: 'topic',
        resourceName: 'declared',
        pattern: 'literal',
        operations: ['consume'],
      };
      const fetchAs = async () =>
        (await api(urlEvent('GET', '/v1/topics/declared/partitions/0/records?offset=0', undefined, reader), context))
          .statusCode;
      expect(await fetchAs()).toBe(403);
      await acl('Create', 'a1', spec);
      const created = cfn.got.at(-1) as { Status: string; PhysicalResourceId: string };
      expect(created).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: expect.stringMatching(/^[0-9a-f]{24}$/) });
      // the API's authorizer caches entries for 5 s: a process that did not make the change sees it by then
      const cacheMs = 5100;
      await new Promise((r) => setTimeout(r, cacheMs));
      expect(await fetchAs()).toBe(200);
      await acl('Create', 'a2', { ...spec, operations: ['bogus'] });
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'FAILED' });
      expect(String(cfn.got.at(-1)?.Reason)).toMatch(/operation "bogus" is not one of topic's/);
      await acl('Delete', 'a3', spec, created.PhysicalResourceId);
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'SUCCESS' });
      await acl('Delete', 'a4', spec, 'failed-a2');
      expect(cfn.got.at(-1)).toMatchObject({ Status: 'SUCCESS' });
      await new Promise((r) => setTimeout(r, cacheMs));
      expect(await fetchAs()).toBe(403);
    } finally {
      cfn.close();
    }
  });
});
