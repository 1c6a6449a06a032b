/**
 * Orphan discovery: segment objects whose commit never happened (crash after the PUT,
 * commit rejected, attempt abandoned). Found by listing, not by luck: every segment key
 * carries its creation time (ULID), and a committed segment always has a committed
 * segment-file item. The retention job (GC) deletes what this finds, after first fencing
 * each object so that a slow producer can never commit it afterwards.
 */
import type { Clock } from '../clock';
import { ulidTimeMs } from '../ids';
import { parseSegmentObjectKey, SEGMENT_PREFIX } from '../storage/layout';
import type { ObjectStore, SegmentFiles } from '../storage/ports';

/** A segment object that no call item may reference. */
export interface OrphanSegment {
  readonly key: string;
  readonly createdMs: number;
  readonly bytes: number;
  /** `uncommitted`: no segment-file item; `aborted`: fenced by a producer or GC. */
  readonly state: 'uncommitted' | 'aborted';
}

/**
 * Lists segment objects older than `graceMs` that are not committed. `graceMs` must be far
 * longer than a producer's commit deadline; the fence makes even a late commit harmless.
 */
export async function findOrphanSegments(
  deps: { objects: ObjectStore; metadata: SegmentFiles; clock: Clock },
  graceMs: number,
  options: { startAfter?: string; limit?: number } = {},
): Promise<{ orphans: OrphanSegment[]; nextStartAfter?: string }> {
  const cutoff = deps.clock.nowMs() - graceMs;
  const page = await deps.objects.list(SEGMENT_PREFIX, options);
  const orphans: OrphanSegment[] = [];
  for (const o of page.objects) {
    const parsed = parseSegmentObjectKey(o.key);
    if (!parsed) continue;
    const createdMs = ulidTimeMs(parsed.id);
    if (createdMs > cutoff) continue;
    const file = await deps.metadata.getSegmentFile(o.key);
    if (!file) orphans.push({ key: o.key, createdMs, bytes: o.size, state: 'uncommitted' });
    else if (file.state === 'aborted') orphans.push({ key: o.key, createdMs, bytes: o.size, state: 'aborted' });
  }
  return page.nextStartAfter ? { orphans, nextStartAfter: page.nextStartAfter } : { orphans };
}
