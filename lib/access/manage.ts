/**
 * The ACL use cases, shared by the HTTP routes, the direct client and the CDK custom
 * resource: an entry is checked by the one set of rules, its id derived from its content
 * (creating it twice is one entry), and deleted by id.
 */
import type { Clock } from '../clock';
import { InvalidArgumentError, LimitExceededError, SluiceError } from '../errors';
import type { AccessStore } from '../storage/ports';
import {
  type AclRecord,
  type AclSpec,
  aclId,
  aclProblems,
  principalProblem,
  type QuotaRecord,
  type QuotaSpec,
  quotaId,
} from './model';

/** ACL entries a deployment may hold. */
export const MAX_ACLS = 1_000;

/** An entry as it is asked for: effect and pattern may be left to their defaults. */
export type AclInput = Omit<AclSpec, 'effect' | 'pattern'> & Partial<Pick<AclSpec, 'effect' | 'pattern'>>;

/** Creates the entry (or finds it: the same entry twice is one). Throws INVALID_ARGUMENT naming every problem. */
export async function createAcl(
  store: AccessStore,
  input: AclInput,
  by: { principal: string; clock: Clock; maxAcls?: number },
): Promise<{ acl: AclRecord; created: boolean }> {
  const spec: AclSpec = {
    principal: input.principal,
    effect: input.effect ?? 'allow',
    resourceType: input.resourceType,
    resourceName: input.resourceName,
    // "*" is every name, whatever the pattern says: one entry, not two
    pattern: input.resourceName === '*' ? 'literal' : (input.pattern ?? 'literal'),
    operations: [...new Set(input.operations)].sort(),
  };
  const problems = aclProblems(spec);
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
  const acl: AclRecord = { ...spec, id: aclId(spec), createdMs: by.clock.nowMs(), createdBy: by.principal };
  const all = await store.listAcls();
  const existing = all.find((a) => a.id === acl.id);
  if (existing) return { acl: existing, created: false };
  // every API process reads all entries (once per 5 s while it serves requests): keep them few
  const limit = by.maxAcls ?? MAX_ACLS;
  if (all.length >= limit) {
    throw new LimitExceededError(
      `there are ${all.length} ACL entries, the limit (${limit}); use prefixes or * to say more with fewer`,
      { setting: 'maxAcls', limit },
    );
  }
  if ((await store.putAcl(acl)) === 'created') return { acl, created: true };
  const raced = (await store.listAcls()).find((a) => a.id === acl.id);
  return { acl: raced ?? acl, created: false };
}

/** Sets the request quota of a principal pattern (replacing its quota, if any). */
export async function setQuota(
  store: AccessStore,
  input: QuotaSpec,
  by: { principal: string; clock: Clock },
): Promise<QuotaRecord> {
  const problem = principalProblem(input.principal);
  if (problem) throw new InvalidArgumentError(problem);
  if (!Number.isInteger(input.requestsPerSecond) || input.requestsPerSecond < 1 || input.requestsPerSecond > 100_000) {
    throw new InvalidArgumentError('requestsPerSecond must be an integer in [1, 100000]');
  }
  const quota: QuotaRecord = {
    id: quotaId(input.principal),
    principal: input.principal,
    requestsPerSecond: input.requestsPerSecond,
    createdMs: by.clock.nowMs(),
    createdBy: by.principal,
  };
  await store.putQuota(quota);
  return quota;
}

/** Deletes the quota; ACL_NOT_FOUND if there is none. */
export async function deleteQuota(store: AccessStore, id: string): Promise<void> {
  if (!(await store.deleteQuota(id))) {
    throw new SluiceError('ACL_NOT_FOUND', `no quota has id ${id}`, { details: { id } });
  }
}

/** Deletes the entry; ACL_NOT_FOUND if there is none. */
export async function deleteAcl(store: AccessStore, id: string): Promise<void> {
  if (!(await store.deleteAcl(id))) {
    throw new SluiceError('ACL_NOT_FOUND', `no ACL entry has id ${id}`, { details: { id } });
  }
}
