import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { RetriableError } from '../../lib/errors';
import { SeededRandom } from '../../lib/ids';
import { SluiceLog } from '../../lib/log/log';
import { runMaintenance } from '../../lib/retention/job';
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
    await log.createTopic({ name: 'flaky', partitions: 2, retentionMs: 1000 });
    for (let i = 0; i < 3; i++) {
      await log.append({
        batches: [{ topic: 'flaky', records: [rec(`a${i}`, { partition: 0 }), rec(`b${i}`, { partition: 1 })] }],
      });
    }
    await clock.advance(2000);
    let failOnce = true;
    const flaky: typeof metadata = Object.create(metadata, {
      advanceStartOffset: {
        value: async (...args: Parameters<typeof metadata.advanceStartOffset>) => {
          if (failOnce && args[1] === 0) {
            failOnce = false;
            throw new RetriableError('THROTTLED', 'injected');
          }
          return metadata.advanceStartOffset(...args);
        },
      },
    });
    const job = () =>
      runMaintenance(
        { objects, metadata: flaky, clock, random: new SeededRandom(1) },
        { compaction: false, gcIntervalMs: 0 },
      );
    const first = await job();
    expect(first).toMatchObject({ failures: 1, offsetsRemoved: 3, complete: false });
    expect((await log.describeTopic('flaky')).offsets.map((o) => o.startOffset)).toEqual([0, 3]);
    const second = await job();
    expect(second).toMatchObject({ failures: 0, offsetsRemoved: 3, complete: true });
    expect((await log.describeTopic('flaky')).offsets.map((o) => o.startOffset)).toEqual([3, 3]);
  });
});
