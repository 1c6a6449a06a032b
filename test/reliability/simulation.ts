/**
 * Deterministic simulation of a whole Sluice deployment on the in-memory fakes: producers,
 * a consumer group and maintenance jobs (retention, GC — two copies at once)
 * run concurrently with faults and crash points injected at the storage ports, clock skew
 * per consumer, and paused workers. One seeded PRNG decides every operation and fault; a
 * discrete-event clock (`SimClock.run`) wakes sleepers in time order only when every worker
 * waits, so a seed reproduces the identical history (compared by hash). The history is then
 * checked for every invariant (checker.ts).
 */
import { createHash } from 'node:crypto';
import {
  CorruptDataError,
  FencedError,
  OffsetOutOfRangeError,
  OutcomeUnknownError,
  SluiceError,
} from '../../lib/errors';
import { commitOffsets, type GroupDeps, heartbeat, leaveGroup } from '../../lib/groups/coordinator';
import { resolveGroupSettings } from '../../lib/groups/settings';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import { type MaintenanceSettings, runMaintenance } from '../../lib/retention/job';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import type { GroupStore, LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import { type Anomaly, ackToVisibility, checkHistory, duplicateProcessing, type Op } from './checker';
import { count, type FaultCounts, type FaultEnv, faultyGroups, faultyMetadata, faultyObjects, Scope } from './faults';
import { SimClock, SkewedClock } from './sim-clock';

export type { FaultCounts } from './faults';
export { SimClock } from './sim-clock';

/** A deliberately broken piece (mutation checks), wrapping the correct one. */
export interface Mutant {
  readonly metadata?: (correct: LogMetadataStore) => LogMetadataStore;
  readonly groups?: (correct: GroupStore) => GroupStore;
  /** The metadata the consumers read through. */
  readonly readerMetadata?: (correct: LogMetadataStore) => LogMetadataStore;
  /** The metadata the maintenance jobs see. */
  readonly maintenanceMetadata?: (correct: LogMetadataStore) => LogMetadataStore;
  readonly maintenance?: Partial<MaintenanceSettings>;
}

/** Simulation parameters. */
export interface SimOptions {
  /** Concurrent producers. @default 4 */
  readonly producers?: number;
  /**
   * Producers that share one process and one `SluiceLog` (its caches), as concurrent sends
   * or requests share a server: a crash takes all of them down. @default 2
   */
  readonly producersPerLog?: number;
  /** Concurrent consumer-group members (each crash starts a new incarnation). @default 3 */
  readonly consumers?: number;
  /** Concurrent copies of the maintenance job. @default 2 */
  readonly maintainers?: number;
  /** Base fault probability. @default 0.1 */
  readonly faultRate?: number;
  /** Probability of each crash point per eligible call. @default 0.004 */
  readonly crashRate?: number;
  readonly mutant?: Mutant;
  /** Real stores instead of the fakes (not deterministic then: real I/O interleaves). */
  readonly stores?: { metadata: LogMetadataStore; objects: ObjectStore; groups: GroupStore };
  /** Start of simulated time (real stores: in the future, or DynamoDB Local expires TTL items). */
  readonly startMs?: number;
  /** Called when every worker has finished, before the final (fault-free) drain. */
  readonly beforeDrain?: () => void;
}

/** What one simulated run produced. */
export interface SimulationResult {
  readonly seed: number;
  readonly operations: number;
  readonly faults: FaultCounts;
  readonly ambiguous: number;
  readonly anomalies: Anomaly[];
  readonly stats: Record<string, number>;
  readonly historyHash: string;
  readonly history: Op[];
}

const TOPIC = 't';
const PARTITIONS = 4;
const GROUP = 'g';
/** Time retention of the simulated topic: a run lasts about a minute of simulated time. */
export const SIM_RETENTION_MS = 15_000;
const GROUP_SETTINGS = resolveGroupSettings({ sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, maxClockSkewMs: 100 });
/**
 * The orphan grace is deliberately *shorter* than the producers' 30 s commit deadline here
 * (production: 1 h), so GC really races slow producers: safety must come from the fence.
 */
const MAINTENANCE = {
  budgetMs: 10_000,
  orphanGraceMs: 20_000,
  readGraceMs: 10_000,
} satisfies MaintenanceSettings;
const COMMIT_DEADLINE_MS = 30_000;

type Outcome<T> = { ok: T } | { error: unknown } | 'crashed';

/** Runs one seed: `ops` produce calls in all, with consumers and maintenance alongside. */
export async function simulate(seed: number, ops: number, options: SimOptions = {}): Promise<SimulationResult> {
  const rng = new SeededRandom(seed);
  const clock = new SimClock(options.startMs);
  const counts: FaultCounts = {};
  const env: FaultEnv = {
    rng,
    clock,
    counts,
    rate: options.faultRate ?? 0.1,
    crashRate: options.crashRate ?? 0.004,
    orphanGraceMs: MAINTENANCE.orphanGraceMs,
    readGraceMs: MAINTENANCE.readGraceMs,
    commitDeadlineMs: COMMIT_DEADLINE_MS,
    // calls sharing a log (producers of one process, a member's partitions) overlap at
    // every await, as requests in one server do
    latency: { maxMs: 5, rng: new SeededRandom(seed ^ 0x1a7e) },
  };
  // the job makes hundreds of calls per run: a tenth of the rate still fails some runs
  const jobEnv: FaultEnv = { ...env, rate: env.rate / 10 };

  const base = options.stores
    ? {
        metadata: clock.track(options.stores.metadata),
        objects: clock.track(options.stores.objects),
        groups: clock.track(options.stores.groups),
      }
    : { metadata: new MemoryLogMetadataStore(), objects: new MemoryObjectStore(), groups: new MemoryGroupStore() };
  const mutant = options.mutant ?? {};
  const metadata = mutant.metadata ? mutant.metadata(base.metadata) : base.metadata;
  const groupStore = mutant.groups ? mutant.groups(base.groups) : base.groups;
  const maintenanceMetadata = mutant.maintenanceMetadata ? mutant.maintenanceMetadata(metadata) : metadata;
  const readerMetadata = mutant.readerMetadata ? mutant.readerMetadata(metadata) : metadata;
  const admin = new SluiceLog({ ...base, clock, random: new SeededRandom(seed ^ 0x5eed) });
  await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, retentionMs: SIM_RETENTION_MS });

  const history: Op[] = [
    { type: 'ok', process: -1, f: 'policy', topic: TOPIC, retentionMs: SIM_RETENTION_MS, time: clock.nowMs() },
  ];
  const anomalies: Anomaly[] = [];
  const stats: Record<string, number> = {};
  const stat = (k: string, n = 1) => {
    stats[k] = (stats[k] ?? 0) + n;
  };
  let pids = 0;
  let next = 0;
  let ambiguous = 0;
  const producerThreads = options.producers ?? 4;
  const perLog = Math.max(1, options.producersPerLog ?? 2);
  const producerProcesses = Array.from({ length: Math.ceil(producerThreads / perLog) }, (_, i) =>
    Math.min(perLog, producerThreads - i * perLog),
  );
  let producersLeft = producerProcesses.length;
  const running = () => producersLeft > 0;
  const attempt = async <T>(scope: Scope, fn: () => Promise<T>): Promise<Outcome<T>> => {
    try {
      const r = await scope.race(fn());
      return r === 'crashed' ? 'crashed' : { ok: r };
    } catch (e) {
      if (!(e instanceof SluiceError)) throw e;
      return { error: e };
    }
  };

  // producer processes, each running `producersPerLog` concurrent producers over ONE log
  const producerProcess = async (threads: number) => {
    while (next < ops) {
      const scope = new Scope();
      const log = new SluiceLog({
        metadata: faultyMetadata(metadata, env, scope, 'producer'),
        objects: faultyObjects(base.objects, env, scope, 'producer'),
        clock,
        random: new SeededRandom(seed * 31 + pids),
        settings: { topicCacheMs: 600_000, commitDeadlineMs: COMMIT_DEADLINE_MS },
      });
      await Promise.all(Array.from({ length: threads }, () => producerThread(log, scope, pids++)));
    }
    producersLeft--;
  };

  const producerThread = async (log: SluiceLog, scope: Scope, process: number) => {
    while (next < ops && !scope.dead) {
      const n = next++;
      const values = Array.from({ length: 1 + rng.int(3) }, (_, i) => `v${n}.${i}`);
      const partitions = values.map(() => rng.int(PARTITIONS));
      const records = values.map((v, i) => ({ value: Buffer.from(v), partition: partitions[i] as number }));
      const idempotencyKey = rng.next() < 0.5 ? `k${n}` : undefined;
      history.push({
        type: 'invoke',
        process,
        f: 'produce',
        values,
        sentTo: { topic: TOPIC, partitions },
        time: clock.nowMs(),
      });
      await clock.sleep(1 + rng.int(60));
      const send = () =>
        attempt(scope, () =>
          log.append({ batches: [{ topic: TOPIC, records }], ...(idempotencyKey ? { idempotencyKey } : {}) }),
        );
      let r = await send();
      // an ambiguous call with an idempotency key is retried, as clients do
      while (r !== 'crashed' && 'error' in r && r.error instanceof OutcomeUnknownError && idempotencyKey) {
        ambiguous++;
        r = await send();
      }
      if (r === 'crashed') {
        stat('producer-crashes');
        history.push({ type: 'info', process, f: 'produce', values, time: clock.nowMs() });
      } else if ('ok' in r) {
        history.push({
          type: 'ok',
          process,
          f: 'produce',
          values,
          positions: (r.ok.batches[0]?.offsets ?? []).map((o) => ({
            topic: TOPIC,
            partition: o.partition,
            offset: o.offset,
          })),
          time: clock.nowMs(),
        });
      } else if (r.error instanceof OutcomeUnknownError) {
        ambiguous++;
        history.push({ type: 'info', process, f: 'produce', values, time: clock.nowMs() });
      } else if (r.error instanceof SluiceError && r.error.retriable) {
        // the log says "nothing was written" only when it proved it
        history.push({ type: 'fail', process, f: 'produce', values, time: clock.nowMs() });
      } else {
        throw r.error;
      }
    }
  };

  const consumer = async () => {
    while (running()) {
      const process = pids++;
      const scope = new Scope();
      const beyond = rng.next() < 0.3;
      const bound = GROUP_SETTINGS.maxClockSkewMs;
      const skew = beyond ? (rng.next() < 0.5 ? -1 : 1) * bound * (2 + rng.int(3)) : rng.int(2 * bound + 1) - bound;
      count(env, beyond ? 'clock-skew-beyond-bound' : 'clock-skew-within-bound');
      const own = new SkewedClock(clock, skew);
      const log = new SluiceLog({
        metadata: faultyMetadata(readerMetadata, env, scope, 'consumer'),
        objects: faultyObjects(base.objects, env, scope, 'other'),
        clock: own,
        random: new SeededRandom(seed * 37 + process),
        settings: { topicCacheMs: 600_000 },
      });
      const deps: GroupDeps = {
        groups: faultyGroups(groupStore, env, scope),
        log,
        clock: own,
        random: new SeededRandom(seed * 41 + process),
        settings: GROUP_SETTINGS,
      };
      const memberId = `m${process}`;
      /** Per held partition: lease epoch, next offset to process, last offset committed or assigned. */
      const held = new Map<number, { epoch: number; next: number; committed: number }>();
      let release: { topic: string; partition: number; epoch: number }[] = [];
      let commits = 0;

      const poll = async (partition: number): Promise<boolean> => {
        const h = held.get(partition) as { epoch: number; next: number; committed: number };
        scope.corrupted = false;
        const r = await attempt(scope, () =>
          log.fetch({ topic: TOPIC, partition, offset: h.next, maxRecords: 1 + rng.int(20) }),
        );
        if (r === 'crashed') return false;
        if ('error' in r) {
          const e = r.error;
          if (e instanceof OffsetOutOfRangeError) {
            const start = (e.details as { startOffset: number }).startOffset;
            if (start > h.next) {
              history.push({
                type: 'ok',
                process,
                f: 'skip',
                topic: TOPIC,
                partition,
                from: h.next,
                startOffset: start,
                epoch: h.epoch,
                time: clock.nowMs(),
              });
              h.next = start;
              stat('retention-skips');
              return true;
            }
          }
          if (e instanceof CorruptDataError) {
            if (scope.corrupted) stat('corruption-detected');
            else anomalies.push({ kind: 'unexplained-read-error', detail: `${memberId}: ${e.message}` });
          }
          return false;
        }
        history.push({
          type: 'ok',
          process,
          f: 'poll',
          topic: TOPIC,
          partition,
          from: h.next,
          records: r.ok.records.map((x) => ({ offset: x.offset, value: Buffer.from(x.value ?? []).toString() })),
          highWatermark: r.ok.highWatermark,
          startOffset: r.ok.startOffset,
          epoch: h.epoch,
          time: clock.nowMs(),
        });
        stat('polls');
        h.next = r.ok.nextOffset;
        return true;
      };

      const commit = async (partition: number) => {
        const h = held.get(partition) as { epoch: number; next: number; committed: number };
        if (h.next === h.committed) return; // no progress: nothing to commit
        const op = {
          process,
          f: 'commit' as const,
          id: `${process}.${commits++}`,
          topic: TOPIC,
          partition,
          offset: h.next,
          epoch: h.epoch,
        };
        history.push({ ...op, type: 'invoke', time: clock.nowMs() });
        const r = await attempt(scope, () =>
          commitOffsets(deps, GROUP, memberId, [{ topic: TOPIC, partition, offset: h.next, epoch: h.epoch }]),
        );
        if (r === 'crashed') {
          history.push({ ...op, type: 'info', time: clock.nowMs() });
        } else if ('ok' in r) {
          // a stale commit (a higher offset is already committed) changes nothing
          const stale = (r.ok[0]?.committed ?? h.next) !== h.next;
          if (stale) stat('stale-commits');
          else h.committed = op.offset;
          history.push({ ...op, type: stale ? 'fail' : 'ok', time: clock.nowMs() });
        } else if (r.error instanceof FencedError) {
          stat('fenced-commits');
          history.push({ ...op, type: 'fail', time: clock.nowMs() });
          held.delete(partition);
        } else {
          history.push({ ...op, type: 'info', time: clock.nowMs() });
        }
      };

      while (running() && !scope.dead) {
        const hb = await attempt(scope, () => heartbeat(deps, GROUP, { memberId, topics: [TOPIC], release }));
        if (hb === 'crashed') break;
        if ('ok' in hb) {
          release = [];
          for (const a of hb.ok.assignments) {
            if (held.get(a.partition)?.epoch === a.epoch) continue;
            history.push({
              type: 'ok',
              process,
              f: 'lease',
              topic: TOPIC,
              partition: a.partition,
              owner: memberId,
              epoch: a.epoch,
              time: clock.nowMs(),
            });
            const at = a.committedOffset ?? 0;
            held.set(a.partition, { epoch: a.epoch, next: at, committed: at });
          }
          for (const p of [...held.keys()]) {
            if (hb.ok.assignments.some((a) => a.partition === p)) continue;
            const revoked = hb.ok.revoked.find((x) => x.partition === p);
            if (revoked) {
              await commit(p); // graceful handover: commit, release in the next heartbeat
              release.push(revoked);
            }
            held.delete(p);
          }
          const mine = [...held.keys()];
          if (mine.length > 0 && !scope.dead) {
            const p = mine[rng.int(mine.length)] as number;
            if (await poll(p)) {
              if (rng.next() < 3 * env.crashRate) {
                count(env, 'crash-after-processing-before-commit');
                break;
              }
              if (rng.next() < env.rate / 4) {
                // paused between processing and committing: long enough to lose the lease
                count(env, 'worker-paused');
                await clock.sleep(GROUP_SETTINGS.sessionTimeoutMs + rng.int(2_000));
              }
              if (held.has(p)) await commit(p);
            }
          }
        }
        await clock.sleep(1 + rng.int(GROUP_SETTINGS.heartbeatIntervalMs));
      }
      if (scope.dead) stat('consumer-crashes');
      else if (!running()) await attempt(scope, () => leaveGroup(deps, GROUP, memberId));
    }
  };

  const maintainer = async () => {
    while (running()) {
      const scope = new Scope();
      const r = await attempt(scope, () =>
        runMaintenance(
          {
            metadata: faultyMetadata(maintenanceMetadata, jobEnv, scope, 'maintenance'),
            objects: faultyObjects(base.objects, jobEnv, scope, 'other'),
            groups: groupStore,
            clock,
            random: new SeededRandom(seed * 43 + pids++),
          },
          { ...MAINTENANCE, ...mutant.maintenance },
        ),
      );
      if (r === 'crashed') stat('maintenance-crashes');
      else if ('ok' in r) {
        stat('maintenance-runs');
        stat('maintenance-units-skipped', r.ok.failures);
        stat('offsets-removed-by-retention', r.ok.offsetsRemoved);
        stat('calls-released', r.ok.callsReleased);
        stat('objects-deleted', r.ok.gc.orphansDeleted + r.ok.gc.abortedDeleted + r.ok.gc.releasedDeleted);
      } else stat('maintenance-failed');
      await clock.sleep(500 + rng.int(2_000));
    }
  };

  await clock.run(
    Promise.all([
      ...producerProcesses.map((threads) => producerProcess(threads)),
      ...Array.from({ length: options.consumers ?? 3 }, () => consumer()),
      ...Array.from({ length: options.maintainers ?? 2 }, () => maintainer()),
    ]),
  );
  stats['simulated-seconds'] = Math.round((clock.nowMs() - (options.startMs ?? SimClock.DEFAULT_START)) / 1000);

  options.beforeDrain?.();
  // final drain on the fault-free stores, from each partition's start offset
  for (let p = 0; p < PARTITIONS; p++) {
    try {
      let from = (await admin.describeTopic(TOPIC)).offsets[p]?.startOffset ?? 0;
      for (;;) {
        const r = await admin.fetch({ topic: TOPIC, partition: p, offset: from, maxRecords: 10_000 });
        history.push({
          type: 'ok',
          process: 999,
          f: 'poll',
          topic: TOPIC,
          partition: p,
          from,
          records: r.records.map((x) => ({ offset: x.offset, value: Buffer.from(x.value ?? []).toString() })),
          highWatermark: r.highWatermark,
          startOffset: r.startOffset,
          time: clock.nowMs(),
        });
        if (r.nextOffset >= r.highWatermark) break;
        from = r.nextOffset;
      }
    } catch (e) {
      anomalies.push({ kind: 'unreadable-log', detail: `partition ${p}: ${(e as Error).message}` });
    }
  }
  stats['duplicate-processing'] = duplicateProcessing(history);
  const visibility = ackToVisibility(history);
  stats['ack-to-visibility-p50-ms'] = visibility.p50;
  stats['ack-to-visibility-p99-ms'] = visibility.p99;
  stats['ack-to-visibility-max-ms'] = visibility.max;
  const historyHash = createHash('sha256').update(JSON.stringify(history)).digest('hex');
  return {
    seed,
    operations: ops,
    faults: counts,
    ambiguous,
    anomalies: [...anomalies, ...checkHistory(history)],
    stats,
    historyHash,
    history,
  };
}
