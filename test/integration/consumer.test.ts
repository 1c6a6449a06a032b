/**
 * The group consumer on the real local backends with short (real-time) session timeouts:
 * sharing, handover, at-least-once under crashes, dead letters, slow handlers.
 */
import { describe, expect, it } from 'vitest';
import type { Consumer } from '../../lib/client/consumer';
import { Sluice } from '../../lib/client/sluice';
import { SeededRandom } from '../../lib/ids';
import { realStores } from '../support/real';
import { until } from '../support/until';

const GROUP_SETTINGS = { sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, maxClockSkewMs: 200 };
const CONSUMER = { maxWaitMs: 200, maxClockSkewMs: 200, retry: { attempts: 3, initialRetryMs: 10 } };

async function setup(partitions: number) {
  const stores = await realStores();
  const sluice = new Sluice({ stores, groupSettings: GROUP_SETTINGS });
  await sluice.admin().createTopics({ topics: [{ name: 'work', partitions }] });
  return sluice;
}

describe('group consumer', () => {
  it('two members share the partitions, process everything once, and commit on stop', async () => {
    const sluice = await setup(4);
    const seen: { member: string; value: string }[] = [];
    const consumers: Consumer[] = [];
    const revoked: { consumer: number; reason: string }[] = [];
    for (let c = 0; c < 2; c++) {
      const consumer = sluice.consumer({ groupId: 'share', ...CONSUMER });
      await consumer.subscribe({ topics: ['work'], fromBeginning: true });
      await consumer.run({
        autoCommitIntervalMs: 200,
        onPartitionsRevoked: (ps) => revoked.push(...ps.map((p) => ({ consumer: c, reason: p.reason }))),
        eachMessage: async ({ message }) => {
          seen.push({ member: consumer.id as string, value: Buffer.from(message.value ?? []).toString() });
        },
      });
      consumers.push(consumer);
    }
    // let the second member's share be handed over (a few heartbeats), then produce
    await new Promise((r) => setTimeout(r, 5 * GROUP_SETTINGS.heartbeatIntervalMs));
    const producer = sluice.producer({ lingerMs: 2 });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        producer.send({ topic: 'work', messages: [{ key: `k${i}`, value: `v${i}` }] }),
      ),
    );
    await until(() => new Set(seen.map((s) => s.value)).size === 200, 30_000, 'all records');
    await Promise.all(consumers.map((c) => c.stop()));
    expect(seen).toHaveLength(200); // each exactly once: the handover committed before releasing
    expect(new Set(seen.map((s) => s.member)).size).toBe(2);
    // the first member was told which partitions it handed to the second
    expect(revoked.length).toBe(2);
    expect(revoked.every((r) => r.consumer === 0 && r.reason === 'revoked')).toBe(true);
  });

  it('stops processing a partition the moment its lease can no longer be trusted', async () => {
    const sluice = await setup(1);
    const producer = sluice.producer({ lingerMs: 0 });
    // a member whose heartbeats start failing (a network partition) after it joined
    let partitioned = false;
    const transport = Object.create(sluice.transport) as typeof sluice.transport;
    transport.heartbeat = async (g, req) => {
      if (partitioned) throw new Error('injected: network partition');
      return sluice.transport.heartbeat(g, req);
    };
    const cut = new Sluice({ transport });
    const a = cut.consumer({ groupId: 'cut', ...CONSUMER });
    await a.subscribe({ topics: ['work'], fromBeginning: true });
    const byA: { offset: number; at: number }[] = [];
    await a.run({ eachMessage: async ({ message }) => void byA.push({ offset: message.offset, at: Date.now() }) });
    await producer.send({ topic: 'work', messages: [{ value: 'before' }] });
    await until(() => byA.length === 1, 10_000, 'first record');
    partitioned = true;
    const cutAt = Date.now();
    // keep producing; a keeps fetching (its data path works) until its lease is near expiry
    const b = sluice.consumer({ groupId: 'cut', ...CONSUMER });
    await b.subscribe({ topics: ['work'], fromBeginning: true });
    const byB: number[] = [];
    await b.run({ eachMessage: async ({ message }) => void byB.push(message.offset) });
    for (let i = 0; i < 30; i++) {
      await producer.send({ topic: 'work', messages: [{ value: `m${i}` }] });
      await new Promise((r) => setTimeout(r, 150));
    }
    await until(() => byB.includes(30), 20_000, 'b to reach the end');
    await b.stop();
    a.kill();
    const leaseEnd = cutAt + GROUP_SETTINGS.sessionTimeoutMs; // lease ≤ session − skew after the last renewal
    expect(byA.every((x) => x.at <= leaseEnd)).toBe(true);
    // b took over, with no record processed by both after a stopped
    const lastOfA = Math.max(...byA.map((x) => x.offset));
    expect(Math.min(...byB)).toBeLessThanOrEqual(lastOfA + 1);
    expect(byB[byB.length - 1]).toBe(30);
  });

  it('at-least-once when members are killed at random points; duplicates only after a partition changed owner', async () => {
    const sluice = await setup(6);
    const rng = new SeededRandom(99);
    const events: { member: string; partition: number; offset: number }[] = [];
    const live: Consumer[] = [];
    const start = async () => {
      const consumer = sluice.consumer({ groupId: 'chaos', ...CONSUMER });
      await consumer.subscribe({ topics: ['work'], fromBeginning: true });
      await consumer.run({
        autoCommitIntervalMs: 100,
        eachMessage: async ({ partition, message }) => {
          events.push({ member: consumer.id as string, partition, offset: message.offset });
          if (rng.next() < 0.05) await new Promise((r) => setTimeout(r, 20));
        },
      });
      live.push(consumer);
    };
    for (let i = 0; i < 3; i++) await start();
    const producer = sluice.producer({ lingerMs: 2 });
    const total = 600;
    const produced = (async () => {
      for (let i = 0; i < total; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            producer.send({ topic: 'work', messages: [{ key: `k${i + j}`, value: `v${i + j}` }] }),
          ),
        );
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    // kill a member every ~600 ms and start a fresh one (a new process: a new member id)
    let kills = 0;
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 400 + rng.int(400)));
      const victim = live.splice(rng.int(live.length), 1)[0] as Consumer;
      victim.kill();
      kills++;
      await start();
    }
    await produced;
    const offsets = await sluice.admin().fetchTopicOffsets('work');
    const expected = new Set(
      offsets.flatMap((o) => Array.from({ length: o.high }, (_, off) => `${o.partition}/${off}`)),
    );
    expect(expected.size).toBe(total);
    await until(
      () => expected.size === new Set(events.map((e) => `${e.partition}/${e.offset}`)).size,
      60_000,
      'every record processed',
    );
    await Promise.all(live.map((c) => c.stop()));
    expect(kills).toBe(5);
    // at least once
    const processed = new Set(events.map((e) => `${e.partition}/${e.offset}`));
    for (const r of expected) expect(processed.has(r)).toBe(true);
    // a member never processes one record twice; a record processed twice was processed
    // again by another member (the partition changed owner)
    const byRecord = new Map<string, string[]>();
    for (const e of events)
      byRecord.set(`${e.partition}/${e.offset}`, [...(byRecord.get(`${e.partition}/${e.offset}`) ?? []), e.member]);
    let duplicates = 0;
    for (const members of byRecord.values()) {
      expect(new Set(members).size).toBe(members.length);
      duplicates += members.length - 1;
    }
    console.log(
      `[chaos] ${events.length} processings of ${total} records, ${duplicates} duplicates after ${kills} kills`,
    );
  });

  it('retries a poison record, dead-letters it with its error, and moves on', async () => {
    const sluice = await setup(1);
    await sluice.admin().createTopics({ topics: [{ name: 'work-dlq', partitions: 1 }] });
    const producer = sluice.producer({ lingerMs: 0 });
    for (const v of ['ok-1', 'poison', 'ok-2']) await producer.send({ topic: 'work', messages: [{ value: v }] });
    const attempts: string[] = [];
    const consumer = sluice.consumer({ groupId: 'dlq', ...CONSUMER, deadLetterTopic: 'work-dlq' });
    await consumer.subscribe({ topics: ['work'], fromBeginning: true });
    await consumer.run({
      autoCommitIntervalMs: 50,
      eachMessage: async ({ message }) => {
        const v = Buffer.from(message.value ?? []).toString();
        attempts.push(v);
        if (v === 'poison') throw new Error('cannot parse poison');
      },
    });
    await until(() => attempts.includes('ok-2'), 20_000, 'ok-2');
    await consumer.stop();
    expect(attempts).toEqual(['ok-1', 'poison', 'poison', 'poison', 'ok-2']);
    const dlq = await sluice.transport.fetch({ topic: 'work-dlq', partition: 0, offset: 0 });
    expect(dlq.records).toHaveLength(1);
    const h = Object.fromEntries(dlq.records[0]?.headers.map(([n, v]) => [n, Buffer.from(v ?? []).toString()]) ?? []);
    expect(Buffer.from(dlq.records[0]?.value ?? []).toString()).toBe('poison');
    expect(h).toMatchObject({
      'x-sluice-error': 'cannot parse poison',
      'x-sluice-error-attempts': '3',
      'x-sluice-source': 'work/0/1',
    });
    const described = await sluice.transport.describeTopic('work');
    expect(described.offsets[0]?.highWatermark).toBe(3);
  });

  it('a handler slower than the session timeout keeps its partition: heartbeats run on their own', async () => {
    const sluice = await setup(1);
    const producer = sluice.producer({ lingerMs: 0 });
    await producer.send({ topic: 'work', messages: [{ value: 'slow' }, { value: 'next' }] });
    const processed: string[] = [];
    const slow = sluice.consumer({ groupId: 'slow', ...CONSUMER });
    await slow.subscribe({ topics: ['work'], fromBeginning: true });
    const revoked: unknown[] = [];
    await slow.run({
      autoCommitIntervalMs: 50,
      onPartitionsRevoked: (p) => revoked.push(...p),
      eachMessage: async ({ message }) => {
        const v = Buffer.from(message.value ?? []).toString();
        if (v === 'slow') await new Promise((r) => setTimeout(r, 2 * GROUP_SETTINGS.sessionTimeoutMs));
        processed.push(v);
      },
    });
    const other = sluice.consumer({ groupId: 'slow', ...CONSUMER });
    await other.subscribe({ topics: ['work'], fromBeginning: true });
    const otherSaw: string[] = [];
    await other.run({
      eachMessage: async ({ message }) => void otherSaw.push(Buffer.from(message.value ?? []).toString()),
    });
    await until(() => processed.includes('next'), 20_000, 'the slow consumer to finish');
    await Promise.all([slow.stop(), other.stop()]);
    expect(processed).toEqual(['slow', 'next']);
    expect(otherSaw).toEqual([]);
    expect(revoked).toEqual([]);
  });

  it('a group whose committed offset fell below the start offset resumes at the start offset', async () => {
    const sluice = await setup(1);
    const producer = sluice.producer({ lingerMs: 0 });
    for (let i = 0; i < 6; i++) await producer.send({ topic: 'work', messages: [{ value: `m${i}` }] });
    const first = sluice.consumer({ groupId: 'behind', ...CONSUMER });
    await first.subscribe({ topics: ['work'], fromBeginning: true });
    const seen: number[] = [];
    await first.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 1) await first.commitOffsets([{ topic: 'work', partition: 0, offset: 2 }]);
      },
    });
    await until(() => seen.length === 6, 20_000, 'first pass');
    await first.stop(); // commits nothing more: autoCommit is off
    await sluice.admin().deleteTopicRecords({ topic: 'work', partitions: [{ partition: 0, offset: 4 }] });
    const second = sluice.consumer({ groupId: 'behind', ...CONSUMER });
    await second.subscribe({ topics: ['work'], fromBeginning: true });
    const resumed: number[] = [];
    await second.run({ eachMessage: async ({ message }) => void resumed.push(message.offset) });
    await until(() => resumed.length === 2, 20_000, 'resume');
    await second.stop();
    expect(resumed).toEqual([4, 5]);
  });
});
