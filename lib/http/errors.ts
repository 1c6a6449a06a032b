/**
 * Errors on the wire: `{"error":{"code","message","retriable"}}` with a fitting status.
 */
import { type ErrorCode, SluiceError } from '../errors';

const STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  METHOD_NOT_ALLOWED: 405,
  FORBIDDEN: 403,
  INVALID_TOPIC_NAME: 400,
  TOO_MANY_PARTITIONS: 400,
  TOPIC_NOT_FOUND: 404,
  PARTITION_NOT_FOUND: 404,
  INVALID_PARTITIONS: 409,
  TOPIC_EXISTS: 409,
  SUBSCRIPTION_NOT_FOUND: 404,
  SUBSCRIPTION_EXISTS: 409,
  ACL_NOT_FOUND: 404,
  LIMIT_EXCEEDED: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  OUT_OF_ORDER_SEQUENCE: 409,
  CONFLICT: 409,
  FENCED: 409,
  RECORD_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  OFFSET_OUT_OF_RANGE: 416,
  THROTTLED: 429,
  PRODUCER_BUFFER_FULL: 429, // raised by the client, never on the wire
  UNAVAILABLE: 503,
  OUTCOME_UNKNOWN: 503,
  CORRUPT_DATA: 500,
  INTERNAL: 500,
};

/** Seconds a client should wait before retrying a retriable error. */
export const RETRY_AFTER_SECONDS = 1;

/** The body of an error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; retriable: boolean; [detail: string]: unknown };
}

/**
 * What the operator is told about a server-side failure: a bug or corrupt data (a 500,
 * `unexpected`), or a storage service that failed or throttled after the SDK's retries (503 /
 * 429: expected, but worth a warning with its cause).
 */
export interface UnexpectedError {
  readonly error: unknown;
  /** A bug or corrupt data (the UnexpectedErrors alarm); false: a storage failure. @default true */
  readonly unexpected?: boolean;
  readonly method: string;
  /** The matched route pattern, e.g. `/v1/topics/:t/records`. */
  readonly route: string;
  readonly requestId: string;
}

/** Told about every unexpected error, once (logs and metrics at the edge). */
export type UnexpectedErrorReporter = (u: UnexpectedError) => void;

/** The default reporter: one JSON line on stderr with the error's stack. */
export const reportToStderr: UnexpectedErrorReporter = (u) => {
  const e = u.error instanceof Error ? u.error : new Error(String(u.error));
  const unexpected = u.unexpected ?? true;
  console.error(
    JSON.stringify({
      level: unexpected ? 'ERROR' : 'WARN',
      message: unexpected ? 'unexpected error' : 'storage error',
      method: u.method,
      route: u.route,
      requestId: u.requestId,
      error: {
        name: e.name,
        message: e.message,
        stack: e.stack,
        ...(e.cause ? { cause: describeCause(e.cause) } : {}),
      },
    }),
  );
};

/** A cause as the operator's log shows it: the SDK's name and message (and HTTP status). */
function describeCause(cause: unknown): string {
  const c = cause as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = c?.$metadata?.httpStatusCode;
  return c instanceof Error ? `${c.name}: ${c.message}${status ? ` (HTTP ${status})` : ''}` : String(cause);
}

/** A storage failure the SDK gave up on (its error is the cause): worth the operator's warning. */
export function isStorageFailure(e: unknown): boolean {
  return e instanceof SluiceError && e.retriable && e.cause !== undefined && !isUnexpected(e);
}

/**
 * A 500: a bug (anything that is not a SluiceError, or INTERNAL), or bytes that failed their
 * checks (CORRUPT_DATA). Expected conditions, throttling and unavailability are not.
 */
export function isUnexpected(e: unknown): boolean {
  return !(e instanceof SluiceError) || e.code === 'INTERNAL' || e.code === 'CORRUPT_DATA';
}

/**
 * Maps any thrown value to a status and an error body. A bug becomes INTERNAL with a
 * generic message and the request id (the details go to the operator's log, not the
 * client). Whether it is `retriable` depends on the request, not the error: a read, or a
 * write carrying an Idempotency-Key (the client producer always sends one), can be retried
 * safely whatever happened; any other write may have been applied, so it is not.
 */
export function toHttpError(
  e: unknown,
  request: { requestId?: string; safeToRetry?: boolean } = {},
): { status: number; body: ErrorBody; retryAfter?: number } {
  if (e instanceof SluiceError && e.code !== 'INTERNAL') {
    const status = STATUS[e.code] ?? 500;
    const body: ErrorBody = { error: { code: e.code, message: e.message, retriable: e.retriable, ...e.details } };
    return e.retriable && (status === 429 || status === 503)
      ? { status, body, retryAfter: RETRY_AFTER_SECONDS }
      : { status, body };
  }
  const id = request.requestId;
  const retriable = request.safeToRetry ?? false;
  return {
    status: 500,
    body: {
      error: {
        code: 'INTERNAL',
        message:
          `internal error${id ? ` (request id ${id}; the server logged it)` : ''}; ` +
          (retriable
            ? 'retrying this request is safe'
            : 'the request may have been applied: check before retrying, or send writes with an Idempotency-Key'),
        retriable,
        ...(id ? { requestId: id } : {}),
      },
    },
  };
}

/** A 400 body for input that failed validation. */
export function invalid(message: string, code: ErrorCode = 'INVALID_ARGUMENT'): ErrorBody {
  return { error: { code, message, retriable: false } };
}
