/**
 * Schemas and response helpers shared by the HTTP routes (and the OpenAPI document).
 */
import { z } from '@hono/zod-openapi';
import {
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyKeyProblem,
  MAX_PARTITIONS,
  TOPIC_NAME_PATTERN,
  topicNameProblem,
} from '../settings';

/** Largest safe JSON integer. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A partition number in a body (its existence is checked against the topic). */
export const PartitionNumber = z
  .number()
  .int()
  .min(0)
  .max(MAX_PARTITIONS - 1);

/** The error body of every failed request. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'TOPIC_NOT_FOUND' }),
      message: z.string(),
      retriable: z.boolean(),
    }),
  })
  .openapi('Error');

/** A topic name in a body: the rule is declared in the document and checked by the log. */
export const TopicNameField = z.string().openapi({
  pattern: TOPIC_NAME_PATTERN,
  minLength: 1,
  maxLength: 249,
  description: "1-249 of a-z A-Z 0-9 . _ -; not '.' or '..'; no '__' prefix (reserved)",
  example: 'orders',
});

/** An idempotency key, producer id or member id: declared, and checked with its own message. */
export const KeyField = (what: string) =>
  z
    .string()
    .superRefine((v, ctx) => {
      const problem = idempotencyKeyProblem(v, what);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .openapi({ pattern: IDEMPOTENCY_KEY_PATTERN, minLength: 1, maxLength: 128 });

/** A topic name path parameter, validated by the topic-name rule. */
export const TopicName = z
  .string()
  .superRefine((v, ctx) => {
    const problem = topicNameProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    param: { name: 't', in: 'path' },
    pattern: TOPIC_NAME_PATTERN,
    minLength: 1,
    maxLength: 249,
    example: 'orders',
  });

/** A non-negative integer query or path parameter. */
export const uintQuery = (name: string, max = MAX_SAFE, min = 0) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `${name} must be a non-negative integer`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be an integer in [${min}, ${max}]`)
    .openapi({ type: 'integer', minimum: min, maximum: max, description: `an integer in [${min}, ${max}]` });

/** Listings answer a page at a time: at most `limit` (default and max 1,000) items after `after`. */
export const PageQuery = z.object({
  limit: uintQuery('limit', 1000, 1).optional(),
  after: z.string().min(1).max(249).optional().openapi({ description: 'the `next` of the previous page' }),
});

/** One page of `items` (sorted by `keyOf`): `next` is where the following page starts, when there is one. */
export function page<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  q: { limit?: number | undefined; after?: string | undefined },
): { items: T[]; next?: string } {
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const from = q.after === undefined ? sorted : sorted.filter((i) => keyOf(i) > (q.after as string));
  const limit = q.limit ?? 1000;
  const out = from.slice(0, limit);
  const last = out[out.length - 1];
  return from.length > limit && last !== undefined ? { items: out, next: keyOf(last) } : { items: out };
}

/** The error responses most routes share. */
export const errors = {
  400: { description: 'Invalid input', content: { 'application/json': { schema: ErrorSchema } } },
  403: {
    description: 'FORBIDDEN: the caller lacks an ACL for this (nothing was done)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  404: { description: 'Unknown topic or partition', content: { 'application/json': { schema: ErrorSchema } } },
  503: {
    description: 'Unavailable; retry after `Retry-After`',
    content: { 'application/json': { schema: ErrorSchema } },
  },
};

/** A JSON response of `schema`. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A partition number path parameter (`p`). */
export const PartitionParam = uintQuery('partition', MAX_PARTITIONS - 1).openapi({
  param: { name: 'p', in: 'path' },
  example: '0',
});

/**
 * A schema with OpenAPI 3.1 (JSON Schema) keywords — `propertyNames`, `type` lists,
 * `contentEncoding` — which the metadata type, written for 3.0, does not know. The
 * document is 3.1.
 */
export const schema31 = (schema: Record<string, unknown>) => schema as { type: 'object' };

/**
 * An OpenAPI link: how values of a response feed another operation (runtime expressions such
 * as `$response.body#/name`), so generated clients and stateful fuzzers can follow the API.
 */
export const link = (operationId: string, parameters: Record<string, unknown>, requestBody?: unknown) => ({
  operationId,
  parameters,
  ...(requestBody !== undefined ? { requestBody } : {}),
});
