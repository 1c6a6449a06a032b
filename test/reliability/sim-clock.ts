import type { Clock } from '../../lib/clock';

/**
 * Discrete-event time for simulations. `sleep` parks the caller; `run` wakes the earliest
 * sleeper (ties in call order) only once every worker is parked — on the fakes nothing else
 * can be pending then — so the interleaving depends on the seed alone, and a sleeping
 * worker really lets the others act in the meantime.
 */
export class SimClock implements Clock {
  static readonly DEFAULT_START = Date.UTC(2026, 0, 1);
  private readonly sleepers: { until: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  /** Real requests in flight (real stores): time stands still until they are answered. */
  private inFlight = 0;

  constructor(private now = SimClock.DEFAULT_START) {}

  nowMs(): number {
    return this.now;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.sleepers.push({ until: this.now + Math.max(0, ms), seq: this.seq++, wake });
    });
  }

  /** Wraps a store so that time stands still while one of its requests is in flight. */
  track<T extends object>(store: T): T {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          this.inFlight++;
          const out = (v as (...a: unknown[]) => unknown).apply(target, args);
          if (out instanceof Promise) {
            return out.finally(() => {
              this.inFlight--;
            });
          }
          this.inFlight--;
          return out;
        };
      },
    });
  }

  /** Drives `work` to completion, advancing time from sleeper to sleeper. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    let failed = false;
    work.then(
      () => {
        done = true;
      },
      () => {
        failed = true;
      },
    );
    while (!done && !failed) {
      await new Promise((r) => setImmediate(r));
      if (done || failed) break;
      if (this.sleepers.length === 0 || this.inFlight > 0) {
        // real I/O in flight (real stores): simulated time waits for it
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      this.sleepers.sort((a, b) => a.until - b.until || a.seq - b.seq);
      const s = this.sleepers.shift() as (typeof this.sleepers)[number];
      this.now = Math.max(this.now, s.until);
      s.wake();
    }
    return work;
  }
}

/** One worker's view of the simulated time: off by a fixed skew. */
export class SkewedClock implements Clock {
  constructor(
    private readonly base: SimClock,
    readonly skewMs: number,
  ) {}
  nowMs(): number {
    return this.base.nowMs() + this.skewMs;
  }
  sleep(ms: number): Promise<void> {
    return this.base.sleep(ms);
  }
}
