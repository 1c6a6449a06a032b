/**
 * The binary form of a stored produce answer (an idempotency record's or a producer slot's).
 * The dedupe item is rewritten by every idempotent call and DynamoDB bills it by size, so the
 * answer is packed: the raw 32-byte request hash, each topic name once, varint partitions
 * and base offsets, one raw byte per record for the chunk it went to (two, little-endian,
 * when the call has more than 256 chunks: `encodeChunkOrder`). A 64-record call over 12
 * partitions stores ~180 bytes instead of ~700 as document attributes.
 *
 *   u8 version (1) · b64 hash · varint nTopics · (bytes name)* ·
 *   varint nChunks · (varint topic · varint partition · varint base)* · b64 order
 *   where bytes = varint length · raw bytes, and b64 = u8 form · bytes: form 0 holds the
 *   decoded bytes of canonical base64, form 1 any other string as UTF-8 (kept exactly)
 */
import { BinaryReader, BinaryWriter } from './binary';
import type { StoredProduceResult } from './ports';

const VERSION = 1;
const WHAT = 'stored produce answer';

/** Canonical base64 as its decoded bytes (form 0), any other string as UTF-8 (form 1). */
function writeBase64(w: BinaryWriter, text: string): BinaryWriter {
  const raw = Buffer.from(text, 'base64');
  return raw.toString('base64') === text ? w.varint(0).bytes(raw) : w.varint(1).bytes(Buffer.from(text, 'utf8'));
}

function readBase64(r: BinaryReader): string {
  const form = r.varint();
  const b = Buffer.from(r.bytes());
  if (form > 1) throw r.error(`has unknown text form ${form}`);
  return form === 0 ? b.toString('base64') : b.toString('utf8');
}

/** Packs an answer, optionally prefixed by a producer sequence. */
export function encodeStoredResult(result: StoredProduceResult, sequence?: number): Uint8Array {
  const w = new BinaryWriter();
  if (sequence !== undefined) w.varint(sequence);
  writeBase64(w.varint(VERSION), result.requestHash);
  const topics: string[] = [];
  for (const c of result.chunks) if (!topics.includes(c.topic)) topics.push(c.topic);
  w.varint(topics.length);
  for (const t of topics) w.bytes(Buffer.from(t, 'utf8'));
  w.varint(result.chunks.length);
  for (const c of result.chunks) w.varint(topics.indexOf(c.topic)).varint(c.partition).varint(c.baseOffset);
  return writeBase64(w, result.order).done();
}

/** Unpacks an answer written by `encodeStoredResult` (with the sequence if it was given one). */
export function decodeStoredResult(bytes: Uint8Array, withSequence: true): StoredProduceResult & { sequence: number };
export function decodeStoredResult(bytes: Uint8Array, withSequence?: false): StoredProduceResult;
export function decodeStoredResult(
  bytes: Uint8Array,
  withSequence = false,
): StoredProduceResult & { sequence?: number } {
  const r = new BinaryReader(bytes, WHAT);
  const sequence = withSequence ? r.varint() : undefined;
  const version = r.varint();
  if (version !== VERSION) throw r.error(`has unknown version ${version}`);
  const requestHash = readBase64(r);
  const topics: string[] = [];
  for (let n = r.varint(); n > 0; n--) topics.push(Buffer.from(r.bytes()).toString('utf8'));
  const chunks: { topic: string; partition: number; baseOffset: number }[] = [];
  for (let n = r.varint(); n > 0; n--) {
    const topic = topics[r.varint()];
    if (topic === undefined) throw r.error('names an unknown topic');
    chunks.push({ topic, partition: r.varint(), baseOffset: r.varint() });
  }
  const order = readBase64(r);
  r.end();
  return { ...(sequence !== undefined ? { sequence } : {}), requestHash, chunks, order };
}

/**
 * The chunk of each record (request order) as base64: one byte each when the call has at
 * most 256 chunks, else two (little-endian). The width follows from the chunk count, which
 * the stored answer holds.
 */
export function encodeChunkOrder(order: ArrayLike<number>, chunks: number): string {
  const wide = chunks > 256;
  const bytes = Buffer.alloc(order.length * (wide ? 2 : 1));
  for (let i = 0; i < order.length; i++) {
    if (wide) bytes.writeUInt16LE(order[i] as number, 2 * i);
    else bytes[i] = order[i] as number;
  }
  return bytes.toString('base64');
}

/** The inverse of `encodeChunkOrder`. */
export function decodeChunkOrder(b64: string, chunks: number): Uint16Array {
  const bytes = Buffer.from(b64, 'base64');
  if (chunks <= 256) return Uint16Array.from(bytes);
  const out = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readUInt16LE(2 * i);
  return out;
}
