import { formatAddress } from '../net/prefix.js';

/**
 * Formats 16 address bytes the way Go's net.IP.String does (which is how yggdrasil prints them): RFC 5952,
 * as every address gridwire prints. IPv4-mapped addresses are not special-cased as Go does; nothing in
 * 200::/7 is one.
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address is 16 bytes, got ${bytes.length}`);
  return formatAddress(bytes);
}
