/**
 * Segment compaction (not Kafka's key compaction): once chunks are older than
 * `compactAfterMs`, a partition's run of small chunks — each sitting in some
 * multi-partition segment written by one produce call — is rewritten into one chunk of a
 * new per-partition segment, and the index entries are swapped in one conditional
 * transaction. Records keep their offsets and their bytes exactly; only their container
 * changes. Readers holding the old entries keep working: the old objects are deleted by GC
 * only after every reference is released and the read grace has passed.
 *
 * Goal: bounded read amplification (one GET per run instead of one per produce call) and
 * bounded index entries per GB.
 */
import type { Clock } from '../clock';
import { mapLimit } from '../concurrency';
import { CorruptDataError } from '../errors';
import { type RandomSource, ulid } from '../ids';
import { decodeChunk, encodeSegment } from '../records/segment-codec';
import type { RecordInput } from '../records/types';
import { segmentObjectKey } from '../storage/layout';
import type {
  IndexEntry,
  LogTrim,
  ObjectStore,
  PartitionHead,
  PartitionLog,
  SegmentFiles,
  TopicRecord,
} from '../storage/ports';

/** Compaction settings (units in the names). */
export interface CompactionSettings {
  /** Only chunks appended longer ago than this are rewritten. @default 10 min */
  readonly compactAfterMs?: number;
  /** Chunks at least this large are left alone. @default 1 MiB */
  readonly smallChunkBytes?: number;
  /** Largest chunk a run is merged into. @default 8 MiB */
  readonly targetChunkBytes?: number;
  /** Entries swapped per transaction (≤ 48: one transaction holds ≤ 100 items). @default 40 */
  readonly maxEntriesPerSwap?: number;
}

/** What compacting one partition did. */
export interface CompactionOutcome {
  swaps: number;
  entriesBefore: number;
  entriesAfter: number;
  bytesRewritten: number;
  conflicts: number;
}

type Deps = {
  objects: ObjectStore;
  metadata: PartitionLog & LogTrim & SegmentFiles;
  clock: Clock;
  random: RandomSource;
};

/** Merge levels per partition and run (40 small chunks per merge: 40³ chunks at most). */
const MAX_LEVELS = 3;

/** Compacts the old small chunks of one partition. */
export async function compactPartition(
  deps: Deps,
  topic: TopicRecord,
  partition: number,
  settings: CompactionSettings = {},
): Promise<CompactionOutcome> {
  const compactAfterMs = settings.compactAfterMs ?? 600_000;
  const small = settings.smallChunkBytes ?? 1024 * 1024;
  const target = settings.targetChunkBytes ?? 8 * 1024 * 1024;
  const maxEntries = Math.min(48, settings.maxEntriesPerSwap ?? 40);
  const out: CompactionOutcome = { swaps: 0, entriesBefore: 0, entriesAfter: 0, bytesRewritten: 0, conflicts: 0 };
  // level by level, like an LSM tree: merged chunks that are still small merge again
  for (let level = 0; level < MAX_LEVELS; level++) {
    const [head] = await deps.metadata.getHeads(topic.topicId, [partition]);
    const h = head as PartitionHead;
    if (h.nextOffset === h.startOffset) return out;
    const entries = await deps.metadata.queryIndex(topic.topicId, partition, h.startOffset, h.nextOffset - 1, 10_000);
    if (level === 0) out.entriesBefore = entries.length;
    out.entriesAfter = entries.length;
    const cutoff = deps.clock.nowMs() - compactAfterMs;

    // runs of consecutive old, small chunks
    const runs: IndexEntry[][] = [];
    let run: IndexEntry[] = [];
    let runBytes = 0;
    for (const e of entries) {
      const eligible = e.appendMs < cutoff && e.byteLength < small && e.baseOffset >= h.startOffset;
      if (!eligible || run.length >= maxEntries || runBytes + e.byteLength > target) {
        if (run.length >= 2) runs.push(run);
        run = [];
        runBytes = 0;
      }
      if (eligible) {
        run.push(e);
        runBytes += e.byteLength;
      }
    }
    if (run.length >= 2) runs.push(run);
    if (runs.length === 0) return out;

    for (const r of runs) {
      const ok = await rewrite(deps, topic, partition, r);
      if (ok === 'conflict') out.conflicts++;
      else {
        out.swaps++;
        out.bytesRewritten += ok;
        out.entriesAfter -= r.length - 1;
      }
    }
  }
  return out;
}

async function rewrite(
  deps: Deps,
  topic: TopicRecord,
  partition: number,
  run: IndexEntry[],
): Promise<number | 'conflict'> {
  const records: RecordInput[] = [];
  const read = await mapLimit(run, 8, (e) =>
    deps.objects.getRange(e.segmentKey, e.byteOffset, e.byteOffset + e.byteLength),
  );
  for (const [i, e] of run.entries()) {
    const bytes = read[i];
    if (!bytes) return 'conflict'; // retention removed it meanwhile
    const { header, records: rs } = decodeChunk(bytes, e.baseOffset);
    if (header.topicId !== topic.topicId || header.partition !== partition) {
      throw new CorruptDataError(`chunk ${e.segmentKey}@${e.byteOffset} is not ${topic.name}/${partition}`);
    }
    for (const x of rs) records.push({ key: x.key, value: x.value, headers: x.headers, timestamp: x.timestamp });
  }
  const first = run[0] as IndexEntry;
  const last = run[run.length - 1] as IndexEntry;
  if (records.length !== last.lastOffset - first.baseOffset + 1) {
    throw new CorruptDataError(
      `run ${first.baseOffset}..${last.lastOffset} of ${topic.name}/${partition} is not contiguous`,
    );
  }
  const now = deps.clock.nowMs();
  const key = segmentObjectKey(ulid(now, deps.random), now);
  const { bytes, chunks } = encodeSegment([{ topicId: topic.topicId, partition, records }]);
  const loc = chunks[0] as (typeof chunks)[number];
  await deps.objects.putIfAbsent(key, bytes);
  const replacement: IndexEntry = {
    topicId: topic.topicId,
    partition,
    baseOffset: first.baseOffset,
    lastOffset: last.lastOffset,
    segmentKey: key,
    byteOffset: loc.byteOffset,
    byteLength: loc.byteLength,
    minTimestamp: loc.minTimestamp,
    maxTimestamp: loc.maxTimestamp,
    maxTimestampSoFar: last.maxTimestampSoFar,
    // the newest append time of the run, so time retention never removes a record early.
    // Not the last entry's: append times follow commit *attempts*, and an attempt that
    // started first can commit later, so they are not monotonic in offset order.
    appendMs: Math.max(...run.map((e) => e.appendMs)),
  };
  const r = await deps.metadata.swapIndexEntries(
    run,
    replacement,
    { key, bytes: bytes.byteLength, createdMs: now },
    now,
  );
  if (r === 'conflict') {
    await deps.metadata.fenceSegment(key, now); // never referenced: GC deletes it
    return 'conflict';
  }
  return loc.byteLength;
}
