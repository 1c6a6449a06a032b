/**
 * `npm run deploy:local`: deploys the CDK stack into LocalStack and prints the Function URL
 * and how to call it. Into the LocalStack that `AWS_ENDPOINT_URL` names (it must run the
 * stack's services: CloudFormation, IAM, Lambda, …), or else into one it starts itself
 * (loopback only), which it keeps serving until Ctrl-C and then stops with everything in it.
 */
import { deployToLocalStack } from './deploy';
import { type LocalStack, logTail, startLocalStack } from './localstack';

const say = (m: string) => console.log(`[sluice] ${m}`);

async function main() {
  const configured = process.env.AWS_ENDPOINT_URL;
  if (!configured)
    say("starting LocalStack with the stack's services (the first start installs it, about a minute) ...");
  const ls: LocalStack | undefined = configured ? undefined : await startLocalStack(say, { stack: true });
  const endpoint = configured ?? (ls as LocalStack).endpoint;
  const stop = async () => {
    await ls?.process.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  try {
    const stack = await deployToLocalStack({
      endpoint,
      stackName: process.env.STACK_NAME ?? 'Sluice-local',
      progress: say,
    });
    const url = new URL(stack.apiUrl);
    const gateway = new URL(endpoint);
    console.log(`
Sluice is deployed into LocalStack at ${endpoint}
  Function URL (IAM auth; LocalStack does not check signatures): ${stack.apiUrl}
  bucket ${stack.bucket}, table ${stack.table}
  access: open (LocalStack authenticates no caller, so no ACL could name one; on AWS the stack authorizes by ACLs)
  maintenance function ${stack.maintenanceFunction} (runs every 5 minutes; invoke it to run now)

LocalStack routes the URL by its Host, which needs DNS for *.localhost.localstack.cloud;
offline, connect to LocalStack's port with that Host:
  curl -s --connect-to ${url.hostname}:${url.port}:${gateway.hostname}:${gateway.port} ${stack.apiUrl}v1/topics
  curl -s --connect-to ${url.hostname}:${url.port}:${gateway.hostname}:${gateway.port} -X POST ${stack.apiUrl}v1/topics \\
       -H 'content-type: application/json' -d '{"name":"orders","partitions":3}'
${ls ? '\nStop with Ctrl-C (stops LocalStack and everything in it).' : ''}`);
    if (!ls) process.exit(0);
  } catch (e) {
    console.error(`[sluice] deploy failed: ${(e as Error).message}`);
    if (ls) console.error(`--- LocalStack log (tail) ---\n${logTail(ls.logFile)}`);
    await ls?.process.stop();
    process.exit(1);
  }
}

void main();
