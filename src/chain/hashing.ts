// The storage hashers TFChain (Substrate) uses: Twox128 for pallet and item names, Blake2_128Concat for
// map keys. xxHash64 is written out with BigInt because its inputs here are a few dozen bytes at most
// and it spares a dependency.
import { blake2b } from '@noble/hashes/blake2.js';

const MASK = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;
const mul = (a: bigint, b: bigint): bigint => (a * b) & MASK;
const add = (a: bigint, b: bigint): bigint => (a + b) & MASK;

function round(acc: bigint, lane: bigint): bigint {
  return mul(rotl(add(acc, mul(lane, P2)), 31n), P1);
}

function mergeRound(acc: bigint, lane: bigint): bigint {
  return add(mul(acc ^ round(0n, lane), P1), P4);
}

/** XXH64 of `data` with a 64-bit seed. */
export function xxhash64(data: Uint8Array, seed: bigint = 0n): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u64 = (at: number): bigint => view.getBigUint64(at, true);
  const len = data.length;
  let at = 0;
  let h: bigint;
  if (len >= 32) {
    const v = [add(add(seed, P1), P2), add(seed, P2), seed, (seed - P1) & MASK];
    for (; at + 32 <= len; at += 32) {
      for (let i = 0; i < 4; i++) v[i] = round(v[i]!, u64(at + 8 * i));
    }
    h = add(add(rotl(v[0]!, 1n), rotl(v[1]!, 7n)), add(rotl(v[2]!, 12n), rotl(v[3]!, 18n)));
    for (const lane of v) h = mergeRound(h, lane);
  } else {
    h = add(seed, P5);
  }
  h = add(h, BigInt(len));
  for (; at + 8 <= len; at += 8) h = add(mul(rotl(h ^ round(0n, u64(at)), 27n), P1), P4);
  if (at + 4 <= len) {
    h = add(mul(rotl(h ^ mul(BigInt(view.getUint32(at, true)), P1), 23n), P2), P3);
    at += 4;
  }
  for (; at < len; at++) h = mul(rotl(h ^ mul(BigInt(data[at]!), P5), 11n), P1);
  h = mul(h ^ (h >> 33n), P2);
  h = mul(h ^ (h >> 29n), P3);
  return h ^ (h >> 32n);
}

/** Substrate's Twox128: XXH64 with seeds 0 and 1, each written little-endian. */
export function twox128(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, xxhash64(bytes, 0n), true);
  view.setBigUint64(8, xxhash64(bytes, 1n), true);
  return out;
}

/** blake2b-128 of the SCALE-encoded key followed by the key itself, so keys can be read back from storage. */
export function blake2_128Concat(encodedKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + encodedKey.length);
  out.set(blake2b(encodedKey, { dkLen: 16 }));
  out.set(encodedKey, 16);
  return out;
}
