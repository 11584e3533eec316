// The Prometheus endpoint: GET /metrics renders what the registered WireGuard devices and planetary
// node report at that moment (their own counters), plus what only their events tell (handshake
// failures, peer links going up and down). Tree changes are sampled, not evented: the engine emits no
// tree event, so the root and parent are compared every `treeSampleMs` and on every scrape — a flap
// shorter than that interval goes uncounted. Loopback only unless the caller explicitly allows more.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { CONTENT_TYPE, FamilySet, formatExposition } from './exposition.js';
import type { Logger } from './log.js';
import { eventKind, onDeviceEvents, PEER_EVENTS } from './wg-events.js';
import type { WireGuardDevice } from '../wireguard/device.js';
import type { PlanetaryNode, PlanetarySnapshot } from '../planetary/node.js';

export interface MetricsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port (listen() says which). */
  port: number;
  logger?: Logger;
  /** Required to listen on anything but a loopback address: the metrics name every peer. */
  allowNonLoopback?: boolean;
  /** How often the planetary tree position is sampled for change counts; default 1000 ms. */
  treeSampleMs?: number;
}

export class MetricsError extends Error {}

export const DEFAULT_METRICS_HOST = '127.0.0.1';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || /^::ffff:127\./i.test(host);
}

/** `[host:]port` or `[v6]:port`, as --metrics takes it; the host defaults to 127.0.0.1. */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new MetricsError(`'${text}' is not a metrics address ([host:]port, e.g. 127.0.0.1:9586)`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? DEFAULT_METRICS_HOST, port };
}

const WG_EVENT_KINDS = ['handshake', 'endpoint_change', 'handshake_gave_up', 'keys_zeroed'];

interface WgSource {
  readonly device: WireGuardDevice;
  readonly events: Map<string, number>;
  readonly detach: () => void;
}

/** The root and our parent, compared between samples. */
class TreeTracker {
  rootChanges = 0;
  parentChanges = 0;
  private last: { root: string; parent: string } | undefined;

  sample(snap: PlanetarySnapshot): { root: string; parent: string; depth: number } {
    const { root, coords } = snap.position;
    const self = Buffer.from(snap.self.publicKey);
    const entry = snap.tree.find((t) => self.equals(t.publicKey));
    const parent = entry ? Buffer.from(entry.parent).toString('hex') : '';
    if (this.last) {
      if (this.last.root !== root) this.rootChanges++;
      if (this.last.parent !== parent) this.parentChanges++;
    }
    this.last = { root, parent };
    return { root, parent, depth: coords.length };
  }
}

interface PlanetarySource {
  readonly node: PlanetaryNode;
  readonly tree: TreeTracker;
  readonly linkEvents: Map<string, number>;
  readonly detach: () => void;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

function collectWireGuard(set: FamilySet, name: string, src: WgSource): void {
  const dev = src.device;
  const ifl = { interface: name };
  set.add('gridwire_wg_device_info', 'gauge', 'A WireGuard interface run by this process (value 1).', { ...ifl, public_key: dev.publicKey ?? '', listen_port: String(dev.listenPort) }, 1);
  const peers = dev.peers();
  set.add('gridwire_wg_peers', 'gauge', 'Peers configured on the interface.', ifl, peers.length);
  for (const p of peers) {
    const l = { ...ifl, peer: p.publicKey };
    set.add('gridwire_wg_peer_receive_bytes_total', 'counter', 'Bytes received from the peer, as wg show reports them.', l, p.rxBytes);
    set.add('gridwire_wg_peer_transmit_bytes_total', 'counter', 'Bytes sent to the peer, as wg show reports them.', l, p.txBytes);
    set.add('gridwire_wg_peer_receive_packets_total', 'counter', 'Data packets received from the peer: authenticated transport messages carrying an inner packet (keepalives and handshake messages are not counted here; their bytes are).', l, p.rxPackets);
    set.add('gridwire_wg_peer_transmit_packets_total', 'counter', 'Data packets sent to the peer: transport messages carrying an inner packet (keepalives and handshake messages are not counted here; their bytes are).', l, p.txPackets);
    set.add('gridwire_wg_peer_receive_keepalives_total', 'counter', 'Authenticated keepalives (transport messages with no inner packet) received from the peer.', l, p.rxKeepalives);
    set.add('gridwire_wg_peer_transmit_keepalives_total', 'counter', 'Keepalives (transport messages with no inner packet) sent to the peer.', l, p.txKeepalives);
    set.add('gridwire_wg_peer_handshakes_total', 'counter', 'Handshakes completed with the peer.', l, p.handshakes);
    set.add('gridwire_wg_peer_last_handshake_timestamp_seconds', 'gauge', 'Unix time of the latest completed handshake with the peer; 0 for never.', l, p.lastHandshake ? p.lastHandshake.getTime() / 1000 : 0);
  }
  for (const [counter, value] of Object.entries(dev.counters())) {
    if (counter.startsWith('drop_')) set.add('gridwire_wg_drops_total', 'counter', 'Packets dropped by the engine, by reason.', { ...ifl, reason: counter.slice(5) }, value);
    else set.add('gridwire_wg_engine_events_total', 'counter', 'Other engine tallies (TUN errors, events the control plane missed, ...), by kind.', { ...ifl, kind: counter }, value);
  }
  for (const [event, count] of src.events) set.add('gridwire_wg_peer_events_total', 'counter', 'Peer events seen since the interface was registered, by kind.', { ...ifl, event }, count);
}

// Every family from one snapshot: one engine call a scrape, and families that agree with each other.
function collectPlanetary(set: FamilySet, src: PlanetarySource): void {
  const { node } = src;
  const snap = node.snapshot();
  const { self } = snap;
  const key = Buffer.from(self.publicKey).toString('hex');
  set.add('gridwire_planetary_node_info', 'gauge', 'The planetary node run by this process (value 1).', { address: node.address, subnet: node.subnet, public_key: key, build_name: self.buildName, build_version: self.buildVersion }, 1);
  set.add('gridwire_planetary_routing_entries', 'gauge', 'Entries in the routing table.', {}, self.routingEntries);
  for (const p of snap.peers) {
    const l = { remote: p.remote, key: p.publicKey ? Buffer.from(p.publicKey).toString('hex') : '', direction: p.inbound ? 'inbound' : 'outbound' };
    set.add('gridwire_planetary_peer_up', 'gauge', 'Whether the peering link is up (1) or down (0).', l, p.up ? 1 : 0);
    set.add('gridwire_planetary_peer_receive_bytes_total', 'counter', 'Bytes received on the peering link since it came up.', l, p.bytesReceived);
    set.add('gridwire_planetary_peer_transmit_bytes_total', 'counter', 'Bytes sent on the peering link since it came up.', l, p.bytesSent);
    set.add('gridwire_planetary_peer_uptime_seconds', 'gauge', 'Seconds since the peering link came up.', l, p.uptimeSeconds);
  }
  for (const [event, count] of src.linkEvents) set.add('gridwire_planetary_peer_link_events_total', 'counter', 'Peering links going up or down since the node was registered.', { event }, count);
  set.add('gridwire_planetary_sessions', 'gauge', 'Established traffic sessions with remote nodes.', {}, snap.sessions.length);
  set.add('gridwire_planetary_tree_entries', 'gauge', 'Known spanning-tree entries.', {}, snap.tree.length);
  set.add('gridwire_planetary_paths', 'gauge', 'Established paths through this node.', {}, snap.paths.length);
  const tree = src.tree.sample(snap);
  set.add('gridwire_planetary_tree_info', 'gauge', "The spanning tree's root and this node's parent (value 1).", { root: tree.root, parent: tree.parent }, 1);
  set.add('gridwire_planetary_tree_depth', 'gauge', "This node's distance from the root (length of its coordinates).", {}, tree.depth);
  set.add('gridwire_planetary_tree_root_changes_total', 'counter', 'Times the tree root changed (sampled; see treeSampleMs).', {}, src.tree.rootChanges);
  set.add('gridwire_planetary_tree_parent_changes_total', 'counter', "Times this node's parent changed (sampled; see treeSampleMs).", {}, src.tree.parentChanges);
}

export class MetricsServer {
  private readonly host: string;
  private readonly port: number;
  private readonly logger: Logger | undefined;
  private readonly treeSampleMs: number;
  private readonly wg = new Map<string, WgSource>();
  private planetary: PlanetarySource | undefined;
  private server: Server | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private readonly collectErrors = new Map<string, number>();

  constructor(opts: MetricsServerOptions) {
    this.host = opts.host ?? DEFAULT_METRICS_HOST;
    this.port = opts.port;
    this.logger = opts.logger;
    this.treeSampleMs = opts.treeSampleMs ?? 1000;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) throw new MetricsError(`metrics port ${this.port} is not 0..65535`);
    if (!isLoopback(this.host) && !opts.allowNonLoopback) {
      throw new MetricsError(`refusing to serve metrics on ${this.host}: not a loopback address (metrics list every peer; allow it explicitly to expose them)`);
    }
  }

  addWireGuard(name: string, device: WireGuardDevice): void {
    this.removeWireGuard(name);
    const events = new Map(WG_EVENT_KINDS.map((k) => [k, 0]));
    const detach = onDeviceEvents(device, PEER_EVENTS, (e) => bump(events, eventKind(e)));
    this.wg.set(name, { device, events, detach });
  }

  removeWireGuard(name: string): void {
    this.wg.get(name)?.detach();
    this.wg.delete(name);
  }

  setPlanetary(node: PlanetaryNode | undefined): void {
    this.planetary?.detach();
    this.planetary = undefined;
    clearInterval(this.sampler);
    this.sampler = undefined;
    if (!node) return;
    const linkEvents = new Map([['up', 0], ['down', 0]]);
    const up = () => bump(linkEvents, 'up');
    const down = () => bump(linkEvents, 'down');
    node.on('peer-up', up);
    node.on('peer-down', down);
    const src: PlanetarySource = { node, tree: new TreeTracker(), linkEvents, detach: () => (node.off('peer-up', up), node.off('peer-down', down)) };
    this.planetary = src;
    this.sampleTree(src);
    this.sampler = setInterval(() => this.sampleTree(src), this.treeSampleMs).unref();
  }

  private sampleTree(src: PlanetarySource): void {
    try {
      src.tree.sample(src.node.snapshot());
    } catch {
      // A closed node: the next scrape reports it as a collection error.
    }
  }

  /** The exposition text; a source that fails is left out, logged and counted, never fatal. */
  render(): string {
    const set = new FamilySet();
    for (const [name, src] of this.wg) this.collectInto(set, `wireguard:${name}`, (s) => collectWireGuard(s, name, src));
    if (this.planetary) {
      const src = this.planetary;
      this.collectInto(set, 'planetary', (s) => collectPlanetary(s, src));
    }
    set.declare('gridwire_metrics_collect_errors_total', 'counter', 'Scrapes in which a source failed to report, by source.');
    for (const [source, count] of this.collectErrors) set.add('gridwire_metrics_collect_errors_total', 'counter', 'Scrapes in which a source failed to report, by source.', { source }, count);
    return formatExposition(set.families());
  }

  // A source is collected into its own set first, so a failure halfway leaves none of its samples.
  private collectInto(set: FamilySet, source: string, collect: (s: FamilySet) => void): void {
    const own = new FamilySet();
    try {
      collect(own);
    } catch (err) {
      bump(this.collectErrors, source);
      this.logger?.warn({ source, err: (err as Error).message }, 'metrics collection failed');
      return;
    }
    for (const f of own.families()) for (const s of f.samples) set.add(f.name, f.type, f.help, s.labels, s.value);
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.server) throw new MetricsError('the metrics server is already listening');
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        this.server = undefined;
        reject(new MetricsError(`cannot serve metrics on ${this.host}:${this.port}: ${err.message}`));
      });
      server.listen(this.port, this.host, () => {
        const a = server.address();
        const bound = { host: this.host, port: typeof a === 'object' && a ? a.port : this.port };
        this.logger?.info({ ...bound }, 'metrics endpoint listening');
        resolve(bound);
      });
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = this.render();
    } catch (err) {
      this.logger?.error({ err: (err as Error).message }, 'metrics rendering failed');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async close(): Promise<void> {
    for (const name of [...this.wg.keys()]) this.removeWireGuard(name);
    this.setPlanetary(undefined);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/**
 * What a command's `--metrics [host:]port` flag does: checks the address (loopback unless allowed),
 * listens, and says where. For `gridwire wg`, and for any daemon command that adds the flag.
 */
export async function serveMetrics(address: string, opts: { allowNonLoopback?: boolean; logger?: Logger } = {}): Promise<{ server: MetricsServer; url: string }> {
  const server = new MetricsServer({ ...parseMetricsAddress(address), ...opts });
  const { host, port } = await server.listen();
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics` };
}
