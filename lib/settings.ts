/**
 * Settings are data: one typed object, units in the names, validated once with an error
 * that names the field, the value and the allowed range.
 */
import { InvalidArgumentError } from './errors';

/** Limits and tunables of the log. Every field has a documented default. */
export interface LogSettings {
  /** Max partitions of a topic. @default 1024 */
  readonly maxPartitionsPerTopic: number;
  /** Max topics of a deployment (a create beyond it is LIMIT_EXCEEDED). @default 10_000 */
  readonly maxTopics: number;
  /** Max records in one produce call. @default 10_000 */
  readonly maxRecordsPerCall: number;
  /** Max bytes of one record (key + value + header names and values). @default 1 MiB */
  readonly maxRecordBytes: number;
  /** Max bytes of all records of one produce call. @default 5 MiB */
  readonly maxCallBytes: number;
  /** Max headers per record. @default 64 */
  readonly maxHeadersPerRecord: number;
  /**
   * Max length of a header name in characters (Unicode code points, as JSON Schema counts
   * them, so the HTTP document declares it; at most 4 UTF-8 bytes each). @default 256
   */
  readonly maxHeaderNameLength: number;
  /**
   * Max partitions one produce call may touch. The call's transaction must also fit
   * DynamoDB's 100 items: 2 per head shard of 48 partitions, the segment file and a dedupe
   * item (`CommitBudget`), so a call spans at most 49 head shards. A keyed flush over a
   * 288-partition topic is one call (one PUT, one commit), not two. @default 1024
   */
  readonly maxPartitionsPerCall: number;
  /** How long an idempotency key or producer sequence is remembered. @default 24 h */
  readonly dedupeWindowMs: number;
  /** Attempts of the commit (CAS races) before giving up with a retriable error. @default 50 */
  readonly maxCommitAttempts: number;
  /** Wall time a produce call may spend committing one segment. @default 30 s */
  readonly commitDeadlineMs: number;
  /** Max records one fetch returns. @default 10_000 */
  readonly maxFetchRecords: number;
  /** Max bytes one fetch returns (one record larger than this is still returned). @default 6 MiB */
  readonly maxFetchBytes: number;
  /** Max long-poll wait of a fetch. @default 20 s */
  readonly maxFetchWaitMs: number;
  /** How soon a long-poll first re-reads the partition head. @default 200 ms */
  readonly fetchPollIntervalMs: number;
  /**
   * The longest pause between a long-poll's re-reads: the pause doubles from
   * `fetchPollIntervalMs` up to this, so an idle partition costs a few eventually
   * consistent reads per wait, not one strong read every 200 ms. @default 1 s
   */
  readonly fetchPollMaxIntervalMs: number;
  /** Bytes of immutable chunk data cached in memory per process. @default 64 MiB */
  readonly chunkCacheBytes: number;
  /** Chunks of one object closer than this are fetched with one Range GET. @default 256 KiB */
  readonly coalesceGapBytes: number;
  /** Topic metadata is cached this long (a stale cache is safe: commits check the topic id). @default 5 s */
  readonly topicCacheMs: number;
  /** Codec of new chunks. @default 'none' */
  readonly codec: 'none' | 'gzip';
}

/** The defaults. */
export const DEFAULT_LOG_SETTINGS: LogSettings = {
  maxPartitionsPerTopic: 1024,
  maxTopics: 10_000,
  maxRecordsPerCall: 10_000,
  maxRecordBytes: 1024 * 1024,
  maxCallBytes: 5 * 1024 * 1024,
  maxHeadersPerRecord: 64,
  maxHeaderNameLength: 256,
  maxPartitionsPerCall: 1024,
  dedupeWindowMs: 24 * 60 * 60 * 1000,
  maxCommitAttempts: 50,
  commitDeadlineMs: 30_000,
  maxFetchRecords: 10_000,
  maxFetchBytes: 6 * 1024 * 1024,
  maxFetchWaitMs: 20_000,
  fetchPollIntervalMs: 200,
  fetchPollMaxIntervalMs: 1000,
  chunkCacheBytes: 64 * 1024 * 1024,
  coalesceGapBytes: 256 * 1024,
  topicCacheMs: 5_000,
  codec: 'none',
};

/** The most partitions any topic can have, whatever the settings: partition numbers are below it. */
export const MAX_PARTITIONS = 1024;

const RANGES: { [K in keyof LogSettings]?: readonly [number, number] } = {
  maxPartitionsPerTopic: [1, MAX_PARTITIONS],
  maxTopics: [1, 1_000_000],
  maxRecordsPerCall: [1, 100_000],
  maxRecordBytes: [1, 64 * 1024 * 1024],
  maxCallBytes: [1, 256 * 1024 * 1024],
  maxHeadersPerRecord: [0, 10_000],
  maxHeaderNameLength: [1, 16_383], // ×4 bytes fits the format's u16 name length
  maxPartitionsPerCall: [1, 4096],
  dedupeWindowMs: [60_000, 30 * 24 * 3600_000],
  maxCommitAttempts: [1, 10_000],
  commitDeadlineMs: [100, 600_000],
  maxFetchRecords: [1, 1_000_000],
  maxFetchBytes: [1, 256 * 1024 * 1024],
  maxFetchWaitMs: [0, 900_000],
  fetchPollIntervalMs: [1, 60_000],
  fetchPollMaxIntervalMs: [1, 60_000],
  chunkCacheBytes: [0, 64 * 1024 * 1024 * 1024],
  coalesceGapBytes: [0, 64 * 1024 * 1024],
  topicCacheMs: [0, 3_600_000],
};

/** Merges overrides onto the defaults and validates every field. */
export function resolveLogSettings(overrides: Partial<LogSettings> = {}): LogSettings {
  const s = { ...DEFAULT_LOG_SETTINGS, ...overrides };
  for (const [field, range] of Object.entries(RANGES) as [keyof LogSettings, readonly [number, number]][]) {
    const v = s[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
      throw new InvalidArgumentError(
        `setting ${field} = ${String(v)} is out of range: an integer in [${range[0]}, ${range[1]}]`,
      );
    }
  }
  if (s.codec !== 'none' && s.codec !== 'gzip') {
    throw new InvalidArgumentError(`setting codec = ${String(s.codec)} must be 'none' or 'gzip'`);
  }
  return s;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** The topic- and group-name rule as one ECMA-262 pattern (what the OpenAPI document declares). */
export const TOPIC_NAME_PATTERN = '^(?!__)(?!\\.\\.?$)[a-zA-Z0-9._-]{1,249}$';

/** The idempotency-key, producer-id and member-id rule as a pattern. */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9._:~-]{1,128}$';

/**
 * Kafka's topic-name rule: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..`; Sluice also reserves
 * the `__` prefix for internal topics. Returns an error message, or undefined if valid.
 */
export function topicNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'topic name must be a string';
  if (!TOPIC_NAME.test(name)) {
    return `topic name "${name.slice(0, 300)}" must be 1-249 characters of a-z, A-Z, 0-9, '.', '_' and '-'`;
  }
  if (name === '.' || name === '..') return `topic name "${name}" is not allowed`;
  if (name.startsWith('__')) return `topic name "${name}" starts with "__", which is reserved for internal topics`;
  return undefined;
}

/** Group names follow the topic-name rule (1-249 of `[a-zA-Z0-9._-]`). */
export function groupNameProblem(group: unknown): string | undefined {
  return topicNameProblem(group)?.replace(/topic name/g, 'group name');
}

const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** Idempotency keys and producer ids: 1-128 characters of `[A-Za-z0-9._:~-]`. */
export function idempotencyKeyProblem(key: unknown, what = 'idempotency key'): string | undefined {
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    return `${what} must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':', '~' and '-'`;
  }
  return undefined;
}
