/**
 * The binary body of a call item (one per produce call per head shard, layout version 3):
 * written on every commit and billed by size, so packed. For a 12-partition call about 250
 * bytes — one write unit for the whole call, where an index entry per chunk cost one each.
 *
 *   u8 version (1) · bytes segmentKey · varint appendMs ·
 *   varint nNexts · (varint next)* ·
 *   varint nChunks · (varint partition − 48·shard · varint records · varint byteOffset ·
 *     varint byteLength · varint minTs · varint maxTs − minTs · varint maxTsSoFar − maxTs)*
 *
 * A chunk's offsets are not stored: it ends where its partition's next offset is after the
 * call (`lastOffset = next − 1`), and holds `records` offsets.
 */
import { InternalError } from '../errors';
import { BinaryReader, BinaryWriter } from './binary';
import { HEAD_SHARD_SIZE } from './layout';
import type { CallRecord, CallRef } from './ports';

const VERSION = 1;

/** Packs a call item's body (everything but its key). */
export function encodeCall(call: CallRecord): Uint8Array {
  const first = call.shard * HEAD_SHARD_SIZE;
  if (call.nexts.length !== HEAD_SHARD_SIZE)
    throw new InternalError(`a call item needs ${HEAD_SHARD_SIZE} next offsets`);
  const w = new BinaryWriter().varint(VERSION).bytes(Buffer.from(call.segmentKey, 'utf8')).varint(call.appendMs);
  w.varint(call.nexts.length);
  for (const n of call.nexts) w.varint(n);
  w.varint(call.chunks.length);
  for (const c of call.chunks) {
    const i = c.partition - first;
    if (
      i < 0 ||
      i >= HEAD_SHARD_SIZE ||
      c.topicId !== call.topicId ||
      c.segmentKey !== call.segmentKey ||
      c.appendMs !== call.appendMs ||
      c.lastOffset + 1 !== call.nexts[i] ||
      c.lastOffset < c.baseOffset
    ) {
      throw new InternalError(`chunk of partition ${c.partition} does not belong to call ${call.shard}/${call.seq}`);
    }
    w.varint(i)
      .varint(c.lastOffset - c.baseOffset + 1)
      .varint(c.byteOffset)
      .varint(c.byteLength)
      .varint(c.minTimestamp)
      .varint(c.maxTimestamp - c.minTimestamp)
      .varint(c.maxTimestampSoFar - c.maxTimestamp);
  }
  return w.done();
}

/** Unpacks a call item's body written by `encodeCall`. */
export function decodeCall(bytes: Uint8Array, topicId: string, shard: number, seq: number): CallRecord {
  const r = new BinaryReader(bytes, `call item ${topicId}/${shard}/${seq}`);
  const version = r.varint();
  if (version !== VERSION) throw r.error(`has unknown version ${version}`);
  const segmentKey = Buffer.from(r.bytes()).toString('utf8');
  const appendMs = r.varint();
  const nexts: number[] = [];
  for (let n = r.varint(); n > 0; n--) nexts.push(r.varint());
  if (nexts.length !== HEAD_SHARD_SIZE) throw r.error(`has ${nexts.length} next offsets`);
  const chunks: CallRecord['chunks'][number][] = [];
  for (let n = r.varint(); n > 0; n--) {
    const i = r.varint();
    const records = r.varint();
    const next = nexts[i];
    if (next === undefined || records < 1 || records > next) throw r.error(`has a bad chunk for slot ${i}`);
    const byteOffset = r.varint();
    const byteLength = r.varint();
    const minTimestamp = r.varint();
    const maxTimestamp = minTimestamp + r.varint();
    const maxTimestampSoFar = maxTimestamp + r.varint();
    chunks.push({
      topicId,
      partition: shard * HEAD_SHARD_SIZE + i,
      baseOffset: next - records,
      lastOffset: next - 1,
      segmentKey,
      byteOffset,
      byteLength,
      minTimestamp,
      maxTimestamp,
      maxTimestampSoFar,
      appendMs,
    });
  }
  r.end();
  return { topicId, shard, seq, segmentKey, appendMs, nexts, chunks };
}

/**
 * The call items a segment-file item names, packed: grouped by topic, so a call over 18
 * head shards of one topic costs the topic id once.
 *
 *   varint nTopics · (bytes topicId · varint nCalls · (varint shard · varint seq)*)*
 */
export function encodeCallRefs(calls: readonly CallRef[]): Uint8Array {
  const byTopic = new Map<string, CallRef[]>();
  for (const c of calls) byTopic.set(c.topicId, [...(byTopic.get(c.topicId) ?? []), c]);
  const w = new BinaryWriter().varint(byTopic.size);
  for (const [topicId, list] of byTopic) {
    w.bytes(Buffer.from(topicId, 'utf8')).varint(list.length);
    for (const c of list) w.varint(c.shard).varint(c.seq);
  }
  return w.done();
}

/** Unpacks `encodeCallRefs`. */
export function decodeCallRefs(bytes: Uint8Array, segmentKey: string): CallRef[] {
  const r = new BinaryReader(bytes, `segment file ${segmentKey}`);
  const out: CallRef[] = [];
  for (let t = r.varint(); t > 0; t--) {
    const topicId = Buffer.from(r.bytes()).toString('utf8');
    for (let n = r.varint(); n > 0; n--) out.push({ topicId, shard: r.varint(), seq: r.varint() });
  }
  r.end();
  return out;
}
