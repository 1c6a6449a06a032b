/**
 * Object garbage collection: one pass over the segment objects (by listing — orphans are
 * found, not hoped for), deciding each from its segment-file item:
 *
 * - no item, older than `orphanGraceMs`: an orphan (crash after the PUT, commit never
 *   happened). Fence it first (create the item as `aborted`): from then on no producer can
 *   commit it, however slow. Then delete the object.
 *
 *     slow producer                      GC
 *     PUT segment S
 *     … stalls past the orphan grace …   fence F#S: aborted ── ok
 *                                        DELETE S
 *     commit S ── rejected (F#S exists)  → writes a new segment and commits that
 *
 * - `aborted`: fenced by a producer resolving an ambiguous commit, or by GC — never
 *   referenced; delete the object (the item stays, with a TTL, as the fence).
 * - `committed` with no references left, released more than `readGraceMs` ago (longer than
 *   any fetch can take between reading an index entry and its GET): delete the object,
 *   then its item.
 */
import type { Clock } from '../clock';
import { ulidTimeMs } from '../ids';
import { parseSegmentObjectKey, SEGMENT_PREFIX } from '../storage/layout';
import type { ObjectStore, SegmentFiles } from '../storage/ports';

/** What a GC pass did. */
export interface GcOutcome {
  objectsChecked: number;
  orphansDeleted: number;
  abortedDeleted: number;
  releasedDeleted: number;
  bytesDeleted: number;
  /** Where the next pass continues; undefined when the listing reached its end. */
  nextStartAfter?: string;
}

/** One GC pass over up to `maxObjects` segment objects after `startAfter`. */
export async function collectGarbage(
  deps: { objects: ObjectStore; metadata: SegmentFiles; clock: Clock },
  options: { orphanGraceMs: number; readGraceMs: number; startAfter?: string; maxObjects?: number },
): Promise<GcOutcome> {
  const out: GcOutcome = {
    objectsChecked: 0,
    orphansDeleted: 0,
    abortedDeleted: 0,
    releasedDeleted: 0,
    bytesDeleted: 0,
  };
  const page = await deps.objects.list(SEGMENT_PREFIX, {
    limit: options.maxObjects ?? 1000,
    ...(options.startAfter ? { startAfter: options.startAfter } : {}),
  });
  const now = deps.clock.nowMs();
  // one batched, possibly stale read for the page: staleness only ever keeps an object
  const files = await deps.metadata.getSegmentFiles(
    page.objects.filter((o) => parseSegmentObjectKey(o.key)).map((o) => o.key),
  );
  for (const o of page.objects) {
    const parsed = parseSegmentObjectKey(o.key);
    if (!parsed) continue;
    out.objectsChecked++;
    const createdMs = ulidTimeMs(parsed.id);
    let file = files.get(o.key);
    if (!file) {
      if (createdMs > now - options.orphanGraceMs) continue;
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
    } else if (file.refs <= 0 && file.releasedMs > 0 && file.releasedMs < now - options.readGraceMs) {
      await deps.objects.deleteMany([o.key]);
      await deps.metadata.deleteSegmentFile(o.key);
      out.releasedDeleted++;
      out.bytesDeleted += o.size;
    }
  }
  if (page.nextStartAfter) out.nextStartAfter = page.nextStartAfter;
  return out;
}
