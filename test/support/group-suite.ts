/**
 * Consumer-group behaviour with a manual clock, run on the in-memory fakes and on the
 * real local backends.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import {
  commitOffsets,
  deleteGroup,
  describeGroup,
  type GroupDeps,
  type HeartbeatResult,
  heartbeat,
  leaveGroup,
  resetOffsets,
} from '../../lib/groups/coordinator';
import { resolveGroupSettings } from '../../lib/groups/settings';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import type { GroupStore, LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import { rec, rejection } from './log-suite';
import { TEST_DAY_MS } from './time';

export type GroupStoresFactory = () => Promise<{
  objects: ObjectStore;
  metadata: LogMetadataStore;
  groups: GroupStore;
}>;

const SETTINGS = resolveGroupSettings({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxClockSkewMs: 500 });

export function groupSuite(name: string, make: GroupStoresFactory) {
  async function setup(partitions = 12) {
    const stores = await make();
    const clock = new ManualClock(TEST_DAY_MS + 12 * 3_600_000);
    const log = new SluiceLog({ ...stores, clock, settings: { topicCacheMs: 0 } });
    await log.createTopic({ name: 'events', partitions });
    const deps: GroupDeps = { groups: stores.groups, log, clock, random: new SeededRandom(1), settings: SETTINGS };
    return { deps, clock, log };
  }

  /** Heartbeats every member (releasing what it was told to give up) until nothing changes. */
  async function settle(deps: GroupDeps, group: string, ids: string[], rounds = 4) {
    const last = new Map<string, HeartbeatResult>();
    for (let r = 0; r < rounds; r++) {
      for (const id of ids) {
        const prev = last.get(id);
        last.set(id, await heartbeat(deps, group, { memberId: id, topics: ['events'], release: prev?.revoked ?? [] }));
      }
    }
    return last;
  }

  const owned = (hb: HeartbeatResult | undefined) =>
    (hb?.assignments ?? []).map((a) => a.partition).sort((x, y) => x - y);

  describe(`consumer groups: ${name}`, () => {
    it('3 members on 12 partitions: disjoint and covering; a 4th joins and only what it takes moves', async () => {
      const { deps } = await setup();
      const three = await settle(deps, 'g1', ['m-a', 'm-b', 'm-c']);
      const all = ['m-a', 'm-b', 'm-c'].flatMap((m) => owned(three.get(m)));
      expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      for (const m of ['m-a', 'm-b', 'm-c']) expect(owned(three.get(m))).toHaveLength(4);
      const before = new Map(['m-a', 'm-b', 'm-c'].flatMap((m) => owned(three.get(m)).map((p) => [p, m] as const)));
      const epochBefore = new Map(
        ['m-a', 'm-b', 'm-c'].flatMap((m) =>
          (three.get(m)?.assignments ?? []).map((a) => [a.partition, a.epoch] as const),
        ),
      );

      const four = await settle(deps, 'g1', ['m-a', 'm-b', 'm-c', 'm-d']);
      const after = new Map(
        ['m-a', 'm-b', 'm-c', 'm-d'].flatMap((m) => owned(four.get(m)).map((p) => [p, m] as const)),
      );
      expect(after.size).toBe(12);
      const moved = [...after].filter(([p, m]) => before.get(p) !== m);
      expect(moved.map(([, m]) => m).every((m) => m === 'm-d')).toBe(true);
      expect(owned(four.get('m-d'))).toHaveLength(3);
      // moved partitions have the next epoch; unmoved ones kept theirs
      for (const a of four.get('m-d')?.assignments ?? [])
        expect(a.epoch).toBe((epochBefore.get(a.partition) as number) + 1);
      for (const m of ['m-a', 'm-b', 'm-c']) {
        for (const a of four.get(m)?.assignments ?? []) expect(a.epoch).toBe(epochBefore.get(a.partition));
      }
      const d = await describeGroup(deps, 'g1');
      expect(d.members.map((m) => m.memberId)).toEqual(['m-a', 'm-b', 'm-c', 'm-d']);
      expect(d.partitions.every((p) => p.owner === after.get(p.partition))).toBe(true);
    });

    it('a member that stops heartbeating loses its partitions within the session timeout plus one heartbeat, at higher epochs', async () => {
      const { deps, clock } = await setup();
      const first = await settle(deps, 'g2', ['m-a', 'm-b', 'm-c']);
      const deadOnes = owned(first.get('m-c'));
      const deadEpochs = new Map((first.get('m-c')?.assignments ?? []).map((a) => [a.partition, a.epoch]));
      const died = clock.nowMs();
      let taken: number[] = [];
      while (taken.length < deadOnes.length) {
        await clock.advance(SETTINGS.heartbeatIntervalMs);
        expect(clock.nowMs() - died).toBeLessThanOrEqual(SETTINGS.sessionTimeoutMs + SETTINGS.heartbeatIntervalMs);
        const a = await heartbeat(deps, 'g2', { memberId: 'm-a', topics: ['events'] });
        const b = await heartbeat(deps, 'g2', { memberId: 'm-b', topics: ['events'] });
        taken = [...a.assignments, ...b.assignments]
          .filter((x) => deadOnes.includes(x.partition))
          .map((x) => x.partition);
        for (const x of [...a.assignments, ...b.assignments])
          if (deadOnes.includes(x.partition)) expect(x.epoch).toBe((deadEpochs.get(x.partition) as number) + 1);
      }
      expect(taken.sort((x, y) => x - y)).toEqual(deadOnes);
    });

    it('a member that reports a partition stalled releases it and is not given it back; the others take it', async () => {
      const { deps } = await setup(4);
      const first = await settle(deps, 'gs', ['m-a', 'm-b']);
      const stuck = (first.get('m-a')?.assignments ?? [])[0] as HeartbeatResult['assignments'][number];
      const a = await heartbeat(deps, 'gs', {
        memberId: 'm-a',
        topics: ['events'],
        release: [{ topic: 'events', partition: stuck.partition, epoch: stuck.epoch }],
        stalled: [{ topic: 'events', partition: stuck.partition }],
      });
      expect(owned(a)).not.toContain(stuck.partition);
      const b = await heartbeat(deps, 'gs', { memberId: 'm-b', topics: ['events'] });
      expect(owned(b)).toContain(stuck.partition);
      expect(b.assignments.find((x) => x.partition === stuck.partition)?.epoch).toBe(stuck.epoch + 1);
      // the stalled list is stored: every member computes the same target from it
      const { members } = await deps.groups.readGroup('gs');
      expect(members.find((m) => m.memberId === 'm-a')?.stalled).toEqual([`events#${stuck.partition}`]);
      // once the handler returns, the member says so; the partition stays with its new owner
      const cleared = await heartbeat(deps, 'gs', { memberId: 'm-a', topics: ['events'], stalled: [] });
      expect(owned(cleared)).not.toContain(stuck.partition);
      expect((await deps.groups.readGroup('gs')).members.find((m) => m.memberId === 'm-a')?.stalled).toBeUndefined();
    });

    it('a paused member that lost its lease is fenced and no longer assigned', async () => {
      const { deps, clock, log } = await setup(2);
      await log.append({
        batches: [{ topic: 'events', records: [rec('a', { partition: 0 }), rec('b', { partition: 0 })] }],
      });
      const a = await heartbeat(deps, 'g3', { memberId: 'm-a', topics: ['events'] });
      expect(owned(a)).toEqual([0, 1]);
      const epoch = a.assignments[0]?.epoch as number;
      await commitOffsets(deps, 'g3', 'm-a', [{ topic: 'events', partition: 0, offset: 1, epoch }]);
      // m-a pauses (GC, network) past its lease; m-b joins and takes over everything
      await clock.advance(SETTINGS.sessionTimeoutMs + SETTINGS.maxClockSkewMs + 1);
      const b = await heartbeat(deps, 'g3', { memberId: 'm-b', topics: ['events'] });
      expect(owned(b)).toEqual([0, 1]);
      const e = await rejection(
        commitOffsets(deps, 'g3', 'm-a', [{ topic: 'events', partition: 0, offset: 2, epoch }]),
      );
      expect(e.code).toBe('FENCED');
      const d = await describeGroup(deps, 'g3');
      expect(d.partitions[0]).toMatchObject({ committedOffset: 1, owner: 'm-b' });
      // m-a resumes heartbeating: it is a member again but gets only what is free to it
      const back = await heartbeat(deps, 'g3', { memberId: 'm-a', topics: ['events'] });
      expect(back.assignments.every((x) => x.epoch > epoch)).toBe(true);
    });

    it('committed offsets never go backwards; reset is refused while members are live, dry-run by default', async () => {
      const { deps, clock, log } = await setup(2);
      const t0 = clock.nowMs();
      for (let i = 0; i < 5; i++) {
        await log.append({
          batches: [{ topic: 'events', records: [rec(`r${i}`, { partition: 0, timestamp: t0 + i * 1000 })] }],
        });
        await clock.advance(1000);
      }
      const a = await heartbeat(deps, 'g4', { memberId: 'm-a', topics: ['events'] });
      await commitOffsets(deps, 'g4', 'm-a', [{ topic: 'events', partition: 0, offset: 4 }]);
      const back = await commitOffsets(deps, 'g4', 'm-a', [{ topic: 'events', partition: 0, offset: 2 }]);
      expect(back[0]?.committed).toBe(4);
      expect(
        (await rejection(commitOffsets(deps, 'g4', 'm-a', [{ topic: 'events', partition: 0, offset: 6 }]))).code,
      ).toBe('OFFSET_OUT_OF_RANGE');
      expect((await rejection(resetOffsets(deps, 'g4', { topic: 'events', to: 'earliest' }))).code).toBe('CONFLICT');
      await leaveGroup(deps, 'g4', 'm-a');
      expect(a.assignments).toHaveLength(2);
      const dry = await resetOffsets(deps, 'g4', { topic: 'events', to: 'earliest' });
      expect(dry).toEqual({
        topic: 'events',
        dryRun: true,
        offsets: [
          { partition: 0, offset: 0 },
          { partition: 1, offset: 0 },
        ],
      });
      expect((await describeGroup(deps, 'g4')).partitions[0]?.committedOffset).toBe(4);
      await resetOffsets(deps, 'g4', { topic: 'events', to: { timestamp: t0 + 2500 }, partitions: [0], dryRun: false });
      expect((await describeGroup(deps, 'g4')).partitions[0]?.committedOffset).toBe(3);
      await resetOffsets(deps, 'g4', { topic: 'events', to: 'latest', dryRun: false });
      expect((await describeGroup(deps, 'g4')).partitions.map((p) => p.committedOffset)).toEqual([5, 0]);
      await resetOffsets(deps, 'g4', { topic: 'events', to: { offset: 1 }, partitions: [0], dryRun: false });
      expect((await describeGroup(deps, 'g4')).partitions[0]?.committedOffset).toBe(1);
      expect(
        (await rejection(resetOffsets(deps, 'g4', { topic: 'events', to: { offset: 9 }, dryRun: false }))).code,
      ).toBe('OFFSET_OUT_OF_RANGE');
    });

    it('a group is deleted with its offsets, leases and registration only when nobody is live in it', async () => {
      const { deps } = await setup(2);
      await heartbeat(deps, 'gone', { memberId: 'm-a', topics: ['events'] });
      await commitOffsets(deps, 'gone', 'm-a', [{ topic: 'events', partition: 0, offset: 0 }]);
      expect((await rejection(deleteGroup(deps, 'gone'))).code).toBe('CONFLICT');
      expect((await deps.groups.readGroup('gone')).offsets).toHaveLength(1);
      await leaveGroup(deps, 'gone', 'm-a');
      await deleteGroup(deps, 'gone');
      expect(await deps.groups.readGroup('gone')).toEqual({ members: [], leases: [], offsets: [] });
      expect((await deps.groups.listGroups()).map((g) => g.group)).not.toContain('gone');
      // joined again: a fresh group, epochs from 1
      const again = await heartbeat(deps, 'gone', { memberId: 'm-b', topics: ['events'] });
      expect(again.assignments.map((x) => [x.epoch, x.committedOffset])).toEqual([
        [1, null],
        [1, null],
      ]);
      expect((await deps.groups.listGroups()).map((g) => g.group)).toContain('gone');
    });

    it('an offset commit reads the heads of the partitions it commits, not of the whole topic', async () => {
      const stores = await make();
      const clock = new ManualClock(TEST_DAY_MS + 12 * 3_600_000);
      const headsRead: number[] = [];
      const getHeads = stores.metadata.getHeads.bind(stores.metadata);
      stores.metadata.getHeads = (topicId, partitions, consistent) => {
        headsRead.push(...partitions);
        return getHeads(topicId, partitions, consistent);
      };
      const log = new SluiceLog({ ...stores, clock, settings: { topicCacheMs: 0 } });
      await log.createTopic({ name: 'wide', partitions: 48 });
      await log.append({ batches: [{ topic: 'wide', records: [rec('x', { partition: 7 })] }] });
      const deps: GroupDeps = { groups: stores.groups, log, clock, random: new SeededRandom(1), settings: SETTINGS };
      await heartbeat(deps, 'g-wide', { memberId: 'm-a', topics: ['wide'] });
      headsRead.length = 0;
      await commitOffsets(deps, 'g-wide', 'm-a', [
        { topic: 'wide', partition: 7, offset: 1 },
        { topic: 'wide', partition: 9, offset: 0 },
      ]);
      expect(headsRead.sort((a, b) => a - b)).toEqual([7, 9]);
      expect(
        (await rejection(commitOffsets(deps, 'g-wide', 'm-a', [{ topic: 'wide', partition: 9, offset: 1 }]))).code,
      ).toBe('OFFSET_OUT_OF_RANGE');
    });

    it('reports lag in records and in time, as computed by hand', async () => {
      const { deps, clock, log } = await setup(3);
      const appendedAt: number[] = [];
      for (let i = 0; i < 6; i++) {
        appendedAt.push(clock.nowMs());
        await log.append({
          batches: [{ topic: 'events', records: [rec(`x${i}`, { partition: 0 }), rec(`y${i}`, { partition: 1 })] }],
        });
        await clock.advance(2000);
      }
      await heartbeat(deps, 'g5', { memberId: 'm-a', topics: ['events'] });
      await commitOffsets(deps, 'g5', 'm-a', [
        { topic: 'events', partition: 0, offset: 2 },
        { topic: 'events', partition: 1, offset: 6 },
      ]);
      const now = clock.nowMs();
      const d = await describeGroup(deps, 'g5');
      expect(d.partitions.map((p) => [p.partition, p.committedOffset, p.highWatermark, p.lag, p.lagMs])).toEqual([
        [0, 2, 6, 4, now - (appendedAt[2] as number)],
        [1, 6, 6, 0, 0],
        [2, null, 0, 0, 0],
      ]);
    });

    it('rejects bad group input', async () => {
      const { deps } = await setup(1);
      expect((await rejection(heartbeat(deps, 'bad group', { topics: ['events'] }))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(heartbeat(deps, 'g', { topics: [] }))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(heartbeat(deps, 'g', { topics: ['nope'] }))).code).toBe('TOPIC_NOT_FOUND');
      expect((await rejection(heartbeat(deps, 'g', { memberId: 'has space', topics: ['events'] }))).code).toBe(
        'INVALID_ARGUMENT',
      );
      const hb = await heartbeat(deps, 'g', { topics: ['events'] });
      expect(hb.memberId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('reports records skipped by retention when the committed offset fell below the start offset', async () => {
      const { deps, log } = await setup(1);
      for (let i = 0; i < 6; i++) await log.append({ batches: [{ topic: 'events', records: [rec(`r${i}`)] }] });
      await heartbeat(deps, 'g6', { memberId: 'm-a', topics: ['events'] });
      await commitOffsets(deps, 'g6', 'm-a', [{ topic: 'events', partition: 0, offset: 1 }]);
      await log.deleteRecords('events', 0, 4);
      const d = await describeGroup(deps, 'g6');
      expect(d.partitions[0]).toMatchObject({
        committedOffset: 1,
        startOffset: 4,
        highWatermark: 6,
        lag: 2,
        skippedByRetention: 3,
      });
    });
  });
}
