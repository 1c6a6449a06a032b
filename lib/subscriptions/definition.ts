/**
 * A push subscription's definition: its name (it is a consumer group of that name under the
 * hood: same leases, committed offsets and lag), its topics, its target and its options. The
 * options keep the names, ranges and defaults of Lambda's event-source mappings (camelCase)
 * wherever one exists; the one rule for each lives here, for the HTTP API, the admin client
 * and the CDK construct alike.
 */
import { z } from 'zod';
import { groupNameProblem, topicNameProblem } from '../settings';

/** Lambda's invocation payload limit, and so the largest batch a delivery carries. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Lambda's default batching window for Kafka event sources (not expressible in its whole seconds). */
export const DEFAULT_BATCHING_WINDOW_MS = 500;

const name = (problem: (v: unknown) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });

/** A Lambda function ARN (optionally qualified): the rule, and the pattern the API document declares. */
export const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;

export const LambdaTarget = z
  .object({ type: z.literal('lambda'), functionArn: z.string().regex(LAMBDA_ARN, 'must be a Lambda function ARN') })
  .strict();
const PORT = '(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?';
const PATH_AND_QUERY = "(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?([?][A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?";
/** DNS labels; the last starts with a letter (a numeric one would make the host an IPv4 address). */
const HOST =
  '((?!xn--)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?[.]){0,8}(?!xn--)[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** An https:// webhook: the rule, and the pattern the API document declares (every match parses as a URL). */
export const WEBHOOK_URL = new RegExp(`^https://${HOST}${PORT}${PATH_AND_QUERY}$`);
/** The same, or http:// to this machine (`npm start`). */
export const LOCAL_WEBHOOK_URL = new RegExp(
  `^(https://${HOST}|http://(localhost|127[.]0[.]0[.]1|\\[::1\\]))${PORT}${PATH_AND_QUERY}$`,
);

export const WebhookTarget = z
  .object({
    type: z.literal('webhook'),
    url: z.string().max(2048).regex(LOCAL_WEBHOOK_URL, 'must be an https:// URL (http:// only to localhost)'),
  })
  .strict();
export const ModuleTarget = z.object({ type: z.literal('module'), path: z.string().min(1).max(1024) }).strict();
export const SubscriptionTarget = z.discriminatedUnion('type', [LambdaTarget, WebhookTarget, ModuleTarget]);

/**
 * The options of a subscription that may change after it is created (`PATCH`): all but its
 * starting position, which — as on Lambda's event-source mappings — is fixed at creation.
 */
export const ChangeableOptionFields = {
  /** Records per delivery at most (Lambda's BatchSize). */
  batchSize: z.number().int().min(1).max(10_000).default(100),
  /** How long records are gathered before a delivery (Lambda's MaximumBatchingWindowInSeconds; unset: 500 ms). */
  maximumBatchingWindowInSeconds: z.number().int().min(0).max(300).optional(),
  /** Bytes of a delivery's event at most. */
  maximumPayloadBytes: z.number().int().min(1024).max(MAX_PAYLOAD_BYTES).default(MAX_PAYLOAD_BYTES),
  /** Retries of a failing batch before its records are dead-lettered; -1: until they expire. */
  maximumRetryAttempts: z.number().int().min(-1).max(10_000).default(-1),
  /** Records older than this are dead-lettered, not delivered; -1: no limit. */
  maximumRecordAgeInSeconds: z
    .union([z.literal(-1), z.number().int().min(60).max(604_800)], { error: 'must be -1 or 60-604800' })
    .default(-1),
  /** Splits a failing batch in two and retries each half (Lambda's BisectBatchOnFunctionError). */
  bisectBatchOnFunctionError: z.boolean().default(false),
  /** `['ReportBatchItemFailures']`: the handler may answer `batchItemFailures`. */
  functionResponseTypes: z.array(z.literal('ReportBatchItemFailures')).max(1).default([]),
  /** Where records go that fail past the retries or age (with `x-sluice-error*` headers); unset: they are skipped and counted. */
  deadLetterTopic: name(topicNameProblem).optional(),
  /** A disabled subscription delivers nothing and resumes where it stopped. */
  enabled: z.boolean().default(true),
  /**
   * Batches in flight per partition (Lambda's ParallelizationFactor): 1 only. A partition's
   * committed offset is one number, so with batches of different keys in flight it could only
   * be the lowest unfinished offset: one key's failing batch would hold back every other
   * key's commits (all re-delivered after a crash) and its retry count could not live in
   * the offset's metadata. Partitions are free while idle: add partitions for concurrency.
   */
  parallelizationFactor: z
    .literal(1, {
      error:
        'only 1 is supported (one batch in flight per partition keeps the commit exact); add partitions to the topic for more concurrency',
    })
    .default(1),
};

/** Where a new subscription starts (Lambda's StartingPosition and StartingPositionTimestamp). */
export const StartingPositionFields = {
  startingPosition: z.enum(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']).default('LATEST'),
  /** With AT_TIMESTAMP: seconds since the epoch. */
  startingPositionTimestamp: z.number().min(0).max(253_402_300_799).optional(),
};

export const SubscriptionOptions = z
  .object({ ...ChangeableOptionFields, ...StartingPositionFields })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.startingPosition === 'AT_TIMESTAMP') !== (o.startingPositionTimestamp !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['startingPositionTimestamp'],
        message: 'is required with startingPosition AT_TIMESTAMP, and only then',
      });
    }
  });

export const SubscriptionDefinition = z
  .object({
    /** The subscription's name: the consumer group it reads as. */
    name: name(groupNameProblem),
    topics: z.array(name(topicNameProblem)).min(1).max(100),
    target: SubscriptionTarget,
    options: SubscriptionOptions.default(SubscriptionOptions.parse({})),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (new Set(d.topics).size < d.topics.length)
      ctx.addIssue({ code: 'custom', path: ['topics'], message: 'names a topic twice' });
  });

export type SubscriptionDefinition = z.output<typeof SubscriptionDefinition>;
export type SubscriptionInput = z.input<typeof SubscriptionDefinition>;

/** The batching window in ms: the option's seconds, or Lambda's 500 ms default for Kafka. */
export function batchingWindowMs(o: SubscriptionDefinition['options']): number {
  return o.maximumBatchingWindowInSeconds === undefined
    ? DEFAULT_BATCHING_WINDOW_MS
    : o.maximumBatchingWindowInSeconds * 1000;
}

/**
 * Checks a definition; returns it with every default filled in, or the problems, one line
 * each with the field it is about (what a 400 answer lists).
 */
export function parseSubscription(input: unknown): { ok: SubscriptionDefinition } | { problems: string[] } {
  const r = SubscriptionDefinition.safeParse(input);
  if (r.success) return { ok: r.data };
  return { problems: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'subscription'}: ${i.message}`) };
}

/** A subscription as stored: its definition, where each partition started, and its version. */
export interface StoredSubscription {
  readonly definition: SubscriptionDefinition;
  /**
   * Where each partition of each topic started (by topic id), resolved from the starting
   * position when the subscription (or the topic in it) was added. A partition with a
   * committed offset resumes there instead; one added to the topic later starts at its start.
   */
  readonly start: Readonly<Record<string, readonly number[]>>;
  readonly version: number;
  readonly createdMs: number;
  readonly updatedMs: number;
}

/** The stored form of a subscription (`SubscriptionRecord.definition` holds this JSON). */
export function serializeSubscription(s: Pick<StoredSubscription, 'definition' | 'start'>): string {
  return JSON.stringify({ definition: s.definition, start: s.start });
}

/** Reads a stored subscription back; the definition is re-checked, so a bad item fails loudly. */
export function deserializeSubscription(r: {
  definition: string;
  version: number;
  createdMs: number;
  updatedMs: number;
}): StoredSubscription {
  const raw = JSON.parse(r.definition) as { definition: unknown; start: Record<string, number[]> };
  return {
    definition: SubscriptionDefinition.parse(raw.definition),
    start: raw.start ?? {},
    version: r.version,
    createdMs: r.createdMs,
    updatedMs: r.updatedMs,
  };
}

/** A subscription as the API answers it: its definition, version and times. */
export type SubscriptionView = SubscriptionDefinition & {
  readonly version: number;
  readonly createdMs: number;
  readonly updatedMs: number;
};

export function subscriptionView(s: StoredSubscription): SubscriptionView {
  return { ...s.definition, version: s.version, createdMs: s.createdMs, updatedMs: s.updatedMs };
}
