/**
 * Fetch (ARCHITECTURE §5): strongly consistent head read → long-poll while at the high
 * watermark → the partition's chunks in its shard's call items (lib/storage/call-index.ts),
 * bounded by the high watermark → Range GET of only the needed
 * chunks (coalesced per object, immutable bytes cached) → CRC check → decode → return a
 * contiguous run of offsets starting exactly at the requested one. Never skips.
 */
import { deferred, mapLimit } from '../concurrency';
import { CorruptDataError, InvalidArgumentError, OffsetOutOfRangeError } from '../errors';
import { decodeChunk } from '../records/segment-codec';
import { type LogRecord, recordSizeBytes } from '../records/types';
import { type IndexEntry, type PartitionHead, partitionRef } from '../storage/ports';
import { ChunkCache } from './chunk-cache';
import type { LogContext } from './context';

/** A fetch of one partition from an offset. */
export interface FetchRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** @default 500 */
  readonly maxRecords?: number;
  /** @default 1 MiB; the first record is returned even if larger. */
  readonly maxBytes?: number;
  /** Long-poll up to this long when `offset` is the high watermark. @default 0 */
  readonly waitMs?: number;
  /** Cancels a long-poll early (the fetch then returns what it has: nothing). */
  readonly signal?: AbortSignal;
}

/** Records `[offset, nextOffset)` and the partition's bounds at read time. */
export interface FetchResult {
  readonly records: LogRecord[];
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly startOffset: number;
}

/** Bytes actually read from the object store by this process (for read amplification). */
export interface FetchStats {
  bytesFetched: number;
  rangeGets: number;
  cacheHits: number;
}

const DEFAULT_MAX_RECORDS = 500;
const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Reads records of one partition starting exactly at `req.offset`. */
export function fetchRecords(ctx: LogContext, req: FetchRequest, stats?: FetchStats): Promise<FetchResult> {
  return fetchOnce(ctx, req, stats, true);
}

async function fetchOnce(
  ctx: LogContext,
  req: FetchRequest,
  stats: FetchStats | undefined,
  mayRetry: boolean,
): Promise<FetchResult> {
  // a reader whose object vanished between the index read and the GET re-reads the head
  // and the index, once: retention moved past it (OFFSET_OUT_OF_RANGE), or it is corruption
  const retry = mayRetry ? () => fetchOnce(ctx, { ...req, waitMs: 0 }, stats, false) : undefined;
  const s = ctx.settings;
  const maxRecords = req.maxRecords ?? Math.min(DEFAULT_MAX_RECORDS, s.maxFetchRecords);
  const maxBytes = req.maxBytes ?? Math.min(DEFAULT_MAX_BYTES, s.maxFetchBytes);
  const waitMs = req.waitMs ?? 0;
  checkInt('offset', req.offset, 0, Number.MAX_SAFE_INTEGER);
  checkInt('maxRecords', maxRecords, 1, s.maxFetchRecords);
  checkInt('maxBytes', maxBytes, 1, s.maxFetchBytes);
  checkInt('waitMs', waitMs, 0, s.maxFetchWaitMs);
  const topic = await ctx.topics.getWithPartition(req.topic, req.partition);
  noteReader(ctx, partitionRef(topic.topicId, req.partition));

  // The first read is strong, so a fetch sees every commit that finished before it. A
  // long-poll then waits on the shard's shared poll (eventually consistent: a stale answer
  // can only be older — no news, keep waiting; a start offset too low is caught where the
  // index entries turn out to be gone, and retentionRace reads the head strongly).
  let head = await ctx.headReads.read(topic.topicId, req.partition);
  if (req.offset === head.nextOffset && waitMs > 0 && !req.signal?.aborted) {
    const deadline = ctx.clock.nowMs() + waitMs;
    const seen = await ctx.headReads.waitFor(topic.topicId, req.partition, req.offset, deadline, req.signal);
    if (seen) head = seen;
  }
  outOfRangeCheck(req.offset, head);
  const bounds = { highWatermark: head.nextOffset, startOffset: head.startOffset };
  if (req.offset === head.nextOffset) return { records: [], nextOffset: req.offset, ...bounds };

  // Entries covering [offset, hwm): bounded by the HWM we read, so a commit racing this
  // read can never make us return offsets beyond what we report as committed.
  const entries = await selectEntries(
    ctx,
    topic.topicId,
    req.partition,
    req.offset,
    head.nextOffset - 1,
    maxRecords,
    maxBytes,
  );
  if (entries.length === 0 || (entries[0] as IndexEntry).baseOffset > req.offset) {
    return retentionRace(ctx, topic.topicId, req, 'its index entry is gone', retry);
  }
  const chunks = await readChunks(ctx, entries, stats);
  const records: LogRecord[] = [];
  let bytes = 0;
  let expected = req.offset;
  for (let i = 0; i < entries.length; i++) {
    const bytesOfChunk = chunks[i];
    const entry = entries[i] as IndexEntry;
    if (!bytesOfChunk) {
      if (records.length > 0) break; // return the contiguous run we have
      return retentionRace(ctx, topic.topicId, req, `segment ${entry.segmentKey} is gone`, retry);
    }
    const decoded = decodeChunk(bytesOfChunk, entry.baseOffset);
    // only bytes that passed the CRC check are cached; a corrupted body never is
    ctx.chunks.set(ChunkCache.key(entry.segmentKey, entry.byteOffset, entry.byteLength), bytesOfChunk);
    if (
      decoded.header.topicId !== topic.topicId ||
      decoded.header.partition !== req.partition ||
      decoded.header.recordCount !== entry.lastOffset - entry.baseOffset + 1
    ) {
      throw new CorruptDataError(`chunk at ${entry.segmentKey}@${entry.byteOffset} does not match its index entry`);
    }
    for (const r of decoded.records) {
      if (r.offset < expected) continue;
      if (r.offset !== expected) throw new CorruptDataError(`offset ${expected} missing from ${entry.segmentKey}`);
      const size = recordSizeBytes(r);
      if (records.length > 0 && (records.length >= maxRecords || bytes + size > maxBytes)) {
        return { records, nextOffset: expected, ...bounds };
      }
      records.push(r);
      bytes += size;
      expected++;
    }
  }
  return { records, nextOffset: expected, ...bounds };
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} ${v} must be an integer in [${min}, ${max}]`);
  }
}

function outOfRangeCheck(offset: number, head: PartitionHead): void {
  if (offset < head.startOffset) {
    throw new OffsetOutOfRangeError(offset, head.startOffset, head.nextOffset, 'below the start offset');
  }
  if (offset > head.nextOffset) {
    throw new OffsetOutOfRangeError(offset, head.startOffset, head.nextOffset, 'beyond the high watermark');
  }
}

/**
 * Data vanished between the index read and the GET. If retention moved the start offset
 * past us it is OFFSET_OUT_OF_RANGE; otherwise the index is read again once (a stale cached
 * call item, say); after that it is corruption, never a silent gap.
 */
async function retentionRace(
  ctx: LogContext,
  topicId: string,
  req: FetchRequest,
  what: string,
  retry: (() => Promise<FetchResult>) | undefined,
): Promise<FetchResult> {
  const head = await ctx.headReads.read(topicId, req.partition);
  if (req.offset < head.startOffset) {
    throw new OffsetOutOfRangeError(req.offset, head.startOffset, head.nextOffset, `retention removed it (${what})`);
  }
  if (retry) return retry();
  throw new CorruptDataError(`offset ${req.offset} of ${req.topic}/${req.partition} is unreadable: ${what}`);
}

/** Index entries from the one holding `from`, enough to cover the record and byte budget. */
async function selectEntries(
  ctx: LogContext,
  topicId: string,
  partition: number,
  from: number,
  to: number,
  maxRecords: number,
  maxBytes: number,
): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  let records = 0;
  let bytes = 0;
  let cursor = from;
  while (cursor <= to) {
    const page = await ctx.metadata.queryIndex(topicId, partition, cursor, to, 25);
    if (page.length === 0) break;
    for (const e of page) {
      // a gap between two pages: retention released the call items between them while this
      // read ran (its start offset moved past them). The run read so far is whole; the next
      // fetch, from the gap, finds its entry gone and gets OFFSET_OUT_OF_RANGE with the new
      // start — or, if the start did not move, re-reads the index and then reports corruption
      if (out.length > 0 && e.baseOffset !== (out[out.length - 1] as IndexEntry).lastOffset + 1) return out;
      out.push(e);
      records += e.lastOffset - Math.max(e.baseOffset, from) + 1;
      bytes += e.byteLength;
      if (records >= maxRecords || bytes >= maxBytes) return out;
    }
    cursor = (page[page.length - 1] as IndexEntry).lastOffset + 1;
  }
  return out;
}

/** How long a partition counts as one this process reads (for read-ahead). */
const READER_WINDOW_MS = 60_000;

/** Records that this process reads a partition (forgetting ones it stopped reading). */
function noteReader(ctx: LogContext, ref: string): void {
  const now = ctx.clock.nowMs();
  ctx.readers.delete(ref); // re-inserted last: the map stays in order of last read
  ctx.readers.set(ref, now);
  for (const [k, at] of ctx.readers) {
    if (at >= now - READER_WINDOW_MS) break;
    ctx.readers.delete(k);
  }
}

type Part = { i: number; e: IndexEntry };

/**
 * Range-GETs the chunks of `entries` (undefined where the object is gone), coalescing
 * chunks of one object that lie close together into one GET. Cache hits come from
 * `ctx.chunks`; the caller caches a chunk only after it decoded (CRC-checked) it.
 *
 * Read-ahead: a produce call writes the chunks of many partitions into one object, and a
 * group member reads several of them. A GET therefore also takes the chunks of the same
 * object that belong to other partitions this process has read in the last minute (as far
 * as `coalesceGapBytes` allows), CRC-checks them and caches them, so the member's fetch of
 * those partitions finds them without a GET of its own; a fetch that wants a chunk a GET in
 * flight is bringing waits for it. One GET per object and member instead of one per chunk.
 */
async function readChunks(
  ctx: LogContext,
  entries: IndexEntry[],
  stats?: FetchStats,
): Promise<(Uint8Array | undefined)[]> {
  const key = (e: IndexEntry) => ChunkCache.key(e.segmentKey, e.byteOffset, e.byteLength);
  // everything up to the GETs runs without an await, so concurrent fetches of this process
  // see each other's GETs in flight
  const out: (Uint8Array | undefined)[] = new Array(entries.length);
  const wanted: Part[] = [];
  const waits: { i: number; e: IndexEntry; landed: Promise<void> }[] = [];
  entries.forEach((e, i) => {
    const hit = ctx.chunks.get(key(e));
    const landed = ctx.inflight.get(key(e));
    if (hit) {
      out[i] = hit;
      if (stats) stats.cacheHits++;
    } else if (landed) waits.push({ i, e, landed });
    else wanted.push({ i, e });
  });
  // group by object, with the read-ahead candidates (i = −1)
  const now = ctx.clock.nowMs();
  const byObject = new Map<string, Part[]>();
  for (const w of wanted) {
    const list = byObject.get(w.e.segmentKey) ?? [];
    list.push(w);
    byObject.set(w.e.segmentKey, list);
  }
  for (const [segmentKey, list] of byObject) {
    const taken = new Set(list.map((w) => w.e.byteOffset));
    for (const e of ctx.metadata.cachedChunksOf(segmentKey)) {
      const read = ctx.readers.get(partitionRef(e.topicId, e.partition));
      if (read === undefined || read < now - READER_WINDOW_MS || taken.has(e.byteOffset)) continue;
      if (ctx.inflight.has(key(e)) || ctx.chunks.get(key(e))) continue;
      taken.add(e.byteOffset);
      list.push({ i: -1, e });
    }
  }
  // merge ranges closer than coalesceGapBytes; a range of read-ahead alone is not read
  const gets: { key: string; start: number; end: number; parts: Part[] }[] = [];
  for (const [segmentKey, list] of byObject) {
    list.sort((a, b) => a.e.byteOffset - b.e.byteOffset);
    let cur: (typeof gets)[number] | undefined;
    for (const w of list) {
      const start = w.e.byteOffset;
      const end = start + w.e.byteLength;
      if (cur && start - cur.end <= ctx.settings.coalesceGapBytes) {
        cur.end = Math.max(cur.end, end);
        cur.parts.push(w);
      } else {
        cur = { key: segmentKey, start, end, parts: [w] };
        gets.push(cur);
      }
    }
  }
  const needed = gets
    .filter((g) => g.parts.some((p) => p.i >= 0))
    .map((g) => {
      // trim read-ahead off the ends when it would make the GET longer than it is worth
      while (g.parts.length > 1 && (g.parts[g.parts.length - 1] as Part).i < 0 && !worthReading(g)) g.parts.pop();
      while (g.parts.length > 1 && (g.parts[0] as Part).i < 0 && !worthReading(g)) g.parts.shift();
      g.start = Math.min(...g.parts.map((p) => p.e.byteOffset));
      g.end = Math.max(...g.parts.map((p) => p.e.byteOffset + p.e.byteLength));
      const { promise: landed, resolve: done } = deferred<void>();
      for (const p of g.parts) if (p.i < 0) ctx.inflight.set(key(p.e), landed);
      return { ...g, landed, done };
    });
  const missed: { i: number; e: IndexEntry }[] = [];
  const settle = (g: (typeof needed)[number]) => {
    for (const p of g.parts) if (p.i < 0 && ctx.inflight.get(key(p.e)) === g.landed) ctx.inflight.delete(key(p.e));
    g.done();
  };
  try {
    await Promise.all([
      mapLimit(needed, 8, async (g) => {
        try {
          const bytes = await ctx.objects.getRange(g.key, g.start, g.end);
          if (stats) {
            stats.rangeGets++;
            stats.bytesFetched += bytes?.byteLength ?? 0;
          }
          for (const p of g.parts) {
            if (!bytes) continue;
            const from = p.e.byteOffset - g.start;
            const chunk = bytes.subarray(from, from + p.e.byteLength);
            if (chunk.byteLength !== p.e.byteLength) {
              if (p.i < 0) continue;
              throw new CorruptDataError(
                `GET ${g.key} returned ${bytes.byteLength} bytes, chunk needs [${p.e.byteOffset}, ${p.e.byteOffset + p.e.byteLength})`,
              );
            }
            // own copy when coalesced: a cached chunk must not pin the whole GET buffer
            const own = g.parts.length > 1 ? chunk.slice() : chunk;
            if (p.i >= 0) out[p.i] = own;
            else if (checksOut(own, p.e)) ctx.chunks.set(key(p.e), own);
          }
        } finally {
          settle(g);
        }
      }),
      ...waits.map(async (w) => {
        await w.landed;
        const hit = ctx.chunks.get(key(w.e));
        if (hit) out[w.i] = hit;
        else missed.push(w); // it did not check out, or the object is gone: read it ourselves
      }),
    ]);
  } finally {
    // a GET that failed stops the others from starting: nobody may wait for them forever
    for (const g of needed) settle(g);
  }
  if (missed.length > 0) {
    const again = await readChunks(
      ctx,
      missed.map((m) => m.e),
      stats,
    );
    missed.forEach((m, j) => {
      out[m.i] = again[j];
    });
  }
  return out;
}

/**
 * Whether a GET's read-ahead is worth its bytes. A GET costs about what moving 2 MB does
 * (Lambda time at ~100 MB/s, or a client's bandwidth), so read-ahead may add up to 2 MiB and
 * the bytes the GET needs anyway.
 */
function worthReading(g: { parts: Part[] }): boolean {
  const start = Math.min(...g.parts.map((p) => p.e.byteOffset));
  const end = Math.max(...g.parts.map((p) => p.e.byteOffset + p.e.byteLength));
  const needed = g.parts.filter((p) => p.i >= 0).reduce((n, p) => n + p.e.byteLength, 0);
  return end - start <= 2 * needed + 2 * 1024 * 1024;
}

/** A read-ahead chunk is cached only when it decodes (CRC) as the chunk its entry names. */
function checksOut(bytes: Uint8Array, e: IndexEntry): boolean {
  try {
    const { header } = decodeChunk(bytes, e.baseOffset);
    return (
      header.topicId === e.topicId &&
      header.partition === e.partition &&
      header.recordCount === e.lastOffset - e.baseOffset + 1
    );
  } catch {
    return false; // the owner's own fetch reads it again and reports what is wrong
  }
}
