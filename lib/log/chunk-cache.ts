/**
 * A byte-bounded LRU cache of immutable chunk bytes. Segments never change once written,
 * so a cached chunk is never stale; only bytes that passed their CRC check are cached.
 */
export class ChunkCache {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Cache key of a chunk. */
  static key(segmentKey: string, byteOffset: number, byteLength: number): string {
    return `${segmentKey}@${byteOffset}+${byteLength}`;
  }

  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v) {
      // refresh recency
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: Uint8Array): void {
    if (value.byteLength > this.maxBytes || this.entries.has(key)) return;
    this.entries.set(key, value);
    this.bytes += value.byteLength;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.byteLength;
    }
  }

  /** Bytes currently cached. */
  get size(): number {
    return this.bytes;
  }
}
