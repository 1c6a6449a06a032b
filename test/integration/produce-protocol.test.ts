/**
 * The write protocol against the real local backends: concurrency, atomic visibility,
 * crashes between steps, lost responses injected at the SDK layer, idempotency beyond the
 * DynamoDB token window, bad input, and the request count of one produce call.
 */
import { TransactGetItemsCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { SluiceLog } from '../../lib/log/log';
import type { ProduceRecord, ProduceRequest } from '../../lib/log/produce';
import { findOrphanSegments } from '../../lib/retention/orphans';
import { parseShardHead } from '../../lib/storage/dynamo-table';
import { HEAD_SHARD_SIZE, headShard, keys, SEGMENT_PREFIX } from '../../lib/storage/layout';
import type { AppendCommit, LogMetadataStore, ObjectStore } from '../../lib/storage/ports';
import { rec, rejection, str, utf8 } from '../support/log-suite';
import { realStores } from '../support/real';
import { beforeRequests, countCommands, loseResponses } from '../support/sdk-faults';

async function objectCount(objects: ObjectStore): Promise<number> {
  let n = 0;
  let startAfter: string | undefined;
  do {
    const page = await objects.list(SEGMENT_PREFIX, startAfter ? { startAfter } : {});
    n += page.objects.length;
    startAfter = page.nextStartAfter;
  } while (startAfter);
  return n;
}

async function readAll(log: SluiceLog, topic: string, partition: number) {
  const out: { offset: number; value: string | null }[] = [];
  let offset = 0;
  for (;;) {
    const r = await log.fetch({ topic, partition, offset, maxRecords: 10_000 });
    for (const x of r.records) out.push({ offset: x.offset, value: str(x.value) });
    if (r.nextOffset === r.highWatermark) return out;
    offset = r.nextOffset;
  }
}

describe('produce protocol on LocalStack S3 + DynamoDB Local', () => {
  it('16 concurrent producers on the same partitions: dense, byte-exact, no duplicates, order kept', async () => {
    const stores = await realStores();
    const admin = new SluiceLog(stores);
    await admin.createTopic({ name: 'contended', partitions: 4 });
    const PRODUCERS = 16;
    const CALLS = 12;
    const acked: { producer: number; seq: number; partition: number; offset: number; value: string }[] = [];
    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, p) => {
        const log = new SluiceLog(stores); // its own caches: a separate process, in effect
        for (let c = 0; c < CALLS; c++) {
          const records: ProduceRecord[] = Array.from({ length: 1 + ((p + c) % 3) }, (_, i) => ({
            partition: (p + c + i) % 4,
            value: utf8(`p${p}-c${c}-r${i}-${'x'.repeat((p * 7 + c) % 50)}`),
          }));
          const res = await log.append({ batches: [{ topic: 'contended', records }] });
          res.batches[0]?.offsets.forEach((o, i) => {
            acked.push({ producer: p, seq: c * 10 + i, ...o, value: str(records[i]?.value ?? null) as string });
          });
        }
      }),
    );
    const byPartition = new Map<number, typeof acked>();
    for (const a of acked) byPartition.set(a.partition, [...(byPartition.get(a.partition) ?? []), a]);
    for (let partition = 0; partition < 4; partition++) {
      const read = await readAll(admin, 'contended', partition);
      const mine = byPartition.get(partition) ?? [];
      // dense from 0: exactly as many offsets as acknowledged records, 0..n-1
      expect(read.map((r) => r.offset)).toEqual(Array.from({ length: mine.length }, (_, i) => i));
      // every acknowledged record is at its offset, byte for byte; hence no duplicates
      const at = new Map(read.map((r) => [r.offset, r.value]));
      for (const a of mine) expect(at.get(a.offset)).toBe(a.value);
      expect(new Set(read.map((r) => r.value)).size).toBe(read.length);
      // per-producer order per partition
      for (let p = 0; p < PRODUCERS; p++) {
        const offs = mine
          .filter((a) => a.producer === p)
          .sort((a, b) => a.seq - b.seq)
          .map((a) => a.offset);
        expect(offs).toEqual([...offs].sort((a, b) => a - b));
      }
    }
  });

  it('a call spanning partitions becomes visible all at once (serializable snapshots never see a torn call)', async () => {
    const stores = await realStores();
    const admin = new SluiceLog(stores);
    // partitions 0 and 1 share a head item, 17 and 33 are in other shards: the call spans three items
    const spread = [0, 1, 17, 33];
    const shards = [...new Set(spread.map(headShard))];
    const topic = await admin.createTopic({ name: 'atomic', partitions: 34 });
    let done = false;
    const snapshots: number[][] = [];
    const observer = (async () => {
      while (!done) {
        const r = await stores.dynamo.send(
          new TransactGetItemsCommand({
            TransactItems: shards.map((shard) => {
              const k = keys.headShard(topic.topicId, shard);
              return { Get: { TableName: stores.table, Key: { pk: { S: k.pk }, sk: { S: k.sk } } } };
            }),
          }),
        );
        const items = r.Responses ?? [];
        const heads = items.map((it) => parseShardHead(it.Item && unmarshall(it.Item)));
        snapshots.push(
          spread.map((p) => heads[shards.indexOf(headShard(p))]?.heads[p % HEAD_SHARD_SIZE]?.nextOffset ?? 0),
        );
      }
    })();
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        const log = new SluiceLog(stores);
        for (let i = 0; i < 10; i++) {
          await log.append({
            batches: [{ topic: 'atomic', records: spread.map((p) => rec(`w${w}-${i}`, { partition: p })) }],
          });
        }
      }),
    );
    done = true;
    await observer;
    expect(snapshots.length).toBeGreaterThan(5);
    for (const s of snapshots) expect(new Set(s).size, JSON.stringify(s)).toBe(1);
    const hw = (await admin.describeTopic('atomic')).offsets.map((o) => o.highWatermark);
    expect(spread.map((p) => hw[p])).toEqual([40, 40, 40, 40]);
  });

  it('crash between the PUT and the commit: nothing visible, the object is found as an orphan', async () => {
    const stores = await realStores();
    const clock = new ManualClock(Date.now());
    const crashing: LogMetadataStore = Object.create(stores.metadata, {
      commitAppend: {
        value: async (_c: AppendCommit) => {
          throw new Error('process crashed before the commit');
        },
      },
    });
    const admin = new SluiceLog({ ...stores, clock });
    await admin.createTopic({ name: 'crash', partitions: 2 });
    const log = new SluiceLog({ objects: stores.objects, metadata: crashing, clock });
    await expect(
      log.append({ batches: [{ topic: 'crash', records: [rec('a', { partition: 0 }), rec('b', { partition: 1 })] }] }),
    ).rejects.toThrow(/crashed/);
    expect(await objectCount(stores.objects)).toBe(1);
    expect((await admin.describeTopic('crash')).offsets.map((o) => o.highWatermark)).toEqual([0, 0]);
    expect((await admin.fetch({ topic: 'crash', partition: 0, offset: 0 })).records).toEqual([]);
    // within the grace it is not yet an orphan candidate; after it, it is
    const deps = { ...stores, clock };
    expect((await findOrphanSegments(deps, 3_600_000)).orphans).toEqual([]);
    await clock.advance(3_600_001);
    const { orphans } = await findOrphanSegments(deps, 3_600_000);
    expect(orphans.map((o) => o.state)).toEqual(['uncommitted']);
    // a committed segment is never an orphan
    await admin.append({ batches: [{ topic: 'crash', records: [rec('c')] }] });
    await clock.advance(3_600_001);
    expect((await findOrphanSegments(deps, 3_600_000)).orphans).toHaveLength(1);
  });

  it.each(['inside-retries', 'outside-retries'] as const)(
    'lost response after the commit applied (%s): same offsets, no duplicate',
    async (placement) => {
      const stores = await realStores();
      const admin = new SluiceLog(stores);
      await admin.createTopic({ name: 'lost', partitions: 2 });
      await admin.append({ batches: [{ topic: 'lost', records: [rec('before', { partition: 1 })] }] });
      const fault = loseResponses(stores.dynamo, /TransactWrite/, placement);
      const log = new SluiceLog(stores);
      const res = await log.append({
        batches: [{ topic: 'lost', records: [rec('x', { partition: 0 }), rec('y', { partition: 1 })] }],
      });
      expect(fault.fired).toBe(1);
      expect(res.batches[0]?.offsets).toEqual([
        { partition: 0, offset: 0 },
        { partition: 1, offset: 1 },
      ]);
      expect((await readAll(admin, 'lost', 0)).map((r) => r.value)).toEqual(['x']);
      expect((await readAll(admin, 'lost', 1)).map((r) => r.value)).toEqual(['before', 'y']);
      // the next call continues densely
      const next = await log.append({ batches: [{ topic: 'lost', records: [rec('z', { partition: 1 })] }] });
      expect(next.batches[0]?.offsets[0]?.offset).toBe(2);
    },
  );

  it('idempotent retry long after the DynamoDB token window: same offsets, nothing written', async () => {
    const stores = await realStores();
    const clock = new ManualClock(Date.now());
    const log = new SluiceLog({ ...stores, clock });
    await log.createTopic({ name: 'idem', partitions: 3 });
    const request = {
      idempotencyKey: 'order-7731',
      batches: [{ topic: 'idem', records: [rec('a', { key: utf8('k1') }), rec('b', { partition: 2 }), rec('c')] }],
    };
    const first = await log.append(request);
    const objectsAfterFirst = await objectCount(stores.objects);
    await clock.advance(2 * 3_600_000); // far past DynamoDB's 10-minute ClientRequestToken window
    const other = new SluiceLog({ ...stores, clock }); // a different process retries
    const again = await other.append(request);
    expect(again.duplicate).toBe(true);
    expect(again.batches).toEqual(first.batches);
    expect(await objectCount(stores.objects)).toBe(objectsAfterFirst);
    expect((await log.describeTopic('idem')).offsets.reduce((n, o) => n + o.highWatermark, 0)).toBe(3);
    // the same key with another payload is refused, and writes nothing
    const reuse = await rejection(
      other.append({ ...request, batches: [{ topic: 'idem', records: [rec('different')] }] }),
    );
    expect(reuse.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await log.describeTopic('idem')).offsets.reduce((n, o) => n + o.highWatermark, 0)).toBe(3);
    // two racing copies of a new request: one write, one answer
    const race = { idempotencyKey: 'order-7732', batches: [{ topic: 'idem', records: [rec('r', { partition: 0 })] }] };
    const [r1, r2] = await Promise.all([log.append(race), other.append(race)]);
    expect(r1.batches).toEqual(r2.batches);
    expect([r1.duplicate, r2.duplicate].sort()).toEqual([false, true]);
    expect((await log.describeTopic('idem')).offsets.reduce((n, o) => n + o.highWatermark, 0)).toBe(4);
  });

  it('idempotent producer sequences: a retried sequence returns its offsets; a gap is refused', async () => {
    const stores = await realStores();
    const log = new SluiceLog(stores);
    await log.createTopic({ name: 'seq', partitions: 1 });
    const call = (sequence: number, v: string) =>
      log.append({ producer: { producerId: 'producer-1', sequence }, batches: [{ topic: 'seq', records: [rec(v)] }] });
    const a = await call(0, 'a');
    await call(1, 'b');
    const retryA = await call(0, 'a');
    expect(retryA).toEqual({ ...a, duplicate: true });
    expect((await rejection(call(3, 'd'))).code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect((await rejection(call(1, 'not-b'))).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await call(2, 'c')).batches[0]?.offsets[0]?.offset).toBe(2);
    expect((await readAll(log, 'seq', 0)).map((r) => r.value)).toEqual(['a', 'b', 'c']);
  });

  it('every bad input is rejected with a clear error and writes nothing', async () => {
    const stores = await realStores();
    const log = new SluiceLog({
      ...stores,
      settings: { maxRecordsPerCall: 50, maxCallBytes: 4096, maxRecordBytes: 1024 },
    });
    await log.createTopic({ name: 'valid', partitions: 64 });
    // three topics of 22 head shards each, for the call limits
    for (const name of ['wide', 'wide2', 'wide3']) await log.createTopic({ name, partitions: 1024 });
    const everyShard = (topic: string, shards: number) => ({
      topic,
      records: Array.from({ length: shards }, (_, i) => rec('a', { partition: HEAD_SHARD_SIZE * i })),
    });
    // the same stores with the default call limits, for the partition limits
    const roomy = new SluiceLog(stores);
    const big = (n: number) => new Uint8Array(n);
    const cases: [string, () => Promise<unknown>, string][] = [
      ['empty topic name', () => log.createTopic({ name: '', partitions: 1 }), 'INVALID_TOPIC_NAME'],
      ['topic name "."', () => log.createTopic({ name: '.', partitions: 1 }), 'INVALID_TOPIC_NAME'],
      ['topic name ".."', () => log.createTopic({ name: '..', partitions: 1 }), 'INVALID_TOPIC_NAME'],
      ['topic name "__internal"', () => log.createTopic({ name: '__internal', partitions: 1 }), 'INVALID_TOPIC_NAME'],
      ['topic name with a slash', () => log.createTopic({ name: 'a/b', partitions: 1 }), 'INVALID_TOPIC_NAME'],
      [
        'topic name of 250 chars',
        () => log.createTopic({ name: 'a'.repeat(250), partitions: 1 }),
        'INVALID_TOPIC_NAME',
      ],
      ['0 partitions', () => log.createTopic({ name: 'p0', partitions: 0 }), 'INVALID_ARGUMENT'],
      ['1025 partitions', () => log.createTopic({ name: 'p1025', partitions: 1025 }), 'INVALID_ARGUMENT'],
      ['1.5 partitions', () => log.createTopic({ name: 'pfrac', partitions: 1.5 }), 'INVALID_ARGUMENT'],
      [
        'negative retention',
        () => log.createTopic({ name: 'rneg', partitions: 1, retentionMs: -1 }),
        'INVALID_ARGUMENT',
      ],
      ['no batches', () => log.append({ batches: [] }), 'INVALID_ARGUMENT'],
      // a JavaScript caller may pass anything: no entry may reach a property read unchecked
      [
        'a null record',
        () => log.append({ batches: [{ topic: 'valid', records: [null as unknown as ProduceRecord] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        'a number as record',
        () => log.append({ batches: [{ topic: 'valid', records: [7 as unknown as ProduceRecord] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        'a null batch',
        () => log.append({ batches: [null as unknown as ProduceRequest['batches'][0]] }),
        'INVALID_ARGUMENT',
      ],
      ['empty batch', () => log.append({ batches: [{ topic: 'valid', records: [] }] }), 'INVALID_ARGUMENT'],
      ['unknown topic', () => log.append({ batches: [{ topic: 'nope', records: [rec('a')] }] }), 'TOPIC_NOT_FOUND'],
      [
        'partition 64 of 64',
        () => log.append({ batches: [{ topic: 'valid', records: [rec('a', { partition: 64 })] }] }),
        'PARTITION_NOT_FOUND',
      ],
      [
        'partition -1',
        () => log.append({ batches: [{ topic: 'valid', records: [rec('a', { partition: -1 })] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        'partition 0.5',
        () => log.append({ batches: [{ topic: 'valid', records: [rec('a', { partition: 0.5 })] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        'negative timestamp',
        () => log.append({ batches: [{ topic: 'valid', records: [rec('a', { timestamp: -5 })] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        'record at limit + 1',
        () => log.append({ batches: [{ topic: 'valid', records: [{ value: big(1025) }] }] }),
        'RECORD_TOO_LARGE',
      ],
      [
        'key + value over the limit',
        () => log.append({ batches: [{ topic: 'valid', records: [{ key: big(600), value: big(425) }] }] }),
        'RECORD_TOO_LARGE',
      ],
      [
        '51 records',
        () => log.append({ batches: [{ topic: 'valid', records: Array.from({ length: 51 }, () => rec('a')) }] }),
        'REQUEST_TOO_LARGE',
      ],
      [
        'call bytes over the limit',
        () =>
          log.append({
            batches: [{ topic: 'valid', records: Array.from({ length: 5 }, () => ({ value: big(1000) })) }],
          }),
        'REQUEST_TOO_LARGE',
      ],
      [
        '65 headers',
        () =>
          log.append({
            batches: [
              {
                topic: 'valid',
                records: [rec('a', { headers: Array.from({ length: 65 }, (_, i) => [`h${i}`, null] as const) })],
              },
            ],
          }),
        'INVALID_ARGUMENT',
      ],
      [
        'empty header name',
        () => log.append({ batches: [{ topic: 'valid', records: [rec('a', { headers: [['', null]] })] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        '1,025 partitions in one call',
        () =>
          roomy.append({
            batches: [
              { topic: 'wide', records: Array.from({ length: 1024 }, (_, p) => rec('a', { partition: p })) },
              { topic: 'wide2', records: [rec('a', { partition: 0 })] },
            ],
          }),
        'TOO_MANY_PARTITIONS',
      ],
      [
        '50 head shards in one call (a transaction of 102 items)',
        () => roomy.append({ batches: [everyShard('wide', 22), everyShard('wide2', 22), everyShard('wide3', 6)] }),
        'TOO_MANY_PARTITIONS',
      ],
      [
        'bad idempotency key',
        () => log.append({ idempotencyKey: 'has space', batches: [{ topic: 'valid', records: [rec('a')] }] }),
        'INVALID_ARGUMENT',
      ],
      [
        'negative producer sequence',
        () =>
          log.append({
            producer: { producerId: 'p', sequence: -1 },
            batches: [{ topic: 'valid', records: [rec('a')] }],
          }),
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [what, call, code] of cases) {
      const e = await rejection(call());
      expect(e.code, what).toBe(code);
      expect(e.message.length, what).toBeGreaterThan(10);
    }
    // at the limits exactly: accepted
    await log.append({ batches: [{ topic: 'valid', records: [{ value: big(1024) }] }] });
    await log.append({
      batches: [{ topic: 'valid', records: Array.from({ length: 48 }, (_, p) => rec('a', { partition: p })) }],
    });
    // nothing of the rejected calls was written: one object per accepted call, 49 records in all
    expect(await objectCount(stores.objects)).toBe(2);
    expect((await log.describeTopic('valid')).offsets.reduce((n, o) => n + o.highWatermark, 0)).toBe(49);
    expect((await log.listTopics()).map((t) => t.name)).toEqual(['valid', 'wide', 'wide2', 'wide3']);
    expect((await log.describeTopic('wide')).offsets.reduce((n, o) => n + o.highWatermark, 0)).toBe(0);
  });

  it('a trim racing commits on its head shard re-reads and lands; neither undoes the other', async () => {
    const stores = await realStores();
    const log = new SluiceLog(stores);
    await log.createTopic({ name: 'busy', partitions: 2 });
    await log.append({
      batches: [{ topic: 'busy', records: [0, 1, 2, 3, 4].map((i) => rec(`a${i}`, { partition: 0 })) }],
    });
    // another producer commits to the same shard between each of the trim's reads and its write
    const other = new SluiceLog(stores);
    let n = 0;
    const raced = beforeRequests(stores.dynamo, /^Update(Item)?Command$/, 3, () =>
      other.append({ batches: [{ topic: 'busy', records: [rec(`b${n++}`, { partition: 1 })] }] }),
    );
    expect(await log.deleteRecords('busy', 0, 3)).toMatchObject({ startOffset: 3 });
    expect(raced.fired).toBe(3);
    const d = await log.describeTopic('busy');
    expect(d.offsets.map((o) => [o.startOffset, o.highWatermark])).toEqual([
      [3, 5],
      [0, 3],
    ]);
    expect((await readAll(log, 'busy', 1)).map((r) => r.value)).toEqual(['b0', 'b1', 'b2']);
    const kept = await log.fetch({ topic: 'busy', partition: 0, offset: 3 });
    expect(kept.records.map((r) => str(r.value))).toEqual(['a3', 'a4']);
  });

  it.each([1, 12, 48])('a produce call touching %i partitions is exactly one S3 PUT and one transaction', async (n) => {
    const stores = await realStores();
    const s3 = countCommands(stores.s3);
    const db = countCommands(stores.dynamo);
    const log = new SluiceLog(stores);
    await log.createTopic({ name: 'count', partitions: 48 });
    s3.clear();
    db.clear();
    await log.append({
      batches: [
        { topic: 'count', records: Array.from({ length: 2 * n }, (_, i) => rec(`v${i}`, { partition: i % n })) },
      ],
    });
    expect(s3.get('PutObjectCommand')).toBe(1);
    expect(db.get('TransactWriteItemsCommand') ?? db.get('TransactWriteCommand')).toBe(1);
    expect([...s3.keys()]).toEqual(['PutObjectCommand']);
  });
});
