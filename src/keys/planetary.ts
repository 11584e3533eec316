// Yggdrasil (0.5.12) node identities: Ed25519 keys and the 200::/7 address and /64 derived from them.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { equalBytes } from '@noble/curves/utils.js';
import { expectLength, KeyFormatError } from './errors.js';
import { formatIPv6 } from './ipv6.js';

export const PLANETARY_PUBLIC_KEY_LENGTH = 32;
/** Go's ed25519.PrivateKey form, which yggdrasil stores in its config: seed ‖ public key. */
export const PLANETARY_PRIVATE_KEY_LENGTH = 64;

/** A fresh private key in the 64-byte form. */
export function generatePlanetaryKey(): Uint8Array {
  return expandSeed(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Parses the config's `PrivateKey`: 128 hex digits (either case, as Go's hex decoder accepts). The
 * public half must belong to the seed: yggdrasil 0.5.12 crashes on a key where it does not.
 */
export function parsePlanetaryPrivateKey(hex: string): Uint8Array {
  const what = 'planetary private key';
  if (hex.length === 0) throw new KeyFormatError(`${what} is empty`);
  const bad = hex.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new KeyFormatError(`${what} is not hex: unexpected character at position ${bad + 1}`);
  if (hex.length !== 2 * PLANETARY_PRIVATE_KEY_LENGTH) {
    throw new KeyFormatError(
      `${what} has the wrong length: ${hex.length} hex digits, expected ${2 * PLANETARY_PRIVATE_KEY_LENGTH} ` +
        `(${PLANETARY_PRIVATE_KEY_LENGTH} bytes: seed then public key)`,
    );
  }
  const key = hexToBytes(hex.toLowerCase());
  if (!equalBytes(expandSeed(key.subarray(0, 32)), key)) {
    throw new KeyFormatError(`${what} is inconsistent: its second half is not the public key of its first half`);
  }
  return key;
}

/** Lower-case hex, as yggdrasil writes the config. */
export function formatPlanetaryPrivateKey(privateKey: Uint8Array): string {
  return bytesToHex(expectLength(privateKey, PLANETARY_PRIVATE_KEY_LENGTH, 'planetary private key'));
}

/** Derived from the seed, so a key that skipped parsePlanetaryPrivateKey cannot lie about it. */
export function planetaryPublicKey(privateKey: Uint8Array): Uint8Array {
  expectLength(privateKey, PLANETARY_PRIVATE_KEY_LENGTH, 'planetary private key');
  return ed25519.getPublicKey(privateKey.subarray(0, 32));
}

/**
 * The node address (16 bytes): 0x02, the number of leading one bits of the inverted key, then
 * the inverted key's bits after those ones and the zero that ends them.
 */
export function addressBytesForKey(publicKey: Uint8Array): Uint8Array {
  expectLength(publicKey, PLANETARY_PUBLIC_KEY_LENGTH, 'planetary public key');
  const inverted = publicKey.map((b) => ~b & 0xff);
  const bit = (i: number): number => (inverted[i >> 3]! >> (7 - (i & 7))) & 1;
  let ones = 0;
  while (ones < 256 && bit(ones) === 1) ones++;
  const address = new Uint8Array(16);
  address[0] = 0x02;
  // Stored in a byte without a check, as yggdrasil does: an all-zero key's 256 wraps to 0.
  address[1] = ones;
  for (let src = ones + 1, dst = 16; src + 8 <= 256 && dst < 128; src += 8, dst += 8) {
    let byte = 0;
    for (let k = 0; k < 8; k++) byte = (byte << 1) | bit(src + k);
    address[dst >> 3] = byte;
  }
  return address;
}

/** The routed /64 prefix (8 bytes): the address's first half with the low bit of byte 0 set. */
export function subnetBytesForKey(publicKey: Uint8Array): Uint8Array {
  const subnet = addressBytesForKey(publicKey).slice(0, 8);
  subnet[0]! |= 0x01;
  return subnet;
}

/** As `yggdrasil -address` prints it, e.g. `202:9287:13ba:3551:c48a:28be:6ef:47c6`. */
export function addressForKey(publicKey: Uint8Array): string {
  return formatIPv6(addressBytesForKey(publicKey));
}

/** As `yggdrasil -subnet` prints it, e.g. `302:9287:13ba:3551::/64`. */
export function subnetForKey(publicKey: Uint8Array): string {
  const padded = new Uint8Array(16);
  padded.set(subnetBytesForKey(publicKey));
  return `${formatIPv6(padded)}/64`;
}

function expandSeed(seed: Uint8Array): Uint8Array {
  const key = new Uint8Array(PLANETARY_PRIVATE_KEY_LENGTH);
  key.set(seed);
  key.set(ed25519.getPublicKey(seed), 32);
  return key;
}
