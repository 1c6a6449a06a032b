/**
 * The lease rules, table-driven: every case a heartbeat can meet for one partition.
 */
import { describe, expect, it } from 'vitest';
import { currentOwner, isLive, leaseStep, memberWriteDue } from '../../lib/groups/leases';
import type { LeaseRecord } from '../../lib/storage/ports';

const NOW = 1_000_000;
const S = { leaseDurationMs: 10_000, maxClockSkewMs: 500 };
const lease = (owner: string | null, expiresInMs: number, epoch = 4): LeaseRecord => ({
  topicId: 't',
  partition: 0,
  owner,
  epoch,
  expiresAtMs: NOW + expiresInMs,
});

describe('leaseStep', () => {
  it.each([
    // [what, lease, target, expected step]
    ['nobody ever held it, assigned to me', undefined, 'me', { kind: 'acquire' }],
    ['released, assigned to me', lease(null, -1), 'me', { kind: 'acquire' }],
    ['another holds it, live', lease('other', 3_000), 'me', { kind: 'wait' }],
    ['another held it, expired within the skew bound', lease('other', -400), 'me', { kind: 'wait' }],
    ['another held it, expired beyond the skew bound', lease('other', -501), 'me', { kind: 'acquire' }],
    ['mine, more than half left', lease('me', 5_001), 'me', { kind: 'keep', lease: lease('me', 5_001) }],
    ['mine, half used', lease('me', 5_000), 'me', { kind: 'renew', epoch: 4 }],
    ['mine, expired but still mine', lease('me', -100), 'me', { kind: 'renew', epoch: 4 }],
    ['mine, assigned elsewhere', lease('me', 8_000, 7), 'other', { kind: 'revoke', epoch: 7 }],
    ['mine, assigned to nobody (stalled everywhere)', lease('me', 8_000, 7), undefined, { kind: 'revoke', epoch: 7 }],
    ['not mine, not for me', lease('other', 8_000), 'other', { kind: 'none' }],
    ['free, not for me', undefined, 'other', { kind: 'none' }],
  ] as const)('%s', (_what, l, target, expected) => {
    expect(leaseStep(l, 'me', target, NOW, S)).toEqual(expected);
  });
});

describe('liveness, member writes and owners', () => {
  it.each([
    [NOW - 29_999, true],
    [NOW - 30_000, false],
  ])('a member last seen at %i is live: %s', (lastHeartbeatMs, live) => {
    expect(isLive({ lastHeartbeatMs, sessionTimeoutMs: 30_000 }, NOW)).toBe(live);
  });

  it.each([
    ['joining', undefined, ['a'], [], { write: true, newSubscription: true }],
    [
      'fresh, unchanged',
      { topics: ['a'], lastHeartbeatMs: NOW - 9_999 },
      ['a'],
      [],
      { write: false, newSubscription: false },
    ],
    [
      'a third of the session passed',
      { topics: ['a'], lastHeartbeatMs: NOW - 10_000 },
      ['a'],
      [],
      { write: true, newSubscription: false },
    ],
    [
      'new subscription',
      { topics: ['a'], lastHeartbeatMs: NOW },
      ['a', 'b'],
      [],
      { write: true, newSubscription: true },
    ],
    [
      'stalled partition reported',
      { topics: ['a'], lastHeartbeatMs: NOW },
      ['a'],
      ['a#0'],
      { write: true, newSubscription: false },
    ],
    [
      'stalled unchanged',
      { topics: ['a'], stalled: ['a#0'], lastHeartbeatMs: NOW },
      ['a'],
      ['a#0'],
      { write: false, newSubscription: false },
    ],
    [
      'stalled cleared',
      { topics: ['a'], stalled: ['a#0'], lastHeartbeatMs: NOW },
      ['a'],
      [],
      { write: true, newSubscription: false },
    ],
  ] as const)('member item: %s', (_what, stored, topics, stalled, expected) => {
    expect(memberWriteDue(stored, { topics, stalled }, NOW, 30_000)).toEqual(expected);
  });

  it.each([
    [lease('m', 1), 'm'],
    [lease('m', -500), 'm'],
    [lease('m', -501), null],
    [lease(null, 5_000), null],
    [undefined, null],
  ])('the owner a description shows', (l, owner) => {
    expect(currentOwner(l, NOW, 500)).toBe(owner);
  });
});
