// What `gridwire status` reports, gathered the way an operator's tools would: every UAPI socket in
// /var/run/wireguard (any userspace WireGuard daemon) and each planetary admin endpoint. Read only: a
// socket nobody answers on is reported as a problem, never removed and never fatal.
import { encodeKey, publicKey } from '../keys/index.js';
import { uapiGet, uapiSocketNames } from '../wireguard/uapi-client.js';
import { SOCKET_DIR, socketPath } from '../wireguard/uapi-server.js';
import { adminRequest, type AdminClientError } from './admin-client.js';

export const DEFAULT_ADMIN = 'unix:///var/run/yggdrasil.sock';

export interface WgPeerStatus {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  /** Unix seconds of the latest handshake; null for never. */
  latestHandshake: number | null;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number;
}

export interface WgInterfaceStatus {
  name: string;
  publicKey: string | null;
  listenPort: number;
  peers: WgPeerStatus[];
}

export interface PlanetaryPeerStatus {
  remote: string;
  up: boolean;
  inbound: boolean;
  key: string;
  address: string;
  rxBytes: number;
  txBytes: number;
  uptimeSeconds: number;
  lastError: string;
}

export interface PlanetarySessionStatus {
  address: string;
  key: string;
  rxBytes: number;
  txBytes: number;
  uptimeSeconds: number;
}

export interface PlanetaryStatus {
  endpoint: string;
  address: string;
  subnet: string;
  key: string;
  build: string;
  routingEntries: number;
  /** From gettree: the root reached by following parents from this node; null while it is not in the tree. */
  tree: { root: string; parent: string; depth: number } | null;
  peers: PlanetaryPeerStatus[];
  sessions: PlanetarySessionStatus[];
}

export interface Problem {
  /** The socket file or endpoint. */
  source: string;
  message: string;
}

export interface StatusReport {
  /** Unix seconds when gathered. */
  time: number;
  wireguard: WgInterfaceStatus[];
  planetary: PlanetaryStatus[];
  problems: Problem[];
}

export interface StatusOptions {
  /** Admin endpoints to ask; default [DEFAULT_ADMIN], where a missing socket is not a problem. */
  admins?: string[];
  timeoutMs?: number;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const list = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v : []);

function deadSocketMessage(err: { code?: string; message: string }, socketFile: boolean): string {
  if (err.code === 'ECONNREFUSED') return socketFile ? 'dead socket: no daemon answers on it (connection refused)' : 'no daemon answers (connection refused)';
  if (err.code === 'ENOENT') return 'no such socket';
  return err.message;
}

async function wireguardStatus(): Promise<{ interfaces: WgInterfaceStatus[]; problems: Problem[] }> {
  const interfaces: WgInterfaceStatus[] = [];
  const problems: Problem[] = [];
  // Not uapiInterfaces(): its probe removes a dead socket, which status reports instead.
  const names = await uapiSocketNames().catch((err: Error) => {
    problems.push({ source: SOCKET_DIR, message: err.message });
    return [] as string[];
  });
  for (const name of names.sort()) {
    const source = socketPath(name);
    try {
      const dev = await uapiGet(name);
      interfaces.push({
        name,
        publicKey: dev.privateKey ? encodeKey(publicKey(dev.privateKey)) : null,
        listenPort: dev.listenPort,
        peers: dev.peers.map((p) => ({
          publicKey: encodeKey(p.publicKey),
          endpoint: p.endpoint,
          allowedIps: p.allowedIps,
          latestHandshake: p.lastHandshakeSec || p.lastHandshakeNsec ? p.lastHandshakeSec + p.lastHandshakeNsec / 1e9 : null,
          rxBytes: Number(p.rxBytes),
          txBytes: Number(p.txBytes),
          persistentKeepalive: p.persistentKeepalive,
        })),
      });
    } catch (err) {
      problems.push({ source, message: deadSocketMessage(err as NodeJS.ErrnoException, true) });
    }
  }
  return { interfaces, problems };
}

/** The root, reached by following parents up from `self`, and how many steps that took. */
export function treePosition(entries: ReadonlyArray<{ key: string; parent: string }>, self: string): PlanetaryStatus['tree'] {
  const parentOf = new Map(entries.map((e) => [e.key, e.parent]));
  const parent = parentOf.get(self);
  if (parent === undefined) return null;
  let key = self;
  for (let depth = 0; depth <= entries.length; depth++) {
    const up = parentOf.get(key);
    if (up === undefined) return null;
    if (up === key) return { root: key, parent, depth };
    key = up;
  }
  return null; // a loop: the tree is still converging
}

async function planetaryStatus(endpoint: string, timeoutMs: number): Promise<PlanetaryStatus> {
  const ask = (request: string) => adminRequest(endpoint, request, timeoutMs);
  const self = await ask('getself');
  const [peers, sessions, tree] = await Promise.all([ask('getpeers'), ask('getsessions'), ask('gettree')]);
  const key = str(self['key']);
  return {
    endpoint,
    address: str(self['address']),
    subnet: str(self['subnet']),
    key,
    build: `${str(self['build_name'])} ${str(self['build_version'])}`.trim(),
    routingEntries: num(self['routing_entries']),
    tree: treePosition(list(tree['tree']).map((t) => ({ key: str(t['key']), parent: str(t['parent']) })), key),
    peers: list(peers['peers']).map((p) => ({
      remote: str(p['remote']),
      up: p['up'] === true,
      inbound: p['inbound'] === true,
      key: str(p['key']),
      address: str(p['address']),
      rxBytes: num(p['bytes_recvd']),
      txBytes: num(p['bytes_sent']),
      uptimeSeconds: num(p['uptime']),
      lastError: str(p['last_error']),
    })),
    sessions: list(sessions['sessions']).map((x) => ({
      address: str(x['address']),
      key: str(x['key']),
      rxBytes: num(x['bytes_recvd']),
      txBytes: num(x['bytes_sent']),
      uptimeSeconds: num(x['uptime']),
    })),
  };
}

/** Everything running on this host that status can see; never throws for what it finds. */
export async function gatherStatus(opts: StatusOptions = {}): Promise<StatusReport> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const admins = opts.admins?.length ? opts.admins : [DEFAULT_ADMIN];
  const explicit = Boolean(opts.admins?.length);
  const wg = await wireguardStatus();
  const report: StatusReport = { time: Date.now() / 1000, wireguard: wg.interfaces, planetary: [], problems: wg.problems };
  for (const endpoint of admins) {
    try {
      report.planetary.push(await planetaryStatus(endpoint, timeoutMs));
    } catch (err) {
      const e = err as AdminClientError;
      // Nothing at the default path just means no planetary node; a path the user named must exist.
      if (!explicit && e.code === 'ENOENT') continue;
      report.problems.push({ source: endpoint, message: deadSocketMessage(e, endpoint.startsWith('unix://')) });
    }
  }
  return report;
}
