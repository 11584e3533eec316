// What to change to get from the peers a node has to the peers it should have: only the difference,
// so peers that stay keep their sessions. Pure; the runner applies the result.
import type { PeerState, WireGuardPeerSpec } from './desired.js';

export type PeerField = 'endpoint' | 'allowedIps' | 'persistentKeepalive' | 'presharedKey';

export type Change =
  | { readonly kind: 'wireguard-remove'; readonly iface: string; readonly peer: WireGuardPeerSpec }
  | { readonly kind: 'wireguard-update'; readonly iface: string; readonly peer: WireGuardPeerSpec; readonly fields: readonly PeerField[] }
  | { readonly kind: 'wireguard-add'; readonly iface: string; readonly peer: WireGuardPeerSpec }
  | { readonly kind: 'planetary-remove'; readonly uri: string }
  | { readonly kind: 'planetary-add'; readonly uri: string; readonly source: string };

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Fields of `want` that differ from `have`; an endpoint nobody asks for is left to WireGuard's roaming. */
export function changedFields(want: WireGuardPeerSpec, have: WireGuardPeerSpec): PeerField[] {
  const fields: PeerField[] = [];
  if (want.endpoint !== undefined && want.endpoint !== have.endpoint) fields.push('endpoint');
  if (!sameList(want.allowedIps, have.allowedIps)) fields.push('allowedIps');
  if ((want.persistentKeepalive ?? 0) !== (have.persistentKeepalive ?? 0)) fields.push('persistentKeepalive');
  if (want.presharedKey !== have.presharedKey) fields.push('presharedKey');
  return fields;
}

/** Removals first, so allowed IPs handed from one peer to another are free when the new owner arrives. */
export function plan(desired: PeerState, current: PeerState): Change[] {
  const removes: Change[] = [];
  const updates: Change[] = [];
  const adds: Change[] = [];
  const ifaces = [...new Set([...desired.wireguard.keys(), ...current.wireguard.keys()])].sort();
  for (const iface of ifaces) {
    const want = desired.wireguard.get(iface) ?? new Map<string, WireGuardPeerSpec>();
    const have = current.wireguard.get(iface) ?? new Map<string, WireGuardPeerSpec>();
    for (const [key, peer] of [...have].sort(byKey)) if (!want.has(key)) removes.push({ kind: 'wireguard-remove', iface, peer });
    for (const [key, peer] of [...want].sort(byKey)) {
      const old = have.get(key);
      if (!old) adds.push({ kind: 'wireguard-add', iface, peer });
      else {
        const fields = changedFields(peer, old);
        if (fields.length) updates.push({ kind: 'wireguard-update', iface, peer, fields });
      }
    }
  }
  for (const uri of [...current.planetary.keys()].sort()) if (!desired.planetary.has(uri)) removes.push({ kind: 'planetary-remove', uri });
  for (const [uri, source] of [...desired.planetary].sort(byKey)) if (!current.planetary.has(uri)) adds.push({ kind: 'planetary-add', uri, source });
  return [...removes, ...updates, ...adds];
}

/** The state after applying `changes` to `current`: what the runner records once they succeeded. */
export function applied(current: PeerState, changes: readonly Change[]): PeerState {
  const wireguard = new Map([...current.wireguard].map(([k, v]) => [k, new Map(v)]));
  const planetary = new Map(current.planetary);
  for (const c of changes) {
    if (c.kind === 'planetary-remove') planetary.delete(c.uri);
    else if (c.kind === 'planetary-add') planetary.set(c.uri, c.source);
    else {
      const peers = wireguard.get(c.iface) ?? new Map<string, WireGuardPeerSpec>();
      wireguard.set(c.iface, peers);
      if (c.kind === 'wireguard-remove') peers.delete(c.peer.publicKey);
      else peers.set(c.peer.publicKey, mergeKeepingEndpoint(c.peer, peers.get(c.peer.publicKey)));
    }
  }
  return { wireguard, planetary };
}

// An update without an endpoint opinion leaves the device's endpoint as it was; record that.
function mergeKeepingEndpoint(want: WireGuardPeerSpec, have: WireGuardPeerSpec | undefined): WireGuardPeerSpec {
  return want.endpoint === undefined && have?.endpoint !== undefined ? { ...want, endpoint: have.endpoint } : want;
}

const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
