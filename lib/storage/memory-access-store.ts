import type { AclRecord, QuotaRecord } from '../access/model';
import type { AccessStore } from './ports';

/** In-memory `AccessStore` with the same conditions as `DynamoAccessStore`. */
export class MemoryAccessStore implements AccessStore {
  private readonly acls = new Map<string, AclRecord>();
  private readonly quotas = new Map<string, QuotaRecord>();
  private readonly counters = new Map<string, number>();

  async putAcl(acl: AclRecord): Promise<'created' | 'exists'> {
    if (this.acls.has(acl.id)) return 'exists';
    this.acls.set(acl.id, structuredClone(acl));
    return 'created';
  }

  async listAcls(): Promise<AclRecord[]> {
    return [...this.acls.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((a) => structuredClone(a));
  }

  async deleteAcl(id: string): Promise<boolean> {
    return this.acls.delete(id);
  }

  async putQuota(quota: QuotaRecord): Promise<void> {
    this.quotas.set(quota.id, { ...quota });
  }

  async listQuotas(): Promise<QuotaRecord[]> {
    return [...this.quotas.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((q) => ({ ...q }));
  }

  async deleteQuota(id: string): Promise<boolean> {
    return this.quotas.delete(id);
  }

  async countRequest(scope: string, second: number, limit: number): Promise<boolean> {
    const key = `${scope}#${second}`;
    const n = this.counters.get(key) ?? 0;
    if (n >= limit) return false;
    this.counters.set(key, n + 1);
    return true;
  }
}
