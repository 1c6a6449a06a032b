/**
 * Undoing a mistake (a topic deleted, retention cut to a millisecond, `deleteRecords` too far):
 * the segments garbage collection deleted since a point in time are brought back from the
 * versioned bucket, for a table restored to that point (DynamoDB point-in-time recovery) to
 * point at again. Noncurrent versions expire after the bucket's recovery window (7 days by
 * default), so this works within it.
 */
import { SEGMENT_PREFIX } from '../storage/layout';
import type { DeletedObject, ObjectHistory } from '../storage/ports';

/** What a restore found (and, unless a dry run, brought back). */
export interface RestoreReport {
  readonly found: number;
  readonly restored: number;
  /** The first few keys, to show. */
  readonly sample: readonly string[];
}

/** Brings back every segment deleted at or after `sinceMs` (or lists them: `apply: false`). */
export async function restoreDeletedSegments(
  history: ObjectHistory,
  options: { sinceMs: number; apply: boolean; onProgress?: (found: number, restored: number) => void },
): Promise<RestoreReport> {
  let after: { key: string; versionId: string } | undefined;
  let found = 0;
  let restored = 0;
  const sample: string[] = [];
  do {
    const page = await history.deletedSince(SEGMENT_PREFIX, options.sinceMs, after ? { after } : {});
    const deleted: DeletedObject[] = page.deleted;
    found += deleted.length;
    for (const d of deleted) if (sample.length < 10) sample.push(d.key);
    if (options.apply && deleted.length > 0) {
      await history.undelete(deleted);
      restored += deleted.length;
    }
    options.onProgress?.(found, restored);
    after = page.next;
  } while (after);
  return { found, restored, sample };
}
