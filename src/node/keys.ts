// Private keys named in node.json: `keystore:NAME` or inline. A WireGuard interface may run on a
// planetary identity (its X25519 form), which is what lets chain peers derive its key from the twin.
import { decodeKey, parsePlanetaryPrivateKey } from '../keys/index.js';
import type { Keystore } from '../keystore/index.js';
import { KEYSTORE_REF } from './formats.js';
import { identityWireGuardPrivateKey } from './zos.js';

export async function wireGuardPrivateKey(ref: string, store: Keystore): Promise<Uint8Array> {
  if (!ref.startsWith(KEYSTORE_REF)) return decodeKey(ref);
  const key = await store.load(ref.slice(KEYSTORE_REF.length));
  if (key.type === 'wireguard') return key.privateKey;
  try {
    return identityWireGuardPrivateKey(key.privateKey);
  } finally {
    key.privateKey.fill(0);
  }
}

export async function planetaryPrivateKey(ref: string, store: Keystore): Promise<Uint8Array> {
  if (!ref.startsWith(KEYSTORE_REF)) return parsePlanetaryPrivateKey(ref);
  const key = await store.load(ref.slice(KEYSTORE_REF.length));
  if (key.type === 'planetary') return key.privateKey;
  key.privateKey.fill(0);
  throw new Error(`key '${key.name}' is a ${key.type} key; the planetary node needs a planetary key`);
}
