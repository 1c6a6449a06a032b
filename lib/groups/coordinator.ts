/**
 * Consumer groups without a coordinator process (ARCHITECTURE §6). Every call is
 * stateless — it reads the group (one strongly consistent Query), decides, and makes
 * conditional writes — so the same code serves the HTTP API on Lambda and direct-mode
 * clients.
 *
 * A heartbeat: refresh the member item (only when a third of the session has passed:
 * fewer writes), compute the target assignment from the live members, their
 * subscriptions and the current lease owners, acquire what is ours and free, renew what we
 * hold (only when half the lease is used up: fewer writes), and report what we hold but
 * should give up (`revoked`). The member commits those and releases them in its next
 * heartbeat (`release`): graceful handover, and only moved partitions pause.
 */
import type { Clock } from '../clock';
import {
  ConflictError,
  FencedError,
  InvalidArgumentError,
  LimitExceededError,
  OffsetOutOfRangeError,
  PartitionNotFoundError,
  SluiceError,
  TopicNotFoundError,
} from '../errors';
import { type RandomSource, uuidV4 } from '../ids';
import type { SluiceLog } from '../log/log';
import { groupNameProblem, idempotencyKeyProblem, topicNameProblem } from '../settings';
import type { GroupStore, LeaseRecord, MemberRecord, TopicRecord } from '../storage/ports';
import { deserializeSubscription } from '../subscriptions/definition';
import { assignPartitions, type TopicPartition, tpKey } from './assignor';
import { currentOwner, isLive, leaseStep, memberWriteDue } from './leases';
import type { GroupSettings } from './settings';

/** A partition assigned to a member, with its fencing epoch and where to resume. */
export interface Assignment {
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  /** Next offset to process as committed by the group; null if never committed. */
  readonly committedOffset: number | null;
  /** The lease's expiry; stop processing at `expiresAtMs − maxClockSkewMs` without a renewal. */
  readonly expiresAtMs: number;
}

/** What a heartbeat answers. */
export interface HeartbeatResult {
  readonly memberId: string;
  readonly assignments: Assignment[];
  /** Held but assigned elsewhere now: commit, then release in the next heartbeat. */
  readonly revoked: { topic: string; partition: number; epoch: number }[];
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

/** One partition in a group description. */
export interface GroupPartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number | null;
  readonly startOffset: number;
  readonly highWatermark: number;
  /** Records not yet consumed: `highWatermark − max(committed, startOffset)`. */
  readonly lag: number;
  /** Age of the oldest unconsumed record (by append time), 0 when caught up. */
  readonly lagMs: number;
  /** Records removed by retention before the group consumed them. */
  readonly skippedByRetention: number;
  readonly owner: string | null;
  readonly epoch: number;
}

/** Where `resetOffsets` moves a topic's committed offsets. */
export type ResetTarget = 'earliest' | 'latest' | { readonly timestamp: number } | { readonly offset: number };

/** Dependencies of the group operations. */
export interface GroupDeps {
  readonly groups: GroupStore;
  readonly log: SluiceLog;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly settings: GroupSettings;
}

function checkGroup(group: string): void {
  const p = groupNameProblem(group);
  if (p) throw new InvalidArgumentError(p);
}

async function resolveTopics(log: SluiceLog, names: readonly string[]): Promise<TopicRecord[]> {
  const out: TopicRecord[] = [];
  for (const n of names) {
    const problem = topicNameProblem(n);
    if (problem) throw new InvalidArgumentError(problem, 'INVALID_TOPIC_NAME');
    out.push(await log.getTopic(n));
  }
  return out;
}

/** Joins or heartbeats; see the module comment. */
export async function heartbeat(
  d: GroupDeps,
  group: string,
  req: {
    memberId?: string;
    topics: readonly string[];
    release?: readonly { topic: string; partition: number; epoch: number }[];
    /**
     * Partitions this member must not be given while their handler, past its processing
     * deadline, still runs (it releases their leases in the same call); [] clears it.
     */
    stalled?: readonly { topic: string; partition: number }[];
  },
): Promise<HeartbeatResult> {
  checkGroup(group);
  const memberId = req.memberId ?? uuidV4(d.random);
  const idProblem = idempotencyKeyProblem(memberId, 'member id');
  if (idProblem) throw new InvalidArgumentError(idProblem);
  if (!Array.isArray(req.topics) || req.topics.length === 0 || req.topics.length > 100) {
    throw new InvalidArgumentError('a member subscribes to 1-100 topics');
  }
  const s = d.settings;
  const myTopics = await resolveTopics(d.log, [...new Set(req.topics)].sort());
  const partitionCount = myTopics.reduce((n, t) => n + t.partitions, 0);
  if (partitionCount > s.maxPartitionsPerMember) {
    throw new LimitExceededError(
      `these topics have ${partitionCount} partitions; a member reads at most ${s.maxPartitionsPerMember} (maxPartitionsPerMember): subscribe to fewer topics per member`,
      { setting: 'maxPartitionsPerMember', limit: s.maxPartitionsPerMember },
    );
  }
  const now = d.clock.nowMs();

  // graceful handover: releases the member asks for (after it committed them)
  for (const r of req.release ?? []) {
    const t = await d.log.getTopic(r.topic);
    await d.groups.releaseLease(group, { topicId: t.topicId, partition: r.partition, memberId, epoch: r.epoch });
  }

  // read: the whole group in one strongly consistent Query
  const state = await d.groups.readGroup(group);
  // a subscription's group is driven by its dispatcher alone (checked once, when a member joins)
  if (!state.members.some((m) => m.memberId === memberId) && (await d.groups.getSubscription(group))) {
    throw new ConflictError(
      `"${group}" is a push subscription's group; its dispatcher delivers it, so consume with another group name`,
    );
  }
  const liveOthers = state.members.filter((m) => m.memberId !== memberId && isLive(m, now)).length;
  if (!state.members.some((m) => m.memberId === memberId && isLive(m, now)) && liveOthers >= s.maxMembersPerGroup) {
    throw new LimitExceededError(
      `group "${group}" has ${liveOthers} live members, its limit (maxMembersPerGroup ${s.maxMembersPerGroup}); a member that left frees its place at once, one that stopped after its session timeout`,
      { setting: 'maxMembersPerGroup', limit: s.maxMembersPerGroup },
    );
  }
  const topicNames = myTopics.map((t) => t.name);
  const stalled = [...new Set((req.stalled ?? []).map((x) => tpKey(x)))].sort();
  const me: MemberRecord = {
    memberId,
    topics: topicNames,
    lastHeartbeatMs: now,
    sessionTimeoutMs: s.sessionTimeoutMs,
    ...(stalled.length ? { stalled } : {}),
  };
  const due = memberWriteDue(
    state.members.find((m) => m.memberId === memberId),
    { topics: topicNames, stalled },
    now,
    s.sessionTimeoutMs,
  );
  if (due.write) {
    // a (re)joining member or a new subscription: record which topics the group uses first,
    // so a member never exists unregistered (lag metrics and topic purge enumerate the registry)
    if (due.newSubscription)
      await d.groups.registerGroup(
        group,
        myTopics.map((t) => t.topicId),
        now,
      );
    await d.groups.putMember(group, me, now + 2 * s.sessionTimeoutMs);
  }
  const live = [...state.members.filter((m) => m.memberId !== memberId && isLive(m, now)), me];

  // plan: every topic a live member subscribes to, the target owner of each partition
  const topicsByName = new Map(myTopics.map((t) => [t.name, t]));
  for (const m of live) {
    for (const name of m.topics) {
      if (topicsByName.has(name)) continue;
      try {
        topicsByName.set(name, await d.log.getTopic(name));
      } catch (e) {
        if (!(e instanceof TopicNotFoundError)) throw e;
      }
    }
  }
  const byId = new Map([...topicsByName.values()].map((t) => [t.topicId, t]));
  const partitions: TopicPartition[] = [];
  for (const t of topicsByName.values()) {
    for (let p = 0; p < t.partitions; p++) partitions.push({ topic: t.name, partition: p });
  }
  const liveIds = new Set(live.map((m) => m.memberId));
  const leaseOf = new Map<string, LeaseRecord>();
  const owners = new Map<string, string>();
  for (const l of state.leases) {
    const t = byId.get(l.topicId);
    if (!t) continue;
    const key = tpKey({ topic: t.name, partition: l.partition });
    leaseOf.set(key, l);
    // an owner counts while it is live: a live member renews its leases, so an expired
    // lease of a live member is transient, and moving it would move it twice
    if (l.owner && liveIds.has(l.owner)) owners.set(key, l.owner);
  }
  const target = assignPartitions(live, partitions, owners);
  const committed = new Map(
    state.offsets.flatMap((o) => {
      const t = byId.get(o.topicId);
      return t ? [[tpKey({ topic: t.name, partition: o.partition }), o.offset] as const] : [];
    }),
  );

  // apply: one conditional write per lease that changes hands or is renewed
  const assignments: Assignment[] = [];
  const revoked: HeartbeatResult['revoked'] = [];
  for (const tp of partitions) {
    const key = tpKey(tp);
    const t = topicsByName.get(tp.topic) as TopicRecord;
    const step = leaseStep(leaseOf.get(key), memberId, target.get(key), now, s);
    const ref = { topicId: t.topicId, partition: tp.partition, memberId };
    let held: LeaseRecord | undefined;
    if (step.kind === 'revoke') revoked.push({ ...tp, epoch: step.epoch });
    else if (step.kind === 'keep') held = step.lease;
    else if (step.kind === 'renew') {
      const r = await d.groups.renewLease(group, { ...ref, epoch: step.epoch }, now, s.leaseDurationMs);
      held = r.renewed ? r.lease : undefined;
    } else if (step.kind === 'acquire') {
      const r = await d.groups.acquireLease(group, ref, now, s.leaseDurationMs, s.maxClockSkewMs);
      held = r.acquired ? r.lease : undefined;
    }
    if (held) {
      assignments.push({
        ...tp,
        epoch: held.epoch,
        committedOffset: committed.get(key) ?? null,
        expiresAtMs: held.expiresAtMs,
      });
    }
  }
  return {
    memberId,
    assignments,
    revoked,
    heartbeatIntervalMs: s.heartbeatIntervalMs,
    sessionTimeoutMs: s.sessionTimeoutMs,
  };
}

/**
 * Deletes a group with nobody live in it (Kafka's deleteGroups): its committed offsets,
 * leases, member items and registration. A subscription's group goes with its subscription.
 */
export async function deleteGroup(d: GroupDeps, group: string): Promise<void> {
  checkGroup(group);
  const now = d.clock.nowMs();
  const state = await d.groups.readGroup(group);
  const live = state.members.filter((m) => isLive(m, now));
  if (live.length > 0) {
    throw new ConflictError(
      `group "${group}" has ${live.length} live member(s) (${live.map((m) => m.memberId).join(', ')}); stop them before deleting it`,
    );
  }
  if (await d.groups.getSubscription(group)) {
    throw new ConflictError(`"${group}" is a push subscription's group: delete the subscription`);
  }
  const registered = (await d.groups.listGroups()).find((g) => g.group === group)?.topicIds ?? [];
  const topicIds = new Set([
    ...registered,
    ...state.leases.map((l) => l.topicId),
    ...state.offsets.map((o) => o.topicId),
  ]);
  for (const topicId of topicIds) await d.groups.forgetTopic(group, topicId);
  for (const m of state.members) await d.groups.deleteMember(group, m.memberId);
  // a registration made after this began (a join) stays
  await d.groups.unregisterGroup(group, now + 1);
}

/** Leaves the group: releases every lease the member holds, then removes it. */
export async function leaveGroup(d: GroupDeps, group: string, memberId: string): Promise<void> {
  checkGroup(group);
  const state = await d.groups.readGroup(group);
  for (const l of state.leases) {
    if (l.owner === memberId) {
      await d.groups.releaseLease(group, { topicId: l.topicId, partition: l.partition, memberId, epoch: l.epoch });
    }
  }
  await d.groups.deleteMember(group, memberId);
}

/**
 * Commits offsets (the next offset to process, Kafka's convention). Each one is
 * conditional on the member holding the partition's lease at `epoch` (default: the
 * epoch of the lease it holds now); a zombie gets FENCED. A commit below the current
 * committed offset changes nothing (offsets never move backwards).
 */
export async function commitOffsets(
  d: GroupDeps,
  group: string,
  memberId: string,
  offsets: readonly { topic: string; partition: number; offset: number; epoch?: number; metadata?: string | null }[],
): Promise<{ topic: string; partition: number; offset: number; committed: number }[]> {
  checkGroup(group);
  if (offsets.length === 0) throw new InvalidArgumentError('commit at least one offset');
  const needEpoch = offsets.some((o) => o.epoch === undefined);
  const state = needEpoch ? await d.groups.readGroup(group) : undefined;
  const out: { topic: string; partition: number; offset: number; committed: number }[] = [];
  const fenced: string[] = [];
  // the bounds of the committed partitions only, read once per topic per call: one head
  // read per partition committed, not one per partition of the topic
  const bounds = new Map<string, { startOffset: number; highWatermark: number }>();
  const topics = new Map<string, TopicRecord>();
  const byTopic = new Map<string, Set<number>>();
  for (const o of offsets) byTopic.set(o.topic, (byTopic.get(o.topic) ?? new Set()).add(o.partition));
  for (const [topic, partitions] of byTopic) {
    const t = await d.log.getTopic(topic);
    topics.set(topic, t);
    for (const p of partitions) {
      if (!Number.isInteger(p) || p < 0 || p >= t.partitions) {
        throw new InvalidArgumentError(`partition ${p} of "${topic}" does not exist`);
      }
    }
    for (const b of (await d.log.describeTopic(topic, [...partitions])).offsets) {
      bounds.set(`${topic}/${b.partition}`, b);
    }
  }
  for (const o of offsets) {
    const t = topics.get(o.topic) as TopicRecord;
    const { startOffset, highWatermark } = bounds.get(`${o.topic}/${o.partition}`) as {
      startOffset: number;
      highWatermark: number;
    };
    if (!Number.isSafeInteger(o.offset) || o.offset < 0 || o.offset > highWatermark) {
      throw new OffsetOutOfRangeError(o.offset, startOffset, highWatermark, 'cannot commit beyond the log');
    }
    const epoch =
      o.epoch ??
      state?.leases.find((l) => l.topicId === t.topicId && l.partition === o.partition && l.owner === memberId)?.epoch;
    if (epoch === undefined) {
      fenced.push(`${o.topic}/${o.partition}`);
      continue;
    }
    const r = await d.groups.commitOffset(group, {
      topicId: t.topicId,
      partition: o.partition,
      memberId,
      epoch,
      offset: o.offset,
      metadata: o.metadata ?? null,
      nowMs: d.clock.nowMs(),
    });
    if (r.status === 'fenced') fenced.push(`${o.topic}/${o.partition}`);
    else
      out.push({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        committed: r.status === 'stale' ? r.committed : o.offset,
      });
  }
  if (fenced.length > 0) {
    throw new FencedError(
      `member ${memberId} does not hold ${fenced.join(', ')} at the given epoch; stop processing them`,
      {
        partitions: fenced,
      },
    );
  }
  return out;
}

/** Members and, per subscribed partition, committed offset, bounds, lag, owner and epoch. */
export async function describeGroup(d: GroupDeps, group: string) {
  checkGroup(group);
  const now = d.clock.nowMs();
  const state = await d.groups.readGroup(group);
  const names = new Set(state.members.flatMap((m) => m.topics));
  const topics: TopicRecord[] = [];
  for (const n of [...names].sort()) {
    try {
      topics.push(await d.log.getTopic(n));
    } catch (e) {
      if (!(e instanceof TopicNotFoundError)) throw e;
    }
  }
  // topics with committed offsets but no current subscriber are described too
  const known = new Set(topics.map((t) => t.topicId));
  for (const t of await d.log.listTopics()) {
    if (!known.has(t.topicId) && state.offsets.some((o) => o.topicId === t.topicId)) topics.push(t);
  }
  const partitions: GroupPartitionState[] = [];
  for (const t of topics) {
    const described = await d.log.describeTopic(t.name);
    for (const b of described.offsets) {
      const c = state.offsets.find((o) => o.topicId === t.topicId && o.partition === b.partition);
      const l = state.leases.find((x) => x.topicId === t.topicId && x.partition === b.partition);
      const from = Math.max(c?.offset ?? b.startOffset, b.startOffset);
      const appended = await d.log.appendTimeOf(t, b.partition, from, b.highWatermark);
      partitions.push({
        topic: t.name,
        partition: b.partition,
        committedOffset: c?.offset ?? null,
        startOffset: b.startOffset,
        highWatermark: b.highWatermark,
        lag: b.highWatermark - from,
        lagMs: appended === null ? 0 : Math.max(0, now - appended),
        skippedByRetention: c ? Math.max(0, b.startOffset - c.offset) : 0,
        owner: currentOwner(l, now, d.settings.maxClockSkewMs),
        epoch: l?.epoch ?? 0,
      });
    }
  }
  return {
    group,
    members: state.members.map((m) => ({
      memberId: m.memberId,
      topics: [...m.topics],
      lastHeartbeatMs: m.lastHeartbeatMs,
      live: isLive(m, now),
    })),
    partitions,
  };
}

/**
 * Moves a topic's committed offsets (all partitions, or `partitions`) to `to`. Refused
 * while the group has live members (they would overwrite it); a dry run (the default)
 * only answers what it would set.
 */
export async function resetOffsets(
  d: GroupDeps,
  group: string,
  req: { topic: string; to: ResetTarget; partitions?: readonly number[]; dryRun?: boolean },
): Promise<{ topic: string; dryRun: boolean; offsets: { partition: number; offset: number }[] }> {
  checkGroup(group);
  const dryRun = req.dryRun ?? true;
  const now = d.clock.nowMs();
  const state = await d.groups.readGroup(group);
  const live = state.members.filter((m) => isLive(m, now));
  if (live.length > 0) {
    throw new ConflictError(
      `group "${group}" has ${live.length} live member(s) (${live.map((m) => m.memberId).join(', ')}); stop them before resetting offsets`,
    );
  }
  const sub = await d.groups.getSubscription(group);
  if (sub && deserializeSubscription(sub).definition.options.enabled) {
    throw new ConflictError(
      `"${group}" is an enabled push subscription; disable it (PATCH /v1/subscriptions/${group} {"options":{"enabled":false}}) before resetting its offsets, and enable it again after`,
    );
  }
  const t = await d.log.getTopic(req.topic);
  const described = await d.log.describeTopic(req.topic);
  const wanted = req.partitions ?? described.offsets.map((o) => o.partition);
  const offsets: { partition: number; offset: number }[] = [];
  for (const p of wanted) {
    const b = described.offsets[p];
    if (!b) throw new PartitionNotFoundError(req.topic, p, described.offsets.length);
    let offset: number;
    if (req.to === 'earliest') offset = b.startOffset;
    else if (req.to === 'latest') offset = b.highWatermark;
    else if ('timestamp' in req.to) {
      offset = (await d.log.offsetForTimestamp(req.topic, p, req.to.timestamp)).offset ?? b.highWatermark;
    } else {
      offset = req.to.offset;
      if (!Number.isSafeInteger(offset) || offset < b.startOffset || offset > b.highWatermark) {
        throw new OffsetOutOfRangeError(offset, b.startOffset, b.highWatermark);
      }
    }
    offsets.push({ partition: p, offset });
  }
  if (!dryRun) {
    await d.groups.registerGroup(group, [t.topicId], d.clock.nowMs());
    await d.groups.setOffsets(
      group,
      offsets.map((o) => ({ topicId: t.topicId, partition: o.partition, offset: o.offset })),
      now,
    );
  }
  return { topic: req.topic, dryRun, offsets };
}

/** True if `e` means the member lost the partition (stop processing it). */
export function isFenced(e: unknown): boolean {
  return e instanceof SluiceError && e.code === 'FENCED';
}
