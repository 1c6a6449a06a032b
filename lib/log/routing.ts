/**
 * Routing, pure: which chunk of a produce call each record goes to, and the offsets that
 * follow from the chunks' base offsets. One rule for the first attempt and for a replayed
 * retry: a stored answer keeps only each topic's route (partition count and sticky
 * partition) and the chunks' base offsets, and a retry of the same request (same hash) is
 * routed again to the same chunks, so no per-record byte is stored on every call.
 */
import { InternalError } from '../errors';
import { choosePartition } from '../records/partitioner';
import type { TopicRoute } from '../storage/ports';

/** What routing needs of a record. */
interface Routed {
  readonly partition?: number;
  readonly key?: Uint8Array | null;
}

interface Batches {
  readonly batches: readonly { readonly topic: string; readonly records: readonly Routed[] }[];
}

export interface Routing {
  /** One per touched (topic, partition), in order of first use. */
  readonly chunks: readonly { readonly topic: string; readonly partition: number }[];
  /** Per record (request order), the index of its chunk. */
  readonly order: Uint32Array;
}

/** Routes every record of a call by its topics' routes (one per topic of the call). */
export function routeCall(req: Batches, routes: readonly TopicRoute[]): Routing {
  const routeOf = new Map(routes.map((r) => [r.topic, r]));
  const chunks: { topic: string; partition: number }[] = [];
  const byTopic = new Map<string, Map<number, number>>();
  const order = new Uint32Array(req.batches.reduce((n, b) => n + b.records.length, 0));
  let i = 0;
  for (const b of req.batches) {
    const route = routeOf.get(b.topic);
    if (!route) throw new InternalError(`no route for topic "${b.topic}"`);
    const seen = byTopic.get(b.topic) ?? new Map<number, number>();
    byTopic.set(b.topic, seen);
    for (const r of b.records) {
      const partition = choosePartition(r.partition, r.key ?? null, route.partitions, route.sticky);
      let c = seen.get(partition);
      if (c === undefined) {
        c = chunks.length;
        seen.set(partition, c);
        chunks.push({ topic: b.topic, partition });
      }
      order[i++] = c;
    }
  }
  return { chunks, order };
}

/** The (partition, offset) of every record, per batch in request order, given each chunk's base offset. */
export function offsetsOf(
  req: Batches,
  routing: Routing,
  bases: readonly number[],
): { topic: string; offsets: { partition: number; offset: number }[] }[] {
  const next = bases.slice();
  let i = 0;
  return req.batches.map((b) => ({
    topic: b.topic,
    offsets: b.records.map(() => {
      const c = routing.order[i++] as number;
      const offset = next[c] as number;
      next[c] = offset + 1;
      return { partition: (routing.chunks[c] as { partition: number }).partition, offset };
    }),
  }));
}
