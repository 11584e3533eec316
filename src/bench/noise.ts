// A minimal WireGuard initiator (Noise_IKpsk2, no PSK, no cookies) on the addon's primitives, so the bench
// can drive an engine with traffic it controls: initiations at a chosen rate for the handshake bench, and
// transport packets for the no-TUN data-plane bench (an engine without a TUN has no transmit path).
import { native } from '../native/binding.js';

const c = native.crypto;
const CONSTRUCTION = Buffer.from('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
const IDENTIFIER = Buffer.from('WireGuard v1 zx2c4 Jason@zx2c4.com');
const EMPTY = new Uint8Array(0);
const ZERO_NONCE = new Uint8Array(12);
const CHAIN0 = c.blake2s(CONSTRUCTION);
const HASH0 = c.blake2s(Buffer.concat([CHAIN0, IDENTIFIER]));

export const INITIATION_SIZE = 148;
export const RESPONSE_SIZE = 92;
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

export interface PendingHandshake {
  id: InitiatorIdentity;
  senderIndex: number;
  ephemeralPrivate: Uint8Array;
  chain: Buffer;
  hash: Buffer;
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
export function createInitiation(id: InitiatorIdentity, senderIndex: number): { message: Buffer; pending: PendingHandshake } {
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
  return { message, pending: { id, senderIndex, ephemeralPrivate, chain, hash: h } };
}

export interface TransportKeys {
  /** The responder's index: the receiver field of every transport message we send. */
  receiverIndex: number;
  sendKey: Buffer;
  receiveKey: Buffer;
}

/** Completes the handshake from the responder's reply; throws if it does not authenticate. */
export function consumeResponse(p: PendingHandshake, response: Uint8Array): TransportKeys {
  const msg = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  if (msg.length !== RESPONSE_SIZE || msg[0] !== MSG_RESPONSE || msg.readUInt32LE(8) !== p.senderIndex) throw new Error('not our handshake response');
  const ephemeral = msg.subarray(12, 44);
  let [chain] = c.kdf(p.chain, ephemeral, 1) as [Buffer];
  let h = hash(p.hash, ephemeral);
  [chain] = c.kdf(chain, c.x25519(p.ephemeralPrivate, ephemeral), 1) as [Buffer];
  [chain] = c.kdf(chain, c.x25519(p.id.privateKey, ephemeral), 1) as [Buffer];
  const [chain2, tau, key] = c.kdf(chain, new Uint8Array(32), 3) as [Buffer, Buffer, Buffer];
  h = hash(h, tau);
  c.chachaOpen(key, ZERO_NONCE, h, msg.subarray(44, 60));
  const [sendKey, receiveKey] = c.kdf(chain2, EMPTY, 2) as [Buffer, Buffer];
  return { receiverIndex: msg.readUInt32LE(4), sendKey, receiveKey };
}

/** A transport data message carrying `plaintext` (padded to 16 bytes, as the protocol asks). */
export function sealTransport(keys: TransportKeys, counter: bigint, plaintext: Uint8Array): Buffer {
  const padded = Buffer.alloc((plaintext.length + 15) & ~15);
  padded.set(plaintext);
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64LE(counter, 4);
  const sealed = c.chachaSeal(keys.sendKey, nonce, EMPTY, padded);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(4, 0);
  header.writeUInt32LE(keys.receiverIndex, 4);
  header.writeBigUInt64LE(counter, 8);
  return Buffer.concat([header, sealed]);
}

/** An IPv4/UDP packet from `src` to `dst` with `payload` bytes of payload and a valid header checksum. */
export function ipv4Udp(src: string, dst: string, payload: number): Buffer {
  const pkt = Buffer.alloc(28 + payload, 0x5a);
  pkt.writeUInt8(0x45, 0);
  pkt.writeUInt8(0, 1);
  pkt.writeUInt16BE(pkt.length, 2);
  pkt.writeUInt32BE(0, 4);
  pkt.writeUInt8(64, 8);
  pkt.writeUInt8(17, 9);
  pkt.writeUInt16BE(0, 10);
  Buffer.from(src.split('.').map(Number)).copy(pkt, 12);
  Buffer.from(dst.split('.').map(Number)).copy(pkt, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += pkt.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  pkt.writeUInt16BE(~sum & 0xffff, 10);
  pkt.writeUInt16BE(40000, 20);
  pkt.writeUInt16BE(9, 22);
  pkt.writeUInt16BE(8 + payload, 24);
  pkt.writeUInt16BE(0, 26);
  return pkt;
}
