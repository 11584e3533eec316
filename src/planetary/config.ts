// The `gridwire planetary` config: the same file yggdrasil 0.5.12 reads (HJSON or JSON, same keys, same
// defaults, same leniency), and the same text back from -genconf / -normaliseconf.
//
// Loading mirrors yggdrasil: keys match case-insensitively (Go's encoding/json), unknown keys are
// ignored (reported as warnings), a missing key keeps its default, and a wrongly typed value is an error
// naming the key. Semantic checks that yggdrasil only trips over when the node starts (URIs, regexes,
// key lists) are in validatePlanetaryConfig, so -address/-normaliseconf work on any config yggdrasil takes.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  formatPlanetaryPrivateKey,
  generatePlanetaryKey,
  parsePlanetaryPrivateKey,
  planetaryPublicKey,
} from '../keys/index.js';
import { commentedHjson, goJson, goStruct, parseHjson, type GoStruct, type GoValue, type HjsonField } from './hjson.js';
import { parsePeerUri, unsupportedTransport } from './uri.js';

export interface MulticastInterfaceConfig {
  /** Matched (unanchored) against interface names; the first matching entry applies. */
  readonly Regex: string;
  readonly Beacon: boolean;
  readonly Listen: boolean;
  /** TLS listener port for beacons; 0 = ephemeral. */
  readonly Port: number;
  readonly Priority: number;
  readonly Password: string;
}

/** Field names are yggdrasil's config keys, so the file and the model read alike. */
export interface PlanetaryConfig {
  /** 64 bytes, seed ‖ public key (from PrivateKey, or read from PrivateKeyPath). */
  readonly PrivateKey: Uint8Array;
  /** PEM (PKCS#8) file the key was read from; '' when the key is inline. */
  readonly PrivateKeyPath: string;
  readonly Peers: readonly string[];
  /** Source interface name → outbound peer URIs. */
  readonly InterfacePeers: Readonly<Record<string, readonly string[]>>;
  readonly Listen: readonly string[];
  /** `unix:///path`, `tcp://host:port`, bare `host:port`, or `none`; '' = not set (written out by nothing). */
  readonly AdminListen: string;
  readonly MulticastInterfaces: readonly MulticastInterfaceConfig[];
  /** Hex public keys allowed to peer inbound; empty = everyone. */
  readonly AllowedPublicKeys: readonly string[];
  /** TUN name, `auto`, or `none` (no TUN). */
  readonly IfName: string;
  readonly IfMTU: number;
  readonly LogLookups: boolean;
  readonly NodeInfoPrivacy: boolean;
  /** Arbitrary JSON object sent to nodes asking for our NodeInfo; null = none. */
  readonly NodeInfo: { readonly [key: string]: unknown } | null;
}

/** A config that cannot be used; `key` is the offending config key (e.g. `MulticastInterfaces[0].Port`). */
export class PlanetaryConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(key ? `${key}: ${message}` : message);
    this.name = 'PlanetaryConfigError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Defaults (Linux, as the Debian 0.5.12 build has them)

/** Where the Debian build of yggdrasil, and so its yggdrasilctl, expects the admin socket. */
export const DEFAULT_ADMIN_LISTEN = 'unix:///var/run/yggdrasil/yggdrasil.sock';
export const DEFAULT_IF_MTU = 65535;
export const MAX_NODEINFO_BYTES = 16384;

const DEFAULT_MULTICAST: MulticastInterfaceConfig = {
  Regex: '.*',
  Beacon: true,
  Listen: true,
  Port: 0,
  Priority: 0,
  Password: '',
};

/** yggdrasil's GenerateConfig: a fresh key and the platform defaults. */
export function generatePlanetaryConfig(privateKey: Uint8Array = generatePlanetaryKey()): PlanetaryConfig {
  return {
    PrivateKey: privateKey,
    PrivateKeyPath: '',
    Peers: [],
    InterfacePeers: {},
    Listen: [],
    AdminListen: DEFAULT_ADMIN_LISTEN,
    MulticastInterfaces: [DEFAULT_MULTICAST],
    AllowedPublicKeys: [],
    IfName: 'auto',
    IfMTU: DEFAULT_IF_MTU,
    LogLookups: false,
    NodeInfoPrivacy: false,
    NodeInfo: null,
  };
}

// ---------------------------------------------------------------------------------------------------
// Reading

export interface LoadedPlanetaryConfig {
  readonly config: PlanetaryConfig;
  /** Keys yggdrasil would ignore silently (typos, keys of other versions). */
  readonly warnings: readonly string[];
  /** The lists and maps given as null (`Peers`, `InterfacePeers.eth0`, …): empty to the node, null in Go's JSON. */
  readonly nulls: ReadonlySet<string>;
}

/** Reads config bytes as yggdrasil does: UTF-16 with a byte order mark is accepted, as is a UTF-8 BOM. */
export function decodeConfigText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return Buffer.from(b.subarray(2)).swap16().toString('utf16le');
  return b.toString('utf8').replace(/^\uFEFF/, '');
}

/** Parses a config text over the defaults. `generateKey` supplies the key when the config has none. */
export function parsePlanetaryConfig(text: string, options: { generateKey?: () => Uint8Array } = {}): LoadedPlanetaryConfig {
  const root = parseRoot(text);
  const warnings: string[] = [];
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(root)) {
    const field = matchField(key, TOP_LEVEL_KEYS);
    if (field === undefined) warnings.push(`unknown config key '${key}' ignored`);
    else fields[field] = value;
  }
  return { config: decodeFields(fields, options.generateKey ?? generatePlanetaryKey), warnings, nulls: nullLists(fields) };
}

// Go decodes a JSON null into a list or map field as nil, which it writes back as null.
function nullLists(f: Record<string, unknown>): Set<string> {
  const nulls = new Set<string>(['Peers', 'InterfacePeers', 'Listen', 'MulticastInterfaces', 'AllowedPublicKeys'].filter((k) => f[k] === null));
  if (isObject(f.InterfacePeers)) for (const [intf, uris] of Object.entries(f.InterfacePeers)) if (uris === null) nulls.add(`InterfacePeers.${intf}`);
  return nulls;
}

/** Reads and parses a config file (or any readable path). */
export function loadPlanetaryConfigFile(path: string): LoadedPlanetaryConfig {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new PlanetaryConfigError('', `cannot read config ${path}: ${(err as Error).message}`);
  }
  return parsePlanetaryConfig(decodeConfigText(bytes));
}

function parseRoot(text: string): Record<string, unknown> {
  let root: unknown;
  try {
    root = parseHjson(text);
  } catch (err) {
    throw new PlanetaryConfigError('', `config is not valid HJSON/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObject(root)) throw new PlanetaryConfigError('', 'config must be an object ({ Key: value, … })');
  return root;
}

const TOP_LEVEL_KEYS = [
  'PrivateKey',
  'PrivateKeyPath',
  'Peers',
  'InterfacePeers',
  'Listen',
  'AdminListen',
  'MulticastInterfaces',
  'AllowedPublicKeys',
  'IfName',
  'IfMTU',
  'LogLookups',
  'NodeInfoPrivacy',
  'NodeInfo',
] as const;

const MULTICAST_KEYS = ['Regex', 'Beacon', 'Listen', 'Port', 'Priority', 'Password'] as const;

/** Go's encoding/json: an exact name match first, else a case-insensitive one. */
function matchField<K extends string>(key: string, names: readonly K[]): K | undefined {
  return names.find((n) => n === key) ?? names.find((n) => n.toLowerCase() === key.toLowerCase());
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeFields(f: Record<string, unknown>, generateKey: () => Uint8Array): PlanetaryConfig {
  const d = generatePlanetaryConfig(new Uint8Array(64));
  const keyPath = str(f.PrivateKeyPath, 'PrivateKeyPath', d.PrivateKeyPath);
  const config: PlanetaryConfig = {
    PrivateKey: keyPath ? readPemPrivateKey(keyPath) : inlineKey(f.PrivateKey, generateKey),
    PrivateKeyPath: keyPath,
    Peers: strings(f.Peers, 'Peers', d.Peers),
    InterfacePeers: interfacePeers(f.InterfacePeers, d.InterfacePeers),
    Listen: strings(f.Listen, 'Listen', d.Listen),
    AdminListen: str(f.AdminListen, 'AdminListen', d.AdminListen),
    MulticastInterfaces: multicastInterfaces(f.MulticastInterfaces, d.MulticastInterfaces),
    AllowedPublicKeys: strings(f.AllowedPublicKeys, 'AllowedPublicKeys', d.AllowedPublicKeys),
    IfName: str(f.IfName, 'IfName', d.IfName),
    IfMTU: uint(f.IfMTU, 'IfMTU', Number.MAX_SAFE_INTEGER, d.IfMTU),
    LogLookups: bool(f.LogLookups, 'LogLookups', d.LogLookups),
    NodeInfoPrivacy: bool(f.NodeInfoPrivacy, 'NodeInfoPrivacy', d.NodeInfoPrivacy),
    NodeInfo: nodeInfo(f.NodeInfo, d.NodeInfo),
  };
  return config;
}

// Go's json leaves a non-pointer field alone on null (and absent means undefined here), but sets
// slices and maps to nil, which behave as empty.
function typeError(key: string, expected: string, got: unknown): PlanetaryConfigError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'an array' : isObject(got) ? 'an object' : String(got);
  return new PlanetaryConfigError(key, `expected ${expected}, got ${shown}`);
}

function str(v: unknown, key: string, dflt: string): string {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw typeError(key, 'a string', v);
  return v;
}

function bool(v: unknown, key: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw typeError(key, 'true or false', v);
  return v;
}

function uint(v: unknown, key: string, max: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw typeError(key, `an integer 0..${max}`, v);
  return v;
}

function strings(v: unknown, key: string, dflt: readonly string[]): readonly string[] {
  if (v === undefined) return dflt;
  if (v === null) return [];
  if (!Array.isArray(v)) throw typeError(key, 'a list of strings', v);
  return v.map((item, i) => str(item, `${key}[${i}]`, ''));
}

function interfacePeers(v: unknown, dflt: PlanetaryConfig['InterfacePeers']): PlanetaryConfig['InterfacePeers'] {
  if (v === undefined) return dflt;
  if (v === null) return {};
  if (!isObject(v)) throw typeError('InterfacePeers', 'an object of interface name → list of URIs', v);
  return Object.fromEntries(Object.entries(v).map(([intf, uris]) => [intf, strings(uris, `InterfacePeers.${intf}`, [])]));
}

function multicastInterfaces(v: unknown, dflt: readonly MulticastInterfaceConfig[]): readonly MulticastInterfaceConfig[] {
  if (v === undefined) return dflt;
  if (v === null) return [];
  if (!Array.isArray(v)) throw typeError('MulticastInterfaces', 'a list of objects', v);
  // Go's json decodes into the default slice's backing array without zeroing it, so the first entry
  // inherits the default entry's values for the fields it leaves out; later entries start from zero.
  return v.map((item, i) => multicastInterface(item, `MulticastInterfaces[${i}]`, i === 0 ? DEFAULT_MULTICAST : ZERO_MULTICAST));
}

const ZERO_MULTICAST: MulticastInterfaceConfig = { Regex: '', Beacon: false, Listen: false, Port: 0, Priority: 0, Password: '' };

function multicastInterface(v: unknown, key: string, base: MulticastInterfaceConfig): MulticastInterfaceConfig {
  if (v === null) return base;
  if (!isObject(v)) throw typeError(key, 'an object', v);
  const f: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(v)) {
    const field = matchField(k, MULTICAST_KEYS);
    if (field !== undefined) f[field] = value;
  }
  return {
    Regex: str(f.Regex, `${key}.Regex`, base.Regex),
    Beacon: bool(f.Beacon, `${key}.Beacon`, base.Beacon),
    Listen: bool(f.Listen, `${key}.Listen`, base.Listen),
    Port: uint(f.Port, `${key}.Port`, 65535, base.Port),
    Priority: uint(f.Priority, `${key}.Priority`, Number.MAX_SAFE_INTEGER, base.Priority),
    Password: str(f.Password, `${key}.Password`, base.Password),
  };
}

function nodeInfo(v: unknown, dflt: PlanetaryConfig['NodeInfo']): PlanetaryConfig['NodeInfo'] {
  if (v === undefined) return dflt;
  if (v === null) return null;
  if (!isObject(v)) throw typeError('NodeInfo', 'an object or null', v);
  return v;
}

function inlineKey(v: unknown, generateKey: () => Uint8Array): Uint8Array {
  if (v === undefined || v === null) return generateKey();
  if (typeof v !== 'string') throw typeError('PrivateKey', 'a string of 128 hex digits', v);
  try {
    return parsePlanetaryPrivateKey(v);
  } catch (err) {
    throw new PlanetaryConfigError('PrivateKey', (err as Error).message);
  }
}

/** PrivateKeyPath: the first PEM block must be a PKCS#8 `PRIVATE KEY` holding an Ed25519 key. */
function readPemPrivateKey(path: string): Uint8Array {
  const fail = (why: string): never => {
    throw new PlanetaryConfigError('PrivateKeyPath', `${path}: ${why}`);
  };
  let pem = '';
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    fail((err as Error).message);
  }
  const block = /-----BEGIN ([^-\n]+)-----[\s\S]*?-----END \1-----/.exec(pem);
  if (!block) fail('failed to parse PEM file');
  if (block![1] !== 'PRIVATE KEY') fail(`unexpected PEM type "${block![1]}"`);
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey({ key: block![0], format: 'pem' });
  } catch (err) {
    fail(`failed to unmarshal PKCS8 key: ${(err as Error).message}`);
  }
  if (key!.asymmetricKeyType !== 'ed25519') fail('private key must be ed25519 key');
  const seed = Buffer.from(key!.export({ format: 'jwk' }).d!, 'base64url');
  const full = new Uint8Array(64);
  full.set(seed);
  full.set(planetaryPublicKey(full), 32);
  return full;
}

/** `-exportkey`: the key as the PKCS#8 PEM yggdrasil writes (and PrivateKeyPath reads). */
export function exportPemPrivateKey(privateKey: Uint8Array): string {
  const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  const der = Buffer.concat([pkcs8Prefix, privateKey.subarray(0, 32)]);
  const lines = der.toString('base64').match(/.{1,64}/g)!;
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

// ---------------------------------------------------------------------------------------------------
// Checks yggdrasil makes only when the node starts

/** Every problem that would stop the node, each naming its key; empty when the config is usable. */
export function planetaryConfigProblems(config: PlanetaryConfig): PlanetaryConfigError[] {
  return [
    ...uriProblems('Peers', config.Peers),
    ...Object.entries(config.InterfacePeers).flatMap(([intf, uris]) => uriProblems(`InterfacePeers.${intf}`, uris)),
    ...uriProblems('Listen', config.Listen),
    ...adminListenProblems(config.AdminListen),
    ...config.MulticastInterfaces.flatMap(multicastProblems),
    ...config.AllowedPublicKeys.flatMap((k, i) =>
      /^[0-9a-fA-F]{64}$/.test(k) ? [] : [new PlanetaryConfigError(`AllowedPublicKeys[${i}]`, `'${k}' is not a public key (64 hex digits)`)],
    ),
    ...ifNameProblems(config.IfName),
    ...nodeInfoProblems(config.NodeInfo),
  ];
}

/** Throws the first problem planetaryConfigProblems finds. */
export function validatePlanetaryConfig(config: PlanetaryConfig): void {
  const [first] = planetaryConfigProblems(config);
  if (first) throw first;
}

function uriProblems(key: string, uris: readonly string[]): PlanetaryConfigError[] {
  return uris.flatMap((uri, i) => {
    if (unsupportedTransport(uri)) return [];
    try {
      parsePeerUri(uri);
      return [];
    } catch (err) {
      return [new PlanetaryConfigError(`${key}[${i}]`, (err as Error).message)];
    }
  });
}

/** Each peer or listener the node skips because gridwire lacks its transport, named by key. */
export function unsupportedTransportWarnings(config: PlanetaryConfig): string[] {
  const named = (key: string, uris: readonly string[]) =>
    uris.flatMap((uri, i) => {
      const scheme = unsupportedTransport(uri);
      return scheme ? [`${key}[${i}]: ${scheme}:// is not supported yet (only tcp:// and tls://); '${uri}' skipped`] : [];
    });
  return [
    ...named('Peers', config.Peers),
    ...Object.entries(config.InterfacePeers).flatMap(([intf, uris]) => named(`InterfacePeers.${intf}`, uris)),
    ...named('Listen', config.Listen),
  ];
}

function adminListenProblems(listen: string): PlanetaryConfigError[] {
  if (listen === '' || listen === 'none' || /^unix:\/\/.+/.test(listen) || /^(tcp:\/\/)?(\[[^\]]+\]|[^:/[\]]*):\d{1,5}$/.test(listen)) return [];
  return [new PlanetaryConfigError('AdminListen', `'${listen}' is not unix:///path, tcp://host:port, host:port or none`)];
}

function multicastProblems(m: MulticastInterfaceConfig, i: number): PlanetaryConfigError[] {
  const key = `MulticastInterfaces[${i}]`;
  const problems: PlanetaryConfigError[] = [];
  try {
    new RegExp(m.Regex);
  } catch (err) {
    problems.push(new PlanetaryConfigError(`${key}.Regex`, `invalid regular expression: ${(err as Error).message}`));
  }
  // yggdrasil truncates to a byte without a word; a priority of 300 silently becoming 44 helps nobody.
  if (m.Priority > 255) problems.push(new PlanetaryConfigError(`${key}.Priority`, `${m.Priority} is out of range 0..255`));
  if (Buffer.byteLength(m.Password) > 64) problems.push(new PlanetaryConfigError(`${key}.Password`, 'longer than 64 bytes'));
  return problems;
}

function ifNameProblems(name: string): PlanetaryConfigError[] {
  if (name === 'auto' || name === 'none' || /^[^\s/]{1,15}$/.test(name)) return [];
  return [new PlanetaryConfigError('IfName', `'${name}' is not an interface name (1..15 characters, no '/' or spaces), "auto" or "none"`)];
}

function nodeInfoProblems(info: PlanetaryConfig['NodeInfo']): PlanetaryConfigError[] {
  if (info === null) return [];
  const size = Buffer.byteLength(JSON.stringify(info));
  return size > MAX_NODEINFO_BYTES ? [new PlanetaryConfigError('NodeInfo', `${size} bytes, more than ${MAX_NODEINFO_BYTES}`)] : [];
}

// ---------------------------------------------------------------------------------------------------
// Writing (-genconf, -normaliseconf)

const COMMENTS: Partial<Record<(typeof TOP_LEVEL_KEYS)[number], string>> = {
  PrivateKey: 'Your private key. DO NOT share this with anyone!',
  PrivateKeyPath: 'The path to your private key file in PEM format.',
  Peers:
    'List of outbound peer connection strings (e.g. tls://a.b.c.d:e or\nsocks://a.b.c.d:e/f.g.h.i:j). Connection strings can contain options,\nsee https://yggdrasil-network.github.io/configurationref.html#peers.\nYggdrasil has no concept of bootstrap nodes - all network traffic\nwill transit peer connections. Therefore make sure to only peer with\nnearby nodes that have good connectivity and low latency. Avoid adding\npeers to this list from distant countries as this will worsen your\nnode\'s connectivity and performance considerably.',
  InterfacePeers:
    'List of connection strings for outbound peer connections in URI format,\narranged by source interface, e.g. { "eth0": [ "tls://a.b.c.d:e" ] }.\nYou should only use this option if your machine is multi-homed and you\nwant to establish outbound peer connections on different interfaces.\nOtherwise you should use "Peers".',
  Listen:
    'Listen addresses for incoming connections. You will need to add\nlisteners in order to accept incoming peerings from non-local nodes.\nThis is not required if you wish to establish outbound peerings only.\nMulticast peer discovery will work regardless of any listeners set\nhere. Each listener should be specified in URI format as above, e.g.\ntls://0.0.0.0:0 or tls://[::]:0 to listen on all interfaces.',
  AdminListen:
    'Listen address for admin connections. Default is to listen for local\nconnections either on TCP/9001 or a UNIX socket depending on your\nplatform. Use this value for yggdrasilctl -endpoint=X. To disable\nthe admin socket, use the value "none" instead.',
  MulticastInterfaces:
    'Configuration for which interfaces multicast peer discovery should be\nenabled on. Regex is a regular expression which is matched against an\ninterface name, and interfaces use the first configuration that they\nmatch against. Beacon controls whether or not your node advertises its\npresence to others, whereas Listen controls whether or not your node\nlistens out for and tries to connect to other advertising nodes. See\nhttps://yggdrasil-network.github.io/configurationref.html#multicastinterfaces\nfor more supported options.',
  AllowedPublicKeys:
    'List of peer public keys to allow incoming peering connections\nfrom. If left empty/undefined then all connections will be allowed\nby default. This does not affect outgoing peerings, nor does it\naffect link-local peers discovered via multicast.\nWARNING: THIS IS NOT A FIREWALL and DOES NOT limit who can reach\nopen ports or services running on your machine!',
  IfName: 'Local network interface name for TUN adapter, or "auto" to select\nan interface automatically, or "none" to run without TUN.',
  IfMTU:
    'Maximum Transmission Unit (MTU) size for your local TUN interface.\nDefault is the largest supported size for your platform. The lowest\npossible value is 1280.',
  NodeInfoPrivacy:
    'By default, nodeinfo contains some defaults including the platform,\narchitecture and Yggdrasil version. These can help when surveying\nthe network and diagnosing network routing problems. Enabling\nnodeinfo privacy prevents this, so that only items specified in\n"NodeInfo" are sent back if specified.',
  NodeInfo:
    'Optional nodeinfo. This must be a { "key": "value", ... } map\nor set as null. This is entirely optional but, if set, is visible\nto the whole network on request.',
};

function multicastStruct(m: MulticastInterfaceConfig): GoStruct {
  return goStruct([
    ['Regex', m.Regex],
    ['Beacon', m.Beacon],
    ['Listen', m.Listen],
    ['Port', m.Port || undefined],
    ['Priority', m.Priority || undefined],
    ['Password', m.Password],
  ]);
}

/** The NodeConfig struct's fields in order, `omitempty` ones dropped when empty; `nulls` written as null. */
function configFields(c: PlanetaryConfig, nulls: ReadonlySet<string>): Array<[(typeof TOP_LEVEL_KEYS)[number], GoValue]> {
  const or = (key: string, value: GoValue): GoValue => (nulls.has(key) ? null : value);
  const all: Array<[(typeof TOP_LEVEL_KEYS)[number], GoValue | undefined]> = [
    // yggdrasil forgets the inline key when it came from a file, so the output keeps pointing at the file.
    ['PrivateKey', c.PrivateKeyPath ? undefined : formatPlanetaryPrivateKey(c.PrivateKey)],
    ['PrivateKeyPath', c.PrivateKeyPath || undefined],
    ['Peers', or('Peers', [...c.Peers])],
    ['InterfacePeers', or('InterfacePeers', Object.fromEntries(Object.entries(c.InterfacePeers).map(([k, v]) => [k, or(`InterfacePeers.${k}`, [...v])])))],
    ['Listen', or('Listen', [...c.Listen])],
    ['AdminListen', c.AdminListen || undefined],
    ['MulticastInterfaces', or('MulticastInterfaces', c.MulticastInterfaces.map(multicastStruct))],
    ['AllowedPublicKeys', or('AllowedPublicKeys', [...c.AllowedPublicKeys])],
    ['IfName', c.IfName],
    ['IfMTU', c.IfMTU],
    ['LogLookups', c.LogLookups || undefined],
    ['NodeInfoPrivacy', c.NodeInfoPrivacy],
    ['NodeInfo', c.NodeInfo as GoValue],
  ];
  return all.filter((f): f is [(typeof TOP_LEVEL_KEYS)[number], GoValue] => f[1] !== undefined);
}

/**
 * The config as yggdrasil prints it (`-genconf`, `-normaliseconf`): Go's indented JSON, or commented
 * HJSON. No trailing newline (the CLI prints a line). Callers clear AdminListen as yggdrasil does.
 * `nulls` (LoadedPlanetaryConfig's) are the lists and maps Go's JSON writes as null.
 */
export function formatPlanetaryConfig(config: PlanetaryConfig, format: 'json' | 'hjson', nulls: ReadonlySet<string> = new Set()): string {
  if (format === 'json') return goJson(goStruct(configFields(config, nulls)));
  // hjson-go writes nil lists as [] and a nil map as {} where Go's json writes null.
  const hjsonFields: HjsonField[] = configFields(config, new Set()).map(([key, value]) => ({
    key,
    value: key === 'NodeInfo' && value === null ? {} : value,
    comment: COMMENTS[key],
  }));
  return commentedHjson(hjsonFields);
}
