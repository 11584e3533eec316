// PlanetaryNode: a running Planetary Network (Yggdrasil 0.5) node — the native engine (links, router,
// sessions, TUN) configured from a yggdrasil config, the TUN addressed, and the admin socket served.
// JS decides and observes; packets stay in C++.
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { addressForKey, planetaryPublicKey, subnetForKey } from '../keys/index.js';
import { numericEndpoint } from '../net/endpoint.js';
import { native, type NativePlanetaryEngine, type NativePlanetaryLinkSpec, type NativePlanetaryPeerRow, type NativePlanetarySnapshot, type NativeProtoKind } from '../native/binding.js';
import { startAdminServer, AdminError, type AdminServer, type DebugRemoteRequest, type PlanetaryPath, type PlanetaryPeer, type PlanetarySelf, type PlanetarySession, type PlanetaryState, type PlanetaryTreeEntry } from './admin.js';
import type { PlanetaryConfig } from './config.js';
import { MAX_NESTING, nesting } from './hjson.js';
import { Multicast } from './multicast.js';
import { parsePeerUri, unsupportedTransport, type PeerUri } from './uri.js';

const run = promisify(execFile);
export const BUILD_NAME = 'gridwire';
export const BUILD_VERSION = '0.1.0';
const REMOTE_TIMEOUT_MS = 10_000;

// yggdrasil accepts any IfMTU in the config and clamps it to what a TUN supports when it starts
// (tun.getSupportedMTU), so an out-of-range value must not stop a drop-in from starting.
const MIN_TUN_MTU = 1280;
const MAX_TUN_MTU = 65535;
const tunMtu = (mtu: number) => Math.min(Math.max(mtu, MIN_TUN_MTU), MAX_TUN_MTU);

const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

/** A remote node's JSON answer: one nested deeper than the admin socket can echo is refused, not echoed. */
function remoteJson(data: Buffer): unknown {
  const value = JSON.parse(data.toString('utf8'));
  if (nesting(value) > MAX_NESTING) throw new AdminError(`the remote answer is nested more than ${MAX_NESTING} levels deep`);
  return value;
}

// An IPv6 zone must reach the kernel as an interface index.
function zoneIndex(zone: string): string {
  if (/^\d+$/.test(zone)) return zone;
  const path = `/sys/class/net/${zone}/ifindex`;
  if (!existsSync(path)) throw new Error(`unknown interface '${zone}'`);
  return readFileSync(path, 'utf8').trim();
}

/** Resolves a peering or listen URI, dialed out of `sourceInterface` if not '', into what the engine takes. */
export async function linkSpec(uri: string, sourceInterface = ''): Promise<NativePlanetaryLinkSpec> {
  const u: PeerUri = parsePeerUri(uri);
  return {
    uri: u.withoutQuery,
    ...(sourceInterface && { sourceInterface }),
    // With a source interface, the engine sets a link-local address's zone to it when it dials (as
    // yggdrasil does), so the URI's own zone is dropped here.
    address: await numericEndpoint(u.host, u.port, (zone) => (sourceInterface ? '' : zoneIndex(zone))),
    tls: u.scheme === 'tls',
    ...(u.sni !== undefined && { sni: u.sni }),
    password: u.password,
    priority: u.priority,
    pinnedKeys: [...u.pinnedKeys],
  };
}

// What the node answers NodeInfo requests with: the configured object plus, unless NodeInfoPrivacy,
// the build fields yggdrasil adds (Go's names for the platform and architecture).
function nodeInfoOf(c: PlanetaryConfig): Record<string, unknown> {
  if (c.NodeInfoPrivacy) return { ...(c.NodeInfo ?? {}) };
  const arch = ({ x64: 'amd64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  return { ...(c.NodeInfo ?? {}), buildname: BUILD_NAME, buildversion: BUILD_VERSION, buildplatform: process.platform, buildarch: arch };
}

function tunPattern(ifname: string): string | undefined {
  if (ifname === 'none' || ifname === 'dummy') return undefined;
  return ifname === 'auto' || ifname === '' ? 'ygg%d' : ifname;
}

/** Where the node sits in the spanning tree: the root's key (hex) and its coordinates from the root. */
export interface PlanetaryTreePosition {
  readonly root: string;
  readonly coords: readonly number[];
}

export interface PlanetarySnapshot {
  readonly self: PlanetarySelf;
  readonly peers: readonly PlanetaryPeer[];
  readonly tree: readonly PlanetaryTreeEntry[];
  readonly paths: readonly PlanetaryPath[];
  readonly sessions: readonly PlanetarySession[];
  readonly position: PlanetaryTreePosition;
}

const peerOf = (p: NativePlanetaryPeerRow): PlanetaryPeer => ({
  remote: p.uri,
  up: p.up,
  inbound: p.inbound,
  publicKey: p.key ? hexBytes(p.key) : undefined,
  port: p.port,
  priority: p.priority,
  cost: p.cost,
  bytesReceived: p.rxBytes,
  bytesSent: p.txBytes,
  rateReceived: p.rxRate,
  rateSent: p.txRate,
  uptimeSeconds: p.uptimeSeconds,
  latencyNs: p.latencyNs,
  ...(p.lastError && { lastError: { message: p.lastError, agoNs: p.lastErrorAgeSeconds * 1e9 } }),
});

type NativeRow<K extends 'tree' | 'paths' | 'sessions'> = NativePlanetarySnapshot[K][number];

const treeEntryOf = (t: NativeRow<'tree'>): PlanetaryTreeEntry => ({ publicKey: hexBytes(t.key), parent: hexBytes(t.parent), sequence: t.seq });

const pathOf = (p: NativeRow<'paths'>): PlanetaryPath => ({ publicKey: hexBytes(p.key), path: p.path, sequence: p.seq });

const sessionOf = (s: NativeRow<'sessions'>): PlanetarySession => ({
  publicKey: hexBytes(s.key),
  bytesReceived: s.rxBytes,
  bytesSent: s.txBytes,
  uptimeSeconds: s.uptimeSeconds,
});

/** A running listener: its URI as configured and the address it is bound to, as Go prints it ("[::]:34685"). */
export interface PlanetaryListener {
  uri: string;
  address: string;
}

export type PlanetaryLinkEvent = 'peer-up' | 'peer-down' | 'link-failed';

export interface PlanetaryNodeOptions {
  /** Serve the admin socket on config.AdminListen (default true). */
  admin?: boolean;
  /**
   * Told of every link going up or down, and of those that failed before coming up (detail `<URI>: <reason>`),
   * the first ones too (they may come before start() resolves).
   */
  onLink?: (event: PlanetaryLinkEvent, detail: string) => void;
}

/**
 * Events: 'peer-up' and 'peer-down' of a link (detail: yggdrasil's log text, `outbound: <address>@<remote>,
 * source <local>`), 'link-failed' for one that never came up (`<URI>: <reason>`), 'interface-gone'.
 */
export class PlanetaryNode extends EventEmitter implements PlanetaryState {
  readonly publicKey: Uint8Array;
  readonly address: string;
  readonly subnet: string;
  private engine: NativePlanetaryEngine | undefined;
  private admin: AdminServer | undefined;
  private tunName = '';
  private multicast: Multicast | undefined;

  private constructor(readonly config: PlanetaryConfig) {
    super();
    this.publicKey = planetaryPublicKey(config.PrivateKey);
    this.address = addressForKey(this.publicKey);
    this.subnet = subnetForKey(this.publicKey);
  }

  static async start(config: PlanetaryConfig, options: PlanetaryNodeOptions = {}): Promise<PlanetaryNode> {
    const node = new PlanetaryNode(config);
    const { onLink } = options;
    if (onLink) for (const event of ['peer-up', 'peer-down', 'link-failed'] as const) node.on(event, (e: { detail?: string }) => onLink(event, e.detail ?? ''));
    try {
      await node.open(options);
    } catch (err) {
      await node.close();
      throw err;
    }
    return node;
  }

  private async open(options: PlanetaryNodeOptions): Promise<void> {
    const c = this.config;
    const tunName = tunPattern(c.IfName);
    // unsupportedTransportWarnings names what is skipped here.
    const usable = (uris: readonly string[]) => uris.filter((uri) => !unsupportedTransport(uri));
    const interfacePeers = Object.entries(c.InterfacePeers).flatMap(([intf, uris]) => usable(uris).map((uri) => linkSpec(uri, intf)));
    this.engine = new native.PlanetaryEngine({
      seed: c.PrivateKey.subarray(0, 32),
      ...(tunName !== undefined && { tunName }),
      mtu: tunMtu(c.IfMTU),
      listen: await Promise.all(usable(c.Listen).map((uri) => linkSpec(uri))),
      peers: await Promise.all([...usable(c.Peers).map((uri) => linkSpec(uri)), ...interfacePeers]),
      allowedKeys: c.AllowedPublicKeys.map(hexBytes),
      nodeinfo: JSON.stringify(nodeInfoOf(c)),
      onEvent: (e) => this.emit(e.type, e),
    });
    this.tunName = this.engine.snapshot().tunName;
    if (this.tunName) await run('ip', ['-6', 'address', 'add', `${this.address}/7`, 'dev', this.tunName]);
    this.multicast = await Multicast.start(this.engine, this.publicKey, c.MulticastInterfaces);
    if (options.admin !== false && c.AdminListen && c.AdminListen !== 'none') {
      this.admin = await startAdminServer(c.AdminListen, this);
    }
  }

  /** Where the admin socket listens (`unix:///path` or `tcp://host:port`); undefined when it does not. */
  get adminEndpoint(): string | undefined {
    return this.admin?.endpoint;
  }

  /** The running TCP/TLS listeners: each one's URI as configured and the address it is bound to. */
  listenerAddresses(): PlanetaryListener[] {
    return this.live().snapshot().listeners.map(({ uri, address }) => ({ uri, address }));
  }

  /** The TCP/TLS ports the listeners got (a `:0` listener gets one from the kernel). */
  listenPorts(): number[] {
    return this.live().snapshot().listeners.map((l) => l.port);
  }

  // --- PlanetaryState, for the admin socket and embedders ---

  self(): PlanetarySelf {
    return this.selfOf(this.live().snapshot());
  }

  peers(): PlanetaryPeer[] {
    return this.live().snapshot().peers.map(peerOf);
  }

  tree(): PlanetaryTreeEntry[] {
    return this.live().snapshot().tree.map(treeEntryOf);
  }

  paths(): PlanetaryPath[] {
    return this.live().snapshot().paths.map(pathOf);
  }

  sessions(): PlanetarySession[] {
    return this.live().snapshot().sessions.map(sessionOf);
  }

  /** Everything above from one engine snapshot, so the parts agree (metrics take it once a scrape). */
  snapshot(): PlanetarySnapshot {
    const s = this.live().snapshot();
    return {
      self: this.selfOf(s),
      peers: s.peers.map(peerOf),
      tree: s.tree.map(treeEntryOf),
      paths: s.paths.map(pathOf),
      sessions: s.sessions.map(sessionOf),
      position: { root: s.self.root, coords: s.self.coords },
    };
  }

  tun() {
    return this.tunName ? { enabled: true as const, name: this.tunName, mtu: tunMtu(this.config.IfMTU) } : { enabled: false as const };
  }

  multicastInterfaces() {
    return this.multicast?.interfaces() ?? [];
  }

  async addPeer(uri: string, sourceInterface: string): Promise<void> {
    if (!this.live().addPeer(await linkSpec(uri, sourceInterface))) throw new AdminError('peer is already configured');
  }

  async removePeer(uri: string, sourceInterface: string): Promise<void> {
    if (!this.live().removePeer(parsePeerUri(uri).withoutQuery, sourceInterface)) throw new AdminError('peer is not configured');
  }

  async nodeInfo(publicKey: Uint8Array): Promise<unknown> {
    return remoteJson(await this.ask(publicKey, 'nodeinfo'));
  }

  async debugRemote(request: DebugRemoteRequest, publicKey: Uint8Array): Promise<unknown> {
    if (request === 'getSelf') return remoteJson(await this.ask(publicKey, 'getself'));
    const data = await this.ask(publicKey, request === 'getPeers' ? 'getpeers' : 'gettree');
    const keys: string[] = [];
    for (let i = 0; i + 32 <= data.length; i += 32) keys.push(data.subarray(i, i + 32).toString('hex'));
    return { keys };
  }

  // A remote node answers over the overlay, or not at all: unanswered questions are forgotten after
  // REMOTE_TIMEOUT_MS (the admin socket gives up sooner).
  private ask(publicKey: Uint8Array, kind: NativeProtoKind): Promise<Buffer> {
    const id = `${kind} ${Buffer.from(publicKey).toString('hex')}`;
    return new Promise((resolve, reject) => {
      const onAnswer = (e: { detail?: string }) => {
        if (!e.detail?.startsWith(`${id} `)) return;
        done();
        resolve(Buffer.from(e.detail.slice(id.length + 1), 'hex'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new AdminError('timeout'));
      }, REMOTE_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        this.off('proto-response', onAnswer);
      };
      this.on('proto-response', onAnswer);
      this.live().request(publicKey, kind);
    });
  }

  async close(): Promise<void> {
    await this.admin?.close();
    this.admin = undefined;
    this.multicast?.close();
    this.multicast = undefined;
    this.engine?.close();
    this.engine = undefined;
  }

  private selfOf(s: NativePlanetarySnapshot): PlanetarySelf {
    return { buildName: BUILD_NAME, buildVersion: BUILD_VERSION, publicKey: this.publicKey, routingEntries: s.self.routingEntries };
  }

  private live(): NativePlanetaryEngine {
    if (!this.engine) throw new Error('PlanetaryNode is closed');
    return this.engine;
  }
}

/** What `gridwire planetary` runs. */
export function startPlanetaryNode(config: PlanetaryConfig, options: PlanetaryNodeOptions = {}): Promise<PlanetaryNode> {
  return PlanetaryNode.start(config, options);
}
