/**
 * One AccessStore contract on the in-memory fake and on DynamoDB Local: an entry is stored
 * once per id (a second put is `exists` and changes nothing), listed whole by id (past one
 * page of the partition), deleted once.
 */
import { describe, expect, it } from 'vitest';
import type { AclRecord } from '../../lib/access/model';
import { MemoryAccessStore } from '../../lib/storage/memory-access-store';
import type { AccessStore } from '../../lib/storage/ports';
import { realStores } from '../support/real';

const acl = (id: string, createdMs = 1): AclRecord => ({
  id,
  principal: 'arn:aws:iam::123456789012:role/orders',
  effect: 'allow',
  resourceType: 'topic',
  resourceName: 'orders',
  pattern: 'prefixed',
  operations: ['consume', 'produce'],
  createdMs,
  createdBy: 'arn:aws:iam::123456789012:role/admin',
});

function contract(name: string, make: () => Promise<AccessStore>) {
  describe(`AccessStore contract: ${name}`, () => {
    it('puts an entry once per id, lists every entry by id, deletes once', async () => {
      const s = await make();
      expect(await s.listAcls()).toEqual([]);
      expect(await s.putAcl(acl('b'))).toBe('created');
      expect(await s.putAcl(acl('a'))).toBe('created');
      expect(await s.putAcl(acl('a', 99))).toBe('exists');
      expect(await s.listAcls()).toEqual([acl('a'), acl('b')]);
      expect(await s.deleteAcl('a')).toBe(true);
      expect(await s.deleteAcl('a')).toBe(false);
      expect(await s.listAcls()).toEqual([acl('b')]);
    });

    it('keeps quotas apart from ACL entries; counts requests per scope and second up to the limit', async () => {
      const s = await make();
      await s.putAcl(acl('a'));
      const quota = (id: string, requestsPerSecond: number) => ({
        id,
        principal: `arn:aws:iam::123456789012:role/${id}`,
        requestsPerSecond,
        createdMs: 1,
        createdBy: 'admin',
      });
      await s.putQuota(quota('q2', 5));
      await s.putQuota(quota('q1', 5));
      await s.putQuota(quota('q1', 7)); // replaces
      expect(await s.listQuotas()).toEqual([quota('q1', 7), quota('q2', 5)]);
      expect(await s.listAcls()).toEqual([acl('a')]);
      expect(await s.deleteQuota('q2')).toBe(true);
      expect(await s.deleteQuota('q2')).toBe(false);
      expect((await s.listQuotas()).map((q) => q.id)).toEqual(['q1']);

      const second = 1_800_000_000;
      const counted = [];
      for (let i = 0; i < 4; i++) counted.push(await s.countRequest('scope-a', second, 3));
      expect(counted).toEqual([true, true, true, false]);
      expect(await s.countRequest('scope-b', second, 3)).toBe(true);
      expect(await s.countRequest('scope-a', second + 1, 3)).toBe(true);
      // concurrent requests of one second: exactly the limit gets through
      const racing = await Promise.all(Array.from({ length: 10 }, () => s.countRequest('scope-c', second, 4)));
      expect(racing.filter(Boolean)).toHaveLength(4);
    });

    it('lists more entries than one query page holds', async () => {
      const s = await make();
      // ~1 KB entries: DynamoDB pages a query at 1 MB
      const big = (i: number): AclRecord => ({ ...acl(String(i).padStart(4, '0')), resourceName: 'x'.repeat(240) });
      const many = Array.from({ length: 1200 }, (_, i) => big(i));
      for (let i = 0; i < many.length; i += 50) await Promise.all(many.slice(i, i + 50).map((a) => s.putAcl(a)));
      const listed = await s.listAcls();
      expect(listed).toHaveLength(1200);
      expect(listed.map((a) => a.id)).toEqual(many.map((a) => a.id));
    });
  });
}

contract('memory', async () => new MemoryAccessStore());
contract('DynamoDB Local', async () => (await realStores()).access);
