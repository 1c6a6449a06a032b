/**
 * The binary form of a stored produce answer (an idempotency record's or a producer slot's).
 * The dedupe item is rewritten by every idempotent call and DynamoDB bills it by size, so the
 * answer is packed: the raw 32-byte request hash, each topic name once, varint partitions
 * and base offsets, one raw byte per record for the chunk it went to. A 64-record call over
 * 12 partitions stores ~180 bytes instead of ~700 as document attributes.
 *
 *   u8 version (1) · b64 hash · varint nTopics · (bytes name)* ·
 *   varint nChunks · (varint topic · varint partition · varint base)* · b64 order
 *   where bytes = varint length · raw bytes, and b64 = u8 form · bytes: form 0 holds the
 *   decoded bytes of canonical base64, form 1 any other string as UTF-8 (kept exactly)
 */
import { InternalError } from '../errors';
import type { StoredProduceResult } from './ports';

const VERSION = 1;

class Writer {
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

  base64(text: string): this {
    const raw = Buffer.from(text, 'base64');
    return raw.toString('base64') === text
      ? this.varint(0).bytes(raw)
      : this.varint(1).bytes(Buffer.from(text, 'utf8'));
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.byteLength) throw new InternalError('stored produce answer is truncated');
      const b = this.buf[this.pos++] as number;
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new InternalError('stored produce answer has an overlong varint');
    }
    return n;
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.byteLength) throw new InternalError('stored produce answer is truncated');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  base64(): string {
    const form = this.varint();
    const b = Buffer.from(this.bytes());
    if (form > 1) throw new InternalError(`stored produce answer has unknown text form ${form}`);
    return form === 0 ? b.toString('base64') : b.toString('utf8');
  }

  end(): void {
    if (this.pos !== this.buf.byteLength) throw new InternalError('stored produce answer has trailing bytes');
  }
}

/** Packs an answer, optionally prefixed by a producer sequence. */
export function encodeStoredResult(result: StoredProduceResult, sequence?: number): Uint8Array {
  const w = new Writer();
  if (sequence !== undefined) w.varint(sequence);
  w.varint(VERSION).base64(result.requestHash);
  const topics: string[] = [];
  for (const c of result.chunks) if (!topics.includes(c.topic)) topics.push(c.topic);
  w.varint(topics.length);
  for (const t of topics) w.bytes(Buffer.from(t, 'utf8'));
  w.varint(result.chunks.length);
  for (const c of result.chunks) w.varint(topics.indexOf(c.topic)).varint(c.partition).varint(c.baseOffset);
  return w.base64(result.order).done();
}

/** Unpacks an answer written by `encodeStoredResult` (with the sequence if it was given one). */
export function decodeStoredResult(bytes: Uint8Array, withSequence: true): StoredProduceResult & { sequence: number };
export function decodeStoredResult(bytes: Uint8Array, withSequence?: false): StoredProduceResult;
export function decodeStoredResult(
  bytes: Uint8Array,
  withSequence = false,
): StoredProduceResult & { sequence?: number } {
  const r = new Reader(bytes);
  const sequence = withSequence ? r.varint() : undefined;
  const version = r.varint();
  if (version !== VERSION) throw new InternalError(`stored produce answer has unknown version ${version}`);
  const requestHash = r.base64();
  const topics: string[] = [];
  for (let n = r.varint(); n > 0; n--) topics.push(Buffer.from(r.bytes()).toString('utf8'));
  const chunks: { topic: string; partition: number; baseOffset: number }[] = [];
  for (let n = r.varint(); n > 0; n--) {
    const topic = topics[r.varint()];
    if (topic === undefined) throw new InternalError('stored produce answer names an unknown topic');
    chunks.push({ topic, partition: r.varint(), baseOffset: r.varint() });
  }
  const order = r.base64();
  r.end();
  return { ...(sequence !== undefined ? { sequence } : {}), requestHash, chunks, order };
}
