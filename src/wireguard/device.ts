// WireGuardDevice: the embeddable, typed face of one WireGuard interface. Configuration changes are
// validated here and applied to the native engine atomically; packets never come up to JavaScript.
import { EventEmitter } from 'node:events';
import { native, type NativeWgEngine, type NativeWgEvent } from '../native/binding.js';
import { formatPrefix, parsePrefix, type Prefix } from '../net/prefix.js';
import { decodeKey, publicKey as derivePublicKey } from '../keys/index.js';
import { EINVAL, UapiError, type DeviceChange, type DeviceState, type PeerChange } from './uapi.js';

export type Key = Uint8Array | string;

export interface PeerConfig {
  publicKey: Key;
  presharedKey?: Key | null;
  /** Numeric `ip:port` or `[ipv6]:port`. */
  endpoint?: string;
  persistentKeepalive?: number;
  /** Prefixes such as `10.0.0.2/32`; replaces the peer's list when given. */
  allowedIps?: string[];
}

export interface DeviceOptions {
  /** Name of the TUN interface to create; without it the device runs without a TUN. */
  name?: string;
  mtu?: number;
  privateKey?: Key;
  listenPort?: number;
  fwmark?: number;
  peers?: PeerConfig[];
  /** Test hook: divides gridwire's own protocol timers (REKEY_AFTER_TIME and friends). */
  timeScale?: number;
}

export interface PeerStats {
  publicKey: string;
  endpoint: string | null;
  lastHandshake: Date | null;
  /** Wire bytes of every message, handshakes included (as wg show reports them). */
  rxBytes: number;
  txBytes: number;
  /** Data packets: transport messages carrying an inner IP packet. */
  rxPackets: number;
  txPackets: number;
  /** Transport messages carrying no inner packet; in neither packet count. */
  rxKeepalives: number;
  txKeepalives: number;
  handshakes: number;
  persistentKeepalive: number;
  allowedIps: string[];
}

export type DeviceEvent = NativeWgEvent;

const toKey = (k: Key): Uint8Array => (typeof k === 'string' ? decodeKey(k) : k);
const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function prefixOrThrow(text: string): Prefix {
  const p = parsePrefix(text);
  if (!p) throw new UapiError(EINVAL, `'${text}' is not an IP prefix`);
  return p;
}

/**
 * Events: 'handshake' (peer), 'endpoint' (peer, detail = new endpoint), 'expired' (peer),
 * 'interface-gone' (the TUN was deleted), 'error' (detail).
 */
export class WireGuardDevice extends EventEmitter {
  private readonly engine: NativeWgEngine;
  private closed = false;

  private constructor(readonly name: string | undefined, options: DeviceOptions) {
    super();
    this.engine = new native.WgEngine({
      ...(options.name !== undefined && { tunName: options.name }),
      ...(options.mtu !== undefined && { mtu: options.mtu }),
      ...(options.timeScale !== undefined && { timeScale: options.timeScale }),
      onEvent: (e) => this.emit(e.type, e),
    });
  }

  static create(options: DeviceOptions = {}): WireGuardDevice {
    const dev = new WireGuardDevice(options.name, options);
    try {
      dev.apply({
        ...(options.privateKey !== undefined && { privateKey: toKey(options.privateKey) }),
        listenPort: options.listenPort ?? 0,
        ...(options.fwmark !== undefined && { fwmark: options.fwmark }),
        replacePeers: false,
        peers: (options.peers ?? []).map((p) => WireGuardDevice.peerChange(p)),
      });
    } catch (err) {
      dev.close();
      throw err;
    }
    return dev;
  }

  private static peerChange(p: PeerConfig, remove = false): PeerChange {
    return {
      publicKey: toKey(p.publicKey),
      remove,
      updateOnly: false,
      ...(p.presharedKey !== undefined && { presharedKey: p.presharedKey === null ? null : toKey(p.presharedKey) }),
      ...(p.endpoint !== undefined && { endpoint: p.endpoint }),
      ...(p.persistentKeepalive !== undefined && { persistentKeepalive: p.persistentKeepalive }),
      replaceAllowedIps: p.allowedIps !== undefined,
      addAllowedIps: (p.allowedIps ?? []).map(prefixOrThrow),
      removeAllowedIps: [],
    };
  }

  /** Applies a whole change atomically (the UAPI `set` path); throws UapiError having changed nothing. */
  apply(change: DeviceChange): void {
    this.assertOpen();
    // The engine validates the whole change (endpoints included) before touching anything, and ignores
    // a section naming the device's own key, as wireguard-go does.
    try {
      this.engine.configure(change);
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      throw new UapiError(typeof errno === 'number' ? errno : EINVAL, (err as Error).message);
    }
  }

  setPrivateKey(key: Key | null): void {
    this.apply({ privateKey: key === null ? null : toKey(key), replacePeers: false, peers: [] });
  }

  setListenPort(port: number): void {
    this.apply({ listenPort: port, replacePeers: false, peers: [] });
  }

  /** Adds the peer, or updates the fields given for an existing one. */
  setPeer(peer: PeerConfig): void {
    this.apply({ replacePeers: false, peers: [WireGuardDevice.peerChange(peer)] });
  }

  removePeer(publicKey: Key): void {
    this.apply({ replacePeers: false, peers: [WireGuardDevice.peerChange({ publicKey }, true)] });
  }

  get publicKey(): string | null {
    const k = this.engine.privateKey();
    return k ? base64(derivePublicKey(k)) : null;
  }

  get listenPort(): number {
    return this.engine.listenPort();
  }

  peers(): PeerStats[] {
    return this.engine.peers().map((p) => ({
      publicKey: base64(p.publicKey),
      endpoint: p.endpoint,
      lastHandshake: p.lastHandshakeSec ? new Date(p.lastHandshakeSec * 1000 + Math.floor(p.lastHandshakeNsec / 1e6)) : null,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      rxPackets: p.rxPackets,
      txPackets: p.txPackets,
      rxKeepalives: p.rxKeepalives,
      txKeepalives: p.txKeepalives,
      handshakes: p.handshakes,
      persistentKeepalive: p.persistentKeepalive,
      allowedIps: p.allowedIps.map(formatPrefix),
    }));
  }

  /** Device-wide counters, e.g. drops by reason. */
  counters(): Record<string, number> {
    return this.engine.counters();
  }

  /** The state a UAPI `get` reports. */
  state(): DeviceState {
    return {
      privateKey: this.engine.privateKey(),
      listenPort: this.engine.listenPort(),
      fwmark: this.engine.fwmark(),
      peers: this.engine.peers().map((p) => ({
        publicKey: p.publicKey,
        presharedKey: p.presharedKey,
        endpoint: p.endpoint,
        lastHandshakeSec: p.lastHandshakeSec,
        lastHandshakeNsec: p.lastHandshakeNsec,
        txBytes: p.txBytes,
        rxBytes: p.rxBytes,
        persistentKeepalive: p.persistentKeepalive,
        allowedIps: p.allowedIps.map(formatPrefix),
      })),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('WireGuardDevice is closed');
  }
}
