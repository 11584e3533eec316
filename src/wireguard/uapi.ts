// The cross-platform userspace API's text protocol (the one `wg` speaks to wireguard-go): parsing a
// `set=1` request into one validated change, and formatting a `get=1` reply. Pure functions; the
// socket lives in uapi-server.ts.
//
// Unlike wireguard-go, which applies a set line by line and keeps what came before a bad line, a
// request here is validated whole and then applied at once: a malformed request changes nothing.
import type { NativeWgChange, NativeWgPeerChange } from '../native/binding.js';
import { parseEndpoint, parsePrefix } from '../net/prefix.js';

export const EINVAL = -22;
export const EPROTO = -71;
export const EADDRINUSE = -98;
export const EIO = -5;
export const ENOANO = -55;

/**
 * A parsed `set=1`: exactly what the native engine's atomic configure() takes. A null private key or PSK
 * is the all-zero hex that removes it.
 */
export type PeerChange = NativeWgPeerChange;
export type DeviceChange = NativeWgChange;

export class UapiError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

function key32(value: string, what: string): Uint8Array {
  // wireguard-go takes either case; replies are always lower case.
  if (!/^[0-9a-f]{64}$/i.test(value)) throw new UapiError(EINVAL, `${what}: expected 64 hex digits`);
  return Buffer.from(value, 'hex');
}

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

function uint(value: string, max: number, what: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > max) throw new UapiError(EINVAL, `${what}: expected 0..${max}`);
  return Number(value);
}

function literalTrue(value: string, what: string): true {
  if (value !== 'true') throw new UapiError(EINVAL, `${what}: only 'true' is accepted`);
  return true;
}

function newPeer(publicKey: Uint8Array): PeerChange {
  return { publicKey, remove: false, updateOnly: false, replaceAllowedIps: false, addAllowedIps: [], removeAllowedIps: [] };
}

function applyDeviceKey(change: DeviceChange, key: string, value: string): void {
  switch (key) {
    case 'private_key': {
      const k = key32(value, key);
      change.privateKey = isZero(k) ? null : k;
      return;
    }
    case 'listen_port':
      change.listenPort = uint(value, 65535, key);
      return;
    case 'fwmark':
      change.fwmark = uint(value, 0xffffffff, key);
      return;
    case 'replace_peers':
      change.replacePeers = literalTrue(value, key);
      return;
    default:
      throw new UapiError(EINVAL, `unknown device key '${key}'`);
  }
}

function applyPeerKey(peer: PeerChange, key: string, value: string): void {
  switch (key) {
    case 'remove':
      peer.remove = literalTrue(value, key);
      return;
    case 'update_only':
      peer.updateOnly = literalTrue(value, key);
      return;
    case 'preshared_key': {
      const k = key32(value, key);
      peer.presharedKey = isZero(k) ? null : k;
      return;
    }
    case 'endpoint':
      if (!parseEndpoint(value)) throw new UapiError(EINVAL, `endpoint: '${value}' is not a numeric ip:port`);
      peer.endpoint = value;
      return;
    case 'persistent_keepalive_interval':
      peer.persistentKeepalive = uint(value, 65535, key);
      return;
    case 'replace_allowed_ips':
      peer.replaceAllowedIps = literalTrue(value, key);
      return;
    case 'allowed_ip': {
      const remove = value.startsWith('-');
      const prefix = parsePrefix(remove ? value.slice(1) : value);
      // The length is plain decimal, as wireguard-go's netip.ParsePrefix wants it: no leading zero.
      if (!prefix || !/\/(0|[1-9]\d*)$/.test(value)) throw new UapiError(EINVAL, `allowed_ip: '${value}' is not a prefix`);
      (remove ? peer.removeAllowedIps : peer.addAllowedIps).push(prefix);
      return;
    }
    case 'protocol_version':
      if (value !== '1') throw new UapiError(EINVAL, 'protocol_version: only 1 is supported');
      return;
    default:
      throw new UapiError(EINVAL, `unknown peer key '${key}'`);
  }
}

/** Parses the body lines of a `set=1` request (without the `set=1` line and the blank terminator). */
export function parseSet(lines: readonly string[]): DeviceChange {
  const change: DeviceChange = { replacePeers: false, peers: [] };
  let peer: PeerChange | undefined;
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq < 0) throw new UapiError(EPROTO, `line without '=': '${line}'`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      peer = newPeer(key32(value, key));
      change.peers.push(peer);
    } else if (peer) {
      applyPeerKey(peer, key, value);
    } else {
      applyDeviceKey(change, key, value);
    }
  }
  return change;
}

export interface PeerState {
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  endpoint: string | null;
  lastHandshakeSec: number;
  lastHandshakeNsec: number;
  txBytes: bigint | number;
  rxBytes: bigint | number;
  persistentKeepalive: number;
  allowedIps: string[];
}

export interface DeviceState {
  privateKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
  peers: PeerState[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Formats a `get=1` reply body in wireguard-go's key order, errno line and blank line included. */
export function formatGet(state: DeviceState): string {
  const out: string[] = [];
  if (state.privateKey) out.push(`private_key=${hex(state.privateKey)}`);
  if (state.listenPort) out.push(`listen_port=${state.listenPort}`);
  if (state.fwmark) out.push(`fwmark=${state.fwmark}`);
  for (const p of state.peers) {
    out.push(`public_key=${hex(p.publicKey)}`);
    out.push(`preshared_key=${p.presharedKey ? hex(p.presharedKey) : '0'.repeat(64)}`);
    out.push('protocol_version=1');
    if (p.endpoint) out.push(`endpoint=${p.endpoint}`);
    out.push(`last_handshake_time_sec=${p.lastHandshakeSec}`);
    out.push(`last_handshake_time_nsec=${p.lastHandshakeNsec}`);
    out.push(`tx_bytes=${p.txBytes}`);
    out.push(`rx_bytes=${p.rxBytes}`);
    out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of p.allowedIps) out.push(`allowed_ip=${a}`);
  }
  out.push('errno=0', '', '');
  return out.join('\n');
}
