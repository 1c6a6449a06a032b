import { describe, expect, it } from 'vitest';
import { assignPartitions, type TopicPartition, tpKey } from '../../lib/groups/assignor';
import { headShard } from '../../lib/storage/layout';

const parts = (topic: string, n: number): TopicPartition[] =>
  Array.from({ length: n }, (_, partition) => ({ topic, partition }));
const members = (...ids: string[]) => ids.map((memberId) => ({ memberId, topics: ['t'] }));
const counts = (a: Map<string, string>) => {
  const c = new Map<string, number>();
  for (const m of a.values()) c.set(m, (c.get(m) ?? 0) + 1);
  return c;
};

describe('sticky leaderless assignor', () => {
  it('covers every partition exactly once, balanced, whatever the member order', () => {
    const a = assignPartitions(members('m1', 'm2', 'm3'), parts('t', 12), new Map());
    const b = assignPartitions(members('m3', 'm1', 'm2'), [...parts('t', 12)].reverse(), new Map());
    expect([...a.keys()].sort()).toEqual(parts('t', 12).map(tpKey).sort());
    expect(a).toEqual(b);
    expect([...counts(a).values()]).toEqual([4, 4, 4]);
  });

  it('a joining member takes partitions only for itself; a leaving member only gives its own away', () => {
    for (const newcomer of ['m0', 'm9', 'mm']) {
      const before = assignPartitions(members('m1', 'm2', 'm3'), parts('t', 12), new Map());
      const after = assignPartitions(members('m1', 'm2', 'm3', newcomer), parts('t', 12), before);
      const moved = [...after].filter(([k, m]) => before.get(k) !== m);
      expect(moved.every(([, m]) => m === newcomer)).toBe(true);
      expect(moved).toHaveLength(3);
      expect(Math.max(...counts(after).values()) - Math.min(...counts(after).values())).toBeLessThanOrEqual(1);
      // m2 dies: only its partitions move
      const owners = new Map([...after].filter(([, m]) => m !== 'm2'));
      const later = assignPartitions(members('m1', 'm3', newcomer), parts('t', 12), owners);
      for (const [k, m] of after) if (m !== 'm2') expect(later.get(k)).toBe(m);
      expect([...later.values()]).not.toContain('m2');
    }
  });

  it('never gives a member a partition it reports stalled, even one it owns; the rest stays put', () => {
    const before = assignPartitions(members('m1', 'm2'), parts('t', 4), new Map());
    const [stuck] = [...before].find(([, m]) => m === 'm1') as [string, string];
    const after = assignPartitions(
      [
        { memberId: 'm1', topics: ['t'], stalled: [stuck] },
        { memberId: 'm2', topics: ['t'] },
      ],
      parts('t', 4),
      before,
    );
    expect(after.get(stuck)).toBe('m2');
    for (const [k, m] of before) if (k !== stuck) expect(after.get(k)).toBe(m);
    // a partition only a stalled member could take stays unassigned
    const alone = assignPartitions([{ memberId: 'm1', topics: ['t'], stalled: ['t#0'] }], parts('t', 2), new Map());
    expect(alone.has('t#0')).toBe(false);
    expect(alone.get('t#1')).toBe('m1');
  });

  it('assigns a topic only to its subscribers', () => {
    const a = assignPartitions(
      [
        { memberId: 'a', topics: ['x'] },
        { memberId: 'b', topics: ['x', 'y'] },
      ],
      [...parts('x', 4), ...parts('y', 2)],
      new Map(),
    );
    expect(a.get('y#0')).toBe('b');
    expect(a.get('y#1')).toBe('b');
    expect(a.size).toBe(6);
  });
});

describe('sticky assignor with fewer partitions than members', () => {
  it('never moves a partition to a newcomer, whatever the ids sort as', () => {
    for (const newcomer of ['0-first', 'zz-last']) {
      const before = assignPartitions(members('m-5'), parts('t', 1), new Map());
      expect(before.get('t#0')).toBe('m-5');
      const after = assignPartitions(members('m-5', newcomer), parts('t', 1), before);
      expect(after.get('t#0')).toBe('m-5');
    }
  });

  it('gives a fresh group contiguous ranges, so a member reads few head shards; churn keeps it close', () => {
    const shardPairs = (a: Map<string, string>) =>
      new Set([...a].map(([k, m]) => `${m}/${headShard(Number(k.split('#')[1]))}`)).size;
    const ids = Array.from({ length: 24 }, (_, i) => `member-${(i * 7919) % 1000}-${i}`);
    const fresh = assignPartitions(members(...ids), parts('t', 288), new Map());
    expect(Math.max(...counts(fresh).values())).toBe(12);
    // 24 members × 12 partitions over 18 shards of 16: each member spans 1–2 shards (36
    // pairs); spread by a hash, a member's 12 partitions lie in ~9 shards (~214 pairs)
    expect(shardPairs(fresh)).toBeLessThanOrEqual(24 + 17);
    for (const m of ids) {
      const mine = [...fresh].filter(([, o]) => o === m).map(([k]) => Number(k.split('#')[1]));
      expect(Math.max(...mine) - Math.min(...mine)).toBe(11); // one contiguous range
    }
    // a member dies, another joins: only their partitions move, and locality stays close
    const owners = new Map([...fresh].filter(([, m]) => m !== ids[3]));
    const after = assignPartitions(members(...ids.filter((m) => m !== ids[3]), 'newcomer'), parts('t', 288), owners);
    expect([...after].filter(([k, m]) => fresh.get(k) !== m).every(([, m]) => m === 'newcomer')).toBe(true);
    expect(shardPairs(after)).toBeLessThanOrEqual(24 + 17 + 12);
  });
});
