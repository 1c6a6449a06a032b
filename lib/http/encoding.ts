/**
 * Keys, values and header values travel as strings: UTF-8 text by default, base64 with
 * `encoding=base64`. Base64 is checked strictly (a typo is an error, not silent garbage).
 */
import { InvalidArgumentError } from '../errors';

/** How bytes are written in JSON. */
export type Encoding = 'utf8' | 'base64';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes of a JSON string field; `where` names the field in errors. */
export function decodeField(s: string | null | undefined, encoding: Encoding, where: string): Uint8Array | null {
  if (s === null || s === undefined) return null;
  if (encoding === 'utf8') return Buffer.from(s, 'utf8');
  if (!BASE64.test(s)) throw new InvalidArgumentError(`${where} is not valid base64`);
  return Buffer.from(s, 'base64');
}

/** A JSON string for bytes. */
export function encodeField(b: Uint8Array | null, encoding: Encoding): string | null {
  if (b === null) return null;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return encoding === 'utf8' ? buf.toString('utf8') : buf.toString('base64');
}
