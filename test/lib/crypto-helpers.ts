// Shared by the crypto vector and differential suites and the crypto bench: locating the shared spec
// data, strict hex, a seeded PRNG, and the @noble reference versions of the primitives noble only
// exposes in a lower-level form (HChaCha20/HSalsa20 on words, WireGuard's HMAC/KDF/MAC).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { hsalsa } from '@noble/ciphers/salsa.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { native, type NativeCrypto } from '../../src/native/binding.js';
export { packageRoot } from '../../src/package-root.js';
import { packageRoot } from '../../src/package-root.js';

export const nc: NativeCrypto = native.crypto;

/** The checkout's root: the nearest package.json above this file that names gridwire. */

/** The read-only project notes, which sit beside the checkout both locally and in CI. */
export function sharedDir(): string {
  const dir = join(packageRoot(), '..', 'shared');
  if (!existsSync(join(dir, 'specs'))) {
    throw new Error(`crypto test vectors not found: expected the shared notes at ${dir} (beside the checkout), with specs/`);
  }
  return dir;
}

export function loadSpecJson<T = any>(relative: string): T {
  const file = join(sharedDir(), 'specs', relative);
  if (!existsSync(file)) throw new Error(`vector file missing: ${file}`);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Buffer.from(s, 'hex') silently stops at the first bad digit, which would turn a typo into a pass. */
export function unhex(s: string): Buffer {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`not a hex string: ${JSON.stringify(s.slice(0, 40))}`);
  return Buffer.from(s, 'hex');
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

// ---------------------------------------------------------------------------------------------------
// Seeded PRNG (xoshiro128**): reproducible runs from one printed 32-bit seed; not for keys.

export function testSeed(): number {
  const env = process.env.GRIDWIRE_TEST_SEED;
  if (env !== undefined && env !== '') {
    const v = Number(env);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new Error(`GRIDWIRE_TEST_SEED must be an integer in 0..2^32-1, got ${env}`);
    }
    return v;
  }
  return randomInt(0, 0x7fffffff);
}

export class Prng {
  private s = new Uint32Array(4);

  constructor(readonly seed: number) {
    // splitmix32 spreads a small seed over the whole state; an all-zero state would stick at zero.
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  u32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in 0..n-1 (n ≤ 2^32; the modulo bias is irrelevant for test inputs). */
  int(n: number): number {
    return this.u32() % n;
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const w = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = w >>> (8 * j);
    }
    return out;
  }

  /**
   * Random bytes as a Buffer, a plain Uint8Array, or a view at an odd offset into a larger buffer,
   * so the addon's handling of byteOffset and of both array kinds is exercised on every input.
   */
  input(n: number): Uint8Array {
    switch (this.int(3)) {
      case 0:
        return Buffer.from(this.bytes(n));
      case 1:
        return this.bytes(n);
      default: {
        const off = 1 + this.int(15);
        return this.bytes(n + off + this.int(8)).subarray(off, off + n);
      }
    }
  }

  flipBit(b: Uint8Array): Uint8Array {
    const copy = Uint8Array.from(b);
    const bit = this.int(b.length * 8);
    copy[bit >> 3] ^= 1 << (bit & 7);
    return copy;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ---------------------------------------------------------------------------------------------------
// @noble references

// "expand 32-byte k": the constant both HChaCha20 and HSalsa20 start from.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

// noble's cores take little-endian words; copying keeps unaligned views and big-endian hosts correct.
function words(b: Uint8Array): Uint32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const w = new Uint32Array(b.length / 4);
  for (let i = 0; i < w.length; i++) w[i] = dv.getUint32(4 * i, true);
  return w;
}

function wordBytes(w: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * w.length);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < w.length; i++) dv.setUint32(4 * i, w[i], true);
  return out;
}

export function nobleHChaCha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const out = new Uint32Array(8);
  hchacha(SIGMA, words(key), words(nonce16), out);
  return wordBytes(out);
}

export function nobleHSalsa20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const out = new Uint32Array(8);
  hsalsa(SIGMA, words(key), words(nonce16), out);
  return wordBytes(out);
}

export function nobleHmacBlake2s(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(blake2s, key, data);
}

/** WireGuard/Noise KDF_n: prk = HMAC(ck, input); T1 = HMAC(prk, 0x01); Ti = HMAC(prk, T(i-1) ‖ i). */
export function nobleKdf(ck: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[] {
  const prk = nobleHmacBlake2s(ck, input);
  const out: Uint8Array[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  for (let i = 1; i <= n; i++) {
    const block = new Uint8Array(prev.length + 1);
    block.set(prev);
    block[prev.length] = i;
    prev = nobleHmacBlake2s(prk, block);
    out.push(prev);
  }
  return out;
}

/** WireGuard's MAC: keyed BLAKE2s with a 16-byte digest (not a truncated 32-byte one). */
export function nobleMac16(key: Uint8Array, data: Uint8Array): Uint8Array {
  return blake2s(data, { key, dkLen: 16 });
}

/** Byte equality reported as hex, so a failure shows both values instead of "Buffer !== Uint8Array". */
export function assertBytes(actual: Uint8Array, expected: Uint8Array | string, what: string): void {
  if (typeof expected !== 'string' && actual.length === expected.length && Buffer.compare(actual, expected) === 0) return;
  const want = typeof expected === 'string' ? expected : toHex(expected);
  if (toHex(actual) !== want) {
    const message = `${what}: bytes differ`;
    throw new assert.AssertionError({ message, actual: toHex(actual), expected: want, operator: 'strictEqual' });
  }
}
