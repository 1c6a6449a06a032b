/**
 * Leaderless, deterministic, sticky partition assignment (pure).
 *
 * Every member computes the same target from the same inputs: the sorted live members,
 * each member's subscription, the subscribed partitions, and the current lease owners
 * (read strongly consistent from the lease table). Including the current owners is what
 * makes it cooperative and sticky — Kafka's CooperativeStickyAssignor takes the current
 * assignment as input for the same reason:
 *
 * 1. quota: a partition's eligible members are the live members subscribed to its topic
 *    (less a member that reports it stalled: its handler there overran its deadline);
 *    members get balanced counts (⌊P/n⌋ or ⌈P/n⌉, computed over all partitions); the ⌈⌉
 *    slots go to the members that own the most now, so fewer partitions than members
 *    never moves a partition to a newcomer.
 * 2. keep: a partition whose owner is live, subscribed and within its quota stays put.
 *    An over-quota owner keeps the partitions of the head shards it holds most of, then
 *    the ones it ranks highest (rendezvous hash).
 * 3. fill: every other partition, in partition order, goes to the eligible member with
 *    room that already holds most of its head shard, else to one partly filled, else to
 *    the one that ranks the shard highest (rendezvous hash of member and shard).
 *
 * So when a member joins, the only partitions that move are the ones it takes; when one
 * dies, only its partitions move. Nothing stops the world.
 *
 * Locality: a produce call writes one object with the chunks of every partition, and a
 * member reads an object once per head shard it reads (its read-ahead sees the call items
 * of those shards). A fresh group is therefore given contiguous ranges, as Kafka's range
 * assignor does: 24 members on 288 partitions (6 head shards) hold 24 (member, shard)
 * pairs — GETs per object in all — instead of ~140 when partitions are spread by a hash.
 */
import { createHash } from 'node:crypto';
import { headShard } from '../storage/layout';

/** A partition of a topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A live member and the topics it subscribes to. */
export interface MemberSubscription {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Partitions (`tpKey`) it must not get now (its handler for them overran its deadline). */
  readonly stalled?: readonly string[];
}

/** Key of a topic-partition in assignment maps. */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}#${tp.partition}`;
}

function rank(memberId: string, tp: TopicPartition): bigint {
  return hash64(`${memberId}\u0000${tp.topic}\u0000${tp.partition}`);
}

function shardRank(memberId: string, tp: TopicPartition): bigint {
  return hash64(`${memberId}\u0000${tp.topic}\u0000s${headShard(tp.partition)}`);
}

function hash64(s: string): bigint {
  return createHash('sha256').update(s).digest().readBigUInt64BE(0);
}

/** The head shard of a partition, as a map key. */
const shardKey = (tp: TopicPartition) => `${tp.topic}#${headShard(tp.partition)}`;

/**
 * The target owner of every partition (key: `tpKey`). `owners` holds the current lease
 * owner per partition (only live owners matter; others are ignored).
 */
export function assignPartitions(
  members: readonly MemberSubscription[],
  partitions: readonly TopicPartition[],
  owners: ReadonlyMap<string, string>,
): Map<string, string> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const subs = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]));
  const stalled = new Map(sorted.map((m) => [m.memberId, new Set(m.stalled ?? [])]));
  const may = (memberId: string, tp: TopicPartition) =>
    (subs.get(memberId)?.has(tp.topic) ?? false) && !stalled.get(memberId)?.has(tpKey(tp));
  const eligible = (tp: TopicPartition) => sorted.filter((m) => may(m.memberId, tp)).map((m) => m.memberId);
  const assignable = [...partitions]
    .filter((tp) => eligible(tp).length > 0)
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const result = new Map<string, string>();
  if (sorted.length === 0 || assignable.length === 0) return result;

  // quotas: ⌊P/n⌋ each, and the P mod n extra slots to the members that own the most now
  // (then by id) — so with fewer partitions than members nobody loses one to a newcomer
  const base = Math.floor(assignable.length / sorted.length);
  const extra = assignable.length % sorted.length;
  const ownedNow = new Map<string, number>();
  for (const tp of assignable) {
    const o = owners.get(tpKey(tp));
    if (o !== undefined && subs.has(o) && !stalled.get(o)?.has(tpKey(tp))) ownedNow.set(o, (ownedNow.get(o) ?? 0) + 1);
  }
  const byOwnership = [...sorted].sort((a, b) => (ownedNow.get(b.memberId) ?? 0) - (ownedNow.get(a.memberId) ?? 0));
  const quota = new Map(byOwnership.map((m, i) => [m.memberId, base + (i < extra ? 1 : 0)]));
  const load = new Map(sorted.map((m) => [m.memberId, 0]));

  // how many partitions of each head shard a member holds (kept and filled so far)
  const held = new Map<string, Map<string, number>>();
  const heldIn = (m: string, tp: TopicPartition) => held.get(m)?.get(shardKey(tp)) ?? 0;
  const give = (tp: TopicPartition, m: string) => {
    result.set(tpKey(tp), m);
    load.set(m, (load.get(m) ?? 0) + 1);
    const byShard = held.get(m) ?? new Map<string, number>();
    byShard.set(shardKey(tp), (byShard.get(shardKey(tp)) ?? 0) + 1);
    held.set(m, byShard);
  };

  // keep: current owners keep, up to their quota, the partitions of the shards they hold
  // most of, then the ones they rank highest
  const keptBy = new Map<string, TopicPartition[]>();
  for (const tp of assignable) {
    const owner = owners.get(tpKey(tp));
    if (owner !== undefined && may(owner, tp)) {
      const list = keptBy.get(owner) ?? [];
      list.push(tp);
      keptBy.set(owner, list);
    }
  }
  for (const [owner, list] of keptBy) {
    const inShard = new Map<string, number>();
    for (const tp of list) inShard.set(shardKey(tp), (inShard.get(shardKey(tp)) ?? 0) + 1);
    const ranks = new Map(list.map((tp) => [tpKey(tp), rank(owner, tp)]));
    list.sort(
      (a, b) =>
        (inShard.get(shardKey(b)) ?? 0) - (inShard.get(shardKey(a)) ?? 0) ||
        cmpRank(ranks.get(tpKey(b)) as bigint, ranks.get(tpKey(a)) as bigint) ||
        (tpKey(a) < tpKey(b) ? -1 : 1),
    );
    for (const tp of list.slice(0, quota.get(owner) ?? 0)) give(tp, owner);
  }

  // fill: unowned partitions to the highest-ranking eligible member with room; a member
  // whose quota is reached may still take one when every eligible member is full
  // (subscriptions can make perfect balance impossible)
  // a shard's rendezvous rank per member, hashed once (not once per comparison)
  const shardRanks = new Map<string, bigint>();
  const shardRankOf = (m: string, tp: TopicPartition) => {
    const k = `${m}\u0000${shardKey(tp)}`;
    let r = shardRanks.get(k);
    if (r === undefined) {
      r = shardRank(m, tp);
      shardRanks.set(k, r);
    }
    return r;
  };
  const partly = (m: string) => ((load.get(m) ?? 0) > 0 ? 1 : 0);
  for (const tp of assignable) {
    if (result.has(tpKey(tp))) continue;
    const candidates = eligible(tp).sort(
      (a, b) =>
        heldIn(b, tp) - heldIn(a, tp) ||
        partly(b) - partly(a) ||
        cmpRank(shardRankOf(b, tp), shardRankOf(a, tp)) ||
        (a < b ? -1 : 1),
    );
    const withRoom = candidates.find((m) => (load.get(m) ?? 0) < (quota.get(m) ?? 0));
    const chosen = withRoom ?? candidates.reduce((best, m) => ((load.get(m) ?? 0) < (load.get(best) ?? 0) ? m : best));
    give(tp, chosen);
  }
  return result;
}

function cmpRank(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
