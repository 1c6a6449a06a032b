/**
 * `npm run restore-segments -- --bucket <Bucket output> --since <ISO time> [--apply]`: lists
 * (or, with --apply, brings back) the segments deleted since the time, from the versioned
 * bucket. Credentials and region come from the usual AWS variables. Part of the restore
 * procedure in the README (Recovering deleted data).
 */
import { parseArgs } from 'node:util';
import { objectHistoryOf } from '../storage/aws';
import { restoreDeletedSegments } from './restore';

const usage = 'usage: npm run restore-segments -- --bucket <bucket> --since <ISO time or epoch ms> [--apply]';

async function main() {
  const { values } = parseArgs({
    options: {
      bucket: { type: 'string' },
      since: { type: 'string' },
      apply: { type: 'boolean', default: false },
      region: { type: 'string' },
    },
  });
  if (!values.bucket || !values.since) throw new Error(usage);
  const sinceMs = /^\d+$/.test(values.since) ? Number(values.since) : Date.parse(values.since);
  if (!Number.isFinite(sinceMs))
    throw new Error(`--since ${values.since} is not a time (ISO 8601 or epoch ms)\n${usage}`);
  const history = objectHistoryOf({ bucket: values.bucket, ...(values.region ? { region: values.region } : {}) });
  const r = await restoreDeletedSegments(history, {
    sinceMs,
    apply: values.apply,
    onProgress: (found, restored) =>
      process.stderr.write(`\r[sluice] ${found} deleted segments found, ${restored} restored`),
  });
  process.stderr.write('\n');
  console.log(
    values.apply
      ? `Restored ${r.restored} segments deleted since ${new Date(sinceMs).toISOString()}.`
      : `${r.found} segments were deleted since ${new Date(sinceMs).toISOString()}; run again with --apply to restore them.`,
  );
  for (const key of r.sample) console.log(`  ${key}`);
  if (r.found > r.sample.length) console.log(`  … and ${r.found - r.sample.length} more`);
}

main().catch((e) => {
  console.error(`[sluice] ${(e as Error).message}`);
  process.exit(1);
});
