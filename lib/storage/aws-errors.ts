/**
 * Translation of AWS SDK errors into the domain error tree, used only by the adapters.
 * The SDK has already retried (with its own backoff) by the time an error reaches us.
 */
import { InternalError, RetriableError, type SluiceError } from '../errors';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
]);

const TRANSIENT = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'TransactionInProgressException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The SDK error's name (or Node error code). */
export function awsErrorName(e: unknown): string {
  const err = e as AwsLikeError;
  return err?.name && err.name !== 'Error' ? err.name : (err?.code ?? 'Error');
}

/**
 * Maps an SDK error raised while doing `what` to a SluiceError whose message says what failed
 * and the SDK's error name only; the SDK error is its `cause`.
 */
export function translateAwsError(e: unknown, what: string): SluiceError {
  const err = e as AwsLikeError;
  const name = awsErrorName(e);
  const status = err?.$metadata?.httpStatusCode;
  // the SDK's message may hold account ids and ARNs (an AccessDenied names the role and the
  // table): it stays in the cause, for the operator's log; the message is ours and the name
  const message = `${what}: ${name}${status !== undefined ? ` (HTTP ${status})` : ''}`;
  if (THROTTLING.has(name) || status === 429 || status === 503) return new RetriableError('THROTTLED', message, e);
  if (
    TRANSIENT.has(name) ||
    TRANSIENT.has(err?.code ?? '') ||
    (status !== undefined && status >= 500) ||
    err?.$retryable
  )
    return new RetriableError('UNAVAILABLE', message, e);
  if (status === undefined && !(e instanceof Error && 'name' in e && name.endsWith('Exception')))
    // no HTTP response at all: a network failure; the request may or may not have arrived
    return new RetriableError('UNAVAILABLE', message, e);
  return new InternalError(message, e);
}

/** Runs an SDK call, translating any error it raises (after the SDK's own retries). */
export async function translated<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw translateAwsError(e, what);
  }
}
