/**
 * `npm start` as a user runs it: the dev server starts, serves /v1/health, the three
 * examples it prints work verbatim in a shell, and a push subscription to a webhook is
 * delivered (kicked at creation, then woken by the table's stream). It uses the backends of the global setup
 * through the SDK's endpoint variables (the path documented for Docker users), so this
 * test does not start a second LocalStack.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../lib/local/processes';
import { isLoopback, listenersOf } from '../support/listening';

const sh = promisify(execFile);
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    process.kill(-(child.pid as number), 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  }
});

function waitForOutput(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out; output so far:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
}

/** What npm start runs with here: a free port, the global setup's backends, its own bucket and table. */
async function startEnv(prefix: string) {
  const { s3Endpoint, dynamoEndpoint } = inject('backends');
  const port = await freePort();
  const suffix = randomBytes(4).toString('hex');
  return {
    port,
    env: {
      ...process.env,
      PORT: String(port),
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      SLUICE_BUCKET: `${prefix}-${suffix}`,
      SLUICE_TABLE: `${prefix}-${suffix}`,
    },
  };
}

describe('npm start', () => {
  it('serves /v1/health and the printed examples work verbatim; a second start says it is running', async () => {
    const { port, env } = await startEnv('start');
    // its own process group, like a terminal's foreground job: Ctrl-C signals the whole group
    child = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = await waitForOutput(child, /curl -s "http[^\n]*\n/, 90_000);
    const base = `http://127.0.0.1:${port}`;
    expect(out).toContain(`Sluice is running at ${base}`);
    // where the data lives: here, the backends the environment names (they keep it)
    expect(out).toContain(
      `Data: bucket ${env.SLUICE_BUCKET} and table ${env.SLUICE_TABLE} in the backends you configured; they keep it.`,
    );
    const health = await fetch(`${base}/v1/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
    if (process.platform === 'linux') {
      // everything npm start runs listens on loopback only
      const listeners = listenersOf(child.pid as number);
      expect(listeners.map((l) => l.port)).toContain(port);
      expect(listeners.filter((l) => !isLoopback(l.address))).toEqual([]);
    }

    const examples = out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('curl '));
    expect(examples).toHaveLength(3);
    const results: string[] = [];
    for (const cmd of examples) results.push((await sh('sh', ['-c', cmd])).stdout);
    expect(JSON.parse(results[0] as string)).toMatchObject({ name: 'orders', partitions: 3 });
    expect(JSON.parse(results[1] as string)).toEqual({ offsets: [{ partition: 0, offset: 0 }] });
    const fetched = JSON.parse(results[2] as string);
    expect(fetched.records).toHaveLength(1);
    expect(fetched.records[0]).toMatchObject({ offset: 0, key: 'customer-9', value: '{"total":42}' });

    // a push subscription to a webhook, as a user develops one: created over HTTP, delivered by npm start
    const { createServer } = await import('node:http');
    const hooked: { records: Record<string, { offset: number; value: string }[]> }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        hooked.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/orders-hook`;
      const post = (path: string, body: unknown) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const created = await post('/v1/subscriptions', {
        name: 'orders-hook',
        topics: ['orders'],
        target: { type: 'webhook', url: hookUrl },
        options: { startingPosition: 'TRIM_HORIZON', maximumBatchingWindowInSeconds: 0 },
      });
      expect(created.status).toBe(201);
      // the record of the printed example was there before: the creation's kick delivers it
      const seen = () => hooked.flatMap((e) => e.records['orders-0'] ?? []).map((r) => r.offset);
      for (let i = 0; i < 200 && seen().length < 1; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen()).toEqual([0]);
      // one produced now: the table stream wakes the dispatcher
      expect((await post('/v1/topics/orders/records', { records: [{ value: 'later', partition: 0 }] })).status).toBe(
        200,
      );
      for (let i = 0; i < 200 && seen().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen()).toEqual([0, 1]);
      expect(Buffer.from(hooked.at(-1)?.records['orders-0']?.[0]?.value ?? '', 'base64').toString()).toBe('later');
    } finally {
      hook.close();
    }

    const second = spawn('npm', ['start'], {
      env: { ...env, PORT: String(port + 1) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let secondOut = '';
    second.stdout?.on('data', (d) => {
      secondOut += d;
    });
    second.stderr?.on('data', (d) => {
      secondOut += d;
    });
    const code = await new Promise((r) => second.once('exit', r));
    expect(code).not.toBe(0);
    expect(secondOut).toContain(`Sluice is already running at ${base}`);

    // Ctrl-C: SIGINT to the foreground process group
    process.kill(-(child.pid as number), 'SIGINT');
    await new Promise((r) => child?.once('exit', r));
    let stopped = false;
    for (let i = 0; i < 100 && !stopped; i++) {
      stopped = await fetch(`${base}/v1/health`).then(
        () => false,
        () => true,
      );
      if (!stopped) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stopped).toBe(true);
  });

  it('SLUICE_ACCESS=acl npm start enforces ACLs, the caller named by its x-sluice-principal header', async () => {
    const admin = 'arn:aws:iam::123456789012:role/platform-admin';
    const service = 'arn:aws:sts::123456789012:assumed-role/orders-service/dev';
    const { port, env } = await startEnv('acl');
    child = spawn('npm', ['start'], {
      env: { ...env, SLUICE_ACCESS: 'acl', SLUICE_ADMINS: admin },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out = await waitForOutput(child, /curl -s "http[^\n]*\n/, 90_000);
    expect(out).toContain(
      `Access: ACLs. A request's principal is its x-sluice-principal header (an ARN); admins: ${admin}.`,
    );
    const base = `http://127.0.0.1:${port}`;
    const as = (principal: string | undefined, method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: {
          ...(principal ? { 'x-sluice-principal': principal } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await as(undefined, 'POST', '/v1/topics', { name: 'orders', partitions: 1 })).status).toBe(403);
    expect((await as(admin, 'POST', '/v1/topics', { name: 'orders', partitions: 1 })).status).toBe(201);
    const produce = () => as(service, 'POST', '/v1/topics/orders/records', { records: [{ value: 'x' }] });
    const refused = await produce();
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    const acl = await as(admin, 'POST', '/v1/acls', {
      principal: 'arn:aws:iam::123456789012:role/orders-service',
      resourceType: 'topic',
      resourceName: 'orders',
      operations: ['produce'],
    });
    expect(acl.status).toBe(201);
    expect((await produce()).status).toBe(200);
    process.kill(-(child.pid as number), 'SIGINT');
    await new Promise((r) => child?.once('exit', r));
  });
});
