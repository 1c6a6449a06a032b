/**
 * LocalStack 4.13.1 in host mode (no Docker) for S3: installed on first use into
 * `.sluice/localstack-venv` from a fully pinned requirements file, started with
 * `python -m localstack.runtime.main` on 127.0.0.1, stopped by pid.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, stateDir } from './paths';
import { freePort, type ManagedProcess, startProcess, waitUntil } from './processes';
import { ensureVenv, type Progress } from './venv';

const REQUIREMENTS = join(REPO_ROOT, 'lib', 'local', 'localstack-requirements.txt');

/** A running LocalStack. */
export interface LocalStack {
  readonly endpoint: string;
  readonly process: ManagedProcess;
}

/** Installs LocalStack into its venv once; returns the venv's python. */
export async function ensureLocalStackInstalled(progress: Progress = () => {}): Promise<string> {
  const venv = await ensureVenv('localstack-venv', REQUIREMENTS, 'LocalStack 4.13.1 (host mode)', progress);
  return join(venv, 'bin', 'python');
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
