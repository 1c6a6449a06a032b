/**
 * `npm run test:reliability -- --seeds N --ops M`: many seeds of the deterministic
 * simulation; prints the seeds, operations, faults by category and kind, ambiguous
 * outcomes and every anomaly count, and exits non-zero on any anomaly (the failing history
 * goes to a JSON-lines file for inspection).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { simulate } from './simulation';
import { Totals } from './summary';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const seeds = arg('seeds', 500);
const ops = arg('ops', 2000);
const totals = new Totals();
const started = Date.now();
for (let seed = 1; seed <= seeds; seed++) {
  const r = await simulate(seed, ops);
  totals.add(r);
  process.stderr.write(
    `\rseed ${seed}/${seeds}: ${r.anomalies.length} anomalies, ${r.ambiguous} ambiguous (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  if (r.anomalies.length > 0) {
    mkdirSync('.sluice', { recursive: true });
    const file = `.sluice/reliability-seed-${seed}.jsonl`;
    writeFileSync(file, r.history.map((o) => JSON.stringify(o)).join('\n'));
    console.error(`\nseed ${seed}: ${JSON.stringify(r.anomalies.slice(0, 5))} (history: ${file})`);
  }
}
console.log(`\nseeds ${seeds}, operations per seed ${ops}\n${totals.report()}`);
process.exit(Object.keys(totals.anomalies).length > 0 ? 1 : 0);
