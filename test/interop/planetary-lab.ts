// Shared setup for the Planetary Network interop suite: Yggdrasil 0.5 nodes — gridwire's drop-in daemon
// (`gridwire planetary -useconffile F`) or the real yggdrasil 0.5.12 — each in its own lab namespace, peered
// over veth pairs by tcp:// or tls:// links, observed with the stock yggdrasilctl, ping and iperf3.
//
// Addressing: link i (0-based, in the order given) is 10.78.<i+1>.0/24, .1 on its `a` end, .2 on `b`. The
// listening end of a link listens on its own address, port 7000 (tcp) or 7001 (tls); the dialing end has the
// URI in Peers. Every node gets a unique TUN name and a unique admin socket (unix://, in a private temp dir).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { peerPath, type Lab, type LabProcess, type PeerName } from '../lib/netns.js';
import { cliPath, ping, run, runOk, type PingOptions, type PingResult } from './wg-lab.js';

export type Impl = 'gridwire' | 'yggdrasil';
export type Scheme = 'tcp' | 'tls';

/** Reference binaries every planetary interop test needs. */
export const PLANETARY_PEERS: readonly PeerName[] = ['yggdrasil-0.5', 'yggdrasilctl-0.5', 'ping'];

const execFileP = promisify(execFile);
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const BADPEER_JS = fixture('planetary-badpeer.js');

export const yggdrasil = (): string => peerPath('yggdrasil-0.5');
export const yggdrasilctl = (): string => peerPath('yggdrasilctl-0.5');

// ---------------------------------------------------------------------------------------------------
// Temporary files, names

let tempPath: string | undefined;
let counter = 0;

export function tempDir(): string {
  if (!tempPath) {
    const dir = mkdtempSync(join(tmpdir(), 'gw-planetary-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    tempPath = dir;
  }
  return tempPath;
}

/** A file name unique in this run's temp dir: <stem>-<n><ext>. */
export function tempFile(stem: string, ext = ''): string {
  return join(tempDir(), `${stem}-${++counter}${ext}`);
}

/** A TUN name unique across parallel runs (interfaces live in private namespaces, but be safe). */
export function uniqueIfname(impl: Impl): string {
  return `${impl === 'gridwire' ? 'gwy' : 'ygg'}${(process.pid % 46656).toString(36)}x${(++counter).toString(36)}`.slice(0, 15);
}

// ---------------------------------------------------------------------------------------------------
// Configs and keys

/** A config as `-genconf -json` prints it (we only touch a few keys). */
export type PlanetaryConfigJson = Record<string, unknown> & { PrivateKey: string };

/** argv prefix of an implementation's daemon (its `-genconf`, `-useconffile`, `-address`… flags are the same). */
export function daemonArgv(impl: Impl): string[] {
  return impl === 'gridwire' ? [process.execPath, cliPath(), 'planetary'] : [yggdrasil()];
}

/** Runs a daemon's command line outside any namespace (config queries need no network); returns stdout. */
export async function daemonQuery(impl: Impl, args: readonly string[]): Promise<string> {
  const [cmd, ...pre] = daemonArgv(impl);
  try {
    const { stdout } = await execFileP(cmd!, [...pre, ...args], { timeout: 20_000 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${impl} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** A fresh config from `<impl> -genconf` (JSON or the default HJSON text). */
export async function genconfText(impl: Impl, json: boolean): Promise<string> {
  return daemonQuery(impl, ['-genconf', ...(json ? ['-json'] : [])]);
}

export async function genconf(impl: Impl): Promise<PlanetaryConfigJson> {
  return JSON.parse(await genconfText(impl, true)) as PlanetaryConfigJson;
}

/** The Ed25519 public key (hex) of a config's PrivateKey (hex seed ‖ public key). */
export const publicKeyOf = (privateKeyHex: string): string => privateKeyHex.slice(64).toLowerCase();

/** Identity of a key as the reference computes it (`yggdrasil -useconffile F -publickey/-address/-subnet`). */
export interface Identity {
  key: string;
  address: string;
  subnet: string;
}

export async function identityOf(impl: Impl, configPath: string): Promise<Identity> {
  const [key, address, subnet] = await Promise.all(
    ['-publickey', '-address', '-subnet'].map(async (flag) => (await daemonQuery(impl, ['-useconffile', configPath, flag])).trim()),
  );
  return { key: key!, address: address!, subnet: subnet! };
}

/**
 * `n` private keys sorted by public key, lowest first (the lowest key reachable is the root of the tree).
 * Generated alternately by yggdrasil and gridwire.
 */
export async function sortedKeys(n: number): Promise<string[]> {
  const configs = await Promise.all(Array.from({ length: n }, (_, i) => genconf(i % 2 ? 'gridwire' : 'yggdrasil')));
  return configs.map((c) => c.PrivateKey).sort((a, b) => (publicKeyOf(a) < publicKeyOf(b) ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------------
// yggdrasilctl answers

export interface PeerRow {
  remote: string;
  up: boolean;
  inbound: boolean;
  address?: string;
  key?: string;
  port?: number;
  priority?: number;
  cost?: number;
  bytes_recvd?: number;
  bytes_sent?: number;
  rate_recvd?: number;
  rate_sent?: number;
  uptime?: number;
  latency?: number;
  last_error?: string;
}

export interface SelfInfo {
  build_name: string;
  build_version: string;
  key: string;
  address: string;
  routing_entries: number;
  subnet: string;
}

export interface TreeRow {
  address: string;
  key: string;
  parent: string;
  sequence: number;
}

export interface PathRow {
  address: string;
  key: string;
  path: number[];
  sequence: number;
}

export interface SessionRow {
  address: string;
  key: string;
  bytes_recvd: number;
  bytes_sent: number;
  uptime: number;
}

// ---------------------------------------------------------------------------------------------------
// Nodes

export interface NodeOptions {
  /** Listener URIs. */
  listen?: readonly string[];
  /** Outbound peer URIs. */
  peers?: readonly string[];
  /** Outbound peer URIs by source interface (InterfacePeers). */
  interfacePeers?: Readonly<Record<string, readonly string[]>>;
  /** Hex private key (seed ‖ public) to use instead of the generated one. */
  privateKey?: string;
  /** More daemon flags after `-useconffile F` (e.g. `-user nobody`). */
  args?: readonly string[];
}

/** One Yggdrasil node (gridwire or the real one) in a lab namespace, with its own admin socket. */
export class PNode {
  proc!: LabProcess;
  identity!: Identity;
  /** `unix://…` admin endpoint. */
  readonly admin: string;
  readonly ifname: string;
  readonly configPath: string;
  private startedAt = 0;

  private constructor(
    readonly lab: Lab,
    readonly ns: string,
    readonly name: string,
    readonly impl: Impl,
    readonly config: PlanetaryConfigJson,
  ) {
    this.admin = `unix://${tempFile(name, '.sock')}`;
    this.ifname = uniqueIfname(impl);
    this.configPath = tempFile(name, '.json');
  }

  get key(): string {
    return this.identity.key;
  }

  get address(): string {
    return this.identity.address;
  }

  /** The first address of the node's routed /64 (`3xx:…::1`). */
  get subnetHost(): string {
    return this.identity.subnet.replace(/::\/64$/, '::1');
  }

  get label(): string {
    return `${this.name}(${this.impl})`;
  }

  /**
   * Writes a config (from the implementation's own -genconf), starts the daemon in namespace `ns` and waits
   * until its admin socket answers and its TUN carries the address the reference computes for its key.
   */
  static async start(lab: Lab, ns: string, name: string, impl: Impl, opts: NodeOptions = {}): Promise<PNode> {
    const config = await genconf(impl);
    const node = new PNode(lab, ns, name, impl, config);
    Object.assign(config, {
      ...(opts.privateKey && { PrivateKey: opts.privateKey }),
      Listen: [...(opts.listen ?? [])],
      Peers: [...(opts.peers ?? [])],
      InterfacePeers: opts.interfacePeers ?? {},
      MulticastInterfaces: [],
      AdminListen: node.admin,
      IfName: node.ifname,
    });
    writeFileSync(node.configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    // The reference's view of the key, whichever implementation runs it.
    node.identity = await identityOf('yggdrasil', node.configPath);
    await node.launch(opts.args ?? []);
    return node;
  }

  private async launch(args: readonly string[]): Promise<void> {
    this.startedAt = Date.now();
    this.proc = this.lab.spawn(this.ns, [...daemonArgv(this.impl), '-useconffile', this.configPath, ...args]);
    const ready = async (): Promise<boolean> => {
      if (!this.proc.running) throw new Error(`${this.label} exited`);
      const self = (await this.ctl('getSelf')) as SelfInfo;
      if (self.key !== this.key) throw new Error(`${this.label} getSelf key ${self.key}, expected ${this.key}`);
      const addrs = await run(this.lab, this.ns, ['ip', '-6', '-o', 'addr', 'show', 'dev', this.ifname]);
      return addrs.stdout.includes(`${this.address}/7`);
    };
    await this.lab.waitFor(ready, 15_000, `${this.label} to serve ${this.admin} and address ${this.ifname}`).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.proc.describe()}`);
    });
  }

  /** Kills the daemon (SIGTERM, then SIGKILL after `graceMs`); resolves once it is gone. */
  async stop(graceMs = 2000): Promise<void> {
    await this.proc.kill(graceMs);
  }

  /** SIGKILL, no warning (the kernel still closes its sockets); resolves once it is gone. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await this.proc.kill(0);
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** `yggdrasilctl -json -endpoint <admin> <args>`, parsed; throws on a non-zero exit. */
  async ctl(...args: string[]): Promise<unknown> {
    const out = await runOk(this.lab, this.ns, [yggdrasilctl(), '-json', '-endpoint', this.admin, ...args], { timeoutMs: 10_000 });
    return JSON.parse(out) as unknown;
  }

  /** `yggdrasilctl -endpoint <admin> <args>` (the plain table), whatever the exit code. */
  async ctlText(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return run(this.lab, this.ns, [yggdrasilctl(), '-endpoint', this.admin, ...args], { timeoutMs: 10_000 });
  }

  async self(): Promise<SelfInfo> {
    return (await this.ctl('getSelf')) as SelfInfo;
  }

  async peers(): Promise<PeerRow[]> {
    return ((await this.ctl('getPeers')) as { peers: PeerRow[] | null }).peers ?? [];
  }

  async tree(): Promise<TreeRow[]> {
    return ((await this.ctl('getTree')) as { tree: TreeRow[] | null }).tree ?? [];
  }

  async paths(): Promise<PathRow[]> {
    return ((await this.ctl('getPaths')) as { paths: PathRow[] | null }).paths ?? [];
  }

  async sessions(): Promise<SessionRow[]> {
    return ((await this.ctl('getSessions')) as { sessions: SessionRow[] | null }).sessions ?? [];
  }

  /** Keys of the peers that are up. */
  async upPeerKeys(): Promise<Set<string>> {
    return new Set((await this.peers()).filter((p) => p.up && p.key).map((p) => p.key!));
  }

  /** Waits until every key in `keys` is an up peer. */
  async waitPeers(keys: readonly string[], timeoutMs = 20_000): Promise<void> {
    await this.lab
      .waitFor(
        async () => {
          const up = await this.upPeerKeys();
          return keys.every((k) => up.has(k));
        },
        timeoutMs,
        `${this.label} to have peers ${keys.map((k) => k.slice(0, 8)).join(', ')} up`,
      )
      .catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await this.describe()}`);
      });
  }

  /** getPeers/getTree in plain text and the daemon's recent output, for failure messages. */
  async describe(): Promise<string> {
    const lines = [`=== ${this.label} ${this.key.slice(0, 16)}… ${this.address} in ${this.ns}, up ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s`];
    if (this.proc.running) {
      for (const cmd of ['getPeers', 'getTree']) {
        const r = await this.ctlText(cmd).catch((e: Error) => ({ stdout: '', stderr: e.message }));
        lines.push(`--- ${cmd}\n${(r.stdout + r.stderr).trimEnd()}`);
      }
    } else lines.push(`(exited: code ${this.proc.result?.code}, signal ${this.proc.result?.signal})`);
    lines.push(this.proc.describe());
    return lines.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------------
// Networks: nodes in namespaces of their own, links as veth pairs

export interface NetNodeSpec {
  name: string;
  impl: Impl;
}

export interface NetLinkSpec {
  a: string;
  b: string;
  scheme?: Scheme;
  /** The end that dials (default 'a'); the other listens. */
  dialer?: 'a' | 'b';
}

export interface NetLink {
  a: string;
  b: string;
  scheme: Scheme;
  dialer: string;
  listener: string;
  /** The URI the dialer has in Peers. */
  uri: string;
  /** Underlay IPv4 address of each end, by node name. */
  ip: Record<string, string>;
}

export interface NetOptions {
  /**
   * Node names from the lowest public key to the highest (the first becomes the root): keys are generated,
   * sorted and handed out in this order. Nodes not listed keep their own generated keys.
   */
  keyOrder?: readonly string[];
}

export const listenPort = (scheme: Scheme): number => (scheme === 'tls' ? 7001 : 7000);

export class Net {
  readonly nodes = new Map<string, PNode>();
  readonly links: NetLink[] = [];

  constructor(readonly lab: Lab) {}

  /** A Net over nodes started one by one (no links recorded), e.g. for waitTree(). */
  static of(lab: Lab, ...nodes: PNode[]): Net {
    const net = new Net(lab);
    for (const n of nodes) net.nodes.set(n.name, n);
    return net;
  }

  node(name: string): PNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  get all(): PNode[] {
    return [...this.nodes.values()];
  }

  /** Nodes still running. */
  get live(): PNode[] {
    return this.all.filter((n) => n.running);
  }

  /** The link between nodes `x` and `y`. */
  link(x: string, y: string): NetLink {
    const l = this.links.find((k) => (k.a === x && k.b === y) || (k.a === y && k.b === x));
    if (!l) throw new Error(`no link ${x}–${y}`);
    return l;
  }

  /** Names of the nodes `name` has a link with. */
  neighbours(name: string): string[] {
    return this.links.flatMap((l) => (l.a === name ? [l.b] : l.b === name ? [l.a] : []));
  }

  /** Waits until every running node has every running neighbour as an up peer. */
  async waitLinks(timeoutMs = 20_000): Promise<void> {
    await Promise.all(
      this.live.map((n) => n.waitPeers(this.neighbours(n.name).map((m) => this.node(m)).filter((m) => m.running).map((m) => m.key), timeoutMs)),
    );
  }

  /** Each running node's root as its own getTree shows it, by node name. */
  async roots(): Promise<Map<string, string | undefined>> {
    return new Map(await Promise.all(this.live.map(async (n) => [n.name, rootOf(await n.tree(), n.key)] as const)));
  }

  /**
   * Waits until every running node's tree leads to `root` (default: the lowest running key, which the tree
   * elects) and then stays exactly the same (every node's getTree: same keys, parents, sequences) for
   * `settleMs`; returns the ms until the roots agreed. Packets may be lost while the tree forms, in either
   * implementation. The quiet period lets the bloom filters follow the tree: they move one hop per 1 s tick
   * (spec §4.7), and a lookup made before they arrive finds no peer to go to. That matters beyond the lost
   * lookup: a node that answers a session Init while it has no path to the initiator sends its Ack into that
   * void, then ignores the initiator's re-sent (identical) Init, so the session stays down for about a
   * minute — yggdrasil 0.5.12 does this too (all-yggdrasil labs stalled the same way when pinged right away).
   */
  async waitTree(timeoutMs = 20_000, root = this.live.map((n) => n.key).sort()[0]!, settleMs = (this.live.length + 1) * 1000): Promise<number> {
    const started = Date.now();
    await this.lab
      .waitFor(async () => [...(await this.roots()).values()].every((r) => r === root), timeoutMs, `every node to have root ${root.slice(0, 8)}`)
      .catch(async (err: Error) => {
        const seen = [...(await this.roots()).entries()].map(([n, r]) => `${n}: ${r?.slice(0, 8)}`).join(', ');
        throw new Error(`${err.message}; roots: ${seen}\n${await this.describe()}`);
      });
    const agreed = Date.now() - started;
    const snapshot = async (): Promise<string> =>
      JSON.stringify(await Promise.all(this.live.map(async (n) => (await n.tree()).map((r) => [r.key, r.parent, r.sequence]))));
    let last = await snapshot();
    let since = Date.now();
    await this.lab.waitFor(
      async () => {
        const now = await snapshot();
        if (now !== last) [last, since] = [now, Date.now()];
        return Date.now() - since >= settleMs;
      },
      timeoutMs + settleMs,
      `the tree to stay unchanged for ${settleMs} ms`,
    );
    return agreed;
  }

  async describe(): Promise<string> {
    return (await Promise.all(this.all.map((n) => n.describe()))).join('\n');
  }
}

/** The root of the tree `self` is in, per a getTree answer: follow parents until a self-parent. */
export function rootOf(tree: readonly TreeRow[], self: string): string | undefined {
  const parent = new Map(tree.map((r) => [r.key, r.parent]));
  let key = self;
  for (let hops = 0; hops <= tree.length; hops++) {
    const p = parent.get(key);
    if (p === undefined) return undefined;
    if (p === key) return key;
    key = p;
  }
  return undefined; // a loop
}

/**
 * Builds a network: one namespace per node, one veth per link, every daemon started once the nodes it
 * dials are up (so the first dial succeeds and no reconnect backoff slows the test), then waits until all
 * links are up on both ends and every node has joined the tree of the lowest key (and it has stayed still).
 */
export async function buildNet(lab: Lab, nodes: readonly NetNodeSpec[], links: readonly NetLinkSpec[], opts: NetOptions = {}): Promise<Net> {
  const net = new Net(lab);
  const specs = new Map(nodes.map((n) => [n.name, n]));
  await Promise.all(nodes.map((n) => lab.addNamespace(n.name)));
  const listen = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  const dial = new Map<string, { target: string; uri: string }[]>(nodes.map((n) => [n.name, []]));
  for (const [i, l] of links.entries()) {
    if (!specs.has(l.a) || !specs.has(l.b)) throw new Error(`link ${l.a}–${l.b} names an unknown node`);
    const scheme = l.scheme ?? 'tcp';
    const ends = { a: `10.78.${i + 1}.1`, b: `10.78.${i + 1}.2` };
    await lab.link(l.a, l.b, { a: { ifname: `l${i}`, addrs: [`${ends.a}/24`] }, b: { ifname: `l${i}`, addrs: [`${ends.b}/24`] } });
    const dialerEnd = l.dialer ?? 'a';
    const listenerEnd = dialerEnd === 'a' ? 'b' : 'a';
    const uri = `${scheme}://${ends[listenerEnd]}:${listenPort(scheme)}`;
    listen.get(l[listenerEnd])!.push(uri);
    dial.get(l[dialerEnd])!.push({ target: l[listenerEnd], uri });
    net.links.push({ a: l.a, b: l.b, scheme, dialer: l[dialerEnd], listener: l[listenerEnd], uri, ip: { [l.a]: ends.a, [l.b]: ends.b } });
  }
  const keys = new Map<string, string>();
  if (opts.keyOrder) {
    const sorted = await sortedKeys(opts.keyOrder.length);
    opts.keyOrder.forEach((name, i) => keys.set(name, sorted[i]!));
  }
  const started = new Map<string, Promise<PNode>>();
  const visiting = new Set<string>();
  const start = (name: string): Promise<PNode> => {
    const existing = started.get(name);
    if (existing) return existing;
    if (visiting.has(name)) throw new Error(`the links' dial directions form a cycle through ${name}`);
    visiting.add(name);
    const targets = dial.get(name)!.map((d) => start(d.target));
    const p = Promise.all(targets).then(() =>
      PNode.start(lab, name, name, specs.get(name)!.impl, {
        listen: listen.get(name)!,
        peers: dial.get(name)!.map((d) => d.uri),
        ...(keys.has(name) && { privateKey: keys.get(name)! }),
      }),
    );
    started.set(name, p);
    return p;
  };
  const all = await Promise.all(nodes.map((n) => start(n.name)));
  for (const n of all) net.nodes.set(n.name, n);
  await net.waitLinks();
  await net.waitTree();
  return net;
}

// ---------------------------------------------------------------------------------------------------
// Probes

/**
 * Waits until `to` answers one echo from `from` (ping retries every 0.2 s up to `seconds`): the first
 * packets of a new destination may go while the path lookup and the session handshake run.
 */
export async function reach(from: PNode, to: string, seconds = 15, o: PingOptions = {}): Promise<PingResult> {
  return ping(from.lab, from.ns, to, { count: 1, interval: 0.2, deadline: seconds, wait: 1, ...o });
}

/** Exactly `count` echoes, none retried, every one must be answered (checked by the caller). */
export async function pingExact(from: PNode, to: string, count = 3, o: PingOptions = {}): Promise<PingResult> {
  return ping(from.lab, from.ns, to, { count, interval: 0.1, wait: 2, ...o });
}

/** "1.23 Gbit/s" / "456 Mbit/s". */
export function rate(bps: number): string {
  return bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} Gbit/s` : `${(bps / 1e6).toFixed(0)} Mbit/s`;
}
