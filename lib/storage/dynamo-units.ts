/**
 * DynamoDB's billing arithmetic, pure (ECONOMICS §1; AWS "Item sizes and formats" and
 * "read/write request units"): the size of an item from its marshalled attributes, and the
 * request units an operation on items of given sizes costs. The emulators' own
 * ConsumedCapacity is wrong for multi-action transactions, so the cost meter computes units
 * with these instead.
 *
 * Sizes: an attribute is its name's UTF-8 bytes plus its value — a string its UTF-8 bytes, a
 * number 1 byte per two significant digits plus 1, binary its raw bytes, null and booleans
 * 1 byte, a list or map 3 bytes plus 1 byte and the size of each element (a map element
 * counts its name too), a set the sum of its members.
 *
 * Units: a write costs 1 per started KB (1,024 bytes) of the item (UpdateItem and a replacing
 * PutItem: of the larger of the item before and after); a strongly consistent read 1 per
 * started 4 KB, an eventually consistent one half that; a Query or Scan sums the sizes of
 * everything it read and rounds once; transactions cost twice, a ConditionCheck like a write.
 */

/** A marshalled attribute value (the AWS SDK's shape; binary as bytes or base64). */
export type AttributeValueLike = {
  readonly S?: string;
  readonly N?: string;
  readonly B?: Uint8Array | string;
  readonly BOOL?: boolean;
  readonly NULL?: boolean;
  readonly SS?: readonly string[];
  readonly NS?: readonly string[];
  readonly BS?: readonly (Uint8Array | string)[];
  readonly L?: readonly AttributeValueLike[];
  readonly M?: Readonly<Record<string, AttributeValueLike>>;
};

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

const binarySize = (b: Uint8Array | string) =>
  typeof b === 'string' ? Buffer.from(b, 'base64').byteLength : b.byteLength;

/** Bytes of a number: 1 per two significant digits (leading and trailing zeroes trimmed), plus 1. */
export function numberSize(n: string): number {
  const digits = n
    .replace(/^[-+]/, '')
    .replace(/[eE][-+]?\d+$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** Bytes of one attribute value (without its name). */
export function valueSize(v: AttributeValueLike): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return binarySize(v.B);
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, b) => n + binarySize(b), 0);
  if (v.L) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((n, [name, e]) => n + 1 + utf8(name) + valueSize(e), 0);
  throw new RangeError(`not a DynamoDB attribute value: ${JSON.stringify(v)}`);
}

/** Bytes of an item: every attribute's name and value. */
export function itemSize(item: Readonly<Record<string, AttributeValueLike>>): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) n += utf8(name) + valueSize(v);
  return n;
}

/** Write units of writing an item of `bytes` (at least 1); `before`: the replaced item's size. */
export function writeUnits(bytes: number, before = 0): number {
  return Math.max(1, Math.ceil(Math.max(bytes, before) / 1024));
}

/** Read units of reading `bytes` (one item, or everything one Query page read), at least 1 (½ if eventual). */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

/** One action of a TransactWriteItems call, by its kind and the sizes it touches. */
export type TransactWriteAction =
  | { readonly kind: 'put' | 'delete' | 'condition'; readonly bytes: number }
  | { readonly kind: 'update'; readonly before: number; readonly after: number };

/** Write units of a TransactWriteItems call: each action like a write, doubled. */
export function transactWriteUnits(actions: readonly TransactWriteAction[]): number {
  return actions.reduce(
    (n, a) => n + 2 * (a.kind === 'update' ? writeUnits(a.after, a.before) : writeUnits(a.bytes)),
    0,
  );
}

/** Read units of a TransactGetItems call: each item read strongly, doubled. */
export function transactReadUnits(itemBytes: readonly number[]): number {
  return itemBytes.reduce((n, b) => n + 2 * readUnits(b, true), 0);
}
