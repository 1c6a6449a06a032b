/**
 * Measured, not argued: DynamoDB writes per member per minute at steady state, and the
 * longest processing gap of partitions that did not move while a member joined.
 */
import { describe, expect, inject, it } from 'vitest';
import type { Consumer } from '../../lib/client/consumer';
import { Sluice } from '../../lib/client/sluice';
import { ManualClock } from '../../lib/clock';
import { commitOffsets, type GroupDeps, type HeartbeatResult, heartbeat } from '../../lib/groups/coordinator';
import { resolveGroupSettings } from '../../lib/groups/settings';
import { SeededRandom } from '../../lib/ids';
import { localDynamoClient } from '../../lib/local/clients';
import { SluiceLog } from '../../lib/log/log';
import { type MeterTally, RequestMeter } from '../../lib/storage/request-meter';
import { realStores } from '../support/real';
import { countCommands } from '../support/sdk-faults';
import { TEST_DAY_MS } from '../support/time';

describe('consumer-group costs and pauses', () => {
  it('steady state: DynamoDB writes per member per minute (defaults: 30 s session, 3 s heartbeat)', async () => {
    const stores = await realStores();
    const clock = new ManualClock(TEST_DAY_MS);
    const log = new SluiceLog({ ...stores, clock });
    await log.createTopic({ name: 'steady', partitions: 12 });
    const settings = resolveGroupSettings();
    const deps: GroupDeps = { groups: stores.groups, log, clock, random: new SeededRandom(3), settings };
    const ids = ['m-1', 'm-2', 'm-3'];
    const last = new Map<string, HeartbeatResult>();
    const beat = async () => {
      for (const id of ids) {
        const r = await heartbeat(deps, 'steady', {
          memberId: id,
          topics: ['steady'],
          release: last.get(id)?.revoked ?? [],
        });
        last.set(id, r);
      }
    };
    for (let i = 0; i < 5; i++) await beat(); // settle
    const counts = countCommands(stores.dynamo);
    const minutes = 5;
    for (let t = 0; t < (minutes * 60_000) / settings.heartbeatIntervalMs; t++) {
      await clock.advance(settings.heartbeatIntervalMs);
      await beat();
    }
    const writes =
      (counts.get('PutItemCommand') ?? 0) +
      (counts.get('UpdateItemCommand') ?? 0) +
      (counts.get('TransactWriteItemsCommand') ?? 0);
    const perMemberPerMinute = writes / ids.length / minutes;
    const reads = (counts.get('QueryCommand') ?? 0) / ids.length / minutes;
    console.log(
      `[groups] steady state, 3 members x 4 partitions: ${perMemberPerMinute.toFixed(1)} writes and ${reads.toFixed(1)} group reads per member per minute`,
    );
    // the member item is rewritten once a third of a session has passed, a lease once half
    // of it is used, both checked at heartbeats: 60 s / 12 s + 4 leases × 60 s / 15 s = 21
    const h = settings.heartbeatIntervalMs;
    const memberEveryMs = Math.ceil(settings.sessionTimeoutMs / 3 / h) * h;
    const leaseEveryMs = Math.ceil(settings.leaseDurationMs / 2 / h) * h;
    expect(perMemberPerMinute).toBeLessThanOrEqual(60_000 / memberEveryMs + (4 * 60_000) / leaseEveryMs + 0.5);
    // every assignment kept its epoch: nothing moved at steady state
    for (const id of ids) expect(last.get(id)?.assignments).toHaveLength(4);
  });

  it('a member joining pauses only the partitions that move', async () => {
    const stores = await realStores();
    const sluice = new Sluice({
      stores,
      groupSettings: { sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, maxClockSkewMs: 200 },
    });
    await sluice.admin().createTopics({ topics: [{ name: 'flow', partitions: 6 }] });
    const seen: { member: string; partition: number; at: number }[] = [];
    const start = async () => {
      const c = sluice.consumer({ groupId: 'flow', maxWaitMs: 100, maxClockSkewMs: 200 });
      await c.subscribe({ topics: ['flow'], fromBeginning: true });
      await c.run({
        autoCommitIntervalMs: 100,
        eachMessage: async ({ partition }) => void seen.push({ member: c.id as string, partition, at: Date.now() }),
      });
      return c;
    };
    const consumers: Consumer[] = [await start(), await start()];
    const producer = sluice.producer({ lingerMs: 1 });
    let producing = true;
    const flow = (async () => {
      while (producing) {
        await producer.send({
          topic: 'flow',
          messages: Array.from({ length: 6 }, (_, p) => ({ partition: p, value: 'x' })),
        });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    const joinAt = Date.now();
    consumers.push(await start());
    await new Promise((r) => setTimeout(r, 2500));
    producing = false;
    await flow;
    await Promise.all(consumers.map((c) => c.stop()));
    // partitions whose processing member did not change across the join
    const ownerBefore = new Map<number, string>();
    const ownerAfter = new Map<number, string>();
    for (const s of seen) (s.at < joinAt ? ownerBefore : ownerAfter).set(s.partition, s.member);
    const stayed = [...ownerBefore].filter(([p, m]) => ownerAfter.get(p) === m).map(([p]) => p);
    const moved = [...ownerBefore].filter(([p, m]) => ownerAfter.get(p) !== m).map(([p]) => p);
    expect(stayed.length).toBeGreaterThan(0);
    expect(moved.length).toBeGreaterThan(0);
    let longestGap = 0;
    for (const p of stayed) {
      const times = seen
        .filter((s) => s.partition === p && s.at >= joinAt - 500 && s.at <= joinAt + 2000)
        .map((s) => s.at);
      for (let i = 1; i < times.length; i++)
        longestGap = Math.max(longestGap, (times[i] as number) - (times[i - 1] as number));
    }
    console.log(
      `[groups] join: ${moved.length} partition(s) moved, ${stayed.length} stayed; longest processing gap of a partition that stayed: ${longestGap} ms`,
    );
    // no stop-the-world: unaffected partitions keep flowing (a session timeout is 3000 ms)
    expect(longestGap).toBeLessThan(1500);
  });

  it('an offset commit is one conditional write of 1 unit, under the lease, never backwards', async () => {
    const stores = await realStores();
    const meter = new RequestMeter(localDynamoClient(inject('backends').dynamoEndpoint));
    meter.attachDynamo(stores.dynamo, 'groups');
    const clock = new ManualClock(TEST_DAY_MS);
    const log = new SluiceLog({ ...stores, clock });
    await log.createTopic({ name: 'commits', partitions: 2 });
    await log.append({
      batches: [{ topic: 'commits', records: [0, 1, 2].map(() => ({ value: new Uint8Array([1]), partition: 0 })) }],
    });
    const deps: GroupDeps = {
      groups: stores.groups,
      log,
      clock,
      random: new SeededRandom(4),
      settings: resolveGroupSettings(),
    };
    const hb = await heartbeat(deps, 'c', { memberId: 'm', topics: ['commits'] });
    const epoch = hb.assignments.find((a) => a.partition === 0)?.epoch as number;
    await meter.reset();
    const commit = (offset: number, e = epoch) =>
      commitOffsets(deps, 'c', 'm', [{ topic: 'commits', partition: 0, offset, epoch: e }]);
    expect(await commit(2)).toEqual([{ topic: 'commits', partition: 0, offset: 2, committed: 2 }]);
    const t = (await meter.report()).groups as MeterTally;
    expect(t.units.UpdateItem?.wru).toBe(1);
    expect(t.commands['DynamoDB:TransactWriteItems']).toBeUndefined();
    expect(t.wru).toBe(1);
    // backwards changes nothing and answers what is committed; another epoch is fenced
    expect(await commit(1)).toEqual([{ topic: 'commits', partition: 0, offset: 1, committed: 2 }]);
    await expect(commit(3, epoch + 1)).rejects.toMatchObject({ code: 'FENCED' });
    const state = await stores.groups.readGroup('c');
    expect(state.offsets).toMatchObject([{ partition: 0, offset: 2, epoch }]);
    expect(state.leases.find((l) => l.partition === 0)).toMatchObject({ owner: 'm', epoch });
  });
});
