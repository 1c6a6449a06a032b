/**
 * Errors on the wire: `{"error":{"code","message","retriable"}}` with a fitting status.
 */
import { type ErrorCode, SluiceError } from '../errors';

const STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  INVALID_TOPIC_NAME: 400,
  TOO_MANY_PARTITIONS: 400,
  TOPIC_NOT_FOUND: 404,
  PARTITION_NOT_FOUND: 404,
  TOPIC_EXISTS: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  OUT_OF_ORDER_SEQUENCE: 409,
  CONFLICT: 409,
  FENCED: 409,
  RECORD_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  OFFSET_OUT_OF_RANGE: 416,
  THROTTLED: 429,
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

/** Maps any thrown value to a status and an error body (unknown errors become INTERNAL). */
export function toHttpError(e: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
  if (e instanceof SluiceError) {
    const status = STATUS[e.code] ?? 500;
    const body: ErrorBody = { error: { code: e.code, message: e.message, retriable: e.retriable, ...e.details } };
    return e.retriable && (status === 429 || status === 503)
      ? { status, body, retryAfter: RETRY_AFTER_SECONDS }
      : { status, body };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error', retriable: false } },
  };
}

/** A 400 body for input that failed validation. */
export function invalid(message: string, code: ErrorCode = 'INVALID_ARGUMENT'): ErrorBody {
  return { error: { code, message, retriable: false } };
}
