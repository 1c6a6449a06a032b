/**
 * What the deployed dispatcher function is invoked with, and what it does with it:
 *
 * - a DynamoDB stream batch (the event-source mapping on the table, filtered to head-shard
 *   changes): the partitions that grew, for every enabled subscription of their topic;
 * - `{ kick: [name] }` (the API, when a subscription is created or enabled; the maintenance
 *   job, when one lags with nobody delivering it): every partition of those subscriptions;
 * - `{ work, hop }` (itself): what a run's time budget left, handed over.
 *
 * The work is driven until caught up or the budget ends; what is left is answered, to be sent
 * on as a new invocation. Work that failed is sent on a few hops only (then the maintenance
 * job's sweep finds the lag): a broken store must not become an endless chain of invocations.
 */

import { SubscriptionNotFoundError } from '../errors';
import type { DispatchDeps } from './dispatcher';
import { getSubscription } from './manage';
import type { TableStreamRecord, Work, WorkResult } from './trigger';
import { grownPartitions, type SubscriptionTrigger } from './trigger';

export type DispatcherEvent =
  | { readonly Records: readonly TableStreamRecord[] }
  | { readonly kick: readonly string[] }
  | { readonly work: readonly Work[]; readonly hop?: number };

/** Hand-overs of failed work before the sweep takes over. */
export const MAX_ERROR_HOPS = 3;

/** The outcome of one invocation. */
export interface DispatchRun {
  readonly results: readonly WorkResult[];
  /** To be sent on as `{ work, hop }` (absent: nothing left). */
  readonly next?: { readonly work: Work[]; readonly hop: number };
}

/** The work an event asks for. */
export async function workOfEvent(
  d: Pick<DispatchDeps, 'groups'>,
  trigger: SubscriptionTrigger,
  event: DispatcherEvent,
): Promise<{ work: Work[]; hop: number }> {
  if ('Records' in event) return { work: await trigger.workFor(grownPartitions(event.Records)), hop: 0 };
  if ('kick' in event) {
    const work: Work[] = [];
    for (const name of event.kick) {
      try {
        const s = await getSubscription(d, name);
        if (s.definition.options.enabled) work.push(...(await trigger.workOf(s)));
      } catch (e) {
        if (!(e instanceof SubscriptionNotFoundError)) throw e;
      }
    }
    return { work, hop: 0 };
  }
  return { work: [...event.work], hop: event.hop ?? 0 };
}

/** Drives what the event asks for until `deadlineMs`; answers what to send on. */
export async function runDispatcherEvent(
  d: Pick<DispatchDeps, 'groups'>,
  trigger: SubscriptionTrigger,
  event: DispatcherEvent,
  deadlineMs: number,
): Promise<DispatchRun> {
  const { work, hop } = await workOfEvent(d, trigger, event);
  const results = await trigger.run(work, deadlineMs);
  const next = results
    .filter((r) => r.status === 'budget' || (r.status === 'error' && hop < MAX_ERROR_HOPS))
    .map(({ subscription, topic, partition }) => ({ subscription, topic, partition }));
  return { results, ...(next.length ? { next: { work: next, hop: hop + 1 } } : {}) };
}
