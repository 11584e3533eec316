// Peering URIs as yggdrasil 0.5.12 reads them in Peers, InterfacePeers, Listen and admin addPeer
// (spec §3.1): `scheme://host:port` plus query options. Only the transports gridwire speaks pass;
// the other transports yggdrasil knows are recognised by name (a config skips them with a warning, the
// admin socket refuses them), so a config written for yggdrasil still starts.

export type PeerScheme = 'tcp' | 'tls';

/** Schemes yggdrasil 0.5.12 knows and gridwire does not speak yet. */
const NOT_YET_SUPPORTED = new Set(['quic', 'ws', 'wss', 'unix', 'socks', 'sockstls']);

/** The scheme of a URI on a transport yggdrasil 0.5.12 speaks and gridwire does not yet; else undefined. */
export function unsupportedTransport(text: string): string | undefined {
  const scheme = /^([a-z]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  return scheme !== undefined && NOT_YET_SUPPORTED.has(scheme) ? scheme : undefined;
}

export interface PeerUri {
  readonly scheme: PeerScheme;
  /** Host name or IP literal without brackets; an IPv6 zone (`%eth0`) is kept. */
  readonly host: string;
  readonly port: number;
  /** Pinned remote keys (`key=`, repeatable), 32 bytes each. Empty: any key. */
  readonly pinnedKeys: readonly Uint8Array[];
  /** `priority=`; 0 when absent (lower is preferred). */
  readonly priority: number;
  /** `password=` as UTF-8 bytes (empty when absent). */
  readonly password: Uint8Array;
  /** `maxbackoff=` in milliseconds, undefined for yggdrasil's default (4096 s). */
  readonly maxBackoffMs: number | undefined;
  /** `sni=` (tls only; ignored by yggdrasil when it is an IP literal). */
  readonly sni: string | undefined;
  /** The URI without its query: what yggdrasil shows as a peer's `remote` and keys its link table by. */
  readonly withoutQuery: string;
}

export class PeerUriError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerUriError';
  }
}

export const DEFAULT_MAX_BACKOFF_MS = 4096_000;
const MIN_MAX_BACKOFF_MS = 30_000;
const MAX_PASSWORD_BYTES = 64;

/** Parses one peering URI; errors use yggdrasil's wording where it has one (e.g. `priority value is invalid`). */
export function parsePeerUri(text: string): PeerUri {
  const { url, zone } = parseUrl(text);
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (NOT_YET_SUPPORTED.has(scheme)) throw new PeerUriError(`${scheme}:// peering is not supported yet (only tcp:// and tls://)`);
  if (scheme !== 'tcp' && scheme !== 'tls') throw new PeerUriError(`link schema unknown: '${scheme}'`);
  const { host, port } = hostAndPort(url, text);
  const query = url.searchParams;
  const hostText = zone === undefined ? url.host : url.host.replace(']', `%25${zone}]`);
  return {
    scheme,
    host: zone === undefined ? host : `${host}%${zone}`,
    port,
    pinnedKeys: query.getAll('key').map(pinnedKey),
    priority: priority(query.get('priority')),
    password: password(query.get('password')),
    maxBackoffMs: maxBackoff(query.get('maxbackoff')),
    sni: query.get('sni') || undefined,
    withoutQuery: `${scheme}://${hostText}${url.pathname}`,
  };
}

// WHATWG URLs reject IPv6 zones (`[fe80::1%25eth0]`), which Go accepts and link-local peers need.
const ZONE = /^([a-z][a-z0-9+.-]*:\/\/\[[^\]%]*)%(?:25)?([^\]]+)\]/i;

function parseUrl(text: string): { url: URL; zone: string | undefined } {
  const zone = ZONE.exec(text);
  try {
    if (!zone) return { url: new URL(text), zone: undefined };
    return { url: new URL(text.replace(ZONE, '$1]')), zone: decodeURIComponent(zone[2]!) };
  } catch {
    // Go's url.Parse wording, which yggdrasil passes on.
    const badEscape = /%(?![0-9a-fA-F]{2})/.exec(text);
    const why = badEscape ? `invalid URL escape ${JSON.stringify(text.slice(badEscape.index, badEscape.index + 3))}` : 'invalid URL';
    throw new PeerUriError(`parse ${JSON.stringify(text)}: ${why}`);
  }
}

function hostAndPort(url: URL, text: string): { host: string; port: number } {
  // Non-special schemes keep the host opaque: brackets stay on IPv6 literals and the port is not checked.
  const host = decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (host === '') throw new PeerUriError(`peering URI '${text}' has no host`);
  if (url.port === '') throw new PeerUriError(`peering URI '${text}' has no port (missing port in address)`);
  const port = Number(url.port);
  if (!Number.isInteger(port) || port > 65535) throw new PeerUriError(`peering URI '${text}' has an invalid port`);
  return { host, port };
}

function pinnedKey(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new PeerUriError(`pinned public key is invalid: '${hex}' (expected 64 hex digits)`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function priority(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^\d+$/.test(text) || Number(text) > 255) throw new PeerUriError(`priority value is invalid: '${text}' (0..255)`);
  return Number(text);
}

function password(text: string | null): Uint8Array {
  const bytes = new TextEncoder().encode(text ?? '');
  if (bytes.length > MAX_PASSWORD_BYTES) throw new PeerUriError(`invalid password supplied: longer than ${MAX_PASSWORD_BYTES} bytes`);
  return bytes;
}

function maxBackoff(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  const ms = parseGoDuration(text);
  if (ms === undefined || ms < MIN_MAX_BACKOFF_MS) {
    throw new PeerUriError(`max backoff duration invalid: '${text}' (a Go duration of at least 30s, e.g. 5m)`);
  }
  return ms;
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** Go's time.ParseDuration (e.g. `1h8m16s`, `1.5m`), in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const [, value, unit] of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(value) * DURATION_UNITS_MS[unit!]!;
  }
  return m[1] === '-' ? -total : total;
}
