/**
 * No caller can starve the others: quotas (topics, live members of a group, partitions a
 * member reads, subscriptions, ACL entries) refuse with 409 LIMIT_EXCEEDED naming the
 * setting, writing nothing; listings come a page at a time (the client follows them); the
 * lag pass stops at its deadline and the next one starts where it stopped.
 */
import { describe, expect, it } from 'vitest';
import { createAcl } from '../../lib/access/manage';
import { HttpTransport } from '../../lib/client/transport';
import { type Clock, ManualClock } from '../../lib/clock';
import { createSluice } from '../../lib/compose';
import { groupLags } from '../../lib/groups/lag';
import { createHttpApp } from '../../lib/http/app';
import { serveHttpApp } from '../../lib/http/node-server';
import { MemoryAccessStore } from '../../lib/storage/memory-access-store';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { TEST_DAY_MS } from '../support/time';

function setUp(clock: Clock = new ManualClock(TEST_DAY_MS)) {
  const stores = {
    objects: new MemoryObjectStore(),
    metadata: new MemoryLogMetadataStore(),
    groups: new MemoryGroupStore(),
    clock,
  };
  const core = createSluice(stores, {
    log: { maxTopics: 3 },
    groups: { maxMembersPerGroup: 2, maxPartitionsPerMember: 4, maxSubscriptions: 1 },
  });
  const app = createHttpApp(core);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { core, stores, app, call };
}

describe('quotas', () => {
  it('topics, members, partitions per member and subscriptions: 409 LIMIT_EXCEEDED naming the setting, nothing written', async () => {
    const { call, core, stores } = setUp();
    for (const [name, partitions] of [
      ['a', 2],
      ['b', 3],
      ['c', 1],
    ] as const) {
      expect((await call('POST', '/v1/topics', { name, partitions })).status).toBe(201);
    }
    const fourth = await call('POST', '/v1/topics', { name: 'd', partitions: 1 });
    expect(fourth.status).toBe(409);
    expect(fourth.body.error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      setting: 'maxTopics',
      limit: 3,
      retriable: false,
    });
    expect((await core.log.listTopics()).map((t) => t.name)).toEqual(['a', 'b', 'c']);
    // an existing name is still TOPIC_EXISTS at the limit (a redeclared topic is adopted)
    expect((await call('POST', '/v1/topics', { name: 'a', partitions: 2 })).body.error.code).toBe('TOPIC_EXISTS');

    // a member reads at most 4 partitions: a (2) + b (3) is too many
    const wide = await call('POST', '/v1/groups/g/members', { memberId: 'm0', topics: ['a', 'b'] });
    expect(wide.body.error).toMatchObject({ code: 'LIMIT_EXCEEDED', setting: 'maxPartitionsPerMember', limit: 4 });
    expect((await stores.groups.readGroup('g')).members).toEqual([]);

    // two live members; a third is refused until one leaves; a member already in heartbeats on
    for (const m of ['m1', 'm2']) {
      expect((await call('POST', '/v1/groups/g/members', { memberId: m, topics: ['a'] })).status).toBe(200);
    }
    const third = await call('POST', '/v1/groups/g/members', { topics: ['a'] });
    expect(third.body.error).toMatchObject({ code: 'LIMIT_EXCEEDED', setting: 'maxMembersPerGroup', limit: 2 });
    expect((await stores.groups.readGroup('g')).members).toHaveLength(2);
    expect((await call('POST', '/v1/groups/g/members', { memberId: 'm1', topics: ['a'] })).status).toBe(200);
    expect((await call('DELETE', '/v1/groups/g/members/m2')).status).toBe(204);
    expect((await call('POST', '/v1/groups/g/members', { memberId: 'm3', topics: ['a'] })).status).toBe(200);

    const sub = (name: string) => ({ name, topics: ['c'], target: { type: 'webhook', url: 'https://example.com/h' } });
    expect((await call('POST', '/v1/subscriptions', sub('s1'))).status).toBe(201);
    const second = await call('POST', '/v1/subscriptions', sub('s2'));
    expect(second.body.error).toMatchObject({ code: 'LIMIT_EXCEEDED', setting: 'maxSubscriptions', limit: 1 });
    expect((await stores.groups.listSubscriptions()).map((s) => s.name)).toEqual(['s1']);
    expect((await call('POST', '/v1/subscriptions', sub('s1'))).body.error.code).toBe('SUBSCRIPTION_EXISTS');
  });

  it('ACL entries: at most maxAcls; the same entry again is still found', async () => {
    const store = new MemoryAccessStore();
    const by = { principal: 'arn:aws:iam::1:role/admin', clock: new ManualClock(TEST_DAY_MS), maxAcls: 2 };
    const entry = (resourceName: string) => ({
      principal: 'arn:aws:iam::1:role/x',
      resourceType: 'topic' as const,
      resourceName,
      operations: ['produce' as const],
    });
    await createAcl(store, entry('a'), by);
    await createAcl(store, entry('b'), by);
    await expect(createAcl(store, entry('c'), by)).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { setting: 'maxAcls', limit: 2 },
    });
    expect((await createAcl(store, entry('a'), by)).created).toBe(false);
    expect(await store.listAcls()).toHaveLength(2);
  });
});

describe('listings', () => {
  it('come a page at a time (limit, after, next); the client follows every page', async () => {
    const stores = { objects: new MemoryObjectStore(), metadata: new MemoryLogMetadataStore() };
    const core = createSluice(stores, { log: { maxTopics: 2000 } });
    const names = Array.from({ length: 1003 }, (_, i) => `t${String(i).padStart(4, '0')}`);
    for (const name of names) await core.log.createTopic({ name, partitions: 1 });
    const server = await serveHttpApp(createHttpApp(core), 0);
    try {
      const first = (await (await fetch(`${server.url}/v1/topics?limit=2`)).json()) as {
        topics: { name: string }[];
        next?: string;
      };
      expect(first).toEqual({
        topics: [
          { name: 't0000', partitions: 1 },
          { name: 't0001', partitions: 1 },
        ],
        next: 't0001',
      });
      const second = (await (await fetch(`${server.url}/v1/topics?limit=2&after=${first.next}`)).json()) as {
        topics: { name: string }[];
      };
      expect(second.topics.map((t) => t.name)).toEqual(['t0002', 't0003']);
      const last = (await (await fetch(`${server.url}/v1/topics?after=t0002`)).json()) as {
        topics: unknown[];
        next?: string;
      };
      expect(last.topics).toHaveLength(1000);
      expect(last.next).toBeUndefined();
      expect((await fetch(`${server.url}/v1/topics?limit=1001`)).status).toBe(400);
      // a whole listing: 1,000 per page by default, every page followed
      expect((await new HttpTransport(server.url).listTopics()).map((t) => t.name)).toEqual(names);
    } finally {
      await server.close();
    }
  });
});

/** A clock that moves 100 ms each time it is read. */
class TickingClock extends ManualClock {
  override nowMs(): number {
    this.advance(100);
    return super.nowMs();
  }
}

describe('the lag pass', () => {
  it('stops at its deadline; the next pass starts where it stopped, so every group is measured', async () => {
    const clock = new TickingClock(TEST_DAY_MS);
    const { core } = setUp(clock);
    await core.log.createTopic({ name: 'a', partitions: 1 });
    const groups = core.groups as NonNullable<typeof core.groups>;
    const names = Array.from({ length: 12 }, (_, i) => `g${String(i).padStart(2, '0')}`);
    for (const g of names)
      await groups.groups.registerGroup(g, [(await core.log.getTopic('a')).topicId], clock.nowMs());
    const seen: string[] = [];
    let after: string | undefined;
    let passes = 0;
    for (;;) {
      passes++;
      const pass = await groupLags(groups, { deadlineMs: clock.nowMs() + 1500, ...(after ? { after } : {}) });
      seen.push(...pass.lags.map((l) => l.group));
      if (pass.complete) break;
      expect(pass.lags.length).toBeGreaterThan(0);
      expect(pass.lags.length).toBeLessThan(names.length);
      after = pass.next;
      if (seen.length > 3 * names.length) throw new Error('the passes do not advance');
    }
    expect(passes).toBeGreaterThan(1);
    expect(new Set(seen)).toEqual(new Set(names));
    // without a deadline, one pass measures them all
    expect((await groupLags(groups)).lags.map((l) => l.group)).toEqual(names);
  });

  it('forgets a group with nothing left an hour after its last registration; a group with offsets stays', async () => {
    const clock = new ManualClock(TEST_DAY_MS);
    const { core, call } = setUp(clock);
    await core.log.createTopic({ name: 'a', partitions: 1 });
    const groups = core.groups as NonNullable<typeof core.groups>;
    for (const g of ['abandoned', 'kept']) {
      expect((await call('POST', `/v1/groups/${g}/members`, { memberId: 'm', topics: ['a'] })).status).toBe(200);
    }
    const epoch = (await groups.groups.readGroup('kept')).leases[0]?.epoch;
    const commit = { memberId: 'm', offsets: [{ topic: 'a', partition: 0, offset: 0, epoch }] };
    expect((await call('POST', '/v1/groups/kept/offsets', commit)).status).toBe(200);
    for (const g of ['abandoned', 'kept']) expect((await call('DELETE', `/v1/groups/${g}/members/m`)).status).toBe(204);
    const registered = async () => (await groups.groups.listGroups()).map((g) => g.group);
    // within the grace: measured, kept
    expect((await groupLags(groups)).lags.map((l) => l.group)).toEqual(['abandoned', 'kept']);
    clock.advance(3_600_001);
    expect((await groupLags(groups)).lags.map((l) => l.group)).toEqual(['kept']);
    expect(await registered()).toEqual(['kept']);
    // a later join registers it again
    expect((await call('POST', '/v1/groups/abandoned/members', { memberId: 'm2', topics: ['a'] })).status).toBe(200);
    expect(await registered()).toEqual(['abandoned', 'kept']);
  });
});
