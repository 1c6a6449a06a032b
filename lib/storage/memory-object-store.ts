import type { ObjectInfo, ObjectStore } from './ports';

/** In-memory `ObjectStore` with S3's semantics (create-only puts, ranges, sorted listing). */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Uint8Array>();

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<'created' | 'exists'> {
    if (this.objects.has(key)) return 'exists';
    this.objects.set(key, Uint8Array.from(bytes));
    return 'created';
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined> {
    const o = this.objects.get(key);
    if (!o) return undefined;
    if (start < 0 || end <= start || start >= o.byteLength) {
      throw new RangeError(`range [${start}, ${end}) is not satisfiable for ${o.byteLength} bytes`);
    }
    return o.slice(start, Math.min(end, o.byteLength));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const o = this.objects.get(key);
    return o ? o.slice() : undefined;
  }

  async list(
    prefix: string,
    options: { startAfter?: string; limit?: number } = {},
  ): Promise<{ objects: ObjectInfo[]; nextStartAfter?: string }> {
    const limit = options.limit ?? 1000;
    const all = [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix) && (options.startAfter === undefined || k > options.startAfter))
      .sort();
    const page = all.slice(0, limit).map((key) => ({ key, size: (this.objects.get(key) as Uint8Array).byteLength }));
    const last = page[page.length - 1];
    return all.length > limit && last ? { objects: page, nextStartAfter: last.key } : { objects: page };
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
  }

  /** Number of objects stored (tests). */
  get size(): number {
    return this.objects.size;
  }
}
