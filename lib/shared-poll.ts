/**
 * One poll loop for many waiters of one thing (a head shard, a topic): each waiter waits for
 * its partition to move beyond an offset, and one read per poll answers all of them — instead
 * of one poll loop, and one read per pause, per waiter.
 *
 * The loop runs while anybody waits, at pauses doubling from `firstPauseMs` to `maxPauseMs`
 * and back to the first when a poll brings news. A waiter is answered with what the first
 * poll showing its partition beyond its offset read, or with nothing at the first poll at or
 * after its deadline (so at most one pause late) — waiters of one loop therefore wake
 * together. A failed read fails every waiter it was for.
 */
import type { Clock } from './clock';

/** How a poll reads: the positions of the given partitions. */
export type PollRead<T> = (partitions: number[]) => Promise<Map<number, T>>;

interface Waiter<T> {
  readonly partition: number;
  readonly offset: number;
  readonly deadlineMs: number;
  readonly done: (seen: T | undefined) => void;
  readonly fail: (e: unknown) => void;
}

/** A shared poll loop; `beyond` says whether what a poll read is news for an offset. */
export class SharedPoll<T> {
  private readonly waiters = new Set<Waiter<T>>();
  private polling = false;

  constructor(
    private readonly clock: Clock,
    private readonly read: PollRead<T>,
    private readonly beyond: (seen: T, offset: number) => boolean,
    private readonly pauses: { readonly firstPauseMs: number; readonly maxPauseMs: number },
    /** Called when the loop stops with nobody waiting (the owner may forget it). */
    private readonly idle: () => void = () => {},
  ) {}

  /** Whether anybody waits or the loop still runs. */
  get busy(): boolean {
    return this.polling || this.waiters.size > 0;
  }

  /** Resolves with what a poll read once `partition` is beyond `offset`, or undefined at the deadline or abort. */
  waitFor(partition: number, offset: number, deadlineMs: number, signal?: AbortSignal): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const settle = () => {
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter<T> = {
        partition,
        offset,
        deadlineMs,
        done: (seen) => {
          settle();
          resolve(seen);
        },
        fail: (e) => {
          settle();
          reject(e);
        },
      };
      const onAbort = () => waiter.done(undefined);
      if (signal?.aborted) return resolve(undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      if (!this.polling) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.polling = true;
    let pause = this.pauses.firstPauseMs;
    let pollAtMs = this.clock.nowMs() + pause;
    try {
      while (this.waiters.size > 0) {
        await this.clock.sleep(pollAtMs - this.clock.nowMs());
        if (this.waiters.size === 0) break;
        const waiting = [...this.waiters];
        let seen: Map<number, T>;
        try {
          seen = await this.read([...new Set(waiting.map((w) => w.partition))]);
        } catch (e) {
          for (const w of waiting) w.fail(e);
          continue;
        }
        let news = false;
        const now = this.clock.nowMs();
        for (const w of waiting) {
          const s = seen.get(w.partition);
          if (s !== undefined && this.beyond(s, w.offset)) {
            news = true;
            w.done(s);
          } else if (w.deadlineMs <= now) w.done(undefined); // its wait is over
        }
        pause = news ? this.pauses.firstPauseMs : Math.min(pause * 2, this.pauses.maxPauseMs);
        pollAtMs = now + pause;
      }
    } finally {
      this.polling = false;
      this.idle();
    }
  }
}
