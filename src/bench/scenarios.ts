// The engine pairs `gridwire bench` compares, each brought up between namespaces a and b of one shared
// Lab (joined by one veth pair), the same way for every implementation: WireGuard daemons run in the
// foreground and are configured through the UAPI socket wg(8) uses; planetary nodes get a generated
// yggdrasil config peering b's TCP listener from a.
import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, publicKey } from '../keys/index.js';
import { addressForKey, planetaryPublicKey } from '../keys/planetary.js';
import { peerPath, type Lab, type LabProcess, type PeerName } from '../netns/lab.js';
import { parsePrefix } from '../net/prefix.js';
import { packageRoot } from '../package-root.js';
import { formatPlanetaryConfig, generatePlanetaryConfig } from '../planetary/config.js';
import { uapiProbe, uapiSet } from '../wireguard/uapi-client.js';
import type { PeerChange } from '../wireguard/uapi.js';

export const CLI = join(dirname(dirname(fileURLToPath(import.meta.url))), 'cli.js');

export const UNDERLAY = { a: '10.213.0.1', b: '10.213.0.2' } as const;
const OVERLAY = { a: '10.214.0.1', b: '10.214.0.2' } as const;
const WG_PORT = 51820;
const PLANETARY_PORT = 46000;
export const WG_MTU = 1420;

export interface BenchContext {
  lab: Lab;
  /** Scratch directory for configs and logs; removed with the run. */
  dir: string;
  /** Short unique tag for interface names (UAPI sockets of every namespace share /var/run/wireguard). */
  tag: string;
}

/** A running pair; `dst` is b's address as a reaches it through the tunnel. */
export interface Tunnel {
  dst: string;
  pids: number[];
  /** b as a WireGuard responder, when the pair is one implementation on both ends (handshake bench). */
  responder?: { ifname: string; publicKey: Uint8Array; host: string; port: number };
  down(): Promise<void>;
}

export interface Scenario {
  id: string;
  label: string;
  /** floor: a null relay or the TUN bridge, measured for latency only. */
  kind: 'veth' | 'floor' | 'wireguard' | 'planetary';
  /** Scenario ids this one's ratios are taken against (veth, the ceiling, is always added). */
  anchors: string[];
  /** One WireGuard implementation on both ends: b is flooded with initiations (handshakes per core). */
  handshakes: boolean;
  /** A gridwire variant with one mechanism switched off: runs only when named or with --mechanisms. */
  variant?: boolean;
  /** Why it cannot run here (a peer binary missing); empty when it can. */
  missing(): string[];
  up(ctx: BenchContext, index: number): Promise<Tunnel>;
}

type WgImpl = 'gridwire' | 'wireguard-go-new' | 'wireguard-go-old';

const WG_LABEL: Record<WgImpl, string> = {
  gridwire: 'gridwire',
  'wireguard-go-new': 'wireguard-go 0.0.20231211',
  'wireguard-go-old': 'wireguard-go 0.0.20220316',
};

function notExecutable(path: string, why: string): string[] {
  try {
    accessSync(path, constants.X_OK);
    return [];
  } catch {
    return [`${path} ${why}`];
  }
}

const missingPeers = (names: PeerName[]) => names.flatMap((n) => notExecutable(peerPath(n), 'not installed'));

function wgArgv(impl: WgImpl, ifname: string): string[] {
  return impl === 'gridwire' ? [process.execPath, CLI, 'wg', '-f', ifname] : [peerPath(impl), '-f', ifname];
}

async function must(lab: Lab, ns: string, argv: string[]): Promise<string> {
  const r = await lab.exec(ns, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Kills the pair and whatever interface it left behind. */
async function stop(lab: Lab, procs: LabProcess[], ifaces: Array<[string, string]>): Promise<void> {
  await Promise.all(procs.map((p) => p.kill()));
  for (const [ns, ifname] of ifaces) await lab.exec(ns, ['ip', 'link', 'del', ifname]).catch(() => undefined);
}

function started(p: LabProcess, what: string): Promise<void> {
  return p.exited.then((r) => {
    throw new Error(`${what} exited (code ${r.code}) during setup:\n${r.stderr.slice(-600)}`);
  });
}

/**
 * Waits for a pair's `ready` unless one of its processes (named by `names`) dies first; on failure
 * takes the pair down. Returns what takes it down afterwards.
 */
async function settle(lab: Lab, procs: LabProcess[], names: string[], ifaces: Array<[string, string]>, ready: () => Promise<unknown>): Promise<() => Promise<void>> {
  const down = () => stop(lab, procs, ifaces);
  try {
    const died = Promise.race(procs.map((p, i) => started(p, names[i]!)));
    died.catch(() => undefined); // it rejects at down() too, after setup no longer listens
    await Promise.race([died, ready()]);
  } catch (err) {
    await down();
    throw err;
  }
  return down;
}

/** Until a's ping of b's overlay address is answered. */
const reachable = (lab: Lab, what: string) => lab.waitFor(async () => (await lab.exec('a', ['ping', '-c', '1', '-W', '1', OVERLAY.b])).code === 0, 10_000, what);

function wgPeer(key: Uint8Array, endpoint: string, allowed: string): PeerChange {
  return {
    publicKey: publicKey(key),
    remove: false,
    updateOnly: false,
    endpoint,
    replaceAllowedIps: true,
    addAllowedIps: [parsePrefix(allowed)!],
    removeAllowedIps: [],
  };
}

/** A gridwire pair with engine switches set (GRIDWIRE_* environment, see native/engine/wg_engine.cc). */
interface Variant {
  label: string;
  env: Record<string, string>;
  handshakes: boolean;
}

function wireguard(a: WgImpl, b: WgImpl, id: string, anchors: string[], variant?: Variant): Scenario {
  const peers = [a, b].filter((i): i is Exclude<WgImpl, 'gridwire'> => i !== 'gridwire');
  const env = { LOG_LEVEL: 'error', ...variant?.env };
  return {
    id,
    label: (a === b ? `${WG_LABEL[a]} ↔ itself` : `${WG_LABEL[a]} ↔ ${WG_LABEL[b]}`) + (variant ? `, ${variant.label}` : ''),
    kind: 'wireguard',
    anchors,
    handshakes: variant ? variant.handshakes : a === b,
    ...(variant && { variant: true }),
    missing: () => missingPeers(peers),
    async up({ lab, tag }, index) {
      const ifs = { a: `${tag}w${index}a`, b: `${tag}w${index}b` };
      const keys = { a: generatePrivateKey(), b: generatePrivateKey() };
      const procs = [lab.spawn('a', wgArgv(a, ifs.a), { env }), lab.spawn('b', wgArgv(b, ifs.b), { env })];
      const down = await settle(lab, procs, [a, b], [['a', ifs.a], ['b', ifs.b]], async () => {
        await Promise.all([ifs.a, ifs.b].map((n) => lab.waitFor(() => uapiProbe(n), 10_000, `the UAPI socket of ${n}`)));
        for (const side of ['a', 'b'] as const) {
          const other = side === 'a' ? 'b' : 'a';
          const errno = await uapiSet(ifs[side], {
            privateKey: keys[side],
            listenPort: WG_PORT,
            replacePeers: true,
            peers: [wgPeer(keys[other], `${UNDERLAY[other]}:${WG_PORT}`, `${OVERLAY[other]}/32`)],
          });
          if (errno !== 0) throw new Error(`configuring ${ifs[side]} failed (errno ${errno})`);
          await must(lab, side, ['ip', 'addr', 'add', `${OVERLAY[side]}/24`, 'dev', ifs[side]]);
          await must(lab, side, ['ip', 'link', 'set', ifs[side], 'mtu', String(WG_MTU), 'up']);
        }
        await reachable(lab, `a ping through ${id}`);
      });
      return {
        dst: OVERLAY.b,
        pids: procs.map((p) => p.pid),
        ...(a === b && { responder: { ifname: ifs.b, publicKey: publicKey(keys.b), host: UNDERLAY.b, port: WG_PORT } }),
        down,
      };
    },
  };
}

type PlanetaryImpl = 'gridwire' | 'yggdrasil-0.5';

function planetary(impl: PlanetaryImpl, id: string, anchors: string[], variant?: Omit<Variant, 'handshakes'>): Scenario {
  const env = variant?.env ?? {};
  return {
    id,
    label: (impl === 'gridwire' ? 'gridwire planetary ↔ itself' : 'yggdrasil 0.5.12 ↔ itself') + (variant ? `, ${variant.label}` : ''),
    kind: 'planetary',
    anchors,
    handshakes: false,
    ...(variant && { variant: true }),
    missing: () => (impl === 'gridwire' ? [] : missingPeers(['yggdrasil-0.5'])),
    async up({ lab, dir, tag }, index) {
      const ifs = { a: `${tag}y${index}a`, b: `${tag}y${index}b` };
      const files = { a: join(dir, `${id}-a.json`), b: join(dir, `${id}-b.json`) };
      const listen = `tcp://${UNDERLAY.b}:${PLANETARY_PORT}`;
      const addresses = { a: '', b: '' };
      for (const side of ['a', 'b'] as const) {
        const config = generatePlanetaryConfig();
        addresses[side] = addressForKey(planetaryPublicKey(config.PrivateKey));
        // IfMTU stays at yggdrasil's default (65535) for both implementations.
        const mine = { ...config, IfName: ifs[side], AdminListen: 'none', MulticastInterfaces: [], Listen: side === 'b' ? [listen] : [], Peers: side === 'a' ? [listen] : [] };
        writeFileSync(files[side], formatPlanetaryConfig(mine, 'json'));
      }
      const argv = (f: string) => (impl === 'gridwire' ? [process.execPath, CLI, 'planetary', '-useconffile', f, '-loglevel', 'error'] : [peerPath(impl), '-useconffile', f, '-loglevel', 'error']);
      const procs = [lab.spawn('b', argv(files.b), { env }), lab.spawn('a', argv(files.a), { env })];
      const ping6 = async () => (await lab.exec('a', ['ping', '-6', '-c', '1', '-W', '1', addresses.b])).code === 0;
      const down = await settle(lab, procs, [impl, impl], [['a', ifs.a], ['b', ifs.b]], () => lab.waitFor(ping6, 20_000, `a ping6 through ${id}`));
      return { dst: addresses.b, pids: procs.map((p) => p.pid), down };
    },
  };
}

const veth: Scenario = {
  id: 'veth',
  label: 'raw veth (ceiling)',
  kind: 'veth',
  anchors: [],
  handshakes: false,
  missing: () => [],
  up: async () => ({ dst: UNDERLAY.b, pids: [], down: async () => undefined }),
};

/** Built with the addon from native/bench/null_relay.cc. */
const NULL_RELAY = join(packageRoot(), 'build', 'Release', 'null-relay');
const RELAY_PORT = 51830;

type FloorLink = 'udp' | 'tcp' | 'bridge';

const FLOOR_LABELS: Record<FloorLink, [string, string]> = {
  udp: ['null-relay', 'null relay, TUN↔UDP without cipher (floor of a userspace tunnel)'],
  tcp: ['null-relay-tcp', 'null relay, TUN↔TCP without cipher (floor of a userspace tunnel)'],
  bridge: ['tun-bridge', 'TUN bridge, one process, no outer path (floor of any TUN-based tunnel)'],
};

/** The null relay's arguments on each side; a bridge is one process in a, holding b's TUN as well. */
function floorArgv(lab: Lab, link: FloorLink, ifs: { a: string; b: string }): { a: string[]; b?: string[] } {
  const port = String(RELAY_PORT);
  if (link === 'bridge') return { a: [NULL_RELAY, ifs.a, 'bridge', lab.nsPath('b'), ifs.b] };
  if (link === 'udp') return { a: [NULL_RELAY, ifs.a, 'udp', port, UNDERLAY.b, port], b: [NULL_RELAY, ifs.b, 'udp', port, UNDERLAY.a, port] };
  return { a: [NULL_RELAY, ifs.a, 'tcp-connect', UNDERLAY.b, port], b: [NULL_RELAY, ifs.b, 'tcp-listen', port] };
}

/**
 * The floors: a relay with no cipher and no protocol on each side, over UDP (as WireGuard) or over one
 * TCP connection (as the planetary links), and one process joining the two TUNs with no outer path at
 * all. What a ping through them adds over the raw veth is what the kernel crossings and wake-ups of a
 * userspace tunnel cost on this machine, before any engine work — the bridge, what any tunnel that
 * takes its packets from a TUN pays, however it carries them.
 */
function nullRelay(link: FloorLink): Scenario {
  const [id, label] = FLOOR_LABELS[link];
  return {
    id,
    label,
    kind: 'floor',
    anchors: [],
    handshakes: false,
    missing: () => notExecutable(NULL_RELAY, 'not built (npm install builds it)'),
    async up({ lab, tag }, index) {
      const ifs = { a: `${tag}n${index}a`, b: `${tag}n${index}b` };
      const argv = floorArgv(lab, link, ifs);
      const sides = argv.b ? (['b', 'a'] as const) : (['a'] as const);
      const procs = sides.map((side) => lab.spawn(side, argv[side]!));
      const down = await settle(lab, procs, sides.map((side) => `${id} ${side}`), [['a', ifs.a], ['b', ifs.b]], async () => {
        for (const side of ['a', 'b'] as const) {
          await lab.waitFor(async () => (await lab.exec(side, ['ip', 'link', 'show', 'dev', ifs[side]])).code === 0, 10_000, `the TUN ${ifs[side]}`);
          await must(lab, side, ['ip', 'addr', 'add', `${OVERLAY[side]}/24`, 'dev', ifs[side]]);
        }
        await reachable(lab, `a ping through the ${id}`);
      });
      return { dst: OVERLAY.b, pids: procs.map((p) => p.pid), down };
    },
  };
}

/** Every scenario, in run order; anchors run before the rows compared with them. */
export const SCENARIOS: readonly Scenario[] = [
  veth,
  nullRelay('udp'),
  nullRelay('tcp'),
  nullRelay('bridge'),
  wireguard('wireguard-go-new', 'wireguard-go-new', 'wggo-new', []),
  wireguard('wireguard-go-old', 'wireguard-go-old', 'wggo-old', []),
  wireguard('gridwire', 'gridwire', 'gridwire-wg', ['wggo-new', 'wggo-old']),
  wireguard('gridwire', 'wireguard-go-new', 'gridwire-wggo', ['wggo-new']),
  planetary('yggdrasil-0.5', 'yggdrasil', []),
  planetary('gridwire', 'gridwire-planetary', ['yggdrasil']),
  // What each mechanism buys: gridwire ↔ itself with one switched off, each compared with the full engine.
  wireguard('gridwire', 'gridwire', 'gw-no-tun-offload', ['gridwire-wg'], { label: 'no TUN offload (vnet header, TSO/GRO)', env: { GRIDWIRE_TUN_OFFLOAD: '0' }, handshakes: false }),
  wireguard('gridwire', 'gridwire', 'gw-no-udp-gso-gro', ['gridwire-wg'], { label: 'no UDP GSO/GRO', env: { GRIDWIRE_UDP_GSO: '0', GRIDWIRE_UDP_GRO: '0' }, handshakes: false }),
  wireguard('gridwire', 'gridwire', 'gw-no-mmsg', ['gridwire-wg'], { label: 'one datagram per syscall (no recvmmsg/sendmmsg batching)', env: { GRIDWIRE_UDP_MMSG: '0' }, handshakes: false }),
  wireguard('gridwire', 'gridwire', 'gw-no-rx-answers', ['gridwire-wg'], { label: 'replies wait for the tx loop (no answering from the rx loop)', env: { GRIDWIRE_RX_ANSWERS: '0' }, handshakes: false }),
  wireguard('gridwire', 'gridwire', 'gw-no-shared-loop', ['gridwire-wg'], { label: 'the TUN always read by the tx loop (no shared loop while traffic is light)', env: { GRIDWIRE_SHARED_LOOP: '0' }, handshakes: false }),
  wireguard('gridwire', 'gridwire', 'gw-evp-aead', ['gridwire-wg'], { label: 'ChaCha20-Poly1305 through EVP', env: { GRIDWIRE_AEAD: 'evp' }, handshakes: false }),
  planetary('gridwire', 'gwp-no-send-first', ['gridwire-planetary'], { label: 'a lone TUN packet waits for the end of the read batch', env: { GRIDWIRE_PLANETARY_SEND_FIRST: '0' } }),
  planetary('gridwire', 'gwp-no-short-reads', ['gridwire-planetary'], { label: 'link reads go on until EAGAIN', env: { GRIDWIRE_PLANETARY_SHORT_READS: '0' } }),
  planetary('gridwire', 'gwp-no-tun-answers', ['gridwire-planetary'], { label: 'what the kernel answers on the TUN waits for the next epoll round', env: { GRIDWIRE_PLANETARY_TUN_ANSWERS: '0' } }),
  planetary('gridwire', 'gwp-openssl-poly1305', ['gridwire-planetary'], { label: 'every Poly1305 through OpenSSL (no short-message path)', env: { GRIDWIRE_POLY1305: 'openssl' } }),
  planetary('gridwire', 'gwp-evp-poly1305', ['gridwire-planetary'], { label: 'every Poly1305 through EVP_MAC (neither the short-message path nor the exported core)', env: { GRIDWIRE_POLY1305: 'evp' } }),
  wireguard('gridwire', 'gridwire', 'gw-openssl-poly1305', ['gridwire-wg'], { label: 'every Poly1305 through OpenSSL\'s core (no short-message path)', env: { GRIDWIRE_POLY1305: 'openssl' }, handshakes: false }),
  wireguard('gridwire', 'gridwire', 'gw-evp-x25519', ['gridwire-wg'], { label: 'X25519 through EVP_PKEY', env: { GRIDWIRE_X25519: 'evp' }, handshakes: true }),
  wireguard('gridwire', 'gridwire', 'gw-crypto-workers', ['gridwire-wg'], { label: '2 crypto workers forced on (on 2 CPUs the engine starts none: default CPUs − 2)', env: { GRIDWIRE_CRYPTO_WORKERS: '2' }, handshakes: false }),
];

/** Sets up namespaces a and b joined by one veth pair, shared by every scenario of a run. */
export async function underlay(lab: Lab): Promise<void> {
  await lab.addNamespace('a');
  await lab.addNamespace('b');
  await lab.link('a', 'b', { a: { addrs: [`${UNDERLAY.a}/30`] }, b: { addrs: [`${UNDERLAY.b}/30`] } });
}
