/**
 * House rules checked on the source, not left to reminders (STYLE §8, §10, §15):
 * the AWS SDK is used only behind the storage ports and by the local tooling; time and
 * randomness come from the injected clock and id sources.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mjs|js)$/.test(name)) out.push(path);
  }
  return out;
}

const files = ['lib', 'functions', 'cdk'].flatMap(sources);

/** Lines of `file` matching `pattern`, as `file:line: text`. */
function offending(file: string, pattern: RegExp): string[] {
  return readFileSync(join(root, file), 'utf8')
    .split('\n')
    .flatMap((line, i) =>
      pattern.test(line) && !/^\s*(\/\/|\*)/.test(line) ? [`${relative('.', file)}:${i + 1}: ${line.trim()}`] : [],
    );
}

describe('house rules', () => {
  it('reads every source file it rules on', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain(join('lib', 'log', 'produce.ts'));
  });

  it('imports the AWS SDK (and smithy) only in lib/storage and lib/local', () => {
    const allowed = (f: string) => f.startsWith(join('lib', 'storage')) || f.startsWith(join('lib', 'local'));
    const found = files
      .filter((f) => !allowed(f))
      .flatMap((f) => offending(f, /(from|import)\s*\(?\s*['"](@aws-sdk|@smithy)\//));
    expect(found).toEqual([]);
  });

  it('reads time and randomness only through lib/clock.ts and lib/ids.ts', () => {
    const allowed = new Set([join('lib', 'clock.ts'), join('lib', 'ids.ts')]);
    // the Lambda runtime LocalStack runs the deployed functions in is not Sluice's code
    const runtime = join('lib', 'local', 'localstack-lambda-executor');
    const found = files
      .filter((f) => f.startsWith('lib') && !allowed.has(f) && !f.startsWith(runtime))
      .flatMap((f) => offending(f, /\bDate\.now\(\)|\bMath\.random\(\)|\bnew Date\(\)|\bperformance\.now\(\)/));
    expect(found).toEqual([]);
  });

  it('the rules catch what they forbid', () => {
    expect(offending(join('lib', 'clock.ts'), /\bDate\.now\(\)/).length).toBeGreaterThan(0);
    expect(
      offending(join('lib', 'storage', 'aws.ts'), /(from|import)\s*\(?\s*['"](@aws-sdk|@smithy)\//).length,
    ).toBeGreaterThan(0);
  });
});
