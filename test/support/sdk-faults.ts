/**
 * Fault injection and request counting at the AWS SDK layer: middleware added to the real
 * clients, so everything above (adapters, the log) runs unchanged.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

type Client = DynamoDBClient | S3Client;
type Handler = (args: unknown) => Promise<unknown>;
/** The slice of the SDK's middleware stack used here (its real type is a union of overloads). */
interface Stack {
  add(mw: (next: Handler, context: { commandName?: string }) => Handler, options: object): void;
}
const stackOf = (client: Client) => client.middlewareStack as unknown as Stack;

/** Counts commands sent through a client, by command name. */
export function countCommands(client: Client): Map<string, number> {
  const counts = new Map<string, number>();
  stackOf(client).add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'sluiceCountCommands', override: true },
  );
  return counts;
}

/**
 * After the next `times` requests matching `command` reached the service and were applied,
 * throws a timeout instead of returning the response: the "lost response" fault.
 * `inside-retries` places it below the SDK's retry middleware (the SDK retries the same
 * request, same idempotency token); `outside-retries` above it (the caller sees the error).
 */
export function loseResponses(
  client: Client,
  command: RegExp,
  placement: 'inside-retries' | 'outside-retries',
  times = 1,
): { fired: number } {
  const state = { fired: 0 };
  stackOf(client).add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (state.fired < times && command.test(String(context.commandName))) {
        state.fired++;
        throw Object.assign(new Error('injected: response lost after the request was applied'), {
          name: 'TimeoutError',
          $metadata: {},
        });
      }
      return result;
    },
    placement === 'inside-retries'
      ? { step: 'deserialize', name: 'sluiceLoseResponse', override: true }
      : { step: 'initialize', name: 'sluiceLoseResponse', priority: 'high', override: true },
  );
  return state;
}

/**
 * Fails matching requests with probability `p` (drawn from `next`), either before they are
 * sent (`when: 'before'`, nothing applied) or after they were applied (`when: 'after'`,
 * the response is lost). Placed above the SDK's retries, so the caller sees each failure.
 */
export function flakyRequests(
  client: Client,
  command: RegExp,
  p: number,
  next01: () => number,
  when: 'before' | 'after',
): { fired: number } {
  const state = { fired: 0 };
  stackOf(client).add(
    (nextHandler, context) => async (args) => {
      const hit = command.test(String(context.commandName)) && next01() < p;
      if (hit && when === 'before') {
        state.fired++;
        throw Object.assign(new Error('injected: service unavailable'), {
          name: 'ServiceUnavailable',
          $metadata: { httpStatusCode: 503 },
        });
      }
      const result = await nextHandler(args);
      if (hit) {
        state.fired++;
        throw Object.assign(new Error('injected: response lost'), { name: 'TimeoutError', $metadata: {} });
      }
      return result;
    },
    { step: 'initialize', name: `sluiceFlaky${when}${command.source}`, priority: 'high', override: true },
  );
  return state;
}

/**
 * Random faults on every request of a client, at the SDK layer, while `state.on`:
 * - inside the SDK's retry loop (the SDK handles them, as it does in production):
 *   throttling before the request is sent, and the response lost after it was applied —
 *   the SDK then sends the same request again (a duplicate delivery);
 * - outside it (the caller sees them): unavailable before sending, response lost after.
 * Counts land in `counts` by kind.
 */
export function sdkChaos(
  client: Client,
  service: 's3' | 'dynamodb',
  rate: number,
  next01: () => number,
  counts: Record<string, number>,
): { on: boolean } {
  const state = { on: true };
  const count = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const fault = (name: string, status: number, message: string) =>
    Object.assign(new Error(`injected: ${message}`), { name, $fault: 'server', $metadata: { httpStatusCode: status } });
  const throttle = () =>
    service === 's3' ? fault('SlowDown', 503, 'slow down') : fault('ThrottlingException', 400, 'throttled');
  const stack = stackOf(client);
  stack.add(
    (next) => async (args) => {
      if (!state.on) return next(args);
      const r = next01();
      if (r < rate) {
        count(`sdk-${service}-throttled-retried-by-sdk`);
        throw throttle();
      }
      const result = await next(args);
      if (r < 2 * rate) {
        count(`sdk-${service}-response-lost-retried-by-sdk`);
        throw Object.assign(new Error('injected: response lost'), { name: 'TimeoutError', $metadata: {} });
      }
      return result;
    },
    { step: 'deserialize', name: 'sluiceChaosInside', override: true },
  );
  stack.add(
    (next) => async (args) => {
      if (!state.on) return next(args);
      const r = next01();
      if (r < rate / 4) {
        count(`sdk-${service}-unavailable-before-sending`);
        throw fault('ServiceUnavailable', 503, 'service unavailable');
      }
      const result = await next(args);
      if (r < rate / 2) {
        count(`sdk-${service}-response-lost-after-applied`);
        throw Object.assign(new Error('injected: response lost'), { name: 'TimeoutError', $metadata: {} });
      }
      return result;
    },
    { step: 'initialize', name: 'sluiceChaosOutside', priority: 'high', override: true },
  );
  return state;
}

/**
 * Runs `hook` before each of the next `times` requests matching `command` is sent (and waits
 * for it): another writer's change landing between a caller's read and its conditional write.
 */
export function beforeRequests(
  client: Client,
  command: RegExp,
  times: number,
  hook: () => Promise<unknown>,
): { fired: number } {
  const state = { fired: 0 };
  stackOf(client).add(
    (next, context) => async (args) => {
      if (state.fired < times && command.test(String(context.commandName))) {
        state.fired++;
        await hook();
      }
      return next(args);
    },
    { step: 'initialize', name: 'sluiceBeforeRequests', priority: 'high', override: true },
  );
  return state;
}
