/**
 * `npm start`: the local Sluice. Starts the local backends (unless the AWS SDK's endpoint
 * variables point at running ones), creates the bucket and table (with its stream), serves
 * the HTTP API on 127.0.0.1:$PORT (default 8787), and delivers push subscriptions to their
 * webhooks and handler modules, triggered by the table's stream as on AWS. Ctrl-C / SIGTERM
 * stops everything it started.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AccessSettings, accessSettingsFromEnv } from '../access/authorizer';
import { LOCAL_PRINCIPAL_HEADER, principalOfLocalRequest } from '../access/principal';
import { createSluice } from '../compose';
import { createHttpApp } from '../http/app';
import { serveHttpApp } from '../http/node-server';
import { storesFromClients } from '../storage/aws';
import { ENVIRONMENT } from '../storage/layout';
import { startLocalBackends } from './backends';
import { localDynamoClient, localS3Client } from './clients';
import { stateDir } from './paths';
import { ensureBucket, ensureTable } from './provision';
import { startLocalSubscriptions } from './subscriptions';

const env = process.env;
const port = Number(env.PORT ?? 8787);
const bucket = env[ENVIRONMENT.bucket] ?? 'sluice-local';
const table = env[ENVIRONMENT.table] ?? 'sluice-local';
const lockFile = join(stateDir(), 'dev-server.json');
const say = (m: string) => console.log(`[sluice] ${m}`);

function alreadyRunning(): { pid: number; url: string } | undefined {
  if (!existsSync(lockFile)) return undefined;
  try {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; url: string };
    process.kill(lock.pid, 0); // throws if no such process
    return lock;
  } catch {
    return undefined;
  }
}

async function main() {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PORT=${env.PORT} is not a TCP port (1-65535)`);
  }
  const running = alreadyRunning();
  if (running) {
    console.error(
      `[sluice] Sluice is already running at ${running.url} (pid ${running.pid}).\n` +
        `         Use it, stop it (Ctrl-C in its terminal, or: kill ${running.pid}), or start another one with PORT=<port> npm start.`,
    );
    process.exit(1);
  }
  say('preparing local backends (the first start installs LocalStack, about a minute) ...');
  const backends = await startLocalBackends(env, say);
  let stopping = false;
  let server: Awaited<ReturnType<typeof serveHttpApp>> | undefined;
  let subscriptions: { stop(): Promise<void> } | undefined;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping ...`);
    await server?.close();
    await subscriptions?.stop();
    await backends.stop();
    rmSync(lockFile, { force: true });
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    const s3 = localS3Client(backends.s3Endpoint);
    const dynamo = localDynamoClient(backends.dynamoEndpoint);
    say(`creating bucket ${bucket} and table ${table} (if missing)`);
    await Promise.all([ensureBucket(s3, bucket), ensureTable(dynamo, table, { stream: true })]);
    const stores = storesFromClients(s3, dynamo, bucket, table);
    // locally nobody is authenticated: open unless SLUICE_ACCESS=acl asks to try ACLs, with
    // the caller named by the x-sluice-principal header
    const access = accessSettingsFromEnv(env, 'open');
    const core = createSluice(stores, { access });
    const push = await startLocalSubscriptions(core, { endpoint: backends.dynamoEndpoint, dynamo, table, say });
    subscriptions = push;
    try {
      server = await serveHttpApp(
        createHttpApp(core, {
          principalOf: (c) => principalOfLocalRequest(c.req.header(LOCAL_PRINCIPAL_HEADER)),
          subscriptions: { targets: ['webhook', 'module'], loopbackHttp: true, onChange: push.onChange },
        }),
        port,
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new Error(
          `port ${port} on 127.0.0.1 is in use by another program; start with PORT=<free port> npm start`,
        );
      }
      throw e;
    }
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, url: server.url }));
    const u = server.url;
    console.log(`
Sluice is running at ${u}   (S3: ${backends.s3Endpoint}, DynamoDB: ${backends.dynamoEndpoint})
OpenAPI document: ${u}/v1/openapi.json      Stop with Ctrl-C.
${accessNote(access)}
${dataNote(backends.started, bucket, table)}

Try it:
  curl -s -X POST ${u}/v1/topics -H 'content-type: application/json' -d '{"name":"orders","partitions":3}'
  curl -s -X POST ${u}/v1/topics/orders/records -H 'content-type: application/json' -d '{"records":[{"key":"customer-9","partition":0,"value":"{\\"total\\":42}"}]}'
  curl -s "${u}/v1/topics/orders/partitions/0/records?offset=0"
`);
  } catch (e) {
    await backends.stop();
    throw e;
  }
}

/**
 * Where the data lives, and whether a restart keeps it. The backends npm start runs keep
 * everything in memory: DynamoDB Local could keep a file (-dbPath), but LocalStack's community
 * S3 cannot, and a table whose segments are gone is worse than an empty one — so no flag.
 */
function dataNote(started: readonly string[], bucket: string, table: string): string {
  if (started.length === 2) {
    return `Data: bucket ${bucket} and table ${table}, in memory — gone when npm start stops (point AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB at backends of yours to keep it).`;
  }
  if (started.length === 0)
    return `Data: bucket ${bucket} and table ${table} in the backends you configured; they keep it.`;
  return `Data: bucket ${bucket} and table ${table}; the ${started.join(' and ')} npm start runs keeps it in memory — gone when npm start stops.`;
}

function accessNote(a: AccessSettings): string {
  if (a.mode === 'open')
    return 'Access: open (every request may do everything; SLUICE_ACCESS=acl npm start to try ACLs).';
  const admins = a.admins?.length ? a.admins.join(', ') : 'none (set SLUICE_ADMINS=<arn>,... to have one)';
  return `Access: ACLs. A request's principal is its ${LOCAL_PRINCIPAL_HEADER} header (an ARN); admins: ${admins}.`;
}

main().catch((e) => {
  console.error(`[sluice] could not start: ${(e as Error).message}`);
  process.exit(1);
});
