/**
 * The group consumer's failure handling on the fakes (real time, short timeouts):
 * `eachBatch` with a dead-letter topic loses nothing (bisection finds the poison records),
 * `resolveOffset` keeps progress, and a hung handler loses its partition to another member
 * after `maxProcessingMs`.
 */
import { describe, expect, it } from 'vitest';
import type { Consumer, ConsumerOptions, RevokedPartition, RunOptions } from '../../lib/client/consumer';
import { Sluice } from '../../lib/client/sluice';
import type { LogRecord } from '../../lib/records/types';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { until } from '../support/until';

const GROUP_SETTINGS = { sessionTimeoutMs: 3000, heartbeatIntervalMs: 100, maxClockSkewMs: 100 };
const CONSUMER = { maxWaitMs: 50, maxClockSkewMs: 100, retry: { attempts: 2, initialRetryMs: 1 } };

const text = (r: LogRecord) => Buffer.from(r.value ?? []).toString();

const groupStores = new WeakMap<Sluice, MemoryGroupStore>();

async function setup(partitions: number, values: string[]) {
  const groups = new MemoryGroupStore();
  const sluice = new Sluice({
    stores: { objects: new MemoryObjectStore(), metadata: new MemoryLogMetadataStore(), groups },
    groupSettings: GROUP_SETTINGS,
  });
  groupStores.set(sluice, groups);
  await sluice.admin().createTopics({
    topics: [
      { name: 'in', partitions },
      { name: 'dlq', partitions: 1 },
    ],
  });
  const producer = sluice.producer({ lingerMs: 0 });
  // one produce call per partition: the whole partition arrives as one fetched batch
  for (let p = 0; p < partitions; p++) {
    await producer.send({ topic: 'in', messages: values.map((value) => ({ value, partition: p })) });
  }
  return sluice;
}

async function deadLettered(sluice: Sluice): Promise<{ value: string; source: string }[]> {
  const r = await sluice.transport.fetch({ topic: 'dlq', partition: 0, offset: 0, maxRecords: 1000 });
  return r.records.map((x) => ({
    value: text(x),
    source: Buffer.from(x.headers.find(([n]) => n === 'x-sluice-source')?.[1] ?? []).toString(),
  }));
}

/** Committed offsets of partitions 0, 1, … of "in" (null where none). */
async function committed(sluice: Sluice, group: string): Promise<(number | null)[]> {
  const { offsets } = await (groupStores.get(sluice) as MemoryGroupStore).readGroup(group);
  const max = Math.max(-1, ...offsets.map((o) => o.partition));
  return Array.from({ length: max + 1 }, (_, p) => offsets.find((o) => o.partition === p)?.offset ?? null);
}

async function consume(sluice: Sluice, options: Partial<ConsumerOptions>, run: RunOptions): Promise<Consumer> {
  const consumer = sluice.consumer({ groupId: 'g', ...CONSUMER, ...options });
  await consumer.subscribe({ topics: ['in'], fromBeginning: true });
  await consumer.run({ autoCommitIntervalMs: 20, ...run });
  return consumer;
}

const VALUES = Array.from({ length: 20 }, (_, i) => `r${i}`);

describe('eachBatch failures', () => {
  it('a poison record in the middle of a batch: bisected, only it is dead-lettered, every other record processed', async () => {
    const sluice = await setup(1, VALUES);
    const processedOk = new Set<string>();
    const batchSizes: number[] = [];
    const consumer = await consume(
      sluice,
      { deadLetterTopic: 'dlq' },
      {
        eachBatch: async ({ batch }) => {
          batchSizes.push(batch.messages.length);
          if (batch.messages.some((m) => text(m) === 'r13')) throw new Error('r13 is poison');
          for (const m of batch.messages) processedOk.add(text(m));
        },
      },
    );
    await until(async () => (await committed(sluice, 'g'))[0] === 20, 10_000, 'commit past the batch');
    await consumer.stop();
    expect(await deadLettered(sluice)).toEqual([{ value: 'r13', source: 'in/0/13' }]);
    expect([...processedOk].sort()).toEqual(VALUES.filter((v) => v !== 'r13').sort());
    expect(batchSizes[0]).toBe(20); // tried whole first, then halves
    expect(batchSizes).toContain(1);
  });

  it('a batch that fails as a whole: every record is tried alone and dead-lettered, none lost', async () => {
    const sluice = await setup(1, VALUES.slice(0, 7));
    const tried = new Set<string>();
    const consumer = await consume(
      sluice,
      { deadLetterTopic: 'dlq' },
      {
        eachBatch: async ({ batch }) => {
          if (batch.messages.length === 1) tried.add(text(batch.messages[0] as LogRecord));
          throw new Error('downstream is down');
        },
      },
    );
    await until(async () => (await committed(sluice, 'g'))[0] === 7, 10_000, 'commit past the batch');
    await consumer.stop();
    const dl = await deadLettered(sluice);
    expect(dl.map((d) => d.value)).toEqual(VALUES.slice(0, 7)); // in order, each once
    expect([...tried].sort()).toEqual(VALUES.slice(0, 7).sort());
  });

  it('resolveOffset keeps progress: a failing batch without a dead-letter topic stops the consumer after what it resolved', async () => {
    const sluice = await setup(1, VALUES);
    const consumer = await consume(
      sluice,
      {},
      {
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          for (const m of batch.messages) {
            if (text(m) === 'r8') throw new Error('stuck at r8');
            resolveOffset(m.offset);
            await heartbeat();
          }
        },
      },
    );
    const error = await consumer.stopped;
    expect(error?.message).toBe('stuck at r8');
    expect((await committed(sluice, 'g'))[0]).toBe(8);
  });

  it('eachBatchAutoResolve: false delivers again from the first offset the handler did not resolve', async () => {
    const sluice = await setup(1, VALUES.slice(0, 6));
    const firstOffsets: number[] = [];
    const consumer = await consume(
      sluice,
      {},
      {
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          firstOffsets.push((batch.messages[0] as LogRecord).offset);
          // resolve only the first two of each delivery
          for (const m of batch.messages.slice(0, 2)) resolveOffset(m.offset);
        },
      },
    );
    await until(async () => (await committed(sluice, 'g'))[0] === 6, 10_000, 'all resolved');
    await consumer.stop();
    expect(firstOffsets.slice(0, 3)).toEqual([0, 2, 4]);
  });
});

describe('seek', () => {
  it('a seek backwards delivers the records from there once more, then goes on; commits never go back', async () => {
    const sluice = await setup(1, VALUES.slice(0, 5));
    const seen: number[] = [];
    const consumer = await consume(sluice, {}, { eachMessage: async ({ message }) => void seen.push(message.offset) });
    await until(() => seen.length === 5, 5_000, 'first pass');
    consumer.seek({ topic: 'in', partition: 0, offset: 2 });
    await until(() => seen.length === 8, 5_000, 'the re-read');
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    await consumer.stop();
    expect(seen).toEqual([0, 1, 2, 3, 4, 2, 3, 4]);
    expect((await committed(sluice, 'g'))[0]).toBe(5);
  });
});

describe('processing deadline', () => {
  it('a hung handler loses its partition after maxProcessingMs; another member takes over; its other partitions go on', async () => {
    const sluice = await setup(2, VALUES.slice(0, 5));
    const seen: { member: string; value: string; partition: number }[] = [];
    const revoked: RevokedPartition[] = [];
    let hang = true;
    // member A: hangs for ever on partition 0 (until released at the end), fine on others
    const a = sluice.consumer({ groupId: 'g', ...CONSUMER, maxProcessingMs: 500 });
    await a.subscribe({ topics: ['in'], fromBeginning: true });
    await a.run({
      autoCommitIntervalMs: 20,
      onPartitionsRevoked: (ps) => revoked.push(...ps),
      eachMessage: async ({ partition, message }) => {
        if (partition === 0 && hang) await until(() => !hang, 60_000, 'release of the hung handler');
        seen.push({ member: 'a', value: text(message), partition });
      },
    });
    await until(() => seen.some((s) => s.partition === 1), 5_000, 'A processes partition 1');
    // member B joins; A keeps at most its share, so it may keep the hung partition 0
    const b = sluice.consumer({ groupId: 'g', ...CONSUMER, maxProcessingMs: 500 });
    await b.subscribe({ topics: ['in'], fromBeginning: true });
    await b.run({
      autoCommitIntervalMs: 20,
      eachMessage: async ({ partition, message }) => {
        seen.push({ member: 'b', value: text(message), partition });
      },
    });
    await until(
      () => seen.filter((s) => s.partition === 0 && s.member === 'b').length === 5,
      10_000,
      'B processes partition 0',
    );
    expect(revoked).toContainEqual({ topic: 'in', partition: 0, reason: 'timeout' });
    // A did not process partition 0 at all while hung, and never gets it back meanwhile
    expect(seen.filter((s) => s.partition === 0 && s.member === 'a')).toEqual([]);
    hang = false;
    await Promise.all([a.stop(), b.stop()]);
    // everything of both partitions processed (at-least-once: the hung record may come twice)
    for (const p of [0, 1]) {
      expect(new Set(seen.filter((s) => s.partition === p).map((s) => s.value))).toEqual(new Set(VALUES.slice(0, 5)));
    }
  });

  it('a single member with a hung handler frees its slot: its other partitions keep going', async () => {
    const sluice = await setup(2, VALUES.slice(0, 3));
    const seen: string[] = [];
    let hang = true;
    const consumer = await consume(
      sluice,
      { maxProcessingMs: 300 },
      {
        eachMessage: async ({ partition, message }) => {
          if (partition === 0 && hang) await until(() => !hang, 60_000, 'release');
          seen.push(`${partition}:${text(message)}`);
        },
      },
    );
    await until(() => seen.filter((s) => s.startsWith('1:')).length === 3, 10_000, 'partition 1 done');
    hang = false;
    await consumer.stop();
  });

  it('stop does not wait for ever on a hung handler', async () => {
    const sluice = await setup(1, VALUES.slice(0, 1));
    let started = false;
    const consumer = await consume(
      sluice,
      { maxProcessingMs: 300 },
      {
        eachMessage: async () => {
          started = true;
          await new Promise(() => {}); // never returns
        },
      },
    );
    await until(() => started, 5_000, 'the handler to start');
    const t = Date.now();
    await consumer.stop();
    expect(Date.now() - t).toBeLessThan(3_000);
  });

  it('rejects a nonsensical maxProcessingMs', async () => {
    const sluice = await setup(1, ['x']);
    expect(() => sluice.consumer({ groupId: 'g', maxProcessingMs: 0 })).toThrow(/maxProcessingMs/);
  });
});

describe('starting positions', () => {
  it('a member given many new partitions reads the topic once, not once per partition', async () => {
    const sluice = await setup(64, ['a', 'b']);
    let describes = 0;
    const describeTopic = sluice.transport.describeTopic.bind(sluice.transport);
    sluice.transport.describeTopic = (topic) => {
      describes++;
      return describeTopic(topic);
    };
    const consumer = sluice.consumer({ groupId: 'wide', ...CONSUMER });
    await consumer.subscribe({ topics: ['in'], fromBeginning: true });
    let seen = 0;
    void consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
      },
    });
    await until(() => seen === 128, 20_000, 'all 128 records consumed');
    await consumer.stop();
    // one description shared by the 64 partition loops (each is a read of every head)
    expect(describes).toBeLessThanOrEqual(2);
  });
});
