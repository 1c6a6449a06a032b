/**
 * Packed binary attributes: unsigned LEB128 varints (any safe integer), length-prefixed
 * bytes. DynamoDB bills items by size, so items written on every call (dedupe answers, call
 * items) are packed with these instead of document attributes. A reader names what it reads,
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

  end(): void {
    if (this.pos !== this.buf.byteLength) throw this.error('has trailing bytes');
  }

  error(problem: string): InternalError {
    return new InternalError(`${this.what} ${problem}`);
  }
}
