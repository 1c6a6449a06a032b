/**
 * Object garbage collection, incremental: every object is looked at a bounded number of
 * times in its life, never once per pass over everything retained.
 *
 * 1. Released segments (`deleteReleased`). Retention queues the segments of the call items
 *    it is about to delete (before deleting them, so a crash in between loses nothing).
 *    Once the read grace has passed, each queued segment's item is read strongly, and the
 *    call items it names (one per head shard its call touched) are looked up strongly: when
 *    none exists any more, the object is deleted, then its item. When one still exists
 *    (another topic or shard still holds it, or the deletion did not happen), nothing: the
 *    deletion of the last one queues the segment again. No reference count is kept — a
 *    count would be a conditional write per release; this is one strong read per call item.
 *    A reader that read a call item just before retention deleted it and GETs after the
 *    object went is told OFFSET_OUT_OF_RANGE: the records were below the start offset.
 * 2. Orphans (`sweepOrphans`): a cursor walks the segment listing in key (= creation time)
 *    order, looking at each object once, when it is older than `orphanGraceMs`:
 *    - no item: an orphan (crash after the PUT, commit never happened). Fence it first
 *      (create the item as `aborted`): from then on no producer can commit it, however
 *      slow. Then delete the object.
 *
 *        slow producer                      GC
 *        PUT segment S
 *        … stalls past the orphan grace …   fence F#S: aborted ── ok
 *                                           DELETE S
 *        commit S ── rejected (F#S exists)  → writes a new segment and commits that
 *
 *    - `aborted`: fenced by a producer resolving an ambiguous commit, or by GC — never
 *      referenced; delete the object (the item stays, with a TTL, as the fence).
 *    - committed: left to its release.
 */
import type { Clock } from '../clock';
import { ulidTimeMs } from '../ids';
import { parseSegmentObjectKey, SEGMENT_PREFIX } from '../storage/layout';
import { callRefKey, type JobState, type ObjectStore, type SegmentFiles } from '../storage/ports';

/** What one GC step did. */
export interface GcOutcome {
  objectsChecked: number;
  orphansDeleted: number;
  abortedDeleted: number;
  releasedDeleted: number;
  bytesDeleted: number;
}

/** Segments whose items one GC step reads at a time. */
const SEGMENTS_PER_CHECK = 100;

type GcDeps = { objects: ObjectStore; metadata: SegmentFiles & JobState; clock: Clock };

/** An empty outcome. */
export function noGc(): GcOutcome {
  return { objectsChecked: 0, orphansDeleted: 0, abortedDeleted: 0, releasedDeleted: 0, bytesDeleted: 0 };
}

/**
 * Deletes the queued segments whose read grace has passed: up to `maxBatches` batches.
 * `more` says whether batches are left that are already due.
 */
export async function deleteReleased(
  deps: GcDeps,
  options: { readGraceMs: number; maxBatches?: number },
): Promise<GcOutcome & { more: boolean }> {
  const out = noGc();
  const now = deps.clock.nowMs();
  const limit = options.maxBatches ?? 20;
  const batches = await deps.metadata.readReleases(now - options.readGraceMs, limit);
  // a segment of a call over many head shards is queued once per shard: each is looked at
  // once here, however many of the batches name it
  const keys = [...new Set(batches.flatMap((b) => b.segmentKeys))];
  for (let i = 0; i < keys.length; i += SEGMENTS_PER_CHECK) {
    const some = keys.slice(i, i + SEGMENTS_PER_CHECK);
    const files = [...(await deps.metadata.getSegmentFiles(some, true)).values()].filter(
      (f) => f.state === 'committed',
    );
    // strongly: an item deleted just now must not look alive, nor one alive look deleted
    const alive = await deps.metadata.existingCalls(files.flatMap((f) => f.calls));
    const gone = files.filter((f) => f.calls.every((c) => !alive.has(callRefKey(c))));
    out.objectsChecked += some.length;
    if (gone.length > 0) {
      // objects first, items last, the batches after both: a crash in between leaves the
      // batches queued for the next run, never an item-less object that could look like an orphan
      await deps.objects.deleteMany(gone.map((f) => f.segmentKey));
      await deps.metadata.deleteSegmentFiles(gone.map((f) => f.segmentKey));
      out.releasedDeleted += gone.length;
      out.bytesDeleted += gone.reduce((n, f) => n + f.bytes, 0);
    }
  }
  if (batches.length > 0) await deps.metadata.deleteReleases(batches.map((b) => b.ref));
  return { ...out, more: batches.length === limit };
}

/**
 * Looks once at each object created after `startAfter` and older than the orphan grace, up
 * to `maxObjects`. Returns where the next sweep continues (the last object looked at).
 */
export async function sweepOrphans(
  deps: GcDeps,
  options: { orphanGraceMs: number; startAfter?: string; maxObjects?: number },
): Promise<GcOutcome & { cursor?: string; more: boolean }> {
  const out = noGc();
  const now = deps.clock.nowMs();
  const page = await deps.objects.list(SEGMENT_PREFIX, {
    limit: options.maxObjects ?? 1000,
    ...(options.startAfter ? { startAfter: options.startAfter } : {}),
  });
  // keys sort by creation time: stop at the first object still within its grace
  const due: typeof page.objects = [];
  let young = false;
  for (const o of page.objects) {
    const parsed = parseSegmentObjectKey(o.key);
    if (parsed && ulidTimeMs(parsed.id) > now - options.orphanGraceMs) {
      young = true;
      break;
    }
    due.push(o);
  }
  // one batched, possibly stale read: staleness only ever keeps an object
  const files = await deps.metadata.getSegmentFiles(due.filter((o) => parseSegmentObjectKey(o.key)).map((o) => o.key));
  for (const o of due) {
    if (!parseSegmentObjectKey(o.key)) continue;
    out.objectsChecked++;
    let file = files.get(o.key);
    if (!file) {
      const fence = await deps.metadata.fenceSegment(o.key, now);
      if (!fence.fenced) {
        file = fence.file; // the commit won the race: judge it as it is
      } else {
        await deps.objects.deleteMany([o.key]);
        out.orphansDeleted++;
        out.bytesDeleted += o.size;
        continue;
      }
    }
    if (file.state === 'aborted') {
      await deps.objects.deleteMany([o.key]);
      out.abortedDeleted++;
      out.bytesDeleted += o.size;
    }
  }
  const last = due[due.length - 1];
  const cursor = last ? last.key : options.startAfter;
  return { ...out, ...(cursor ? { cursor } : {}), more: !young && page.nextStartAfter !== undefined };
}
