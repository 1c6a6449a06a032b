/**
 * The CDK path, end to end: LocalStack (the stack's services, Lambda through the project's
 * `node` executor) started by the project's launcher, the stack synthesized in-process and
 * created with CloudFormation, then used as a user would — the HTTP API through the deployed
 * Function URL (SigV4-signed, as the URL is IAM-authenticated), the maintenance function
 * invoked with its log tail, and the consumer client directly against the deployed table and
 * bucket — and torn down. LocalStack ignores some of the template (encryption, public-access
 * block, PITR, log retention, reserved concurrency, dashboards); the template assertions in
 * test/cdk stay the authority for those.
 */
import { request } from 'node:http';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceStack } from '../../cdk/stack';
import { Sluice } from '../../lib/client/sluice';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/clients';
import { type DeployedStack, deleteLocalStack, deployToLocalStack } from '../../lib/local/deploy';
import { type LocalStack, logTail, startLocalStack } from '../../lib/local/localstack';
import { createSigV4Signer } from '../../lib/storage/aws';
import { isLoopback, listenersOf } from '../support/listening';
import { until } from '../support/until';

let ls: LocalStack;
let stack: DeployedStack;
const signer = createSigV4Signer({ region: LOCAL_REGION, service: 'lambda', credentials: LOCAL_CREDENTIALS });

/** One request to the Function URL: LocalStack routes by Host, so connect to its port with that Host. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const url = new URL(path, stack.apiUrl);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const signed = await signer.sign({
    method,
    url,
    headers: { ...headers, ...(text !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(text !== undefined ? { body: text } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, checked field by field by the assertions
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: new URL(ls.endpoint).port, method, path: url.pathname + url.search, headers: signed },
      (res) => {
        let data = '';
        res.on('data', (c) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined }));
      },
    );
    req.once('error', reject);
    req.end(text);
  });
}

/**
 * Two subscriber functions a user would deploy beside the stack, granted to the dispatcher:
 * one succeeds (answering a Kafka event source's partial-failure shape), one always throws.
 */
const SUBSCRIBERS = { ok: 'sluice-test-subscriber-ok', failing: 'sluice-test-subscriber-failing' };
function addSubscribers(s: SluiceStack): void {
  const code = {
    ok: 'exports.handler = async (event) => { console.log(JSON.stringify(event)); return { batchItemFailures: [] }; };',
    failing: 'exports.handler = async () => { throw new Error("the subscriber refuses this batch"); };',
  };
  for (const [kind, name] of Object.entries(SUBSCRIBERS) as [keyof typeof code, string][]) {
    const fn = new lambda.Function(s, `Subscriber-${kind}`, {
      functionName: name,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(code[kind]),
      role: new iam.Role(s, `Subscriber-${kind}-role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }),
    });
    s.eventLog.allowDelivery(fn);
  }
}
/** The last lines a deployed function logged (what a failed wait prints). */
async function logTailOf(functionName: string, lines = 40): Promise<string> {
  const logs = new CloudWatchLogsClient({
    endpoint: ls.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const r = await logs.send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${functionName}` }));
    return (r.events ?? [])
      .slice(-lines)
      .map((e) => e.message?.trimEnd())
      .join('\n');
  } catch (e) {
    return `(no log: ${(e as Error).message})`;
  } finally {
    logs.destroy();
  }
}
const arnOf = (name: string) => `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${name}`;

beforeAll(async () => {
  ls = await startLocalStack(() => {}, { stack: true });
  try {
    stack = await deployToLocalStack({ endpoint: ls.endpoint, customise: addSubscribers });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- LocalStack log (tail) ---\n${logTail(ls.logFile)}`);
  }
}, 300_000);

afterAll(async () => {
  if (stack) await deleteLocalStack(ls.endpoint, stack.stackName).catch(() => {});
  await ls?.process.stop();
}, 120_000);

describe('the stack deployed into LocalStack', () => {
  it('serves the HTTP API through the Function URL', async () => {
    expect(stack.apiUrl).toMatch(/^http:\/\/[a-z0-9]+\.lambda-url\.us-east-1\./);
    expect(await call('POST', '/v1/topics', { name: 'orders', partitions: 3 })).toMatchObject({ status: 201 });

    const produce = { records: [{ key: 'customer-9', partition: 1, value: 'first' }] };
    const first = await call('POST', '/v1/topics/orders/records', produce, { 'idempotency-key': 'order-1' });
    const again = await call('POST', '/v1/topics/orders/records', produce, { 'idempotency-key': 'order-1' });
    expect(first.status).toBe(200);
    expect(again).toEqual(first); // the retry is answered from the first call, nothing appended

    const fetched = await call('GET', '/v1/topics/orders/partitions/1/records?offset=0');
    expect(fetched.status).toBe(200);
    expect(fetched.body.records).toHaveLength(1);
    expect(fetched.body.records[0]).toMatchObject({ offset: 0, value: 'first' });
    expect(fetched.body.highWatermark).toBe(1);

    const joined = await call('POST', '/v1/groups/billing/members', { memberId: 'member-a', topics: ['orders'] });
    expect(joined.status).toBe(200);
    const p1 = joined.body.assignments.find((a: { partition: number }) => a.partition === 1);
    const committed = await call('POST', '/v1/groups/billing/offsets', {
      memberId: 'member-a',
      offsets: [{ topic: 'orders', partition: 1, offset: 1, epoch: p1.epoch }],
    });
    expect(committed.status).toBe(200);
    const group = await call('GET', '/v1/groups/billing');
    expect(group.body.partitions.find((p: { partition: number }) => p.partition === 1)).toMatchObject({
      committedOffset: 1,
      highWatermark: 1,
      lag: 0,
    });

    const bad = await call('POST', '/v1/topics', { name: 'bad name!', partitions: 3 });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_TOPIC_NAME' } } });
    const missing = await call('GET', '/v1/topics/nope/partitions/0/records?offset=0');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'TOPIC_NOT_FOUND' } } });

    // LocalStack, its DynamoDB Local and the API's execution environment: loopback only
    const listeners = listenersOf(ls.process.child.pid as number);
    expect(listeners.length).toBeGreaterThanOrEqual(3);
    expect(listeners.filter((l) => !isLoopback(l.address))).toEqual([]);
  });

  it('delivers push subscriptions to Lambda functions: kicked at creation, then woken by the table stream', async () => {
    expect((await call('POST', '/v1/topics', { name: 'pushed', partitions: 2 })).status).toBe(201);
    expect((await call('POST', '/v1/topics', { name: 'pushed-dlq', partitions: 1 })).status).toBe(201);
    const produce = (values: string[]) =>
      call('POST', '/v1/topics/pushed/records', { records: values.map((value, i) => ({ value, partition: i % 2 })) });
    expect((await produce(['a', 'b', 'c'])).status).toBe(200);
    const options = { startingPosition: 'TRIM_HORIZON', maximumBatchingWindowInSeconds: 0 };
    const created = await call('POST', '/v1/subscriptions', {
      name: 'pushed-ok',
      topics: ['pushed'],
      target: { type: 'lambda', functionArn: arnOf(SUBSCRIBERS.ok) },
      options: { ...options, functionResponseTypes: ['ReportBatchItemFailures'] },
    });
    expect(created).toMatchObject({ status: 201, body: { name: 'pushed-ok', version: 1 } });
    expect(
      (
        await call('POST', '/v1/subscriptions', {
          name: 'pushed-failing',
          topics: ['pushed'],
          target: { type: 'lambda', functionArn: arnOf(SUBSCRIBERS.failing) },
          options: { ...options, maximumRetryAttempts: 0, deadLetterTopic: 'pushed-dlq' },
        })
      ).status,
    ).toBe(201);
    const committed = async (group: string) =>
      ((await call('GET', `/v1/groups/${group}`)).body.partitions as { committedOffset: number | null }[]).map(
        (p) => p.committedOffset,
      );
    // created with records waiting: the API's kick delivers them
    await until(async () => JSON.stringify(await committed('pushed-ok')) === '[2,1]', 90_000, 'the kicked delivery');
    // produced later: the stream's event-source mapping wakes the dispatcher. Its poller starts
    // at the stream's newest record when it first polls, which LocalStack may do after these
    // commits: a record more every few seconds until one is seen (on AWS, the maintenance
    // run's sweep delivers what a mapping that was not yet enabled missed)
    expect((await produce(['d', 'e'])).status).toBe(200);
    let extra = 0;
    const caughtUp = async (group: string) => {
      const heads = (await call('GET', '/v1/topics/pushed')).body.offsets as { highWatermark: number }[];
      return JSON.stringify(await committed(group)) === JSON.stringify(heads.map((h) => h.highWatermark));
    };
    const started = Date.now();
    while (!(await caughtUp('pushed-ok'))) {
      if (Date.now() - started > 120_000) {
        throw new Error(
          `no stream-triggered delivery\n--- dispatcher log ---\n${await logTailOf('Sluice-local-dispatcher')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 3_000));
      // one to each partition: a stream record the poller missed leaves only its partition behind
      if (!(await caughtUp('pushed-ok'))) {
        expect((await produce([`pad-${extra}-0`, `pad-${extra}-1`])).status).toBe(200);
        extra++;
      }
    }
    // the failing subscriber: no retries allowed, so each batch is dead-lettered with the function's error
    await until(() => caughtUp('pushed-failing'), 90_000, 'dead-lettering');
    const dead = await call('GET', '/v1/topics/pushed-dlq/partitions/0/records?offset=0&maxRecords=1000');
    const values = dead.body.records.map((r: { value: string }) => r.value).sort();
    const pads = Array.from({ length: extra }, (_, i) => [`pad-${i}-0`, `pad-${i}-1`]).flat();
    expect(values).toEqual(['a', 'b', 'c', 'd', 'e', ...pads].sort());
    expect(dead.body.records[0].headers['x-sluice-error']).toContain('the subscriber refuses this batch');
  }, 300_000);

  it('runs the maintenance function on demand, with its report and log lines', async () => {
    const lambda = new LambdaClient({ endpoint: ls.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      const out = await lambda.send(new InvokeCommand({ FunctionName: stack.maintenanceFunction, LogType: 'Tail' }));
      expect(out.FunctionError).toBeUndefined();
      const result = JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8'));
      expect(result).toMatchObject({ complete: true, groups: 3, maxConsumerLag: 0 });
      const logs = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
      expect(logs).toContain('"message":"maintenance run"');
      expect(logs).toMatch(/REPORT RequestId: \S+\tDuration: /);
    } finally {
      lambda.destroy();
    }
  });

  it('serves the consumer client directly against the deployed table and bucket', async () => {
    const sluice = new Sluice({
      direct: {
        bucket: stack.bucket,
        table: stack.table,
        region: LOCAL_REGION,
        s3Endpoint: ls.endpoint,
        dynamoEndpoint: ls.endpoint,
        credentials: LOCAL_CREDENTIALS,
      },
      groupSettings: { sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, maxClockSkewMs: 200 },
    });
    const producer = sluice.producer({ lingerMs: 5 });
    await producer.send({
      topic: 'orders',
      messages: [
        { key: 'a', value: 'direct-1' },
        { key: 'b', value: 'direct-2' },
      ],
    });
    await producer.close();
    const seen: string[] = [];
    const consumer = sluice.consumer({ groupId: 'direct', maxWaitMs: 200, maxClockSkewMs: 200 });
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void seen.push(Buffer.from(message.value ?? []).toString()),
    });
    await until(() => seen.length === 3, 30_000, 'all three records');
    await consumer.stop();
    // the record produced over HTTP and the two produced directly: one log
    expect(seen.sort()).toEqual(['direct-1', 'direct-2', 'first']);
  });
});
