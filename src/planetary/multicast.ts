// Multicast peer discovery, as yggdrasil 0.5.12 does it (spec §7): on each matching interface a TLS
// listener on the link-local address, advertised by UDP beacons to [ff02::114]:9001; a beacon that
// proves the sender knows our interface password (a BLAKE2b-512 of its key keyed by the password) gets
// a one-shot TLS dial back. Both sides dial, so a pair usually has two links, as with yggdrasil.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { native, type NativePlanetaryEngine, type NativePlanetaryLinkSpec } from '../native/binding.js';
import type { PlanetaryMulticastInterface } from './admin.js';
import type { MulticastInterfaceConfig } from './config.js';

export const MULTICAST_GROUP = 'ff02::114';
export const MULTICAST_PORT = 9001;
export const BEACON_VERSION = { major: 0, minor: 5 } as const;
const BEACON_HEADER = 40;
const MAX_BEACON_INTERVAL_MS = 15_000;

// ---------------------------------------------------------------------------------------------------
// Beacon codec

export interface Beacon {
  readonly major: number;
  readonly minor: number;
  readonly publicKey: Uint8Array;
  /** Port of the sender's TLS listener on the link-local address the beacon came from. */
  readonly port: number;
  readonly hash: Uint8Array;
}

/** What a beacon carries as proof of the password: BLAKE2b-512 keyed by it (unkeyed when empty). */
export function beaconHash(publicKey: Uint8Array, password: string | Uint8Array): Buffer {
  const key = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  return native.crypto.blake2b512(key, publicKey);
}

export function encodeBeacon(publicKey: Uint8Array, port: number, hash: Uint8Array): Buffer {
  if (publicKey.length !== 32) throw new RangeError('beacon key must be 32 bytes');
  const b = Buffer.alloc(BEACON_HEADER + hash.length);
  b.writeUInt16BE(BEACON_VERSION.major, 0);
  b.writeUInt16BE(BEACON_VERSION.minor, 2);
  b.set(publicKey, 4);
  b.writeUInt16BE(port, 36);
  b.writeUInt16BE(hash.length, 38);
  b.set(hash, BEACON_HEADER);
  return b;
}

/**
 * Undefined for anything too short or whose hash length runs past the end (yggdrasil 0.5.12 panics on
 * the latter, or compares stale buffer bytes). Bytes after the hash are ignored, as yggdrasil does.
 */
export function decodeBeacon(data: Uint8Array): Beacon | undefined {
  if (data.length < BEACON_HEADER) return undefined;
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  const hashLength = b.readUInt16BE(38);
  if (BEACON_HEADER + hashLength > b.length) return undefined;
  return {
    major: b.readUInt16BE(0),
    minor: b.readUInt16BE(2),
    publicKey: Uint8Array.from(b.subarray(4, 36)),
    port: b.readUInt16BE(36),
    hash: Uint8Array.from(b.subarray(BEACON_HEADER, BEACON_HEADER + hashLength)),
  };
}

// ---------------------------------------------------------------------------------------------------
// Interfaces

/**
 * The config entry that applies to an interface: the first whose Regex matches (unanchored) among
 * those with Beacon or Listen set. yggdrasil keeps the entries in a map, so when several match it picks
 * one at random; the first is the deterministic reading of the same rule.
 */
export function interfaceConfig(configs: readonly MulticastInterfaceConfig[], name: string): MulticastInterfaceConfig | undefined {
  return configs.find((c) => (c.Beacon || c.Listen) && new RegExp(c.Regex).test(name));
}

export interface SystemInterface {
  readonly name: string;
  readonly index: number;
  /** Link-local unicast IPv6 addresses (fe80::/10), without zone. */
  readonly linkLocal: readonly string[];
}

const IFF_POINTOPOINT = 0x10;
const IFF_MULTICAST = 0x1000;

function interfaceFlags(name: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16);
  } catch {
    return undefined;
  }
}

/**
 * Interfaces that can carry beacons: up and running (os.networkInterfaces lists no others), multicast,
 * not point-to-point. Without a readable sysfs (a namespace entered without remounting /sys) the flags
 * are unknown and the interface is given the benefit of the doubt.
 */
export function systemInterfaces(): SystemInterface[] {
  const out: SystemInterface[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const flags = interfaceFlags(name);
    if (flags !== undefined && (!(flags & IFF_MULTICAST) || flags & IFF_POINTOPOINT)) continue;
    const linkLocal = (addrs ?? []).filter((a) => a.family === 'IPv6' && /^fe[89ab]/i.test(a.address));
    const index = linkLocal[0]?.scopeid;
    if (index === undefined) continue;
    out.push({ name, index, linkLocal: linkLocal.map((a) => a.address.split('%')[0]!) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The discovery loop

export type MulticastEngine = Pick<NativePlanetaryEngine, 'listen' | 'stopListening' | 'dialOnce' | 'snapshot'>;

interface Active {
  readonly iface: SystemInterface;
  readonly config: MulticastInterfaceConfig;
  readonly password: Buffer;
}

interface BeaconListener {
  readonly index: number;
  readonly ip: string;
  readonly uri: string;
  readonly port: number;
  lastBeacon: number;
  intervalMs: number;
}

export interface MulticastOptions {
  /** Non-fatal trouble (a listener that cannot bind yet, a failed send); retried every round. */
  log?: (message: string) => void;
}

// yggdrasil writes the zone of a link URI percent-encoded (Go's url.URL.String), e.g. in getPeers.
const linkUri = (ip: string, zone: string, port: number) => `tls://[${ip}%25${zone}]:${port}`;

export class Multicast {
  private active = new Map<string, Active>();
  private readonly listeners = new Map<string, BeaconListener>();
  private readonly joined = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly engine: MulticastEngine,
    private readonly publicKey: Uint8Array,
    private readonly configs: readonly MulticastInterfaceConfig[],
    private readonly socket: Socket,
    private readonly options: MulticastOptions,
  ) {}

  /** Undefined when no entry has Beacon or Listen set: then, as in yggdrasil, port 9001 is not bound. */
  static async start(
    engine: MulticastEngine,
    publicKey: Uint8Array,
    configs: readonly MulticastInterfaceConfig[],
    options: MulticastOptions = {},
  ): Promise<Multicast | undefined> {
    if (!configs.some((c) => c.Beacon || c.Listen)) return undefined;
    // SO_REUSEADDR, as yggdrasil sets it: every node in a namespace shares the port and each gets the beacons.
    const socket = createSocket({ type: 'udp6', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: MULTICAST_PORT, address: '::' }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const m = new Multicast(engine, publicKey, configs, socket, options);
    socket.on('message', (msg, rinfo) => m.receive(msg, rinfo));
    socket.on('error', (err) => m.log(`multicast socket: ${err.message}`));
    m.announce();
    return m;
  }

  /** For getMulticastInterfaces, sorted by name. */
  interfaces(): PlanetaryMulticastInterface[] {
    return [...this.active.values()]
      .sort((a, b) => (a.iface.name < b.iface.name ? -1 : a.iface.name > b.iface.name ? 1 : 0))
      .map(({ iface, config }) => {
        const l = this.listeners.get(iface.name);
        return {
          name: iface.name,
          address: l ? `[${l.ip}%${iface.name}]:${l.port}` : '',
          beacon: config.Beacon,
          listen: config.Listen,
          hasPassword: config.Password !== '',
        };
      });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const l of this.listeners.values()) this.engine.stopListening(l.uri);
    this.listeners.clear();
    this.socket.close();
  }

  /** One round: re-scan interfaces, fix up memberships and listeners, beacon where due; then re-arm. */
  private announce(): void {
    if (this.closed) return;
    try {
      this.round(Date.now());
    } catch (err) {
      this.log(`multicast: ${(err as Error).message}`);
    }
    // yggdrasil's period, jitter included: 1 s + up to 2^20 µs.
    this.timer = setTimeout(() => this.announce(), 1000 + Math.random() * 1048.576);
  }

  private round(now: number): void {
    const active = new Map<string, Active>();
    for (const iface of systemInterfaces()) {
      const config = interfaceConfig(this.configs, iface.name);
      if (config) active.set(iface.name, { iface, config, password: Buffer.from(config.Password, 'utf8') });
    }
    this.active = active;

    for (const [name, l] of this.listeners) {
      const a = active.get(name);
      if (a && a.config.Beacon && a.iface.index === l.index && a.iface.linkLocal.includes(l.ip)) continue;
      this.engine.stopListening(l.uri);
      this.listeners.delete(name);
    }
    for (const key of this.joined) {
      const [name, index] = key.split('#');
      const a = active.get(name!);
      if (a && a.config.Listen && String(a.iface.index) === index) continue;
      this.joined.delete(key);
      try {
        this.socket.dropMembership(MULTICAST_GROUP, `::%${name}`);
      } catch {
        // The kernel dropped it with the interface.
      }
    }

    for (const a of active.values()) {
      const ip = a.iface.linkLocal[0];
      if (ip === undefined) continue;
      if (a.config.Listen) this.join(a.iface);
      if (a.config.Beacon) this.beacon(a, ip, now);
    }
  }

  private join(iface: SystemInterface): void {
    const key = `${iface.name}#${iface.index}`;
    if (this.joined.has(key)) return;
    try {
      this.socket.addMembership(MULTICAST_GROUP, `::%${iface.name}`);
      this.joined.add(key);
    } catch (err) {
      // Still a member from before the interface bounced.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') this.joined.add(key);
      else this.log(`cannot join ${MULTICAST_GROUP} on ${iface.name}: ${(err as Error).message}`);
    }
  }

  private beacon(a: Active, ip: string, now: number): void {
    const { iface, config } = a;
    let l = this.listeners.get(iface.name);
    if (!l) {
      const uri = linkUri(ip, iface.name, config.Port);
      let port: number;
      try {
        port = this.engine.listen({
          uri,
          address: `[${ip}%${iface.index}]:${config.Port}`,
          tls: true,
          password: a.password,
          priority: config.Priority,
          multicast: true,
        });
      } catch (err) {
        // e.g. the address is still tentative (DAD); yggdrasil retries every round too.
        this.log(`not multicasting on ${iface.name}: ${(err as Error).message}`);
        return;
      }
      l = { index: iface.index, ip, uri, port, lastBeacon: now, intervalMs: 0 };
      this.listeners.set(iface.name, l);
    }
    if (now - l.lastBeacon < l.intervalMs) return;
    const msg = encodeBeacon(this.publicKey, l.port, beaconHash(this.publicKey, a.password));
    this.socket.send(msg, MULTICAST_PORT, `${MULTICAST_GROUP}%${iface.name}`, (err) => {
      if (err) this.log(`beacon on ${iface.name}: ${err.message}`);
    });
    // Back off from every round to every 15 s, as yggdrasil does; it never resets.
    l.intervalMs = Math.min(l.intervalMs + 1000, MAX_BEACON_INTERVAL_MS);
    l.lastBeacon = now;
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    // Node appends the zone (the interface name) to link-local sources only, so others are dropped here.
    const [ip, zone] = rinfo.address.split('%');
    const a = zone === undefined ? undefined : this.active.get(zone);
    if (!a || !a.config.Listen || ip === undefined) return;
    const beacon = decodeBeacon(msg);
    if (!beacon || beacon.major !== BEACON_VERSION.major || beacon.minor !== BEACON_VERSION.minor) return;
    if (Buffer.from(beacon.publicKey).equals(this.publicKey)) return;
    // The sender proves it knows our password for this interface; a mismatch is silently ignored.
    if (!beaconHash(beacon.publicKey, a.password).equals(beacon.hash)) return;
    const uri = linkUri(ip, a.iface.name, beacon.port);
    // yggdrasil refuses a second link under the same URI ("peer is already configured") while one lives.
    if (this.engine.snapshot().peers.some((p) => !p.inbound && p.uri === uri)) return;
    const spec: NativePlanetaryLinkSpec = {
      uri,
      address: `[${ip}%${a.iface.index}]:${beacon.port}`,
      tls: true,
      password: a.password,
      priority: a.config.Priority,
      pinnedKeys: [beacon.publicKey],
      multicast: true,
      // As yggdrasil's CallPeer(u, iface): the link leaves through the interface the beacon came in on.
      sourceInterface: a.iface.name,
    };
    this.engine.dialOnce(spec);
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}
