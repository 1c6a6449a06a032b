/**
 * Push subscriptions under `npm start`: the same dispatcher as the deployed one, triggered by
 * DynamoDB Local's table stream instead of an event-source mapping, delivering to webhooks
 * and handler modules (loaded into this process).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SluiceCore } from '../compose';
import { uuidV4 } from '../ids';
import type { StoredSubscription } from '../subscriptions/definition';
import { DEFAULT_DISPATCH_SETTINGS, type DeliveryReport, type DispatchDeps } from '../subscriptions/dispatcher';
import { listSubscriptions } from '../subscriptions/manage';
import { targetFactory } from '../subscriptions/targets';
import { DispatchQueue, grownPartitions, SubscriptionTrigger, type WorkResult } from '../subscriptions/trigger';
import { StreamPoller } from './stream-poller';

/** The running local dispatcher. */
export interface LocalSubscriptions {
  /** What the HTTP routes tell it (a created or enabled subscription is delivered at once). */
  onChange(name: string, s: StoredSubscription | undefined, kick: boolean): Promise<void>;
  /** Drains what is in flight (briefly), stops reading the stream. */
  stop(): Promise<void>;
}

/**
 * The local dispatcher: the table's stream says which partitions grew; their enabled
 * subscriptions are driven (a few partitions at a time) to webhooks and handler modules.
 */
export async function startLocalSubscriptions(
  core: SluiceCore,
  o: {
    /** DynamoDB Local's endpoint and a client of it, and the table whose stream is read. */
    endpoint: string;
    dynamo: DynamoDBClient;
    table: string;
    say: (message: string) => void;
    /** Pause between stream reads that found nothing. @default 250 */
    idleMs?: number;
    /** Told about each piece of work driven (tests count them). */
    onResult?: (r: WorkResult) => void;
  },
): Promise<LocalSubscriptions> {
  const say = o.say;
  const groups = core.groups as NonNullable<typeof core.groups>;
  const deps: DispatchDeps = {
    log: core.log,
    groups: groups.groups,
    clock: core.clock,
    random: core.random,
    settings: DEFAULT_DISPATCH_SETTINGS,
    target: targetFactory({ allowModules: true }),
    dispatcherId: `local-${process.pid}-${uuidV4(core.random).slice(0, 8)}`,
    source: 'sluice-local',
    observe: (r: DeliveryReport) => {
      if (r.outcome !== 'success') {
        say(
          `subscription ${r.subscription}: ${r.topic}-${r.partition}@${r.firstOffset} (${r.records} records) ${r.outcome}${r.reason ? `: ${r.reason}` : ''}`,
        );
      }
    },
  };
  const trigger = new SubscriptionTrigger(deps, { subscriptionsCacheMs: 2_000 });
  const queue = new DispatchQueue(trigger, core.clock, {
    concurrency: 8,
    budgetMs: 60_000,
    retryMs: 1_000,
    onResult: (r) => {
      o.onResult?.(r);
      if (r.status === 'error')
        say(`subscription ${r.subscription}: ${r.topic}-${r.partition} failed: ${r.error} (trying again)`);
    },
  });
  const poller = new StreamPoller(
    o.endpoint,
    o.dynamo,
    o.table,
    async (records) => queue.add(await trigger.workFor(grownPartitions(records))),
    {
      ...(o.idleMs !== undefined ? { idleMs: o.idleMs } : {}),
      onError: (e) => say(`reading the table's stream failed: ${(e as Error).message} (trying again)`),
    },
  );
  await poller.start();
  // what was produced while Sluice was stopped
  for (const s of await listSubscriptions(groups)) {
    if (s.definition.options.enabled) queue.add(await trigger.workOf(s));
  }
  return {
    onChange: async (_name, s, kick) => {
      trigger.invalidate();
      if (s && kick) queue.add(await trigger.workOf(s));
    },
    stop: async () => {
      await poller.stop();
      // a delivery in flight is not waited for long: its lease expires, and it is delivered again
      await Promise.race([queue.stop(), new Promise((r) => setTimeout(r, 3_000))]);
    },
  };
}
