/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** A promise with its resolve and reject in hand (Node 20 has no `Promise.withResolvers`). */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (e: unknown) => void;
}

/** Makes a `Deferred`. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Mutual exclusion by key inside one process: `run(keys, fn)` runs `fn` once no other run
 * holds any of `keys`, holding them all meanwhile (taken in sorted order, so runs over
 * overlapping keys never deadlock). Runs that share no key proceed in parallel.
 */
export class KeyedGate {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const releases: (() => void)[] = [];
    try {
      for (const key of [...new Set(keys)].sort()) {
        const before = this.tails.get(key) ?? Promise.resolve();
        const mine = deferred<void>();
        const tail = before.then(() => mine.promise);
        this.tails.set(key, tail);
        releases.push(() => {
          mine.resolve();
          // the last holder leaves no entry behind
          if (this.tails.get(key) === tail) this.tails.delete(key);
        });
        await before;
      }
      return await fn();
    } finally {
      for (const release of releases) release();
    }
  }

  /** Keys held or waited for (for tests: nothing is left behind). */
  get size(): number {
    return this.tails.size;
  }
}
