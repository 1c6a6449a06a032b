/**
 * The one place requests are authorized: a principal's requirements are decided against the
 * stored ACL entries (read once per `cacheMs` per process, re-read at once after a change made
 * through this process) and the configured admins. `open` mode allows every authenticated
 * caller everything (a quick start; the README says so), and still names the principal.
 */
import type { Clock } from '../clock';
import { ForbiddenError, RetriableError } from '../errors';
import type { AccessStore } from '../storage/ports';
import {
  type AclRecord,
  decide,
  isAdmin,
  principalProblem,
  type QuotaRecord,
  quotaOf,
  type Requirement,
} from './model';
import { idempotencyScopeOf } from './principal';

/** How a deployment authorizes. */
export interface AccessSettings {
  /** `acl`: only what ACL entries (or `admins`) allow; `open`: every authenticated caller may do everything. */
  readonly mode: 'acl' | 'open';
  /** Principal patterns (ARNs, `*`-suffixed prefixes) allowed everything, e.g. a platform team's role. @default none */
  readonly admins?: readonly string[];
  /**
   * How long a process uses the ACL entries it read before reading them again: a change made
   * elsewhere takes effect within this. @default 5 s
   */
  readonly cacheMs?: number;
}

/** Environment variables of the access settings (set by the stack on the API function). */
export const ACCESS_ENVIRONMENT = { mode: 'SLUICE_ACCESS', admins: 'SLUICE_ADMINS' } as const;

/**
 * The access settings an environment gives: `SLUICE_ACCESS` (`acl` or `open`; absent:
 * `fallback`) and `SLUICE_ADMINS` (comma-separated principal patterns). A wrong value throws.
 */
export function accessSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  fallback: AccessSettings['mode'],
): AccessSettings {
  const mode = env[ACCESS_ENVIRONMENT.mode] || fallback;
  if (mode !== 'acl' && mode !== 'open') {
    throw new Error(`${ACCESS_ENVIRONMENT.mode}=${mode} must be "acl" or "open"`);
  }
  const admins = (env[ACCESS_ENVIRONMENT.admins] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  for (const a of admins) {
    const problem = principalProblem(a);
    if (problem) throw new Error(`${ACCESS_ENVIRONMENT.admins}: ${problem}`);
  }
  return { mode, admins };
}

/** Decides requests; the HTTP app calls it before any use case runs. */
export class Authorizer {
  private cached?: { acls: readonly AclRecord[]; quotas: readonly QuotaRecord[]; atMs: number };
  private loading?: Promise<{ acls: readonly AclRecord[]; quotas: readonly QuotaRecord[] }>;

  constructor(
    readonly settings: AccessSettings,
    private readonly store: AccessStore | undefined,
    private readonly clock: Clock,
  ) {
    if (settings.mode === 'acl' && !store) throw new Error('access mode "acl" needs an ACL store');
  }

  /** Which of `items` the principal may see (listings leave out what it may not describe). */
  async visible<T>(principal: string, items: readonly T[], need: (item: T) => Requirement): Promise<T[]> {
    if (this.settings.mode === 'open' || isAdmin(this.settings.admins ?? [], principal)) return [...items];
    const policy = { admins: this.settings.admins ?? [], acls: await this.acls() };
    return items.filter((i) => decide(policy, principal, need(i)).allowed);
  }

  /** The first requirement not allowed (undefined: all are). */
  async firstDenied(principal: string, requirements: readonly Requirement[]): Promise<Requirement | undefined> {
    if (this.settings.mode === 'open' || requirements.length === 0) return undefined;
    // an admin is allowed without reading the entries
    if (isAdmin(this.settings.admins ?? [], principal)) return undefined;
    const policy = { admins: [], acls: await this.acls() };
    return requirements.find((r) => !decide(policy, principal, r).allowed);
  }

  /**
   * Counts a request of `principal` against its quota, if one names it (one conditional write
   * per request of a quota'd principal; none for anybody else); THROTTLED once it is over.
   * Quotas apply in `acl` mode (in `open` mode nothing is read per request).
   */
  async admit(principal: string): Promise<void> {
    if (this.settings.mode === 'open' || !this.store) return;
    const limit = quotaOf((await this.entries()).quotas, principal);
    if (limit === undefined) return;
    const second = Math.floor(this.clock.nowMs() / 1000);
    if (!(await this.store.countRequest(idempotencyScopeOf(principal), second, limit))) {
      throw new RetriableError(
        'THROTTLED',
        `${principal} is over its quota of ${limit} requests per second; retry after Retry-After`,
      );
    }
  }

  /** Forget the cached entries (this process just changed them). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async acls(): Promise<readonly AclRecord[]> {
    return (await this.entries()).acls;
  }

  /** The ACL entries and quotas, read at most once per `cacheMs` (concurrent requests share one read). */
  private async entries(): Promise<{ acls: readonly AclRecord[]; quotas: readonly QuotaRecord[] }> {
    const now = this.clock.nowMs();
    const cacheMs = this.settings.cacheMs ?? 5000;
    if (this.cached && now - this.cached.atMs < cacheMs) return this.cached;
    const store = this.store as AccessStore;
    this.loading ??= Promise.all([store.listAcls(), store.listQuotas()])
      .then(([acls, quotas]) => ({ acls, quotas }))
      .finally(() => {
        this.loading = undefined;
      });
    const read = await this.loading;
    this.cached = { ...read, atMs: now };
    return read;
  }
}

/** The error of a refused requirement: who, what, and how to get it allowed. */
export function forbidden(principal: string, r: Requirement): ForbiddenError {
  const what = r.type === 'cluster' ? `${r.operation} the cluster's ACLs` : `${r.operation} ${r.type} "${r.name}"`;
  return new ForbiddenError(
    `${principal} may not ${what}; an admin can allow it with an ACL (POST /v1/acls, or EventLog.allow in CDK)`,
    { principal, resourceType: r.type, resourceName: r.name, operation: r.operation },
  );
}
