/**
 * Deterministic simulation of concurrent producers on the in-memory fakes with faults
 * injected at the storage ports: one seeded PRNG decides every fault and every operation,
 * a simulated clock whose sleeps advance time at once, so a seed reproduces the identical
 * history (compared by hash). The history is then checked for every invariant.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../lib/clock';
import { OutcomeUnknownError, RetriableError, SluiceError } from '../../lib/errors';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import type { LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import { type Anomaly, checkHistory, type Op } from './checker';

/** A clock for simulations: `sleep` advances time immediately (no real waiting). */
export class SimClock implements Clock {
  constructor(private now = Date.UTC(2026, 0, 1)) {}
  nowMs(): number {
    return this.now;
  }
  async sleep(ms: number): Promise<void> {
    this.now += Math.max(0, ms);
  }
  tick(ms: number): void {
    this.now += ms;
  }
}

/** Fault counts by kind. */
export type FaultCounts = Record<string, number>;

/** What one simulated run produced. */
export interface SimulationResult {
  readonly seed: number;
  readonly operations: number;
  readonly faults: FaultCounts;
  readonly ambiguous: number;
  readonly anomalies: Anomaly[];
  readonly historyHash: string;
  readonly history: Op[];
}

/**
 * Wraps the fakes with faults: requests that fail before applying, and requests applied
 * whose response is lost (the caller sees a retriable error either way).
 */
function faulty(
  metadata: LogMetadataStore,
  objects: ObjectStore,
  rng: SeededRandom,
  faults: FaultCounts,
  rate: number,
): { metadata: LogMetadataStore; objects: ObjectStore } {
  const count = (k: string) => {
    faults[k] = (faults[k] ?? 0) + 1;
  };
  const m: LogMetadataStore = Object.create(metadata, {
    commitAppend: {
      value: async (c: Parameters<LogMetadataStore['commitAppend']>[0]) => {
        const r = rng.next();
        if (r < rate) {
          count('commit-failed-before-sending');
          throw new RetriableError('UNAVAILABLE', 'injected: commit not sent');
        }
        const out = await metadata.commitAppend(c);
        if (r < 2 * rate) {
          count('commit-applied-response-lost');
          throw new RetriableError('UNAVAILABLE', 'injected: commit response lost');
        }
        if (r < 2.5 * rate) {
          count('commit-duplicate-delivery');
          await metadata.commitAppend(c); // the same request delivered twice
        }
        return out;
      },
    },
    fenceSegment: {
      value: async (key: string, nowMs: number) => {
        if (rng.next() < rate / 2) {
          count('fence-failed');
          throw new RetriableError('UNAVAILABLE', 'injected: fence not sent');
        }
        return metadata.fenceSegment(key, nowMs);
      },
    },
  });
  const o: ObjectStore = Object.create(objects, {
    putIfAbsent: {
      value: async (key: string, bytes: Uint8Array) => {
        const r = rng.next();
        if (r < rate / 2) {
          count('put-failed-before-sending');
          throw new RetriableError('UNAVAILABLE', 'injected: PUT not sent');
        }
        const res = await objects.putIfAbsent(key, bytes);
        if (r < rate) {
          count('put-applied-response-lost');
          throw new RetriableError('UNAVAILABLE', 'injected: PUT response lost');
        }
        return res;
      },
    },
  });
  return { metadata: m, objects: o };
}

/** Runs one seed: `processes` producers doing `ops` produce calls in all, with faults. */
export async function simulate(
  seed: number,
  ops: number,
  options: {
    processes?: number;
    faultRate?: number;
    /** A deliberately broken store (mutation checks): wraps the correct one. */
    mutant?: (correct: MemoryLogMetadataStore) => LogMetadataStore;
    /** Real stores instead of the fakes (not deterministic then: real I/O interleaves). */
    stores?: { metadata: LogMetadataStore; objects: ObjectStore };
    /** Start of simulated time (real stores: in the future, or DynamoDB Local expires TTL items). */
    startMs?: number;
  } = {},
) {
  const rng = new SeededRandom(seed);
  const clock = new SimClock(options.startMs);
  const faults: FaultCounts = {};
  const fakes = { metadata: new MemoryLogMetadataStore(), objects: new MemoryObjectStore() };
  const base = options.stores ?? fakes;
  const admin = new SluiceLog({ ...base, clock, random: new SeededRandom(seed ^ 0x5eed) });
  await admin.createTopic({ name: 't', partitions: 4 });
  const underTest = options.mutant ? options.mutant(fakes.metadata) : base.metadata;
  const stores = faulty(underTest, base.objects, rng, faults, options.faultRate ?? 0.1);
  const history: Op[] = [];
  const processes = options.processes ?? 6;
  let next = 0;
  let ambiguous = 0;
  const worker = async (process: number) => {
    const log = new SluiceLog({ ...stores, clock, random: new SeededRandom(seed * 31 + process) });
    while (next < ops) {
      const n = next++;
      const values = Array.from({ length: 1 + rng.int(3) }, (_, i) => `v${n}.${i}`);
      const records = values.map((v) => ({ value: Buffer.from(v), partition: rng.int(4) }));
      const idempotencyKey = rng.next() < 0.5 ? `k${n}` : undefined;
      history.push({ type: 'invoke', process, f: 'produce', values, time: clock.nowMs() });
      clock.tick(1 + rng.int(5));
      let res: Awaited<ReturnType<SluiceLog['append']>> | undefined;
      let error: unknown;
      try {
        res = await log.append({ batches: [{ topic: 't', records }], ...(idempotencyKey ? { idempotencyKey } : {}) });
      } catch (e) {
        error = e;
      }
      // an ambiguous call with an idempotency key is retried, as clients do
      while (error instanceof OutcomeUnknownError && idempotencyKey) {
        ambiguous++;
        error = undefined;
        try {
          res = await log.append({ batches: [{ topic: 't', records }], idempotencyKey });
        } catch (e) {
          error = e;
        }
      }
      if (res) {
        history.push({
          type: 'ok',
          process,
          f: 'produce',
          values,
          positions: (res.batches[0]?.offsets ?? []).map((o) => ({
            topic: 't',
            partition: o.partition,
            offset: o.offset,
          })),
          time: clock.nowMs(),
        });
      } else if (error instanceof OutcomeUnknownError) {
        ambiguous++;
        history.push({ type: 'info', process, f: 'produce', values, time: clock.nowMs() });
      } else if (error instanceof SluiceError && error.retriable) {
        // the log says "nothing was written" only when it proved it
        history.push({ type: 'fail', process, f: 'produce', values, time: clock.nowMs() });
      } else {
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: processes }, (_, p) => worker(p)));
  // final drain on the fault-free stores; a read that fails (corruption detected) is an anomaly too
  const readErrors: Anomaly[] = [];
  for (let p = 0; p < 4; p++) {
    try {
      await drain(p);
    } catch (e) {
      readErrors.push({ kind: 'unreadable-log', detail: `partition ${p}: ${(e as Error).message}` });
    }
  }
  async function drain(p: number) {
    let from = 0;
    for (;;) {
      const r = await admin.fetch({ topic: 't', partition: p, offset: from, maxRecords: 10_000 });
      history.push({
        type: 'ok',
        process: 99,
        f: 'poll',
        topic: 't',
        partition: p,
        from,
        records: r.records.map((x) => ({ offset: x.offset, value: Buffer.from(x.value ?? []).toString() })),
        time: clock.nowMs(),
      });
      if (r.nextOffset >= r.highWatermark) break;
      from = r.nextOffset;
    }
  }
  const historyHash = createHash('sha256').update(JSON.stringify(history)).digest('hex');
  return {
    seed,
    operations: ops,
    faults,
    ambiguous,
    anomalies: [...readErrors, ...checkHistory(history)],
    historyHash,
    history,
  };
}
