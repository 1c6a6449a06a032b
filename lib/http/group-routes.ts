/**
 * The consumer-group routes of HTTP API v1 (ARCHITECTURE §8).
 */

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ConflictError } from '../errors';
import {
  commitOffsets,
  deleteGroup,
  describeGroup,
  type GroupDeps,
  heartbeat,
  leaveGroup,
  resetOffsets,
} from '../groups/coordinator';
import { groupNameProblem, TOPIC_NAME_PATTERN } from '../settings';
import { type AppEnv, admit, authorize, need } from './env';
import {
  ErrorSchema,
  errors,
  json,
  KeyField,
  link,
  MAX_SAFE,
  PageQuery,
  PartitionNumber,
  page,
  TopicNameField,
} from './schemas';

const GroupName = z
  .string()
  .superRefine((v, ctx) => {
    const p = groupNameProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  })
  .openapi({
    param: { name: 'g', in: 'path' },
    pattern: TOPIC_NAME_PATTERN,
    minLength: 1,
    maxLength: 249,
    example: 'billing',
  });

const MemberId = KeyField('memberId');

const TopicPartitionEpoch = z
  .object({
    topic: TopicNameField,
    partition: PartitionNumber,
    epoch: z.number().int().min(0).max(MAX_SAFE),
  })
  .strict();

const JoinBody = z
  .object({
    memberId: MemberId.optional(),
    topics: z.array(TopicNameField).min(1).max(100),
    release: z.array(TopicPartitionEpoch).max(1024).optional(),
    stalled: z
      .array(z.object({ topic: z.string(), partition: PartitionNumber }).strict())
      .max(1024)
      .optional()
      .openapi({
        description: 'Partitions whose handler overran its processing deadline: not to be given to this member',
      }),
  })
  .strict()
  .openapi('Heartbeat');

const CommitOffset = z.object({
  topic: TopicNameField,
  partition: PartitionNumber,
  offset: z.number().int().min(0).max(MAX_SAFE),
  metadata: z.string().max(4096).nullable().optional(),
});

/** A member commits under its lease epochs; without a member id only while nobody is live, and without epochs. */
const CommitBody = z
  .union([
    z
      .object({
        memberId: MemberId,
        offsets: z
          .array(CommitOffset.extend({ epoch: z.number().int().min(0).max(MAX_SAFE).optional() }).strict())
          .min(1)
          .max(1024),
      })
      .strict(),
    z.object({ offsets: z.array(CommitOffset.strict()).min(1).max(1024) }).strict(),
  ])
  .openapi('CommitOffsets');

const ResetBody = z
  .object({
    topic: TopicNameField,
    to: z.union([
      z.literal('earliest'),
      z.literal('latest'),
      z.object({ timestamp: z.number().int().min(0).max(MAX_SAFE) }).strict(),
      z.object({ offset: z.number().int().min(0).max(MAX_SAFE) }).strict(),
    ]),
    partitions: z.array(PartitionNumber).min(1).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict()
  .openapi('ResetOffsets');

const group = { g: '$request.path.g' };
const held = '$response.body#/assignments/0';
/** From a join to the member's next steps: commit what it holds, describe, reset, leave. */
const memberLinks = {
  Commit: link('commitOffsets', group, {
    memberId: '$response.body#/memberId',
    offsets: [{ topic: `${held}/topic`, partition: `${held}/partition`, offset: 0, epoch: `${held}/epoch` }],
  }),
  Describe: link('describeGroup', group),
  Reset: link('resetOffsets', group, { topic: `${held}/topic`, to: 'earliest' }),
  Leave: link('leaveGroup', { ...group, m: '$response.body#/memberId' }),
};
const withLinks = <T extends z.ZodType>(schema: T, description: string) => ({
  ...json(schema, description),
  links: memberLinks,
});

const Conflict = { 409: json(ErrorSchema, 'FENCED or CONFLICT') };
const OutOfRange = {
  416: json(ErrorSchema, 'OFFSET_OUT_OF_RANGE: the offset is outside [startOffset, highWatermark]'),
};

/** Consuming each of the topics (once each). */
const consumes = (topics: readonly string[]) => [...new Set(topics)].map((t) => need.topic(t, 'consume'));

/** Adds the group routes to the app. */
export function registerGroupRoutes(app: OpenAPIHono<AppEnv>, d: GroupDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/groups',
      operationId: 'listGroups',
      request: { query: PageQuery },
      responses: {
        200: json(
          z.object({
            groups: z.array(z.object({ group: z.string() })),
            next: z.string().optional(),
          }),
          'The registered groups the caller may describe, by name, a page at a time (`next`: pass it as `after`)',
        ),
        ...errors,
      },
    }),
    async (c) => {
      await admit(c);
      const visible = await c
        .get('authorizer')
        .visible(c.get('principal'), await d.groups.listGroups(), (g) => need.group(g.group, 'describe'));
      const p = page(visible, (g) => g.group, c.req.valid('query'));
      return c.json({ groups: p.items.map((g) => ({ group: g.group })), ...(p.next ? { next: p.next } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/groups/{g}/members',
      operationId: 'heartbeat',
      request: {
        params: z.object({ g: GroupName }),
        body: { content: { 'application/json': { schema: JoinBody } }, required: true },
      },
      responses: {
        200: withLinks(
          z.object({
            memberId: z.string(),
            assignments: z.array(
              z.object({
                topic: TopicNameField,
                partition: z.number().int(),
                epoch: z.number().int(),
                committedOffset: z.number().int().nullable(),
                expiresAtMs: z.number().int(),
              }),
            ),
            revoked: z.array(z.object({ topic: z.string(), partition: z.number().int(), epoch: z.number().int() })),
            heartbeatIntervalMs: z.number().int(),
            sessionTimeoutMs: z.number().int(),
          }),
          'Join or heartbeat: the partitions this member holds, with epochs',
        ),
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { g } = c.req.valid('param');
      await authorize(c, need.group(g, 'read'), ...consumes(body.topics));
      const r = await heartbeat(d, g, body);
      return c.json(r, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/groups/{g}/members/{m}',
      operationId: 'leaveGroup',
      request: { params: z.object({ g: GroupName, m: MemberId }) },
      responses: { 204: { description: 'Left; leases released' }, ...errors },
    }),
    async (c) => {
      const { g, m } = c.req.valid('param');
      await authorize(c, need.group(g, 'read'));
      await leaveGroup(d, g, m);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/groups/{g}/offsets',
      operationId: 'commitOffsets',
      request: {
        params: z.object({ g: GroupName }),
        body: { content: { 'application/json': { schema: CommitBody } }, required: true },
      },
      responses: {
        200: json(
          z.object({
            offsets: z.array(
              z.object({
                topic: TopicNameField,
                partition: z.number().int(),
                offset: z.number().int(),
                committed: z.number().int(),
              }),
            ),
          }),
          'Committed (a commit below the committed offset leaves it unchanged)',
        ),
        ...Conflict,
        ...OutOfRange,
        ...errors,
      },
    }),
    async (c) => {
      const { g } = c.req.valid('param');
      const body = c.req.valid('json');
      // a member commits what it reads; a commit without one moves the group's offsets (an admin's reset)
      await authorize(
        c,
        need.group(g, 'memberId' in body ? 'read' : 'alter'),
        ...consumes(body.offsets.map((o) => o.topic)),
      );
      if (!('memberId' in body)) {
        // no member: a simple consumer may commit only while the group has nobody live
        const described = await describeGroup(d, g);
        if (described.members.some((m) => m.live)) {
          throw new ConflictError(`group "${g}" has live members; commit as a member (memberId and epoch)`);
        }
        const r = [];
        for (const o of body.offsets) {
          await resetOffsets(d, g, {
            topic: o.topic,
            partitions: [o.partition],
            to: { offset: o.offset },
            dryRun: false,
          });
          r.push({ topic: o.topic, partition: o.partition, offset: o.offset, committed: o.offset });
        }
        return c.json({ offsets: r }, 200);
      }
      const r = await commitOffsets(d, g, body.memberId, body.offsets);
      return c.json({ offsets: r }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/groups/{g}',
      operationId: 'describeGroup',
      request: { params: z.object({ g: GroupName }) },
      responses: {
        200: json(
          z.object({
            group: z.string(),
            members: z.array(
              z.object({
                memberId: z.string(),
                topics: z.array(z.string()),
                lastHeartbeatMs: z.number().int(),
                live: z.boolean(),
              }),
            ),
            partitions: z.array(
              z.object({
                topic: TopicNameField,
                partition: z.number().int(),
                committedOffset: z.number().int().nullable(),
                startOffset: z.number().int(),
                highWatermark: z.number().int(),
                lag: z.number().int(),
                lagMs: z.number().int(),
                skippedByRetention: z.number().int(),
                owner: z.string().nullable(),
                epoch: z.number().int(),
              }),
            ),
          }),
          'Members and, per partition, committed offset, lag (records and ms), owner, epoch',
        ),
        ...errors,
      },
    }),
    async (c) => {
      const { g } = c.req.valid('param');
      await authorize(c, need.group(g, 'describe'));
      return c.json(await describeGroup(d, g), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/groups/{g}',
      operationId: 'deleteGroup',
      description:
        "Kafka's deleteGroups: the group's committed offsets, leases and registration; only with nobody live in it",
      request: { params: z.object({ g: GroupName }) },
      responses: { 204: { description: 'Deleted' }, ...Conflict, ...errors },
    }),
    async (c) => {
      const { g } = c.req.valid('param');
      await authorize(c, need.group(g, 'delete'));
      await deleteGroup(d, g);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/groups/{g}/offsets:reset',
      operationId: 'resetOffsets',
      request: {
        params: z.object({ g: GroupName }),
        body: { content: { 'application/json': { schema: ResetBody } }, required: true },
      },
      responses: {
        200: json(
          z.object({
            topic: TopicNameField,
            dryRun: z.boolean(),
            offsets: z.array(z.object({ partition: z.number().int(), offset: z.number().int() })),
          }),
          'The new offsets (dry run unless `"dryRun": false`)',
        ),
        ...Conflict,
        ...OutOfRange,
        ...errors,
      },
    }),
    async (c) => {
      const { g } = c.req.valid('param');
      const body = c.req.valid('json');
      // a dry run only shows where the offsets would go
      await authorize(c, need.group(g, body.dryRun === false ? 'alter' : 'describe'), ...consumes([body.topic]));
      return c.json(await resetOffsets(d, g, body), 200);
    },
  );
}
