/**
 * The access-control routes of HTTP API v1: who am I, and the ACL entries (list, create,
 * delete) — Kafka's describeAcls / createAcls / deleteAcls, on the cluster resource.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Authorizer } from '../access/authorizer';
import { type AclInput, createAcl, deleteAcl, deleteQuota, setQuota } from '../access/manage';
import {
  type AclRecord,
  aclProblems,
  CLUSTER,
  identitiesOf,
  OPERATIONS,
  PRINCIPAL_PATTERN,
  RESOURCE_NAME_PATTERN,
  type ResourceType,
} from '../access/model';
import type { Clock } from '../clock';
import { InvalidArgumentError } from '../errors';
import type { AccessStore } from '../storage/ports';
import { type AppEnv, authorize, need } from './env';
import { ErrorSchema, errors, json, PageQuery, page } from './schemas';

/** An entry as the API shows it. */
const aclView = (a: AclRecord) => ({ ...a, operations: [...a.operations] });

const Principal = z
  .string()
  .regex(new RegExp(PRINCIPAL_PATTERN), 'must be an IAM principal ARN, an ARN prefix ending in "*", or "*"')
  .openapi({
    description:
      'An IAM principal ARN (a role ARN covers its sessions), an ARN prefix ending in `*`, or `*` (every authenticated caller)',
    example: 'arn:aws:iam::123456789012:role/orders-service',
  });
const ResourceName = z
  .string()
  .regex(new RegExp(RESOURCE_NAME_PATTERN), 'must be 1-249 of A-Z a-z 0-9 . _ - (a name or a prefix), or "*"')
  .openapi({ description: 'A name, a prefix, or `*`', example: 'orders' });

/** One resource type's entry: its operations declared (the document says which go with which type). */
function entryOf<T extends ResourceType>(type: T, name: z.ZodType) {
  const ops = ['all', ...(OPERATIONS[type] as readonly string[])] as [string, ...string[]];
  return z
    .object({
      principal: Principal,
      effect: z.enum(['allow', 'deny']).default('allow'),
      resourceType: z.literal(type),
      resourceName: name,
      pattern: z.enum(['literal', 'prefixed']).default('literal'),
      operations: z.array(z.enum(ops)).min(1).max(ops.length),
    })
    .strict();
}

const AclBody = z
  .discriminatedUnion('resourceType', [
    entryOf('topic', ResourceName),
    entryOf('group', ResourceName),
    entryOf('subscription', ResourceName),
    entryOf('cluster', z.enum([CLUSTER, '*'])),
  ])
  .openapi('CreateAcl');

const Acl = z
  .object({
    id: z.string(),
    principal: z.string(),
    effect: z.enum(['allow', 'deny']),
    resourceType: z.enum(['topic', 'group', 'subscription', 'cluster']),
    resourceName: z.string(),
    pattern: z.enum(['literal', 'prefixed']),
    operations: z.array(z.string()),
    createdMs: z.number().int(),
    createdBy: z.string(),
  })
  .openapi('Acl');

/** An ACL entry's or quota's id. */
const AclId = z
  .string()
  .regex(/^[0-9a-f]{24}$/, 'an id is 24 hex digits')
  .openapi({ param: { name: 'id', in: 'path' } });

/** What the ACL routes need. */
export interface AccessRouteDeps {
  readonly authorizer: Authorizer;
  readonly store?: AccessStore;
  readonly clock: Clock;
}

/** Adds the access routes to the app. */
export function registerAccessRoutes(app: OpenAPIHono<AppEnv>, d: AccessRouteDeps): void {
  const store = () => {
    if (!d.store) throw new InvalidArgumentError('this server keeps no ACLs (its access mode is open)');
    return d.store;
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/whoami',
      operationId: 'whoami',
      description: 'The caller as this server sees it: the principal ACLs name, and what can be granted.',
      responses: {
        200: json(
          z.object({
            principal: z.string(),
            identities: z.array(z.string()),
            mode: z.enum(['acl', 'open']),
            admin: z.boolean(),
            operations: z.record(z.string(), z.array(z.string())),
          }),
          'Who you are',
        ),
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const admin = (await d.authorizer.firstDenied(principal, [need.cluster('alter')])) === undefined;
      return c.json(
        {
          principal,
          identities: identitiesOf(principal),
          mode: d.authorizer.settings.mode,
          admin,
          operations: OPERATIONS as unknown as Record<string, string[]>,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/acls',
      operationId: 'listAcls',
      request: { query: PageQuery },
      responses: {
        200: json(
          z.object({ acls: z.array(Acl), next: z.string().optional() }),
          'ACL entries, by id, a page at a time (`next`: pass it as `after`)',
        ),
        ...errors,
      },
    }),
    async (c) => {
      await authorize(c, need.cluster('describe'));
      const p = page(await store().listAcls(), (a) => a.id, c.req.valid('query'));
      return c.json({ acls: p.items.map(aclView), ...(p.next ? { next: p.next } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/acls',
      operationId: 'createAcl',
      description:
        'Allows (or denies) a principal operations on a resource. Idempotent: the same entry twice is one entry (200 the second time). A deny wins over any allow.',
      request: { body: { content: { 'application/json': { schema: AclBody } }, required: true } },
      responses: { 201: json(Acl, 'Created'), 200: json(Acl, 'It existed'), ...errors },
    }),
    async (c) => {
      const input = c.req.valid('json') as AclInput;
      // the entry is checked before the caller: a malformed entry is 400 whoever sends it
      const problems = aclProblems({ effect: 'allow', pattern: 'literal', ...input });
      if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
      await authorize(c, need.cluster('alter'));
      const r = await createAcl(store(), input, { principal: c.get('principal'), clock: d.clock });
      d.authorizer.invalidate();
      return r.created ? c.json(aclView(r.acl), 201) : c.json(aclView(r.acl), 200);
    },
  );

  const Quota = z
    .object({
      id: z.string(),
      principal: z.string(),
      requestsPerSecond: z.number().int(),
      createdMs: z.number().int(),
      createdBy: z.string(),
    })
    .openapi('Quota');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/quotas',
      operationId: 'listQuotas',
      responses: { 200: json(z.object({ quotas: z.array(Quota) }), 'Every request quota, by id'), ...errors },
    }),
    async (c) => {
      await authorize(c, need.cluster('describe'));
      return c.json({ quotas: await store().listQuotas() }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/quotas',
      operationId: 'setQuota',
      description:
        "Sets a principal pattern's request quota: each principal it names may make at most `requestsPerSecond` requests per second (counted across every API process, one conditional write per request of a quota'd principal); beyond it, 429 THROTTLED. The lowest matching quota applies.",
      request: {
        body: {
          content: {
            'application/json': {
              schema: z
                .object({ principal: Principal, requestsPerSecond: z.number().int().min(1).max(100_000) })
                .strict()
                .openapi('SetQuota'),
            },
          },
          required: true,
        },
      },
      responses: { 200: json(Quota, 'Set'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await authorize(c, need.cluster('alter'));
      const q = await setQuota(store(), body, { principal: c.get('principal'), clock: d.clock });
      d.authorizer.invalidate();
      return c.json(q, 200);
    },
  );

  // an ACL entry or a quota, by id: 404 if there is none; this process re-reads them next
  for (const [path, operationId, remove] of [
    ['/v1/acls/{id}', 'deleteAcl', deleteAcl],
    ['/v1/quotas/{id}', 'deleteQuota', deleteQuota],
  ] as const) {
    app.openapi(
      createRoute({
        method: 'delete',
        path,
        operationId,
        request: { params: z.object({ id: AclId }) },
        responses: { 204: { description: 'Deleted' }, ...errors, 404: json(ErrorSchema, 'ACL_NOT_FOUND') },
      }),
      async (c) => {
        await authorize(c, need.cluster('alter'));
        try {
          await remove(store(), c.req.valid('param').id);
        } finally {
          d.authorizer.invalidate();
        }
        return c.body(null, 204);
      },
    );
  }
}
