/**
 * `npm start`'s trigger of push subscriptions: reads the table's stream on DynamoDB Local
 * (what a Lambda event-source mapping does on AWS) and hands each batch of records over.
 * It follows the stream's shards as they close and split; it starts at the stream's newest
 * records (what was produced before it started is found by kicking every subscription once).
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { systemClock } from '../clock';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './clients';

export interface StreamPollerOptions {
  /** Pause between reads of a shard that had nothing. @default 250 */
  readonly idleMs?: number;
  /** How often the stream is described again for new shards. @default 10_000 */
  readonly describeMs?: number;
  /** Told about a read that failed (it is tried again). */
  readonly onError?: (e: unknown) => void;
}

/** Reads a table's stream until stopped. */
export class StreamPoller {
  private readonly streams: DynamoDBStreamsClient;
  private readonly iterators = new Map<string, string>();
  private readonly seen = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly wake = new AbortController();

  constructor(
    endpoint: string,
    private readonly db: DynamoDBClient,
    private readonly table: string,
    private readonly onRecords: (records: _Record[]) => void | Promise<void>,
    private readonly options: StreamPollerOptions = {},
  ) {
    this.streams = new DynamoDBStreamsClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  }

  /** Finds the stream and its open shards (at their newest record), then reads in the background. */
  async start(): Promise<void> {
    const arn = await this.streamArn();
    await this.discover(arn, 'LATEST');
    this.loop = this.run(arn);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.loop;
    this.streams.destroy();
  }

  private async streamArn(): Promise<string> {
    const d = await this.db.send(new DescribeTableCommand({ TableName: this.table }));
    const arn = d.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${this.table} has no stream (ensureTable with { stream: true } adds it)`);
    return arn;
  }

  /** Adds an iterator for every shard not seen yet (new ones are read from their start). */
  private async discover(arn: string, at: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    let start: string | undefined;
    do {
      const d = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
      );
      for (const s of d.StreamDescription?.Shards ?? []) {
        const id = s.ShardId as string;
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        if (at === 'LATEST' && s.SequenceNumberRange?.EndingSequenceNumber) continue; // closed before we started
        const it = await this.streams.send(
          new GetShardIteratorCommand({ StreamArn: arn, ShardId: id, ShardIteratorType: at }),
        );
        if (it.ShardIterator) this.iterators.set(id, it.ShardIterator);
      }
      start = d.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  private async run(arn: string): Promise<void> {
    let described = systemClock.nowMs();
    while (!this.stopped) {
      let got = 0;
      try {
        if (systemClock.nowMs() - described > (this.options.describeMs ?? 10_000) || this.iterators.size === 0) {
          await this.discover(arn, 'TRIM_HORIZON');
          described = systemClock.nowMs();
        }
        for (const [shard, iterator] of [...this.iterators]) {
          if (this.stopped) break;
          const r = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          if (r.NextShardIterator) this.iterators.set(shard, r.NextShardIterator);
          else {
            this.iterators.delete(shard); // closed: its children are found by the next describe
            described = 0;
          }
          if (r.Records?.length) {
            got += r.Records.length;
            await this.onRecords(r.Records);
          }
        }
      } catch (e) {
        if (e instanceof ExpiredIteratorException) {
          this.iterators.clear();
          this.seen.clear();
          await this.discover(arn, 'LATEST').catch(() => undefined);
        } else this.options.onError?.(e);
      }
      if (got === 0 && !this.stopped) {
        await systemClock.sleep(this.options.idleMs ?? 250, this.wake.signal);
      }
    }
  }
}
