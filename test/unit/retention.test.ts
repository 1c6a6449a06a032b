import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { RetriableError } from '../../lib/errors';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import { runMaintenance } from '../../lib/retention/job';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { rec } from '../support/log-suite';
import { retentionSuite } from '../support/retention-suite';
import { TEST_DAY_MS } from '../support/time';

retentionSuite('in-memory fakes', async () => ({
  objects: new MemoryObjectStore(),
  metadata: new MemoryLogMetadataStore(),
  groups: new MemoryGroupStore(),
}));

describe('maintenance job under failures', () => {
  it('skips a unit that fails with a retriable error, finishes the rest, and does it on the next run', async () => {
    const objects = new MemoryObjectStore();
    const metadata = new MemoryLogMetadataStore();
    const clock = new ManualClock(TEST_DAY_MS);
    const log = new SluiceLog({ objects, metadata, clock });
    await log.createTopic({ name: 'flaky', partitions: HEAD_SHARD_SIZE + 1, retentionMs: 1000 });
    for (let i = 0; i < 3; i++) {
      await log.append({
        batches: [
          { topic: 'flaky', records: [rec(`a${i}`, { partition: 0 }), rec(`b${i}`, { partition: HEAD_SHARD_SIZE })] },
        ],
      });
    }
    await clock.advance(2000);
    let failOnce = true;
    const flaky: typeof metadata = Object.create(metadata, {
      advanceStartOffsets: {
        value: async (...args: Parameters<typeof metadata.advanceStartOffsets>) => {
          if (failOnce && args[1][0]?.partition === 0) {
            failOnce = false;
            throw new RetriableError('THROTTLED', 'injected');
          }
          return metadata.advanceStartOffsets(...args);
        },
      },
    });
    const job = () => runMaintenance({ objects, metadata: flaky, clock, random: new SeededRandom(1) }, {});
    const first = await job();
    expect(first).toMatchObject({ failures: 1, offsetsRemoved: 3, complete: false });
    // the unit is a head shard (partitions 0–47); the other shard (48) is done
    const starts = async () => (await log.describeTopic('flaky')).offsets.map((o) => o.startOffset);
    expect([(await starts())[0], (await starts())[HEAD_SHARD_SIZE]]).toEqual([0, 3]);
    const second = await job();
    expect(second).toMatchObject({ failures: 0, offsetsRemoved: 3, complete: true });
    expect([(await starts())[0], (await starts())[HEAD_SHARD_SIZE]]).toEqual([3, 3]);
  });
});

describe('retention and append times', () => {
  it('removes only a leading run of old chunks, even when append times are not in offset order', async () => {
    // a commit attempt that started first can land second: append times follow attempts
    const objects = new MemoryObjectStore();
    const metadata = new MemoryLogMetadataStore();
    const clock = new ManualClock(TEST_DAY_MS);
    const late = new SluiceLog({
      objects,
      metadata,
      clock: { nowMs: () => clock.nowMs() + 5_000, sleep: (ms) => clock.sleep(ms) },
    });
    const log = new SluiceLog({ objects, metadata, clock });
    await log.createTopic({ name: 'times', partitions: 1, retentionMs: 60_000 });
    await late.append({ batches: [{ topic: 'times', records: [rec('first, appended at +5 s')] }] });
    await log.append({ batches: [{ topic: 'times', records: [rec('second, appended at +0 s')] }] });
    const job = () => runMaintenance({ objects, metadata, clock, random: new SeededRandom(1) });
    // 62 s after the second append, 57 s after the first: the first is not old enough, and
    // the second, though old enough, sits behind it
    await clock.advance(62_000);
    expect((await job()).offsetsRemoved).toBe(0);
    await clock.advance(4_000);
    expect(await job()).toMatchObject({ offsetsRemoved: 2, callsReleased: 2 });
  });
});
