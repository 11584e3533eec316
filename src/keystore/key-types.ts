// The two kinds of key the keystore holds and how each is written in its file: a WireGuard key in
// `wg genkey`'s base64 (so `wg set … private-key <file>` reads it too), a planetary key as the 128 hex
// digits of yggdrasil's PrivateKey.
import {
  addressForKey,
  encodeKey,
  formatPlanetaryPrivateKey,
  generatePlanetaryKey,
  generatePrivateKey,
  parseKeyText,
  parsePlanetaryPrivateKey,
  planetaryPublicKey,
  publicKey,
} from '../keys/index.js';

export type KeyType = 'wireguard' | 'planetary';
export const KEY_TYPES: readonly KeyType[] = ['wireguard', 'planetary'];

interface KeyCodec {
  /** File name extension, which is how the store knows a file's type. */
  readonly extension: string;
  generate(): Uint8Array;
  format(privateKey: Uint8Array): string;
  parse(text: string): Uint8Array;
  publicKey(privateKey: Uint8Array): string;
  /** The overlay address the key gives, for planetary keys. */
  address?(privateKey: Uint8Array): string;
}

export const CODECS: Readonly<Record<KeyType, KeyCodec>> = {
  wireguard: {
    extension: '.wg',
    generate: generatePrivateKey,
    format: encodeKey,
    parse: parseKeyText,
    publicKey: (k) => encodeKey(publicKey(k)),
  },
  planetary: {
    extension: '.planetary',
    generate: generatePlanetaryKey,
    format: formatPlanetaryPrivateKey,
    parse: (text) => parsePlanetaryPrivateKey(text.trim()),
    publicKey: (k) => Buffer.from(planetaryPublicKey(k)).toString('hex'),
    address: (k) => addressForKey(planetaryPublicKey(k)),
  },
};

export function isKeyType(text: string): text is KeyType {
  return (KEY_TYPES as readonly string[]).includes(text);
}
