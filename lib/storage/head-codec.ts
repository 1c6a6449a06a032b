/**
 * The binary form of a head shard's partition heads (layout version 5): the attribute `h` of
 * the shard's item, rewritten whole by every commit to the shard and by every trim of it.
 * DynamoDB bills that write per started KB (doubled in the commit's transaction), so the
 * heads are packed column by column as deltas from the neighbouring partition: partitions of
 * one topic grow alike, so a full shard of 48 busy partitions packs into ~600 bytes (one KB,
 * 2 units in a commit), where one number attribute per field cost ~1.9 KB (4 units).
 *
 *   u8 version (1) · deltas nextOffset · deltas startOffset · deltas bytes · deltas maxTimestamp + 1
 *   (each list as long as the shard's last written partition + 1: untouched partitions at the
 *   end of a shard cost nothing; `deltas` is `BinaryWriter.deltas`)
 *
 * The encoding is canonical (one byte string per set of heads), so a writer's condition
 * "the heads are still the ones I read" is an equality on the bytes it would write for them.
 */
import { BinaryReader, BinaryWriter } from './binary';
import { HEAD_SHARD_SIZE } from './layout';
import { EMPTY_HEAD, type PartitionHead } from './ports';

const VERSION = 1;

function isEmpty(h: PartitionHead): boolean {
  return h.nextOffset === 0 && h.startOffset === 0 && h.bytes === 0 && h.maxTimestamp === -1;
}

/** Packs a shard's heads (`HEAD_SHARD_SIZE` of them, or fewer: the rest are empty). */
export function encodeHeads(heads: readonly PartitionHead[]): Uint8Array {
  let used = heads.length;
  while (used > 0 && isEmpty(heads[used - 1] as PartitionHead)) used--;
  const list = heads.slice(0, used);
  return new BinaryWriter()
    .varint(VERSION)
    .deltas(list.map((h) => h.nextOffset))
    .deltas(list.map((h) => h.startOffset))
    .deltas(list.map((h) => h.bytes))
    .deltas(list.map((h) => h.maxTimestamp + 1))
    .done();
}

/** Unpacks `encodeHeads` into all `HEAD_SHARD_SIZE` heads of the shard. */
export function decodeHeads(bytes: Uint8Array, what: string): PartitionHead[] {
  const r = new BinaryReader(bytes, what);
  const version = r.varint();
  if (version !== VERSION) throw r.error(`has unknown version ${version}`);
  const next = r.deltas();
  const start = r.deltas();
  const size = r.deltas();
  const ts = r.deltas();
  r.end();
  const n = next.length;
  if (n > HEAD_SHARD_SIZE || start.length !== n || size.length !== n || ts.length !== n) {
    throw r.error('has head lists of different lengths');
  }
  return Array.from({ length: HEAD_SHARD_SIZE }, (_, i) =>
    i < n
      ? {
          nextOffset: next[i] as number,
          startOffset: start[i] as number,
          bytes: size[i] as number,
          maxTimestamp: (ts[i] as number) - 1,
        }
      : EMPTY_HEAD,
  );
}

/** True when the heads are those of a shard nobody wrote to. */
export function allEmpty(heads: readonly PartitionHead[]): boolean {
  return heads.every(isEmpty);
}
