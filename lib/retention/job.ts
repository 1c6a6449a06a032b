/**
 * The maintenance job: purge deleted topics, apply retention, collect garbage — in that
 * order, incrementally, within a time budget. Every step is a conditional write or an
 * idempotent delete, so it is safe alongside producers, consumers and another copy of
 * itself. GC is incremental (lib/retention/gc.ts): the segments retention released, once
 * their read grace has passed, and a sweep for orphans whose cursor (`JOB/gc`, the last
 * object looked at) lets the next run continue on any container.
 */
import type { Clock } from '../clock';
import { mapLimit } from '../concurrency';
import { isRetriable } from '../errors';
import { type RandomSource, ulid } from '../ids';
import { releaseCalls } from '../log/trim';
import { HEAD_SHARD_SIZE } from '../storage/layout';
import type { CallRecord, GroupStore, LogMetadataStore, ObjectStore } from '../storage/ports';
import { deleteReleased, type GcOutcome, noGc, sweepOrphans } from './gc';
import { applyRetention } from './retention';

/** Job settings (units in the names). */
export interface MaintenanceSettings {
  /** Wall time one run may take. @default 60 s */
  readonly budgetMs?: number;
  /** An uncommitted object is an orphan only after this. @default 1 h (commits give up after 30 s) */
  readonly orphanGraceMs?: number;
  /** An unreferenced object is deleted only this long after its last release. @default 10 min */
  readonly readGraceMs?: number;
}

/** What a run did (for logs and metrics). */
export interface MaintenanceReport {
  topicsPurged: number;
  /** Leases and committed offsets of deleted topics removed from groups. */
  groupItemsPurged: number;
  /** Head shards (48 partitions each) retention looked at. */
  shardsChecked: number;
  /** Call items deleted (their segment references released). */
  callsReleased: number;
  offsetsRemoved: number;
  gc: GcOutcome;
  /** The last object the orphan sweep has looked at. */
  gcCursor?: string;
  /** Units (a topic purge, a partition, a GC page) that failed with a retriable error and were skipped. */
  failures: number;
  /** False when the budget ran out or a unit failed before everything was done. */
  complete: boolean;
}

/** What the maintenance job runs with. */
export type MaintenanceDeps = {
  objects: ObjectStore;
  metadata: LogMetadataStore;
  /** Without it, deleted topics' group items (leases, offsets) are left behind. */
  groups?: GroupStore;
  clock: Clock;
  random: RandomSource;
};

const GC_CURSOR = 'gc';

/** One run of the maintenance job. */
export async function runMaintenance(
  deps: MaintenanceDeps,
  settings: MaintenanceSettings = {},
  progress: (message: string) => void = () => {},
): Promise<MaintenanceReport> {
  const budgetMs = settings.budgetMs ?? 60_000;
  const orphanGraceMs = settings.orphanGraceMs ?? 3_600_000;
  const readGraceMs = settings.readGraceMs ?? 600_000;
  const newId = () => ulid(deps.clock.nowMs(), deps.random);
  const deadline = deps.clock.nowMs() + budgetMs;
  const inBudget = () => deps.clock.nowMs() < deadline;
  const report: MaintenanceReport = {
    topicsPurged: 0,
    groupItemsPurged: 0,
    shardsChecked: 0,
    callsReleased: 0,
    offsetsRemoved: 0,
    gc: noGc(),
    failures: 0,
    complete: false,
  };
  // one throttled partition must not stop the rest: a unit that fails with a retriable
  // error is skipped (every step is idempotent) and done again by the next run
  const unit = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (e) {
      if (!isRetriable(e)) throw e;
      report.failures++;
      progress(`${what} failed, left for the next run: ${(e as Error).message}`);
      return undefined;
    }
  };

  // 1. deleted topics: release every call item, drop the heads and the groups' leases and
  // offsets, then forget the topic (last, so a crash part-way is finished by the next run)
  const deleted = await deps.metadata.listDeletedTopics();
  const groups = deleted.length > 0 && deps.groups ? await deps.groups.listGroups() : [];
  for (const t of deleted) {
    if (!inBudget()) return report;
    const purged = await unit(`purge of ${t.name}`, async () => {
      for (let shard = 0; shard * HEAD_SHARD_SIZE < t.partitions; shard++) {
        for (;;) {
          const calls: CallRecord[] = await deps.metadata.readCalls(t.topicId, shard, -1, 100);
          if (calls.length === 0) break;
          report.callsReleased += await releaseCalls(deps.metadata, t.topicId, shard, calls, deps.clock.nowMs(), newId);
        }
      }
      await deps.metadata.deleteHeads(t.topicId, t.partitions);
      for (const g of groups) {
        if (g.topicIds.includes(t.topicId)) {
          report.groupItemsPurged += await (deps.groups as GroupStore).forgetTopic(g.group, t.topicId);
        }
      }
      await deps.metadata.finishTopicPurge(t.topicId);
      return true;
    });
    if (!purged) continue;
    report.topicsPurged++;
    progress(`purged deleted topic ${t.name} (${t.topicId})`);
  }

  // 2. retention of every topic with a policy, a head shard (48 partitions) at a time, up to
  // 8 shards at once (a shard's pages are sequential: each continues where the last ended)
  for (const t of await deps.metadata.listTopics()) {
    if (t.retentionMs === null && t.retentionBytes === null) continue;
    const shards = Array.from({ length: Math.ceil(t.partitions / HEAD_SHARD_SIZE) }, (_, i) => i);
    await mapLimit(shards, 8, async (shard) => {
      for (let done = false; !done && inBudget(); ) {
        const r = await unit(`retention of ${t.name} partitions ${shard * HEAD_SHARD_SIZE}…`, () =>
          applyRetention(deps.metadata, t, shard, t, deps.clock.nowMs(), newId),
        );
        if (!r) break;
        done = r.complete;
        report.shardsChecked++;
        report.callsReleased += r.callsReleased;
        for (const a of r.advanced) {
          report.offsetsRemoved += a.advancedBy;
          progress(`retention: ${t.name}/${a.partition} starts at ${a.startOffset} (+${a.advancedBy})`);
        }
      }
    });
    if (!inBudget()) return report;
  }

  // 3. garbage collection: what retention released, then the orphan sweep from its cursor
  const addGc = (g: GcOutcome) => {
    for (const k of Object.keys(report.gc) as (keyof GcOutcome)[]) report.gc[k] += g[k];
  };
  for (let more = true; more; ) {
    if (!inBudget()) return report;
    const r = await unit('deleting released segments', () => deleteReleased(deps, { readGraceMs }));
    if (!r) return report;
    addGc(r);
    more = r.more;
  }
  const saved = await deps.metadata.readJobCursor(GC_CURSOR);
  let cursor = saved;
  for (let more = true; more; ) {
    if (!inBudget()) break;
    const startAfter = cursor;
    const r = await unit('the orphan sweep', () =>
      sweepOrphans(deps, { orphanGraceMs, ...(startAfter !== undefined ? { startAfter } : {}) }),
    );
    if (!r) break;
    addGc(r);
    cursor = r.cursor;
    more = r.more;
  }
  if (cursor !== saved) await deps.metadata.writeJobCursor(GC_CURSOR, cursor);
  if (cursor !== undefined) report.gcCursor = cursor;
  const g = report.gc;
  if (g.orphansDeleted + g.abortedDeleted + g.releasedDeleted > 0) {
    progress(
      `gc: checked ${g.objectsChecked} objects, deleted ${g.orphansDeleted} orphans, ${g.abortedDeleted} aborted, ${g.releasedDeleted} released (${g.bytesDeleted} bytes)`,
    );
  }
  report.complete = report.failures === 0 && inBudget();
  return report;
}
