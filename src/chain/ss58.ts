// SS58 account addresses (Substrate's base58 with a blake2b checksum), for the simple one-byte network
// prefixes (0-63); TFChain uses the generic prefix 42.
import { blake2b } from '@noble/hashes/blake2.js';

export const TFCHAIN_SS58_PREFIX = 42;

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const CONTEXT = new TextEncoder().encode('SS58PRE');

export class Ss58Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Ss58Error';
  }
}

function base58Encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out = '1' + out;
  return out;
}

function base58Decode(text: string): Uint8Array {
  let n = 0n;
  for (const [i, ch] of [...text].entries()) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) throw new Ss58Error(`not base58: unexpected character at position ${i + 1}`);
    n = n * 58n + BigInt(digit);
  }
  const body: number[] = [];
  for (; n > 0n; n >>= 8n) body.unshift(Number(n & 0xffn));
  let zeros = 0;
  while (text[zeros] === '1') zeros++;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

function checksum(payload: Uint8Array): Uint8Array {
  const input = new Uint8Array(CONTEXT.length + payload.length);
  input.set(CONTEXT);
  input.set(payload, CONTEXT.length);
  return blake2b(input, { dkLen: 64 }).subarray(0, 2);
}

export function encodeSs58(accountKey: Uint8Array, prefix = TFCHAIN_SS58_PREFIX): string {
  if (accountKey.length !== 32) throw new Ss58Error(`an account key is 32 bytes, got ${accountKey.length}`);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 63) throw new Ss58Error(`unsupported SS58 prefix ${prefix}`);
  const payload = new Uint8Array(33);
  payload[0] = prefix;
  payload.set(accountKey, 1);
  const full = new Uint8Array(35);
  full.set(payload);
  full.set(checksum(payload), 33);
  return base58Encode(full);
}

/** The 32-byte account key of an SS58 address; the prefix must be the expected one. */
export function decodeSs58(address: string, prefix = TFCHAIN_SS58_PREFIX): Uint8Array {
  const full = base58Decode(address);
  if (full.length !== 35) throw new Ss58Error(`not a 32-byte SS58 account address (${full.length} bytes decoded)`);
  if (full[0] !== prefix) throw new Ss58Error(`SS58 network prefix is ${full[0]}, expected ${prefix}`);
  const sum = checksum(full.subarray(0, 33));
  if (sum[0] !== full[33] || sum[1] !== full[34]) throw new Ss58Error('SS58 checksum mismatch');
  return full.slice(1, 33);
}
