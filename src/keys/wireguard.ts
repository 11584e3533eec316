// WireGuard keys as `wg` handles them: X25519 scalars and points exchanged as base64 of 32 bytes.
import { x25519 } from '@noble/curves/ed25519.js';
import { expectLength, KeyFormatError } from './errors.js';

export const KEY_LENGTH = 32;
export const KEY_BASE64_LENGTH = 44;

/** Clamps an X25519 scalar (RFC 7748 §5); returns a copy. */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  const out = Uint8Array.from(expectLength(key, KEY_LENGTH, 'private key'));
  out[0]! &= 248;
  out[31]! &= 127;
  out[31]! |= 64;
  return out;
}

/** A fresh private key, already clamped, because `wg genkey` prints clamped keys. */
export function generatePrivateKey(): Uint8Array {
  return clampPrivateKey(crypto.getRandomValues(new Uint8Array(KEY_LENGTH)));
}

/** A fresh preshared key: 32 random bytes, not clamped (`wg genpsk` does not clamp either). */
export function generatePresharedKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_LENGTH));
}

/** The X25519 public key; the scalar is clamped first, so unclamped input gives wg's answer too. */
export function publicKey(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(expectLength(privateKey, KEY_LENGTH, 'private key'));
}

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(expectLength(key, KEY_LENGTH, 'key')).toString('base64');
}

// The character before '=' carries the last 4 bits of byte 31 plus 2 padding bits; canonical base64
// (and wg) requires those padding bits to be zero, i.e. the character's value is a multiple of 4.
const CANONICAL_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Decodes a base64 key exactly as strictly as wg: standard alphabet, 44 characters with one '=',
 * canonical, nothing around it. Throws KeyFormatError saying what is wrong.
 */
export function decodeKey(text: string): Uint8Array {
  if (CANONICAL_KEY.test(text)) return new Uint8Array(Buffer.from(text, 'base64'));
  if (text.length === 0) throw new KeyFormatError('key is empty');
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) {
    const found = describeChar(text.codePointAt(bad)!);
    throw new KeyFormatError(`key is not base64: unexpected ${found} at position ${bad + 1}`);
  }
  const pad = text.indexOf('=');
  if (!/^[^=]*={0,2}$/.test(text) || (pad >= 0 && text.length % 4 !== 0)) {
    throw new KeyFormatError(`key is not base64: misplaced '=' at position ${pad + 1}`);
  }
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new KeyFormatError(`key is hex (as in the UAPI), expected base64 of ${KEY_BASE64_LENGTH} characters`);
  }
  if (text.length !== KEY_BASE64_LENGTH) {
    throw new KeyFormatError(
      `key has the wrong length: ${text.length} characters, expected ${KEY_BASE64_LENGTH} (base64 of ${KEY_LENGTH} bytes)`,
    );
  }
  if (pad !== KEY_BASE64_LENGTH - 1) {
    const bytes = Math.floor(((pad >= 0 ? pad : text.length) * 6) / 8);
    throw new KeyFormatError(`key decodes to ${bytes} bytes, expected ${KEY_LENGTH}`);
  }
  throw new KeyFormatError(`key is not canonical base64: '${text[42]}' at position 43 has padding bits set`);
}

// C isspace() in the C locale, which wg uses, plus NUL, which `wg pubkey` also skips after the key.
const WG_SPACE = /[\t\n\v\f\r \0]/;

/**
 * Parses a key as `wg pubkey` reads it from standard input: the key must start at the first byte
 * and may be followed only by whitespace or NUL bytes. Accepts exactly the inputs wg accepts.
 */
export function parseKeyText(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && WG_SPACE.test(text[end - 1]!)) end--;
  const key = text.slice(0, end);
  if (key === '') throw new KeyFormatError('key is empty');
  if (WG_SPACE.test(key[0]!)) throw new KeyFormatError('whitespace before the key');
  const keyThenMore = key.length > KEY_BASE64_LENGTH && CANONICAL_KEY.test(key.slice(0, KEY_BASE64_LENGTH));
  if (keyThenMore || WG_SPACE.test(key)) throw new KeyFormatError('trailing characters after the key');
  return decodeKey(key);
}

function describeChar(codePoint: number): string {
  return codePoint > 0x20 && codePoint < 0x7f
    ? `'${String.fromCodePoint(codePoint)}'`
    : `character U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}
