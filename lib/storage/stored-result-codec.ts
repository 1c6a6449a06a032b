/**
 * The binary form of a stored produce answer (an idempotency record's or a producer slot's).
 * The dedupe item is rewritten by every idempotent call and DynamoDB bills it by size, so the
 * answer is packed: the raw 32-byte request hash, each topic's route once (name, partition
 * count, sticky partition: a retry of the same request is routed again to the same chunks, see
 * `lib/log/routing.ts`), and the chunks' base offsets as zigzag deltas. Nothing is stored per
 * record or per partition number: a keyed call of 1,500 records over 288 partitions stores
 * ~500 bytes, where version 1 stored a byte per record and the partition of every chunk
 * (~3.3 KB).
 *
 *   u8 version (2) · b64 hash · varint nTopics · (bytes name · varint partitions · varint sticky)* ·
 *   deltas bases
 *   where bytes = varint length · raw bytes, b64 = u8 form · bytes (form 0 holds the decoded
 *   bytes of canonical base64, form 1 any other string as UTF-8, kept exactly), and deltas =
 *   varint n · (zigzag varint difference from the previous base, the first from 0)*
 */
import { BinaryReader, BinaryWriter } from './binary';
import type { StoredProduceResult } from './ports';

const VERSION = 2;
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
  w.varint(result.routes.length);
  for (const t of result.routes) w.bytes(Buffer.from(t.topic, 'utf8')).varint(t.partitions).varint(t.sticky);
  return w.deltas(result.bases).done();
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
  const routes: StoredProduceResult['routes'][number][] = [];
  for (let n = r.varint(); n > 0; n--) {
    routes.push({ topic: Buffer.from(r.bytes()).toString('utf8'), partitions: r.varint(), sticky: r.varint() });
  }
  const bases = r.deltas();
  r.end();
  return { ...(sequence !== undefined ? { sequence } : {}), requestHash, routes, bases };
}
