import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asOffset, type LogRecord } from '../../lib/records/types';
import {
  itemIdentifier,
  kafkaEvent,
  type PartitionBatch,
  parseItemIdentifier,
  readHandlerAnswer,
} from '../../lib/subscriptions/kafka-event';

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const record = (offset: number, extra: Partial<LogRecord> = {}): LogRecord => ({
  offset: asOffset(offset),
  key: bytes(`k${offset}`),
  value: bytes(`v${offset}`),
  headers: [],
  timestamp: 1_700_000_000_000 + offset,
  ...extra,
});

const batches: PartitionBatch[] = [
  { topic: 'orders.eu-west', partition: 3, records: [record(10), record(11), record(12)] },
  { topic: 'orders.eu-west', partition: 4, records: [record(7)] },
];

describe('the Kafka event a subscription delivers', () => {
  it('is keyed by topic-partition, base64 keys and values, headers as byte arrays, in offset order', () => {
    const e = kafkaEvent(
      [
        {
          topic: 'orders',
          partition: 0,
          records: [
            record(5, {
              headers: [
                ['trace', bytes('ab')],
                ['empty', null],
              ],
            }),
            record(6, { key: null, value: null }),
          ],
        },
      ],
      { subscription: 'push', deliveryId: 'd-1', source: 'sluice' },
    );
    expect(e).toEqual({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'sluice',
      records: {
        'orders-0': [
          {
            topic: 'orders',
            partition: 0,
            offset: 5,
            timestamp: 1_700_000_000_005,
            timestampType: 'CREATE_TIME',
            key: Buffer.from('k5').toString('base64'),
            value: Buffer.from('v5').toString('base64'),
            headers: [{ trace: [97, 98] }, { empty: [] }],
          },
          {
            topic: 'orders',
            partition: 0,
            offset: 6,
            timestamp: 1_700_000_000_006,
            timestampType: 'CREATE_TIME',
            value: '',
            headers: [],
          },
        ],
      },
      sluice: { subscription: 'push', deliveryId: 'd-1' },
    });
  });

  it('names records by topic-partition@offset, for any topic name', () => {
    const topic = fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/);
    fc.assert(
      fc.property(topic, fc.nat(1023), fc.maxSafeNat(), (t, p, o) => {
        expect(parseItemIdentifier(itemIdentifier(t, p, o))).toEqual({ topic: t, partition: p, offset: o });
      }),
    );
    for (const bad of ['', 'orders', 'orders-1', 'orders@3', 'orders-x@3', 'orders-1@-3', 'orders-1@3.5'])
      expect(parseItemIdentifier(bad), bad).toBeUndefined();
  });

  it('reads partial failures as the first failed offset per partition', () => {
    const answer = {
      batchItemFailures: [
        { itemIdentifier: itemIdentifier('orders.eu-west', 3, 12) },
        { itemIdentifier: itemIdentifier('orders.eu-west', 3, 11) },
      ],
    };
    expect(readHandlerAnswer(answer, batches, true)).toEqual({
      kind: 'partial',
      firstFailed: new Map([['orders.eu-west-3', 11]]),
    });
    // without ReportBatchItemFailures an answer is not read: returning is success
    expect(readHandlerAnswer(answer, batches, false)).toEqual({ kind: 'success' });
    for (const ok of [undefined, null, 'done', {}, { batchItemFailures: [] }, { batchItemFailures: null }])
      expect(readHandlerAnswer(ok, batches, true), JSON.stringify(ok)).toEqual({ kind: 'success' });
  });

  it('fails the whole batch on an answer it cannot trust', () => {
    for (const bad of [
      { batchItemFailures: 'all' },
      { batchItemFailures: [{}] },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: itemIdentifier('orders.eu-west', 3, 9) }] },
      { batchItemFailures: [{ itemIdentifier: itemIdentifier('orders.eu-west', 5, 10) }] },
      { batchItemFailures: [{ itemIdentifier: itemIdentifier('other', 3, 10) }] },
    ]) {
      expect(readHandlerAnswer(bad, batches, true).kind, JSON.stringify(bad)).toBe('failure');
    }
  });
});

describe('independent readers of the Kafka event format', () => {
  const event = kafkaEvent(
    [
      {
        topic: 'orders',
        partition: 2,
        records: [
          record(40, { value: bytes('{"id":40}'), headers: [['trace', bytes('t-1')]] }),
          record(41, { key: null, value: bytes('{"id":41}') }),
        ],
      },
      { topic: 'orders', partition: 5, records: [record(3, { value: bytes('{"id":3}') })] },
    ],
    { subscription: 'push', deliveryId: 'd-7', source: 'sluice' },
  );

  it("validates against Powertools' parser schema for self-managed Kafka events", async () => {
    const { KafkaSelfManagedEventSchema } = await import('@aws-lambda-powertools/parser/schemas/kafka');
    const parsed = KafkaSelfManagedEventSchema.parse(event);
    expect(Object.keys(parsed.records)).toEqual(['orders-2', 'orders-5']);
    const [first, second] = parsed.records['orders-2'] ?? [];
    expect(first).toMatchObject({ offset: 40, key: 'k40', value: '{"id":40}', headers: [{ trace: 't-1' }] });
    expect(second?.key).toBeUndefined();
  });

  it('is consumed unchanged by a Powertools Kafka consumer handler', async () => {
    const { kafkaConsumer } = await import('@aws-lambda-powertools/kafka');
    const seen: unknown[] = [];
    const handler = kafkaConsumer<string, { id: number }>(
      async (e) => {
        for (const r of e.records) seen.push([r.topic, r.partition, r.offset, r.key, r.value.id, r.headers]);
        return { batchItemFailures: [] };
      },
      { value: { type: 'json' } },
    );
    // biome-ignore lint/suspicious/noExplicitAny: the handler's event and context types are the aws-lambda ones
    await handler(event as any, {} as any);
    expect(seen).toEqual([
      ['orders', 2, 40, 'k40', 40, [{ trace: 't-1' }]],
      ['orders', 2, 41, undefined, 41, []],
      ['orders', 5, 3, 'k3', 3, []],
    ]);
  });
});
