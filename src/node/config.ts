// node.json: parsed, checked against schema/node.schema.json, then the rules a schema cannot say well
// (one of publicKey/node/twin per peer, unique names, a subnet inside its network). Every problem is
// reported at once, each naming its JSON path.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { parsePrefix } from '../net/prefix.js';
import { NODE_FORMATS } from './formats.js';
import { formatError, validate, type Schema, type SchemaError } from './schema-validator.js';

export interface StaticPeerConfig {
  readonly publicKey: string;
  readonly presharedKey?: string;
  readonly endpoint?: string;
  readonly allowedIps?: readonly string[];
  readonly persistentKeepalive?: number;
}

/** A peer looked up on the chain by node id, or by twin id (a node twin). */
export interface ChainPeerConfig {
  readonly node?: number;
  readonly twin?: number;
  /** Overrides the key derived from the node's identity (zos NRs use client-generated keys). */
  readonly publicKey?: string;
  readonly presharedKey?: string;
  readonly subnet: string;
  readonly port?: number;
  readonly allowedIps?: readonly string[];
  readonly persistentKeepalive?: number;
}

export type WireGuardPeerConfig = StaticPeerConfig | ChainPeerConfig;

export interface WireGuardInterfaceConfig {
  readonly name: string;
  readonly key: string;
  readonly listenPort?: number;
  readonly mtu?: number;
  readonly addresses?: readonly string[];
  readonly network?: { readonly ipRange: string; readonly subnet: string };
  readonly peers?: readonly WireGuardPeerConfig[];
}

export interface PlanetaryChainPeer {
  readonly node: number;
  readonly scheme?: 'tcp' | 'tls';
  readonly port: number;
}

export interface PlanetarySectionConfig {
  readonly config?: string;
  readonly key?: string;
  readonly listen?: readonly string[];
  readonly ifName?: string;
  readonly adminListen?: string;
  readonly peers?: readonly (string | PlanetaryChainPeer)[];
}

export interface ChainSectionConfig {
  readonly gridProxy?: readonly string[];
  readonly substrate?: readonly string[];
  readonly registry?: string;
  readonly refreshSeconds?: number;
  readonly timeoutSeconds?: number;
}

export interface NodeConfig {
  readonly keystore?: string;
  readonly chain?: ChainSectionConfig;
  readonly wireguard?: readonly WireGuardInterfaceConfig[];
  readonly planetary?: PlanetarySectionConfig;
  readonly log?: { readonly level?: string; readonly format?: 'json' | 'text' };
  readonly metrics?: { readonly listen: string };
}

export class NodeConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    where: string,
  ) {
    super(`${where}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
    this.name = 'NodeConfigError';
  }
}

let schema: Schema | undefined;

export function nodeSchema(): Schema {
  schema ??= JSON.parse(readFileSync(join(packageRoot(), 'schema', 'node.schema.json'), 'utf8')) as Schema;
  return schema;
}

export const isChainPeer = (p: WireGuardPeerConfig): p is ChainPeerConfig => 'node' in p || 'twin' in p;

/** Parses and validates node.json text; throws NodeConfigError listing every problem. */
export function parseNodeConfig(text: string, where = 'node.json'): NodeConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NodeConfigError([`not valid JSON: ${(err as Error).message}`], where);
  }
  const errors = validate(json, nodeSchema(), NODE_FORMATS);
  if (errors.length === 0) errors.push(...semanticErrors(json as NodeConfig));
  if (errors.length) throw new NodeConfigError(errors.map(formatError), where);
  return json as NodeConfig;
}

function semanticErrors(config: NodeConfig): SchemaError[] {
  const errors: SchemaError[] = [];
  const names = new Map<string, number>();
  (config.wireguard ?? []).forEach((iface, i) => {
    const at = `wireguard[${i}]`;
    const first = names.get(iface.name);
    if (first !== undefined) errors.push({ path: `${at}.name`, message: `'${iface.name}' is already used by wireguard[${first}]` });
    else names.set(iface.name, i);
    errors.push(...interfaceErrors(iface, at));
  });
  if (config.planetary) errors.push(...planetaryErrors(config.planetary));
  return errors;
}

function interfaceErrors(iface: WireGuardInterfaceConfig, at: string): SchemaError[] {
  const errors: SchemaError[] = [];
  const range = iface.network && parsePrefix(iface.network.ipRange)!;
  const inRange = (subnet: string) => !range || parsePrefix(subnet)!.address.slice(0, 2).every((b, k) => b === range.address[k]);
  if (iface.network && !inRange(iface.network.subnet)) {
    errors.push({ path: `${at}.network.subnet`, message: `${iface.network.subnet} is not inside ipRange ${iface.network.ipRange}` });
  }
  const keys = new Map<string, number>();
  (iface.peers ?? []).forEach((peer, j) => {
    const p = `${at}.peers[${j}]`;
    const has = (k: string) => Object.hasOwn(peer, k);
    const named = ['node', 'twin'].filter(has);
    if (named.length > 1) errors.push({ path: p, message: 'give node or twin, not both' });
    if (named.length === 0) {
      if (!has('publicKey')) errors.push({ path: p, message: 'give publicKey, node or twin' });
      for (const k of ['subnet', 'port'].filter(has)) errors.push({ path: `${p}.${k}`, message: 'only for peers named by node or twin' });
    } else {
      if (has('endpoint')) errors.push({ path: `${p}.endpoint`, message: 'comes from the chain for peers named by node or twin' });
      if (!has('subnet')) errors.push({ path: `${p}.subnet`, message: 'required for a peer named by node or twin' });
      else if (!inRange((peer as ChainPeerConfig).subnet)) {
        errors.push({ path: `${p}.subnet`, message: `${(peer as ChainPeerConfig).subnet} is not inside ipRange ${iface.network!.ipRange}` });
      }
      if (!iface.network) errors.push({ path: `${at}.network`, message: 'required when peers are named by node or twin' });
      if (!has('port') && iface.listenPort === undefined) errors.push({ path: `${p}.port`, message: `required when ${at}.listenPort is not set` });
    }
    if (peer.publicKey !== undefined) {
      const seen = keys.get(peer.publicKey);
      if (seen !== undefined) errors.push({ path: `${p}.publicKey`, message: `same key as ${at}.peers[${seen}]` });
      else keys.set(peer.publicKey, j);
    }
  });
  return errors;
}

function planetaryErrors(planetary: PlanetarySectionConfig): SchemaError[] {
  if (planetary.config === undefined) {
    return planetary.key === undefined ? [{ path: 'planetary.key', message: 'required unless planetary.config is given' }] : [];
  }
  return (['key', 'listen', 'ifName', 'adminListen'] as const)
    .filter((k) => planetary[k] !== undefined)
    .map((k) => ({ path: `planetary.${k}`, message: 'set it in the planetary.config file instead' }));
}
