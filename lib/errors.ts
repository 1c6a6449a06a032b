/**
 * The domain error tree. Every error Sluice raises is a `SluiceError` with a stable
 * string `code` and a `retriable` flag, grouped by what the caller should do:
 *
 * - fix the input:        InvalidArgumentError, TopicNotFoundError, ... (`retriable: false`)
 * - retry as is:          RetriableError (throttled, unavailable) (`retriable: true`)
 * - refresh then retry:   ConflictError (`retriable: true`)
 * - stop:                 FencedError (`retriable: false`)
 * - data corruption:      CorruptDataError (`retriable: true`: a re-read may succeed;
 *                         bytes that fail their checksum are never returned as data)
 * - outcome unknown:      OutcomeUnknownError (retry with the same idempotency key)
 *
 * Vendor (AWS SDK) errors are translated into these at the storage adapter boundary;
 * nothing above `lib/storage` sees an SDK error. Expected conditions ("no new data
 * yet", "lost a CAS race") are return values, not exceptions.
 */

/** Stable error codes; they appear in the HTTP API and in client errors. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'METHOD_NOT_ALLOWED'
  | 'FORBIDDEN'
  | 'INVALID_TOPIC_NAME'
  | 'TOPIC_NOT_FOUND'
  | 'TOPIC_EXISTS'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'SUBSCRIPTION_EXISTS'
  | 'ACL_NOT_FOUND'
  | 'LIMIT_EXCEEDED'
  | 'PARTITION_NOT_FOUND'
  | 'INVALID_PARTITIONS'
  | 'OFFSET_OUT_OF_RANGE'
  | 'RECORD_TOO_LARGE'
  | 'REQUEST_TOO_LARGE'
  | 'TOO_MANY_PARTITIONS'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'OUT_OF_ORDER_SEQUENCE'
  | 'CONFLICT'
  | 'FENCED'
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'OUTCOME_UNKNOWN'
  | 'CORRUPT_DATA'
  | 'PRODUCER_BUFFER_FULL'
  | 'INTERNAL';

/** Base class: every error Sluice raises carries a code and whether a retry can help. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/** The input is wrong; nothing was written. Fix the input. */
export class InvalidArgumentError extends SluiceError {
  constructor(
    message: string,
    code:
      | 'INVALID_ARGUMENT'
      | 'METHOD_NOT_ALLOWED'
      | 'INVALID_TOPIC_NAME'
      | 'RECORD_TOO_LARGE'
      | 'REQUEST_TOO_LARGE'
      | 'TOO_MANY_PARTITIONS' = 'INVALID_ARGUMENT',
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { details });
  }
}

/** The topic does not exist (or was deleted; a re-created name is a new topic). */
export class TopicNotFoundError extends SluiceError {
  constructor(topic: string) {
    super('TOPIC_NOT_FOUND', `topic "${topic}" does not exist`, { details: { topic } });
  }
}

/** A topic of that name already exists. */
export class TopicExistsError extends SluiceError {
  constructor(topic: string) {
    super('TOPIC_EXISTS', `topic "${topic}" already exists`, { details: { topic } });
  }
}

/** No subscription of that name. */
export class SubscriptionNotFoundError extends SluiceError {
  constructor(name: string) {
    super('SUBSCRIPTION_NOT_FOUND', `subscription "${name}" does not exist`, { details: { subscription: name } });
  }
}

/** A subscription of that name already exists. */
export class SubscriptionExistsError extends SluiceError {
  constructor(name: string) {
    super('SUBSCRIPTION_EXISTS', `subscription "${name}" already exists`, { details: { subscription: name } });
  }
}

/** The partition is not in `[0, partitions)` of the topic. */
export class PartitionNotFoundError extends SluiceError {
  constructor(topic: string, partition: number, partitions: number) {
    super(
      'PARTITION_NOT_FOUND',
      `topic "${topic}" has partitions 0..${partitions - 1}; partition ${partition} does not exist`,
      { details: { topic, partition, partitions } },
    );
  }
}

/** A read outside `[startOffset, highWatermark]`; carries both bounds. */
export class OffsetOutOfRangeError extends SluiceError {
  readonly startOffset: number;
  readonly highWatermark: number;
  constructor(offset: number, startOffset: number, highWatermark: number, why?: string) {
    super(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset} is outside [${startOffset}, ${highWatermark}]${why ? `: ${why}` : ''}`,
      { details: { offset, startOffset, highWatermark } },
    );
    this.startOffset = startOffset;
    this.highWatermark = highWatermark;
  }
}

/** The idempotency key (or producer sequence) was already used for a different payload. */
export class IdempotencyKeyReusedError extends SluiceError {
  constructor(message: string) {
    super('IDEMPOTENCY_KEY_REUSED', message);
  }
}

/** A producer sequence arrived out of order: an earlier sequence has not been committed. */
export class OutOfOrderSequenceError extends SluiceError {
  constructor(producerId: string, expected: number, got: number) {
    super('OUT_OF_ORDER_SEQUENCE', `producer ${producerId} sent sequence ${got}, expected ${expected}`, {
      retriable: true,
      details: { producerId, expected, got },
    });
  }
}

/**
 * A quota would be exceeded (topics, members of a group, subscriptions, ACL entries,
 * partitions a member reads); nothing was done. Names the setting and its value.
 */
export class LimitExceededError extends SluiceError {
  constructor(message: string, details: { setting: string; limit: number }) {
    super('LIMIT_EXCEEDED', message, { details });
  }
}

/** The caller is not allowed this; nothing was done. Ask an admin for an ACL. */
export class ForbiddenError extends SluiceError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('FORBIDDEN', message, { details });
  }
}

/** Lost a race against another writer; refresh state and retry. */
export class ConflictError extends SluiceError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CONFLICT', message, { retriable: true, details });
  }
}

/** A zombie: the caller no longer holds the lease/epoch it acts under. Stop. */
export class FencedError extends SluiceError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('FENCED', message, { details });
  }
}

/** Transient: throttled or unavailable. Retry with backoff. */
export class RetriableError extends SluiceError {
  constructor(code: 'THROTTLED' | 'UNAVAILABLE', message: string, cause?: unknown) {
    super(code, message, { retriable: true, cause });
  }
}

/**
 * The operation may or may not have been applied and it could not be resolved in time.
 * Retry with the same idempotency key: that is always safe.
 */
export class OutcomeUnknownError extends SluiceError {
  constructor(message: string, cause?: unknown) {
    super('OUTCOME_UNKNOWN', message, { retriable: true, cause });
  }
}

/** Bytes failed their checksum or structure check; they are never returned as data. */
export class CorruptDataError extends SluiceError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CORRUPT_DATA', message, { retriable: true, details });
  }
}

/** A bug or an impossible state; never retried blindly. */
export class InternalError extends SluiceError {
  constructor(message: string, cause?: unknown) {
    super('INTERNAL', message, { cause });
  }
}

/** True if `e` is a SluiceError the caller may retry. */
export function isRetriable(e: unknown): boolean {
  return e instanceof SluiceError && e.retriable;
}
