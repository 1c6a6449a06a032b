/**
 * The push-subscription routes of HTTP API v1: create, list, read, change, delete. A
 * subscription is a consumer group of its name (`GET /v1/groups/{name}` shows its lag).
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidArgumentError } from '../errors';
import type { GroupDeps } from '../groups/coordinator';
import {
  type StoredSubscription,
  SubscriptionDefinition,
  SubscriptionOptions,
  SubscriptionTarget,
  subscriptionView,
} from '../subscriptions/definition';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  updateSubscription,
} from '../subscriptions/manage';
import type { AppEnv } from './env';
import { ErrorSchema, errors, json, TopicNameField } from './schemas';

/** The target kinds this deployment delivers to. */
export type TargetType = z.output<typeof SubscriptionTarget>['type'];

/** How the subscription routes are wired to the deployment. */
export interface SubscriptionRouteOptions {
  /** Target kinds accepted (module handlers only by `npm start`). */
  readonly targets: readonly TargetType[];
  /**
   * Told after a subscription was created or changed (`kick`: it was created or enabled, so
   * records already waiting are to be delivered now) or deleted. Errors are logged, not answered.
   */
  readonly onChange?: (name: string, subscription: StoredSubscription | undefined, kick: boolean) => Promise<void>;
}

const Name = z.string().openapi({
  param: { name: 'name', in: 'path' },
  pattern: '^[a-zA-Z0-9._-]{1,249}$',
  example: 'billing-emails',
});

// the domain's schema, as is (created before the OpenAPI extension may be loaded: no .openapi on it)
const SubscriptionBody = SubscriptionDefinition;

const PatchBody = z
  .object({
    topics: z.array(TopicNameField).min(1).max(100).optional(),
    target: SubscriptionTarget.optional(),
    options: z.record(z.string(), z.unknown()).optional().openapi({
      description: 'Options to change (any of SubscriptionDefinition.options); the others keep their value',
    }),
  })
  .strict()
  .openapi('SubscriptionPatch');

const Subscription = z
  .object({
    name: z.string(),
    topics: z.array(z.string()),
    target: SubscriptionTarget,
    options: SubscriptionOptions,
    version: z.number().int(),
    createdMs: z.number().int(),
    updatedMs: z.number().int(),
  })
  .openapi('Subscription');

const NotFound = { 404: json(ErrorSchema, 'SUBSCRIPTION_NOT_FOUND (or TOPIC_NOT_FOUND for a topic it names)') };
const Conflict = {
  409: json(ErrorSchema, 'SUBSCRIPTION_EXISTS, or CONFLICT (a concurrent change, or a group of that name is in use)'),
};

/** Adds the subscription routes to the app. */
export function registerSubscriptionRoutes(
  app: OpenAPIHono<AppEnv>,
  d: GroupDeps,
  options: SubscriptionRouteOptions,
): void {
  const checkTarget = (target: { type: TargetType } | undefined) => {
    if (target && !options.targets.includes(target.type)) {
      throw new InvalidArgumentError(
        `target: ${target.type} targets are not delivered by this deployment (it delivers ${options.targets.join(', ')}); ` +
          (target.type === 'module'
            ? 'handler modules run under `npm start` only'
            : 'deploy the stack to invoke Lambda functions'),
      );
    }
  };
  const changed = async (name: string, s: StoredSubscription | undefined, kick: boolean) => {
    try {
      await options.onChange?.(name, s, kick);
    } catch (e) {
      console.error(
        JSON.stringify({ level: 'ERROR', message: 'subscription change not signalled', name, error: String(e) }),
      );
    }
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscriptions',
      operationId: 'createSubscription',
      description:
        'Creates a push subscription: its records are delivered in order per partition, in batches, to a Lambda function, a webhook (POST; 2xx is success) or, under `npm start`, a handler module — as the event Lambda delivers for a self-managed Kafka source, plus `sluice: {subscription, deliveryId}`. A handler with `functionResponseTypes: ["ReportBatchItemFailures"]` may answer `{"batchItemFailures":[{"itemIdentifier":"{topic}-{partition}@{offset}"}]}`; delivery resumes at the first failed record of each partition.',
      request: { body: { content: { 'application/json': { schema: SubscriptionBody } }, required: true } },
      responses: {
        201: json(Subscription, 'Created; its committed offsets start at its starting position'),
        ...NotFound,
        ...Conflict,
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      checkTarget(body.target);
      const s = await createSubscription(d, body);
      await changed(s.definition.name, s, s.definition.options.enabled);
      return c.json(subscriptionView(s), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscriptions',
      operationId: 'listSubscriptions',
      responses: {
        200: json(z.object({ subscriptions: z.array(Subscription) }), 'Every subscription, by name'),
        ...errors,
      },
    }),
    async (c) => c.json({ subscriptions: (await listSubscriptions(d)).map(subscriptionView) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscriptions/{name}',
      operationId: 'getSubscription',
      request: { params: z.object({ name: Name }) },
      responses: {
        200: json(Subscription, 'The subscription (its lag: GET /v1/groups/{name})'),
        ...NotFound,
        ...errors,
      },
    }),
    async (c) => c.json(subscriptionView(await getSubscription(d, c.req.valid('param').name)), 200),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/subscriptions/{name}',
      operationId: 'updateSubscription',
      description:
        'Changes topics, target or options (the dispatcher reads them before each batch). `{"options":{"enabled":false}}` stops delivery; enabling resumes where it stopped. A topic added starts at the starting position; one removed is forgotten.',
      request: {
        params: z.object({ name: Name }),
        body: { content: { 'application/json': { schema: PatchBody } }, required: true },
      },
      responses: { 200: json(Subscription, 'The changed subscription'), ...NotFound, ...Conflict, ...errors },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      checkTarget(body.target);
      const r = await updateSubscription(d, name, body);
      await changed(name, r.subscription, r.enabled);
      return c.json(subscriptionView(r.subscription), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/subscriptions/{name}',
      operationId: 'deleteSubscription',
      request: { params: z.object({ name: Name }) },
      responses: {
        204: { description: 'Deleted, with its group’s leases and committed offsets' },
        ...NotFound,
        ...errors,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await deleteSubscription(d, name);
      await changed(name, undefined, false);
      return c.body(null, 204);
    },
  );
}
