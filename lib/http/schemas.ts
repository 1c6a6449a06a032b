/**
 * Schemas and response helpers shared by the HTTP routes (and the OpenAPI document).
 */
import { z } from '@hono/zod-openapi';
import { MAX_PARTITIONS, topicNameProblem } from '../settings';

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

/** A topic name path parameter, validated by the topic-name rule. */
export const TopicName = z
  .string()
  .superRefine((v, ctx) => {
    const problem = topicNameProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ param: { name: 't', in: 'path' }, example: 'orders' });

/** A non-negative integer query or path parameter. */
export const uintQuery = (name: string, max = MAX_SAFE) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `${name} must be a non-negative integer`)
    .transform(Number)
    .refine((n) => n <= max, `${name} must be at most ${max}`);

/** The error responses most routes share. */
export const errors = {
  400: { description: 'Invalid input', content: { 'application/json': { schema: ErrorSchema } } },
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
