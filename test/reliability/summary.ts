/**
 * Totals over simulated runs, and the fault categories and crash points the issue asks to
 * see: per-port fault kinds (`commit-applied-response-lost`, `get-throttled`, …) add up
 * into their category.
 */
import type { SimulationResult } from './simulation';

/** Fault categories → the kinds (or kind suffixes) that count for them. */
export const REQUIRED: Record<string, (kind: string) => boolean> = {
  'request fails before sending': (k) => k.endsWith('-failed-before-sending'),
  'applied, response lost': (k) => k.endsWith('-applied-response-lost'),
  throttling: (k) => k.endsWith('-throttled'),
  'transaction conflict': (k) => k === 'commit-transaction-conflict',
  'duplicate delivery': (k) => k === 'commit-duplicate-delivery',
  'corrupted GET body': (k) => k === 'get-corrupted',
  'truncated GET body': (k) => k === 'get-truncated',
  'delayed request': (k) => k.endsWith('-delayed'),
  'paused worker': (k) => k === 'worker-paused' || k.startsWith('get-paused') || k.startsWith('producer-paused'),
  'clock skew within the bound': (k) => k === 'clock-skew-within-bound',
  'clock skew beyond the bound': (k) => k === 'clock-skew-beyond-bound',
  'segment deleted between index read and GET': (k) => k === 'segment-deleted-between-index-read-and-get',
  'crash before the PUT': (k) => k === 'crash-before-put',
  'crash after the PUT, before the commit': (k) => k === 'crash-after-put-before-commit',
  'commit applied, crash before the ack': (k) => k === 'crash-after-commit-before-ack',
  'consumer processed, crash before its commit': (k) => k === 'crash-after-processing-before-commit',
  'offset commit applied, response lost or crash': (k) =>
    k === 'offset-commit-applied-response-lost' || k === 'crash-after-offset-commit',
  'lease acquired, response lost or crash': (k) =>
    k === 'lease-acquire-applied-response-lost' || k === 'crash-after-lease-acquired',
  'crash during retention': (k) => k === 'crash-during-retention',
  'crash during GC': (k) => k === 'crash-during-gc',
  'GC racing a slow producer (paused past the orphan grace)': (k) => k === 'producer-paused-past-orphan-grace',
};

/** Sums of fault kinds, statistics and anomalies over runs. */
export class Totals {
  readonly faults: Record<string, number> = {};
  readonly stats: Record<string, number> = {};
  readonly anomalies: Record<string, number> = {};
  runs = 0;
  operations = 0;
  ambiguous = 0;

  add(r: SimulationResult): void {
    this.runs++;
    this.operations += r.operations;
    this.ambiguous += r.ambiguous;
    for (const [k, v] of Object.entries(r.faults)) this.faults[k] = (this.faults[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.stats)) {
      // per-run quantiles do not add up: keep the worst run's
      this.stats[k] = /-(p\d+|max)-ms$/.test(k) ? Math.max(this.stats[k] ?? 0, v) : (this.stats[k] ?? 0) + v;
    }
    for (const a of r.anomalies) this.anomalies[a.kind] = (this.anomalies[a.kind] ?? 0) + 1;
  }

  /** Occurrences per required category. */
  categories(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(REQUIRED).map(([name, match]) => [
        name,
        Object.entries(this.faults).reduce((n, [k, v]) => (match(k) ? n + v : n), 0),
      ]),
    );
  }

  /** A printable report: the figures the issue asks for. */
  report(): string {
    const lines = [
      `runs ${this.runs}, produce operations ${this.operations}, ambiguous produce outcomes resolved ${this.ambiguous}`,
      `anomalies ${Object.values(this.anomalies).reduce((a, b) => a + b, 0)} ${JSON.stringify(this.anomalies)}`,
      'faults and crash points by category:',
      ...Object.entries(this.categories()).map(([k, v]) => `  ${k}: ${v}`),
      `faults by kind: ${JSON.stringify(Object.fromEntries(Object.entries(this.faults).sort()))}`,
      `activity: ${JSON.stringify(this.stats)}`,
    ];
    return lines.join('\n');
  }
}
