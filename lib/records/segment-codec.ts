/**
 * Segment format v1.
 *
 * A segment is one immutable S3 object written by one produce call. It holds one chunk
 * per (topic, partition) the call touched. Each chunk is self-describing and carries its
 * own CRC, so a reader Range-GETs only its chunk's bytes (the index stores the range)
 * and validates them without the rest of the object. Record offsets inside a chunk are
 * relative (0..recordCount-1): absolute offsets are assigned later, at commit, so a lost
 * commit race never forces a re-encode or a second PUT.
 *
 * All integers are big-endian. "i64" timestamps are non-negative milliseconds < 2^53,
 * written as two u32 (high, low).
 *
 * Segment header (16 bytes)
 *   off  size  field
 *   0    4     magic            "SLCS" (0x53 0x4C 0x43 0x53)
 *   4    1     version          1
 *   5    1     flags            0 (reserved)
 *   6    2     reserved         0
 *   8    4     chunkCount       u32
 *   12   4     headerCrc        CRC-32 (IEEE, as zlib) of bytes [0, 12)
 *
 * Chunk (repeated chunkCount times, back to back, starting at byte 16)
 *   off  size  field
 *   0    4     chunkLength      u32, bytes of the whole chunk including this field
 *   4    4     crc              CRC-32 of bytes [8, chunkLength) of the chunk
 *   8    1     magic            0xC1 (chunk format 1)
 *   9    1     codec            0 = none, 1 = gzip (2 = zstd, 3 = lz4 reserved)
 *   10   2     flags            0 (reserved)
 *   12   16    topicId          UUID bytes
 *   28   4     partition        u32
 *   32   4     recordCount      u32 (>= 1)
 *   36   8     minTimestamp     i64
 *   44   8     maxTimestamp     i64
 *   52   4     recordsLength    u32, length of the records section before compression
 *   56   ...   records section  (compressed with `codec`), recordCount records:
 *
 * Record (inside the records section)
 *   size  field
 *   4     offsetDelta        u32, equals the record's index in the chunk
 *   8     timestamp          i64
 *   4     keyLength          i32, -1 = null key
 *   n     key
 *   4     valueLength        i32, -1 = null value
 *   n     value
 *   2     headerCount        u16
 *   per header:
 *     2   nameLength         u16
 *     n   name               UTF-8
 *     4   valueLength        i32, -1 = null
 *     n   value
 *
 * Compatibility: readers reject unknown versions, magics and codecs with CorruptDataError
 * instead of guessing. New codecs take new codec byte values; new fields take a new
 * version. `test/fixtures/segment-v1.hex` pins these bytes.
 */
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { CorruptDataError } from '../errors';
import type { LogRecord, Offset, RecordHeader, RecordInput } from './types';

/** Compression codec of a chunk's records section. */
export type Codec = 'none' | 'gzip';

const SEGMENT_MAGIC = 0x534c4353; // "SLCS"
const SEGMENT_VERSION = 1;
const CHUNK_MAGIC = 0xc1;
/** Bytes of the segment header. */
export const SEGMENT_HEADER_BYTES = 16;
/** Bytes of a chunk header (before the records section). */
export const CHUNK_HEADER_BYTES = 56;
const CODEC_BYTE: Record<Codec, number> = { none: 0, gzip: 1 };
const TWO_32 = 2 ** 32;

/** The records of one (topic, partition) to place in a segment. */
export interface ChunkInput {
  readonly topicId: string;
  readonly partition: number;
  readonly records: readonly RecordInput[];
}

/** Where a chunk landed inside the encoded segment, and its summary for the index. */
export interface ChunkLocation {
  readonly topicId: string;
  readonly partition: number;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly recordCount: number;
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
}

/** A decoded chunk header. */
export interface ChunkHeader {
  readonly codec: Codec;
  readonly topicId: string;
  readonly partition: number;
  readonly recordCount: number;
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
  readonly byteLength: number;
}

/** Encodes one segment holding one chunk per input, in input order. */
export function encodeSegment(
  chunks: readonly ChunkInput[],
  codec: Codec = 'none',
): { bytes: Uint8Array; chunks: ChunkLocation[] } {
  const encoded = chunks.map((c) => encodeChunk(c, codec));
  let total = SEGMENT_HEADER_BYTES;
  for (const e of encoded) total += e.bytes.byteLength;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(SEGMENT_MAGIC, 0);
  out.writeUInt8(SEGMENT_VERSION, 4);
  out.writeUInt8(0, 5);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(chunks.length, 8);
  out.writeUInt32BE(crc32(out.subarray(0, 12)), 12);
  let pos = SEGMENT_HEADER_BYTES;
  const locations: ChunkLocation[] = [];
  for (const e of encoded) {
    out.set(e.bytes, pos);
    locations.push({ ...e.summary, byteOffset: pos, byteLength: e.bytes.byteLength });
    pos += e.bytes.byteLength;
  }
  return { bytes: out, chunks: locations };
}

function encodeChunk(
  input: ChunkInput,
  codec: Codec,
): { bytes: Buffer; summary: Omit<ChunkLocation, 'byteOffset' | 'byteLength'> } {
  const { records } = input;
  if (records.length === 0) throw new RangeError('a chunk holds at least one record');
  let size = 0;
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  const headerNames: Buffer[][] = [];
  for (const r of records) {
    size += 4 + 8 + 4 + (r.key?.byteLength ?? 0) + 4 + (r.value?.byteLength ?? 0) + 2;
    const names: Buffer[] = [];
    for (const [name, value] of r.headers) {
      const nb = Buffer.from(name, 'utf8');
      names.push(nb);
      size += 2 + nb.byteLength + 4 + (value?.byteLength ?? 0);
    }
    headerNames.push(names);
    if (r.timestamp < minTs) minTs = r.timestamp;
    if (r.timestamp > maxTs) maxTs = r.timestamp;
  }
  const body = Buffer.allocUnsafe(size);
  let p = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RecordInput;
    body.writeUInt32BE(i, p);
    p = writeI64(body, r.timestamp, p + 4);
    p = writeBytes(body, r.key, p);
    p = writeBytes(body, r.value, p);
    body.writeUInt16BE(r.headers.length, p);
    p += 2;
    const names = headerNames[i] as Buffer[];
    for (let h = 0; h < r.headers.length; h++) {
      const nb = names[h] as Buffer;
      body.writeUInt16BE(nb.byteLength, p);
      body.set(nb, p + 2);
      p = writeBytes(body, (r.headers[h] as RecordHeader)[1], p + 2 + nb.byteLength);
    }
  }
  const section = codec === 'gzip' ? gzipSync(body) : body;
  const chunkLength = CHUNK_HEADER_BYTES + section.byteLength;
  const out = Buffer.allocUnsafe(chunkLength);
  out.writeUInt32BE(chunkLength, 0);
  out.writeUInt8(CHUNK_MAGIC, 8);
  out.writeUInt8(CODEC_BYTE[codec], 9);
  out.writeUInt16BE(0, 10);
  uuidToBytes(input.topicId).copy(out, 12);
  out.writeUInt32BE(input.partition, 28);
  out.writeUInt32BE(records.length, 32);
  writeI64(out, minTs, 36);
  writeI64(out, maxTs, 44);
  out.writeUInt32BE(size, 52);
  out.set(section, CHUNK_HEADER_BYTES);
  out.writeUInt32BE(crc32(out.subarray(8)), 4);
  return {
    bytes: out,
    summary: {
      topicId: input.topicId,
      partition: input.partition,
      recordCount: records.length,
      minTimestamp: minTs,
      maxTimestamp: maxTs,
    },
  };
}

/**
 * Validates and reads a chunk header. `bytes` must be exactly one chunk (as Range-GET
 * from the index's byte range). Throws CorruptDataError on any mismatch.
 */
export function readChunkHeader(bytes: Uint8Array): ChunkHeader {
  const buf = asBuffer(bytes);
  if (buf.byteLength < CHUNK_HEADER_BYTES) throw corrupt(`chunk of ${buf.byteLength} bytes is shorter than its header`);
  const chunkLength = buf.readUInt32BE(0);
  if (chunkLength !== buf.byteLength)
    throw corrupt(`chunk length field ${chunkLength} does not match ${buf.byteLength} bytes read`);
  if (buf.readUInt32BE(4) !== crc32(buf.subarray(8))) throw corrupt('chunk CRC mismatch');
  if (buf.readUInt8(8) !== CHUNK_MAGIC) throw corrupt(`unknown chunk magic 0x${buf.readUInt8(8).toString(16)}`);
  const codecByte = buf.readUInt8(9);
  const codec = codecByte === 0 ? 'none' : codecByte === 1 ? 'gzip' : undefined;
  if (!codec) throw corrupt(`unknown codec ${codecByte}`);
  return {
    codec,
    topicId: bytesToUuid(buf.subarray(12, 28)),
    partition: buf.readUInt32BE(28),
    recordCount: buf.readUInt32BE(32),
    minTimestamp: readI64(buf, 36),
    maxTimestamp: readI64(buf, 44),
    byteLength: chunkLength,
  };
}

/**
 * Decodes one chunk into records with absolute offsets `baseOffset + i`. Verifies the
 * CRC first; key/value/header bytes are views into `bytes` (no copy).
 */
export function decodeChunk(bytes: Uint8Array, baseOffset: number): { header: ChunkHeader; records: LogRecord[] } {
  const header = readChunkHeader(bytes);
  const buf = asBuffer(bytes);
  const expected = buf.readUInt32BE(52);
  let body: Buffer;
  if (header.codec === 'gzip') {
    try {
      body = gunzipSync(buf.subarray(CHUNK_HEADER_BYTES));
    } catch (e) {
      throw corrupt(`gzip section does not inflate: ${(e as Error).message}`);
    }
  } else body = buf.subarray(CHUNK_HEADER_BYTES);
  if (body.byteLength !== expected)
    throw corrupt(`records section is ${body.byteLength} bytes, header says ${expected}`);
  const records: LogRecord[] = new Array(header.recordCount);
  let p = 0;
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const delta = body.readUInt32BE(p);
      if (delta !== i) throw corrupt(`record ${i} has offset delta ${delta}`);
      const timestamp = readI64(body, p + 4);
      p += 12;
      const key = readBytes(body, p);
      p = key.next;
      const value = readBytes(body, p);
      p = value.next;
      const headerCount = body.readUInt16BE(p);
      p += 2;
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const nameLength = body.readUInt16BE(p);
        const nameEnd = p + 2 + nameLength;
        if (nameEnd > body.byteLength) throw corrupt('header name overruns the chunk');
        const name = body.toString('utf8', p + 2, nameEnd);
        const v = readBytes(body, nameEnd);
        p = v.next;
        headers.push([name, v.bytes]);
      }
      records[i] = { offset: (baseOffset + i) as Offset, timestamp, key: key.bytes, value: value.bytes, headers };
    }
  } catch (e) {
    if (e instanceof CorruptDataError) throw e;
    throw corrupt(`record section is malformed: ${(e as Error).message}`);
  }
  if (p !== body.byteLength) throw corrupt(`${body.byteLength - p} trailing bytes after the last record`);
  return { header, records };
}

/** Walks a whole segment object and returns the location of every chunk (tools, GC). */
export function listChunks(bytes: Uint8Array): ChunkLocation[] {
  const buf = asBuffer(bytes);
  if (buf.byteLength < SEGMENT_HEADER_BYTES) throw corrupt('segment shorter than its header');
  if (buf.readUInt32BE(0) !== SEGMENT_MAGIC) throw corrupt('not a Sluice segment (bad magic)');
  if (buf.readUInt8(4) !== SEGMENT_VERSION) throw corrupt(`unsupported segment version ${buf.readUInt8(4)}`);
  if (buf.readUInt32BE(12) !== crc32(buf.subarray(0, 12))) throw corrupt('segment header CRC mismatch');
  const count = buf.readUInt32BE(8);
  const out: ChunkLocation[] = [];
  let pos = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > buf.byteLength) throw corrupt('segment truncated');
    const len = buf.readUInt32BE(pos);
    if (pos + len > buf.byteLength) throw corrupt('segment truncated inside a chunk');
    const h = readChunkHeader(buf.subarray(pos, pos + len));
    out.push({
      topicId: h.topicId,
      partition: h.partition,
      byteOffset: pos,
      byteLength: len,
      recordCount: h.recordCount,
      minTimestamp: h.minTimestamp,
      maxTimestamp: h.maxTimestamp,
    });
    pos += len;
  }
  if (pos !== buf.byteLength) throw corrupt('trailing bytes after the last chunk');
  return out;
}

function corrupt(message: string): CorruptDataError {
  return new CorruptDataError(message);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function writeI64(buf: Buffer, v: number, p: number): number {
  buf.writeUInt32BE(Math.floor(v / TWO_32), p);
  buf.writeUInt32BE(v >>> 0, p + 4);
  return p + 8;
}

function readI64(buf: Buffer, p: number): number {
  return buf.readUInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4);
}

function writeBytes(buf: Buffer, bytes: Uint8Array | null, p: number): number {
  if (bytes === null) {
    buf.writeInt32BE(-1, p);
    return p + 4;
  }
  buf.writeInt32BE(bytes.byteLength, p);
  buf.set(bytes, p + 4);
  return p + 4 + bytes.byteLength;
}

function readBytes(buf: Buffer, p: number): { bytes: Uint8Array | null; next: number } {
  const len = buf.readInt32BE(p);
  if (len === -1) return { bytes: null, next: p + 4 };
  if (len < -1 || p + 4 + len > buf.byteLength) throw corrupt(`field length ${len} overruns the chunk`);
  return { bytes: buf.subarray(p + 4, p + 4 + len), next: p + 4 + len };
}

function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new RangeError(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

function bytesToUuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
