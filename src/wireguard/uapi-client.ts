// The client side of the UAPI socket, for talking to any userspace WireGuard daemon (gridwire or
// wireguard-go) the way wg(8) does: one request per connection, the reply read up to its errno line.
// Sockets are looked for in SOCKET_DIR unless a call names another directory (a daemon in a namespace
// of its own may have been given one).
import { readdir, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { formatPrefix } from '../net/prefix.js';
import { EPROTO, UapiError, type DeviceChange, type DeviceState, type PeerState } from './uapi.js';
import { SOCKET_DIR, socketPath } from './uapi-server.js';

const REPLY_END = /(?:^|\n)errno=(-?\d+)\n\n$/;

/** Sends one request (`get=1\n\n` or a whole `set=1` request) and returns the reply, errno line included. */
export function uapiRequest(ifname: string, request: string, dir = SOCKET_DIR, timeoutMs = 5000): Promise<string> {
  const path = socketPath(ifname, dir);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let reply = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err); // no-op once resolved
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`${path}: no reply within ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (REPLY_END.test(reply)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('end', () => fail(new UapiError(EPROTO, `${path}: connection closed before the errno line`)));
    socket.write(request);
  });
}

const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : '0'.repeat(64));

/** The `set=1` request for `change`: the inverse of uapi.ts's parseSet. */
export function formatSet(change: DeviceChange): string {
  const out = ['set=1'];
  if (change.privateKey !== undefined) out.push(`private_key=${hex(change.privateKey)}`);
  if (change.listenPort !== undefined) out.push(`listen_port=${change.listenPort}`);
  if (change.fwmark !== undefined) out.push(`fwmark=${change.fwmark}`);
  if (change.replacePeers) out.push('replace_peers=true');
  for (const p of change.peers) {
    out.push(`public_key=${hex(p.publicKey)}`);
    if (p.remove) out.push('remove=true');
    if (p.updateOnly) out.push('update_only=true');
    if (p.presharedKey !== undefined) out.push(`preshared_key=${hex(p.presharedKey)}`);
    if (p.endpoint !== undefined) out.push(`endpoint=${p.endpoint}`);
    if (p.persistentKeepalive !== undefined) out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    if (p.replaceAllowedIps) out.push('replace_allowed_ips=true');
    for (const a of p.addAllowedIps) out.push(`allowed_ip=${formatPrefix(a)}`);
    for (const a of p.removeAllowedIps) out.push(`allowed_ip=-${formatPrefix(a)}`);
  }
  return `${out.join('\n')}\n\n`;
}

/** Applies `change`; returns the daemon's errno (0 on success, negative as in the protocol). */
export async function uapiSet(ifname: string, change: DeviceChange, dir = SOCKET_DIR): Promise<number> {
  return Number(REPLY_END.exec(await uapiRequest(ifname, formatSet(change), dir))![1]);
}

function hexKey(value: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new UapiError(EPROTO, `'${value}' is not a 64-digit hex key`);
  return Buffer.from(value, 'hex');
}

const keyOrNone = (value: string) => (/^0{64}$/.test(value) ? null : hexKey(value));

function digits(value: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new UapiError(EPROTO, `'${value}' is not a number`);
  return value;
}

const num = (value: string) => Number(digits(value));

/**
 * Parses a `get=1` reply as wg(8) does: unknown keys are ignored, a peer key before any public_key
 * or a non-zero errno is an error. Zero private/preshared keys mean none.
 */
export function parseGet(reply: string): DeviceState {
  const state: DeviceState = { privateKey: null, listenPort: 0, fwmark: 0, peers: [] };
  let peer: PeerState | undefined;
  for (const line of reply.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'errno') {
      if (value !== '0') throw new UapiError(Number(value) || EPROTO, `get failed with errno ${value}`);
      return state;
    }
    if (key === 'public_key') {
      peer = { publicKey: hexKey(value), presharedKey: null, endpoint: null, lastHandshakeSec: 0, lastHandshakeNsec: 0,
        txBytes: 0n, rxBytes: 0n, persistentKeepalive: 0, allowedIps: [] };
      state.peers.push(peer);
      continue;
    }
    if (!peer) {
      if (key === 'private_key') state.privateKey = keyOrNone(value);
      else if (key === 'listen_port') state.listenPort = num(value);
      else if (key === 'fwmark') state.fwmark = num(value);
      else if (['preshared_key', 'endpoint', 'allowed_ip'].includes(key)) throw new UapiError(EPROTO, `'${key}' before any public_key`);
      continue;
    }
    switch (key) {
      case 'preshared_key':
        peer.presharedKey = keyOrNone(value);
        break;
      case 'endpoint':
        peer.endpoint = value;
        break;
      case 'last_handshake_time_sec':
        peer.lastHandshakeSec = num(value);
        break;
      case 'last_handshake_time_nsec':
        peer.lastHandshakeNsec = num(value);
        break;
      case 'tx_bytes':
        peer.txBytes = BigInt(digits(value));
        break;
      case 'rx_bytes':
        peer.rxBytes = BigInt(digits(value));
        break;
      case 'persistent_keepalive_interval':
        peer.persistentKeepalive = num(value);
        break;
      case 'allowed_ip':
        peer.allowedIps.push(value);
        break;
    }
  }
  throw new UapiError(EPROTO, 'get reply without an errno line');
}

export async function uapiGet(ifname: string, dir = SOCKET_DIR): Promise<DeviceState> {
  return parseGet(await uapiRequest(ifname, 'get=1\n\n', dir));
}

/**
 * True when a daemon answers at the interface's socket. A refused connection means the daemon died:
 * its socket file is removed, as wg(8) does; other failures (permissions) still count as present.
 */
export async function uapiProbe(ifname: string, dir = SOCKET_DIR): Promise<boolean> {
  const path = socketPath(ifname, dir);
  if (!(await stat(path).catch(() => undefined))?.isSocket()) return false;
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') return resolve(true);
      unlink(path).catch(() => undefined).finally(() => resolve(false));
    });
  });
}

/** Interfaces with a socket file in `dir`, answered or not, in directory order; none if `dir` is missing. */
export async function uapiSocketNames(dir = SOCKET_DIR): Promise<string[]> {
  const files = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return files.filter((f) => f.endsWith('.sock') && f !== '.sock').map((f) => f.slice(0, -'.sock'.length));
}

/** Interfaces with a live UAPI socket, in directory order (as `wg show interfaces` lists them). */
export async function uapiInterfaces(dir = SOCKET_DIR): Promise<string[]> {
  const live: string[] = [];
  for (const name of await uapiSocketNames(dir)) if (await uapiProbe(name, dir)) live.push(name);
  return live;
}
