/**
 * A topic as infrastructure code declares it (`EventLog.addTopic`): brought to the declared
 * partitions and retention — created if missing, grown, its retention set — never shrunk
 * (partitions only grow: a declaration with fewer is refused, naming the count there is).
 */
import { ConflictError, TopicExistsError } from '../errors';
import type { SluiceLog } from './log';
import type { CreateTopicRequest } from './topics';

export async function declareTopic(
  log: SluiceLog,
  spec: CreateTopicRequest,
): Promise<{ created: boolean; partitions: number }> {
  try {
    const t = await log.createTopic(spec);
    return { created: true, partitions: t.partitions };
  } catch (e) {
    if (!(e instanceof TopicExistsError)) throw e;
  }
  const t = await log.getTopic(spec.name, { fresh: true });
  if (spec.partitions < t.partitions) {
    throw new ConflictError(
      `topic "${spec.name}" has ${t.partitions} partitions; partitions only grow, so declare ${t.partitions} or more`,
    );
  }
  if (spec.partitions > t.partitions) await log.addPartitions(spec.name, spec.partitions);
  const retention = { retentionMs: spec.retentionMs ?? null, retentionBytes: spec.retentionBytes ?? null };
  if (retention.retentionMs !== t.retentionMs || retention.retentionBytes !== t.retentionBytes) {
    await log.setRetention(spec.name, retention);
  }
  return { created: false, partitions: spec.partitions };
}
