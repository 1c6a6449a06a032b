/**
 * Push subscriptions — management and the per-partition dispatcher — as one suite run on the
 * in-memory fakes (test/unit) and on the real local backends (test/integration). Time is a
 * stepping clock: a sleep (retry back-off, batching window) moves it at once, so retries and
 * record ages play out without waiting.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../lib/clock';
import { InvalidArgumentError, SubscriptionExistsError, SubscriptionNotFoundError } from '../../lib/errors';
import { describeGroup, type GroupDeps, resetOffsets } from '../../lib/groups/coordinator';
import { resolveGroupSettings } from '../../lib/groups/settings';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import type { GroupStore } from '../../lib/storage/ports';
import {
  DEFAULT_DISPATCH_SETTINGS,
  type DispatchDeps,
  type DriveResult,
  drivePartition,
} from '../../lib/subscriptions/dispatcher';
import type { KafkaEvent } from '../../lib/subscriptions/kafka-event';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  updateSubscription,
} from '../../lib/subscriptions/manage';
import type { GroupStoresFactory } from './group-suite';
import { rec, rejection, str } from './log-suite';
import { TEST_DAY_MS } from './time';

/** A clock whose sleeps pass at once (moving its time). */
export class SteppingClock implements Clock {
  constructor(private now: number) {}
  nowMs(): number {
    return this.now;
  }
  async sleep(ms: number): Promise<void> {
    if (ms > 0) this.now += ms;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

/** The thrown stand-in for a dispatcher process dying. */
class Crash extends Error {}

/** Deterministic uniform numbers in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

type Handler = (e: KafkaEvent) => Promise<unknown>;

const offsetsOf = (e: KafkaEvent, key = 'orders-0') => (e.records[key] ?? []).map((r) => r.offset);
const decodedValue = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

export function subscriptionSuite(name: string, make: GroupStoresFactory) {
  async function setup(partitions = 3) {
    const stores = await make();
    const clock = new SteppingClock(TEST_DAY_MS + 12 * 3_600_000);
    const log = new SluiceLog({ ...stores, clock, settings: { topicCacheMs: 0 } });
    await log.createTopic({ name: 'orders', partitions });
    await log.createTopic({ name: 'orders-dlq', partitions: 1 });
    const random = new SeededRandom(7);
    const g: GroupDeps = { groups: stores.groups, log, clock, random, settings: resolveGroupSettings({}) };
    const events: KafkaEvent[] = [];
    let handler: Handler = async () => undefined;
    const dispatcher = (id = 'd-1', groups: GroupStore = stores.groups): DispatchDeps => ({
      log,
      groups,
      clock,
      random,
      settings: { ...DEFAULT_DISPATCH_SETTINGS, deliveryTimeoutMs: 10_000 },
      target: () => ({
        deliver: async (e) => {
          events.push(e);
          return handler(e);
        },
      }),
      dispatcherId: id,
      source: 'sluice-test',
    });
    const produce = async (partition: number, values: string[], extra: Parameters<typeof rec>[1] = {}) =>
      log.append({ batches: [{ topic: 'orders', records: values.map((v) => rec(v, { partition, ...extra })) }] });
    /** Drives one partition until it reports caught up (or gives up after many rounds). */
    const drain = async (sub: string, partition: number, d = dispatcher()): Promise<DriveResult[]> => {
      const out: DriveResult[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await drivePartition(d, sub, 'orders', partition, clock.nowMs() + 3_600_000);
        out.push(r);
        if (r.status !== 'budget') return out;
      }
      return out;
    };
    const committed = async (sub: string) =>
      (await describeGroup(g, sub)).partitions.filter((p) => p.topic === 'orders').map((p) => p.committedOffset ?? -1);
    const dlq = async () =>
      (await log.fetch({ topic: 'orders-dlq', partition: 0, offset: 0, maxRecords: 1000 })).records;
    return {
      stores,
      clock,
      log,
      g,
      events,
      setHandler: (h: Handler) => {
        handler = h;
      },
      dispatcher,
      produce,
      drain,
      committed,
      dlq,
    };
  }

  const sub = (name: string, options: Record<string, unknown> = {}, topics = ['orders']) => ({
    name,
    topics,
    target: { type: 'webhook', url: 'http://localhost:9/hook' },
    options: { maximumBatchingWindowInSeconds: 0, startingPosition: 'TRIM_HORIZON', ...options },
  });

  describe(`push subscriptions: ${name}`, () => {
    it('delivers every partition in offset order, each record once when the target succeeds', async () => {
      const t = await setup(3);
      await createSubscription(t.g, sub('s1', { batchSize: 7 }));
      const sent: string[][] = [[], [], []];
      for (let round = 0; round < 3; round++) {
        for (let p = 0; p < 3; p++) {
          const values = Array.from({ length: 5 + round * 4 + p }, (_, i) => `p${p}-r${round}-${i}`);
          sent[p]?.push(...values);
          await t.produce(p, values);
        }
        for (let p = 0; p < 3; p++) expect((await t.drain('s1', p)).at(-1)?.status).toBe('caught-up');
      }
      for (let p = 0; p < 3; p++) {
        const mine = t.events.filter((e) => e.records[`orders-${p}`]);
        const got = mine.flatMap((e) => e.records[`orders-${p}`] ?? []);
        expect(got.map((r) => r.offset)).toEqual(sent[p]?.map((_, i) => i));
        expect(got.map((r) => decodedValue(r.value))).toEqual(sent[p]);
        for (const e of mine) {
          expect(e.eventSource).toBe('SelfManagedKafka');
          expect(e.sluice.subscription).toBe('s1');
          expect(offsetsOf(e, `orders-${p}`).length).toBeLessThanOrEqual(7);
        }
      }
      expect(new Set(t.events.map((e) => e.sluice.deliveryId)).size).toBe(t.events.length);
      expect(await t.committed('s1')).toEqual(sent.map((s) => s.length));
      const described = await describeGroup(t.g, 's1');
      expect(described.partitions.every((p) => p.lag === 0)).toBe(true);
      // a drive with nothing new delivers nothing
      const before = t.events.length;
      expect((await t.drain('s1', 1)).at(-1)?.status).toBe('caught-up');
      expect(t.events.length).toBe(before);
    });

    it('a failing target and crashed dispatchers: at least once, in order, nothing committed past success', async () => {
      const t = await setup(2);
      await createSubscription(t.g, sub('s2', { batchSize: 3 }));
      const rnd = uniform(11);
      const total = 60;
      for (let p = 0; p < 2; p++)
        await t.produce(
          p,
          Array.from({ length: total }, (_, i) => `v${i}`),
        );
      const succeeded = [new Set<number>(), new Set<number>()];
      t.setHandler(async (e) => {
        if (rnd() < 0.3) throw new Error('target failed');
        for (const [k, rs] of Object.entries(e.records))
          for (const r of rs) succeeded[Number(k.slice(-1))]?.add(r.offset);
        return undefined;
      });
      /** A dispatcher's view of the store that dies (every call throws) at a random commit. */
      const mortal = (): GroupStore => {
        let dead = false;
        const real = t.stores.groups;
        return new Proxy(real, {
          get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver);
            if (typeof v !== 'function') return v;
            return async (...args: unknown[]) => {
              if (dead) throw new Crash('dead');
              if (prop === 'commitOffset') {
                const c = args[1] as { partition: number; offset: number };
                const done = succeeded[c.partition] as Set<number>;
                for (let o = 0; o < c.offset; o++)
                  expect(done.has(o), `commit ${c.offset} before ${o} succeeded`).toBe(true);
                const roll = rnd();
                if (roll < 0.1) {
                  dead = true;
                  throw new Crash('crashed before the commit');
                }
                const r = await v.apply(target, args);
                if (roll < 0.2) {
                  dead = true;
                  throw new Crash('crashed after the commit');
                }
                return r;
              }
              return v.apply(target, args);
            };
          },
        });
      };
      let crashes = 0;
      for (let p = 0; p < 2; p++) {
        for (let life = 0; life < 200; life++) {
          try {
            const r = await drivePartition(
              t.dispatcher(`d-${p}-${life}`, mortal()),
              's2',
              'orders',
              p,
              t.clock.nowMs() + 3_600_000,
            );
            if (r.status === 'caught-up') break;
            // busy: the crashed one's lease has not expired yet
            t.clock.advance(15_000);
          } catch (e) {
            if (!(e instanceof Crash)) throw e;
            crashes++;
          }
        }
      }
      expect(crashes).toBeGreaterThan(5);
      for (let p = 0; p < 2; p++) {
        const seen = t.events.filter((e) => e.records[`orders-${p}`]).map((e) => offsetsOf(e, `orders-${p}`));
        let highest = -1;
        for (const offsets of seen) {
          // contiguous, ascending, and never ahead of what came before
          expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] as number) + i));
          expect(offsets[0]).toBeLessThanOrEqual(highest + 1);
          highest = Math.max(highest, offsets.at(-1) as number);
        }
        expect([...(succeeded[p] as Set<number>)].sort((a, b) => a - b)).toEqual(
          Array.from({ length: total }, (_, i) => i),
        );
      }
      expect(await t.committed('s2')).toEqual([total, total]);
    });

    it('bisect isolates a poison record; past the retries it is dead-lettered with error headers', async () => {
      const t = await setup(1);
      await createSubscription(
        t.g,
        sub('s3', {
          batchSize: 8,
          bisectBatchOnFunctionError: true,
          maximumRetryAttempts: 1,
          deadLetterTopic: 'orders-dlq',
        }),
      );
      await t.produce(
        0,
        Array.from({ length: 8 }, (_, i) => `v${i}`),
      );
      const ok: number[] = [];
      t.setHandler(async (e) => {
        const offsets = offsetsOf(e);
        if (offsets.includes(5)) throw new Error('poison at 5');
        ok.push(...offsets);
        return undefined;
      });
      expect((await t.drain('s3', 0)).at(-1)?.status).toBe('caught-up');
      expect(ok.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
      // the halves: 0-7 fails, 0-3 ok, 4-7 fails, 4-5 fails, 4 ok, then 5-7 … down to 5 alone, twice
      expect(t.events.map((e) => offsetsOf(e).join(','))).toEqual([
        '0,1,2,3,4,5,6,7',
        '0,1,2,3',
        '4,5,6,7',
        '4,5',
        '4',
        '5,6,7',
        '5,6',
        '5',
        '5',
        '6,7',
      ]);
      const dead = await t.dlq();
      expect(dead.map((r) => str(r.value))).toEqual(['v5']);
      const h = new Map(dead[0]?.headers.map(([k, v]) => [k, str(v)]));
      expect(h.get('x-sluice-error')).toBe('poison at 5');
      expect(h.get('x-sluice-error-attempts')).toBe('2');
      expect(h.get('x-sluice-source')).toBe('orders/0/5');
      expect(await t.committed('s3')).toEqual([8]);
    });

    it('partial batch responses resume at the first failed record; a bad answer retries the batch', async () => {
      const t = await setup(1);
      await createSubscription(t.g, sub('s4', { batchSize: 10, functionResponseTypes: ['ReportBatchItemFailures'] }));
      await t.produce(
        0,
        Array.from({ length: 10 }, (_, i) => `v${i}`),
      );
      const answers: unknown[] = [
        { batchItemFailures: [{ itemIdentifier: 'orders-0@7' }, { itemIdentifier: 'orders-0@4' }] },
        { batchItemFailures: [{ itemIdentifier: 'orders-0@99' }] }, // not in the batch: all failed
        { batchItemFailures: [] },
      ];
      t.setHandler(async () => answers.shift());
      expect((await t.drain('s4', 0)).at(-1)?.status).toBe('caught-up');
      expect(t.events.map((e) => offsetsOf(e)[0])).toEqual([0, 4, 4]);
      expect(offsetsOf(t.events[2] as KafkaEvent)).toEqual([4, 5, 6, 7, 8, 9]);
      expect(await t.committed('s4')).toEqual([10]);
    });

    it('records older than the age limit are dead-lettered, without and after retries', async () => {
      const t = await setup(1);
      await createSubscription(
        t.g,
        sub('s5', { maximumRecordAgeInSeconds: 60, deadLetterTopic: 'orders-dlq', batchSize: 100 }),
      );
      const now = t.clock.nowMs();
      await t.produce(0, ['old-0', 'old-1'], { timestamp: now - 120_000 });
      await t.produce(0, ['new-2', 'new-3']);
      expect((await t.drain('s5', 0)).at(-1)?.status).toBe('caught-up');
      expect(t.events.map((e) => offsetsOf(e))).toEqual([[2, 3]]);
      expect((await t.dlq()).map((r) => str(r.value))).toEqual(['old-0', 'old-1']);

      // a record that always fails is retried (back-off moves the clock) until it is too old
      t.setHandler(async () => {
        throw new Error('always');
      });
      await t.produce(0, ['doomed-4']);
      expect((await t.drain('s5', 0)).at(-1)?.status).toBe('caught-up');
      const dead = await t.dlq();
      expect(dead.map((r) => str(r.value))).toEqual(['old-0', 'old-1', 'doomed-4']);
      const h = new Map(dead[2]?.headers.map(([k, v]) => [k, str(v)]));
      expect(h.get('x-sluice-error')).toContain('maximumRecordAgeInSeconds');
      expect(Number(h.get('x-sluice-error-attempts'))).toBeGreaterThan(2);
      expect(await t.committed('s5')).toEqual([5]);
    });

    it('a disabled subscription delivers nothing and resumes where it stopped', async () => {
      const t = await setup(1);
      await createSubscription(t.g, sub('s6'));
      await t.produce(0, ['a', 'b']);
      await t.drain('s6', 0);
      const r = await updateSubscription(t.g, 's6', { options: { enabled: false } });
      expect(r.enabled).toBe(false);
      await t.produce(0, ['c', 'd']);
      expect((await t.drain('s6', 0)).at(-1)?.status).toBe('stopped');
      expect(t.events.flatMap((e) => offsetsOf(e))).toEqual([0, 1]);
      // offsets of a disabled subscription may be reset (not while it is enabled)
      await resetOffsets(t.g, 's6', { topic: 'orders', to: { offset: 2 }, dryRun: false });
      const back = await updateSubscription(t.g, 's6', { options: { enabled: true } });
      expect(back.enabled).toBe(true);
      expect((await t.drain('s6', 0)).at(-1)?.status).toBe('caught-up');
      expect(t.events.flatMap((e) => offsetsOf(e))).toEqual([0, 1, 2, 3]);
    });

    it('the batching window gathers a fuller batch; records that waited long enough go at once', async () => {
      const t = await setup(1);
      await createSubscription(t.g, sub('s8', { maximumBatchingWindowInSeconds: 2, batchSize: 10 }));
      await t.produce(0, ['a', 'b', 'c']);
      const before = t.clock.nowMs();
      expect((await t.drain('s8', 0)).at(-1)?.status).toBe('caught-up');
      // not full: it waited out the window (from the records' time), then went with what there was
      expect(t.clock.nowMs() - before).toBeGreaterThanOrEqual(2_000);
      expect(t.events.map((e) => offsetsOf(e))).toEqual([[0, 1, 2]]);
      // records older than the window are not held back
      await t.produce(0, ['d'], { timestamp: t.clock.nowMs() - 5_000 });
      const again = t.clock.nowMs();
      await t.drain('s8', 0);
      expect(t.clock.nowMs() - again).toBeLessThan(2_000);
      // a full batch does not wait either
      await t.produce(
        0,
        Array.from({ length: 10 }, (_, i) => `f${i}`),
      );
      const full = t.clock.nowMs();
      await t.drain('s8', 0);
      expect(t.events.map((e) => offsetsOf(e).length)).toEqual([3, 1, 10]);
      expect(t.clock.nowMs() - full).toBeLessThan(2_000);
      // the last delivery drained the partition: its commit released the lease in the same write
      const p = (await describeGroup(t.g, 's8')).partitions[0];
      expect([p?.committedOffset, p?.owner]).toEqual([14, null]);
    });

    it('a dispatcher that lost its lease cannot commit (a zombie is fenced)', async () => {
      const t = await setup(1);
      await createSubscription(t.g, sub('s7'));
      await t.produce(0, ['a', 'b', 'c']);
      let release: () => void = () => undefined;
      const stuck = new Promise<void>((r) => {
        release = r;
      });
      let calls = 0;
      t.setHandler(async () => {
        calls++;
        if (calls === 1) await stuck; // the zombie's delivery hangs past its lease
        return undefined;
      });
      const zombie = drivePartition(t.dispatcher('zombie'), 's7', 'orders', 0, t.clock.nowMs() + 3_600_000);
      while (calls === 0) await new Promise((r) => setTimeout(r, 5));
      t.clock.advance(20_000);
      expect((await t.drain('s7', 0, t.dispatcher('successor'))).at(-1)?.status).toBe('caught-up');
      await t.produce(0, ['d']);
      release();
      expect((await zombie).status).toBe('fenced');
      expect(await t.committed('s7')).toEqual([3]);
      const lease = (await describeGroup(t.g, 's7')).partitions[0];
      expect(lease?.owner).toBeNull();
    });

    it('management: starting positions, names, conflicts, changes and deletion', async () => {
      const t = await setup(2);
      await t.produce(0, ['a', 'b', 'c']);
      const at = t.clock.nowMs();
      t.clock.advance(1_000);
      await t.produce(0, ['d']);
      await createSubscription(t.g, sub('earliest', { startingPosition: 'TRIM_HORIZON' }));
      await createSubscription(t.g, sub('latest', { startingPosition: 'LATEST' }));
      await createSubscription(
        t.g,
        sub('stamp', { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: (at + 500) / 1000 }),
      );
      expect(await t.committed('earliest')).toEqual([0, 0]);
      expect(await t.committed('latest')).toEqual([4, 0]);
      expect(await t.committed('stamp')).toEqual([3, 0]);

      expect(await rejection(createSubscription(t.g, sub('earliest')))).toBeInstanceOf(SubscriptionExistsError);
      const bad = await rejection(createSubscription(t.g, { ...sub('x', { batchSize: 0 }), topics: [] }));
      expect(bad).toBeInstanceOf(InvalidArgumentError);
      expect(bad.message).toMatch(/topics.*options\.batchSize|options\.batchSize.*topics/);
      expect((await rejection(createSubscription(t.g, sub('y', {}, ['nope'])))).code).toBe('TOPIC_NOT_FOUND');
      // a consumer group's name is not free
      const topicId = (await t.log.getTopic('orders')).topicId;
      await t.g.groups.setOffsets('busy', [{ topicId, partition: 0, offset: 1 }], t.clock.nowMs());
      expect((await rejection(createSubscription(t.g, sub('busy')))).code).toBe('CONFLICT');
      expect(await t.g.groups.getSubscription('busy')).toBeUndefined();

      // an enabled subscription's offsets are not reset under its dispatcher
      expect(
        (await rejection(resetOffsets(t.g, 'earliest', { topic: 'orders', to: 'latest', dryRun: false }))).code,
      ).toBe('CONFLICT');

      // a change: new options and a topic added at the starting position; a stale version conflicts
      await t.log.createTopic({ name: 'refunds', partitions: 1 });
      await t.log.append({ batches: [{ topic: 'refunds', records: [rec('r0'), rec('r1')] }] });
      const changed = await updateSubscription(t.g, 'latest', {
        topics: ['orders', 'refunds'],
        options: { batchSize: 3 },
      });
      expect(changed.subscription.version).toBe(2);
      expect(changed.subscription.definition.options.batchSize).toBe(3);
      expect(changed.subscription.definition.options.startingPosition).toBe('LATEST');
      const parts = (await describeGroup(t.g, 'latest')).partitions;
      expect(parts.find((p) => p.topic === 'refunds')?.committedOffset).toBe(2);
      expect(parts.find((p) => p.topic === 'orders' && p.partition === 0)?.committedOffset).toBe(4);
      const raced = await t.g.groups.updateSubscription({
        name: 'latest',
        definition: '{}',
        version: 2,
        createdMs: 0,
        updatedMs: 0,
      });
      expect(raced).toBe('conflict');
      expect((await getSubscription(t.g, 'latest')).version).toBe(2);
      expect((await rejection(updateSubscription(t.g, 'latest', { options: { batchSize: 20_000 } }))).code).toBe(
        'INVALID_ARGUMENT',
      );

      // deleting forgets the group's offsets: the name starts afresh
      await deleteSubscription(t.g, 'latest');
      expect(await rejection(getSubscription(t.g, 'latest'))).toBeInstanceOf(SubscriptionNotFoundError);
      expect(await rejection(deleteSubscription(t.g, 'latest'))).toBeInstanceOf(SubscriptionNotFoundError);
      expect((await describeGroup(t.g, 'latest')).partitions.every((p) => p.committedOffset === null)).toBe(true);
      await createSubscription(t.g, sub('latest', { startingPosition: 'TRIM_HORIZON' }));
      expect(await t.committed('latest')).toEqual([0, 0]);
    });
  });
}
