/**
 * Faults injected at the storage ports — the same seams the SDK middleware uses on the real
 * clients (test/support/sdk-faults.ts) — decided by the simulation's one seeded PRNG.
 *
 * Every wrapper belongs to one worker incarnation (`Scope`): a crash point makes the call
 * hang forever and tells the worker it died; injected corruption is noted so the worker can
 * tell a detected corruption (expected) from an unexplained read error (an anomaly).
 */
import { RetriableError } from '../../lib/errors';
import type { SeededRandom } from '../../lib/ids';
import type { GroupStore, LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import type { SimClock } from './sim-clock';

/** Fault counts by kind. */
export type FaultCounts = Record<string, number>;

/** One worker incarnation's view of the faults. */
export class Scope {
  /** Resolves when a crash point killed this incarnation. */
  readonly crashed: Promise<'crashed'>;
  private die!: () => void;
  dead = false;
  /** Set when a GET of this incarnation was corrupted or truncated (reset per operation). */
  corrupted = false;

  constructor() {
    this.crashed = new Promise((resolve) => {
      this.die = () => resolve('crashed');
    });
  }

  /** Crashes the incarnation: the call never returns. */
  crash(): Promise<never> {
    this.dead = true;
    this.die();
    return new Promise(() => {});
  }

  /** Runs `p` unless the incarnation crashes first. */
  async race<T>(p: Promise<T>): Promise<T | 'crashed'> {
    return Promise.race([p, this.crashed]);
  }
}

/** Shared by every wrapper of one run. */
export interface FaultEnv {
  readonly rng: SeededRandom;
  readonly clock: SimClock;
  readonly counts: FaultCounts;
  /** Base probability; each kind uses a fraction of it. */
  readonly rate: number;
  /** Crash points fire with this probability per eligible call. */
  readonly crashRate: number;
  /** The maintenance job's graces and the producers' commit deadline (slow workers straddle them). */
  readonly orphanGraceMs: number;
  readonly readGraceMs: number;
  readonly commitDeadlineMs: number;
  /**
   * Every request takes 0..latencyMs of simulated time (its own PRNG, so fault draws stay
   * seed-determined): concurrent calls of one process really overlap at every await, as
   * real I/O does. Without it a call on the fakes runs to completion between two sleeps and
   * races between requests sharing one log never show. @default 0
   */
  readonly latency?: { readonly maxMs: number; readonly rng: SeededRandom };
}

/** Simulated request latency (see `FaultEnv.latency`). */
async function travel(env: FaultEnv): Promise<void> {
  if (env.latency) await env.clock.sleep(env.latency.rng.int(env.latency.maxMs + 1));
}

/** Counts one occurrence of a fault kind. */
export function count(env: FaultEnv, kind: string): void {
  env.counts[kind] = (env.counts[kind] ?? 0) + 1;
}

/** A request that fails before it is sent (nothing applied). */
function notSent(env: FaultEnv, kind: string, code: 'UNAVAILABLE' | 'THROTTLED' = 'UNAVAILABLE'): never {
  count(env, kind);
  throw new RetriableError(code, `injected: ${kind}`);
}

/** How a write's faults are drawn: `p` scales the rates; crash points with their own scale. */
interface WriteFaults {
  readonly p: number;
  readonly before?: string;
  readonly after?: string;
  /** Crash points of rare calls fire more often, to be seen at all. @default 1 */
  readonly crashScale?: number;
}

/**
 * The usual shape of a write's faults: crash before sending, fail before sending, throttle,
 * delay, apply then lose the response, apply then crash. `r` is one draw, so the kinds are
 * exclusive.
 */
async function write<T>(
  env: FaultEnv,
  scope: Scope,
  name: string,
  o: WriteFaults,
  apply: () => Promise<T>,
): Promise<T> {
  await travel(env);
  const r = env.rng.next();
  const rate = env.rate * o.p;
  const crashRate = env.crashRate * (o.crashScale ?? 1);
  if (o.before && env.rng.next() < crashRate) {
    count(env, o.before);
    return scope.crash();
  }
  if (r < rate) notSent(env, `${name}-failed-before-sending`);
  if (r < 1.25 * rate) notSent(env, `${name}-throttled`, 'THROTTLED');
  if (r < 1.5 * rate) {
    count(env, `${name}-delayed`);
    await env.clock.sleep(1 + env.rng.int(400));
  }
  const out = await apply();
  if (o.after && env.rng.next() < crashRate) {
    count(env, o.after);
    return scope.crash();
  }
  if (r >= 1.5 * rate && r < 2.5 * rate) {
    count(env, `${name}-applied-response-lost`);
    throw new RetriableError('UNAVAILABLE', `injected: ${name} response lost`);
  }
  return out;
}

/** A read's faults: throttled, or delayed (while others move on). */
async function read<T>(env: FaultEnv, name: string, p: number, apply: () => Promise<T>): Promise<T> {
  await travel(env);
  const r = env.rng.next();
  const rate = env.rate * p;
  if (r < rate / 2) notSent(env, `${name}-throttled`, 'THROTTLED');
  if (r < rate) {
    count(env, `${name}-delayed`);
    await env.clock.sleep(1 + env.rng.int(400));
  }
  return apply();
}

/** Metadata with faults; `role` selects the crash points that apply. */
export function faultyMetadata(
  m: LogMetadataStore,
  env: FaultEnv,
  scope: Scope,
  role: 'producer' | 'consumer' | 'maintenance',
): LogMetadataStore {
  const w: Partial<LogMetadataStore> = {
    commitAppend: async (c) => {
      if (env.rng.next() < env.rate / 2) {
        // what DynamoDB answers when a concurrent transaction touched one of the items:
        // TransactionCanceled with a TransactionConflict reason, nothing applied
        count(env, 'commit-transaction-conflict');
        return { kind: 'rejected', movedShards: new Map(), goneTopics: [], transactionConflict: true };
      }
      const out = await write(
        env,
        scope,
        'commit',
        { p: 1, ...(role === 'producer' ? { after: 'crash-after-commit-before-ack' } : {}) },
        () => m.commitAppend(c),
      );
      if (env.rng.next() < env.rate / 2) {
        count(env, 'commit-duplicate-delivery');
        await m.commitAppend(c); // the same request delivered twice
      }
      return out;
    },
    fenceSegment: (key, nowMs) => write(env, scope, 'fence', { p: 0.5 }, () => m.fenceSegment(key, nowMs)),
    getHeads: (topicId, partitions) => read(env, 'head-read', 0.3, () => m.getHeads(topicId, partitions)),
    getShardHeads: (topicId, shards) => read(env, 'head-read', 0.3, () => m.getShardHeads(topicId, shards)),
    readCalls: (...a) => read(env, 'index-read', 0.3, () => m.readCalls(...a)),
    existingCalls: (...a) => read(env, 'index-read', 0.3, () => m.existingCalls(...a)),
    queryIndex: (topicId, partition, from, to, limit) =>
      read(env, 'index-read', 0.3, () => m.queryIndex(topicId, partition, from, to, limit)),
  };
  if (role === 'maintenance') {
    // retention writes are few per run: their crash point fires more often to be seen at all
    const retention: WriteFaults = { p: 0.3, after: 'crash-during-retention', crashScale: 40 };
    w.advanceStartOffsets = (...a) => write(env, scope, 'advance-start', retention, () => m.advanceStartOffsets(...a));
    w.queueRelease = (...a) => write(env, scope, 'queue-release', retention, () => m.queueRelease(...a));
    w.releaseCalls = (...a) => write(env, scope, 'release-calls', retention, () => m.releaseCalls(...a));
    // GC deletes in batches (few writes per run): crash after them more often to be seen
    const gc: WriteFaults = { p: 0.3, after: 'crash-during-gc', crashScale: 5 };
    w.deleteSegmentFiles = (...a) => write(env, scope, 'delete-segment-files', gc, () => m.deleteSegmentFiles(...a));
    w.deleteReleases = (...a) => write(env, scope, 'delete-release-batches', gc, () => m.deleteReleases(...a));
  }
  return wrap(m, w);
}

/** Objects with faults: PUTs fail or lose answers; GETs come back corrupted or truncated. */
export function faultyObjects(o: ObjectStore, env: FaultEnv, scope: Scope, role: 'producer' | 'other'): ObjectStore {
  return wrap(o, {
    putIfAbsent: async (key, bytes) => {
      const crashes = role === 'producer' ? { before: 'crash-before-put', after: 'crash-after-put-before-commit' } : {};
      const out = await write(env, scope, 'put', { p: 0.5, ...crashes }, () => o.putIfAbsent(key, bytes));
      if (role === 'producer' && env.rng.next() < env.rate / 10) {
        // a slow producer: still within its commit deadline, but past the orphan grace
        count(env, 'producer-paused-past-orphan-grace');
        await env.clock.sleep(env.orphanGraceMs + 1 + env.rng.int(env.commitDeadlineMs - env.orphanGraceMs - 2_000));
      }
      return out;
    },
    getRange: async (key, start, end) => {
      if (env.rng.next() < env.rate / 10) {
        // a reader paused between its index read and its GET for longer than the read grace
        count(env, 'get-paused-past-read-grace');
        await env.clock.sleep(env.readGraceMs + 1 + env.rng.int(15_000));
      }
      const bytes = await read(env, 'get', 0.3, () => o.getRange(key, start, end));
      if (!bytes) count(env, 'segment-deleted-between-index-read-and-get');
      if (!bytes || bytes.byteLength === 0) return bytes;
      const r = env.rng.next();
      if (r < env.rate / 4) {
        count(env, 'get-corrupted');
        scope.corrupted = true;
        const copy = Uint8Array.from(bytes);
        const i = env.rng.int(copy.byteLength);
        copy[i] = (copy[i] as number) ^ (1 + env.rng.int(255));
        return copy;
      }
      if (r < env.rate / 2) {
        count(env, 'get-truncated');
        scope.corrupted = true;
        return bytes.subarray(0, env.rng.int(bytes.byteLength));
      }
      return bytes;
    },
    deleteMany: (keys) =>
      write(env, scope, 'delete-objects', { p: 0.3, after: 'crash-during-gc' }, () => o.deleteMany(keys)),
  });
}

/** Group store with faults and the consumer crash points. */
export function faultyGroups(g: GroupStore, env: FaultEnv, scope: Scope): GroupStore {
  return wrap(g, {
    readGroup: (group) => read(env, 'group-read', 0.3, () => g.readGroup(group)),
    putMember: (...a) => write(env, scope, 'member', { p: 0.3 }, () => g.putMember(...a)),
    acquireLease: (...a) =>
      write(env, scope, 'lease-acquire', { p: 0.5, after: 'crash-after-lease-acquired', crashScale: 5 }, () =>
        g.acquireLease(...a),
      ),
    renewLease: (...a) => write(env, scope, 'lease-renew', { p: 0.3 }, () => g.renewLease(...a)),
    commitOffset: (...a) =>
      write(env, scope, 'offset-commit', { p: 0.5, after: 'crash-after-offset-commit', crashScale: 5 }, () =>
        g.commitOffset(...a),
      ),
  });
}

/** An object whose listed methods replace the target's (the rest delegate to it). */
export function wrap<T extends object>(target: T, overrides: Partial<T>): T {
  return Object.create(target, Object.fromEntries(Object.entries(overrides).map(([k, value]) => [k, { value }]))) as T;
}
