/**
 * The producer's accumulator, on simulated time: a transport whose calls take a fixed time
 * (like a PUT + a commit on AWS) and a clock that only moves when the test moves it. Sends
 * are offered open loop (at a fixed rate, never awaited one by one), as a service does.
 */
import { describe, expect, it } from 'vitest';
import { type Message, Producer, type ProducerOptions } from '../../lib/client/producer';
import { Sluice } from '../../lib/client/sluice';
import type { Transport } from '../../lib/client/transport';
import { ManualClock } from '../../lib/clock';
import { RetriableError, type SluiceError } from '../../lib/errors';
import { SeededRandom } from '../../lib/ids';
import type { ProduceRequest, ProduceResult } from '../../lib/log/produce';
import { produceLimits } from '../../lib/records/validate';
import { DEFAULT_LOG_SETTINGS } from '../../lib/settings';
import { HEAD_SHARD_SIZE } from '../../lib/storage/layout';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

/** A log that answers every produce call after `callMs` of simulated time. */
class SlowLog {
  readonly calls: { records: number; partitions: number; startedMs: number }[] = [];
  private readonly next = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  /** While set, calls do not return (a stalled backend). */
  stalled: Promise<void> | undefined;
  failNext = 0;

  constructor(
    private readonly clock: ManualClock,
    private readonly callMs: number,
    readonly partitions = 12,
  ) {}

  transport(): Transport {
    return {
      describeTopic: async () => ({ name: 't', partitions: this.partitions }),
      limits: async () => produceLimits(DEFAULT_LOG_SETTINGS),
      produce: (req: ProduceRequest) => this.produce(req),
    } as unknown as Transport;
  }

  private async produce(req: ProduceRequest): Promise<ProduceResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const startedMs = this.clock.nowMs();
      await this.clock.sleep(this.callMs);
      if (this.stalled) await this.stalled;
      if (this.failNext > 0) {
        this.failNext--;
        throw new RetriableError('UNAVAILABLE', 'injected');
      }
      const parts = new Set<string>();
      const batches = req.batches.map((b) => ({
        topic: b.topic,
        offsets: b.records.map((r) => {
          const ref = `${b.topic}#${r.partition}`;
          parts.add(ref);
          const offset = this.next.get(ref) ?? 0;
          this.next.set(ref, offset + 1);
          return { partition: r.partition as number, offset };
        }),
      }));
      this.calls.push({
        records: req.batches.reduce((n, b) => n + b.records.length, 0),
        partitions: parts.size,
        startedMs,
      });
      return { batches, duplicate: false };
    } finally {
      this.inFlight--;
    }
  }
}

/** Moves the clock in 1 ms steps, letting promises run between steps. */
async function runFor(clock: ManualClock, ms: number, each?: (t: number) => void): Promise<void> {
  for (let t = 0; t < ms; t++) {
    each?.(t);
    await clock.advance(1);
  }
}

/**
 * Offers `ratePerS` single keyed 1 KiB messages per second for `seconds`, open loop, then
 * reports what was acknowledged during the run and at what latency (simulated ms).
 */
async function openLoop(options: ProducerOptions, ratePerS: number, seconds: number, callMs = 100) {
  const clock = new ManualClock();
  const log = new SlowLog(clock, callMs);
  const producer = new Producer(log.transport(), options, clock, new SeededRandom(1));
  const latencies: number[] = [];
  let offered = 0;
  const value = 'x'.repeat(1024);
  const everyMs = 1000 / ratePerS;
  await runFor(clock, seconds * 1000, (t) => {
    while (offered * everyMs <= t) {
      const sentAt = clock.nowMs();
      const m: Message = { key: `key-${offered % 10_000}`, value };
      offered++;
      void producer.send({ topic: 't', messages: [m] }).then(() => latencies.push(clock.nowMs() - sentAt));
    }
  });
  const acked = latencies.length;
  latencies.sort((a, b) => a - b);
  const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? Infinity;
  return {
    offered,
    acked,
    p50: q(0.5),
    p99: q(0.99),
    recordsPerCall: log.calls.reduce((n, c) => n + c.records, 0) / Math.max(1, log.calls.length),
    log,
  };
}

describe('producer accumulator', () => {
  it.each([
    [200, 5],
    [500, 5],
    [2000, 5],
    [500, 250],
  ])(
    'open loop at %i sends/s (lingerMs %i, calls of 100 ms): keeps up, latency near linger + call',
    async (rate, lingerMs) => {
      const r = await openLoop({ lingerMs }, rate, 4);
      // everything offered up to the last linger + two calls is acknowledged within the run
      expect(r.acked).toBeGreaterThanOrEqual(r.offered - Math.ceil((rate * (lingerMs + 200)) / 1000));
      expect(r.p99).toBeLessThanOrEqual(lingerMs + 2 * 100 + 5);
      // sends that arrive during a call join the next one: calls grow with the load
      expect(r.recordsPerCall).toBeGreaterThanOrEqual((rate * Math.max(lingerMs, 100)) / 1000 / 2);
      // idempotent: one call at a time, in order
      expect(r.log.maxInFlight).toBe(1);
    },
  );

  it('a call in flight does not stop the next batch from filling; it leaves as soon as the call returns', async () => {
    const clock = new ManualClock();
    const log = new SlowLog(clock, 100);
    const producer = new Producer(log.transport(), { lingerMs: 5 }, clock, new SeededRandom(1));
    const first = producer.send({ topic: 't', messages: [{ key: 'a', value: '1' }] });
    await runFor(clock, 10); // the first call leaves after its linger
    // one send every 2 ms while the first call is in flight
    const during: Promise<unknown>[] = [];
    await runFor(clock, 100, (t) => {
      if (t % 2 === 0 && t < 90) during.push(producer.send({ topic: 't', messages: [{ key: `k${t}`, value: 'v' }] }));
    });
    await first;
    await runFor(clock, 110);
    await Promise.all(during);
    expect(log.calls.map((c) => c.records)).toEqual([1, 45]);
    // the second left when the first returned (its messages had lingered long enough)
    expect((log.calls[1]?.startedMs ?? 0) - (log.calls[0]?.startedMs ?? 0)).toBeLessThanOrEqual(101);
  });

  it('splits at one call’s limits (maxPartitionsPerCall, maxBatchBytes) and keeps every partition’s order', async () => {
    const clock = new ManualClock();
    const limit = DEFAULT_LOG_SETTINGS.maxPartitionsPerCall;
    const partitions = limit + 44;
    const log = new SlowLog(clock, 10, partitions);
    const producer = new Producer(
      log.transport(),
      { lingerMs: 1, maxBatchBytes: 512 * 1024 },
      clock,
      new SeededRandom(1),
    );
    const sends = Array.from({ length: 2 * partitions }, (_, i) =>
      producer.send({ topic: 't', messages: [{ partition: i % partitions, value: `${i}-${'y'.repeat(300)}` }] }),
    );
    await runFor(clock, 4000);
    const acks = (await Promise.all(sends)).map((a) => a[0]);
    for (const c of log.calls) expect(c.partitions).toBeLessThanOrEqual(limit);
    expect(Math.max(...log.calls.map((c) => c.partitions))).toBeGreaterThan(256);
    // per partition, offsets follow the send order
    for (let p = 0; p < partitions; p++) {
      const offsets = acks.filter((a) => a?.partition === p).map((a) => a?.offset);
      expect(offsets).toEqual([0, 1]);
    }
    // each call filled up to a limit before another was needed
    expect(log.calls.length).toBeLessThanOrEqual(
      Math.ceil(partitions / limit) + Math.ceil((2 * partitions * 310) / (512 * 1024)) + 1,
    );
  });

  it('bounds the bytes it holds: a send waits for room, then fails clearly after maxBlockMs with nothing queued', async () => {
    const clock = new ManualClock();
    const log = new SlowLog(clock, 10);
    let release!: () => void;
    log.stalled = new Promise((r) => {
      release = r;
    });
    const producer = new Producer(
      log.transport(),
      { lingerMs: 0, maxBatchBytes: 8 * 1024, maxBufferedBytes: 16 * 1024, maxBlockMs: 500 },
      clock,
      new SeededRandom(1),
    );
    const kib = 'z'.repeat(1024);
    const admitted: Promise<unknown>[] = [];
    for (let i = 0; i < 16; i++)
      admitted.push(producer.send({ topic: 't', messages: [{ partition: i % 12, value: kib }] }));
    await runFor(clock, 20);
    expect(producer.bufferedBytesNow).toBe(16 * 1024);
    // the buffer is full: the next send waits ...
    let outcome: string | undefined;
    const blocked = producer
      .send({ topic: 't', messages: [{ partition: 0, value: kib }] })
      .then(() => {
        outcome = 'sent';
      })
      .catch((e: SluiceError) => {
        outcome = e.code;
      });
    await runFor(clock, 400);
    expect(outcome).toBeUndefined();
    // ... and fails after maxBlockMs, retriable, nothing of it queued
    await runFor(clock, 150);
    await blocked;
    expect(outcome).toBe('PRODUCER_BUFFER_FULL');
    expect(producer.bufferedBytesNow).toBe(16 * 1024);
    // once the log acknowledges, room frees and sends are admitted again
    release();
    log.stalled = undefined;
    await runFor(clock, 100);
    await Promise.all(admitted);
    expect(producer.bufferedBytesNow).toBe(0);
    const after = producer.send({ topic: 't', messages: [{ key: 'after', value: kib }] });
    await runFor(clock, 50);
    await after;
    // a send larger than the whole buffer can never fit: refused at once
    await expect(
      producer.send({ topic: 't', messages: Array.from({ length: 17 }, () => ({ value: kib })) }),
    ).rejects.toMatchObject({ code: 'REQUEST_TOO_LARGE' });
  });

  it('a waiting send is admitted as soon as an acknowledgement frees room, in call order', async () => {
    const clock = new ManualClock();
    const log = new SlowLog(clock, 50);
    const producer = new Producer(
      log.transport(),
      { lingerMs: 0, maxBatchBytes: 4 * 1024, maxBufferedBytes: 4 * 1024 },
      clock,
      new SeededRandom(1),
    );
    const kib = 'z'.repeat(1020);
    const order: number[] = [];
    const sends = Array.from({ length: 12 }, (_, i) =>
      producer.send({ topic: 't', messages: [{ partition: 0, value: kib }] }).then((r) => {
        order.push(i);
        return r[0]?.offset;
      }),
    );
    await runFor(clock, 1000);
    expect(await Promise.all(sends)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(order).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('flush sends at once without waiting for the linger; close flushes and then refuses sends', async () => {
    const clock = new ManualClock();
    const log = new SlowLog(clock, 20);
    const producer = new Producer(log.transport(), { lingerMs: 60_000 }, clock, new SeededRandom(1));
    const sent = producer.send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] });
    await runFor(clock, 5);
    expect(log.calls).toEqual([]);
    const flushed = producer.flush();
    await runFor(clock, 30);
    await flushed;
    expect((await sent).length).toBe(2);
    const last = producer.send({ topic: 't', messages: [{ value: 'c' }] });
    const closed = producer.close();
    await runFor(clock, 30);
    await closed;
    await last;
    expect(log.calls.map((c) => c.records)).toEqual([2, 1]);
    await expect(producer.send({ topic: 't', messages: [{ value: 'd' }] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('keeps filling while a call is being retried, and sends the rest in order after it', async () => {
    const clock = new ManualClock();
    const log = new SlowLog(clock, 20);
    log.failNext = 2;
    const producer = new Producer(
      log.transport(),
      { lingerMs: 5, initialRetryMs: 50, maxRetryMs: 50 },
      clock,
      new SeededRandom(3),
    );
    const first = producer.send({ topic: 't', messages: [{ partition: 0, value: 'first' }] });
    await runFor(clock, 10);
    const more = Array.from({ length: 30 }, () =>
      producer.send({ topic: 't', messages: [{ partition: 0, value: 'm' }] }),
    );
    await runFor(clock, 500);
    expect((await first)[0]?.offset).toBe(0);
    expect((await Promise.all(more)).map((r) => r[0]?.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(log.calls.map((c) => c.records)).toEqual([1, 30]);
  });

  it('puts a flush over 288 partitions in one call, and splits only where the commit would exceed 100 items', async () => {
    const clock = new ManualClock();
    const log = new SlowLog(clock, 20, 60 * HEAD_SHARD_SIZE);
    const producer = new Producer(log.transport(), { lingerMs: 10 }, clock, new SeededRandom(2));
    // 288 contiguous partitions: 6 head shards, one call
    const wide = Array.from({ length: 288 }, (_, p) =>
      producer.send({ topic: 't', messages: [{ value: 'w', partition: p }] }),
    );
    await runFor(clock, 200);
    await Promise.all(wide);
    expect(log.calls.map((c) => c.partitions)).toEqual([288]);
    // one partition in each of 60 head shards: 49 shards fit one transaction (2 × 49 + 2 items)
    // (a topic this wide: 2,880 partitions)
    log.calls.length = 0;
    const sparse = Array.from({ length: 60 }, (_, i) =>
      producer.send({ topic: 't', messages: [{ value: 's', partition: HEAD_SHARD_SIZE * i }] }),
    );
    await runFor(clock, 200);
    await Promise.all(sparse);
    expect(log.calls.map((c) => c.partitions)).toEqual([49, 11]);
    await producer.close();
  });

  it('checks sends against the limits the server reports, not the defaults', async () => {
    const sluice = new Sluice({
      stores: { objects: new MemoryObjectStore(), metadata: new MemoryLogMetadataStore() },
      settings: { maxRecordBytes: 100, maxHeadersPerRecord: 1, maxPartitionsPerCall: 2 },
    });
    await sluice.admin().createTopics({ topics: [{ name: 'small', partitions: 6 }] });
    const producer = sluice.producer({ lingerMs: 0 });
    await expect(producer.send({ topic: 'small', messages: [{ value: 'x'.repeat(101) }] })).rejects.toMatchObject({
      code: 'RECORD_TOO_LARGE',
      details: { limit: 100 },
    });
    await expect(
      producer.send({ topic: 'small', messages: [{ value: 'x', headers: { a: '1', b: '2' } }] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // a flush over 6 partitions is split into calls of at most 2 partitions, as the server requires
    const acks = await Promise.all(
      Array.from({ length: 6 }, (_, p) => producer.send({ topic: 'small', messages: [{ value: 'ok', partition: p }] })),
    );
    expect(acks.map((a) => a[0]?.offset)).toEqual([0, 0, 0, 0, 0, 0]);
    await producer.close();
  });
});
