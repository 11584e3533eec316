// The peers a node should have, from its config and what the chain said about the peers it names.
// Pure: lookups happen elsewhere and arrive here as outcomes, one per config entry.
import type { NodeInfo } from '../chain/index.js';
import { isChainPeer, type NodeConfig, type PlanetaryChainPeer } from './config.js';
import { identityWireGuardKey, peerAllowedIps, publicHost } from './zos.js';

export interface WireGuardPeerSpec {
  readonly publicKey: string;
  /** Numeric ip:port; undefined means "no opinion" (a hidden node dials us; WireGuard learns it). */
  readonly endpoint?: string;
  /** Sorted, so equal sets compare equal. */
  readonly allowedIps: readonly string[];
  readonly persistentKeepalive?: number;
  readonly presharedKey?: string;
  /** The config entry it came from (`wireguard[0].peers[2]`), for logs. */
  readonly source: string;
}

export interface PeerState {
  /** Interface name → public key → peer. */
  readonly wireguard: ReadonlyMap<string, ReadonlyMap<string, WireGuardPeerSpec>>;
  /** Planetary peering URI → the config entry it came from. */
  readonly planetary: ReadonlyMap<string, string>;
}

/** A chain lookup's outcome: the node, a definite "no such node", or a failure (keep what we had). */
export type Lookup = { readonly node: NodeInfo } | { readonly missing: true } | { readonly error: string };

/** node.json peer entry path → its lookup; static endpoints with host names arrive resolved. */
export interface Resolved {
  readonly lookups: ReadonlyMap<string, Lookup>;
  readonly endpoints: ReadonlyMap<string, string>;
}

export const EMPTY_STATE: PeerState = { wireguard: new Map(), planetary: new Map() };

export function desiredState(config: NodeConfig, resolved: Resolved, previous: PeerState): PeerState {
  const wireguard = new Map<string, Map<string, WireGuardPeerSpec>>();
  (config.wireguard ?? []).forEach((iface, i) => {
    const peers = new Map<string, WireGuardPeerSpec>();
    const kept = previous.wireguard.get(iface.name);
    (iface.peers ?? []).forEach((peer, j) => {
      const source = `wireguard[${i}].peers[${j}]`;
      const common = {
        source,
        ...(peer.persistentKeepalive !== undefined && { persistentKeepalive: peer.persistentKeepalive }),
        ...(peer.presharedKey !== undefined && { presharedKey: peer.presharedKey }),
      };
      if (!isChainPeer(peer)) {
        const endpoint = peer.endpoint === undefined ? undefined : resolved.endpoints.get(peer.endpoint);
        add(peers, { ...common, publicKey: peer.publicKey, allowedIps: sorted(peer.allowedIps ?? []), ...(endpoint && { endpoint }) });
        return;
      }
      const lookup = resolved.lookups.get(source);
      if (!lookup || 'missing' in lookup) return;
      // Without the twin there is no derived key: as unknown as a failed lookup, so keep what we had.
      if ('error' in lookup || (peer.publicKey === undefined && !lookup.node.twin)) {
        for (const p of kept?.values() ?? []) if (p.source === source) add(peers, p);
        return;
      }
      const host = publicHost(lookup.node.publicConfig);
      const publicKey = peer.publicKey ?? identityWireGuardKey(lookup.node.twin!.value.accountKey);
      add(peers, {
        ...common,
        publicKey,
        allowedIps: sorted([...peerAllowedIps(peer.subnet), ...(peer.allowedIps ?? [])]),
        ...(host && { endpoint: `${host}:${peer.port ?? iface.listenPort ?? 0}` }),
      });
    });
    wireguard.set(iface.name, peers);
  });
  return { wireguard, planetary: planetaryPeers(config, resolved, previous) };
}

function planetaryPeers(config: NodeConfig, resolved: Resolved, previous: PeerState): Map<string, string> {
  const out = new Map<string, string>();
  (config.planetary?.peers ?? []).forEach((peer, k) => {
    const source = `planetary.peers[${k}]`;
    if (typeof peer === 'string') return void out.set(peer, source);
    const lookup = resolved.lookups.get(source);
    if (!lookup || 'missing' in lookup) return;
    if ('error' in lookup || !lookup.node.twin) {
      for (const [uri, from] of previous.planetary) if (from === source) out.set(uri, source);
      return;
    }
    const uri = planetaryUri(peer, lookup.node);
    if (uri) out.set(uri, source);
  });
  return out;
}

/** `tcp://host:port?key=…`: the node's public address, pinned to its identity key. */
function planetaryUri(peer: PlanetaryChainPeer, node: NodeInfo): string | undefined {
  const host = publicHost(node.publicConfig);
  return host && `${peer.scheme ?? 'tcp'}://${host}:${peer.port}?key=${node.twin!.value.accountKey.replace(/^0x/, '')}`;
}

function add(peers: Map<string, WireGuardPeerSpec>, peer: WireGuardPeerSpec): void {
  // Two entries resolving to one key (say node 5 and twin 105): the first one wins, as in the config order.
  if (!peers.has(peer.publicKey)) peers.set(peer.publicKey, peer);
}

const sorted = (list: readonly string[]) => [...new Set(list)].sort();
