import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { offsetsOf, routeCall } from '../../lib/log/routing';
import { partitionForKey } from '../../lib/records/partitioner';

const key = (s: string) => new Uint8Array(Buffer.from(s));

describe('routing a produce call', () => {
  it('puts null keys on the sticky partition, keys on their hash, explicit partitions where asked', () => {
    const req = {
      batches: [
        { topic: 'a', records: [{}, { key: key('k') }, { partition: 1 }, { key: null }] },
        { topic: 'b', records: [{}, { partition: 0 }] },
      ],
    };
    const routes = { a: { topic: 'a', partitions: 8, sticky: 5 }, b: { topic: 'b', partitions: 2, sticky: 1 } };
    const routing = routeCall(req, [routes.a, routes.b]);
    const k = partitionForKey(key('k'), 8);
    const inA = [...new Set([5, k, 1])];
    expect(routing.chunks).toEqual([
      ...inA.map((partition) => ({ topic: 'a', partition })),
      { topic: 'b', partition: 1 },
      { topic: 'b', partition: 0 },
    ]);
    expect([...routing.order]).toEqual([0, inA.indexOf(k), inA.indexOf(1), 0, inA.length, inA.length + 1]);
  });

  it('gives each record the next offset of its partition, in request order', () => {
    const raw = fc.record({
      key: fc.option(fc.string(), { nil: undefined }),
      partition: fc.option(fc.nat(3), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(raw, { minLength: 1, maxLength: 60 }),
        fc.nat(3),
        fc.array(fc.nat(10_000), { minLength: 4, maxLength: 4 }),
        (rs, sticky, baseOf) => {
          const records = rs.map((r) => ({ partition: r.partition, key: r.key === undefined ? null : key(r.key) }));
          const req = { batches: [{ topic: 't', records }] };
          const routing = routeCall(req, [{ topic: 't', partitions: 4, sticky }]);
          const bases = routing.chunks.map((c) => baseOf[c.partition] as number);
          const answer = offsetsOf(req, routing, bases)[0]?.offsets;
          const next = [...baseOf];
          records.forEach((r, i) => {
            const p = r.partition ?? (r.key ? partitionForKey(r.key, 4) : sticky);
            expect(answer?.[i]).toEqual({ partition: p, offset: next[p] });
            next[p] = (next[p] as number) + 1;
          });
        },
      ),
    );
  });
});
