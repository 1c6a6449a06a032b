/**
 * Who sent a request, as the transport authenticated it. On AWS: the IAM principal of a
 * Function URL request with `AWS_IAM` auth, from the event's request context
 * (`requestContext.authorizer.iam.userArn`). A request with no such context (LocalStack's
 * Function URLs authenticate nobody) has no principal.
 */
import { createHash } from 'node:crypto';
import { identitiesOf } from './model';

interface UrlRequestEnv {
  readonly requestContext?: { readonly authorizer?: { readonly iam?: { readonly userArn?: unknown } } };
}

/** The caller's ARN from a Function URL event's context (hono's Lambda adapter's `c.env`). */
export function principalOfUrlRequest(env: unknown): string | undefined {
  const arn = (env as UrlRequestEnv | undefined)?.requestContext?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn.startsWith('arn:') ? arn : undefined;
}

/**
 * The header `npm start`'s server takes as the caller's identity: locally nobody signs
 * requests, so a developer trying ACLs (`SLUICE_ACCESS=acl npm start`) names the principal a
 * request stands for. Only the local server reads it; a deployed API ignores it.
 */
export const LOCAL_PRINCIPAL_HEADER = 'x-sluice-principal';

/** The principal a local request names (an ARN), if any. */
export function principalOfLocalRequest(header: string | undefined): string | undefined {
  return header?.startsWith('arn:') && header.length <= 2048 ? header : undefined;
}

/**
 * The scope of a caller's idempotency keys: its identity as ACLs name it (a role session's
 * role, so a retry from another session of the same role still meets its key), hashed.
 */
export function idempotencyScopeOf(principal: string): string {
  const identity = identitiesOf(principal).at(-1) ?? principal;
  return createHash('sha256').update(identity).digest('hex').slice(0, 16);
}
