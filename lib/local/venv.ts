/**
 * Python tools the project runs (LocalStack, the OpenAPI conformance fuzzer), each in its own
 * venv under `.sluice/`, installed on first use from a fully pinned requirements file and
 * rebuilt when that file changes: built aside, then renamed, so an interrupted install never
 * leaves a half venv behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './paths';
import { run } from './processes';

/** Progress messages for a person watching (a first run installs). */
export type Progress = (message: string) => void;

async function findPython(needs: string): Promise<string> {
  for (const candidate of ['python3.11', 'python3.12', 'python3.13', 'python3', 'python']) {
    try {
      const v = await run(candidate, ['-c', 'import sys; print(sys.version_info[0]*100+sys.version_info[1])']);
      if (Number(v.trim()) >= 310) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `${needs} needs Python 3.10+ (python3 with the venv module). Install it ` +
      '(Debian: apt-get install python3 python3-venv).',
  );
}

/**
 * `.sluice/<name>` with exactly the packages of `requirements` (every one pinned, so
 * `--no-deps`); returns the venv's directory. `what` names the tool in progress messages.
 */
export async function ensureVenv(
  name: string,
  requirements: string,
  what: string,
  progress: Progress = () => {},
): Promise<string> {
  const venv = join(stateDir(), name);
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const marker = join(venv, '.sluice-requirements.sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) return venv;

  progress(`installing ${what} into .sluice/${name} — first run only, about a minute`);
  const building = `${venv}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  await run(await findPython(what), ['-m', 'venv', building]);
  await run(join(building, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-deps',
    '-r',
    requirements,
  ]);
  writeFileSync(join(building, '.sluice-requirements.sha256'), digest);
  // only `bin/python -m ...` is used, which works from the renamed directory
  rmSync(venv, { recursive: true, force: true });
  renameSync(building, venv);
  progress(`${what} installed`);
  return venv;
}
