/**
 * The restore procedure, as far as the local backends allow: a topic is deleted and its
 * segments garbage-collected from a versioned bucket (LocalStack S3); a copy of the table taken
 * before the mistake stands in for a point-in-time restore (DynamoDB Local has no PITR);
 * `restoreDeletedSegments` lists, then brings back, what GC deleted since then — and the
 * records read again through a Sluice over the restored table. Deleted before the point: stays deleted.
 */
import { BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { createSluice } from '../../lib/compose';
import { ensureTable } from '../../lib/local/provision';
import { runMaintenance } from '../../lib/retention/job';
import { restoreDeletedSegments } from '../../lib/retention/restore';
import { storesFromClients } from '../../lib/storage/aws';
import { SEGMENT_PREFIX } from '../../lib/storage/layout';
import { realStores } from '../support/real';
import { TEST_DAY_MS } from '../support/time';

describe('recovering deleted data (versioned bucket + restored table)', () => {
  it('brings back the segments GC deleted since a point in time, and the restored table reads them', async () => {
    const stores = await realStores();
    await stores.s3.send(
      new PutBucketVersioningCommand({ Bucket: stores.bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const clock = new ManualClock(TEST_DAY_MS);
    const core = createSluice({ ...stores, clock });
    const log = core.log;
    await log.createTopic({ name: 'early', partitions: 1 });
    await log.append({ batches: [{ topic: 'early', records: [{ value: Buffer.from('old'), partition: 0 }] }] });
    await log.createTopic({ name: 'orders', partitions: 2 });
    for (let i = 0; i < 3; i++) {
      await log.append({
        batches: [
          { topic: 'orders', records: [0, 1].map((p) => ({ value: Buffer.from(`v${i}-${p}`), partition: p })) },
        ],
      });
    }
    const job = () => runMaintenance({ ...core.maintenance }, { orphanGraceMs: 3_600_000, readGraceMs: 600_000 });
    const segments = async () => (await stores.objects.list(SEGMENT_PREFIX)).objects.length;
    expect(await segments()).toBe(4);

    // a topic deleted long before the mistake: GC'd, and not to come back
    await log.deleteTopic('early');
    await job();
    clock.advance(700_000);
    await job();
    expect(await segments()).toBe(3);
    await new Promise((r) => setTimeout(r, 1100));
    const pointInTime = Date.now();
    await new Promise((r) => setTimeout(r, 1100));

    // the table as it was at the point in time: what a PITR restore gives
    const restoredTable = `${stores.table}-restored`;
    await ensureTable(stores.dynamo, restoredTable);
    const items = (await stores.dynamo.send(new ScanCommand({ TableName: stores.table }))).Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      await stores.dynamo.send(
        new BatchWriteItemCommand({
          RequestItems: { [restoredTable]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }

    // the mistake: orders deleted, and GC runs past its read grace
    await log.deleteTopic('orders');
    await job();
    clock.advance(700_000);
    const gc = await job();
    expect(gc.gc.releasedDeleted).toBe(3);
    expect(await segments()).toBe(0);

    const restored = createSluice({
      ...storesFromClients(stores.s3, stores.dynamo, stores.bucket, restoredTable),
      clock,
    });
    const read = (p: number) => restored.log.fetch({ topic: 'orders', partition: p, offset: 0 });
    await expect(read(0)).rejects.toThrow();

    const listed = await restoreDeletedSegments(stores.objects, { sinceMs: pointInTime, apply: false });
    expect(listed).toMatchObject({ found: 3, restored: 0 });
    expect(await segments()).toBe(0);
    const progress: number[] = [];
    const applied = await restoreDeletedSegments(stores.objects, {
      sinceMs: pointInTime,
      apply: true,
      onProgress: (_found, n) => progress.push(n),
    });
    expect(applied).toMatchObject({ found: 3, restored: 3 });
    expect(progress.at(-1)).toBe(3);
    expect(await segments()).toBe(3);
    for (const p of [0, 1]) {
      expect((await read(p)).records.map((r) => Buffer.from(r.value ?? []).toString())).toEqual([
        `v0-${p}`,
        `v1-${p}`,
        `v2-${p}`,
      ]);
    }
    // nothing deleted before the point came back
    expect((await restoreDeletedSegments(stores.objects, { sinceMs: 0, apply: false })).found).toBe(1);
  });
});
