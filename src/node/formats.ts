// The string formats node.json uses, each a check returning what was expected when the value is wrong.
import { isIP } from 'node:net';
import { checkKeyName } from '../keystore/index.js';
import { decodeKey, parsePlanetaryPrivateKey } from '../keys/index.js';
import { parseAddress, parsePrefix, type Prefix } from '../net/prefix.js';
import { parsePeerUri } from '../planetary/uri.js';
import type { FormatCheck } from './schema-validator.js';
import { isInterfaceName } from '../wireguard/conf.js';

export const KEYSTORE_REF = 'keystore:';
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const messageOf = (err: unknown) => (err as Error).message;

/** `host:port` or `[ipv6]:port`, host an IP or a DNS name. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined ? isIP(host) !== 6 : !(isIP(host) === 4 || HOSTNAME.test(host))) return undefined;
  return { host, port };
}

/** An IPv4 prefix of exactly `bits` with its host bits clear. */
export function ipv4Network(text: string, bits: number): Prefix | undefined {
  const p = parsePrefix(text);
  if (!p || p.address.length !== 4 || p.bits !== bits || !text.includes('/')) return undefined;
  // parsePrefix masks host bits off; a network written with them set is a mistake worth naming.
  const written = parseAddress(text.slice(0, text.indexOf('/')))!;
  return written.every((b, i) => b === p.address[i]) ? p : undefined;
}

function keyRef(parse: (text: string) => unknown, what: string): FormatCheck {
  return (text) => {
    try {
      if (text.startsWith(KEYSTORE_REF)) checkKeyName(text.slice(KEYSTORE_REF.length), { allowPrev: true });
      else parse(text);
      return undefined;
    } catch (err) {
      return `expected keystore:NAME or ${what}: ${messageOf(err)}`;
    }
  };
}

function url(schemes: readonly string[]): FormatCheck {
  return (text) => {
    try {
      if (schemes.includes(new URL(text).protocol.replace(/:$/, ''))) return undefined;
    } catch {
      // Reported below.
    }
    return `expected a ${schemes.join(' or ')} URL`;
  };
}

export const NODE_FORMATS: Readonly<Record<string, FormatCheck>> = {
  endpoint: (t) => (splitHostPort(t) ? undefined : 'expected host:port'),
  'host-port': (t) => (splitHostPort(t) ? undefined : 'expected host:port'),
  prefix: (t) => (t.includes('/') && parsePrefix(t) ? undefined : 'expected an IP prefix such as 10.0.0.0/24'),
  'interface-address': (t) => (t.includes('/') && parsePrefix(t) ? undefined : 'expected an address with its prefix length, such as 10.0.0.1/24'),
  'ipv4-prefix-16': (t) => (ipv4Network(t, 16) ? undefined : 'expected an IPv4 /16 network such as 10.20.0.0/16'),
  'ipv4-prefix-24': (t) => (ipv4Network(t, 24) ? undefined : 'expected an IPv4 /24 network such as 10.20.1.0/24'),
  'interface-name': (t) => (isInterfaceName(t) ? undefined : 'expected an interface name of 1-15 letters, digits or _=+.-'),
  'wireguard-key': (t) => {
    try {
      decodeKey(t);
      return undefined;
    } catch (err) {
      return `expected a base64 WireGuard key: ${messageOf(err)}`;
    }
  },
  'wireguard-key-ref': keyRef(decodeKey, 'a base64 private key'),
  'planetary-key-ref': keyRef(parsePlanetaryPrivateKey, 'a 128-hex-digit private key'),
  'peer-uri': (t) => {
    try {
      parsePeerUri(t);
      return undefined;
    } catch (err) {
      return `expected a peering URI such as tcp://host:port: ${messageOf(err)}`;
    }
  },
  'http-url': url(['http', 'https']),
  'ws-url': url(['ws', 'wss', 'http', 'https']),
};
