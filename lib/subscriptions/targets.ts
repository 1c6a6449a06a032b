/**
 * Where a delivery goes. Each target resolves with the handler's answer (read for
 * `batchItemFailures`) or rejects when the delivery failed:
 *
 * - `lambda`: a synchronous Invoke (`RequestResponse`), one batch per invocation; a function
 *   error (`FunctionError` set) fails the batch, the payload it returns is the answer.
 * - `webhook`: a POST of the event as JSON; any 2xx is success (a JSON body is the answer),
 *   anything else — or no answer within the delivery timeout — fails the batch.
 * - `module`: (locally) a handler module's `handler(event, context)`, imported once.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LambdaInvoker } from '../storage/lambda-invoker';
import type { SubscriptionDefinition } from './definition';
import type { DeliveryTarget } from './dispatcher';
import type { KafkaEvent } from './kafka-event';

/** What targets need: a Lambda client (in AWS), and whether module targets are allowed. */
export interface TargetOptions {
  readonly lambda?: LambdaInvoker;
  /** Module targets run code in this process: only `npm start` allows them. */
  readonly allowModules?: boolean;
  /** Where relative module paths start. @default process.cwd() */
  readonly baseDir?: string;
}

/** A delivery answered with an error status, or a handler that threw: the batch failed. */
export class DeliveryFailed extends Error {}

const MAX_ANSWER_BYTES = 1024 * 1024;

function webhook(url: string): DeliveryTarget {
  return {
    async deliver(event, signal) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-sluice-subscription': event.sluice.subscription,
          'x-sluice-delivery-id': event.sluice.deliveryId,
        },
        body: JSON.stringify(event),
        signal,
        redirect: 'error',
      });
      const text = (await res.text()).slice(0, MAX_ANSWER_BYTES);
      if (res.status < 200 || res.status > 299) {
        throw new DeliveryFailed(`webhook answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
      }
      if (!text || !/json/i.test(res.headers.get('content-type') ?? '')) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new DeliveryFailed('webhook answered 2xx with a body that is not JSON');
      }
    },
  };
}

function lambda(invoke: LambdaInvoker, functionArn: string): DeliveryTarget {
  return {
    async deliver(event, signal) {
      const r = await invoke(functionArn, new TextEncoder().encode(JSON.stringify(event)), signal);
      const text = r.payload ? new TextDecoder().decode(r.payload) : '';
      if (r.functionError) throw new DeliveryFailed(`function error (${r.functionError}): ${text.slice(0, 500)}`);
      if (!text) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined; // a function answering something else than JSON succeeded all the same
      }
    },
  };
}

type Handler = (event: KafkaEvent, context: unknown) => unknown;

function module(path: string, baseDir: string): DeliveryTarget {
  let loaded: Promise<Handler> | undefined;
  const load = async (): Promise<Handler> => {
    const m = (await import(pathToFileURL(resolve(baseDir, path)).href)) as {
      handler?: unknown;
      default?: { handler?: unknown } | unknown;
    };
    const h = m.handler ?? (m.default as { handler?: unknown } | undefined)?.handler ?? m.default;
    if (typeof h !== 'function') throw new DeliveryFailed(`handler module ${path} exports no handler function`);
    return h as Handler;
  };
  return {
    async deliver(event) {
      loaded ??= load().catch((e) => {
        loaded = undefined; // fixed on disk, it loads at the next delivery
        throw e;
      });
      const h = await loaded;
      return await h(event, {
        functionName: `sluice-subscription-${event.sluice.subscription}`,
        awsRequestId: event.sluice.deliveryId,
      });
    },
  };
}

/** Builds the target of each subscription (module handlers are imported once per path). */
export function targetFactory(options: TargetOptions): (def: SubscriptionDefinition) => DeliveryTarget {
  const modules = new Map<string, DeliveryTarget>();
  const baseDir = options.baseDir ?? process.cwd();
  return (def) => {
    const t = def.target;
    if (t.type === 'webhook') return webhook(t.url);
    if (t.type === 'lambda') {
      if (!options.lambda) throw new DeliveryFailed('Lambda targets are delivered by the deployed dispatcher only');
      return lambda(options.lambda, t.functionArn);
    }
    if (!options.allowModules) throw new DeliveryFailed('handler module targets are delivered by `npm start` only');
    let m = modules.get(t.path);
    if (!m) {
      m = module(t.path, baseDir);
      modules.set(t.path, m);
    }
    return m;
  };
}
