/**
 * Bad-input fuzzing of the TypeScript client (fast-check), in direct mode on the fakes, as
 * a JavaScript caller may call it with anything: every bad send, admin call or consumer
 * setup is rejected with a SluiceError and a known code, writes nothing, and never fails a
 * good send batched in the same linger window.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import { SluiceError } from '../../lib/errors';
import { DEFAULT_LOG_SETTINGS, topicNameProblem } from '../../lib/settings';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

const objects = new MemoryObjectStore();
const sluice = new Sluice({
  stores: { objects, metadata: new MemoryLogMetadataStore(), groups: new MemoryGroupStore() },
});
const CODES = new Set([
  'INVALID_ARGUMENT',
  'INVALID_TOPIC_NAME',
  'TOPIC_NOT_FOUND',
  'PARTITION_NOT_FOUND',
  'RECORD_TOO_LARGE',
  'TOPIC_EXISTS',
]);

beforeAll(async () => {
  await sluice.admin().createTopics({ topics: [{ name: 'fuzz', partitions: 4 }] });
});

async function hwmTotal(): Promise<number> {
  const d = await sluice.admin().describeTopic('fuzz');
  return d.offsets.reduce((n, o) => n + o.highWatermark, 0);
}

const tooLarge = 'x'.repeat(DEFAULT_LOG_SETTINGS.maxRecordBytes + 1);
const notBytes = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant({}),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
  fc.double(),
);
const badMessage = fc.oneof(
  fc.constantFrom(null, 42, 'just a string', [] as unknown[]),
  fc.record({ key: fc.string() }), // no value
  fc.record({ value: notBytes }),
  fc.record({ value: fc.string(), key: notBytes }),
  fc.record({ value: fc.string(), headers: fc.oneof(fc.constant([]), fc.integer(), fc.constant('h')) }),
  fc.record({ value: fc.string(), headers: fc.dictionary(fc.string({ minLength: 1 }), notBytes, { minKeys: 1 }) }),
  fc.record({
    value: fc.string(),
    partition: fc.oneof(
      fc.integer({ min: 4, max: 2 ** 40 }),
      fc.integer({ max: -1 }),
      fc.double().filter((d) => !Number.isInteger(d)),
      fc.constant(2 ** 53 + 2),
      fc.string(),
    ),
  }),
  fc.record({
    value: fc.string(),
    timestamp: fc.oneof(
      fc.integer({ max: -1 }),
      fc.constant(2 ** 53 + 2),
      fc.string().filter((t) => !/^\d{1,16}$/.test(t)),
      fc.double().filter((d) => !Number.isInteger(d)),
    ),
  }),
  fc.constant({ value: tooLarge }),
  fc.constant({ value: 'v', headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, 'x'])) }),
);
const badTopic = fc.oneof(
  fc.string({ maxLength: 300 }).filter((t) => topicNameProblem(t) !== undefined),
  fc.constantFrom('missing-topic', 'nope.nope'),
  notBytes,
);

/** Names no topic may have (the missing-but-valid ones of `badTopic` excluded). */
const invalidName = badTopic.filter((t) => typeof t !== 'string' || topicNameProblem(t) !== undefined);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('client bad-input fuzzing', () => {
  it('a bad send is rejected alone with a clear code; a good send in the same batch lands; nothing bad is written', async () => {
    const producer = sluice.producer({ lingerMs: 20 });
    let good = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badMessage.map((m) => ({ topic: 'fuzz' as unknown, messages: [{ value: 'ok-too' }, m] as unknown[] })),
          badTopic.map((topic) => ({ topic, messages: [{ value: 'x' }] as unknown[] })),
          fc.constantFrom(
            { topic: 'fuzz', messages: [] },
            { topic: 'fuzz', messages: 'nope' },
            { topic: 'fuzz', messages: undefined },
          ),
        ),
        async (bad) => {
          const before = await hwmTotal();
          const segments = (await objects.list('segments/')).objects.length;
          const goodSend = producer.send({ topic: 'fuzz', messages: [{ value: `good-${good}` }] });
          // biome-ignore lint/suspicious/noExplicitAny: a JavaScript caller may pass anything
          const e = await rejection(producer.send(bad as any));
          expect(e, String(e)).toBeInstanceOf(SluiceError);
          expect(CODES.has((e as SluiceError).code), (e as SluiceError).code).toBe(true);
          expect((e as Error).message.length).toBeGreaterThan(10);
          const [meta] = await goodSend;
          good++;
          expect(meta?.topic).toBe('fuzz');
          // exactly the good message was written, in one object
          expect(await hwmTotal()).toBe(before + 1);
          expect((await objects.list('segments/')).objects.length).toBe(segments + 1);
        },
      ),
      { numRuns: 150 },
    );
    await producer.close();
  }, 60_000);

  it('accepts the kafkajs shapes: string timestamps, Buffer values, null tombstones', async () => {
    const producer = sluice.producer({ lingerMs: 0 });
    const [a, b] = await producer.send({
      topic: 'fuzz',
      messages: [
        { value: Buffer.from('buf'), key: 'k', timestamp: '1700000000000', headers: { h: Buffer.from('v') } },
        { value: null, key: 'k' },
      ],
    });
    expect(a?.partition).toBe(b?.partition); // same key, same partition
    await producer.close();
  });

  it('admin calls with bad input are rejected with a clear code and create nothing', async () => {
    const admin = sluice.admin();
    const before = await admin.listTopics();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          invalidName.map((name) => ({ name, partitions: 1 })),
          fc.record({
            name: fc.constant('valid-name'),
            partitions: fc.oneof(
              fc.integer({ max: 0 }),
              fc.integer({ min: 1025 }),
              fc.double().filter((d) => !Number.isInteger(d)),
              fc.string(),
            ),
          }),
          fc.record({
            name: fc.constant('valid-name'),
            partitions: fc.constant(1),
            retentionMs: fc.oneof(fc.integer({ max: 0 }), fc.string(), fc.constant(2 ** 53 + 2)),
          }),
          fc.constant({ name: 'fuzz', partitions: 1 }), // exists
        ),
        async (topic) => {
          // biome-ignore lint/suspicious/noExplicitAny: a JavaScript caller may pass anything
          const e = await rejection(admin.createTopics({ topics: [topic as any] }));
          expect(e, String(e)).toBeInstanceOf(SluiceError);
          expect(CODES.has((e as SluiceError).code), (e as SluiceError).code).toBe(true);
          expect(await admin.listTopics()).toEqual(before);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a consumer with a bad group id or subscription is refused before it joins anything', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }).filter((g) => topicNameProblem(g) !== undefined),
          notBytes,
          fc.constant(undefined),
        ),
        async (groupId) => {
          // biome-ignore lint/suspicious/noExplicitAny: a JavaScript caller may pass anything
          expect(() => sluice.consumer({ groupId } as any)).toThrow(SluiceError);
        },
      ),
    );
    const consumer = sluice.consumer({ groupId: 'fine' });
    await fc.assert(
      fc.asyncProperty(fc.oneof(invalidName, fc.constant(undefined)), async (t) => {
        // biome-ignore lint/suspicious/noExplicitAny: a JavaScript caller may pass anything
        const e = await rejection(consumer.subscribe({ topics: t === undefined ? (undefined as any) : [t as any] }));
        expect(e).toBeInstanceOf(SluiceError);
      }),
    );
  });
});
