/**
 * The access model's rules on their own: whose identities a session has, how principal and
 * resource patterns match, what a deny and an admin do, which entries are malformed.
 */
import { describe, expect, it } from 'vitest';
import { accessSettingsFromEnv } from '../../lib/access/authorizer';
import { type AclSpec, aclId, aclProblems, decide, identitiesOf } from '../../lib/access/model';

const session = 'arn:aws:sts::123456789012:assumed-role/orders/i-0abc';
const entry = (over: Partial<AclSpec> = {}): AclSpec => ({
  principal: 'arn:aws:iam::123456789012:role/orders',
  effect: 'allow',
  resourceType: 'topic',
  resourceName: 'orders',
  pattern: 'literal',
  operations: ['produce'],
  ...over,
});
const allowed = (acls: AclSpec[], principal: string, name: string, operation = 'produce', admins: string[] = []) =>
  decide({ admins, acls }, principal, { type: 'topic', name, operation: operation as 'produce' }).allowed;

describe('access model', () => {
  it('a role session answers to its role (any path), a user only to itself', () => {
    expect(identitiesOf(session)).toEqual([session, 'arn:aws:iam::123456789012:role/orders']);
    expect(identitiesOf('arn:aws:iam::123456789012:user/dev')).toEqual(['arn:aws:iam::123456789012:user/dev']);
    expect(allowed([entry({ principal: 'arn:aws:iam::123456789012:role/team/a/orders' })], session, 'orders')).toBe(
      true,
    );
    expect(allowed([entry({ principal: 'arn:aws:iam::123456789012:role/orders-x' })], session, 'orders')).toBe(false);
    expect(allowed([entry({ principal: 'arn:aws:iam::999999999999:role/orders' })], session, 'orders')).toBe(false);
    expect(allowed([entry({ principal: 'arn:aws:sts::123456789012:assumed-role/orders/*' })], session, 'orders')).toBe(
      true,
    );
  });

  it('literal, prefixed and * resources; describe follows any allowed operation; a deny wins; admins pass', () => {
    expect(allowed([entry()], session, 'orders-eu')).toBe(false);
    expect(allowed([entry({ pattern: 'prefixed' })], session, 'orders-eu')).toBe(true);
    expect(allowed([entry({ resourceName: '*' })], session, 'payments')).toBe(true);
    expect(allowed([entry()], session, 'orders', 'describe')).toBe(true);
    expect(allowed([entry()], session, 'orders', 'consume')).toBe(false);
    const deny = entry({ effect: 'deny', operations: ['all'] });
    expect(allowed([entry({ operations: ['all'] }), deny], session, 'orders', 'consume')).toBe(false);
    // a deny of produce does not deny describing
    expect(allowed([entry({ operations: ['all'] }), entry({ effect: 'deny' })], session, 'orders', 'describe')).toBe(
      true,
    );
    expect(allowed([deny], session, 'orders', 'produce', ['arn:aws:iam::123456789012:role/orders'])).toBe(true);
    expect(allowed([entry({ principal: '*' })], 'anonymous', 'orders')).toBe(false);
  });

  it('refuses malformed entries with every problem named; an id is the entry, whatever the operation order', () => {
    expect(aclProblems(entry())).toEqual([]);
    expect(aclProblems(entry({ resourceType: 'group', operations: ['produce'], resourceName: 'a b' }))).toEqual([
      `operation "produce" is not one of group's: read, describe, alter, delete, all`,
      'resourceName must be 1-249 of A-Z a-z 0-9 . _ - (a name or a prefix), or "*"',
    ]);
    expect(aclProblems(entry({ principal: 'arn:aws:iam::1:role/*/x' }))).toEqual([
      'principal may hold "*" only at its end (a prefix)',
    ]);
    expect(aclProblems(entry({ resourceType: 'cluster', resourceName: 'orders', operations: ['alter'] }))).toEqual([
      'the cluster resource is named "cluster"',
    ]);
    expect(aclProblems(entry({ resourceName: '*', pattern: 'prefixed' }))).toEqual([]);
    expect(aclId(entry({ operations: ['produce', 'consume'] }))).toBe(
      aclId(entry({ operations: ['consume', 'produce'] })),
    );
    expect(aclId(entry())).not.toBe(aclId(entry({ effect: 'deny' })));
  });

  it('reads its settings from the environment, refusing wrong ones', () => {
    expect(accessSettingsFromEnv({}, 'acl')).toEqual({ mode: 'acl', admins: [] });
    expect(
      accessSettingsFromEnv(
        { SLUICE_ACCESS: 'open', SLUICE_ADMINS: ' arn:aws:iam::1:role/a, arn:aws:iam::1:role/b ' },
        'acl',
      ),
    ).toEqual({
      mode: 'open',
      admins: ['arn:aws:iam::1:role/a', 'arn:aws:iam::1:role/b'],
    });
    expect(() => accessSettingsFromEnv({ SLUICE_ACCESS: 'none' }, 'acl')).toThrow(/must be "acl" or "open"/);
    expect(() => accessSettingsFromEnv({ SLUICE_ADMINS: 'root' }, 'acl')).toThrow(/SLUICE_ADMINS: principal "root"/);
  });
});
