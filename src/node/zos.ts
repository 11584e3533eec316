// zos network conventions (threefold.md §1.1), as pure functions: a network is an IPv4 /16, each node
// owns a /24 of it; the WireGuard interface of the node with 10.A.B.0/24 is 100.64.A.B/16 and the whole
// /16 is routed through it; every peer is allowed its /24 and its 100.64.A.B/32. A node's endpoint is
// its public-config IPv4, else its IPv6; without either it is hidden (no endpoint, it dials us).
import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { encodeKey } from '../keys/index.js';
import type { PublicConfig } from '../chain/index.js';

const octets = (cidr: string) => cidr.slice(0, cidr.indexOf('/')).split('.').map(Number);

/** 10.A.B.0/24 → 100.64.A.B */
export function wireguardAddress(subnet: string): string {
  const [, a, b] = octets(subnet);
  return `100.64.${a}.${b}`;
}

/** What a peer with this /24 may send from, and is routed to: the /24 and its 100.64 address. */
export function peerAllowedIps(subnet: string): string[] {
  return [subnet, `${wireguardAddress(subnet)}/32`];
}

/** The node's public address for dialling, or undefined for a hidden node. */
export function publicHost(config: PublicConfig | undefined): string | undefined {
  const bare = (cidr: string) => cidr.replace(/\/\d+$/, '');
  if (config?.ipv4) return bare(config.ipv4);
  if (config?.ipv6) return `[${bare(config.ipv6)}]`;
  return undefined;
}

/**
 * gridwire's key for a node named on the chain: the X25519 form of its ed25519 identity (the twin's
 * account key), as mycelium derives its host key, so no WireGuard key needs publishing. A node using
 * this convention runs its interface with `key: keystore:<its planetary identity>`.
 */
export function identityWireGuardKey(accountKeyHex: string): string {
  return encodeKey(ed25519.utils.toMontgomery(hexToBytes(accountKeyHex.replace(/^0x/, ''))));
}

/** The private half of identityWireGuardKey, from the 64-byte planetary private key. */
export function identityWireGuardPrivateKey(planetaryPrivateKey: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(planetaryPrivateKey.subarray(0, 32));
}
