/**
 * Jepsen-style histories and their checker: one function per invariant, each returning the
 * anomalies it found (empty = the invariant holds). Modelled on `jepsen.tests.kafka`.
 *
 * A history is a list of operations in real-time order. Every client call is recorded as an
 * `invoke` and later completed by `ok` (it happened), `fail` (it certainly did not) or
 * `info` (outcome unknown). Values are unique strings, so every record can be traced.
 */

/** Where a record sits. */
export interface Position {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** One entry of a history. */
export type Op =
  | {
      readonly type: 'invoke' | 'fail' | 'info';
      readonly process: number;
      readonly f: 'produce';
      readonly values: readonly string[];
      /** Where each value was sent (when the producer chose the partitions). */
      readonly sentTo?: { readonly topic: string; readonly partitions: readonly number[] };
      readonly time: number;
    }
  | {
      readonly type: 'ok';
      readonly process: number;
      readonly f: 'produce';
      readonly values: readonly string[];
      /** Where each value landed, in order. */
      readonly positions: readonly Position[];
      readonly time: number;
    }
  | {
      readonly type: 'ok';
      readonly process: number;
      readonly f: 'poll';
      readonly topic: string;
      readonly partition: number;
      /** The offset asked for, and what came back (contiguous from it). */
      readonly from: number;
      readonly records: readonly { offset: number; value: string }[];
      /** The bounds the read reported, when known. */
      readonly highWatermark?: number;
      readonly startOffset?: number;
      /** The lease epoch a group member polled under (absent: not in a group, e.g. the final drain). */
      readonly epoch?: number;
      readonly time: number;
    }
  | {
      /** A consumer found its position below the start offset and moved to it. */
      readonly type: 'ok';
      readonly process: number;
      readonly f: 'skip';
      readonly topic: string;
      readonly partition: number;
      readonly from: number;
      readonly startOffset: number;
      readonly epoch?: number;
      readonly time: number;
    }
  | {
      readonly type: 'invoke' | 'ok' | 'fail' | 'info';
      readonly process: number;
      readonly f: 'commit';
      /** Pairs an invoke with its completion. */
      readonly id: string;
      readonly topic: string;
      readonly partition: number;
      readonly offset: number;
      readonly epoch: number;
      readonly time: number;
    }
  | {
      /** A topic's time retention, in force for the whole history. */
      readonly type: 'ok';
      readonly process: number;
      readonly f: 'policy';
      readonly topic: string;
      readonly retentionMs: number;
      readonly time: number;
    }
  | {
      readonly type: 'ok';
      readonly process: number;
      readonly f: 'lease';
      readonly topic: string;
      readonly partition: number;
      readonly owner: string;
      readonly epoch: number;
      readonly time: number;
    }
  | {
      readonly type: 'ok';
      readonly process: number;
      readonly f: 'reset';
      readonly topic: string;
      readonly partition: number;
      readonly offset: number;
      readonly time: number;
    };

/** One anomaly, with the evidence. */
export interface Anomaly {
  readonly kind: string;
  readonly detail: string;
}

const at = (p: Position) => `${p.topic}/${p.partition}@${p.offset}`;
const tp = (topic: string, partition: number) => `${topic}/${partition}`;

/** What every read and every acknowledgement says about each position. */
function observations(h: readonly Op[]): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  const add = (k: string, v: string) => {
    const s = seen.get(k) ?? new Set<string>();
    s.add(v);
    seen.set(k, s);
  };
  for (const op of h) {
    if (op.f === 'produce' && op.type === 'ok') {
      op.positions.forEach((p, i) => {
        add(at(p), op.values[i] as string);
      });
    }
    if (op.f === 'poll')
      for (const r of op.records) add(at({ topic: op.topic, partition: op.partition, offset: r.offset }), r.value);
  }
  return seen;
}

/** Two different values at one offset. */
export function inconsistentOffsets(h: readonly Op[]): Anomaly[] {
  return [...observations(h)]
    .filter(([, vs]) => vs.size > 1)
    .map(([k, vs]) => ({ kind: 'inconsistent-offset', detail: `${k} holds ${[...vs].join(' and ')}` }));
}

/** One value at two offsets (including an idempotent retry that wrote twice). */
export function duplicates(h: readonly Op[]): Anomaly[] {
  const where = new Map<string, Set<string>>();
  for (const [k, vs] of observations(h)) for (const v of vs) where.set(v, (where.get(v) ?? new Set()).add(k));
  return [...where]
    .filter(([, ks]) => ks.size > 1)
    .map(([v, ks]) => ({ kind: 'duplicate', detail: `${v} at ${[...ks].join(', ')}` }));
}

/** Final reads: the last poll of each partition that reached the high watermark, merged. */
function finalContents(h: readonly Op[]): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  for (const op of h) {
    if (op.f !== 'poll') continue;
    const m = out.get(tp(op.topic, op.partition)) ?? new Map<number, string>();
    for (const r of op.records) m.set(r.offset, r.value);
    out.set(tp(op.topic, op.partition), m);
  }
  return out;
}

/**
 * Start offsets seen per partition (from polls, skips and the drain), in history order:
 * where retention has removed records, and since when we know it.
 */
function startOffsets(h: readonly Op[]): Map<string, { offset: number; time: number }[]> {
  const out = new Map<string, { offset: number; time: number }[]>();
  for (const op of h) {
    const s = op.f === 'poll' ? op.startOffset : op.f === 'skip' ? op.startOffset : undefined;
    if (s === undefined || (op.f !== 'poll' && op.f !== 'skip')) continue;
    const list = out.get(tp(op.topic, op.partition)) ?? [];
    const last = list[list.length - 1];
    if (!last || s > last.offset) list.push({ offset: s, time: op.time });
    out.set(tp(op.topic, op.partition), list);
  }
  return out;
}

/** The largest start offset seen of each partition and when it was first seen. */
function finalStarts(h: readonly Op[]): Map<string, { offset: number; time: number }> {
  return new Map(
    [...startOffsets(h)].map(([k, list]) => [k, list[list.length - 1] as { offset: number; time: number }]),
  );
}

function retentionMsOf(h: readonly Op[], topic: string): number | undefined {
  for (const op of h) if (op.f === 'policy' && op.topic === topic) return op.retentionMs;
  return undefined;
}

/** An acknowledged value missing from reads that cover its offset (retention aside). */
export function lostWrites(h: readonly Op[]): Anomaly[] {
  const read = finalContents(h);
  const starts = finalStarts(h);
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'produce' || op.type !== 'ok') continue;
    op.positions.forEach((p, i) => {
      if (p.offset < (starts.get(tp(p.topic, p.partition))?.offset ?? 0)) return; // removed by retention
      const m = read.get(tp(p.topic, p.partition));
      if (m && m.get(p.offset) !== op.values[i]) {
        out.push({
          kind: 'lost-write',
          detail: `${op.values[i]} acknowledged at ${at(p)}, read ${m.get(p.offset) ?? 'nothing'}`,
        });
      }
    });
  }
  return out;
}

/** A value of a produce that failed (certainly not written) became visible. */
export function abortedReads(h: readonly Op[]): Anomaly[] {
  const failed = new Set(h.flatMap((op) => (op.f === 'produce' && op.type === 'fail' ? op.values : [])));
  const out: Anomaly[] = [];
  for (const [k, vs] of observations(h))
    for (const v of vs)
      if (failed.has(v)) out.push({ kind: 'aborted-read', detail: `${v} of a failed produce read at ${k}` });
  return out;
}

/**
 * Part of one produce call visible in the final reads, part not. A value retention may
 * have removed is neither: acknowledged below the final start offset, or (outcome unknown)
 * sent to a truncated partition early enough to be older than `retentionMs` by then.
 */
export function tornBatches(h: readonly Op[]): Anomaly[] {
  const visible = new Set<string>();
  for (const m of finalContents(h).values()) for (const v of m.values()) visible.add(v);
  const starts = finalStarts(h);
  const invoked = new Map<string, { time: number; sentTo?: { topic: string; partitions: readonly number[] } }>();
  for (const op of h) if (op.f === 'produce' && op.type === 'invoke') invoked.set(op.values[0] as string, op);
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'produce' || op.type === 'invoke') continue;
    const inv = invoked.get(op.values[0] as string);
    const known = op.values.filter((_, i) => {
      if (op.type === 'ok') {
        const p = op.positions[i] as Position;
        return p.offset >= (starts.get(tp(p.topic, p.partition))?.offset ?? 0);
      }
      const partition = inv?.sentTo?.partitions[i];
      if (!inv?.sentTo || partition === undefined) return true;
      const s = starts.get(tp(inv.sentTo.topic, partition));
      if (!s || s.offset === 0) return true;
      const retentionMs = retentionMsOf(h, inv.sentTo.topic);
      return retentionMs !== undefined && inv.time >= s.time - retentionMs;
    });
    const n = known.filter((v) => visible.has(v)).length;
    if (n > 0 && n < known.length)
      out.push({ kind: 'torn-batch', detail: `${n} of ${known.length} values of one call visible` });
  }
  return out;
}

/** A produce acknowledged before another began got a higher offset in the same partition. */
export function realTimeOrder(h: readonly Op[]): Anomaly[] {
  const invokedAt = new Map<string, number>();
  h.forEach((op, i) => {
    if (op.f === 'produce' && op.type === 'invoke') invokedAt.set(op.values[0] as string, i);
  });
  const acked = h
    .map((op, i) => ({ op, i }))
    .filter(
      (x): x is { op: Extract<Op, { f: 'produce'; type: 'ok' }>; i: number } =>
        x.op.f === 'produce' && x.op.type === 'ok',
    );
  const out: Anomaly[] = [];
  for (const a of acked) {
    for (const b of acked) {
      const bInvoked = invokedAt.get(b.op.values[0] as string) ?? -1;
      if (a === b || a.i >= bInvoked) continue; // a must be acknowledged before b was invoked
      for (const pa of a.op.positions) {
        for (const pb of b.op.positions) {
          if (pa.topic === pb.topic && pa.partition === pb.partition && pa.offset > pb.offset) {
            out.push({ kind: 'real-time-order', detail: `${at(pa)} acknowledged before ${at(pb)} was invoked` });
          }
        }
      }
    }
  }
  return out;
}

/** A poll that skipped offsets: records must be contiguous from the offset asked for. */
export function pollSkips(h: readonly Op[]): Anomaly[] {
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'poll') continue;
    op.records.forEach((r, i) => {
      if (r.offset !== op.from + i)
        out.push({
          kind: 'poll-skip',
          detail: `${tp(op.topic, op.partition)} poll from ${op.from} returned ${r.offset} at ${i}`,
        });
    });
  }
  return out;
}

/**
 * A committed offset moved backwards without an explicit reset: an ok commit lower than
 * one that had completed before it was invoked (real-time order, as Jepsen does: a late
 * response of an earlier commit is not a regression).
 */
export function commitRegressions(h: readonly Op[]): Anomaly[] {
  const completed = new Map<string, number>();
  const floorAtInvoke = new Map<string, number>();
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f === 'reset') completed.set(tp(op.topic, op.partition), op.offset);
    if (op.f !== 'commit') continue;
    const k = tp(op.topic, op.partition);
    if (op.type === 'invoke') {
      const floor = completed.get(k);
      if (floor !== undefined) floorAtInvoke.set(op.id, floor);
      continue;
    }
    if (op.type !== 'ok') continue;
    const floor = floorAtInvoke.get(op.id);
    if (floor !== undefined && op.offset < floor)
      out.push({ kind: 'commit-regression', detail: `${k} ${floor} → ${op.offset}` });
    completed.set(k, Math.max(completed.get(k) ?? 0, op.offset));
  }
  return out;
}

/** An ok commit under an epoch lower than one granted before the commit was invoked. */
export function zombieCommits(h: readonly Op[]): Anomaly[] {
  const granted = new Map<string, number>();
  const grantedAtInvoke = new Map<string, number>();
  const out: Anomaly[] = [];
  for (const op of h) {
    const k = op.f === 'lease' || op.f === 'commit' ? tp(op.topic, op.partition) : '';
    if (op.f === 'lease') granted.set(k, Math.max(granted.get(k) ?? 0, op.epoch));
    if (op.f !== 'commit') continue;
    if (op.type === 'invoke') grantedAtInvoke.set(op.id, granted.get(k) ?? 0);
    if (op.type === 'ok') {
      const g = grantedAtInvoke.get(op.id) ?? 0;
      if (op.epoch < g)
        out.push({ kind: 'zombie-commit', detail: `${k} committed at epoch ${op.epoch} after ${g} was granted` });
    }
  }
  return out;
}

/** Two owners granted the same epoch of one partition. */
export function leaseOverlaps(h: readonly Op[]): Anomaly[] {
  const owner = new Map<string, string>();
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'lease') continue;
    const k = `${tp(op.topic, op.partition)}#${op.epoch}`;
    const o = owner.get(k);
    if (o !== undefined && o !== op.owner)
      out.push({ kind: 'lease-overlap', detail: `${k} granted to ${o} and ${op.owner}` });
    owner.set(k, op.owner);
  }
  return out;
}

/**
 * Within one consumer session (process, partition, lease epoch) each poll starts where the
 * previous one ended — later is an external skip, earlier a non-monotonic poll — unless a
 * skip to the start offset (retention) was recorded in between.
 */
export function sessionPollOrder(h: readonly Op[]): Anomaly[] {
  const next = new Map<string, number>();
  const out: Anomaly[] = [];
  for (const op of h) {
    if ((op.f !== 'poll' && op.f !== 'skip') || op.epoch === undefined) continue;
    const k = `${op.process}:${tp(op.topic, op.partition)}#${op.epoch}`;
    const expected = next.get(k);
    if (op.f === 'skip') {
      if (op.startOffset <= op.from)
        out.push({ kind: 'unjustified-skip', detail: `${k} skipped from ${op.from} to start ${op.startOffset}` });
      next.set(k, op.startOffset);
      continue;
    }
    if (expected !== undefined && op.from !== expected)
      out.push({
        kind: op.from > expected ? 'external-poll-skip' : 'non-monotonic-poll',
        detail: `${k} polled from ${op.from}, expected ${expected}`,
      });
    next.set(k, op.from + op.records.length);
  }
  return out;
}

/** A poll returned a record at or beyond the high watermark it reported. */
export function readsBeyondHighWatermark(h: readonly Op[]): Anomaly[] {
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'poll' || op.highWatermark === undefined) continue;
    const beyond = op.records.find((r) => r.offset >= (op.highWatermark as number));
    if (beyond)
      out.push({
        kind: 'read-beyond-hwm',
        detail: `${tp(op.topic, op.partition)}@${beyond.offset} returned with high watermark ${op.highWatermark}`,
      });
  }
  return out;
}

/** A member committed an offset beyond what it had polled (or skipped to) in that partition. */
export function commitsBeyondProcessed(h: readonly Op[]): Anomaly[] {
  const processed = new Map<string, number>();
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f === 'poll' || op.f === 'skip') {
      const k = `${op.process}:${tp(op.topic, op.partition)}`;
      const end = op.f === 'poll' ? op.from + op.records.length : op.startOffset;
      processed.set(k, Math.max(processed.get(k) ?? 0, end));
    }
    if (op.f === 'commit' && op.type === 'ok') {
      const k = `${op.process}:${tp(op.topic, op.partition)}`;
      const p = processed.get(k);
      if (p === undefined || op.offset > p)
        out.push({
          kind: 'commit-beyond-processed',
          detail: `${k} committed ${op.offset}, processed up to ${p ?? 'nothing'}`,
        });
    }
  }
  return out;
}

/**
 * Retention removed a record before its policy allowed: an acknowledged position below a
 * start offset first seen at time T, whose produce began after T − retentionMs (its append
 * time is no earlier than that, so it cannot have been old enough).
 */
export function prematureRetention(h: readonly Op[]): Anomaly[] {
  const out: Anomaly[] = [];
  const acked = new Map<string, { offset: number; invoked: number; value: string }[]>();
  const invokedAt = new Map<string, number>();
  for (const op of h) {
    if (op.f === 'produce' && op.type === 'invoke') invokedAt.set(op.values[0] as string, op.time);
    if (op.f === 'produce' && op.type === 'ok') {
      op.positions.forEach((p, i) => {
        const list = acked.get(tp(p.topic, p.partition)) ?? [];
        list.push({
          offset: p.offset,
          invoked: invokedAt.get(op.values[0] as string) ?? op.time,
          value: op.values[i] as string,
        });
        acked.set(tp(p.topic, p.partition), list);
      });
    }
  }
  for (const [k, starts] of startOffsets(h)) {
    const retentionMs = retentionMsOf(h, k.slice(0, k.lastIndexOf('/')));
    let prev = 0;
    for (const s of starts) {
      for (const a of acked.get(k) ?? []) {
        if (
          a.offset >= prev &&
          a.offset < s.offset &&
          (retentionMs === undefined || a.invoked > s.time - retentionMs)
        ) {
          out.push({
            kind: 'premature-retention',
            detail: `${a.value} at ${k}@${a.offset} (produced at ${a.invoked}) gone at ${s.time}, retention ${retentionMs ?? 'none'}`,
          });
        }
      }
      prev = s.offset;
    }
  }
  return out;
}

/** Measured, not forbidden: values polled by more than one group member. */
export function duplicateProcessing(h: readonly Op[]): number {
  const by = new Map<string, Set<number>>();
  for (const op of h) {
    if (op.f !== 'poll' || op.epoch === undefined) continue;
    for (const r of op.records) by.set(r.value, (by.get(r.value) ?? new Set()).add(op.process));
  }
  return [...by.values()].filter((s) => s.size > 1).length;
}

/**
 * Measured, not forbidden: simulated time from a produce's acknowledgement to the first
 * poll of a group member that returned the value (negative: seen before the ack arrived).
 */
export function ackToVisibility(h: readonly Op[]): { count: number; p50: number; p99: number; max: number } {
  const ackedAt = new Map<string, number>();
  for (const op of h) if (op.f === 'produce' && op.type === 'ok') for (const v of op.values) ackedAt.set(v, op.time);
  const lags: number[] = [];
  const seen = new Set<string>();
  for (const op of h) {
    if (op.f !== 'poll' || op.epoch === undefined) continue;
    for (const r of op.records) {
      const acked = ackedAt.get(r.value);
      if (acked === undefined || seen.has(r.value)) continue;
      seen.add(r.value);
      lags.push(op.time - acked);
    }
  }
  lags.sort((a, b) => a - b);
  const q = (f: number) => lags[Math.min(lags.length - 1, Math.floor(f * lags.length))] ?? 0;
  return { count: lags.length, p50: q(0.5), p99: q(0.99), max: lags[lags.length - 1] ?? 0 };
}

/** Every invariant at once. */
export function checkHistory(h: readonly Op[]): Anomaly[] {
  return [
    ...inconsistentOffsets(h),
    ...duplicates(h),
    ...lostWrites(h),
    ...abortedReads(h),
    ...tornBatches(h),
    ...realTimeOrder(h),
    ...pollSkips(h),
    ...commitRegressions(h),
    ...zombieCommits(h),
    ...leaseOverlaps(h),
    ...sessionPollOrder(h),
    ...readsBeyondHighWatermark(h),
    ...commitsBeyondProcessed(h),
    ...prematureRetention(h),
  ];
}
