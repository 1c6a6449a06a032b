import type {
  CommitOffsetOutcome,
  CommittedOffsetRecord,
  GroupStore,
  LeaseRecord,
  MemberRecord,
  OffsetCommit,
  SubscriptionRecord,
} from './ports';

/** In-memory `GroupStore` with the same conditions as `DynamoGroupStore`. */
export class MemoryGroupStore implements GroupStore {
  private readonly groups = new Map<
    string,
    {
      members: Map<string, MemberRecord & { expiresAtMs: number }>;
      leases: Map<string, LeaseRecord>;
      offsets: Map<string, CommittedOffsetRecord>;
    }
  >();

  private readonly registry = new Map<string, Set<string>>();
  private readonly registeredMs = new Map<string, number>();

  private readonly subscriptions = new Map<string, SubscriptionRecord>();

  private g(group: string) {
    let v = this.groups.get(group);
    if (!v) {
      v = { members: new Map(), leases: new Map(), offsets: new Map() };
      this.groups.set(group, v);
    }
    return v;
  }

  async putMember(group: string, member: MemberRecord, expiresAtMs: number): Promise<void> {
    const { stalled, ...rest } = member;
    this.g(group).members.set(member.memberId, {
      ...rest,
      topics: [...member.topics],
      ...(stalled?.length ? { stalled: [...stalled] } : {}),
      expiresAtMs,
    });
  }

  async deleteMember(group: string, memberId: string): Promise<void> {
    this.g(group).members.delete(memberId);
  }

  async readGroup(group: string) {
    const g = this.g(group);
    return {
      members: [...g.members.values()]
        .map(({ expiresAtMs: _, ...m }) => ({
          ...m,
          topics: [...m.topics],
          ...(m.stalled ? { stalled: [...m.stalled] } : {}),
        }))
        .sort((a, b) => (a.memberId < b.memberId ? -1 : 1)),
      leases: [...g.leases.values()].map((l) => ({ ...l })).sort(byTp),
      offsets: [...g.offsets.values()].map((o) => ({ ...o })).sort(byTp),
    };
  }

  async acquireLease(
    group: string,
    l: { topicId: string; partition: number; memberId: string },
    nowMs: number,
    leaseDurationMs: number,
    maxClockSkewMs: number,
  ) {
    const key = `${l.topicId}#${l.partition}`;
    const cur = this.g(group).leases.get(key);
    const ok = !cur || cur.owner === null || cur.owner === l.memberId || cur.expiresAtMs < nowMs - maxClockSkewMs;
    if (!ok) return { acquired: false as const, lease: { ...(cur as LeaseRecord) } };
    const lease: LeaseRecord = {
      topicId: l.topicId,
      partition: l.partition,
      owner: l.memberId,
      epoch: (cur?.epoch ?? 0) + 1,
      expiresAtMs: nowMs + leaseDurationMs,
    };
    this.g(group).leases.set(key, lease);
    const committed = this.g(group).offsets.get(key);
    return { acquired: true as const, lease: { ...lease }, ...(committed ? { committed: { ...committed } } : {}) };
  }

  async renewLease(
    group: string,
    l: { topicId: string; partition: number; memberId: string; epoch: number },
    nowMs: number,
    leaseDurationMs: number,
  ) {
    const key = `${l.topicId}#${l.partition}`;
    const cur = this.g(group).leases.get(key);
    if (!cur || cur.owner !== l.memberId || cur.epoch !== l.epoch) {
      return { renewed: false as const, lease: cur ? { ...cur } : undefined };
    }
    const lease = { ...cur, expiresAtMs: nowMs + leaseDurationMs };
    this.g(group).leases.set(key, lease);
    return { renewed: true as const, lease: { ...lease } };
  }

  async releaseLease(group: string, l: { topicId: string; partition: number; memberId: string; epoch: number }) {
    const key = `${l.topicId}#${l.partition}`;
    const cur = this.g(group).leases.get(key);
    if (!cur || cur.owner !== l.memberId || cur.epoch !== l.epoch) return false;
    this.g(group).leases.set(key, { ...cur, owner: null, expiresAtMs: 0 });
    return true;
  }

  async commitOffset(group: string, c: OffsetCommit): Promise<CommitOffsetOutcome> {
    const key = `${c.topicId}#${c.partition}`;
    const g = this.g(group);
    const lease = g.leases.get(key);
    if (!lease || lease.owner !== c.memberId || lease.epoch !== c.epoch) {
      return { status: 'fenced', lease: lease ? { ...lease } : undefined };
    }
    const cur = g.offsets.get(key);
    if (cur && cur.offset > c.offset) return { status: 'stale', committed: cur.offset };
    g.offsets.set(key, {
      topicId: c.topicId,
      partition: c.partition,
      offset: c.offset,
      epoch: c.epoch,
      metadata: c.metadata,
      committedMs: c.nowMs,
    });
    if (c.release) g.leases.set(key, { ...lease, owner: null, expiresAtMs: 0 });
    return { status: 'committed' };
  }

  async setOffsets(
    group: string,
    offsets: readonly { topicId: string; partition: number; offset: number }[],
    nowMs: number,
  ) {
    const g = this.g(group);
    for (const o of offsets) {
      g.offsets.set(`${o.topicId}#${o.partition}`, { ...o, epoch: 0, metadata: null, committedMs: nowMs });
    }
  }

  async registerGroup(group: string, topicIds: readonly string[], nowMs: number): Promise<void> {
    if (topicIds.length === 0) return;
    const set = this.registry.get(group) ?? new Set<string>();
    for (const id of topicIds) set.add(id);
    this.registry.set(group, set);
    this.registeredMs.set(group, nowMs);
  }

  async deleteIdleLeases(
    group: string,
    leases: readonly { topicId: string; partition: number }[],
    expiredBeforeMs: number,
  ): Promise<number> {
    const g = this.g(group);
    let deleted = 0;
    for (const l of leases) {
      const key = `${l.topicId}#${l.partition}`;
      const lease = g.leases.get(key);
      if (lease && lease.expiresAtMs < expiredBeforeMs && !g.offsets.has(key)) {
        g.leases.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  async unregisterGroup(group: string, registeredBeforeMs: number): Promise<boolean> {
    if (!this.registry.has(group) || (this.registeredMs.get(group) ?? 0) >= registeredBeforeMs) return false;
    this.registry.delete(group);
    this.registeredMs.delete(group);
    return true;
  }

  async listGroups() {
    return [...this.registry.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([group, ids]) => ({ group, topicIds: [...ids].sort() }));
  }

  async createSubscription(s: SubscriptionRecord): Promise<'created' | 'exists'> {
    if (this.subscriptions.has(s.name)) return 'exists';
    this.subscriptions.set(s.name, { ...s });
    return 'created';
  }

  async getSubscription(name: string): Promise<SubscriptionRecord | undefined> {
    const s = this.subscriptions.get(name);
    return s ? { ...s } : undefined;
  }

  async listSubscriptions(): Promise<SubscriptionRecord[]> {
    return [...this.subscriptions.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => ({ ...s }));
  }

  async updateSubscription(s: SubscriptionRecord): Promise<'ok' | 'conflict'> {
    if (this.subscriptions.get(s.name)?.version !== s.version - 1) return 'conflict';
    this.subscriptions.set(s.name, { ...s });
    return 'ok';
  }

  async deleteSubscription(name: string): Promise<boolean> {
    return this.subscriptions.delete(name);
  }

  async forgetTopic(group: string, topicId: string): Promise<number> {
    const g = this.g(group);
    // one item per partition (its lease and committed offset), as the table stores them
    const forgotten = new Set<string>();
    for (const map of [g.leases, g.offsets] as Map<string, { topicId: string }>[]) {
      for (const [k, v] of map) {
        if (v.topicId === topicId) {
          map.delete(k);
          forgotten.add(k);
        }
      }
    }
    const n = forgotten.size;
    this.registry.get(group)?.delete(topicId);
    return n;
  }
}

function byTp(a: { topicId: string; partition: number }, b: { topicId: string; partition: number }): number {
  return a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : a.partition - b.partition;
}
