/**
 * One GroupStore contract on the in-memory fake and on DynamoDB Local: membership, the
 * lease conditions (free / expired beyond the skew bound / ours), renew and release by
 * owner and epoch only, fenced and monotonic offset commits, admin reset.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import type { GroupStore } from '../../lib/storage/ports';
import { realStores } from '../support/real';
import { TEST_DAY_MS } from '../support/time';

const T = '11111111-2222-4333-8444-555555555555';
const NOW = TEST_DAY_MS;
const DUR = 10_000;
const SKEW = 1_000;

function contract(name: string, make: () => Promise<GroupStore>) {
  describe(`GroupStore contract: ${name}`, () => {
    it('registers, refreshes and removes members; reads a group in one call', async () => {
      const s = await make();
      await s.putMember(
        'g',
        { memberId: 'b', topics: ['t1'], lastHeartbeatMs: NOW, sessionTimeoutMs: 30_000 },
        NOW + 60_000,
      );
      await s.putMember(
        'g',
        { memberId: 'a', topics: ['t1', 't2'], lastHeartbeatMs: NOW, sessionTimeoutMs: 30_000 },
        NOW + 60_000,
      );
      await s.putMember(
        'g',
        { memberId: 'b', topics: ['t1'], lastHeartbeatMs: NOW + 5, sessionTimeoutMs: 30_000 },
        NOW + 60_000,
      );
      await s.putMember(
        'other',
        { memberId: 'x', topics: ['t1'], lastHeartbeatMs: NOW, sessionTimeoutMs: 30_000 },
        NOW + 60_000,
      );
      const g = await s.readGroup('g');
      expect(g.members.map((m) => [m.memberId, m.lastHeartbeatMs, m.topics])).toEqual([
        ['a', NOW, ['t1', 't2']],
        ['b', NOW + 5, ['t1']],
      ]);
      await s.deleteMember('g', 'a');
      expect((await s.readGroup('g')).members.map((m) => m.memberId)).toEqual(['b']);
      expect(await s.readGroup('empty')).toEqual({ members: [], leases: [], offsets: [] });
    });

    it('acquires free leases with epoch 1, refuses held ones, takes expired ones only beyond the skew bound', async () => {
      const s = await make();
      const a = await s.acquireLease('g', { topicId: T, partition: 0, memberId: 'a' }, NOW, DUR, SKEW);
      expect(a).toEqual({
        acquired: true,
        lease: { topicId: T, partition: 0, owner: 'a', epoch: 1, expiresAtMs: NOW + DUR },
      });
      const b1 = await s.acquireLease('g', { topicId: T, partition: 0, memberId: 'b' }, NOW + DUR, DUR, SKEW);
      expect(b1.acquired).toBe(false);
      expect(b1.lease?.owner).toBe('a');
      // expired, but within the skew bound: still a's
      expect(
        (await s.acquireLease('g', { topicId: T, partition: 0, memberId: 'b' }, NOW + DUR + SKEW, DUR, SKEW)).acquired,
      ).toBe(false);
      const b2 = await s.acquireLease(
        'g',
        { topicId: T, partition: 0, memberId: 'b' },
        NOW + DUR + SKEW + 1,
        DUR,
        SKEW,
      );
      expect(b2).toMatchObject({ acquired: true, lease: { owner: 'b', epoch: 2 } });
      // re-acquiring one's own lease bumps the epoch
      const b3 = await s.acquireLease(
        'g',
        { topicId: T, partition: 0, memberId: 'b' },
        NOW + DUR + SKEW + 2,
        DUR,
        SKEW,
      );
      expect(b3).toMatchObject({ acquired: true, lease: { owner: 'b', epoch: 3 } });
    });

    it('renews and releases only as owner at the current epoch', async () => {
      const s = await make();
      await s.acquireLease('g', { topicId: T, partition: 1, memberId: 'a' }, NOW, DUR, SKEW);
      expect(
        (await s.renewLease('g', { topicId: T, partition: 1, memberId: 'a', epoch: 1 }, NOW + 5000, DUR)).lease
          ?.expiresAtMs,
      ).toBe(NOW + 5000 + DUR);
      expect((await s.renewLease('g', { topicId: T, partition: 1, memberId: 'b', epoch: 1 }, NOW, DUR)).renewed).toBe(
        false,
      );
      expect((await s.renewLease('g', { topicId: T, partition: 1, memberId: 'a', epoch: 2 }, NOW, DUR)).renewed).toBe(
        false,
      );
      expect(
        (await s.renewLease('g', { topicId: T, partition: 9, memberId: 'a', epoch: 1 }, NOW, DUR)).lease,
      ).toBeUndefined();
      expect(await s.releaseLease('g', { topicId: T, partition: 1, memberId: 'b', epoch: 1 })).toBe(false);
      expect(await s.releaseLease('g', { topicId: T, partition: 1, memberId: 'a', epoch: 1 })).toBe(true);
      const leases = (await s.readGroup('g')).leases;
      expect(leases).toEqual([{ topicId: T, partition: 1, owner: null, epoch: 1, expiresAtMs: 0 }]);
      // a released lease is free at once, and the next epoch fences the old owner
      expect(
        (await s.acquireLease('g', { topicId: T, partition: 1, memberId: 'b' }, NOW, DUR, SKEW)).lease?.epoch,
      ).toBe(2);
    });

    it('commits offsets only under the lease epoch (zombies are fenced) and never backwards', async () => {
      const s = await make();
      await s.acquireLease('g', { topicId: T, partition: 2, memberId: 'a' }, NOW, DUR, SKEW);
      const commit = (memberId: string, epoch: number, offset: number) =>
        s.commitOffset('g', { topicId: T, partition: 2, memberId, epoch, offset, metadata: null, nowMs: NOW });
      expect(await commit('a', 1, 10)).toEqual({ status: 'committed' });
      expect(await commit('a', 1, 7)).toEqual({ status: 'stale', committed: 10 });
      expect(await commit('a', 1, 10)).toEqual({ status: 'committed' });
      expect((await commit('b', 1, 50)).status).toBe('fenced');
      // b takes over after expiry; a is now a zombie at epoch 1
      await s.acquireLease('g', { topicId: T, partition: 2, memberId: 'b' }, NOW + DUR + SKEW + 1, DUR, SKEW);
      const zombie = await commit('a', 1, 99);
      expect(zombie.status).toBe('fenced');
      expect(zombie.status === 'fenced' && zombie.lease).toMatchObject({ owner: 'b', epoch: 2 });
      expect(await commit('b', 2, 12)).toEqual({ status: 'committed' });
      expect((await s.readGroup('g')).offsets).toEqual([
        { topicId: T, partition: 2, offset: 12, epoch: 2, metadata: null, committedMs: NOW },
      ]);
      // an admin reset may move offsets anywhere
      await s.setOffsets('g', [{ topicId: T, partition: 2, offset: 3 }], NOW + 1);
      expect((await s.readGroup('g')).offsets[0]).toMatchObject({ offset: 3, epoch: 0 });
      expect((await commit('a', 1, 1)).status).toBe('fenced');
    });

    it('a commit may release the lease in the same write; a fenced or stale one releases nothing', async () => {
      const s = await make();
      await s.acquireLease('g', { topicId: T, partition: 4, memberId: 'a' }, NOW, DUR, SKEW);
      const commit = (memberId: string, epoch: number, offset: number) =>
        s.commitOffset('g', {
          topicId: T,
          partition: 4,
          memberId,
          epoch,
          offset,
          metadata: null,
          nowMs: NOW,
          release: true,
        });
      expect((await commit('b', 1, 5)).status).toBe('fenced');
      expect((await s.readGroup('g')).leases[0]).toMatchObject({ owner: 'a', epoch: 1 });
      expect(await commit('a', 1, 5)).toEqual({ status: 'committed' });
      const g = await s.readGroup('g');
      expect(g.leases).toEqual([{ topicId: T, partition: 4, owner: null, epoch: 1, expiresAtMs: 0 }]);
      expect(g.offsets[0]).toMatchObject({ offset: 5, epoch: 1 });
      // released: the committer is fenced from now on, and the next owner gets the next epoch
      expect((await commit('a', 1, 6)).status).toBe('fenced');
      const next = await s.acquireLease('g', { topicId: T, partition: 4, memberId: 'b' }, NOW, DUR, SKEW);
      expect(next.acquired && next.lease.epoch).toBe(2);
      expect(next.acquired && next.committed?.offset).toBe(5);
      // stale (offset behind): not committed, and the lease stays held
      await s.commitOffset('g', {
        topicId: T,
        partition: 4,
        memberId: 'b',
        epoch: 2,
        offset: 9,
        metadata: null,
        nowMs: NOW,
      });
      expect(await commit('b', 2, 7)).toEqual({ status: 'stale', committed: 9 });
      expect((await s.readGroup('g')).leases[0]).toMatchObject({ owner: 'b', epoch: 2 });
    });

    it('registers groups idempotently, lists them, and forgets a topic: its leases, offsets and registration', async () => {
      const s = await make();
      const U = '99999999-2222-4333-8444-555555555555';
      expect(await s.listGroups()).toEqual([]);
      await s.registerGroup('g2', [U], NOW);
      await s.registerGroup('g1', [T], NOW);
      await s.registerGroup('g1', [T, U], NOW + 10);
      await s.registerGroup('g1', [], NOW + 20);
      expect(await s.listGroups()).toEqual([
        { group: 'g1', topicIds: [T, U].sort() },
        { group: 'g2', topicIds: [U] },
      ]);
      // unregistered only if registered before the cutoff: a join meanwhile keeps it
      expect(await s.unregisterGroup('g1', NOW + 10)).toBe(false);
      expect(await s.unregisterGroup('none', NOW + 100)).toBe(false);
      await s.registerGroup('g3', [U], NOW);
      expect(await s.unregisterGroup('g3', NOW + 1)).toBe(true);
      expect(await s.unregisterGroup('g3', NOW + 1)).toBe(false);
      expect((await s.listGroups()).map((g) => g.group)).toEqual(['g1', 'g2']);
      // idle leases: deleted only if expired before the cutoff and holding no committed offset
      await s.acquireLease('idle', { topicId: T, partition: 0, memberId: 'a' }, NOW, DUR, SKEW);
      await s.acquireLease('idle', { topicId: T, partition: 1, memberId: 'a' }, NOW, DUR, SKEW);
      await s.commitOffset('idle', {
        topicId: T,
        partition: 1,
        memberId: 'a',
        epoch: 1,
        offset: 3,
        metadata: null,
        nowMs: NOW,
      });
      const both = [
        { topicId: T, partition: 0 },
        { topicId: T, partition: 1 },
      ];
      expect(await s.deleteIdleLeases('idle', both, NOW + DUR)).toBe(0); // not expired yet
      expect(await s.deleteIdleLeases('idle', both, NOW + DUR + 1)).toBe(1); // p1 holds an offset
      expect((await s.readGroup('idle')).leases.map((l) => l.partition)).toEqual([1]);
      expect(
        (await s.acquireLease('idle', { topicId: T, partition: 0, memberId: 'b' }, NOW, DUR, SKEW)).lease?.epoch,
      ).toBe(1);
      for (const [topicId, p] of [
        [T, 0],
        [T, 1],
        [U, 0],
      ] as const) {
        await s.acquireLease('g1', { topicId, partition: p, memberId: 'a' }, NOW, DUR, SKEW);
        await s.commitOffset('g1', {
          topicId,
          partition: p,
          memberId: 'a',
          epoch: 1,
          offset: 5,
          metadata: null,
          nowMs: NOW,
        });
      }
      await s.putMember('g1', { memberId: 'a', topics: ['t'], lastHeartbeatMs: NOW, sessionTimeoutMs: DUR }, NOW + DUR);
      expect(await s.forgetTopic('g1', T)).toBe(2); // two partitions' lease items
      const g = await s.readGroup('g1');
      expect(g.leases.map((l) => l.topicId)).toEqual([U]);
      expect(g.offsets.map((o) => o.topicId)).toEqual([U]);
      expect(g.members.map((m) => m.memberId)).toEqual(['a']);
      expect(await s.listGroups()).toEqual([
        { group: 'g1', topicIds: [U] },
        { group: 'g2', topicIds: [U] },
      ]);
      // again, and for a group that was never registered: nothing to do, nothing created
      expect(await s.forgetTopic('g1', T)).toBe(0);
      expect(await s.forgetTopic('never', T)).toBe(0);
      expect((await s.listGroups()).map((x) => x.group)).toEqual(['g1', 'g2']);
    });

    it('an acquired lease comes with the partition committed offset, read in the same write', async () => {
      const s = await make();
      const first = await s.acquireLease('g', { topicId: T, partition: 0, memberId: 'a' }, NOW, DUR, SKEW);
      expect(first.acquired && first.committed).toBeUndefined();
      await s.commitOffset('g', {
        topicId: T,
        partition: 0,
        memberId: 'a',
        epoch: 1,
        offset: 7,
        metadata: 'm',
        nowMs: NOW,
      });
      await s.releaseLease('g', { topicId: T, partition: 0, memberId: 'a', epoch: 1 });
      const again = await s.acquireLease('g', { topicId: T, partition: 0, memberId: 'b' }, NOW + 1, DUR, SKEW);
      expect(again).toMatchObject({
        acquired: true,
        lease: { owner: 'b', epoch: 2 },
        committed: { topicId: T, partition: 0, offset: 7, epoch: 1, metadata: 'm', committedMs: NOW },
      });
    });

    it('creates subscriptions once, lists them by name, updates them by version only, deletes them', async () => {
      const s = await make();
      const rec = (name: string, version: number) => ({
        name,
        definition: JSON.stringify({ name, version }),
        version,
        createdMs: NOW,
        updatedMs: NOW + version,
      });
      expect(await s.createSubscription(rec('zeta', 1))).toBe('created');
      expect(await s.createSubscription(rec('alpha', 1))).toBe('created');
      expect(await s.createSubscription(rec('alpha', 1))).toBe('exists');
      expect((await s.listSubscriptions()).map((x) => x.name)).toEqual(['alpha', 'zeta']);
      expect(await s.getSubscription('alpha')).toEqual(rec('alpha', 1));
      expect(await s.getSubscription('none')).toBeUndefined();
      expect(await s.updateSubscription(rec('alpha', 3))).toBe('conflict'); // skips a version
      expect(await s.updateSubscription(rec('alpha', 2))).toBe('ok');
      expect(await s.updateSubscription(rec('alpha', 2))).toBe('conflict'); // a concurrent writer lost
      expect(await s.updateSubscription(rec('none', 2))).toBe('conflict');
      expect(await s.getSubscription('alpha')).toEqual(rec('alpha', 2));
      expect(await s.deleteSubscription('alpha')).toBe(true);
      expect(await s.deleteSubscription('alpha')).toBe(false);
      expect((await s.listSubscriptions()).map((x) => x.name)).toEqual(['zeta']);
    });
  });
}

contract('memory', async () => new MemoryGroupStore());
contract('DynamoDB Local', async () => (await realStores()).groups);
