// `gridwire demo`: the newcomer's first run. Three network namespaces (alpha, beta, gamma) on an
// underlay where beta routes between the other two; a gridwire WireGuard node in each, meshed into one
// private network and configured through the same UAPI socket `wg` uses; pings and a throughput run
// across it with gridwire's own probe; a table; and everything removed again (also on Ctrl-C) unless
// --keep is given.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, type Command } from './command.js';
import { native } from '../native/binding.js';
import { encodeKey, generatePrivateKey, publicKey } from '../keys/index.js';
import { Lab, removeNamespaces } from '../netns/lab.js';
import { parsePrefix } from '../net/prefix.js';
import { uapiSet } from '../wireguard/uapi-client.js';
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
}

const step = (n: number, total: number, what: string) => process.stderr.write(`[${n}/${total}] ${what}\n`);

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

async function ping(lab: Lab, from: Node, to: Node): Promise<number> {
  const out = await must(lab, from.name, ['ping', '-c', '5', '-i', '0.2', '-W', '2', '-q', to.overlay]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new CliError(`no ping summary from ${from.name} to ${to.name}: ${out}`, 1);
  return Number(m[1]);
}

async function throughput(lab: Lab, from: Node, to: Node, seconds: number): Promise<number> {
  const probe = join(dist, 'demo', 'throughput.js');
  const sink = lab.spawn(to.name, [process.execPath, probe, 'sink', to.overlay, '5201']);
  await sink.waitForOutput(/listening/, 10000);
  const source = await lab.exec(from.name, [process.execPath, probe, 'source', to.overlay, '5201', String(seconds)], {
    timeoutMs: (seconds + 30) * 1000,
  });
  if (source.code !== 0) throw new CliError(`throughput source failed: ${source.stderr.trim()}`, 1);
  const [line] = await sink.waitForOutput(/\{.*\}/, 30000);
  const { bytes, seconds: elapsed } = JSON.parse(line) as { bytes: number; seconds: number };
  return (bytes * 8) / elapsed / 1e9;
}

function table(nodes: Node[], rtt: Map<string, number>, gbps: Map<string, number>): string {
  const rows = [['node', 'namespace', 'WireGuard public key', 'overlay', 'underlay', 'RTT from alpha', 'Gbit/s from alpha']];
  for (const n of nodes) {
    rows.push([n.name, n.ns, encodeKey(publicKey(n.key)), n.overlay, n.underlay,
      rtt.has(n.name) ? `${rtt.get(n.name)!.toFixed(3)} ms` : '-', gbps.has(n.name) ? gbps.get(n.name)!.toFixed(2) : '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function run(keep: boolean, seconds: number): Promise<number> {
  const total = 5;
  process.stdout.write(`native crypto core: ok, ${selfCheck()}\n`);
  step(1, total, 'creating namespaces alpha, beta, gamma and the underlay (beta routes)');
  const lab = new Lab(DEMO_PREFIX);
  try {
    await underlay(lab);
    const nodes: Node[] = [
      { name: 'alpha', ifname: 'gwd-alpha', key: generatePrivateKey(), overlay: '10.200.0.1', underlay: '10.201.1.1', ns: lab.ns('alpha') },
      { name: 'beta', ifname: 'gwd-beta', key: generatePrivateKey(), overlay: '10.200.0.2', underlay: '10.201.1.2', ns: lab.ns('beta') },
      { name: 'gamma', ifname: 'gwd-gamma', key: generatePrivateKey(), overlay: '10.200.0.3', underlay: '10.201.2.3', ns: lab.ns('gamma') },
    ];
    const [alpha, beta, gamma] = nodes as [Node, Node, Node];
    step(2, total, 'starting a gridwire WireGuard node in each and meshing them over UAPI');
    await startNode(lab, alpha, [[beta, `10.201.1.2:${PORT}`], [gamma, `10.201.2.3:${PORT}`]]);
    await startNode(lab, beta, [[alpha, `10.201.1.1:${PORT}`], [gamma, `10.201.2.3:${PORT}`]]);
    await startNode(lab, gamma, [[alpha, `10.201.1.1:${PORT}`], [beta, `10.201.2.2:${PORT}`]]);
    step(3, total, 'pinging across the private network');
    const rtt = new Map([['beta', await ping(lab, alpha, beta)], ['gamma', await ping(lab, alpha, gamma)]]);
    await ping(lab, gamma, beta);
    step(4, total, `measuring throughput alpha → gamma for ${seconds} s with gridwire's own probe`);
    const gbps = new Map([['gamma', await throughput(lab, alpha, gamma, seconds)]]);
    step(5, total, 'done');
    process.stdout.write(`\n${table(nodes, rtt, gbps)}\n\n`);
    process.stdout.write('planetary overlay (Yggdrasil 0.5): not built yet, so this demo runs the WireGuard network only.\n');
    if (keep) {
      lab.release();
      process.stdout.write(
        `\nkept running. Explore with e.g.:\n  ip netns exec ${alpha.ns} wg show\n  ip netns exec ${alpha.ns} ping ${gamma.overlay}\n` +
          `remove it all with: gridwire demo --clean\n`,
      );
    }
    return 0;
  } finally {
    if (!keep) await stopNodes(lab);
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

function parse(args: string[]): { keep: boolean; clean: boolean; seconds: number } {
  const opts = { keep: false, clean: false, seconds: 3 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--keep') opts.keep = true;
    else if (a === '--clean') opts.clean = true;
    else if (a === '--duration' && /^\d+$/.test(args[i + 1] ?? '')) opts.seconds = Math.max(1, Number(args[++i]));
    else throw new CliError(`demo: unknown argument '${a}'\nusage: gridwire demo [--keep] [--duration SECONDS] | --clean`);
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
