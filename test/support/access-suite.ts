/**
 * Access control over HTTP, as one suite run on the in-memory fakes (test/unit) and on the
 * real local backends (test/integration): each role can do exactly what its ACLs grant and
 * nothing else; a refused request is 403 FORBIDDEN and writes nothing; every route of the
 * API asks for something (none is left open by omission); the audit fields name who asked
 * what of which resource.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_PRINCIPAL_HEADER, principalOfLocalRequest } from '../../lib/access/principal';
import { ManualClock } from '../../lib/clock';
import { createSluice } from '../../lib/compose';
import { createHttpApp, type RequestInfo } from '../../lib/http/app';
import type { AccessStore, GroupStore, LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import { TEST_DAY_MS } from './time';

export type AccessStoresFactory = () => Promise<{
  objects: ObjectStore;
  metadata: LogMetadataStore;
  groups: GroupStore;
  access: AccessStore;
}>;

const ACCOUNT = '123456789012';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
/** What IAM puts in a Function URL request of a role's session. */
const session = (name: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/i-0abc${name.length}`;

const ADMIN = session('platform-admin');
const PRODUCER = session('orders-service');
const CONSUMER = session('billing-service');
const OPS = session('orders-ops');
const WILDCARD = session('analytics');
const NOBODY = session('intruder');

async function setUp(make: AccessStoresFactory) {
  const stores = await make();
  const audit: RequestInfo[] = [];
  const clock = new ManualClock(TEST_DAY_MS);
  const core = createSluice(
    { ...stores, clock },
    {
      log: { topicCacheMs: 0 },
      access: { mode: 'acl', admins: [role('platform-admin')] },
    },
  );
  const app = createHttpApp(core, {
    principalOf: (c) => principalOfLocalRequest(c.req.header(LOCAL_PRINCIPAL_HEADER)),
    onResponse: (r) => audit.push(r),
  });
  const as = async (
    principal: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ) => {
    const headers: Record<string, string> = {
      ...extra,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    if (principal) headers[LOCAL_PRINCIPAL_HEADER] = principal;
    const res = await app.request(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { core, stores, as, audit, clock };
}

type As = Awaited<ReturnType<typeof setUp>>['as'];

/** The admin's setup: topics, records, and each role's ACLs. */
async function grantRoles(as: As) {
  for (const name of ['orders', 'orders-eu', 'payments']) {
    expect((await as(ADMIN, 'POST', '/v1/topics', { name, partitions: 2 })).status).toBe(201);
  }
  const produced = await as(ADMIN, 'POST', '/v1/topics/orders/records', {
    records: [{ value: 'seed', partition: 0 }],
  });
  expect(produced.status).toBe(200);
  const acl = async (
    principal: string,
    resourceType: string,
    resourceName: string,
    operations: string[],
    extra = {},
  ) => {
    const r = await as(ADMIN, 'POST', '/v1/acls', { principal, resourceType, resourceName, operations, ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  // roles are named by their role ARN (here with a path): it covers every session of the role
  await acl(`arn:aws:iam::${ACCOUNT}:role/service/orders-service`, 'topic', 'orders', ['produce']);
  await acl(role('billing-service'), 'topic', 'orders', ['consume']);
  await acl(role('billing-service'), 'group', 'billing', ['read']);
  await acl(role('orders-ops'), 'topic', 'orders', ['alter', 'delete'], { pattern: 'prefixed' });
  await acl(role('orders-ops'), 'group', 'billing', ['describe', 'alter']);
  await acl(role('analytics'), 'topic', '*', ['all']);
  await acl(role('analytics'), 'topic', 'payments', ['consume', 'delete'], { effect: 'deny' });
}

export function accessSuite(name: string, make: AccessStoresFactory) {
  describe(`access control over HTTP: ${name}`, () => {
    it('lets each role do exactly what it is granted; a refusal is 403 FORBIDDEN and writes nothing', async () => {
      const { as, core } = await setUp(make);
      await grantRoles(as);
      const hw = async (topic: string) =>
        (await core.log.describeTopic(topic)).offsets.map((o) => o.highWatermark).join(',');

      // the producer produces to orders, and nothing else
      expect((await as(PRODUCER, 'POST', '/v1/topics/orders/records', { records: [{ value: 'a' }] })).status).toBe(200);
      const refused = await as(PRODUCER, 'POST', '/v1/topics/payments/records', { records: [{ value: 'x' }] });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'FORBIDDEN',
        retriable: false,
        principal: PRODUCER,
        resourceType: 'topic',
        resourceName: 'payments',
        operation: 'produce',
      });
      expect(refused.body.error.message).toMatch(/may not produce topic "payments".*POST \/v1\/acls/);
      expect(await hw('payments')).toBe('0,0');
      expect((await as(PRODUCER, 'GET', '/v1/topics/orders/partitions/0/records?offset=0')).status).toBe(403);
      expect((await as(PRODUCER, 'DELETE', '/v1/topics/orders')).status).toBe(403);
      expect((await as(PRODUCER, 'PATCH', '/v1/topics/orders', { retentionMs: 1 })).status).toBe(403);
      expect((await core.log.getTopic('orders', { fresh: true })).retentionMs).toBeNull();
      expect((await as(PRODUCER, 'POST', '/v1/topics', { name: 'orders-new', partitions: 1 })).status).toBe(403);
      expect((await core.log.listTopics()).map((t) => t.name)).not.toContain('orders-new');
      // any granted operation lets the caller describe the topic (as in Kafka), and list it
      expect((await as(PRODUCER, 'GET', '/v1/topics/orders')).status).toBe(200);
      expect((await as(PRODUCER, 'GET', '/v1/topics')).body.topics.map((t: { name: string }) => t.name)).toEqual([
        'orders',
      ]);

      // the consumer reads orders in group billing; it may not commit for another group or reset
      const fetched = await as(CONSUMER, 'GET', '/v1/topics/orders/partitions/0/records?offset=0');
      expect(fetched.status).toBe(200);
      expect(fetched.body.records[0].value).toBe('seed');
      expect((await as(CONSUMER, 'POST', '/v1/topics/orders/records', { records: [{ value: 'b' }] })).status).toBe(403);
      const joined = await as(CONSUMER, 'POST', '/v1/groups/billing/members', {
        memberId: 'billing-1',
        topics: ['orders'],
      });
      expect(joined.status).toBe(200);
      const epoch = joined.body.assignments.find((a: { partition: number }) => a.partition === 0).epoch;
      const commit = { memberId: 'billing-1', offsets: [{ topic: 'orders', partition: 0, offset: 1, epoch }] };
      expect((await as(CONSUMER, 'POST', '/v1/groups/billing/offsets', commit)).status).toBe(200);
      expect((await as(CONSUMER, 'POST', '/v1/groups/other/members', { topics: ['orders'] })).status).toBe(403);
      expect(
        (await as(CONSUMER, 'POST', '/v1/groups/billing/members', { memberId: 'b2', topics: ['payments'] })).status,
      ).toBe(403);
      const reset = { topic: 'orders', to: 'earliest', dryRun: false };
      expect((await as(CONSUMER, 'POST', '/v1/groups/billing/offsets:reset', reset)).status).toBe(403);
      // the producer may not commit or evict in billing (member ids are no capability)
      expect((await as(PRODUCER, 'POST', '/v1/groups/billing/offsets', commit)).status).toBe(403);
      expect((await as(PRODUCER, 'DELETE', '/v1/groups/billing/members/billing-1')).status).toBe(403);
      expect((await as(PRODUCER, 'GET', '/v1/groups/billing')).status).toBe(403);
      const group = await as(OPS, 'GET', '/v1/groups/billing');
      expect(group.status).toBe(200);
      expect(group.body.members.map((m: { memberId: string }) => m.memberId)).toEqual(['billing-1']);
      expect(group.body.partitions.find((p: { partition: number }) => p.partition === 0).committedOffset).toBe(1);
      // the group listing holds what the caller may describe
      expect((await as(CONSUMER, 'GET', '/v1/groups')).body.groups).toEqual([{ group: 'billing' }]);
      expect((await as(PRODUCER, 'GET', '/v1/groups')).body.groups).toEqual([]);

      // ops alters and deletes topics by prefix, resets the group's offsets, produces nothing
      expect((await as(OPS, 'PATCH', '/v1/topics/orders-eu', { retentionMs: 86_400_000 })).status).toBe(200);
      expect((await as(OPS, 'PATCH', '/v1/topics/payments', { retentionMs: 1 })).status).toBe(403);
      expect((await as(OPS, 'POST', '/v1/topics/orders/partitions/0/records:deleteBefore', { offset: 1 })).status).toBe(
        200,
      );
      expect((await as(OPS, 'POST', '/v1/topics/orders/records', { records: [{ value: 'c' }] })).status).toBe(403);
      // a reset also needs the topic read: ops alters the group but may not consume orders
      expect((await as(OPS, 'POST', '/v1/groups/billing/offsets:reset', reset)).status).toBe(403);

      // a deny wins over an allow: analytics has all on every topic but consume/delete on payments
      expect((await as(WILDCARD, 'GET', '/v1/topics/orders/partitions/0/records?offset=1')).status).toBe(200);
      expect((await as(WILDCARD, 'GET', '/v1/topics/payments/partitions/0/records?offset=0')).status).toBe(403);
      expect((await as(WILDCARD, 'DELETE', '/v1/topics/payments')).status).toBe(403);
      expect((await core.log.listTopics()).map((t) => t.name)).toContain('payments');
      expect((await as(WILDCARD, 'POST', '/v1/topics', { name: 'analytics-tmp', partitions: 1 })).status).toBe(201);
      expect((await as(WILDCARD, 'DELETE', '/v1/topics/analytics-tmp')).status).toBe(204);

      // nobody else: not even the existence of a topic is disclosed (403 before 404)
      expect((await as(NOBODY, 'GET', '/v1/topics/no-such-topic')).status).toBe(403);
      expect((await as(NOBODY, 'GET', '/v1/topics')).body.topics).toEqual([]);
      expect((await as(undefined, 'GET', '/v1/topics/orders')).status).toBe(403);
      // "*" is every authenticated principal, never an anonymous caller
      await as(ADMIN, 'POST', '/v1/acls', {
        principal: '*',
        resourceType: 'topic',
        resourceName: 'payments',
        operations: ['describe'],
      });
      expect((await as(NOBODY, 'GET', '/v1/topics/payments')).status).toBe(200);
      expect((await as(undefined, 'GET', '/v1/topics/payments')).status).toBe(403);
    });

    it('only admins manage ACLs; an entry is idempotent, validated, and a revocation takes effect at once', async () => {
      const { as, stores } = await setUp(make);
      expect((await as(ADMIN, 'POST', '/v1/topics', { name: 'orders', partitions: 1 })).status).toBe(201);
      const entry = {
        principal: role('orders-service'),
        resourceType: 'topic',
        resourceName: 'orders',
        operations: ['produce'],
      };
      const denied = await as(PRODUCER, 'POST', '/v1/acls', entry);
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toMatch(/may not alter the cluster's ACLs/);
      expect(await stores.access.listAcls()).toEqual([]);
      expect((await as(PRODUCER, 'GET', '/v1/acls')).status).toBe(403);

      const created = await as(ADMIN, 'POST', '/v1/acls', entry);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ ...entry, effect: 'allow', pattern: 'literal', createdBy: ADMIN });
      const again = await as(ADMIN, 'POST', '/v1/acls', { ...entry, operations: ['produce', 'produce'] });
      expect(again).toMatchObject({ status: 200, body: { id: created.body.id } });
      expect((await as(ADMIN, 'GET', '/v1/acls')).body.acls).toHaveLength(1);
      // "*" is every name whatever the pattern: one entry
      const everything = { ...entry, resourceName: '*' };
      const star = await as(ADMIN, 'POST', '/v1/acls', { ...everything, pattern: 'prefixed' });
      expect(star.body).toMatchObject({ pattern: 'literal' });
      expect((await as(ADMIN, 'POST', '/v1/acls', everything)).body.id).toBe(star.body.id);
      expect((await as(ADMIN, 'DELETE', `/v1/acls/${star.body.id}`)).status).toBe(204);
      const bad = await as(ADMIN, 'POST', '/v1/acls', { ...entry, resourceType: 'group', operations: ['produce'] });
      expect(bad.status).toBe(400);
      // the document declares each resource type's operations, and the server holds to them
      expect(bad.body.error.message).toBe(
        'operations.0: Invalid option: expected one of "all"|"read"|"describe"|"alter"|"delete"',
      );
      expect((await as(ADMIN, 'POST', '/v1/acls', { ...entry, principal: 'orders-service' })).status).toBe(400);
      expect((await as(ADMIN, 'POST', '/v1/acls', { ...entry, principal: 'arn:aws:iam::1:role/*x' })).status).toBe(400);

      expect((await as(PRODUCER, 'POST', '/v1/topics/orders/records', { records: [{ value: 'a' }] })).status).toBe(200);
      expect((await as(PRODUCER, 'DELETE', `/v1/acls/${created.body.id}`)).status).toBe(403);
      expect((await as(ADMIN, 'DELETE', `/v1/acls/${created.body.id}`)).status).toBe(204);
      expect((await as(ADMIN, 'DELETE', `/v1/acls/${created.body.id}`)).body.error.code).toBe('ACL_NOT_FOUND');
      // this process made the change: its cache is dropped, the next request is refused
      expect((await as(PRODUCER, 'POST', '/v1/topics/orders/records', { records: [{ value: 'b' }] })).status).toBe(403);

      const me = await as(PRODUCER, 'GET', '/v1/whoami');
      expect(me.body).toMatchObject({
        principal: PRODUCER,
        identities: [PRODUCER, role('orders-service')],
        mode: 'acl',
        admin: false,
      });
      expect((await as(ADMIN, 'GET', '/v1/whoami')).body.admin).toBe(true);
    });

    it("idempotency keys are the caller's: another principal's same key neither collides nor replays", async () => {
      const { as, core } = await setUp(make);
      await grantRoles(as);
      const withKey = (principal: string, value: string) =>
        as(
          principal,
          'POST',
          '/v1/topics/orders/records',
          { records: [{ value, partition: 1 }] },
          {
            'idempotency-key': 'order-1',
          },
        );
      const a1 = await withKey(PRODUCER, 'from-orders-service');
      expect(a1.status).toBe(200);
      // analytics uses the same key for its own, different call: its own scope, its own call
      const b1 = await withKey(WILDCARD, 'from-analytics');
      expect(b1.status, JSON.stringify(b1.body)).toBe(200);
      expect(b1.body.offsets[0].offset).toBe(a1.body.offsets[0].offset + 1);
      // a retry from another session of the same role meets its key: the same answer, nothing written
      const retry = await withKey(PRODUCER.replace(/i-0abc\d+$/, 'i-0other'), 'from-orders-service');
      expect(retry.body).toEqual(a1.body);
      // and the key is still its own: a different call under it is refused
      expect((await withKey(PRODUCER, 'something else')).body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const fetched = await core.log.fetch({ topic: 'orders', partition: 1, offset: 0 });
      expect(fetched.records.map((r) => Buffer.from(r.value ?? []).toString())).toEqual([
        'from-orders-service',
        'from-analytics',
      ]);
    });

    it('a request quota limits each principal it names per second, across processes; nobody else pays for it', async () => {
      const { as, core, clock, stores } = await setUp(make);
      await grantRoles(as);
      const set = await as(ADMIN, 'PUT', '/v1/quotas', { principal: role('orders-service'), requestsPerSecond: 3 });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({ principal: role('orders-service'), requestsPerSecond: 3, createdBy: ADMIN });
      expect((await as(CONSUMER, 'PUT', '/v1/quotas', { principal: CONSUMER, requestsPerSecond: 1000 })).status).toBe(
        403,
      );
      const produce = (principal: string) =>
        as(principal, 'POST', '/v1/topics/orders/records', { records: [{ value: 'q', partition: 0 }] });
      const before = (await core.log.describeTopic('orders')).offsets[0]?.highWatermark ?? 0;
      for (let i = 0; i < 3; i++) expect((await produce(PRODUCER)).status).toBe(200);
      const over = await produce(PRODUCER);
      expect(over.status).toBe(429);
      expect(over.body.error).toMatchObject({ code: 'THROTTLED', retriable: true });
      expect(over.body.error.message).toMatch(/over its quota of 3 requests per second/);
      expect((await core.log.describeTopic('orders')).offsets[0]?.highWatermark).toBe(before + 3);
      // another session of the role shares the count (the role is the principal); others are untouched
      expect((await produce(PRODUCER.replace(/i-0abc\d+$/, 'i-0other'))).status).toBe(429);
      expect((await produce(WILDCARD)).status).toBe(200);
      // a second API process over the same table counts the same requests
      const other = createHttpApp(
        createSluice({ ...stores, clock }, { access: { mode: 'acl', admins: [role('platform-admin')] } }),
        {
          principalOf: (c) => principalOfLocalRequest(c.req.header(LOCAL_PRINCIPAL_HEADER)),
        },
      );
      const elsewhere = await other.request('/v1/topics/orders', { headers: { [LOCAL_PRINCIPAL_HEADER]: PRODUCER } });
      expect(elsewhere.status).toBe(429);
      clock.advance(1000);
      expect((await produce(PRODUCER)).status).toBe(200);
      const listed = await as(ADMIN, 'GET', '/v1/quotas');
      expect(listed.body.quotas).toHaveLength(1);
      expect((await as(ADMIN, 'DELETE', `/v1/quotas/${set.body.id}`)).status).toBe(204);
      for (let i = 0; i < 5; i++) expect((await produce(PRODUCER)).status).toBe(200);
    });

    it('subscriptions follow the same model: their topics, dead-letter topic and group are checked', async () => {
      const { as, stores } = await setUp(make);
      for (const name of ['orders', 'orders-dlq']) await as(ADMIN, 'POST', '/v1/topics', { name, partitions: 1 });
      const sub = {
        name: 'billing',
        topics: ['orders'],
        target: { type: 'webhook', url: 'https://example.com/hook' },
        options: { deadLetterTopic: 'orders-dlq' },
      };
      const grant = (resourceType: string, resourceName: string, operations: string[]) =>
        as(ADMIN, 'POST', '/v1/acls', { principal: role('billing-service'), resourceType, resourceName, operations });
      await grant('subscription', 'billing', ['alter']);
      await grant('topic', 'orders', ['consume']);
      expect((await as(CONSUMER, 'POST', '/v1/subscriptions', sub)).body.error).toMatchObject({
        code: 'FORBIDDEN',
        resourceType: 'group',
        resourceName: 'billing',
      });
      await grant('group', 'billing', ['read']);
      expect((await as(CONSUMER, 'POST', '/v1/subscriptions', sub)).body.error).toMatchObject({
        resourceType: 'topic',
        resourceName: 'orders-dlq',
        operation: 'produce',
      });
      expect(await stores.groups.listSubscriptions()).toEqual([]);
      await grant('topic', 'orders-dlq', ['produce']);
      expect((await as(CONSUMER, 'POST', '/v1/subscriptions', sub)).status).toBe(201);
      expect((await as(CONSUMER, 'GET', '/v1/subscriptions')).body.subscriptions).toHaveLength(1);
      expect((await as(PRODUCER, 'GET', '/v1/subscriptions')).body.subscriptions).toEqual([]);
      expect((await as(PRODUCER, 'GET', '/v1/subscriptions/billing')).status).toBe(403);
      const disable = { options: { enabled: false } };
      expect((await as(PRODUCER, 'PATCH', '/v1/subscriptions/billing', disable)).status).toBe(403);
      expect((await as(CONSUMER, 'PATCH', '/v1/subscriptions/billing', { topics: ['orders-dlq'] })).status).toBe(403);
      expect((await as(CONSUMER, 'PATCH', '/v1/subscriptions/billing', disable)).status).toBe(200);
      expect((await as(CONSUMER, 'DELETE', '/v1/subscriptions/billing')).status).toBe(403);
      expect((await as(ADMIN, 'DELETE', '/v1/subscriptions/billing')).status).toBe(204);
    });

    it('every route asks for a permission: a principal with no ACLs is refused everywhere but the public ones', async () => {
      const { as, audit } = await setUp(make);
      await as(ADMIN, 'POST', '/v1/topics', { name: 'orders', partitions: 1 });
      const webhook = { type: 'webhook', url: 'https://example.com/hook' };
      const calls: Record<string, [string, string, unknown?]> = {
        createTopic: ['POST', '/v1/topics', { name: 'x', partitions: 1 }],
        describeTopic: ['GET', '/v1/topics/orders'],
        updateTopic: ['PATCH', '/v1/topics/orders', { retentionMs: 1 }],
        deleteTopic: ['DELETE', '/v1/topics/orders'],
        deleteRecordsBefore: ['POST', '/v1/topics/orders/partitions/0/records:deleteBefore', { offset: 0 }],
        produce: ['POST', '/v1/topics/orders/records', { records: [{ value: 'v' }] }],
        fetchRecords: ['GET', '/v1/topics/orders/partitions/0/records?offset=0'],
        offsetForTime: ['GET', '/v1/topics/orders/partitions/0/offsets?timestamp=0'],
        heartbeat: ['POST', '/v1/groups/g/members', { topics: ['orders'] }],
        leaveGroup: ['DELETE', '/v1/groups/g/members/m'],
        commitOffsets: ['POST', '/v1/groups/g/offsets', { offsets: [{ topic: 'orders', partition: 0, offset: 0 }] }],
        describeGroup: ['GET', '/v1/groups/g'],
        deleteGroup: ['DELETE', '/v1/groups/g'],
        resetOffsets: ['POST', '/v1/groups/g/offsets:reset', { topic: 'orders', to: 'earliest' }],
        createSubscription: ['POST', '/v1/subscriptions', { name: 's', topics: ['orders'], target: webhook }],
        getSubscription: ['GET', '/v1/subscriptions/s'],
        updateSubscription: ['PATCH', '/v1/subscriptions/s', { options: { enabled: false } }],
        deleteSubscription: ['DELETE', '/v1/subscriptions/s'],
        listAcls: ['GET', '/v1/acls'],
        createAcl: [
          'POST',
          '/v1/acls',
          { principal: NOBODY, resourceType: 'topic', resourceName: 'orders', operations: ['all'] },
        ],
        deleteAcl: ['DELETE', '/v1/acls/0123456789abcdef01234567'],
        listQuotas: ['GET', '/v1/quotas'],
        setQuota: ['PUT', '/v1/quotas', { principal: NOBODY, requestsPerSecond: 1000 }],
        deleteQuota: ['DELETE', '/v1/quotas/0123456789abcdef01234567'],
      };
      // listings answer, filtered to what the caller may describe; the rest is public
      const filtered = ['listTopics', 'listSubscriptions', 'listGroups'];
      const open = ['getHealth', 'getLimits', 'whoami'];
      const doc = (await as(NOBODY, 'GET', '/v1/openapi.json')).body;
      const operations = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
        (p) => Object.values(p).map((o) => o.operationId),
      );
      expect([...operations].sort()).toEqual([...Object.keys(calls), ...filtered, ...open].sort());
      for (const [operation, [method, path, body]] of Object.entries(calls)) {
        const r = await as(NOBODY, method, path, body);
        expect(r.status, `${operation}: ${JSON.stringify(r.body)}`).toBe(403);
        expect(r.body.error.code).toBe('FORBIDDEN');
      }
      // the refused requests' audit fields name the principal and what it was refused
      const produce = audit.find((a) => a.principal === NOBODY && a.route === '/v1/topics/:t/records');
      expect(produce).toMatchObject({
        method: 'POST',
        status: 403,
        errorCode: 'FORBIDDEN',
        access: { checked: ['produce topic orders'], denied: 'produce topic orders' },
      });
      const admin = audit.find((a) => a.principal === ADMIN && a.route === '/v1/topics');
      expect(admin).toMatchObject({ status: 201, access: { checked: ['create topic orders'] } });
      expect(admin?.access?.denied).toBeUndefined();
    });
  });
}
