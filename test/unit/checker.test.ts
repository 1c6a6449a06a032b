/**
 * The history checker, invariant by invariant: a clean history passes, and a hand-written
 * history with exactly one anomaly is caught by exactly the matching check.
 */
import { describe, expect, it } from 'vitest';
import {
  abortedReads,
  checkHistory,
  commitRegressions,
  duplicates,
  inconsistentOffsets,
  leaseOverlaps,
  lostWrites,
  type Op,
  pollSkips,
  realTimeOrder,
  tornBatches,
  zombieCommits,
} from '../reliability/checker';

const T = 't';
let time = 0;
const produce = (process: number, values: string[], offsets: [number, number][] | 'fail' | 'info'): Op[] => {
  const invoke: Op = { type: 'invoke', process, f: 'produce', values, time: time++ };
  if (offsets === 'fail' || offsets === 'info')
    return [invoke, { type: offsets, process, f: 'produce', values, time: time++ }];
  return [
    invoke,
    {
      type: 'ok',
      process,
      f: 'produce',
      values,
      positions: offsets.map(([partition, offset]) => ({ topic: T, partition, offset })),
      time: time++,
    },
  ];
};
const poll = (partition: number, from: number, values: string[], offsets?: number[]): Op => ({
  type: 'ok',
  process: 9,
  f: 'poll',
  topic: T,
  partition,
  from,
  records: values.map((value, i) => ({ offset: offsets?.[i] ?? from + i, value })),
  time: time++,
});
const commit = (offset: number, epoch: number, partition = 0): Op => ({
  type: 'ok',
  process: 1,
  f: 'commit',
  topic: T,
  partition,
  offset,
  epoch,
  time: time++,
});
const lease = (owner: string, epoch: number, partition = 0): Op => ({
  type: 'ok',
  process: 1,
  f: 'lease',
  topic: T,
  partition,
  owner,
  epoch,
  time: time++,
});

const clean: Op[] = [
  ...produce(
    1,
    ['a', 'b'],
    [
      [0, 0],
      [1, 0],
    ],
  ),
  ...produce(2, ['c'], [[0, 1]]),
  ...produce(3, ['x'], 'fail'),
  ...produce(3, ['y'], 'info'),
  lease('m1', 1),
  commit(1, 1),
  lease('m2', 2),
  commit(2, 2),
  poll(0, 0, ['a', 'c']),
  poll(1, 0, ['b']),
];

describe('history checker', () => {
  it('passes a clean history (an info outcome may or may not be visible)', () => {
    expect(checkHistory(clean)).toEqual([]);
    expect(checkHistory([...clean, poll(0, 2, ['y'])])).toEqual([]);
  });

  it.each([
    ['inconsistent offsets', inconsistentOffsets, [...clean, poll(0, 1, ['z'])]],
    ['duplicates', duplicates, [...clean, poll(0, 2, ['a'])]],
    ['lost writes', lostWrites, [...produce(1, ['a'], [[0, 0]]), poll(0, 0, [])].concat(poll(0, 0, ['q']))],
    ['aborted reads', abortedReads, [...clean, poll(0, 2, ['x'])]],
    [
      'torn batches',
      tornBatches,
      [
        ...produce(
          1,
          ['a', 'b'],
          [
            [0, 0],
            [1, 0],
          ],
        ),
        poll(0, 0, ['a']),
        poll(1, 0, []),
      ],
    ],
    ['real-time order', realTimeOrder, [...produce(1, ['a'], [[0, 5]]), ...produce(2, ['b'], [[0, 3]])]],
    ['poll skips', pollSkips, [poll(0, 0, ['a', 'c'], [0, 2])]],
    ['commit regressions', commitRegressions, [lease('m1', 1), commit(5, 1), commit(3, 1)]],
    ['zombie commits', zombieCommits, [lease('m1', 1), lease('m2', 2), commit(4, 1)]],
    ['lease overlaps', leaseOverlaps, [lease('m1', 3), lease('m2', 3)]],
  ] as const)('catches %s', (_name, check, history) => {
    const found = check(history as Op[]);
    expect(found.length).toBeGreaterThan(0);
    expect(check(clean)).toEqual([]);
  });

  it('a reset may move a committed offset back; nothing else may', () => {
    const reset: Op = { type: 'ok', process: 0, f: 'reset', topic: T, partition: 0, offset: 0, time: time++ };
    expect(commitRegressions([commit(5, 1), reset, commit(1, 1)])).toEqual([]);
    expect(commitRegressions([commit(5, 1), commit(1, 1)])).toHaveLength(1);
  });
});
