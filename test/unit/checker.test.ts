/**
 * The history checker, invariant by invariant: a clean history passes, and a hand-written
 * history with exactly one anomaly is caught by exactly the matching check.
 */
import { describe, expect, it } from 'vitest';
import {
  abortedReads,
  ackToVisibility,
  checkHistory,
  commitRegressions,
  commitsBeyondProcessed,
  duplicateProcessing,
  duplicates,
  inconsistentOffsets,
  leaseOverlaps,
  lostWrites,
  type Op,
  pollSkips,
  prematureRetention,
  readsBeyondHighWatermark,
  realTimeOrder,
  sessionPollOrder,
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
let commits = 0;
const commit = (offset: number, epoch: number, partition = 0): Op[] => {
  const c = { process: 9, f: 'commit', id: `c${commits++}`, topic: T, partition, offset, epoch } as const;
  return [
    { ...c, type: 'invoke', time: time++ },
    { ...c, type: 'ok', time: time++ },
  ];
};
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
  poll(0, 0, ['a', 'c']),
  poll(1, 0, ['b']),
  lease('m1', 1),
  ...commit(1, 1),
  lease('m2', 2),
  ...commit(2, 2),
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
    ['commit regressions', commitRegressions, [lease('m1', 1), ...commit(5, 1), ...commit(3, 1)]],
    ['zombie commits', zombieCommits, [lease('m1', 1), lease('m2', 2), ...commit(4, 1)]],
    ['lease overlaps', leaseOverlaps, [lease('m1', 3), lease('m2', 3)]],
  ] as const)('catches %s', (_name, check, history) => {
    const found = check(history as Op[]);
    expect(found.length).toBeGreaterThan(0);
    expect(check(clean)).toEqual([]);
  });

  const member = (from: number, values: string[], epoch: number, o: { hwm?: number; start?: number } = {}): Op => ({
    ...(poll(0, from, values) as Extract<Op, { f: 'poll' }>),
    process: 5,
    epoch,
    ...(o.hwm !== undefined ? { highWatermark: o.hwm } : {}),
    ...(o.start !== undefined ? { startOffset: o.start } : {}),
  });
  const skip = (from: number, startOffset: number, epoch: number): Op => ({
    type: 'ok',
    process: 5,
    f: 'skip',
    topic: T,
    partition: 0,
    from,
    startOffset,
    epoch,
    time: time++,
  });

  it('within a consumer session polls continue where the last one ended, or skip to a newer start offset', () => {
    expect(sessionPollOrder([member(0, ['a', 'b'], 1), member(2, ['c'], 1), skip(3, 7, 1), member(7, [], 1)])).toEqual(
      [],
    );
    // a new epoch is a new session: it may start anywhere
    expect(sessionPollOrder([member(0, ['a', 'b'], 1), member(0, ['a'], 2)])).toEqual([]);
    expect(sessionPollOrder([member(0, ['a', 'b'], 1), member(3, ['d'], 1)])[0]?.kind).toBe('external-poll-skip');
    expect(sessionPollOrder([member(0, ['a', 'b'], 1), member(1, ['b'], 1)])[0]?.kind).toBe('non-monotonic-poll');
    expect(sessionPollOrder([member(0, ['a'], 1), skip(1, 1, 1)])[0]?.kind).toBe('unjustified-skip');
  });

  it('catches a read beyond the reported high watermark', () => {
    expect(readsBeyondHighWatermark([member(0, ['a', 'b'], 1, { hwm: 2 })])).toEqual([]);
    expect(readsBeyondHighWatermark([member(0, ['a', 'b'], 1, { hwm: 1 })])).toHaveLength(1);
  });

  it('catches a commit beyond what the member processed', () => {
    const c = (offset: number) => commit(offset, 1).map((op) => ({ ...op, process: 5 }));
    expect(commitsBeyondProcessed([member(0, ['a', 'b'], 1), ...c(2)])).toEqual([]);
    expect(commitsBeyondProcessed([member(0, ['a', 'b'], 1), ...c(3)])).toHaveLength(1);
    expect(commitsBeyondProcessed([skip(0, 4, 1), ...c(4)])).toEqual([]);
  });

  it('judges retention by its policy: removal of old records is fine, of young ones premature; neither is a lost write', () => {
    const policy: Op = { type: 'ok', process: 0, f: 'policy', topic: T, retentionMs: 1000, time: 0 };
    time = 10_000;
    const acked = produce(1, ['old'], [[0, 0]]);
    const drain = (at: number): Op => ({ ...(poll(0, 1, []) as Extract<Op, { f: 'poll' }>), startOffset: 1, time: at });
    const early = [policy, ...acked, drain(10_500)];
    const late = [policy, ...acked, drain(11_500)];
    expect(prematureRetention(late)).toEqual([]);
    expect(prematureRetention(early)[0]?.kind).toBe('premature-retention');
    expect(lostWrites(late)).toEqual([]);
    expect(tornBatches(late)).toEqual([]);
  });

  it('measures the time from acknowledgement to a member seeing the value', () => {
    time = 100;
    const acked = produce(1, ['a'], [[0, 0]]); // acknowledged at 101
    time = 151;
    expect(ackToVisibility([...acked, member(0, ['a'], 1), member(0, ['a'], 2)])).toEqual({
      count: 1,
      p50: 50,
      p99: 50,
      max: 50,
    });
  });

  it('measures duplicate processing across members', () => {
    const other = { ...(member(0, ['a'], 2) as Extract<Op, { f: 'poll' }>), process: 6 };
    expect(duplicateProcessing([member(0, ['a', 'b'], 1), other])).toBe(1);
  });

  it('orders commits and grants in real time: a late answer of an earlier commit is neither a regression nor a zombie', () => {
    const [aInvoke, aOk] = commit(5, 1) as [Op, Op];
    const [bInvoke, bOk] = commit(7, 2) as [Op, Op];
    expect(commitRegressions([aInvoke, bInvoke, bOk, aOk])).toEqual([]);
    expect(zombieCommits([lease('m1', 1), aInvoke, lease('m2', 2), bInvoke, bOk, aOk])).toEqual([]);
    expect(zombieCommits([lease('m1', 1), lease('m2', 2), aInvoke, aOk])).toHaveLength(1);
  });

  it('a reset may move a committed offset back; nothing else may', () => {
    const reset: Op = { type: 'ok', process: 0, f: 'reset', topic: T, partition: 0, offset: 0, time: time++ };
    expect(commitRegressions([...commit(5, 1), reset, ...commit(1, 1)])).toEqual([]);
    expect(commitRegressions([...commit(5, 1), ...commit(1, 1)])).toHaveLength(1);
  });
});
