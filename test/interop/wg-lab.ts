// Shared setup for the WireGuard interop suite: WireGuard nodes (gridwire's CLI, gridwire through the
// device-runner fixture, or a reference wireguard-go) started inside lab namespaces and configured with the
// stock `wg`, point-to-point pairs over a veth, and the ping/iperf3/tcpdump probes the tests observe with.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeKey, generatePresharedKey, generatePrivateKey, publicKey as derivePublic } from '../../src/keys/index.js';
import { Lab, peerPath, requirePeer, type ExecResult, type Gate, type LabProcess, type PeerName } from '../lib/netns.js';
import { packageRoot } from '../../src/package-root.js';

export type Impl = 'gridwire' | 'runner' | 'wireguard-go-new' | 'wireguard-go-old';
export type Family = 4 | 6;

/** Peers each implementation needs installed (all of them are configured with `wg`). */
export function peersFor(...impls: Impl[]): PeerName[] {
  const names = new Set<PeerName>(['wg', 'ping']);
  for (const i of impls) if (i === 'wireguard-go-new' || i === 'wireguard-go-old') names.add(i);
  return [...names];
}

// ---------------------------------------------------------------------------------------------------
// Paths


/** The shipped CLI (`gridwire wg <ifname>`), built by `npx tsc -p tsconfig.json`. */
export function cliPath(): string {
  const p = join(packageRoot(), 'dist', 'cli.js');
  if (!existsSync(p)) throw new Error(`${p} is missing: build it with 'npx tsc -p tsconfig.json'`);
  return p;
}

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const RUNNER_JS = fixture('device-runner.js');
export const JUNK_SENDER_JS = fixture('junk-sender.js');

// ---------------------------------------------------------------------------------------------------
// Commands

let ifCounter = 0;

/** Placeholder argument for WgNode.wg(): replaced by a file holding the given input. */
export const FILE = '<file>';
let tempCounter = 0;
let tempPath: string | undefined;

function tempDir(): string {
  if (!tempPath) {
    const dir = mkdtempSync(join(tmpdir(), 'gw-interop-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    tempPath = dir;
  }
  return tempPath;
}

/** An interface name unique across parallel runs (/var/run/wireguard is shared by all namespaces). */
export function uniqueIfname(tag: string): string {
  return `${tag}${(process.pid % 46656).toString(36)}x${(++ifCounter).toString(36)}`.slice(0, 15);
}

export function newKeyPair(): { privateKey: string; publicKey: string } {
  const priv = generatePrivateKey();
  return { privateKey: encodeKey(priv), publicKey: encodeKey(derivePublic(priv)) };
}

export const newPsk = (): string => encodeKey(generatePresharedKey());

export interface RunOptions {
  timeoutMs?: number;
}

/** Runs argv in a namespace. Resolves with the result whatever the exit code; a timeout kills it and rejects. */
export function run(lab: Lab, ns: string, argv: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  return lab.exec(ns, argv, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
}

/** As run(), but a non-zero exit throws with the command's output. Returns stdout. */
export async function runOk(lab: Lab, ns: string, argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(lab, ns, argv, opts);
  if (r.code !== 0) {
    throw new Error(`'${argv.join(' ')}' in ${ns} failed (exit ${r.code}, signal ${r.signal})\n${r.stdout}${r.stderr}`.trimEnd());
  }
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------------
// Nodes

export interface NodeOptions {
  listenPort: number;
  /** Tunnel addresses (CIDR) put on the interface; the interface is then set up. */
  addrs?: readonly string[];
  /** Extra `ip route add` argument lists, e.g. ['10.10.0.0/16'] (dev is appended). */
  routes?: readonly (readonly string[])[];
  /** runner only: gridwire's timer divisor. */
  timeScale?: number;
  /** Extra environment for the daemon (e.g. a GRIDWIRE_* switch). */
  env?: Record<string, string>;
}

export type ShowField = 'endpoints' | 'latest-handshakes' | 'transfer' | 'allowed-ips' | 'persistent-keepalive' | 'preshared-keys';

export interface PeerSpec {
  publicKey: string;
  presharedKey?: string;
  endpoint?: string;
  persistentKeepalive?: number;
  allowedIps: readonly string[];
}

/** A WireGuard interface in a lab namespace, whatever implements it, driven with the stock `wg`. */
export class WgNode {
  /** Underlay addresses by family (set by createPair for the endpoint of the other side). */
  underlay: Partial<Record<Family, string>> = {};
  /** Tunnel (inner) addresses by family, without prefix length. */
  tunnel: Partial<Record<Family, string>> = {};

  /** The daemon; replaced by restart(). */
  proc!: LabProcess;
  /** The device-runner's control channel (impl 'runner' only). */
  runner: RunnerClient | undefined;
  readonly privateKey: string;
  readonly publicKey: string;
  private sentOverIPv4 = false;

  private constructor(
    readonly lab: Lab,
    readonly ns: string,
    readonly impl: Impl,
    readonly ifname: string,
    private readonly opts: NodeOptions,
  ) {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = newKeyPair());
  }

  get listenPort(): number {
    return this.opts.listenPort;
  }

  /** Starts a daemon in namespace `ns`, gives it a key and port with `wg`, addresses it and sets it up. */
  static async start(lab: Lab, ns: string, impl: Impl, opts: NodeOptions): Promise<WgNode> {
    const node = new WgNode(lab, ns, impl, uniqueIfname(impl === 'gridwire' || impl === 'runner' ? 'gw' : 'go'), opts);
    await node.launch();
    return node;
  }

  private async launch(): Promise<void> {
    const { lab, ns, impl, ifname, opts } = this;
    const daemon = daemonArgv(impl, ifname, opts.timeScale);
    const env = daemon.env || opts.env ? { ...daemon.env, ...opts.env } : undefined;
    const proc = lab.spawn(ns, daemon.argv, { ...(env && { env }), ...(impl === 'runner' && { stdin: 'pipe' as const }) });
    this.proc = proc;
    this.runner = impl === 'runner' ? new RunnerClient(proc) : undefined;
    const socket = `/var/run/wireguard/${ifname}.sock`;
    await lab
      .waitFor(
        async () => {
          if (!proc.running) throw new Error(`daemon exited: ${proc.describe()}`);
          if (!existsSync(socket)) return false;
          return (await run(lab, ns, [peerPath('wg'), 'show', ifname, 'listen-port'])).code === 0;
        },
        15_000,
        `${impl} to serve ${socket}`,
      )
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${proc.describe()}`);
      });
    await this.wg(['set', ifname, 'listen-port', String(opts.listenPort), 'private-key', FILE], this.privateKey);
    for (const a of opts.addrs ?? []) await this.ip(['addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : [])]);
    await this.ip(['link', 'set', ifname, 'up']);
    for (const r of opts.routes ?? []) await this.ip(['route', 'add', ...r, 'dev', ifname]);
  }

  /** Stops the daemon (its interface goes with it) and starts a fresh one with the same name, key and addresses; no peers. */
  async restart(): Promise<void> {
    await this.proc.kill();
    const gone = async (): Promise<boolean> => (await run(this.lab, this.ns, ['ip', 'link', 'show', 'dev', this.ifname])).code !== 0;
    await this.lab.waitFor(gone, 5000, `${this.ifname} to go`);
    this.sentOverIPv4 = false;
    await this.launch();
  }

  /**
   * Called before a session over `outer`. wireguard-go 0.0.20231211 corrupts IPv6 destinations once it has
   * sent over IPv4 (its pooled net.UDPAddr keeps a 4-byte IP and only the first 4 bytes of the IPv6 address
   * are copied in: fd10::1 becomes fd10::; fixed upstream by wireguard-go PR #135, reproduced here between
   * two wireguard-go processes). A fresh process avoids that reference bug; gridwire is never restarted.
   */
  async prepareOuter(outer: Family): Promise<void> {
    if (outer === 4) this.sentOverIPv4 = true;
    else if (this.sentOverIPv4 && this.impl === 'wireguard-go-new') await this.restart();
  }

  /**
   * `wg <args>` in this interface's namespace; throws on failure; returns stdout. With `input`, the
   * argument FILE is replaced by a private temporary file holding it (keys, configs): wg fopen()s its
   * files, which a Node stdio pipe (a socket) does not allow.
   */
  async wg(args: readonly string[], input?: string): Promise<string> {
    if (input === undefined) return runOk(this.lab, this.ns, [peerPath('wg'), ...args]);
    if (!args.includes(FILE)) throw new Error(`wg ${args.join(' ')}: input given but no ${FILE} argument`);
    const path = join(tempDir(), `in-${++tempCounter}`);
    writeFileSync(path, input, { mode: 0o600 });
    try {
      return await runOk(this.lab, this.ns, [peerPath('wg'), ...args.map((a) => (a === FILE ? path : a))]);
    } finally {
      rmSync(path, { force: true });
    }
  }

  ip(args: readonly string[]): Promise<string> {
    return runOk(this.lab, this.ns, ['ip', ...args]);
  }

  async setPeer(p: PeerSpec): Promise<void> {
    const args = ['set', this.ifname, 'peer', p.publicKey];
    if (p.presharedKey !== undefined) args.push('preshared-key', FILE);
    if (p.endpoint !== undefined) args.push('endpoint', p.endpoint);
    if (p.persistentKeepalive !== undefined) args.push('persistent-keepalive', String(p.persistentKeepalive));
    args.push('allowed-ips', p.allowedIps.join(','));
    await this.wg(args, p.presharedKey);
  }

  async removePeer(publicKey: string): Promise<void> {
    await this.wg(['set', this.ifname, 'peer', publicKey, 'remove']);
  }

  /** Removes every peer (and so every session) in one `wg set`. */
  async clearPeers(): Promise<void> {
    const peers = (await this.wg(['show', this.ifname, 'peers'])).split('\n').filter(Boolean);
    if (peers.length) await this.wg(['set', this.ifname, ...peers.flatMap((p) => ['peer', p, 'remove'])]);
  }

  /** `wg show <if> <field>` as a map from peer public key to the rest of the line. */
  async show(field: ShowField): Promise<Map<string, string>> {
    const out = await this.wg(['show', this.ifname, field]);
    const m = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [key, ...rest] = line.split('\t');
      if (key) m.set(key, rest.join('\t'));
    }
    return m;
  }

  /** Unix seconds of the last handshake with `peer`, 0 for none. */
  async latestHandshake(peer: string): Promise<number> {
    return Number((await this.show('latest-handshakes')).get(peer) ?? 0);
  }

  async endpointOf(peer: string): Promise<string | undefined> {
    const e = (await this.show('endpoints')).get(peer);
    return e === undefined || e === '(none)' ? undefined : e;
  }

  async transfer(peer: string): Promise<{ rx: number; tx: number }> {
    const [rx = 0, tx = 0] = ((await this.show('transfer')).get(peer) ?? '0\t0').split('\t').map(Number);
    return { rx, tx };
  }

  /** Kernel counters of the tunnel interface (packets written to / read from the TUN by the daemon). */
  /**
   * Kernel counters of the tunnel interface: rx = packets the daemon wrote to the TUN, tx = packets it was
   * handed, txDropped = packets the kernel dropped because the daemon did not read its TUN fast enough.
   */
  async linkStats(): Promise<{ rxPackets: number; txPackets: number; txDropped: number; mtu: number }> {
    const [info] = JSON.parse(await this.ip(['-j', '-s', 'link', 'show', 'dev', this.ifname])) as {
      mtu: number;
      stats64: { rx: { packets: number }; tx: { packets: number; dropped: number } };
    }[];
    if (!info) throw new Error(`no link ${this.ifname} in ${this.ns}`);
    const { rx, tx } = info.stats64;
    return { rxPackets: rx.packets, txPackets: tx.packets, txDropped: tx.dropped, mtu: info.mtu };
  }

  /** `host:port` / `[v6]:port` of this node's socket on its underlay address of `family`. */
  endpoint(family: Family): string {
    const addr = this.underlay[family];
    if (!addr) throw new Error(`${this.impl} in ${this.ns} has no IPv${family} underlay address`);
    return family === 6 ? `[${addr}]:${this.listenPort}` : `${addr}:${this.listenPort}`;
  }

  /** Tunnel address of `family`. */
  addr(family: Family): string {
    const a = this.tunnel[family];
    if (!a) throw new Error(`${this.impl} in ${this.ns} has no IPv${family} tunnel address`);
    return a;
  }

  /** `wg show` and the daemon's recent output, for assertion messages. */
  async describe(): Promise<string> {
    const show = await this.wg(['show', this.ifname]).catch((e: Error) => `wg show failed: ${e.message}`);
    return `=== ${this.impl} ${this.ifname} in ${this.ns}\n${show.trimEnd()}\n${this.proc.describe()}`;
  }
}

function daemonArgv(impl: Impl, ifname: string, timeScale: number | undefined): { argv: string[]; env?: Record<string, string> } {
  switch (impl) {
    case 'gridwire':
      return { argv: [process.execPath, cliPath(), 'wg', '-f', ifname] };
    case 'runner':
      return { argv: [process.execPath, RUNNER_JS, JSON.stringify(timeScale ? { name: ifname, timeScale } : { name: ifname })] };
    case 'wireguard-go-new':
    case 'wireguard-go-old':
      return {
        argv: [peerPath(impl), '-f', ifname],
        env: { LOG_LEVEL: 'verbose', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' },
      };
  }
}

export const startNode = (lab: Lab, ns: string, impl: Impl, opts: NodeOptions): Promise<WgNode> => WgNode.start(lab, ns, impl, opts);

// ---------------------------------------------------------------------------------------------------
// The device-runner fixture's control channel

export interface RunnerEvent {
  t: number;
  event: string;
  peer?: string;
  detail?: string;
}

export interface RunnerPeer {
  publicKey: string;
  endpoint: string | null;
  lastHandshake: string | null;
  rxBytes: number;
  txBytes: number;
  handshakes: number;
}

export class RunnerClient {
  private nextId = 0;

  constructor(readonly proc: LabProcess) {}

  private lines(): Record<string, unknown>[] {
    return this.proc.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  events(type?: string): RunnerEvent[] {
    return this.lines()
      .filter((l) => l['type'] === 'event' && (type === undefined || l['event'] === type))
      .map((l) => l as unknown as RunnerEvent);
  }

  private async request<T>(cmd: string): Promise<T> {
    const id = ++this.nextId;
    this.proc.child.stdin!.write(`${cmd} ${id}\n`);
    const reply = await this.proc.waitForOutput(new RegExp(`^\\{"type":"reply","id":${id},.*$`, 'm'), 5000);
    const parsed = JSON.parse(reply[0]) as { data?: T; error?: string };
    if (parsed.error) throw new Error(`device-runner: ${parsed.error}`);
    return parsed.data as T;
  }

  peers(): Promise<RunnerPeer[]> {
    return this.request('peers');
  }

  counters(): Promise<Record<string, number>> {
    return this.request('counters');
  }

  async peer(publicKey: string): Promise<RunnerPeer> {
    const p = (await this.peers()).find((x) => x.publicKey === publicKey);
    if (!p) throw new Error(`device-runner has no peer ${publicKey}`);
    return p;
  }
}

// ---------------------------------------------------------------------------------------------------
// Point-to-point pairs: namespaces `a` and `b` joined by a veth, one WireGuard node in each.

export const TUNNEL = {
  a: { 4: '192.168.241.1', 6: 'fd00::1' },
  b: { 4: '192.168.241.2', 6: 'fd00::2' },
} as const;
export const UNDERLAY = {
  a: { 4: '10.0.0.1', 6: 'fd10::1' },
  b: { 4: '10.0.0.2', 6: 'fd10::2' },
} as const;
export const underlayCidrs = (side: 'a' | 'b'): string[] => [`${UNDERLAY[side][4]}/24`, `${UNDERLAY[side][6]}/64`];

export interface Pair {
  lab: Lab;
  a: WgNode;
  b: WgNode;
  /** The veth names in a and b. */
  links: { a: string; b: string };
}

export interface PairOptions {
  a: Impl;
  b: Impl;
  timeScaleA?: number;
  /** Extra environment for both daemons. */
  env?: Record<string, string>;
  /** Namespace names in the lab (default 'a' and 'b'). */
  nsA?: string;
  nsB?: string;
}

export async function createPair(lab: Lab, o: PairOptions): Promise<Pair> {
  const nsA = o.nsA ?? 'a';
  const nsB = o.nsB ?? 'b';
  await Promise.all([lab.addNamespace(nsA), lab.addNamespace(nsB)]);
  const links = await lab.link(nsA, nsB, { a: { addrs: underlayCidrs('a') }, b: { addrs: underlayCidrs('b') } });
  const [a, b] = await Promise.all([
    startNode(lab, nsA, o.a, {
      listenPort: 51001,
      addrs: [`${TUNNEL.a[4]}/24`, `${TUNNEL.a[6]}/112`],
      ...(o.timeScaleA ? { timeScale: o.timeScaleA } : {}),
      ...(o.env && { env: o.env }),
    }),
    startNode(lab, nsB, o.b, { listenPort: 51002, addrs: [`${TUNNEL.b[4]}/24`, `${TUNNEL.b[6]}/112`], ...(o.env && { env: o.env }) }),
  ]);
  a.underlay = { ...UNDERLAY.a };
  b.underlay = { ...UNDERLAY.b };
  a.tunnel = { ...TUNNEL.a };
  b.tunnel = { ...TUNNEL.b };
  return { lab, a, b, links };
}

export interface ConnectOptions {
  /** Which side knows the other's endpoint: only that side can start the handshake. */
  initiator: 'a' | 'b' | 'both';
  outer: Family;
  /** true: one fresh PSK on both sides; an object: a PSK per side (to make them differ). */
  psk?: boolean | { a?: string; b?: string };
  /** persistent-keepalive on a's peer entry for b. */
  keepaliveA?: number;
  /** Public keys each side configures for the other (default the real ones). */
  peerKeyOnA?: string;
  peerKeyOnB?: string;
}

/** Drops any session (removes the peers on both sides) and configures them afresh. */
export async function connect(pair: Pair, o: ConnectOptions): Promise<void> {
  const { a, b } = pair;
  await Promise.all([a.prepareOuter(o.outer), b.prepareOuter(o.outer)]);
  await Promise.all([a.clearPeers(), b.clearPeers()]);
  const shared = o.psk === true ? newPsk() : undefined;
  const pskA = typeof o.psk === 'object' ? o.psk.a : shared;
  const pskB = typeof o.psk === 'object' ? o.psk.b : shared;
  await Promise.all([
    a.setPeer({
      publicKey: o.peerKeyOnA ?? b.publicKey,
      allowedIps: [`${TUNNEL.b[4]}/32`, `${TUNNEL.b[6]}/128`],
      ...(o.initiator !== 'b' && { endpoint: b.endpoint(o.outer) }),
      ...(pskA && { presharedKey: pskA }),
      ...(o.keepaliveA !== undefined && { persistentKeepalive: o.keepaliveA }),
    }),
    b.setPeer({
      publicKey: o.peerKeyOnB ?? a.publicKey,
      allowedIps: [`${TUNNEL.a[4]}/32`, `${TUNNEL.a[6]}/128`],
      ...(o.initiator !== 'a' && { endpoint: a.endpoint(o.outer) }),
      ...(pskB && { presharedKey: pskB }),
    }),
  ]);
}

/**
 * A lab built once and shared by the tests of a describe block: get() gates the test on the peers it needs
 * (skip, or fail under GRIDWIRE_REQUIRE_INTEROP=1) and builds the setup on first use; cleanup() goes in after().
 */
export function sharedLab<T>(peers: readonly PeerName[], setup: (lab: Lab) => Promise<T>) {
  let lab: Lab | undefined;
  let value: Promise<T> | undefined;
  return {
    async get(t: Gate): Promise<T | undefined> {
      if (!requirePeer(t, peers)) return undefined;
      lab ??= new Lab();
      value ??= setup(lab);
      return value;
    },
    async cleanup(): Promise<void> {
      await lab?.cleanup();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Probes

export interface PingOptions {
  count?: number;
  /** Seconds between echoes; ignored with flood. */
  interval?: number;
  size?: number;
  /** Set DF (`-M do`): the packet must cross at exactly this size. */
  df?: boolean;
  flood?: boolean;
  /**
   * Overall deadline in seconds (`-w`). Careful: with a count, ping then keeps sending until it has that
   * many replies, so lost echoes are retried; without one, exactly `count` echoes go out.
   */
  deadline?: number;
  /** Seconds to wait for the last reply (`-W`, default 1). */
  wait?: number;
  /** Source address (`-I`). */
  source?: string;
}

export interface PingResult {
  transmitted: number;
  received: number;
  /** icmp_seq of each reply, in arrival order (not printed in flood mode). */
  seqs: number[];
  code: number | null;
  output: string;
}

function pingArgv(dst: string, o: PingOptions): string[] {
  const argv = [peerPath('ping'), '-n'];
  if (o.count !== undefined) argv.push('-c', String(o.count));
  if (o.flood) argv.push('-f');
  else if (o.interval !== undefined) argv.push('-i', String(o.interval));
  if (o.size !== undefined) argv.push('-s', String(o.size));
  if (o.df) argv.push('-M', 'do');
  if (o.source) argv.push('-I', o.source);
  argv.push('-W', String(o.wait ?? 1));
  if (o.deadline !== undefined) argv.push('-w', String(o.deadline));
  argv.push(dst);
  return argv;
}

export function parsePing(r: { stdout: string; stderr: string; code: number | null }): PingResult {
  const output = r.stdout + r.stderr;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const seqs = [...r.stdout.matchAll(/bytes from .*icmp_seq=(\d+)/g)].map((x) => Number(x[1]));
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), seqs, code: r.code, output };
}

/** Runs ping to completion: give a count or a deadline. */
export async function ping(lab: Lab, ns: string, dst: string, o: PingOptions): Promise<PingResult> {
  if (o.count === undefined && o.deadline === undefined) throw new Error('ping needs a count or a deadline');
  const seconds = o.deadline ?? (o.count ?? 0) * (o.flood ? 0.01 : (o.interval ?? 1)) + (o.wait ?? 1);
  return parsePing(await run(lab, ns, pingArgv(dst, o), { timeoutMs: (seconds + 30) * 1000 }));
}

/** A ping running in the background (e.g. while the test rekeys or roams); stop() ends it like Ctrl-C. */
export class BackgroundPing {
  readonly proc: LabProcess;

  constructor(lab: Lab, ns: string, dst: string, o: PingOptions) {
    this.proc = lab.spawn(ns, pingArgv(dst, o));
  }

  /** Sequence numbers answered so far. */
  seqs(): number[] {
    return parsePing({ stdout: this.proc.stdout, stderr: '', code: null }).seqs;
  }

  maxSeq(): number {
    return Math.max(0, ...this.seqs());
  }

  /** SIGINT (ping prints its summary), then the parsed result. */
  async stop(): Promise<PingResult> {
    // `ip netns exec` execs ping in place, so this pid is ping's.
    if (this.proc.running) process.kill(this.proc.pid, 'SIGINT');
    const r = await this.proc.exited;
    return parsePing(r);
  }
}

/** Sequence numbers in 1..max(seqs) that never got a reply. */
export function missingSeqs(seqs: readonly number[], upTo = Math.max(0, ...seqs)): number[] {
  const got = new Set(seqs);
  const missing: number[] = [];
  for (let s = 1; s <= upTo; s++) if (!got.has(s)) missing.push(s);
  return missing;
}

/** A tcpdump in a namespace; started() resolves once it is capturing. */
export class Capture {
  readonly proc: LabProcess;

  constructor(lab: Lab, ns: string, ifname: string, filter: string, count: number) {
    this.proc = lab.spawn(ns, [peerPath('tcpdump'), '-i', ifname, '-n', '-l', '-tt', '-c', String(count), filter]);
  }

  async started(): Promise<void> {
    await this.proc.waitForOutput(/listening on/, 10_000);
  }

  /** Capture timestamps (seconds) of the packets seen so far. */
  times(): number[] {
    return [...this.proc.stdout.matchAll(/^(\d+\.\d+) IP/gm)].map((m) => Number(m[1]));
  }
}

export interface IperfResult {
  bitsPerSecond: number;
  bytes: number;
  retransmits?: number;
}

/** iperf3 client for `seconds` against a server at `server` (started with startIperfServer); -R reverses. */
export async function iperf(lab: Lab, ns: string, server: string, seconds: number, reverse = false): Promise<IperfResult> {
  const argv = [peerPath('iperf3'), '-c', server, '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])];
  const r = await run(lab, ns, argv, { timeoutMs: (seconds + 20) * 1000 });
  let j: { error?: string; end?: { sum_received?: { bits_per_second: number; bytes: number }; sum_sent?: { retransmits?: number } } };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new Error(`iperf3 printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  if (j.error || !j.end?.sum_received) throw new Error(`iperf3 failed: ${j.error ?? 'no summary'}`);
  return {
    bitsPerSecond: j.end.sum_received.bits_per_second,
    bytes: j.end.sum_received.bytes,
    ...(j.end.sum_sent?.retransmits !== undefined && { retransmits: j.end.sum_sent.retransmits }),
  };
}

export async function startIperfServer(lab: Lab, ns: string, bind: string): Promise<LabProcess> {
  // --forceflush: iperf3 block-buffers its stdout into a pipe, hiding 'Server listening'.
  const proc = lab.spawn(ns, [peerPath('iperf3'), '-s', '-B', bind, '--forceflush']);
  await proc.waitForOutput(/Server listening/, 10_000);
  return proc;
}
