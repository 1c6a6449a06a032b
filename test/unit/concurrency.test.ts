import { describe, expect, it } from 'vitest';
import { deferred, KeyedGate } from '../../lib/concurrency';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('keyed gate', () => {
  it('runs holders of a key one at a time, in arrival order, and disjoint keys side by side', async () => {
    const gate = new KeyedGate();
    const log: string[] = [];
    const first = deferred<void>();
    const a = gate.run(['s1'], async () => {
      log.push('a+');
      await first.promise;
      log.push('a-');
    });
    const b = gate.run(['s1', 's2'], async () => {
      log.push('b+');
      log.push('b-');
    });
    const c = gate.run(['s3'], async () => {
      log.push('c');
    });
    await c;
    await tick();
    expect(log).toEqual(['a+', 'c']);
    first.resolve();
    await Promise.all([a, b]);
    expect(log).toEqual(['a+', 'c', 'a-', 'b+', 'b-']);
    expect(gate.size).toBe(0);
  });

  it('never deadlocks runs taking overlapping keys in different orders, and releases on a throw', async () => {
    const gate = new KeyedGate();
    let inside = 0;
    let most = 0;
    const runs = Array.from({ length: 40 }, (_, i) =>
      gate.run(i % 2 ? ['x', 'y'] : ['y', 'x'], async () => {
        inside++;
        most = Math.max(most, inside);
        await tick();
        inside--;
        if (i % 7 === 0) throw new Error(`run ${i}`);
        return i;
      }),
    );
    const settled = await Promise.allSettled(runs);
    expect(most).toBe(1);
    expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(6);
    expect(gate.size).toBe(0);
  });
});
