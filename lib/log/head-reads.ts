/**
 * A process's head reads for fetches, shared per head shard. One shard item holds the heads
 * of 48 partitions (lib/storage/layout.ts), so one read answers every partition of it that
 * a group member is fetching — instead of one read per partition and poll:
 *
 * - `read` (strongly consistent): a read that starts after the call, shared. A call while
 *   a read of the shard is in flight waits for the next one, which serves every call that
 *   arrived meanwhile; calls of the same turn of the event loop share the first.
 * - `waitFor` (a long-poll): one poll loop per shard while anybody waits (`SharedPoll`),
 *   eventually consistent (half the units; a stale head only delays), at pauses doubling
 *   from `fetchPollIntervalMs` to `fetchPollMaxIntervalMs` and back to the start when a
 *   poll brings news. A waiter is answered with the first head beyond its offset, or with
 *   nothing at the first poll at or after its deadline (so at most one pause late) — the
 *   waiters of a shard therefore wake together, and their next strong reads are one.
 */
import type { Clock } from '../clock';
import { type Deferred, deferred } from '../concurrency';
import type { LogSettings } from '../settings';
import { SharedPoll } from '../shared-poll';
import { headShard } from '../storage/layout';
import type { LogMetadataStore, PartitionHead } from '../storage/ports';

type Heads = Map<number, PartitionHead>;

/** A strong read not yet sent: whoever asks before it is sent is answered by it. */
interface PendingRead extends Deferred<Heads> {
  readonly partitions: Set<number>;
}

interface ShardState {
  readonly topicId: string;
  readonly ref: string;
  inflight: boolean;
  next?: PendingRead;
  readonly poll: SharedPoll<PartitionHead>;
}

/** Shared head reads of one process (built once per `SluiceLog`). */
export class HeadReads {
  private readonly shards = new Map<string, ShardState>();

  constructor(
    private readonly metadata: Pick<LogMetadataStore, 'getHeads'>,
    private readonly clock: Clock,
    private readonly settings: Pick<LogSettings, 'fetchPollIntervalMs' | 'fetchPollMaxIntervalMs'>,
  ) {}

  /** The partition's head, read strongly consistent after this call was made. */
  async read(topicId: string, partition: number): Promise<PartitionHead> {
    const st = this.state(topicId, partition);
    let pending = st.next;
    if (!pending) {
      pending = { ...deferred<Heads>(), partitions: new Set<number>() };
      st.next = pending;
      // sent at the end of this turn, or when the read in flight is back
      if (!st.inflight) setImmediate(() => this.send(st));
    }
    pending.partitions.add(partition);
    return (await pending.promise).get(partition) as PartitionHead;
  }

  /**
   * Waits until a poll sees the partition's head beyond `offset` (answers that head), or
   * until the deadline or the signal (answers undefined).
   */
  waitFor(
    topicId: string,
    partition: number,
    offset: number,
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<PartitionHead | undefined> {
    return this.state(topicId, partition).poll.waitFor(partition, offset, deadlineMs, signal);
  }

  private state(topicId: string, partition: number): ShardState {
    const ref = `${topicId}#${headShard(partition)}`;
    let st = this.shards.get(ref);
    if (!st) {
      const poll = new SharedPoll<PartitionHead>(
        this.clock,
        (partitions) => this.heads(topicId, partitions, false),
        (head, offset) => head.nextOffset > offset,
        { firstPauseMs: this.settings.fetchPollIntervalMs, maxPauseMs: this.settings.fetchPollMaxIntervalMs },
        () => this.forget(created),
      );
      const created: ShardState = { topicId, ref, inflight: false, poll };
      st = created;
      this.shards.set(ref, st);
    }
    return st;
  }

  private send(st: ShardState): void {
    const pending = st.next;
    if (!pending || st.inflight) return;
    st.next = undefined;
    st.inflight = true;
    this.heads(st.topicId, [...pending.partitions], true)
      .then(pending.resolve, pending.reject)
      .finally(() => {
        st.inflight = false;
        // the calls that came while this read was in flight share the next one
        if (st.next) this.send(st);
        else this.forget(st);
      });
  }

  /** One read of the heads of `partitions` (of one shard: one item), by partition. */
  private async heads(topicId: string, partitions: number[], consistent: boolean): Promise<Heads> {
    const heads = await this.metadata.getHeads(topicId, partitions, consistent);
    return new Map(partitions.map((p, i) => [p, heads[i] as PartitionHead]));
  }

  private forget(st: ShardState): void {
    if (this.shards.get(st.ref) === st && !st.poll.busy && !st.inflight && !st.next) {
      this.shards.delete(st.ref);
    }
  }
}
