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
      readonly time: number;
    }
  | {
      readonly type: 'ok' | 'fail' | 'info';
      readonly process: number;
      readonly f: 'commit';
      readonly topic: string;
      readonly partition: number;
      readonly offset: number;
      readonly epoch: number;
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

/** An acknowledged value missing from reads that cover its offset. */
export function lostWrites(h: readonly Op[]): Anomaly[] {
  const read = finalContents(h);
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'produce' || op.type !== 'ok') continue;
    op.positions.forEach((p, i) => {
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

/** Part of one produce call visible in the final reads, part not. */
export function tornBatches(h: readonly Op[]): Anomaly[] {
  const visible = new Set<string>();
  for (const m of finalContents(h).values()) for (const v of m.values()) visible.add(v);
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f !== 'produce' || op.type === 'invoke') continue;
    const n = op.values.filter((v) => visible.has(v)).length;
    if (n > 0 && n < op.values.length)
      out.push({ kind: 'torn-batch', detail: `${n} of ${op.values.length} values of one call visible` });
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

/** A committed offset moved backwards without an explicit reset. */
export function commitRegressions(h: readonly Op[]): Anomaly[] {
  const last = new Map<string, number>();
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f === 'reset') last.set(tp(op.topic, op.partition), op.offset);
    if (op.f !== 'commit' || op.type !== 'ok') continue;
    const k = tp(op.topic, op.partition);
    const prev = last.get(k);
    if (prev !== undefined && op.offset < prev)
      out.push({ kind: 'commit-regression', detail: `${k} ${prev} → ${op.offset}` });
    last.set(k, Math.max(prev ?? 0, op.offset));
  }
  return out;
}

/** An ok commit under an epoch lower than one already granted for that partition. */
export function zombieCommits(h: readonly Op[]): Anomaly[] {
  const granted = new Map<string, number>();
  const out: Anomaly[] = [];
  for (const op of h) {
    if (op.f === 'lease')
      granted.set(tp(op.topic, op.partition), Math.max(granted.get(tp(op.topic, op.partition)) ?? 0, op.epoch));
    if (op.f === 'commit' && op.type === 'ok') {
      const g = granted.get(tp(op.topic, op.partition)) ?? 0;
      if (op.epoch < g)
        out.push({
          kind: 'zombie-commit',
          detail: `${tp(op.topic, op.partition)} committed at epoch ${op.epoch} after ${g} was granted`,
        });
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
  ];
}
