// `gridwire demo`: the newcomer's first run. Three network namespaces (alpha, beta, gamma) on an
// underlay where beta routes between the other two. In each, a gridwire WireGuard node, meshed into one
// private network through the same UAPI socket `wg` uses, and a gridwire planetary node, where alpha and
// gamma peer with beta, which routes the overlay between them. Pings and throughput runs across both
// networks with gridwire's own probe, a table, and everything removed again (also on Ctrl-C) unless
// --keep is given.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, type Command } from './command.js';
import { native } from '../native/binding.js';
import { encodeKey, generatePrivateKey, publicKey } from '../keys/index.js';
import { Lab, removeNamespaces } from '../netns/lab.js';
import { parsePrefix } from '../net/prefix.js';
import { uapiSet } from '../wireguard/uapi-client.js';
import { addressForKey, planetaryPublicKey } from '../keys/index.js';
import { formatPlanetaryConfig, generatePlanetaryConfig } from '../planetary/config.js';
import { ChainResolver, FileBackend, encodeSs58, formatRegistry } from '../chain/index.js';
import { socketPath } from '../wireguard/uapi-server.js';
import type { PeerChange } from '../wireguard/uapi.js';

const DEMO_PREFIX = 'gwdemo-';
const PORT = 51820;
const dist = dirname(dirname(fileURLToPath(import.meta.url)));

interface Node {
  name: string;
  ifname: string;
  key: Uint8Array;
  overlay: string;
  underlay: string;
  ns: string;
  planetaryKey: Uint8Array;
  planetary: string;
}

const PLANETARY_PORT = 7000;

const started = Date.now();
// With the time so far: on a busy machine the overlay's first lookup can take a while, and this shows where.
const step = (n: number, total: number, what: string) =>
  process.stderr.write(`[${n}/${total}] ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

function selfCheck(): string {
  const key = native.crypto.randomBytes(32);
  const ns = native.crypto.aeadLoop(key, 1420, 20000, 0);
  return `${((1420 * 8 * 20000) / ns).toFixed(2)} Gbit/s ChaCha20-Poly1305 at 1420 B on one core`;
}

async function underlay(lab: Lab): Promise<void> {
  for (const n of ['alpha', 'beta', 'gamma']) await lab.addNamespace(n);
  await lab.link('alpha', 'beta', { a: { addrs: ['10.201.1.1/24'] }, b: { addrs: ['10.201.1.2/24'] } });
  await lab.link('beta', 'gamma', { a: { addrs: ['10.201.2.2/24'] }, b: { addrs: ['10.201.2.3/24'] } });
  await must(lab, 'beta', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await must(lab, 'alpha', ['ip', 'route', 'add', '10.201.2.0/24', 'via', '10.201.1.2']);
  await must(lab, 'gamma', ['ip', 'route', 'add', '10.201.1.0/24', 'via', '10.201.2.2']);
}

async function must(lab: Lab, ns: string, argv: string[]): Promise<string> {
  const r = await lab.exec(ns, argv);
  if (r.code !== 0) throw new CliError(`${argv.join(' ')} in ${ns} failed: ${r.stderr.trim()}`, 1);
  return r.stdout;
}

function peerChange(peer: Node, endpoint: string): PeerChange {
  return {
    publicKey: publicKey(peer.key),
    remove: false,
    updateOnly: false,
    endpoint,
    replaceAllowedIps: true,
    addAllowedIps: [parsePrefix(`${peer.overlay}/32`)!],
    removeAllowedIps: [],
  };
}

async function startNode(lab: Lab, node: Node, peers: Array<[Node, string]>): Promise<void> {
  // The detaching form of `gridwire wg` returns once the interface and its UAPI socket exist.
  await must(lab, node.name, [process.execPath, join(dist, 'cli.js'), 'wg', node.ifname]);
  const errno = await uapiSet(node.ifname, {
    privateKey: node.key,
    listenPort: PORT,
    replacePeers: true,
    peers: peers.map(([p, ep]) => peerChange(p, ep)),
  });
  if (errno !== 0) throw new CliError(`configuring ${node.ifname} failed: errno ${errno}`, 1);
  await must(lab, node.name, ['ip', 'address', 'add', `${node.overlay}/24`, 'dev', node.ifname]);
  await must(lab, node.name, ['ip', 'link', 'set', node.ifname, 'up']);
}

async function ping(lab: Lab, from: Node, address: string): Promise<number> {
  const out = await must(lab, from.name, ['ping', '-c', '5', '-i', '0.2', '-W', '2', '-q', address]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new CliError(`no ping summary from ${from.name} to ${address}: ${out}`, 1);
  return Number(m[1]);
}

// The grid finds its nodes through the chain; the demo registers its three in a local registry file
// (the chain resolver's file backend) and looks each node's planetary address up from its node id, as a
// real deployment does against the grid proxy or TFChain.
async function register(dir: string, nodes: Node[]): Promise<Map<string, string>> {
  const file = join(dir, 'registry.json');
  const keys = nodes.map((n) => planetaryPublicKey(n.planetaryKey));
  writeFileSync(file, formatRegistry({
    twins: nodes.map((_, i) => ({ twinId: 101 + i, accountId: encodeSs58(keys[i]!), accountKey: `0x${Buffer.from(keys[i]!).toString('hex')}`, relays: [] })),
    nodes: nodes.map((_, i) => ({ nodeId: 1 + i, twinId: 101 + i, farmId: 1 })),
  }));
  const resolver = new ChainResolver({ backends: [new FileBackend(file)] });
  const found = new Map<string, string>();
  for (const [i, n] of nodes.entries()) {
    const answer = await resolver.node(1 + i);
    const address = answer.value.planetary?.address;
    if (!address) throw new CliError(`the registry gave no planetary address for node ${1 + i}`, 1);
    found.set(n.name, address);
  }
  return found;
}

// One request to a node's admin socket (the yggdrasilctl protocol), e.g. {"request": "gettree"}.
function admin(dir: string, node: Node, request: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(join(dir, `${node.name}.sock`), () => socket.write(JSON.stringify({ request })));
    socket.on('data', (d) => (text += d));
    socket.on('end', () => {
      try {
        resolve((JSON.parse(text) as { response: Record<string, unknown> }).response);
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', reject);
  });
}

// The first packet to a new destination starts a path lookup, which follows the bloom filters along the
// tree. Sent before the filters have spread, the lookup finds nothing and the session stays down for a
// minute (yggdrasil 0.5.12 does the same). So: wait until every node agrees on the root, give the
// filters their propagation time (one hop per second; not visible through the admin API), then wait
// for one packet to get through.
async function overlayReady(lab: Lab, dir: string, nodes: Node[], from: Node, address: string): Promise<void> {
  // The tree has formed when every node has taken the lowest key as its root.
  const lowest = nodes.map((n) => Buffer.from(planetaryPublicKey(n.planetaryKey)).toString('hex')).sort()[0];
  const complete = async () => {
    const trees = await Promise.all(nodes.map((n) => admin(dir, n, 'gettree').catch(() => ({ tree: [] }))));
    return trees.every((t) => {
      const entries = ((t['tree'] as Array<{ key: string; parent: string }> | null) ?? []);
      return entries.some((e) => e.key === e.parent && e.key === lowest);
    });
  };
  await lab.waitFor(complete, 30000, 'every planetary node to agree on the root');
  await new Promise((r) => setTimeout(r, (nodes.length + 1) * 1000));
  await lab.waitFor(
    async () => (await lab.exec(from.name, ['ping', '-c', '1', '-W', '1', address])).code === 0,
    90000,
    `${from.name} to reach ${address} over the planetary overlay`,
  );
}

// alpha and gamma peer with beta, which listens: the overlay between them is routed by beta's node.
async function startPlanetary(lab: Lab, dir: string, node: Node, peerOf: string | undefined): Promise<void> {
  const config = {
    ...generatePlanetaryConfig(node.planetaryKey),
    Peers: peerOf ? [`tcp://${peerOf}:${PLANETARY_PORT}`] : [],
    Listen: peerOf ? [] : [`tcp://0.0.0.0:${PLANETARY_PORT}`],
    AdminListen: `unix://${join(dir, `${node.name}.sock`)}`,
    MulticastInterfaces: [],
    IfName: `gwp-${node.name}`,
  };
  const file = join(dir, `${node.name}.json`);
  writeFileSync(file, formatPlanetaryConfig(config, 'json'), { mode: 0o600 });
  // Through a shell so the node's output goes to a file: with --keep it outlives this process's pipes.
  const log = join(dir, `${node.name}.log`);
  lab.spawn(node.name, ['sh', '-c', `exec "$0" "$1" planetary -useconffile "$2" >"$3" 2>&1`, process.execPath, join(dist, 'cli.js'), file, log]);
  await lab.waitFor(async () => (await lab.exec(node.name, ['ip', 'link', 'show', `gwp-${node.name}`])).code === 0, 15000, `${node.name}'s planetary TUN`);
}

async function throughput(lab: Lab, from: Node, to: Node, address: string, seconds: number): Promise<number> {
  const probe = join(dist, 'demo', 'throughput.js');
  const sink = lab.spawn(to.name, [process.execPath, probe, 'sink', address, '5201']);
  await sink.waitForOutput(/listening/, 10000);
  const source = await lab.exec(from.name, [process.execPath, probe, 'source', address, '5201', String(seconds)], {
    timeoutMs: (seconds + 30) * 1000,
  });
  if (source.code !== 0) throw new CliError(`throughput source failed: ${source.stderr.trim()}`, 1);
  const [line] = await sink.waitForOutput(/\{.*\}/, 30000);
  const { bytes, seconds: elapsed } = JSON.parse(line) as { bytes: number; seconds: number };
  return (bytes * 8) / elapsed / 1e9;
}

type Figures = Map<string, number>;

function table(nodes: Node[], f: { wgRtt: Figures; plRtt: Figures; wgGbps: Figures; plGbps: Figures }): string {
  const ms = (m: Figures, n: Node) => (m.has(n.name) ? `${m.get(n.name)!.toFixed(3)} ms` : '-');
  const gb = (m: Figures, n: Node) => (m.has(n.name) ? m.get(n.name)!.toFixed(2) : '-');
  const rows = [['node', 'WireGuard public key', 'WireGuard', 'planetary address', 'RTT wg / planetary', 'Gbit/s wg / planetary']];
  for (const n of nodes) {
    rows.push([n.name, encodeKey(publicKey(n.key)), n.overlay, n.planetary, `${ms(f.wgRtt, n)} / ${ms(f.plRtt, n)}`,
      `${gb(f.wgGbps, n)} / ${gb(f.plGbps, n)}`]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function run(keep: boolean, seconds: number): Promise<number> {
  const total = 7;
  process.stdout.write(`native crypto core: ok, ${selfCheck()}\n`);
  step(1, total, 'creating namespaces alpha, beta, gamma and the underlay (beta routes)');
  const lab = new Lab(DEMO_PREFIX);
  const dir = mkdtempSync(join(tmpdir(), 'gridwire-demo-'));
  try {
    await underlay(lab);
    const nodes = ([['alpha', '10.200.0.1', '10.201.1.1'], ['beta', '10.200.0.2', '10.201.1.2'], ['gamma', '10.200.0.3', '10.201.2.3']] as const).map(
      ([name, overlay, under]): Node => {
        const planetaryKey = generatePlanetaryConfig().PrivateKey;
        return { name, ifname: `gwd-${name}`, key: generatePrivateKey(), overlay, underlay: under, ns: lab.ns(name), planetaryKey,
          planetary: addressForKey(planetaryPublicKey(planetaryKey)) };
      },
    );
    const [alpha, beta, gamma] = nodes as [Node, Node, Node];
    step(2, total, 'starting a gridwire WireGuard node in each and meshing them over UAPI');
    await startNode(lab, alpha, [[beta, `10.201.1.2:${PORT}`], [gamma, `10.201.2.3:${PORT}`]]);
    await startNode(lab, beta, [[alpha, `10.201.1.1:${PORT}`], [gamma, `10.201.2.3:${PORT}`]]);
    await startNode(lab, gamma, [[alpha, `10.201.1.1:${PORT}`], [beta, `10.201.2.2:${PORT}`]]);
    step(3, total, 'starting a gridwire planetary node in each (alpha and gamma peer with beta, the router) and registering them');
    await startPlanetary(lab, dir, beta, undefined);
    await startPlanetary(lab, dir, alpha, '10.201.1.2');
    await startPlanetary(lab, dir, gamma, '10.201.2.2');
    const resolved = await register(dir, nodes);
    for (const n of nodes) n.planetary = resolved.get(n.name)!;
    step(4, total, 'pinging across the private WireGuard network');
    const wgRtt = new Map([['beta', await ping(lab, alpha, beta.overlay)], ['gamma', await ping(lab, alpha, gamma.overlay)]]);
    step(5, total, 'pinging across the planetary overlay (alpha → beta → gamma)');
    await overlayReady(lab, dir, nodes, alpha, gamma.planetary);
    const plRtt = new Map([['beta', await ping(lab, alpha, beta.planetary)], ['gamma', await ping(lab, alpha, gamma.planetary)]]);
    step(6, total, `measuring throughput alpha → gamma for ${seconds} s on each network with gridwire's own probe`);
    const wgGbps = new Map([['gamma', await throughput(lab, alpha, gamma, gamma.overlay, seconds)]]);
    const plGbps = new Map([['gamma', await throughput(lab, alpha, gamma, gamma.planetary, seconds)]]);
    step(7, total, 'done');
    process.stdout.write(`\n${table(nodes, { wgRtt, plRtt, wgGbps, plGbps })}\n\n`);
    process.stdout.write('planetary addresses resolved by node id through a local chain registry (the resolver\'s file backend)\n');
    if (keep) {
      lab.release();
      process.stdout.write(
        `\nkept running. Explore with e.g.:\n  ip netns exec ${alpha.ns} wg show\n  ip netns exec ${alpha.ns} ping ${gamma.planetary}\n` +
          `  yggdrasilctl -endpoint unix://${join(dir, 'beta.sock')} getPeers\n` +
          `remove it all with: gridwire demo --clean\n`,
      );
    }
    return 0;
  } finally {
    if (!keep) {
      await stopNodes(lab);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

// Deleting an interface makes its daemon exit cleanly and remove its UAPI socket; the lab's cleanup
// then only has namespaces left to delete.
async function stopNodes(lab: Lab): Promise<void> {
  for (const n of ['alpha', 'beta', 'gamma']) {
    const ifname = `gwd-${n}`;
    await lab.exec(n, ['ip', 'link', 'del', ifname]).catch(() => undefined);
    await lab.waitFor(() => !existsSync(socketPath(ifname)), 5000, `${ifname} to shut down`).catch(() => undefined);
  }
  await lab.cleanup();
}

const USAGE = 'usage: gridwire demo [--keep] [--duration SECONDS] | --clean';
const MAX_SECONDS = 3600; // the run's timers take milliseconds as a 32-bit count; an hour is plenty for a demo

function duration(value: string | undefined): number {
  if (value === undefined) throw new CliError(`demo: --duration needs a whole number of seconds\n${USAGE}`);
  if (!/^\d+$/.test(value)) throw new CliError(`demo: --duration needs a whole number of seconds, not '${value}'\n${USAGE}`);
  if (Number(value) > MAX_SECONDS) throw new CliError(`demo: --duration is at most ${MAX_SECONDS} seconds, not ${value}\n${USAGE}`);
  return Math.max(1, Number(value));
}

function parse(args: string[]): { keep: boolean; clean: boolean; seconds: number } {
  const opts = { keep: false, clean: false, seconds: 3 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--keep') opts.keep = true;
    else if (a === '--clean') opts.clean = true;
    else if (a === '--duration') opts.seconds = duration(args[++i]);
    else throw new CliError(`demo: unknown argument '${a}'\n${USAGE}`);
  }
  return opts;
}

const demo: Command = {
  summary: 'run the built-in demonstration (needs root)',
  async run(args) {
    const { keep, clean, seconds } = parse(args);
    if (process.getuid?.() !== 0) {
      throw new CliError('demo needs root to create network namespaces and TUN devices: run it with sudo', 1);
    }
    if (clean) {
      const removed = await removeNamespaces((n) => n.startsWith(DEMO_PREFIX));
      process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to clean\n');
      return 0;
    }
    await removeNamespaces((n) => n.startsWith(DEMO_PREFIX));
    return run(keep, seconds);
  },
};

export default demo;
