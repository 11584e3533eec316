// wg-quick(8) configuration files: the [Interface]/[Peer] keys of wg(8)'s setconf plus the ones
// wg-quick handles itself (Address, MTU, Table). Parsing is pure and rejects what `gridwire up` cannot
// honour, naming file and line; host-name endpoints are resolved separately by toDeviceChange.
import { lookup as dnsLookup } from 'node:dns/promises';
import { basename } from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import { decodeKey } from '../keys/index.js';
import { formatEndpoint, parseAddress, parsePrefix, type Prefix } from '../net/prefix.js';
import type { DeviceChange } from './uapi.js';

/** `auto`: routes in the main table; `off`: no routes; a number: routes in that table. */
export type Table = 'auto' | 'off' | number;

export interface InterfaceConf {
  privateKey?: Uint8Array;
  listenPort?: number;
  fwmark?: number;
  /** As written (`10.0.0.1/24`): host bits matter to `ip address add`. */
  addresses: string[];
  mtu?: number;
  table: Table;
}

/** `host` is an IPv4/IPv6 literal or a name still to be resolved. */
export interface Endpoint {
  host: string;
  port: number;
}

export interface PeerConf {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  persistentKeepalive?: number;
  allowedIps: Prefix[];
}

export interface WgQuickConf {
  interface: InterfaceConf;
  peers: PeerConf[];
}

export class ConfError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'ConfError';
  }
}

const IFNAME = '[a-zA-Z0-9_=+.-]{1,15}';

/** A Linux interface name wg-quick accepts: 1-15 letters, digits or _=+.- */
export const isInterfaceName = (name: string): boolean => new RegExp(`^${IFNAME}$`).test(name);

/**
 * Where wg-quick looks for `arg`: a bare interface name means /etc/wireguard/<name>.conf, anything
 * else is a file whose basename minus `.conf` names the interface. Unlike wg-quick, `wg0.conf`
 * is taken as a file (wg-quick would look for /etc/wireguard/wg0.conf.conf).
 */
export function confLocation(arg: string): { path: string; ifname: string } {
  if (isInterfaceName(arg) && !arg.endsWith('.conf')) return { path: `/etc/wireguard/${arg}.conf`, ifname: arg };
  const m = new RegExp(`^(${IFNAME})\\.conf$`).exec(basename(arg));
  if (!m) throw new Error(`'${arg}': the file name must be an interface name followed by .conf`);
  return { path: arg, ifname: m[1]! };
}

const refused = new Map([
  ['dns', 'set the resolver yourself'],
  ['preup', 'hooks are not run; run the command yourself before gridwire up'],
  ['postup', 'hooks are not run; run the command yourself after gridwire up'],
  ['predown', 'hooks are not run; run the command yourself before gridwire down'],
  ['postdown', 'hooks are not run; run the command yourself after gridwire down'],
  ['saveconfig', 'the configuration is never written back'],
]);

type Setter<T> = (target: T, value: string) => void;

function uint(value: string, max: number, what: string, min = 0): number {
  const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new Error(`${what} must be a number from ${min} to ${max}, not '${value}'`);
  return n;
}

/** Empty means none, as in wg(8); an empty item between commas is a typo. */
function list(value: string): string[] {
  if (value === '') return [];
  const items = value.split(',').map((s) => s.trim());
  if (items.includes('')) throw new Error(`empty item in '${value}'`);
  return items;
}

function key(value: string, what: string): Uint8Array {
  try {
    return decodeKey(value);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

function offOr(value: string, parse: (v: string) => number): number {
  return value.toLowerCase() === 'off' ? 0 : parse(value);
}

function fwmark(value: string): number {
  const n = /^0x[0-9a-f]{1,8}$/i.test(value) ? parseInt(value.slice(2), 16) : /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n <= 0xffffffff)) throw new Error(`FwMark must be off, a decimal or a 0x hex number below 2^32, not '${value}'`);
  return n;
}

/** `host:port`, `[v6]:port`; names are kept for later resolution, a bare IPv6 needs brackets. */
function endpoint(value: string): Endpoint {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  if (!m || !host || (m[1] !== undefined && !isIPv6(m[1])) || !/^[A-Za-z0-9_.:-]+$/.test(host)) {
    throw new Error(`Endpoint must be host:port or [IPv6]:port, not '${value}'`);
  }
  return { host, port: uint(m[3]!, 65535, 'Endpoint port', 1) };
}

function address(item: string): string {
  if (!parsePrefix(item)) throw new Error(`Address: '${item}' is not an IP address with an optional /prefix length`);
  return item;
}

function allowedIp(item: string): Prefix {
  const p = parsePrefix(item);
  if (!p) throw new Error(`AllowedIPs: '${item}' is not an IP prefix`);
  return p;
}

function table(value: string): Table {
  const t = value.toLowerCase();
  if (t === 'auto' || t === 'off') return t;
  if (/^\d{1,10}$/.test(value) && Number(value) <= 0xffffffff) return Number(value);
  throw new Error(`Table must be auto, off or a table number, not '${value}'`);
}

/** push(...items) would pass each item as an argument and overflow the stack on a long enough line. */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

const interfaceKeys = new Map<string, Setter<InterfaceConf>>([
  ['privatekey', (c, v) => void (c.privateKey = key(v, 'PrivateKey'))],
  ['listenport', (c, v) => void (c.listenPort = uint(v, 65535, 'ListenPort'))],
  ['fwmark', (c, v) => void (c.fwmark = offOr(v, fwmark))],
  ['address', (c, v) => appendAll(c.addresses, list(v).map(address))],
  ['mtu', (c, v) => void (c.mtu = uint(v, 65535, 'MTU', 576))],
  ['table', (c, v) => void (c.table = table(v))],
]);

interface PartialPeer extends Omit<PeerConf, 'publicKey'> {
  publicKey?: Uint8Array;
  line: number;
}

const peerKeys = new Map<string, Setter<PartialPeer>>([
  ['publickey', (p, v) => void (p.publicKey = key(v, 'PublicKey'))],
  ['presharedkey', (p, v) => void (p.presharedKey = key(v, 'PresharedKey'))],
  ['endpoint', (p, v) => void (p.endpoint = endpoint(v))],
  ['allowedips', (p, v) => appendAll(p.allowedIps, list(v).map(allowedIp))],
  ['persistentkeepalive', (p, v) => void (p.persistentKeepalive = offOr(v, (x) => uint(x, 65535, 'PersistentKeepalive')))],
]);

function bind<T>(setter: Setter<T> | undefined, target: T): ((value: string) => void) | undefined {
  return setter && ((value) => setter(target, value));
}

/** Parses a wg-quick file; `file` names it in errors. Throws ConfError on the first problem. */
export function parseConf(text: string, file: string): WgQuickConf {
  const iface: InterfaceConf = { addresses: [], table: 'auto' };
  const peers: PartialPeer[] = [];
  let section: 'interface' | 'peer' | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const lineNo = i + 1;
    const fail = (detail: string) => {
      throw new ConfError(file, lineNo, detail);
    };
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const header = /^\[\s*(\w*)\s*\]$/.exec(line);
    if (header) {
      const name = header[1]!.toLowerCase();
      if (name !== 'interface' && name !== 'peer') return fail(`unknown section '${line}' (expected [Interface] or [Peer])`);
      section = name;
      if (section === 'peer') peers.push({ allowedIps: [], line: lineNo });
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0) return fail(`expected 'Key = Value', got '${line}'`);
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const k = name.toLowerCase();
    if (!section) return fail(`'${name}' outside of an [Interface] or [Peer] section`);
    const why = section === 'interface' ? refused.get(k) : undefined;
    if (why) return fail(`${name} is not supported by gridwire up: ${why}`);
    const set = section === 'interface' ? bind(interfaceKeys.get(k), iface) : bind(peerKeys.get(k), peers[peers.length - 1]!);
    if (!set) return fail(`unknown key '${name}' in [${section === 'interface' ? 'Interface' : 'Peer'}]`);
    try {
      set(value);
    } catch (err) {
      fail((err as Error).message);
    }
  });
  const seen = new Map<string, number>();
  return {
    interface: iface,
    peers: peers.map(({ line, publicKey, ...rest }) => {
      if (!publicKey) throw new ConfError(file, line, '[Peer] without a PublicKey');
      const hex = Buffer.from(publicKey).toString('hex');
      if (seen.has(hex)) throw new ConfError(file, line, `this peer's PublicKey is already used by the [Peer] at line ${seen.get(hex)}`);
      seen.set(hex, line);
      return { publicKey, ...rest };
    }),
  };
}

export type Lookup = (host: string) => Promise<{ address: string }>;

async function resolve(ep: Endpoint, lookup: Lookup): Promise<string> {
  let host = ep.host;
  if (!isIPv4(host) && !isIPv6(host)) {
    try {
      host = (await lookup(host)).address;
    } catch (err) {
      throw new Error(`cannot resolve endpoint host '${ep.host}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const address = parseAddress(host);
  if (!address) throw new Error(`endpoint host '${ep.host}' resolved to '${host}', which is not usable as an endpoint`);
  return formatEndpoint(address, ep.port);
}

/**
 * The UAPI change `wg setconf` would send for `conf` (replacing all peers and their allowed IPs),
 * with host names resolved to the first address the resolver gives, as wg(8) does.
 */
export async function toDeviceChange(conf: WgQuickConf, lookup: Lookup = (h) => dnsLookup(h)): Promise<DeviceChange> {
  const { privateKey, listenPort, fwmark: mark } = conf.interface;
  const peers = await Promise.all(
    conf.peers.map(async (p) => ({
      publicKey: p.publicKey,
      remove: false,
      updateOnly: false,
      ...(p.presharedKey && { presharedKey: p.presharedKey }),
      ...(p.endpoint && { endpoint: await resolve(p.endpoint, lookup) }),
      ...(p.persistentKeepalive !== undefined && { persistentKeepalive: p.persistentKeepalive }),
      replaceAllowedIps: true,
      addAllowedIps: p.allowedIps,
      removeAllowedIps: [],
    })),
  );
  return {
    ...(privateKey && { privateKey }),
    ...(listenPort !== undefined && { listenPort }),
    fwmark: mark ?? 0,
    replacePeers: true,
    peers,
  };
}
