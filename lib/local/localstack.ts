/**
 * LocalStack 4.13.1 in host mode (no Docker) for S3: installed on first use into
 * `.sluice/localstack-venv` from a fully pinned requirements file, started with
 * `python -m localstack.runtime.main` on 127.0.0.1, stopped by pid.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, stateDir } from './paths';
import { freePort, type ManagedProcess, run, startProcess, waitUntil } from './processes';

const REQUIREMENTS = join(REPO_ROOT, 'lib', 'local', 'localstack-requirements.txt');

/** Progress messages for a person watching (first start installs LocalStack). */
export type Progress = (message: string) => void;

/** A running LocalStack. */
export interface LocalStack {
  readonly endpoint: string;
  readonly process: ManagedProcess;
}

async function findPython(): Promise<string> {
  for (const candidate of ['python3.11', 'python3.12', 'python3.13', 'python3', 'python']) {
    try {
      const v = await run(candidate, ['-c', 'import sys; print(sys.version_info[0]*100+sys.version_info[1])']);
      if (Number(v.trim()) >= 310) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'LocalStack host mode needs Python 3.10+ (python3 with the venv module). Install it ' +
      '(Debian: apt-get install python3 python3-venv) or run LocalStack in Docker and set AWS_ENDPOINT_URL.',
  );
}

/** Creates the venv once (atomically: built aside, then renamed); returns its python. */
export async function ensureLocalStackInstalled(progress: Progress = () => {}): Promise<string> {
  const venv = join(stateDir(), 'localstack-venv');
  const python = join(venv, 'bin', 'python');
  const lock = readFileSync(REQUIREMENTS);
  const digest = createHash('sha256').update(lock).digest('hex');
  const marker = join(venv, '.sluice-requirements.sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) return python;

  progress('installing LocalStack 4.13.1 (host mode) into .sluice/localstack-venv — first start only, about a minute');
  const building = `${venv}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  await run(await findPython(), ['-m', 'venv', building]);
  await run(join(building, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-deps',
    '-r',
    REQUIREMENTS,
  ]);
  writeFileSync(join(building, '.sluice-requirements.sha256'), digest);
  // only `bin/python -m ...` is used, which works from the renamed directory
  rmSync(venv, { recursive: true, force: true });
  renameSync(building, venv);
  progress('LocalStack installed');
  return python;
}

/** Starts LocalStack (S3 only) on 127.0.0.1 and waits until S3 answers. */
export async function startLocalStack(progress: Progress = () => {}): Promise<LocalStack> {
  const python = await ensureLocalStackInstalled(progress);
  const port = await freePort();
  const dir = stateDir(`localstack-${port}`);
  const logFile = join(stateDir('logs'), `localstack-${port}.log`);
  progress(`starting LocalStack S3 on 127.0.0.1:${port}`);
  const proc = startProcess('localstack', python, ['-m', 'localstack.runtime.main'], {
    logFile,
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      // the default (twisted) gateway ignores the host above and binds 0.0.0.0; hypercorn keeps it
      GATEWAY_SERVER: 'hypercorn',
      SERVICES: 's3',
      OVERRIDE_IN_DOCKER: '0',
      FILESYSTEM_ROOT: join(dir, 'fs'),
      DNS_ADDRESS: '0',
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      LOCALSTACK_TELEMETRY: '0',
      EAGER_SERVICE_LOADING: '1',
    },
  });
  // its state is ephemeral (no persistence, like DynamoDB Local's -inMemory): gone with it
  void proc.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntil(
    'LocalStack',
    async () => {
      const res = await fetch(`${endpoint}/_localstack/health`);
      if (!res.ok) return false;
      const body = (await res.json()) as { services?: Record<string, string> };
      return ['available', 'running'].includes(body.services?.s3 ?? '');
    },
    proc,
    120_000,
    logFile,
  );
  return { endpoint, process: proc };
}
