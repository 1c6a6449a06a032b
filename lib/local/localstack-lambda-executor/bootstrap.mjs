/**
 * One Lambda execution environment for LocalStack's `sluice-node` executor: loads the
 * handler (`_HANDLER`, e.g. `index.handler`, from `LAMBDA_TASK_ROOT`), reports ready to
 * LocalStack, then serves one invocation at a time on 127.0.0.1 (POST /invoke, the payload
 * LocalStack's executor endpoint sends) and posts each result and its log lines back —
 * what LocalStack's init binary does inside its Docker image.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

const env = process.env;
const endpoint = env.LOCALSTACK_RUNTIME_ENDPOINT;
const runtimeId = env.LOCALSTACK_RUNTIME_ID;
const taskRoot = env.LAMBDA_TASK_ROOT ?? process.cwd();
const timeoutMs = Number(env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? 3) * 1000;

/** What the current invocation printed (an environment runs one invocation at a time). */
let captured = null;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    if (captured !== null) captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return write(chunk, ...rest);
  };
}

async function post(path, body) {
  const res = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (!res.ok) console.error(`LocalStack answered ${res.status} to ${path}`);
}

function errorBody(error) {
  const e = error instanceof Error ? error : new Error(format('%s', error));
  return { errorType: e.name, errorMessage: e.message, stackTrace: (e.stack ?? '').split('\n').slice(1) };
}

async function loadHandler() {
  const handlerSpec = env._HANDLER ?? 'index.handler';
  const dot = handlerSpec.lastIndexOf('.');
  const [modulePath, name] = [handlerSpec.slice(0, dot), handlerSpec.slice(dot + 1)];
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, modulePath + ext)).find((f) => existsSync(f));
  if (!file) throw new Error(`Cannot find module '${modulePath}' in ${taskRoot} (handler ${handlerSpec})`);
  const mod = await import(pathToFileURL(file).href);
  const fn = mod[name] ?? mod.default?.[name];
  if (typeof fn !== 'function') throw new Error(`${handlerSpec} is undefined or not exported`);
  return fn;
}

function contextFor(invokeId, functionArn, deadline) {
  return {
    awsRequestId: invokeId,
    invokedFunctionArn: functionArn,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Runs one invocation; the handler may be async or take a callback. */
function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err ? reject(err) : resolve(result));
    try {
      const out = handler(event, context, callback);
      if (out && typeof out.then === 'function') out.then(resolve, reject);
      else if (handler.length < 3) resolve(out);
    } catch (e) {
      reject(e);
    }
  });
}

async function invoke(handler, request) {
  const invokeId = request['invoke-id'];
  const started = performance.now();
  captured = [];
  if (request['trace-id']) env._X_AMZN_TRACE_ID = request['trace-id'];
  console.log(`START RequestId: ${invokeId} Version: ${env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST'}`);
  let outcome;
  try {
    const event = request.payload ? JSON.parse(request.payload) : {};
    const deadline = Date.now() + timeoutMs;
    const result = await runHandler(handler, event, contextFor(invokeId, request['invoked-function-arn'], deadline));
    outcome = { path: 'response', body: JSON.stringify(result ?? null) };
  } catch (e) {
    console.error(format('Invoke Error %s', JSON.stringify(errorBody(e))));
    outcome = { path: 'error', body: errorBody(e) };
  }
  const ms = (performance.now() - started).toFixed(2);
  const mb = Math.round(process.memoryUsage().rss / 1048576);
  console.log(`END RequestId: ${invokeId}`);
  console.log(
    `REPORT RequestId: ${invokeId}\tDuration: ${ms} ms\tBilled Duration: ${Math.ceil(Number(ms))} ms\t` +
      `Memory Size: ${env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE} MB\tMax Memory Used: ${mb} MB`,
  );
  const logs = captured.join('');
  captured = null;
  await post(`/invocations/${invokeId}/logs`, { logs });
  await post(`/invocations/${invokeId}/${outcome.path}`, outcome.body);
}

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    console.error(e);
    await post(`/status/${runtimeId}/error`, errorBody(e));
    process.exit(1);
  }
  let queue = Promise.resolve();
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/invoke') {
      res.writeHead(404).end();
      return;
    }
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      res.writeHead(202).end();
      const request = JSON.parse(Buffer.concat(parts).toString('utf8'));
      queue = queue.then(() => invoke(handler, request)).catch((e) => console.error(e));
    });
  });
  server.listen(Number(env.SLUICE_EXECUTOR_PORT), env.SLUICE_EXECUTOR_HOST ?? '127.0.0.1', () => {
    void post(`/status/${runtimeId}/ready`, {});
  });
  process.once('SIGTERM', () => {
    server.close();
    process.exit(0);
  });
}

await main();
