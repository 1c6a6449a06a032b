/**
 * Packed binary attributes: unsigned LEB128 varints (any safe integer), length-prefixed
 * bytes, zigzag signed integers, and lists of offsets as zigzag deltas (`deltas`: offsets of
 * neighbouring partitions are close, so each takes a byte or two instead of four or more).
 * DynamoDB bills items by size, so items written on every call (dedupe answers, call items)
 * are packed with these instead of document attributes. A reader names what it reads,
 * so a truncated or malformed value says which item it was.
 */
import { InternalError } from '../errors';

export class BinaryWriter {
  private readonly parts: number[] = [];

  varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a varint: ${n}`);
    let v = n;
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.varint(b.byteLength);
    for (const x of b) this.parts.push(x);
    return this;
  }

  /** A signed integer of magnitude below 2^52, zigzag-encoded (0, -1, 1, -2 … → 0, 1, 2, 3 …). */
  signed(n: number): this {
    if (!Number.isSafeInteger(n) || Math.abs(n) >= 2 ** 52) throw new RangeError(`not a signed varint: ${n}`);
    return this.varint(n >= 0 ? 2 * n : -2 * n - 1);
  }

  /** A list of non-negative integers below 2^52: its length, then each one's difference from the one before. */
  deltas(ns: readonly number[]): this {
    this.varint(ns.length);
    let prev = 0;
    for (const n of ns) {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a varint: ${n}`);
      this.signed(n - prev);
      prev = n;
    }
    return this;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export class BinaryReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    /** What is being read, for error messages ("stored produce answer"). */
    private readonly what: string,
  ) {}

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.byteLength) throw this.error('is truncated');
      const b = this.buf[this.pos++] as number;
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw this.error('has an overlong varint');
    }
    return n;
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.byteLength) throw this.error('is truncated');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  signed(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  deltas(): number[] {
    const out: number[] = [];
    let prev = 0;
    for (let n = this.varint(); n > 0; n--) {
      prev += this.signed();
      if (prev < 0) throw this.error('has a negative offset');
      out.push(prev);
    }
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.byteLength) throw this.error('has trailing bytes');
  }

  error(problem: string): InternalError {
    return new InternalError(`${this.what} ${problem}`);
  }
}
