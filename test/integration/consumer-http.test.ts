/**
 * The group consumer over the HTTP transport (the local server with group routes), and
 * seek / pause / resume / the async iterator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { realStores } from '../support/real';
import { until } from '../support/until';

let server: RunningServer;
let sluice: Sluice;
const groups = { sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, maxClockSkewMs: 200 };

beforeAll(async () => {
  const stores = await realStores();
  server = await serveHttpApp(createHttpApp(createSluice(stores, { groups })), 0);
  sluice = new Sluice({ http: { url: server.url } });
  await sluice.admin().createTopics({ topics: [{ name: 'remote', partitions: 2 }] });
  const producer = sluice.producer({ lingerMs: 1 });
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      producer.send({ topic: 'remote', messages: [{ partition: i % 2, value: `r${i}` }] }),
    ),
  );
});
afterAll(async () => {
  await server?.close();
});

describe('group consumer over HTTP', () => {
  it('consumes everything from the beginning, then resumes from the committed offsets', async () => {
    const got: string[] = [];
    const c = sluice.consumer({ groupId: 'remote-g', maxWaitMs: 100, maxClockSkewMs: 200 });
    await c.subscribe({ topics: ['remote'], fromBeginning: true });
    await c.run({
      autoCommitIntervalMs: 50,
      eachMessage: async ({ message }) => void got.push(Buffer.from(message.value ?? []).toString()),
    });
    await until(() => got.length === 20, 20_000, 'all 20 records');
    await c.stop();
    expect(new Set(got).size).toBe(20);
    // a new member of the same group starts where the group left off
    const producer = sluice.producer({ lingerMs: 0 });
    await producer.send({ topic: 'remote', messages: [{ partition: 1, value: 'after' }] });
    const again: string[] = [];
    const d = sluice.consumer({ groupId: 'remote-g', maxWaitMs: 100, maxClockSkewMs: 200 });
    await d.subscribe({ topics: ['remote'], fromBeginning: true });
    await d.run({ eachMessage: async ({ message }) => void again.push(Buffer.from(message.value ?? []).toString()) });
    await until(() => again.length === 1, 20_000, 'the record produced after the restart');
    await d.stop();
    expect(again).toEqual(['after']);
  });

  it('seeks, pauses and resumes; and iterates batches with for await', async () => {
    const c = sluice.consumer({ groupId: 'remote-seek', maxWaitMs: 100, maxClockSkewMs: 200 });
    await c.subscribe({ topics: ['remote'], fromBeginning: true });
    const seen: [number, number][] = [];
    await c.run({ eachMessage: async ({ partition, message }) => void seen.push([partition, message.offset]) });
    c.pause([{ topic: 'remote', partitions: [1] }]);
    await until(() => seen.filter(([p]) => p === 0).length >= 10, 20_000, 'ten records of partition 0');
    expect(seen.filter(([p]) => p === 1).length).toBeLessThanOrEqual(10);
    const beforeResume = seen.filter(([p]) => p === 1).length;
    c.seek({ topic: 'remote', partition: 0, offset: 8 });
    c.resume([{ topic: 'remote', partitions: [1] }]);
    await until(
      () => seen.filter(([p, o]) => p === 0 && o === 9).length === 2,
      20_000,
      'offset 9 read twice after the seek to 8',
    ); // re-read from 8
    await until(() => seen.filter(([p]) => p === 1).length > beforeResume, 20_000, 'partition 1 after resume');
    await c.stop();

    const it2 = sluice.consumer({ groupId: 'remote-iter', maxWaitMs: 100, maxClockSkewMs: 200 });
    await it2.subscribe({ topics: ['remote'], fromBeginning: true });
    let records = 0;
    for await (const batch of it2) {
      records += batch.messages.length;
      if (records >= 21) break;
    }
    await it2.stop();
    expect(records).toBe(21);
  });
});
