import type { AclRecord } from '../access/model';
import type { AccessStore } from './ports';

/** In-memory `AccessStore` with the same conditions as `DynamoAccessStore`. */
export class MemoryAccessStore implements AccessStore {
  private readonly acls = new Map<string, AclRecord>();

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
}
