/**
 * The access-control model (ARCHITECTURE §12, Kafka's ACLs over IAM identities): a principal
 * (the IAM identity behind a SigV4 request) may perform operations on resources — topics,
 * consumer groups, subscriptions, the cluster — as granted by ACL entries, each an `allow`
 * or a `deny` for one principal pattern, one resource pattern (a literal name, a name prefix,
 * or `*`) and a set of operations. A deny wins over any allow; admins (the stack's
 * super-users) may do everything. Pure: no storage, no time.
 */
import { createHash } from 'node:crypto';

/** What each kind of resource can be asked to do. */
export const OPERATIONS = {
  /** create: create a topic of this name; produce / consume: records; alter: retention, partitions; delete: the topic or records before an offset */
  topic: ['create', 'describe', 'produce', 'consume', 'alter', 'delete'],
  /** read: join, heartbeat, leave and commit as a member; describe: members, offsets, lag; alter: reset offsets, commit without a member; delete: the group and its offsets */
  group: ['read', 'describe', 'alter', 'delete'],
  /** describe: see it; alter: create, change, enable or disable it; delete: remove it */
  subscription: ['describe', 'alter', 'delete'],
  /** describe: list the ACLs; alter: create and delete ACLs */
  cluster: ['describe', 'alter'],
} as const;

export type ResourceType = keyof typeof OPERATIONS;
export const RESOURCE_TYPES = Object.keys(OPERATIONS) as ResourceType[];
export type Operation = (typeof OPERATIONS)[ResourceType][number];

/** The cluster's one resource name. */
export const CLUSTER = 'cluster';

/** One thing a request needs: `operation` on the resource `type`/`name`. */
export interface Requirement {
  readonly type: ResourceType;
  readonly name: string;
  readonly operation: Operation;
}

/** How an ACL names resources: exactly, or every name starting with `name` (`*` alone: all). */
export type PatternType = 'literal' | 'prefixed';

/** An ACL entry as it is asked for (and declared in CDK). */
export interface AclSpec {
  /**
   * An IAM principal ARN (a role's ARN covers every session of that role), `*` (every
   * authenticated principal), or an ARN prefix ending in `*`.
   */
  readonly principal: string;
  readonly effect: 'allow' | 'deny';
  readonly resourceType: ResourceType;
  /** A topic, group or subscription name, a prefix of one (`pattern: 'prefixed'`), or `*`. */
  readonly resourceName: string;
  readonly pattern: PatternType;
  /** Operations of the resource type, or `all`. */
  readonly operations: readonly (Operation | 'all')[];
}

/** A request quota (Kafka's request quotas): a principal pattern's requests per second, each principal counted alone. */
export interface QuotaSpec {
  readonly principal: string;
  readonly requestsPerSecond: number;
}

/** A stored quota: its id is its principal pattern's. */
export interface QuotaRecord extends QuotaSpec {
  readonly id: string;
  readonly createdMs: number;
  readonly createdBy: string;
}

/** The id of a quota: a hash of its principal pattern (one quota per pattern). */
export function quotaId(principal: string): string {
  return createHash('sha256').update(principal).digest('hex').slice(0, 24);
}

/** The lowest requests-per-second limit of the quotas naming `principal`, if any. */
export function quotaOf(quotas: readonly QuotaSpec[], principal: string): number | undefined {
  const ids = identitiesOf(principal);
  const limits = quotas.filter((q) => principalMatches(q.principal, ids)).map((q) => q.requestsPerSecond);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

/** A stored ACL entry. */
export interface AclRecord extends AclSpec {
  /** Derived from the entry's content: the same entry asked for twice is the same entry. */
  readonly id: string;
  readonly createdMs: number;
  /** The principal that created it. */
  readonly createdBy: string;
}

/** The id of an entry: a hash of its canonical form (creating an ACL twice is idempotent). */
export function aclId(spec: AclSpec): string {
  const canonical = JSON.stringify([
    spec.principal,
    spec.effect,
    spec.resourceType,
    spec.resourceName,
    spec.pattern,
    [...new Set(spec.operations)].sort(),
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 24);
}

/** A principal pattern: an ARN (a `*` at its end makes it a prefix), `*`, or `anonymous`. */
export const PRINCIPAL_PATTERN = '^(\\*|anonymous|arn:[A-Za-z0-9:/+=,.@_-]{1,2040}\\*?)$';

/** A resource pattern: a name or prefix of the topic-name characters, or `*`. */
export const RESOURCE_NAME_PATTERN = '^(\\*|[A-Za-z0-9._-]{1,249})$';

/** What is wrong with a principal pattern (undefined: nothing). */
export function principalProblem(pattern: string): string | undefined {
  if (/\*./.test(pattern)) return 'principal may hold "*" only at its end (a prefix)';
  if (!new RegExp(PRINCIPAL_PATTERN).test(pattern)) {
    return `principal "${pattern.slice(0, 100)}" must be an IAM principal ARN, an ARN prefix ending in "*", or "*"`;
  }
  return undefined;
}

/** The problems of an ACL entry (empty: valid). */
export function aclProblems(spec: AclSpec): string[] {
  const problems: string[] = [];
  const ops: readonly string[] = OPERATIONS[spec.resourceType] ?? [];
  if (!RESOURCE_TYPES.includes(spec.resourceType)) {
    problems.push(`resourceType must be one of ${RESOURCE_TYPES.join(', ')}`);
  }
  for (const op of spec.operations) {
    if (op !== 'all' && !ops.includes(op)) {
      problems.push(`operation "${op}" is not one of ${spec.resourceType}'s: ${[...ops, 'all'].join(', ')}`);
    }
  }
  if (spec.operations.length === 0) problems.push('operations must name at least one operation (or "all")');
  const principal = principalProblem(spec.principal);
  if (principal) problems.push(principal);
  if (spec.resourceType === 'cluster' && spec.resourceName !== CLUSTER && spec.resourceName !== '*') {
    problems.push(`the cluster resource is named "${CLUSTER}"`);
  } else if (!new RegExp(RESOURCE_NAME_PATTERN).test(spec.resourceName)) {
    problems.push('resourceName must be 1-249 of A-Z a-z 0-9 . _ - (a name or a prefix), or "*"');
  }
  return problems;
}

/**
 * The names a caller answers to: its ARN as IAM gives it and, for a role session
 * (`arn:aws:sts::123456789012:assumed-role/orders/i-0abc`), the role itself
 * (`arn:aws:iam::123456789012:role/orders`) — an ACL names roles, not sessions.
 */
export function identitiesOf(principal: string): string[] {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(principal);
  return m ? [principal, `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`] : [principal];
}

/** A role ARN without its path (role names are unique in an account, whatever the path). */
function withoutRolePath(arn: string): string {
  const m = /^(arn:aws[a-z-]*:iam::\d{12}:role\/)(?:.+\/)?([^/]+)$/.exec(arn);
  return m ? `${m[1]}${m[2]}` : arn;
}

function principalMatches(pattern: string, identities: readonly string[]): boolean {
  // "*" is every authenticated principal, not a caller who came with no identity
  if (pattern === '*') return !identities.includes(ANONYMOUS);
  if (pattern.endsWith('*')) return identities.some((id) => id.startsWith(pattern.slice(0, -1)));
  const exact = withoutRolePath(pattern);
  return identities.some((id) => id === pattern || id === exact);
}

function resourceMatches(acl: AclSpec, r: Requirement): boolean {
  if (acl.resourceType !== r.type) return false;
  if (acl.resourceName === '*') return true;
  return acl.pattern === 'prefixed' ? r.name.startsWith(acl.resourceName) : r.name === acl.resourceName;
}

function operationMatches(acl: AclSpec, r: Requirement): boolean {
  if (acl.operations.includes('all') || acl.operations.includes(r.operation)) return true;
  // as in Kafka: any allowed operation on a resource lets the caller describe it
  return r.operation === 'describe' && acl.effect === 'allow';
}

/** The principal of a request that carried no IAM identity (never matched by `*`). */
export const ANONYMOUS = 'anonymous';

/** Who the admins are and what the entries say: decides one requirement. */
export interface Policy {
  /** Principal patterns allowed everything (the stack's `admins`). */
  readonly admins: readonly string[];
  readonly acls: readonly AclSpec[];
}

/** Whether one of the admin patterns names `principal`. */
export function isAdmin(admins: readonly string[], principal: string): boolean {
  const ids = identitiesOf(principal);
  return admins.some((a) => principalMatches(a, ids));
}

/** Whether `principal` may do what `r` asks, and the entry that decided it. */
export function decide(policy: Policy, principal: string, r: Requirement): { allowed: boolean; by?: AclSpec } {
  if (isAdmin(policy.admins, principal)) return { allowed: true };
  const ids = identitiesOf(principal);
  const applicable = policy.acls.filter(
    (a) => principalMatches(a.principal, ids) && resourceMatches(a, r) && operationMatches(a, r),
  );
  const deny = applicable.find((a) => a.effect === 'deny');
  if (deny) return { allowed: false, by: deny };
  const allow = applicable.find((a) => a.effect === 'allow');
  return allow ? { allowed: true, by: allow } : { allowed: false };
}
