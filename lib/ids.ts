import { randomBytes } from 'node:crypto';

/**
 * Randomness is injected: ids are drawn from a `RandomSource` so a simulation with a
 * seeded source reproduces the identical history.
 */
export interface RandomSource {
  /** `n` uniformly random bytes. */
  bytes(n: number): Uint8Array;
}

/** Cryptographically random bytes from the OS. */
export const systemRandom: RandomSource = { bytes: (n) => randomBytes(n) };

/** A deterministic PRNG (xoshiro128**) for simulations; same seed, same bytes. */
export class SeededRandom implements RandomSource {
  private s: Uint32Array;
  constructor(seed: number) {
    // splitmix32 to spread the seed over the state
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  /** Next 32 random bits. */
  nextU32(): number {
    const s = this.s;
    const [s0, s1, s2, s3] = [s[0] as number, s[1] as number, s[2] as number, s[3] as number];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    const n2 = (s2 ^ s0) >>> 0;
    const n3 = (s3 ^ s1) >>> 0;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  }
  /** A float in [0, 1). */
  next(): number {
    return this.nextU32() / 2 ** 32;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.nextU32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, 26 Crockford base32 characters.
 * Ids sort by creation time, which keeps segment keys listable in time order.
 */
export function ulid(nowMs: number, random: RandomSource): string {
  let out = '';
  let t = nowMs;
  const time: string[] = [];
  for (let i = 0; i < 10; i++) {
    time.push(CROCKFORD[t % 32] as string);
    t = Math.floor(t / 32);
  }
  out = time.reverse().join('');
  const r = random.bytes(10);
  // 80 bits -> 16 base32 characters
  let bits = 0;
  let acc = 0;
  for (const byte of r) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** Milliseconds encoded in the first 10 characters of a ULID. */
export function ulidTimeMs(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) {
    const v = CROCKFORD.indexOf(id[i] ?? '');
    if (v < 0) throw new Error(`not a ULID: ${id}`);
    t = t * 32 + v;
  }
  return t;
}

/** A random (version 4) UUID from the given source. */
export function uuidV4(random: RandomSource): string {
  const b = random.bytes(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
