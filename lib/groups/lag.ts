/**
 * Consumer lag of every registered group, for metrics and alarms: per group the total
 * records not yet consumed, the worst partition, and the age of the oldest unconsumed
 * record. Cost per group: one group Query, one describe per topic, one index read per
 * lagging partition.
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

/** Lag of every group in the registry (groups whose topics are all gone report zero partitions). */
export async function groupLags(d: GroupDeps): Promise<GroupLag[]> {
  const out: GroupLag[] = [];
  for (const { group } of await d.groups.listGroups()) {
    let partitions: Awaited<ReturnType<typeof describeGroup>>['partitions'];
    try {
      partitions = (await describeGroup(d, group)).partitions;
    } catch (e) {
      // a topic deleted between listing and describing: the next run sees the new state
      if (e instanceof TopicNotFoundError) continue;
      throw e;
    }
    out.push({
      group,
      totalLag: partitions.reduce((n, p) => n + p.lag, 0),
      maxPartitionLag: Math.max(0, ...partitions.map((p) => p.lag)),
      maxLagMs: Math.max(0, ...partitions.map((p) => p.lagMs)),
      skippedByRetention: partitions.reduce((n, p) => n + p.skippedByRetention, 0),
      partitions: partitions.length,
    });
  }
  return out;
}
