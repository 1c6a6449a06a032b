/**
 * The lease rules of a consumer group, pure (values in, decisions out; no I/O): when a
 * member is live, when its member item must be written, and what a heartbeat does with one
 * partition's lease. The coordinator reads the group, plans with these, then applies the
 * plan with one conditional write per transition (lib/storage, GroupStore).
 *
 *   holder's view                       others' view
 *   ────────────────────────────────    ─────────────────────────────────────
 *   renew once half the lease is used   free, or expired by more than the skew
 *   stop at expiresAt − skew            bound: acquire (epoch + 1)
 *
 * The skew bound on both sides is what keeps a holder whose clock runs late from
 * overlapping with the next owner (ARCHITECTURE §6).
 */
import type { LeaseRecord, MemberRecord } from '../storage/ports';
import type { GroupSettings } from './settings';

/** A member counts as live while its last heartbeat is within its session. */
export function isLive(m: Pick<MemberRecord, 'lastHeartbeatMs' | 'sessionTimeoutMs'>, nowMs: number): boolean {
  return m.lastHeartbeatMs + m.sessionTimeoutMs > nowMs;
}

/**
 * Whether a heartbeat must write the member item: on joining, when its subscription or its
 * stalled partitions changed (every member computes the target from the stored items, so
 * that must be visible at once), and otherwise once a third of the session has passed.
 */
export function memberWriteDue(
  stored: Pick<MemberRecord, 'topics' | 'stalled' | 'lastHeartbeatMs'> | undefined,
  wanted: { topics: readonly string[]; stalled: readonly string[] },
  nowMs: number,
  sessionTimeoutMs: number,
): { write: boolean; newSubscription: boolean } {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const sameTopics = stored !== undefined && same(stored.topics, wanted.topics);
  const sameStalled = same(stored?.stalled ?? [], wanted.stalled);
  const fresh = stored !== undefined && nowMs - stored.lastHeartbeatMs < sessionTimeoutMs / 3;
  return { write: !(sameTopics && sameStalled && fresh), newSubscription: !sameTopics };
}

/** What a heartbeat does with one partition's lease. */
export type LeaseStep =
  /** Ours, with more than half of it left: nothing to write. */
  | { readonly kind: 'keep'; readonly lease: LeaseRecord }
  /** Ours and half used: extend it at its epoch. */
  | { readonly kind: 'renew'; readonly epoch: number }
  /** Assigned to us and free (or expired beyond the skew bound): take it at epoch + 1. */
  | { readonly kind: 'acquire' }
  /** Assigned to us but another member still holds it: wait for its release or expiry. */
  | { readonly kind: 'wait' }
  /** Ours but assigned elsewhere: the member commits and releases it next time. */
  | { readonly kind: 'revoke'; readonly epoch: number }
  /** Neither ours nor for us. */
  | { readonly kind: 'none' };

/** The step for one partition, given its lease, who the target says should own it, and the clock. */
export function leaseStep(
  lease: LeaseRecord | undefined,
  memberId: string,
  target: string | undefined,
  nowMs: number,
  s: Pick<GroupSettings, 'leaseDurationMs' | 'maxClockSkewMs'>,
): LeaseStep {
  const mine = lease?.owner === memberId;
  if (target !== memberId) return mine && lease ? { kind: 'revoke', epoch: lease.epoch } : { kind: 'none' };
  if (mine && lease) {
    return lease.expiresAtMs - nowMs > s.leaseDurationMs / 2
      ? { kind: 'keep', lease }
      : { kind: 'renew', epoch: lease.epoch };
  }
  return !lease?.owner || lease.expiresAtMs < nowMs - s.maxClockSkewMs ? { kind: 'acquire' } : { kind: 'wait' };
}

/**
 * The member a lease counts for when describing the group: its owner until the lease
 * expired beyond the skew bound (after that anyone may take it), else nobody.
 */
export function currentOwner(lease: LeaseRecord | undefined, nowMs: number, maxClockSkewMs: number): string | null {
  return lease?.owner && lease.expiresAtMs + maxClockSkewMs >= nowMs ? lease.owner : null;
}
