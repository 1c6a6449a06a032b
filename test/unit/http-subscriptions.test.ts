/**
 * `/v1/subscriptions` through the HTTP app and the admin client (over a real HTTP server):
 * create, read, list, change, delete; bad input answered 400 with nothing written; target
 * kinds the deployment does not deliver refused; changes that should kick a delivery told.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import { createSluice } from '../../lib/compose';
import type { SluiceError } from '../../lib/errors';
import { createHttpApp } from '../../lib/http/app';
import { serveHttpApp } from '../../lib/http/node-server';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function setup(targets: ('lambda' | 'webhook' | 'module')[] = ['lambda', 'webhook']) {
  const core = createSluice({
    objects: new MemoryObjectStore(),
    metadata: new MemoryLogMetadataStore(),
    groups: new MemoryGroupStore(),
  });
  await core.log.createTopic({ name: 'orders', partitions: 2 });
  await core.log.createTopic({ name: 'orders-dlq', partitions: 1 });
  const changes: { name: string; version: number | undefined; kick: boolean }[] = [];
  const app = createHttpApp(core, {
    subscriptions: {
      targets,
      onChange: async (name, s, kick) => {
        changes.push({ name, version: s?.version, kick });
      },
    },
  });
  const server = await serveHttpApp(app, 0);
  servers.push(server as unknown as { close(): Promise<void> });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
    return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, any>) };
  };
  return { core, app, call, changes, admin: new Sluice({ http: { url: server.url } }).admin() };
}

const hook = { type: 'webhook' as const, url: 'https://example.com/hook' };

describe('HTTP API: /v1/subscriptions', () => {
  it('create, read, list, change, delete — with the kicks a dispatcher needs', async () => {
    const t = await setup();
    const created = await t.call('POST', '/v1/subscriptions', { name: 'billing', topics: ['orders'], target: hook });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'billing',
      topics: ['orders'],
      target: hook,
      version: 1,
      options: { batchSize: 100, startingPosition: 'LATEST', maximumRetryAttempts: -1, enabled: true },
    });
    expect((await t.call('GET', '/v1/subscriptions/billing')).body).toEqual(created.body);
    expect((await t.call('GET', '/v1/subscriptions')).body?.subscriptions).toEqual([created.body]);
    // it is a consumer group of its name
    const group = await t.call('GET', '/v1/groups/billing');
    expect(group.body?.partitions.map((p: { committedOffset: number }) => p.committedOffset)).toEqual([0, 0]);

    const off = await t.call('PATCH', '/v1/subscriptions/billing', { options: { enabled: false, batchSize: 10 } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ version: 2, options: { enabled: false, batchSize: 10 } });
    const on = await t.call('PATCH', '/v1/subscriptions/billing', { options: { enabled: true } });
    expect(on.body).toMatchObject({ version: 3, options: { enabled: true, batchSize: 10 } });
    expect((await t.call('DELETE', '/v1/subscriptions/billing')).status).toBe(204);
    expect((await t.call('GET', '/v1/subscriptions/billing')).body?.error.code).toBe('SUBSCRIPTION_NOT_FOUND');
    expect(t.changes).toEqual([
      { name: 'billing', version: 1, kick: true },
      { name: 'billing', version: 2, kick: false },
      { name: 'billing', version: 3, kick: true },
      { name: 'billing', version: undefined, kick: false },
    ]);
  });

  it('bad input is answered with what to fix, and nothing is written', async () => {
    const t = await setup();
    const cases: [unknown, RegExp][] = [
      [{ name: 'a', topics: ['orders'], target: { type: 'webhook', url: 'http://example.com/x' } }, /https/],
      [{ name: 'a', topics: ['orders'], target: { type: 'lambda', functionArn: 'not-an-arn' } }, /Lambda function ARN/],
      [{ name: 'a', topics: ['orders'], target: hook, options: { batchSize: 10_001 } }, /batchSize/],
      [
        { name: 'a', topics: ['orders'], target: hook, options: { startingPosition: 'AT_TIMESTAMP' } },
        /startingPositionTimestamp/,
      ],
      [
        { name: 'a', topics: ['orders'], target: hook, options: { maximumRecordAgeInSeconds: 10 } },
        /maximumRecordAgeInSeconds/,
      ],
      [{ name: 'a', topics: ['orders'], target: hook, options: { nope: 1 } }, /nope|unrecognized/i],
      [{ name: 'a', topics: ['orders'], target: { type: 'module', path: './h.ts' } }, /npm start/],
    ];
    for (const [body, message] of cases) {
      const r = await t.call('POST', '/v1/subscriptions', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body?.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body?.error.message).toMatch(message);
    }
    expect((await t.call('POST', '/v1/subscriptions', { name: 'a', topics: ['nope'], target: hook })).status).toBe(404);
    // its own topic as dead-letter topic would deliver its dead letters again: a conflict, with what to do
    const loop = await t.call('POST', '/v1/subscriptions', {
      name: 'a',
      topics: ['orders'],
      target: hook,
      options: { deadLetterTopic: 'orders' },
    });
    expect([loop.status, loop.body?.error.code]).toEqual([409, 'CONFLICT']);
    expect(loop.body?.error.message).toMatch(/choose another topic/);
    // the starting position is fixed at creation
    await t.call('POST', '/v1/subscriptions', { name: 'fixed', topics: ['orders'], target: hook });
    const moved = await t.call('PATCH', '/v1/subscriptions/fixed', { options: { startingPosition: 'TRIM_HORIZON' } });
    expect(moved.status).toBe(400);
    await t.call('DELETE', '/v1/subscriptions/fixed');
    expect(
      (
        await t.call('POST', '/v1/subscriptions', {
          name: 'a',
          topics: ['orders'],
          target: hook,
          options: { deadLetterTopic: 'gone' },
        })
      ).body?.error.code,
    ).toBe('TOPIC_NOT_FOUND');
    expect((await t.call('GET', '/v1/subscriptions')).body?.subscriptions).toEqual([]);
    expect(t.changes.filter((c) => c.name !== 'fixed')).toEqual([]);
    await t.call('POST', '/v1/subscriptions', { name: 'a', topics: ['orders'], target: hook });
    const dup = await t.call('POST', '/v1/subscriptions', { name: 'a', topics: ['orders'], target: hook });
    expect([dup.status, dup.body?.error.code]).toEqual([409, 'SUBSCRIPTION_EXISTS']);
    const badPatch = await t.call('PATCH', '/v1/subscriptions/a', { options: { batchSize: 0 } });
    expect(badPatch.status).toBe(400);
    expect((await t.call('GET', '/v1/subscriptions/a')).body?.version).toBe(1);
    // under npm start, module targets are taken
    const local = await setup(['webhook', 'module']);
    expect(
      (
        await local.call('POST', '/v1/subscriptions', {
          name: 'm',
          topics: ['orders'],
          target: { type: 'module', path: './h.ts' },
        })
      ).status,
    ).toBe(201);
  });

  it('the admin client manages subscriptions over HTTP; the OpenAPI document describes them', async () => {
    const t = await setup();
    const s = await t.admin.createSubscription({
      name: 'emails',
      topics: ['orders'],
      target: hook,
      options: { startingPosition: 'TRIM_HORIZON', deadLetterTopic: 'orders-dlq', bisectBatchOnFunctionError: true },
    });
    expect(s.options.deadLetterTopic).toBe('orders-dlq');
    expect((await t.admin.listSubscriptions()).map((x) => x.name)).toEqual(['emails']);
    expect((await t.admin.updateSubscription('emails', { options: { batchSize: 5 } })).options.batchSize).toBe(5);
    expect((await t.admin.describeSubscription('emails')).version).toBe(2);
    await t.admin.deleteSubscription('emails');
    const e = (await t.admin.describeSubscription('emails').catch((x) => x)) as SluiceError;
    expect(e.code).toBe('SUBSCRIPTION_NOT_FOUND');

    const doc = (await (await t.app.request('/v1/openapi.json')).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    expect(Object.keys(doc.paths['/v1/subscriptions'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/v1/subscriptions/{name}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
    expect(JSON.stringify(doc.paths['/v1/subscriptions']?.post)).toContain('batchItemFailures');
  });
});
