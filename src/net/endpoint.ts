// A host and port turned into the numeric `ip:port` or `[ip]:port` the engines dial: a name is resolved
// once, to the resolver's first answer, as wg-quick and yggdrasil do.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * `host` is an IP literal or a DNS name; an IPv6 `%zone` on it is written back through `zone`, which may
 * rename it (the kernel wants an interface index) or drop it by returning ''.
 */
export async function numericEndpoint(host: string, port: number, zone: (name: string) => string = (name) => name): Promise<string> {
  const [bare, zoneName] = host.split('%') as [string, string | undefined];
  const ip = isIP(bare) ? bare : (await lookup(bare)).address;
  if (isIP(ip) === 4) return `${ip}:${port}`;
  const z = zoneName ? zone(zoneName) : '';
  return `[${ip}${z ? `%${z}` : ''}]:${port}`;
}
