import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptDataError } from '../../lib/errors';
import {
  CHUNK_HEADER_BYTES,
  decodeChunk,
  encodeSegment,
  listChunks,
  readChunkHeader,
  SEGMENT_HEADER_BYTES,
} from '../../lib/records/segment-codec';
import type { RecordInput } from '../../lib/records/types';

const T1 = '0f0e0d0c-0b0a-4908-8706-050403020100';
const T2 = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const b = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** The records pinned by the golden fixture: nulls, empty bytes, headers, repeated names. */
function goldenChunks() {
  const r1: RecordInput[] = [
    { key: b('k1'), value: b('hello'), headers: [['h', b('v')]], timestamp: 1_767_225_600_000 },
    { key: null, value: null, headers: [], timestamp: 1_767_225_600_001 },
    {
      key: new Uint8Array(0),
      value: b('x'),
      headers: [
        ['a', null],
        ['a', b('2')],
      ],
      timestamp: 5,
    },
  ];
  const r2: RecordInput[] = [{ key: b('z'), value: b('é'), headers: [], timestamp: 2 ** 52 }];
  return [
    { topicId: T1, partition: 0, records: r1 },
    { topicId: T2, partition: 1023, records: r2 },
  ];
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('segment format v1', () => {
  it('matches the golden bytes fixture (format is pinned)', () => {
    const { bytes } = encodeSegment(goldenChunks(), 'none');
    const golden = readFileSync(new URL('../fixtures/segment-v1.hex', import.meta.url), 'utf8').replace(/\s+/g, '');
    expect(hexOf(bytes)).toBe(golden);
  });

  it('decodes the golden fixture to the original records', () => {
    const golden = Buffer.from(
      readFileSync(new URL('../fixtures/segment-v1.hex', import.meta.url), 'utf8').replace(/\s+/g, ''),
      'hex',
    );
    const locs = listChunks(golden);
    expect(locs.map((l) => [l.topicId, l.partition, l.recordCount])).toEqual([
      [T1, 0, 3],
      [T2, 1023, 1],
    ]);
    const first = locs[0];
    if (!first) throw new Error('no chunk');
    const { records } = decodeChunk(golden.subarray(first.byteOffset, first.byteOffset + first.byteLength), 100);
    expect(records.map((r) => r.offset)).toEqual([100, 101, 102]);
    expect(Buffer.from(records[0]?.value ?? []).toString()).toBe('hello');
    expect(records[1]?.key).toBeNull();
    expect(records[1]?.value).toBeNull();
    expect(records[2]?.key?.byteLength).toBe(0);
    expect(records[2]?.headers.map(([n, v]) => [n, v && Buffer.from(v).toString()])).toEqual([
      ['a', null],
      ['a', '2'],
    ]);
  });

  it.each(['none', 'gzip'] as const)('round-trips every chunk with codec %s, each chunk readable alone', (codec) => {
    const chunks = goldenChunks();
    const { bytes, chunks: locs } = encodeSegment(chunks, codec);
    expect(locs[0]?.byteOffset).toBe(SEGMENT_HEADER_BYTES);
    locs.forEach((loc, i) => {
      const alone = bytes.slice(loc.byteOffset, loc.byteOffset + loc.byteLength);
      const { header, records } = decodeChunk(alone, 7);
      expect(header.codec).toBe(codec);
      const input = chunks[i]?.records ?? [];
      expect(records).toHaveLength(input.length);
      records.forEach((r, j) => {
        const orig = input[j] as RecordInput;
        expect(r.offset).toBe(7 + j);
        expect(r.timestamp).toBe(orig.timestamp);
        expect(r.key === null ? null : hexOf(r.key)).toBe(orig.key === null ? null : hexOf(orig.key));
        expect(r.value === null ? null : hexOf(r.value)).toBe(orig.value === null ? null : hexOf(orig.value));
        expect(r.headers.map(([n, v]) => [n, v && hexOf(v)])).toEqual(orig.headers.map(([n, v]) => [n, v && hexOf(v)]));
      });
      expect(header.minTimestamp).toBe(Math.min(...input.map((r) => r.timestamp)));
      expect(header.maxTimestamp).toBe(Math.max(...input.map((r) => r.timestamp)));
    });
  });

  it('detects any single flipped byte in a chunk (never returns corrupted data)', () => {
    const { bytes, chunks } = encodeSegment(goldenChunks(), 'none');
    const loc = chunks[0];
    if (!loc) throw new Error('no chunk');
    const chunk = bytes.slice(loc.byteOffset, loc.byteOffset + loc.byteLength);
    for (let i = 0; i < chunk.byteLength; i++) {
      const bad = chunk.slice();
      bad[i] = (bad[i] as number) ^ 0x40;
      expect(() => decodeChunk(bad, 0), `byte ${i}`).toThrow(CorruptDataError);
    }
  });

  it('rejects truncated and extended chunks', () => {
    const { bytes, chunks } = encodeSegment(goldenChunks(), 'gzip');
    const loc = chunks[1];
    if (!loc) throw new Error('no chunk');
    const chunk = bytes.slice(loc.byteOffset, loc.byteOffset + loc.byteLength);
    for (const n of [0, 10, CHUNK_HEADER_BYTES - 1, CHUNK_HEADER_BYTES, chunk.byteLength - 1]) {
      expect(() => decodeChunk(chunk.subarray(0, n), 0)).toThrow(CorruptDataError);
    }
    const longer = new Uint8Array(chunk.byteLength + 3);
    longer.set(chunk);
    expect(() => readChunkHeader(longer)).toThrow(CorruptDataError);
  });

  it('rejects an unknown segment version and bad magic', () => {
    const { bytes } = encodeSegment(goldenChunks(), 'none');
    const v2 = Uint8Array.from(bytes);
    v2[4] = 2;
    expect(() => listChunks(v2)).toThrow(CorruptDataError);
    const magic = Uint8Array.from(bytes);
    magic[0] = 0;
    expect(() => listChunks(magic)).toThrow(/magic/);
  });

  it('refuses to encode an empty chunk', () => {
    expect(() => encodeSegment([{ topicId: T1, partition: 0, records: [] }])).toThrow(RangeError);
  });
});
