/**
 * Python tools the project runs (LocalStack, the OpenAPI conformance fuzzer), each in its own
 * venv under `.sluice/`, installed on first use from a fully pinned requirements file and
 * rebuilt when that file changes: built aside, then renamed, so an interrupted install never
 * leaves a half venv behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from './paths';
import { run } from './processes';

/** Progress messages for a person watching (a first run installs). */
export type Progress = (message: string) => void;

/** Interpreters on PATH, and pyenv's (whose shims answer only for the selected version). */
function pythonCandidates(): string[] {
  const names = ['python3.11', 'python3.12', 'python3.13', 'python3.14', 'python3', 'python'];
  const pyenv = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const versions = join(pyenv, 'versions');
  const installed = existsSync(versions) ? readdirSync(versions).map((v) => join(versions, v, 'bin', 'python3')) : [];
  return [...names, ...installed.filter((p) => existsSync(p))];
}

/** The interpreter's version as major*100+minor (311 = 3.11), or undefined if it does not run. */
async function versionOf(python: string): Promise<number | undefined> {
  try {
    const v = await run(python, ['-c', 'import sys; print(sys.version_info[0]*100+sys.version_info[1])']);
    return Number(v.trim());
  } catch {
    return undefined;
  }
}

/**
 * A Python 3.10+ to build a venv with: the first found, or with `prefer` (e.g. 313) the
 * oldest at least that new, else the newest older one.
 */
async function findPython(needs: string, prefer?: number): Promise<{ python: string; version: number }> {
  const found: { python: string; version: number }[] = [];
  for (const python of pythonCandidates()) {
    const version = await versionOf(python);
    if (version === undefined || version < 310) continue;
    if (prefer === undefined) return { python, version };
    found.push({ python, version });
  }
  const preferred =
    found.filter((f) => f.version >= (prefer ?? 0)).sort((a, b) => a.version - b.version)[0] ??
    found.sort((a, b) => b.version - a.version)[0];
  if (preferred) return preferred;
  throw new Error(
    `${needs} needs Python 3.10+ (python3 with the venv module). Install it ` +
      '(Debian: apt-get install python3 python3-venv).',
  );
}

/** `pip install` into the venv of `python`, quietly, never resolving dependencies (all are pinned). */
export async function pipInstall(python: string, args: readonly string[]): Promise<void> {
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', ...args]);
}

/** How a venv is built beyond its requirements file. */
export interface VenvOptions {
  /** Prefer this Python (major*100+minor) or newer when the machine has one. */
  readonly preferPython?: number;
  /** More files whose content decides the venv (rebuilt when one changes). */
  readonly inputs?: readonly string[];
  /** Runs in the new venv after the requirements are installed (python, its version). */
  readonly finish?: (python: string, version: number) => Promise<void>;
}

/**
 * `.sluice/<name>` with exactly the packages of `requirements` (every one pinned, so
 * `--no-deps`, and hashed: `--require-hashes`); returns the venv's directory. `what` names the tool in progress messages.
 */
export async function ensureVenv(
  name: string,
  requirements: string,
  what: string,
  progress: Progress = () => {},
  options: VenvOptions = {},
): Promise<string> {
  const venv = join(stateDir(), name);
  const { python, version } = await findPython(what, options.preferPython);
  const hash = createHash('sha256').update(`python ${version}\n`);
  for (const file of [requirements, ...(options.inputs ?? [])]) hash.update(readFileSync(file));
  const digest = hash.digest('hex');
  const marker = join(venv, '.sluice-requirements.sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) return venv;

  progress(
    `installing ${what} into .sluice/${name} (Python ${Math.floor(version / 100)}.${version % 100}) — first run only, about a minute`,
  );
  const building = `${venv}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  await run(python, ['-m', 'venv', building]);
  // every file pip downloads must have one of the hashes the requirements file lists
  await pipInstall(join(building, 'bin', 'python'), ['--require-hashes', '-r', requirements]);
  await options.finish?.(join(building, 'bin', 'python'), version);
  writeFileSync(join(building, '.sluice-requirements.sha256'), digest);
  // only `bin/python -m ...` is used, which works from the renamed directory
  rmSync(venv, { recursive: true, force: true });
  renameSync(building, venv);
  progress(`${what} installed`);
  return venv;
}
