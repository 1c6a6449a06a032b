/**
 * The push-subscription routes of HTTP API v1: create, list, read, change, delete. A
 * subscription is a consumer group of its name (`GET /v1/groups/{name}` shows its lag).
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidArgumentError } from '../errors';
import type { GroupDeps } from '../groups/coordinator';
import { TOPIC_NAME_PATTERN } from '../settings';
import {
  ChangeableOptionFields,
  LAMBDA_ARN,
  LOCAL_WEBHOOK_URL,
  StartingPositionFields,
  type StoredSubscription,
  SubscriptionOptions,
  SubscriptionTarget,
  subscriptionView,
  WEBHOOK_URL,
} from '../subscriptions/definition';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  updateSubscription,
} from '../subscriptions/manage';
import { type AppEnv, admit, authorize, need } from './env';
import { ErrorSchema, errors, json, link, PageQuery, page, TopicNameField } from './schemas';

/** The target kinds this deployment delivers to. */
export type TargetType = z.output<typeof SubscriptionTarget>['type'];

/** How the subscription routes are wired to the deployment. */
export interface SubscriptionRouteOptions {
  /** Target kinds accepted (module handlers only by `npm start`). */
  readonly targets: readonly TargetType[];
  /** Webhooks may be http:// to localhost (`npm start`). @default false */
  readonly loopbackHttp?: boolean;
  /**
   * Told after a subscription was created or changed (`kick`: it was created or enabled, so
   * records already waiting are to be delivered now) or deleted. Errors are logged, not answered.
   */
  readonly onChange?: (name: string, subscription: StoredSubscription | undefined, kick: boolean) => Promise<void>;
}

const Name = z.string().openapi({
  param: { name: 'name', in: 'path' },
  pattern: TOPIC_NAME_PATTERN,
  minLength: 1,
  maxLength: 249,
  example: 'billing-emails',
});

/** A subscription's name in a body: the group-name rule, declared (the domain checks it). */
const NameField = z
  .string()
  .openapi({ pattern: TOPIC_NAME_PATTERN, minLength: 1, maxLength: 249, example: 'billing-emails' });

const Topics = z.array(TopicNameField).min(1).max(100).openapi({ uniqueItems: true });

/**
 * The document's form of a target (the domain re-checks it): only the kinds this deployment
 * delivers, a webhook URL of a shape every URL parser takes.
 */
function targetSchema(targets: readonly TargetType[], loopbackHttp: boolean) {
  const kinds = {
    lambda: z
      .object({ type: z.literal('lambda'), functionArn: z.string().regex(LAMBDA_ARN, 'must be a Lambda function ARN') })
      .strict()
      .openapi('LambdaTarget'),
    webhook: z
      .object({
        type: z.literal('webhook'),
        url: z
          .string()
          .max(2048)
          .regex(loopbackHttp ? LOCAL_WEBHOOK_URL : WEBHOOK_URL, 'must be an https:// URL (http:// only to localhost)')
          .openapi({
            description: loopbackHttp
              ? 'https://, or http:// to localhost; POSTed the event, 2xx is success'
              : 'https://; POSTed the event, 2xx is success',
          }),
      })
      .strict()
      .openapi('WebhookTarget'),
    module: z
      .object({ type: z.literal('module'), path: z.string().min(1).max(1024) })
      .strict()
      .openapi('ModuleTarget', { description: 'A handler module `npm start` loads (its `handler` export)' }),
  };
  const allowed = targets.map((t) => kinds[t]);
  const error = `target.type must be ${targets.join(' or ')}: this deployment delivers those (handler modules run under \`npm start\` only; Lambda functions once deployed)`;
  return z.discriminatedUnion('type', allowed as [(typeof allowed)[number], ...(typeof allowed)[number][]], {
    error: (issue) => (issue.code === 'invalid_union' ? error : undefined),
  });
}

/** The changeable options as the document declares them (names with their pattern). */
const OptionFields = { ...ChangeableOptionFields, deadLetterTopic: TopicNameField.optional() };

/** Options at creation: the starting position and timestamp go together (either schema, strict). */
const CreateOptions = z
  .union([
    z.object({ ...OptionFields, startingPosition: z.enum(['TRIM_HORIZON', 'LATEST']).default('LATEST') }).strict(),
    z
      .object({
        ...OptionFields,
        startingPosition: z.literal('AT_TIMESTAMP'),
        startingPositionTimestamp: StartingPositionFields.startingPositionTimestamp.unwrap(),
      })
      .strict(),
  ])
  .openapi('SubscriptionOptions', {
    description:
      "Lambda's event-source mapping options (names, ranges and defaults). `itemIdentifier` of `batchItemFailures`: `{topic}-{partition}@{offset}`.",
  });

/** What a change may set: any option but the starting position (fixed at creation). */
const ChangeOptions = z
  .object(
    Object.fromEntries(
      Object.entries(OptionFields).map(([k, v]) => {
        const field = v as z.ZodType & { removeDefault?: () => z.ZodType };
        return [k, (field.removeDefault ? field.removeDefault() : field).optional()];
      }),
    ),
  )
  .strict()
  .openapi('SubscriptionOptionsChange', { description: 'The options to change; the others keep their value' });

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

const subscription = { name: '$response.body#/name' };
/** From a created subscription to its other operations, and its group's lag. */
const subscriptionLinks = {
  Get: link('getSubscription', subscription),
  Update: link('updateSubscription', subscription, { options: { enabled: false } }),
  Delete: link('deleteSubscription', subscription),
  Lag: link('describeGroup', { g: '$response.body#/name' }),
};

const NotFound = { 404: json(ErrorSchema, 'SUBSCRIPTION_NOT_FOUND (or TOPIC_NOT_FOUND for a topic it names)') };
const Conflict = {
  409: json(ErrorSchema, 'SUBSCRIPTION_EXISTS, or CONFLICT (a concurrent change, or a group of that name is in use)'),
};

/** A subscription consumes its topics and produces to its dead-letter topic, if any. */
function reads(topics: readonly string[], deadLetterTopic: unknown) {
  return [
    ...[...new Set(topics)].map((t) => need.topic(t, 'consume')),
    ...(typeof deadLetterTopic === 'string' ? [need.topic(deadLetterTopic, 'produce')] : []),
  ];
}

/** Adds the subscription routes to the app. */
export function registerSubscriptionRoutes(
  app: OpenAPIHono<AppEnv>,
  d: GroupDeps,
  options: SubscriptionRouteOptions,
): void {
  // one schema for both bodies: its named components are registered once
  const Target = targetSchema(options.targets, options.loopbackHttp ?? false);
  const CreateBody = z
    .object({
      name: NameField,
      topics: Topics,
      target: Target,
      options: CreateOptions.optional(),
    })
    .strict()
    .openapi('SubscriptionDefinition');
  const PatchBody = z
    .object({
      topics: Topics.optional(),
      target: Target.optional(),
      options: ChangeOptions.optional(),
    })
    .strict()
    .openapi('SubscriptionPatch');
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
      request: { body: { content: { 'application/json': { schema: CreateBody } }, required: true } },
      responses: {
        201: {
          ...json(Subscription, 'Created; its committed offsets start at its starting position'),
          links: subscriptionLinks,
        },
        ...NotFound,
        ...Conflict,
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      checkTarget(body.target);
      // it reads its topics as the consumer group of its name, and may dead-letter to a topic
      await authorize(
        c,
        need.subscription(body.name, 'alter'),
        need.group(body.name, 'read'),
        ...reads(body.topics, body.options?.deadLetterTopic),
      );
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
      request: { query: PageQuery },
      responses: {
        200: json(
          z.object({ subscriptions: z.array(Subscription), next: z.string().optional() }),
          'Subscriptions, by name, a page at a time (`next`: pass it as `after`)',
        ),
        ...errors,
      },
    }),
    async (c) => {
      await admit(c);
      const all = await listSubscriptions(d);
      const visible = await c
        .get('authorizer')
        .visible(c.get('principal'), all, (s) => need.subscription(s.definition.name, 'describe'));
      const p = page(visible, (s) => s.definition.name, c.req.valid('query'));
      return c.json({ subscriptions: p.items.map(subscriptionView), ...(p.next ? { next: p.next } : {}) }, 200);
    },
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
    async (c) => {
      const { name } = c.req.valid('param');
      await authorize(c, need.subscription(name, 'describe'));
      return c.json(subscriptionView(await getSubscription(d, name)), 200);
    },
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
      await authorize(c, need.subscription(name, 'alter'), ...reads(body.topics ?? [], body.options?.deadLetterTopic));
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
      await authorize(c, need.subscription(name, 'delete'));
      await deleteSubscription(d, name);
      await changed(name, undefined, false);
      return c.body(null, 204);
    },
  );
}
