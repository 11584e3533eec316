// The I/O half of peering from the chain: the resolver the config asks for, and one lookup per peer
// named by node or twin id, each turned into an outcome desiredState() can use.
import { resolve as resolvePath } from 'node:path';
import {
  ChainNotFoundError,
  ChainResolver,
  FileBackend,
  GridProxyBackend,
  MAINNET,
  SubstrateBackend,
  type ChainBackend,
} from '../chain/index.js';
import { numericEndpoint } from '../net/endpoint.js';
import { isChainPeer, type NodeConfig } from './config.js';
import type { Lookup } from './desired.js';
import { splitHostPort } from './formats.js';

export const DEFAULT_REFRESH_SECONDS = 300;

/** Backends in the config's order (grid proxies, Substrate nodes, registry file), else the main network's. */
export function chainResolver(config: NodeConfig, baseDir: string): ChainResolver {
  const chain = config.chain ?? {};
  const backends: ChainBackend[] = [
    ...(chain.gridProxy ?? []).map((u) => new GridProxyBackend(u)),
    ...(chain.substrate ?? []).map((u) => new SubstrateBackend(u)),
    ...(chain.registry ? [new FileBackend(resolvePath(baseDir, chain.registry))] : []),
  ];
  if (backends.length === 0) {
    backends.push(...MAINNET.gridProxy.map((u) => new GridProxyBackend(u)), ...MAINNET.substrate.map((u) => new SubstrateBackend(u)));
  }
  return new ChainResolver({
    backends,
    ttlMs: (chain.refreshSeconds ?? DEFAULT_REFRESH_SECONDS) * 1000,
    ...(chain.timeoutSeconds !== undefined && { timeoutMs: chain.timeoutSeconds * 1000 }),
  });
}

/** Peer entries named on the chain, by their JSON path. */
export function chainPeerEntries(config: NodeConfig): Array<[string, { node?: number; twin?: number }]> {
  const wg = (config.wireguard ?? []).flatMap((iface, i) =>
    (iface.peers ?? []).flatMap((p, j) => (isChainPeer(p) ? [[`wireguard[${i}].peers[${j}]`, p] as [string, typeof p]] : [])),
  );
  const planetary = (config.planetary?.peers ?? []).flatMap((p, k) => (typeof p === 'string' ? [] : [[`planetary.peers[${k}]`, p] as [string, typeof p]]));
  return [...wg, ...planetary];
}

/** Looks every chain-named peer up; `fresh` asks the backends even when the cache still holds an answer. */
export async function lookupPeers(config: NodeConfig, resolver: ChainResolver, fresh: boolean): Promise<Map<string, Lookup>> {
  const out = new Map<string, Lookup>();
  for (const [source, id] of chainPeerEntries(config)) {
    try {
      const nodeId = id.node ?? (await resolver.nodeIdOfTwin(id.twin!, { fresh })).value;
      out.set(source, { node: (await resolver.node(nodeId, { fresh })).value });
    } catch (err) {
      out.set(source, err instanceof ChainNotFoundError ? { missing: true } : { error: (err as Error).message });
    }
  }
  return out;
}

/** Static peers' endpoints with host names, resolved once at start as wg-quick does. */
export async function resolveEndpoints(config: NodeConfig): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const iface of config.wireguard ?? []) {
    for (const peer of iface.peers ?? []) {
      if (isChainPeer(peer) || peer.endpoint === undefined || out.has(peer.endpoint)) continue;
      const { host, port } = splitHostPort(peer.endpoint)!;
      const numeric = await numericEndpoint(host, port).catch(() => {
        throw new Error(`cannot resolve the host of endpoint ${peer.endpoint}`);
      });
      out.set(peer.endpoint, numeric);
    }
  }
  return out;
}
