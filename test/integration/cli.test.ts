/**
 * The `sluice` command as a person runs it: the real binary as a subprocess against a real
 * local server (DynamoDB Local + LocalStack), through pipes — create, list, produce from stdin,
 * consume (text, JSON), follow, exit codes, help.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_PRINCIPAL_HEADER, principalOfLocalRequest } from '../../lib/access/principal';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { realStores } from '../support/real';

let server: RunningServer;
let stores: Awaited<ReturnType<typeof realStores>>;
beforeAll(async () => {
  // as npm start serves it: the caller named by x-sluice-principal
  stores = await realStores();
  const app = createHttpApp(createSluice(stores), {
    principalOf: (c) => principalOfLocalRequest(c.req.header(LOCAL_PRINCIPAL_HEADER)),
  });
  server = await serveHttpApp(app, 0);
});
afterAll(async () => {
  await server?.close();
});

const BIN = 'lib/cli/sluice.mjs';

/** Runs `sluice args` with `stdin`; its exit code and output. */
function sluice(
  args: string[],
  stdin = '',
  env: Record<string, string> = {},
  withUrl = true,
): Promise<{ code: number; out: string; bytes: Buffer; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [BIN, ...(withUrl ? ['--url', server.url] : []), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const chunks: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.once('error', reject);
    p.once('exit', (code) => {
      const bytes = Buffer.concat(chunks);
      resolve({ code: code ?? -1, out: bytes.toString(), bytes, err });
    });
    p.stdin.end(stdin);
  });
}

describe('the sluice CLI', () => {
  it('creates and lists topics, produces stdin lines, consumes them back as text and JSON', async () => {
    expect(await sluice(['topics', 'create', 'orders', '--partitions', '3'])).toMatchObject({
      code: 0,
      out: 'created topic orders (3 partitions)\n',
    });
    const listed = await sluice(['--json', 'topics', 'list']);
    expect(JSON.parse(listed.out)).toEqual([{ name: 'orders', partitions: 3 }]);
    expect((await sluice(['topics', 'list'])).out).toBe('TOPIC   PARTITIONS\norders  3\n');
    // global options go anywhere; SLUICE_URL stands for --url
    expect(JSON.parse((await sluice(['topics', 'list', '--json'])).out)).toEqual([{ name: 'orders', partitions: 3 }]);
    const viaEnv = await sluice(['topics', 'list', '--json'], '', { SLUICE_URL: server.url }, false);
    expect(JSON.parse(viaEnv.out)).toEqual([{ name: 'orders', partitions: 3 }]);

    const lines = ['c-1\t{"total":42}', 'c-2\tplain text', 'c-1\tsecond for c-1'];
    const produced = await sluice(
      ['--json', 'produce', 'orders', '-K', '\t', '-H', 'source=cli'],
      `${lines.join('\n')}\n`,
    );
    expect(produced.code, produced.err).toBe(0);
    const summary = JSON.parse(produced.out);
    expect(summary).toMatchObject({ topic: 'orders', records: 3 });
    // keyed: both c-1 records share a partition, in order
    const all: { key: string; value: string; offset: number; headers: Record<string, string> }[] = [];
    for (const p of summary.partitions as number[]) {
      const r = await sluice(['consume', 'orders', '--partition', String(p), '--format', 'json']);
      expect(r.code, r.err).toBe(0);
      all.push(
        ...r.out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      );
    }
    expect(all.map((r) => `${r.key}\t${r.value}`).sort()).toEqual([...lines].sort());
    expect(all.every((r) => r.headers.source === 'cli')).toBe(true);
    const c1 = all.filter((r) => r.key === 'c-1');
    expect(c1.map((r) => r.value)).toEqual(['{"total":42}', 'second for c-1']);

    // text: values one per line, from an offset, at most n
    const p = (await sluice(['--json', 'topics', 'describe', 'orders'])).out;
    const busiest = (JSON.parse(p).offsets as { partition: number; highWatermark: number }[]).sort(
      (a, b) => b.highWatermark - a.highWatermark,
    )[0];
    const one = await sluice(['consume', 'orders', '--partition', String(busiest?.partition), '-n', '1']);
    expect(one.out.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('binary records round-trip byte for byte: JSON lines with base64 in, raw bytes out, and consume | produce', async () => {
    await sluice(['topics', 'create', 'bin', '--partitions', '1']);
    await sluice(['topics', 'create', 'bin-copy', '--partitions', '1']);
    const values = [
      Buffer.from([0, 10, 13, 255, 254, 0, 10]),
      Buffer.from('line\nbreaks\r\n and ünïcode'),
      Buffer.alloc(0),
    ];
    const lines = values.map((v, i) =>
      JSON.stringify({ key: Buffer.from(`k${i}`).toString('base64'), value: v.toString('base64'), encoding: 'base64' }),
    );
    const produced = await sluice(['produce', 'bin', '--json-lines'], `${lines.join('\n')}\n`);
    expect(produced.code, produced.err).toBe(0);
    const raw = await sluice(['consume', 'bin', '--format', 'raw']);
    expect(raw.bytes.equals(Buffer.concat(values))).toBe(true);
    // what consume prints as JSON (base64) produce takes back: a topic copied through a pipe
    const asJson = await sluice(['consume', 'bin', '--format', 'json', '--encoding', 'base64']);
    expect((await sluice(['produce', 'bin-copy', '-J'], asJson.out)).code).toBe(0);
    const copied = await sluice(['consume', 'bin-copy', '--format', 'json', '--encoding', 'base64']);
    const read = copied.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; value: string });
    expect(read.map((r) => Buffer.from(r.value, 'base64'))).toEqual(values);
    expect(read.map((r) => Buffer.from(r.key, 'base64').toString())).toEqual(['k0', 'k1', 'k2']);
    const bad = await sluice(['produce', 'bin', '-J'], 'not json\n');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/line 1 is not JSON/);
  });

  it('follows a partition: a record produced later is printed', async () => {
    await sluice(['topics', 'create', 'live', '--partitions', '1']);
    const follower: ChildProcess = spawn('node', [BIN, '--url', server.url, 'consume', 'live', '--follow'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = '';
    follower.stdout?.on('data', (d) => {
      seen += d;
    });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect((await sluice(['produce', 'live'], 'hello later\n')).code).toBe(0);
      for (let i = 0; i < 100 && !seen.includes('hello later'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(seen).toBe('hello later\n');
    } finally {
      follower.kill('SIGTERM');
    }
  });

  it('groups: list, describe as a table, reset as a dry run then --execute; subscriptions pause, resume, delete', async () => {
    await sluice(['topics', 'create', 'billed', '--partitions', '2']);
    expect((await sluice(['produce', 'billed', '--partition', '0'], 'a\nb\nc\n')).code).toBe(0);
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => {
        const text = await r.text();
        return (text ? JSON.parse(text) : undefined) as unknown;
      });
    const joined = (await api('POST', '/v1/groups/billing/members', { memberId: 'm1', topics: ['billed'] })) as {
      assignments: { partition: number; epoch: number }[];
    };
    const epoch = joined.assignments.find((x) => x.partition === 0)?.epoch;
    await api('POST', '/v1/groups/billing/offsets', {
      memberId: 'm1',
      offsets: [{ topic: 'billed', partition: 0, offset: 3, epoch }],
    });
    await api('DELETE', '/v1/groups/billing/members/m1');

    expect(JSON.parse((await sluice(['groups', 'list', '--json'])).out)).toEqual(['billing']);
    const described = await sluice(['groups', 'describe', 'billing']);
    expect(described.out).toContain('group billing: 0 live member(s)\n');
    expect(described.out).toMatch(/TOPIC +PARTITION +COMMITTED +HIGH WATERMARK +LAG +OWNER\nbilled +0 +3 +3 +0/);
    const dry = await sluice(['groups', 'reset', 'billing', '--topic', 'billed', '--to', 'earliest', '--json']);
    expect(JSON.parse(dry.out)).toMatchObject({
      dryRun: true,
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
      ],
    });
    const lagOf = async () =>
      (
        JSON.parse((await sluice(['groups', 'describe', 'billing', '--json'])).out).partitions as {
          partition: number;
          lag: number;
        }[]
      ).find((p) => p.partition === 0)?.lag;
    expect(await lagOf()).toBe(0);
    const executed = await sluice([
      'groups',
      'reset',
      'billing',
      '--topic',
      'billed',
      '--to',
      '1',
      '--partition',
      '0',
      '--execute',
    ]);
    expect(executed.out).toMatch(/^billing moved to\nPARTITION +OFFSET\n0 +1$/m);
    expect(await lagOf()).toBe(2);
    // delete: refused while someone is live, then gone with its offsets
    await api('POST', '/v1/groups/billing/members', { memberId: 'm2', topics: ['billed'] });
    const busy = await sluice(['groups', 'delete', 'billing', '--yes']);
    expect(busy.code).toBe(1);
    expect(busy.err).toMatch(/^sluice: CONFLICT: group "billing" has 1 live member\(s\)/);
    await api('DELETE', '/v1/groups/billing/members/m2');
    expect((await sluice(['groups', 'delete', 'billing'])).code).toBe(2);
    expect((await sluice(['groups', 'delete', 'billing', '--yes'])).out).toBe('deleted group billing\n');
    expect(JSON.parse((await sluice(['groups', 'list', '--json'])).out)).toEqual([]);
    const gone = JSON.parse((await sluice(['groups', 'describe', 'billing', '--json'])).out);
    expect(gone).toMatchObject({ members: [], partitions: [] });
    // consume from a time: before every record is the first record
    const fromTime = await sluice(['consume', 'billed', '--from', '@2000-01-01T00:00:00Z', '-n', '1']);
    expect(fromTime.out).toBe('a\n');

    await api('POST', '/v1/subscriptions', {
      name: 'billed-hook',
      topics: ['billed'],
      target: { type: 'webhook', url: 'https://example.com/hook' },
    });
    expect(JSON.parse((await sluice(['subscriptions', 'list', '--json'])).out)[0]).toMatchObject({
      name: 'billed-hook',
    });
    expect((await sluice(['subscriptions', 'pause', 'billed-hook'])).out).toBe('paused subscription billed-hook\n');
    expect(JSON.parse((await sluice(['subscriptions', 'describe', 'billed-hook', '--json'])).out).options.enabled).toBe(
      false,
    );
    expect((await sluice(['subscriptions', 'resume', 'billed-hook'])).code).toBe(0);
    expect((await sluice(['subscriptions', 'delete', 'billed-hook'])).code).toBe(2);
    expect((await sluice(['subscriptions', 'delete', 'billed-hook', '--yes'])).code).toBe(0);
    expect((await sluice(['subscriptions', 'describe', 'billed-hook'])).code).toBe(3);
  });

  it('templates like kcat -f; whoami (and --principal for npm start in ACL mode); quotas set, list, delete', async () => {
    await sluice(['topics', 'create', 'tpl', '--partitions', '1']);
    await sluice(['produce', 'tpl', '-K', ':', '-H', 'h=1'], 'k1:v1\nk2:v2\n');
    const t = await sluice(['consume', 'tpl', '-t', '%t/%p@%o %k=%s [%h]\\n']);
    expect(t.out).toBe('tpl/0@0 k1=v1 [h=1]\ntpl/0@1 k2=v2 [h=1]\n');
    expect(JSON.parse((await sluice(['whoami', '--json'])).out)).toMatchObject({
      principal: 'anonymous',
      mode: 'open',
    });
    const named = await sluice(['whoami', '--principal', 'arn:aws:iam::123456789012:role/dev']);
    expect(named.out).toBe('arn:aws:iam::123456789012:role/dev (admin); access: open\n');
    const set = await sluice(['quotas', 'set', 'arn:aws:iam::123456789012:role/noisy', '50', '--json']);
    const quota = JSON.parse(set.out) as { id: string; requestsPerSecond: number };
    expect(quota.requestsPerSecond).toBe(50);
    expect((await sluice(['quotas', 'list'])).out).toContain('arn:aws:iam::123456789012:role/noisy  50');
    expect((await sluice(['quotas', 'delete', quota.id])).code).toBe(0);
    expect((await sluice(['quotas', 'delete', quota.id])).code).toBe(3);
  });

  it('--direct talks to the bucket and table themselves, with the usual AWS variables', async () => {
    const { s3Endpoint, dynamoEndpoint } = inject('backends');
    const env = {
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const direct = ['--direct', `${stores.bucket},${stores.table}`];
    expect((await sluice([...direct, 'topics', 'create', 'direct-t', '--partitions', '1'], '', env, false)).code).toBe(
      0,
    );
    expect((await sluice([...direct, 'produce', 'direct-t'], 'straight to S3\n', env, false)).code).toBe(0);
    // the same log the API serves
    expect((await sluice(['consume', 'direct-t'])).out).toBe('straight to S3\n');
    expect((await sluice([...direct, 'whoami'], '', env, false)).code).toBe(2);
    expect((await sluice(['--direct', 'only-a-bucket', 'topics', 'list'], '', env, false)).code).toBe(2);
  });

  it('exit codes scripts can rely on: 3 not found, 2 usage, 1 error; errors as one line with the code', async () => {
    const missing = await sluice(['topics', 'describe', 'nope']);
    expect(missing.code).toBe(3);
    expect(missing.err).toBe('sluice: TOPIC_NOT_FOUND: topic "nope" does not exist\n');
    expect((await sluice(['topics', 'create', 'x'])).code).toBe(2); // --partitions is required
    expect((await sluice(['topics', 'create', 'x', '--partitions', 'many'])).code).toBe(2);
    const unconfirmed = await sluice(['topics', 'delete', 'orders']);
    expect(unconfirmed).toMatchObject({ code: 2 });
    expect(unconfirmed.err).toMatch(/run again with --yes/);
    expect((await sluice(['topics', 'create', 'bad name', '--partitions', '1'])).code).toBe(1);
    expect((await sluice(['no-such-command'])).code).toBe(2);
  });

  it('--help shows every command, and examples on each', async () => {
    const help = await sluice(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['topics', 'produce', 'consume', 'acls']) expect(help.out).toContain(c);
    const produce = await sluice(['produce', '--help']);
    expect(produce.out).toContain('Examples:');
    expect(produce.out).toContain('--key-separator');
    // the help texts are part of the interface: a change to them shows in review
    expect(help.out).toMatchSnapshot('sluice --help');
    expect(produce.out).toMatchSnapshot('sluice produce --help');
    expect((await sluice(['consume', '--help'])).out).toMatchSnapshot('sluice consume --help');
  });
});
