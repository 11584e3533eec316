// The first half of a WireGuard handshake (Noise_IKpsk2 initiation, no cookies) on the addon's
// primitives, so the handshake bench can flood a responder with initiations at a rate it controls.
import { native } from '../native/binding.js';

const c = native.crypto;
const CONSTRUCTION = Buffer.from('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
const IDENTIFIER = Buffer.from('WireGuard v1 zx2c4 Jason@zx2c4.com');
const ZERO_NONCE = new Uint8Array(12);
const CHAIN0 = c.blake2s(CONSTRUCTION);
const HASH0 = c.blake2s(Buffer.concat([CHAIN0, IDENTIFIER]));

export const INITIATION_SIZE = 148;
export const MSG_RESPONSE = 2;
export const MSG_COOKIE_REPLY = 3;

const hash = (...parts: Uint8Array[]) => c.blake2s(Buffer.concat(parts));

/** What the responder's half needs precomputed once per (initiator, responder) pair. */
export interface InitiatorIdentity {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  responderPublic: Uint8Array;
  /** DH(initiator static, responder static): constant, so computed once, as the engines do. */
  staticShared: Uint8Array;
  hash1: Buffer;
  mac1Key: Buffer;
  /** Last TAI64N used: initiations must carry strictly increasing timestamps. */
  lastNs: bigint;
}

export function initiatorIdentity(privateKey: Uint8Array, responderPublic: Uint8Array): InitiatorIdentity {
  return {
    privateKey,
    publicKey: c.x25519Public(privateKey),
    responderPublic,
    staticShared: c.x25519(privateKey, responderPublic),
    hash1: hash(HASH0, responderPublic),
    mac1Key: hash(Buffer.from('mac1----'), responderPublic),
    lastNs: 0n,
  };
}

function tai64n(id: InitiatorIdentity): Buffer {
  const wall = BigInt(Date.now()) * 1_000_000n;
  id.lastNs = wall > id.lastNs ? wall : id.lastNs + 1n;
  const out = Buffer.alloc(12);
  out.writeBigUInt64BE(0x400000000000000an + id.lastNs / 1_000_000_000n, 0);
  out.writeUInt32BE(Number(id.lastNs % 1_000_000_000n), 8);
  return out;
}

/** Builds a handshake initiation (mac2 zero) from `id` with `senderIndex`. */
export function createInitiation(id: InitiatorIdentity, senderIndex: number): Buffer {
  const ephemeralPrivate = c.randomBytes(32);
  const ephemeralPublic = c.x25519Public(ephemeralPrivate);
  let h = hash(id.hash1, ephemeralPublic);
  let [chain] = c.kdf(CHAIN0, ephemeralPublic, 1) as [Buffer];
  let key: Buffer;
  [chain, key] = c.kdf(chain, c.x25519(ephemeralPrivate, id.responderPublic), 2) as [Buffer, Buffer];
  const encStatic = c.chachaSeal(key, ZERO_NONCE, h, id.publicKey);
  h = hash(h, encStatic);
  [chain, key] = c.kdf(chain, id.staticShared, 2) as [Buffer, Buffer];
  const encTime = c.chachaSeal(key, ZERO_NONCE, h, tai64n(id));
  h = hash(h, encTime);
  const message = Buffer.alloc(INITIATION_SIZE);
  message.writeUInt32LE(1, 0);
  message.writeUInt32LE(senderIndex, 4);
  ephemeralPublic.copy(message, 8);
  encStatic.copy(message, 40);
  encTime.copy(message, 88);
  c.blake2sMac(id.mac1Key, message.subarray(0, 116)).copy(message, 116);
  return message;
}
