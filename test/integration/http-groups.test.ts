/**
 * The consumer-group routes of HTTP API v1 over a real local server and backends, with a
 * manual clock so leases and sessions expire on demand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { realStores } from '../support/real';
import { TEST_DAY_MS } from '../support/time';

let server: RunningServer;
const clock = new ManualClock(TEST_DAY_MS + 12 * 3_600_000);

beforeAll(async () => {
  const stores = await realStores();
  const core = createSluice(
    { ...stores, clock },
    {
      log: { topicCacheMs: 0 },
      groups: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxClockSkewMs: 500 },
    },
  );
  const log = core.log;
  const app = createHttpApp(core);
  server = await serveHttpApp(app, 0);
  await log.createTopic({ name: 'gt', partitions: 4 });
  await log.append({
    batches: [{ topic: 'gt', records: [0, 1, 2].map((i) => ({ value: Buffer.from(`v${i}`), partition: 0 })) }],
  });
});
afterAll(async () => {
  await server?.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('HTTP API v1: consumer groups', () => {
  it('joins, heartbeats, commits under the epoch, describes lag, fences zombies, resets when empty, leaves', async () => {
    const a = await call('POST', '/v1/groups/billing/members', { memberId: 'member-a', topics: ['gt'] });
    expect(a.status).toBe(200);
    expect(a.body.memberId).toBe('member-a');
    expect(a.body.assignments).toHaveLength(4);
    expect(a.body).toMatchObject({ heartbeatIntervalMs: 1000, sessionTimeoutMs: 10_000 });
    const p0 = a.body.assignments.find((x: { partition: number }) => x.partition === 0);
    expect(p0).toMatchObject({ topic: 'gt', epoch: 1, committedOffset: null });

    const c = await call('POST', '/v1/groups/billing/offsets', {
      memberId: 'member-a',
      offsets: [{ topic: 'gt', partition: 0, offset: 2, epoch: 1 }],
    });
    expect(c).toMatchObject({
      status: 200,
      body: { offsets: [{ topic: 'gt', partition: 0, offset: 2, committed: 2 }] },
    });
    const d = await call('GET', '/v1/groups/billing');
    expect(d.body.partitions[0]).toMatchObject({
      committedOffset: 2,
      highWatermark: 3,
      lag: 1,
      owner: 'member-a',
      epoch: 1,
    });
    expect(d.body.members).toEqual([
      { memberId: 'member-a', topics: ['gt'], lastHeartbeatMs: clock.nowMs(), live: true },
    ]);

    // reset refused while member-a is live
    const refused = await call('POST', '/v1/groups/billing/offsets:reset', { topic: 'gt', to: 'earliest' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CONFLICT');

    // member-a goes silent; member-b takes over; member-a's commit is fenced
    await clock.advance(10_501);
    const b = await call('POST', '/v1/groups/billing/members', { memberId: 'member-b', topics: ['gt'] });
    expect(b.body.assignments.map((x: { epoch: number }) => x.epoch)).toEqual([2, 2, 2, 2]);
    expect(b.body.assignments[0].committedOffset).toBe(2);
    const zombie = await call('POST', '/v1/groups/billing/offsets', {
      memberId: 'member-a',
      offsets: [{ topic: 'gt', partition: 0, offset: 3, epoch: 1 }],
    });
    expect(zombie.status).toBe(409);
    expect(zombie.body.error).toMatchObject({ code: 'FENCED', retriable: false });

    expect((await call('DELETE', '/v1/groups/billing/members/member-b')).status).toBe(204);
    await clock.advance(10_001); // member-a's session is over too
    const dry = await call('POST', '/v1/groups/billing/offsets:reset', { topic: 'gt', to: 'latest' });
    expect(dry.body).toEqual({
      topic: 'gt',
      dryRun: true,
      offsets: [
        { partition: 0, offset: 3 },
        { partition: 1, offset: 0 },
        { partition: 2, offset: 0 },
        { partition: 3, offset: 0 },
      ],
    });
    const done = await call('POST', '/v1/groups/billing/offsets:reset', {
      topic: 'gt',
      to: { offset: 1 },
      partitions: [0],
      dryRun: false,
    });
    expect(done.body.offsets).toEqual([{ partition: 0, offset: 1 }]);
    expect((await call('GET', '/v1/groups/billing')).body.partitions[0].committedOffset).toBe(1);
  });

  it('rejects bad group requests precisely', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/v1/groups/bad%20name/members', { topics: ['gt'] }, 400, 'INVALID_ARGUMENT'],
      ['POST', '/v1/groups/g1/members', { topics: [] }, 400, 'INVALID_ARGUMENT'],
      ['POST', '/v1/groups/g1/members', { topics: ['gt'], extra: 1 }, 400, 'INVALID_ARGUMENT'],
      ['POST', '/v1/groups/g1/members', { topics: ['missing'] }, 404, 'TOPIC_NOT_FOUND'],
      ['POST', '/v1/groups/g1/members', { memberId: 'bad id!', topics: ['gt'] }, 400, 'INVALID_ARGUMENT'],
      ['POST', '/v1/groups/g1/offsets', { memberId: 'x', offsets: [] }, 400, 'INVALID_ARGUMENT'],
      [
        'POST',
        '/v1/groups/g1/offsets',
        { memberId: 'x', offsets: [{ topic: 'gt', partition: 0, offset: -1 }] },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'POST',
        '/v1/groups/g1/offsets',
        { memberId: 'x', offsets: [{ topic: 'gt', partition: 0, offset: 99 }] },
        416,
        'OFFSET_OUT_OF_RANGE',
      ],
      [
        'POST',
        '/v1/groups/g1/offsets',
        { memberId: 'x', offsets: [{ topic: 'gt', partition: 0, offset: 1, epoch: 7 }] },
        409,
        'FENCED',
      ],
      ['POST', '/v1/groups/g1/offsets:reset', { topic: 'gt', to: 'middle' }, 400, 'INVALID_ARGUMENT'],
      // a topic name DynamoDB cannot key (3,000 characters) is the name rule's 400, not a 500
      ['POST', '/v1/groups/g1/offsets:reset', { topic: 't'.repeat(3000), to: 'earliest' }, 400, 'INVALID_TOPIC_NAME'],
      [
        'POST',
        '/v1/groups/g1/offsets',
        { offsets: [{ topic: 't'.repeat(3000), partition: 0, offset: 0 }] },
        400,
        'INVALID_TOPIC_NAME',
      ],
      [
        'POST',
        '/v1/groups/g1/members',
        { topics: ['gt'], release: [{ topic: 'x'.repeat(3000), partition: 0, epoch: 1 }] },
        400,
        'INVALID_TOPIC_NAME',
      ],
      ['GET', `/v1/topics/${'t'.repeat(3000)}/partitions/0/records?offset=0`, undefined, 400, 'INVALID_ARGUMENT'],
      [
        'POST',
        '/v1/groups/g1/offsets:reset',
        { topic: 'gt', to: { offset: 50 }, dryRun: false },
        416,
        'OFFSET_OUT_OF_RANGE',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(r.body.error.code, `${method} ${path} ${JSON.stringify(body)}`).toBe(code);
    }
    const doc = await call('GET', '/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/groups/{g}/members',
        '/v1/groups/{g}/members/{m}',
        '/v1/groups/{g}/offsets',
        '/v1/groups/{g}',
        '/v1/groups/{g}/offsets:reset',
      ]),
    );
  });
});
