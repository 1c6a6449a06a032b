/**
 * What the routes and middleware of the HTTP app share per request, the one way an error
 * answer is written (so the response hook knows its code without re-reading it), and the one
 * way a route asks for what it needs (`authorize`, before any use case runs).
 */
import type { Context } from 'hono';
import { type Authorizer, forbidden } from '../access/authorizer';
import { CLUSTER, type Operation, type Requirement, type ResourceType } from '../access/model';
import type { ErrorBody } from './errors';

/** Per-request values of the app. */
export type AppEnv = {
  Variables: {
    /** Records produced or fetched, and their key + value bytes. */
    counted?: { records: number; bytes: number };
    requestId: string;
    /** The `code` of an error answer. */
    errorCode?: string;
    /** Who is asking: an IAM principal ARN, or `anonymous`. */
    principal: string;
    authorizer: Authorizer;
    /** What the request was checked for (the audit line names it), and the first requirement refused. */
    checked?: Requirement[];
    denied?: Requirement;
    /** Counted against the caller's request quota already. */
    admitted?: boolean;
  };
};

/** Answers with an error body, recording its code for the response hook. */
export function answerError(c: Context<AppEnv>, body: ErrorBody, status: number) {
  c.set('errorCode', body.error.code);
  // every error names its request, so the operator can find what the server logged of it
  const requestId = c.get('requestId');
  return c.json(requestId ? { error: { ...body.error, requestId } } : body, status as 400);
}

const requirement =
  (type: ResourceType) =>
  (name: string, operation: Operation): Requirement => ({ type, name, operation });

/** The requirements a route states. */
export const need = {
  topic: requirement('topic'),
  group: requirement('group'),
  subscription: requirement('subscription'),
  cluster: (operation: 'describe' | 'alter'): Requirement => ({ type: 'cluster', name: CLUSTER, operation }),
};

/**
 * Counts the request against the caller's quota, once per request (THROTTLED over it): every
 * route that reads or writes the log or its metadata does, through `authorize` or directly.
 */
export async function admit(c: Context<AppEnv>): Promise<void> {
  if (c.get('admitted')) return;
  c.set('admitted', true);
  await c.get('authorizer').admit(c.get('principal'));
}

/** Throws FORBIDDEN unless the caller may do all of `requirements`; records them for the audit line. */
export async function authorize(c: Context<AppEnv>, ...requirements: Requirement[]): Promise<void> {
  await admit(c);
  c.set('checked', [...(c.get('checked') ?? []), ...requirements]);
  const denied = await c.get('authorizer').firstDenied(c.get('principal'), requirements);
  if (denied) {
    c.set('denied', denied);
    throw forbidden(c.get('principal'), denied);
  }
}
