/**
 * OpenAPI conformance: an independent fuzzer (Schemathesis, pinned in
 * test/conformance/requirements.txt, installed into `.sluice/schemathesis-venv` on first
 * use) runs all its phases — examples, coverage, fuzzing, stateful along the document's
 * links — with every check against the HTTP API, served as `npm start` serves it on the
 * real backends. Zero failures: the server accepts what the document allows, rejects what
 * it forbids, answers only with declared statuses and bodies, and never fails with a 5xx.
 * The seed is fixed so a red run reproduces (`SLUICE_CONFORMANCE_SEED` picks another;
 * the README's command explores with random seeds).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { REPO_ROOT, stateDir } from '../../lib/local/paths';
import { ensureVenv } from '../../lib/local/venv';
import { realStores } from '../support/real';

const CONFORMANCE = join(REPO_ROOT, 'test', 'conformance');
const SEED = process.env.SLUICE_CONFORMANCE_SEED ?? '20261201';

let server: RunningServer | undefined;
afterAll(async () => server?.close());

function runFuzzer(python: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // its working directory is .sluice/, where its Hypothesis database may stay
    const child = spawn(python, ['-m', 'schemathesis.cli', ...args], {
      cwd: stateDir(),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('OpenAPI conformance', () => {
  it('Schemathesis finds no failure in any phase with all checks', { timeout: 600_000 }, async () => {
    const venv = await ensureVenv(
      'schemathesis-venv',
      join(CONFORMANCE, 'requirements.txt'),
      'Schemathesis (OpenAPI conformance fuzzer)',
      (m) => console.log(`[conformance] ${m}`),
    );
    const stores = await realStores();
    // the document declares this server's long-poll bound, so fuzzed waits stay well inside
    // the fuzzer's request timeout
    server = await serveHttpApp(createHttpApp(createSluice(stores, { log: { maxFetchWaitMs: 2_000 } })), 0);
    const { code, output } = await runFuzzer(join(venv, 'bin', 'python'), [
      '--config-file',
      join(CONFORMANCE, 'schemathesis.toml'),
      'run',
      `${server.url}/v1/openapi.json`,
      '--checks',
      'all',
      '--seed',
      SEED,
      '--no-color',
    ]);
    writeFileSync(join(stateDir('logs'), 'conformance.log'), output);
    const summary = output.slice(output.lastIndexOf('SUMMARY'));
    expect(code, output.slice(-20_000)).toBe(0);
    expect(summary).toMatch(/Test cases:\s+\d+ generated, (\d+) passed/);
    expect(summary).not.toMatch(/failure|error/i);
    // stateful testing followed the document's links into the deeper routes
    expect(output).toMatch(/API Links:\s+(\d+) covered/);
    const covered = Number(/API Links:\s+(\d+) covered/.exec(output)?.[1]);
    expect(covered).toBeGreaterThanOrEqual(3); // of 25; 6-14 seen, the stateful phase is randomised
  });
});
