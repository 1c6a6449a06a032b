/**
 * The topic routes of the HTTP API: create, list, describe, change, delete, and Kafka's
 * deleteRecords.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { SluiceLog } from '../log/log';
import { type AppEnv, admit, authorize, need } from './env';
import {
  ErrorSchema,
  errors,
  json,
  link,
  MAX_SAFE,
  PageQuery,
  PartitionParam,
  page,
  TopicName,
  TopicNameField,
} from './schemas';

/** A topic's partition count, declared with the server's own maximum. */
const PartitionCount = (max: number) =>
  z
    .number()
    .int()
    .openapi({ minimum: 1, maximum: max, description: `1-${max} (partitions only grow)` });

const topicBody = (maxPartitions: number) =>
  z
    .object({
      name: TopicNameField,
      partitions: PartitionCount(maxPartitions),
      retentionMs: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
      retentionBytes: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
    })
    .strict()
    .openapi('CreateTopic');

const TopicOut = z
  .object({
    name: z.string(),
    partitions: z.number().int(),
    retentionMs: z.number().int().nullable(),
    retentionBytes: z.number().int().nullable(),
  })
  .openapi('Topic');

const PartitionBounds = z.object({
  partition: z.number().int(),
  startOffset: z.number().int(),
  highWatermark: z.number().int(),
});

const topic = { t: '$response.body#/name' };
/** From a created topic to what can be done with it (a group joins it as `sluice-example`). */
const topicLinks = {
  Describe: link('describeTopic', topic),
  Update: link('updateTopic', topic),
  Delete: link('deleteTopic', topic),
  Produce: link('produce', topic),
  Fetch: link('fetchRecords', { ...topic, p: 0, offset: 0 }),
  OffsetForTime: link('offsetForTime', { ...topic, p: 0 }),
  DeleteRecordsBefore: link('deleteRecordsBefore', { ...topic, p: 0 }, { offset: 0 }),
  Join: link('heartbeat', { g: 'sluice-example' }, { memberId: 'member-1', topics: ['$response.body#/name'] }),
  Subscribe: link(
    'createSubscription',
    {},
    {
      name: 'sluice-example-subscription',
      topics: ['$response.body#/name'],
      target: { type: 'webhook', url: 'https://example.com/hook' },
    },
  ),
};

/** Adds the topic routes to the app. */
export function registerTopicRoutes(app: OpenAPIHono<AppEnv>, log: SluiceLog): void {
  const s = log.settings;
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/topics',
      operationId: 'createTopic',
      request: {
        body: { content: { 'application/json': { schema: topicBody(s.maxPartitionsPerTopic) } }, required: true },
      },
      responses: {
        201: { ...json(TopicOut, 'Created'), links: topicLinks },
        409: json(ErrorSchema, 'TOPIC_EXISTS'),
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await authorize(c, need.topic(body.name, 'create'));
      const t = await log.createTopic(body);
      return c.json(topicOut(t), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics',
      operationId: 'listTopics',
      request: { query: PageQuery },
      responses: {
        200: json(
          z.object({
            topics: z.array(z.object({ name: z.string(), partitions: z.number().int() })),
            next: z.string().optional().openapi({ description: 'more follow: pass it as `after`' }),
          }),
          'Topics, by name, a page at a time',
        ),
        ...errors,
      },
    }),
    async (c) => {
      // as in Kafka: a listing holds the topics the caller may describe
      await admit(c);
      const topics = await c
        .get('authorizer')
        .visible(c.get('principal'), await log.listTopics(), (t) => need.topic(t.name, 'describe'));
      const p = page(topics, (t) => t.name, c.req.valid('query'));
      return c.json(
        {
          topics: p.items.map((t) => ({ name: t.name, partitions: t.partitions })),
          ...(p.next ? { next: p.next } : {}),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/topics/{t}',
      operationId: 'describeTopic',
      request: { params: z.object({ t: TopicName }) },
      responses: { 200: json(TopicOut.extend({ offsets: z.array(PartitionBounds) }), 'The topic'), ...errors },
    }),
    async (c) => {
      const { t } = c.req.valid('param');
      await authorize(c, need.topic(t, 'describe'));
      const d = await log.describeTopic(t);
      return c.json({ ...topicOut(d), offsets: d.offsets }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/topics/{t}',
      operationId: 'deleteTopic',
      request: { params: z.object({ t: TopicName }) },
      responses: { 204: { description: 'Deleted' }, ...errors },
    }),
    async (c) => {
      const { t } = c.req.valid('param');
      await authorize(c, need.topic(t, 'delete'));
      await log.deleteTopic(t);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/topics/{t}',
      operationId: 'updateTopic',
      request: {
        params: z.object({ t: TopicName }),
        body: {
          content: {
            'application/json': {
              schema: z
                .object({
                  retentionMs: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
                  retentionBytes: z.number().int().min(1).max(MAX_SAFE).nullable().optional(),
                  partitions: PartitionCount(s.maxPartitionsPerTopic).optional(),
                })
                .strict()
                .openapi('UpdateTopic'),
            },
          },
          required: true,
        },
      },
      responses: {
        200: json(TopicOut, 'Updated (retention applies at the next maintenance run)'),
        409: json(ErrorSchema, 'INVALID_PARTITIONS (partitions only grow) or CONFLICT'),
        ...errors,
      },
    }),
    async (c) => {
      const { t } = c.req.valid('param');
      const body = c.req.valid('json');
      await authorize(c, need.topic(t, 'alter'));
      if (body.partitions !== undefined) await log.addPartitions(t, body.partitions);
      const updated =
        body.retentionMs !== undefined || body.retentionBytes !== undefined
          ? await log.setRetention(t, body)
          : await log.getTopic(t, { fresh: true });
      return c.json(topicOut(updated), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/topics/{t}/partitions/{p}/records:deleteBefore',
      operationId: 'deleteRecordsBefore',
      request: {
        params: z.object({ t: TopicName, p: PartitionParam }),
        body: {
          content: {
            'application/json': { schema: z.object({ offset: z.number().int().min(0).max(MAX_SAFE) }).strict() },
          },
          required: true,
        },
      },
      responses: {
        200: json(z.object({ startOffset: z.number().int() }), "Kafka's deleteRecords: the new start offset"),
        416: json(ErrorSchema, 'OFFSET_OUT_OF_RANGE'),
        ...errors,
      },
    }),
    async (c) => {
      const { t, p } = c.req.valid('param');
      // Kafka's deleteRecords needs delete on the topic
      await authorize(c, need.topic(t, 'delete'));
      return c.json(await log.deleteRecords(t, p, c.req.valid('json').offset), 200);
    },
  );
}

function topicOut(t: { name: string; partitions: number; retentionMs: number | null; retentionBytes: number | null }) {
  return { name: t.name, partitions: t.partitions, retentionMs: t.retentionMs, retentionBytes: t.retentionBytes };
}
