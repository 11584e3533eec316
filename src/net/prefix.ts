// IP prefixes as byte arrays, the form the native allowed-IPs trie takes. Parsing leans on ip-num for
// validation; formatting follows RFC 5952 so output reads like `wg show`.
import { isIPv4, isIPv6 } from 'node:net';
import { IPv4, IPv6 } from 'ip-num';

export interface Prefix {
  /** 4 bytes for IPv4, 16 for IPv6; host bits are zero. */
  readonly address: Uint8Array;
  readonly bits: number;
}

function bigintToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** Parses a bare IPv4 or IPv6 address into bytes, or returns undefined. */
export function parseAddress(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return bigintToBytes(IPv4.fromString(text).getValue(), 4);
  if (isIPv6(text) && !text.includes('%')) return bigintToBytes(IPv6.fromString(text).getValue(), 16);
  return undefined;
}

function maskHostBits(address: Uint8Array, bits: number): Uint8Array {
  const out = Uint8Array.from(address);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** Parses `addr/bits` (or a bare address, as a host prefix); host bits are masked off as wg does. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const max = address.length * 8;
  let bits = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    bits = Number(digits);
    if (bits > max) return undefined;
  }
  return { address: maskHostBits(address, bits), bits };
}

const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

export function formatAddress(address: Uint8Array): string {
  if (address.length === 4) return Array.from(address).join('.');
  // RFC 5952 §5: an IPv4-mapped address keeps its dotted quad (as wireguard-go and inet_ntop print it).
  if (V4_MAPPED.every((b, i) => address[i] === b)) return `::ffff:${formatAddress(address.subarray(12))}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((address[i]! << 8) | address[i + 1]!);
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.address)}/${prefix.bits}`;
}

/**
 * Parses a numeric `a.b.c.d:port` or `[v6]:port` endpoint, the v6 one with an optional `%zone` (an
 * interface name or index, which the engine resolves); host names are not endpoints.
 */
export function parseEndpoint(text: string): { address: Uint8Array; port: number } | undefined {
  const m = /^(?:\[([^\]%]+)(?:%[^\]%/\s]{1,15})?\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const address = m[1] !== undefined ? (isIPv6(host) ? parseAddress(host) : undefined) : isIPv4(host) ? parseAddress(host) : undefined;
  const port = Number(m[3]);
  if (!address || port > 65535) return undefined;
  return { address, port };
}

export function formatEndpoint(address: Uint8Array, port: number): string {
  return address.length === 4 ? `${formatAddress(address)}:${port}` : `[${formatAddress(address)}]:${port}`;
}
