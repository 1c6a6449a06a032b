/**
 * One ObjectStore contract, run against the in-memory fake and against S3 on LocalStack,
 * so the fake cannot drift from the real thing.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import type { ObjectStore } from '../../lib/storage/ports';
import { realStores } from '../support/real';

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

function objectStoreContract(name: string, make: () => Promise<ObjectStore>) {
  describe(`ObjectStore contract: ${name}`, () => {
    it('puts only if absent and never overwrites', async () => {
      const s = await make();
      expect(await s.putIfAbsent('segments/a.seg', bytes('first'))).toBe('created');
      expect(await s.putIfAbsent('segments/a.seg', bytes('second'))).toBe('exists');
      expect(text(await s.get('segments/a.seg'))).toBe('first');
    });

    it('reads exact byte ranges, including the first and last byte', async () => {
      const s = await make();
      await s.putIfAbsent('r.seg', bytes('0123456789'));
      expect(text(await s.getRange('r.seg', 0, 1))).toBe('0');
      expect(text(await s.getRange('r.seg', 3, 7))).toBe('3456');
      expect(text(await s.getRange('r.seg', 9, 10))).toBe('9');
      expect(text(await s.getRange('r.seg', 0, 10))).toBe('0123456789');
    });

    it('answers undefined for a missing object (whole or range)', async () => {
      const s = await make();
      expect(await s.get('nope')).toBeUndefined();
      expect(await s.getRange('nope', 0, 5)).toBeUndefined();
    });

    it('lists by prefix in key order, page by page', async () => {
      const s = await make();
      const keys = ['p/a', 'p/b', 'p/c', 'p/d', 'p/e', 'p/f', 'p/g'];
      for (const k of [...keys].reverse()) await s.putIfAbsent(k, bytes(k));
      await s.putIfAbsent('q/other', bytes('x'));
      const seen: string[] = [];
      let startAfter: string | undefined;
      let pages = 0;
      do {
        const page = await s.list('p/', { limit: 3, ...(startAfter ? { startAfter } : {}) });
        seen.push(...page.objects.map((o) => o.key));
        expect(page.objects.every((o) => o.size === 3)).toBe(true);
        startAfter = page.nextStartAfter;
        pages++;
      } while (startAfter);
      expect(seen).toEqual(keys);
      expect(pages).toBe(3);
    });

    it('deletes many keys, missing ones included', async () => {
      const s = await make();
      for (const k of ['d/1', 'd/2', 'd/3']) await s.putIfAbsent(k, bytes(k));
      await s.deleteMany(['d/1', 'd/3', 'd/missing']);
      expect((await s.list('d/')).objects.map((o) => o.key)).toEqual(['d/2']);
      expect(await s.get('d/1')).toBeUndefined();
      // a deleted key can be created again
      expect(await s.putIfAbsent('d/1', bytes('again'))).toBe('created');
    });
  });
}

objectStoreContract('memory', async () => new MemoryObjectStore());
objectStoreContract('S3 (LocalStack)', async () => (await realStores()).objects);
