/**
 * Creating, reading, changing and deleting push subscriptions. A subscription is a consumer
 * group of its name: creating one resolves its starting position into committed offsets of
 * every partition of its topics (so `GET /v1/groups/{name}` shows its lag from the start),
 * and it refuses a name a consumer group already uses. The dispatcher reads the definition
 * before every delivery, so a change (disable, new options) applies at the next batch.
 */
import {
  ConflictError,
  InvalidArgumentError,
  LimitExceededError,
  SubscriptionExistsError,
  SubscriptionNotFoundError,
} from '../errors';
import type { GroupDeps } from '../groups/coordinator';
import { isLive } from '../groups/leases';
import { groupNameProblem } from '../settings';
import type { TopicRecord } from '../storage/ports';
import {
  deserializeSubscription,
  parseSubscription,
  type StoredSubscription,
  type SubscriptionDefinition,
  serializeSubscription,
} from './definition';

/** What a change may replace: topics, target, and any options (the rest keep their value). */
export interface SubscriptionPatch {
  readonly topics?: readonly string[];
  readonly target?: unknown;
  readonly options?: Readonly<Record<string, unknown>>;
}

function checked(input: unknown): SubscriptionDefinition {
  const r = parseSubscription(input);
  if ('problems' in r)
    throw new InvalidArgumentError(r.problems.join('; '), 'INVALID_ARGUMENT', { problems: r.problems });
  return r.ok;
}

/** Where each partition of `t` starts under the definition's starting position (now). */
async function resolveStart(d: GroupDeps, t: TopicRecord, o: SubscriptionDefinition['options']): Promise<number[]> {
  const described = await d.log.describeTopic(t.name);
  const out: number[] = [];
  for (const b of described.offsets) {
    if (o.startingPosition === 'TRIM_HORIZON') out.push(b.startOffset);
    else if (o.startingPosition === 'LATEST') out.push(b.highWatermark);
    else {
      const at = Math.round((o.startingPositionTimestamp as number) * 1000);
      out.push((await d.log.offsetForTimestamp(t.name, b.partition, at)).offset ?? b.highWatermark);
    }
  }
  return out;
}

/** The topics a definition names (they must exist), and its dead-letter topic (not one of them). */
async function topicsOf(d: GroupDeps, def: SubscriptionDefinition): Promise<TopicRecord[]> {
  const dlq = def.options.deadLetterTopic;
  if (dlq && def.topics.includes(dlq)) {
    throw new ConflictError(
      `deadLetterTopic "${dlq}" is a topic the subscription reads: its dead letters would be delivered again; choose another topic`,
    );
  }
  const topics: TopicRecord[] = [];
  for (const name of def.topics) topics.push(await d.log.getTopic(name, { fresh: true }));
  if (def.options.deadLetterTopic) await d.log.getTopic(def.options.deadLetterTopic, { fresh: true });
  return topics;
}

/**
 * Creates a subscription. Its committed offsets are written after the definition (which wins
 * the name); should that second step not happen, the definition's own start offsets apply.
 */
export async function createSubscription(d: GroupDeps, input: unknown): Promise<StoredSubscription> {
  const def = checked(input);
  const topics = await topicsOf(d, def);
  const group = await d.groups.readGroup(def.name);
  const now = d.clock.nowMs();
  if (group.members.some((m) => isLive(m, now)) || group.offsets.length > 0) {
    if (!(await d.groups.getSubscription(def.name))) {
      throw new ConflictError(
        `consumer group "${def.name}" is in use; a subscription is a group of its own name, so choose another name`,
      );
    }
  }
  const existing = await d.groups.listSubscriptions();
  if (existing.some((s) => s.name === def.name)) throw new SubscriptionExistsError(def.name);
  if (existing.length >= d.settings.maxSubscriptions) {
    throw new LimitExceededError(
      `this deployment has ${existing.length} subscriptions, its limit (maxSubscriptions ${d.settings.maxSubscriptions}); delete one or raise the limit`,
      { setting: 'maxSubscriptions', limit: d.settings.maxSubscriptions },
    );
  }
  const start: Record<string, number[]> = {};
  for (const t of topics) start[t.topicId] = await resolveStart(d, t, def.options);
  const stored: StoredSubscription = { definition: def, start, version: 1, createdMs: now, updatedMs: now };
  const created = await d.groups.createSubscription({
    name: def.name,
    definition: serializeSubscription(stored),
    version: 1,
    createdMs: now,
    updatedMs: now,
  });
  if (created === 'exists') throw new SubscriptionExistsError(def.name);
  await writeStart(d, def.name, topics, start);
  return stored;
}

async function writeStart(
  d: GroupDeps,
  name: string,
  topics: readonly TopicRecord[],
  start: Readonly<Record<string, readonly number[]>>,
): Promise<void> {
  if (topics.length === 0) return;
  const now = d.clock.nowMs();
  await d.groups.registerGroup(
    name,
    topics.map((t) => t.topicId),
    now,
  );
  for (const t of topics) {
    const offsets = (start[t.topicId] ?? []).map((offset, partition) => ({ topicId: t.topicId, partition, offset }));
    await d.groups.setOffsets(name, offsets, now);
  }
}

/** The subscription, or SUBSCRIPTION_NOT_FOUND. */
export async function getSubscription(d: Pick<GroupDeps, 'groups'>, name: string): Promise<StoredSubscription> {
  const p = groupNameProblem(name);
  if (p) throw new InvalidArgumentError(p.replace(/group name/g, 'subscription name'));
  const r = await d.groups.getSubscription(name);
  if (!r) throw new SubscriptionNotFoundError(name);
  return deserializeSubscription(r);
}

/** Every subscription, by name. */
export async function listSubscriptions(d: Pick<GroupDeps, 'groups'>): Promise<StoredSubscription[]> {
  return (await d.groups.listSubscriptions()).map(deserializeSubscription);
}

/**
 * Changes a subscription (compare-and-set on its version: a concurrent change answers
 * CONFLICT). A topic added to it starts at the subscription's starting position, now.
 * Answers the new state and whether it became enabled (the caller then kicks a dispatch:
 * records waiting while it was disabled are delivered without waiting for a new produce).
 */
export async function updateSubscription(
  d: GroupDeps,
  name: string,
  patch: SubscriptionPatch,
): Promise<{ subscription: StoredSubscription; enabled: boolean }> {
  const cur = await getSubscription(d, name);
  for (const k of ['startingPosition', 'startingPositionTimestamp'] as const) {
    if (patch.options && k in patch.options && patch.options[k] !== cur.definition.options[k]) {
      throw new InvalidArgumentError(
        `options.${k}: the starting position is fixed when a subscription is created (as on Lambda's event-source mappings); create one of another name to start elsewhere`,
      );
    }
  }
  const def = checked({
    name,
    topics: patch.topics ?? cur.definition.topics,
    target: patch.target ?? cur.definition.target,
    options: { ...cur.definition.options, ...(patch.options ?? {}) },
  });
  const topics = await topicsOf(d, def);
  const start: Record<string, readonly number[]> = {};
  const added: TopicRecord[] = [];
  for (const t of topics) {
    const before = cur.start[t.topicId];
    if (before && cur.definition.topics.includes(t.name)) start[t.topicId] = before;
    else {
      start[t.topicId] = await resolveStart(d, t, def.options);
      added.push(t);
    }
  }
  const now = d.clock.nowMs();
  const next: StoredSubscription = {
    definition: def,
    start,
    version: cur.version + 1,
    createdMs: cur.createdMs,
    updatedMs: now,
  };
  const r = await d.groups.updateSubscription({
    name,
    definition: serializeSubscription(next),
    version: next.version,
    createdMs: cur.createdMs,
    updatedMs: now,
  });
  if (r === 'conflict') throw new ConflictError(`subscription "${name}" changed concurrently; read it again and retry`);
  await writeStart(d, name, added, start);
  // a topic taken out of the subscription is forgotten: added back later, it starts afresh
  for (const topicId of Object.keys(cur.start)) if (!(topicId in start)) await d.groups.forgetTopic(name, topicId);
  return { subscription: next, enabled: def.options.enabled && !cur.definition.options.enabled };
}

/**
 * Deletes a subscription and its group's leases and committed offsets: nothing more is
 * delivered (a batch in flight finishes, but its commit is fenced), and a new subscription of
 * the same name starts afresh at its starting position.
 */
export async function deleteSubscription(d: Pick<GroupDeps, 'groups'>, name: string): Promise<void> {
  const cur = await getSubscription(d, name);
  if (!(await d.groups.deleteSubscription(name))) throw new SubscriptionNotFoundError(name);
  for (const topicId of Object.keys(cur.start)) await d.groups.forgetTopic(name, topicId);
}

/**
 * The enabled subscriptions with records not yet delivered, given the groups' lag (the
 * maintenance job's safety net: it kicks the dispatcher for them; no request when none lags).
 */
export async function laggingSubscriptions(
  d: Pick<GroupDeps, 'groups'>,
  lags: readonly { group: string; totalLag: number }[],
): Promise<string[]> {
  const behind = new Set(lags.filter((l) => l.totalLag > 0).map((l) => l.group));
  if (behind.size === 0) return [];
  return (await listSubscriptions(d))
    .filter((s) => s.definition.options.enabled && behind.has(s.definition.name))
    .map((s) => s.definition.name);
}
