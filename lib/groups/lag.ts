/**
 * Consumer lag of every registered group, for metrics and alarms: per group the total
 * records not yet consumed, the worst partition, and the age of the oldest unconsumed
 * record. Cost per group: one group Query, one describe per topic, one index read per
 * lagging partition. A group with nothing left is forgotten (unregistered) an hour after it
 * was last registered, so groups a caller joined and abandoned do not accumulate.
 */
import { TopicNotFoundError } from '../errors';
import { describeGroup, type GroupDeps } from './coordinator';

/** One group's lag summary. */
export interface GroupLag {
  readonly group: string;
  /** Records not yet consumed, summed over the group's partitions. */
  readonly totalLag: number;
  /** The largest lag of one partition. */
  readonly maxPartitionLag: number;
  /** Age of the oldest unconsumed record in the group (ms), 0 when caught up. */
  readonly maxLagMs: number;
  /** Records removed by retention before the group consumed them (summed). */
  readonly skippedByRetention: number;
  readonly partitions: number;
}

/**
 * How long a group with nothing left (no member items, no committed offsets, leases unused —
 * a join that never committed, say) stays registered before the lag pass forgets it.
 */
export const REGISTRY_GRACE_MS = 3_600_000;

/** Forgets an empty group registered more than the grace ago; true if it did. */
async function prunable(d: GroupDeps, group: string): Promise<boolean> {
  const g = await d.groups.readGroup(group);
  const cutoff = d.clock.nowMs() - REGISTRY_GRACE_MS;
  if (g.members.length > 0 || g.offsets.length > 0 || g.leases.some((l) => l.expiresAtMs >= cutoff)) return false;
  // its leases went unused for the grace: gone (each delete conditional: one taken meanwhile stays)
  if ((await d.groups.deleteIdleLeases(group, g.leases, cutoff)) < g.leases.length) return false;
  return d.groups.unregisterGroup(group, cutoff);
}

/** A lag pass: the groups measured, and where the next pass starts when this one ran out of time. */
export interface LagPass {
  readonly lags: GroupLag[];
  /** Where the next pass starts (after this group; none: at the first). */
  readonly next?: string;
  /** False when the deadline stopped the pass before it measured every group. */
  readonly complete: boolean;
}

/**
 * Lag of the registered groups by name (groups whose topics are all gone report zero
 * partitions), after `after`, until `deadlineMs` (by the deps' clock): a registry of many
 * groups is measured over several runs, each starting where the last ended (and, after the
 * last group, at the first again).
 */
export async function groupLags(d: GroupDeps, options: { deadlineMs?: number; after?: string } = {}): Promise<LagPass> {
  const out: GroupLag[] = [];
  const names = (await d.groups.listGroups()).map((g) => g.group).sort();
  const ordered = options.after === undefined ? names : names.filter((n) => n > (options.after as string));
  for (const group of ordered) {
    if (options.deadlineMs !== undefined && d.clock.nowMs() >= options.deadlineMs) {
      const next = out[out.length - 1]?.group ?? options.after;
      return next === undefined ? { lags: out, complete: false } : { lags: out, next, complete: false };
    }
    let partitions: Awaited<ReturnType<typeof describeGroup>>['partitions'];
    try {
      partitions = (await describeGroup(d, group)).partitions;
    } catch (e) {
      // a topic deleted between listing and describing: the next run sees the new state
      if (e instanceof TopicNotFoundError) continue;
      throw e;
    }
    if (partitions.every((p) => p.committedOffset === null) && (await prunable(d, group))) continue;
    out.push({
      group,
      totalLag: partitions.reduce((n, p) => n + p.lag, 0),
      maxPartitionLag: Math.max(0, ...partitions.map((p) => p.lag)),
      maxLagMs: Math.max(0, ...partitions.map((p) => p.lagMs)),
      skippedByRetention: partitions.reduce((n, p) => n + p.skippedByRetention, 0),
      partitions: partitions.length,
    });
  }
  return { lags: out, complete: true };
}
