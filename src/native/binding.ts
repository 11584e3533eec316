// Loads the compiled addon and declares its exact TypeScript interface: the single source of the
// TS↔C++ contract. Everything above this file uses typed wrappers, never the raw addon.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

type Bytes = Uint8Array;

export interface NativeCrypto {
  chachaSeal(key: Bytes, nonce: Bytes, ad: Bytes, plaintext: Bytes): Buffer;
  /** Throws when the ciphertext, tag, nonce or AD do not authenticate. */
  chachaOpen(key: Bytes, nonce: Bytes, ad: Bytes, sealed: Bytes): Buffer;
  xchachaSeal(key: Bytes, nonce: Bytes, ad: Bytes, plaintext: Bytes): Buffer;
  xchachaOpen(key: Bytes, nonce: Bytes, ad: Bytes, sealed: Bytes): Buffer;
  /** NaCl secretbox: returns tag ‖ ciphertext. */
  secretboxSeal(key: Bytes, nonce: Bytes, plaintext: Bytes): Buffer;
  secretboxOpen(key: Bytes, nonce: Bytes, boxed: Bytes): Buffer;
  /** NaCl crypto_box_beforenm(peerPublic, privateKey). */
  boxBeforenm(peerPublic: Bytes, privateKey: Bytes): Buffer;
  x25519(privateKey: Bytes, peerPublic: Bytes): Buffer;
  x25519Public(privateKey: Bytes): Buffer;
  ed25519Public(seed: Bytes): Buffer;
  ed25519Sign(seed: Bytes, message: Bytes): Buffer;
  ed25519Verify(publicKey: Bytes, message: Bytes, signature: Bytes): boolean;
  ed25519SeedToX25519(seed: Bytes): Buffer;
  ed25519PublicToX25519(publicKey: Bytes): Buffer;
  hchacha20(key: Bytes, nonce16: Bytes): Buffer;
  hsalsa20(key: Bytes, nonce16: Bytes): Buffer;
  blake2s(data: Bytes): Buffer;
  /** Keyed BLAKE2s with a 16-byte output (WireGuard mac1/mac2); key 1..32 bytes. */
  blake2sMac(key: Bytes, data: Bytes): Buffer;
  hmacBlake2s(key: Bytes, data: Bytes): Buffer;
  kdf(chainingKey: Bytes, input: Bytes, n: 1 | 2 | 3): Buffer[];
  /** BLAKE2b-512; an empty key means unkeyed. */
  blake2b512(key: Bytes, data: Bytes): Buffer;
  randomBytes(length: number): Buffer;
  /** Seals (open=0) or opens (open=1) `iterations` packets of `size` bytes natively; returns nanoseconds. */
  aeadLoop(key: Bytes, size: number, iterations: number, open: 0 | 1): number;
  /** The Poly1305 tag of data through one route: 0 the chosen one, 1 portable, 2 OpenSSL's exported core, 3 EVP_MAC. */
  poly1305(key: Bytes, data: Bytes, route: 0 | 1 | 2 | 3): Buffer;
  /** Nanoseconds per Poly1305 call, one figure per sample, after writing `evict` bytes before each; route 4 times the clock alone. */
  poly1305Cost(route: 0 | 1 | 2 | 3 | 4, size: number, evict: number, samples: number, calls: number): Float64Array;
}

export interface NativePrefix {
  address: Uint8Array;
  bits: number;
}

/** One peer's part of an atomic configuration change (mirrors the UAPI peer section). */
export interface NativeWgPeerChange {
  publicKey: Uint8Array;
  remove: boolean;
  updateOnly: boolean;
  presharedKey?: Uint8Array | null;
  /** Numeric `ip:port` or `[ipv6]:port`. */
  endpoint?: string;
  persistentKeepalive?: number;
  replaceAllowedIps: boolean;
  addAllowedIps: NativePrefix[];
  removeAllowedIps: NativePrefix[];
}

export interface NativeWgChange {
  privateKey?: Uint8Array | null;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: NativeWgPeerChange[];
}

export interface NativeWgPeerInfo {
  publicKey: Buffer;
  presharedKey: Buffer | null;
  endpoint: string | null;
  /** Wall-clock time of the last completed handshake; 0/0 when none. */
  lastHandshakeSec: number;
  lastHandshakeNsec: number;
  rxBytes: number;
  txBytes: number;
  /** Transport messages carrying an inner packet; keepalives apart; handshake messages in neither. */
  rxPackets: number;
  txPackets: number;
  rxKeepalives: number;
  txKeepalives: number;
  handshakes: number;
  persistentKeepalive: number;
  allowedIps: NativePrefix[];
}

export interface NativeWgEvent {
  type: 'handshake' | 'endpoint' | 'expired' | 'interface-gone' | 'error';
  peer?: string;
  detail?: string;
}

export interface NativeWgOptions {
  /** TUN interface to create; omitted for an engine without a TUN (tests, bench --no-tun). */
  tunName?: string;
  mtu?: number;
  onEvent: (event: NativeWgEvent) => void;
  /** Test hook: divides every protocol time constant (never for a real peer's timers). */
  timeScale?: number;
}

export interface NativeWgEngine {
  /** Applies the whole change or throws (err.errno = -22 invalid, -98 bind failure) having changed nothing. */
  configure(change: NativeWgChange): void;
  privateKey(): Buffer | null;
  listenPort(): number;
  fwmark(): number;
  peers(): NativeWgPeerInfo[];
  /** Device-wide counters: drops by reason, events dropped, and the like. */
  counters(): Record<string, number>;
  /** Bench only: `seconds` of synthetic IPv4/UDP packets src → dst through the transmit path (no TUN needed). */
  inject(src: Uint8Array, dst: Uint8Array, payload: number, seconds: number): Promise<{ packets: number; cpuSeconds: number }>;
  close(): void;
}

/** A planetary peer or listener, parsed and resolved by the control plane. */
export interface NativePlanetaryLinkSpec {
  /** As configured; identifies the peer for removePeer and getPeers. */
  uri: string;
  /** Numeric `ip:port` or `[ipv6%scope]:port`. */
  address: string;
  tls: boolean;
  sni?: string;
  password?: Uint8Array;
  priority?: number;
  pinnedKeys?: Uint8Array[];
  /** Found by or listening for multicast beacons: exempt from allowedKeys, as in yggdrasil. */
  multicast?: boolean;
  /**
   * Dial out of this interface only (InterfacePeers, addPeer's `interface`): bound to the device and to its
   * first address of the destination's family and scope; a link-local destination gets it as its zone.
   */
  sourceInterface?: string;
}

export interface NativePlanetaryOptions {
  /** Ed25519 seed (the first half of yggdrasil's PrivateKey). */
  seed: Uint8Array;
  /** TUN name or kernel pattern (`ygg%d`); omitted for no TUN. */
  tunName?: string;
  mtu?: number;
  listen?: NativePlanetaryLinkSpec[];
  peers?: NativePlanetaryLinkSpec[];
  allowedKeys?: Uint8Array[];
  nodeinfo?: string;
  onEvent: (event: { type: string; detail?: string }) => void;
}

export interface NativePlanetaryPeerRow {
  uri: string;
  remote: string;
  up: boolean;
  inbound: boolean;
  key: string | null;
  priority: number;
  port: number;
  cost: number;
  rxBytes: number;
  txBytes: number;
  uptimeSeconds: number;
  /** Bytes in the last whole second. */
  rxRate: number;
  txRate: number;
  /** The last SigReq→SigRes round trip in nanoseconds; 0 before the first. */
  latencyNs: number;
  lastError: string;
  lastErrorAgeSeconds: number;
}

export type NativeProtoKind = 'nodeinfo' | 'getself' | 'getpeers' | 'gettree';

export interface NativePlanetarySnapshot {
  self: { key: string; root: string; coords: number[]; seq: number; routingEntries: number };
  peers: NativePlanetaryPeerRow[];
  tree: Array<{ key: string; parent: string; seq: number }>;
  paths: Array<{ key: string; path: number[]; seq: number }>;
  sessions: Array<{ key: string; rxBytes: number; txBytes: number; uptimeSeconds: number }>;
  /** Running listeners in the engine's order, each with the address it is bound to ("[::]:34685"). */
  listeners: Array<{ uri: string; address: string; port: number }>;
  tunName: string;
}

export interface NativePlanetaryEngine {
  snapshot(): NativePlanetarySnapshot;
  /** False when the URI is already configured. */
  addPeer(spec: NativePlanetaryLinkSpec): boolean;
  /** False when the URI is not configured (with that source interface; none when omitted). */
  removePeer(uri: string, sourceInterface?: string): boolean;
  /** One connection attempt, not redialed (multicast discoveries). */
  dialOnce(spec: NativePlanetaryLinkSpec): void;
  /** Asks a remote node; the answer comes as a 'proto-response' event: `<kind> <hex key> <hex data>`. */
  request(key: Uint8Array, kind: NativeProtoKind): void;
  /** Opens a listener beside the configured ones; returns its port; throws (err.errno) when it cannot bind. */
  listen(spec: NativePlanetaryLinkSpec): number;
  /** False when no listener has this URI; links it accepted stay up. */
  stopListening(uri: string): boolean;
  close(): void;
}

export interface NativeAddon {
  crypto: NativeCrypto;
  WgEngine: new (options: NativeWgOptions) => NativeWgEngine;
  PlanetaryEngine: new (options: NativePlanetaryOptions) => NativePlanetaryEngine;
}


function load(): NativeAddon {
  // GRIDWIRE_ADDON selects another build of the addon, e.g. the ASan/UBSan variant the test suite runs once.
  const override = process.env['GRIDWIRE_ADDON'];
  if (override) return createRequire(import.meta.url)(override) as NativeAddon;
  const root = packageRoot();
  const candidates = ['build/Release/gridwire.node', 'build/Debug/gridwire.node'].map((p) => join(root, p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`gridwire: native addon not built (looked for ${candidates.join(', ')}); run 'npm install' or 'npm run build'`);
  }
  return createRequire(import.meta.url)(found) as NativeAddon;
}

export const native: NativeAddon = load();
