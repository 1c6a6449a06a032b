/**
 * Consumer-group timing and quotas, with units in the names and the relations that make
 * leases safe checked once.
 */
import { InvalidArgumentError } from '../errors';

/** Group timing settings. */
export interface GroupSettings {
  /** A member is live while its last heartbeat is younger than this. @default 30_000 */
  readonly sessionTimeoutMs: number;
  /** How often a member heartbeats (and re-reads the group). @default 3_000 */
  readonly heartbeatIntervalMs: number;
  /**
   * How long an acquired or renewed lease lasts. Must leave room for the skew bound and
   * two heartbeats: `2 × heartbeatIntervalMs + 2 × maxClockSkewMs ≤ leaseDurationMs ≤
   * sessionTimeoutMs − maxClockSkewMs`. @default sessionTimeoutMs − maxClockSkewMs
   */
  readonly leaseDurationMs: number;
  /**
   * Bound on the clock difference between any two members. A holder stops processing at
   * `expiresAt − maxClockSkewMs` by its clock; another member takes the lease only after
   * `expiresAt + maxClockSkewMs` by its clock — so, within the bound, no two members ever
   * process one partition at the same time (and epochs fence what a zombie commits).
   * @default 1_000
   */
  readonly maxClockSkewMs: number;
  /** Live members a group may have (a join beyond it is LIMIT_EXCEEDED). @default 1_000 */
  readonly maxMembersPerGroup: number;
  /**
   * Partitions, over all the topics a member subscribes to: a heartbeat writes at most one
   * lease per partition, so this bounds one heartbeat's writes. @default 4_096
   */
  readonly maxPartitionsPerMember: number;
  /** Push subscriptions of a deployment. @default 1_000 */
  readonly maxSubscriptions: number;
}

/** Validates group settings; derives `leaseDurationMs` when not given. */
export function resolveGroupSettings(o: Partial<GroupSettings> = {}): GroupSettings {
  const sessionTimeoutMs = o.sessionTimeoutMs ?? 30_000;
  const heartbeatIntervalMs = o.heartbeatIntervalMs ?? 3_000;
  const maxClockSkewMs = o.maxClockSkewMs ?? 1_000;
  const leaseDurationMs = o.leaseDurationMs ?? sessionTimeoutMs - maxClockSkewMs;
  const maxMembersPerGroup = o.maxMembersPerGroup ?? 1_000;
  const maxPartitionsPerMember = o.maxPartitionsPerMember ?? 4_096;
  const maxSubscriptions = o.maxSubscriptions ?? 1_000;
  const s = {
    sessionTimeoutMs,
    heartbeatIntervalMs,
    leaseDurationMs,
    maxClockSkewMs,
    maxMembersPerGroup,
    maxPartitionsPerMember,
    maxSubscriptions,
  };
  for (const [k, v, min, max] of [
    ['maxMembersPerGroup', maxMembersPerGroup, 1, 100_000],
    ['maxPartitionsPerMember', maxPartitionsPerMember, 1, 102_400],
    ['maxSubscriptions', maxSubscriptions, 1, 100_000],
    ['sessionTimeoutMs', sessionTimeoutMs, 1_000, 3_600_000],
    ['heartbeatIntervalMs', heartbeatIntervalMs, 100, 600_000],
    ['maxClockSkewMs', maxClockSkewMs, 0, 60_000],
    ['leaseDurationMs', leaseDurationMs, 500, 3_600_000],
  ] as const) {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`group setting ${k} = ${v} must be an integer in [${min}, ${max}]`);
    }
  }
  if (2 * heartbeatIntervalMs + 2 * maxClockSkewMs > leaseDurationMs) {
    throw new InvalidArgumentError(
      `leaseDurationMs (${leaseDurationMs}) must be at least 2 × heartbeatIntervalMs + 2 × maxClockSkewMs (${2 * heartbeatIntervalMs + 2 * maxClockSkewMs})`,
    );
  }
  if (leaseDurationMs + maxClockSkewMs > sessionTimeoutMs) {
    throw new InvalidArgumentError(
      `leaseDurationMs + maxClockSkewMs (${leaseDurationMs + maxClockSkewMs}) must not exceed sessionTimeoutMs (${sessionTimeoutMs})`,
    );
  }
  return s;
}
