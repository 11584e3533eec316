// Runs a node.json in this process: every WireGuard interface (TUN, UAPI socket so `wg` works,
// addresses and routes), the planetary node, and the chain refresh loop that re-resolves named peers
// and applies only the difference (plan.ts). stop() undoes it all; deleting the TUNs takes their
// addresses and routes with them.
import { EventEmitter } from 'node:events';
import type { ChainResolver } from '../chain/index.js';
import type { Keystore } from '../keystore/index.js';
import { generatePlanetaryConfig, loadPlanetaryConfigFile, validatePlanetaryConfig, type PlanetaryConfig } from '../planetary/config.js';
import { PlanetaryNode } from '../planetary/node.js';
import { WireGuardDevice } from '../wireguard/device.js';
import { UapiServer } from '../wireguard/uapi-server.js';
import { exec } from '../cli/down.js';
import { resolve as resolvePath } from 'node:path';
import type { NodeConfig, WireGuardInterfaceConfig } from './config.js';
import { isChainPeer } from './config.js';
import { desiredState, EMPTY_STATE, type PeerState, type Resolved } from './desired.js';
import { addRoute, family, interfaceExists } from './ip.js';
import { planetaryPrivateKey, wireGuardPrivateKey } from './keys.js';
import type { ObserveHooks } from './observe-hooks.js';
import { applied, plan, type Change } from './plan.js';
import { chainPeerEntries, chainResolver, DEFAULT_REFRESH_SECONDS, lookupPeers, resolveEndpoints } from './resolve.js';
import { wireguardAddress } from './zos.js';

const DEFAULT_MTU = 1420;

export interface RunnerOptions {
  /** Directory of node.json: relative paths in it are relative to this. */
  readonly baseDir: string;
  readonly keystore: Keystore;
  readonly hooks: ObserveHooks;
}

interface Interface {
  readonly device: WireGuardDevice;
  readonly uapi: UapiServer;
}

/** Events: 'gone' (reason) when an interface or the planetary TUN disappears under us. */
export class NodeRunner extends EventEmitter {
  private readonly interfaces = new Map<string, Interface>();
  private planetary: PlanetaryNode | undefined;
  private current: PeerState = EMPTY_STATE;
  private resolver: ChainResolver | undefined;
  private endpoints = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<Change[]> | undefined;
  private stopped = false;

  private constructor(
    private readonly config: NodeConfig,
    private readonly options: RunnerOptions,
  ) {
    super();
  }

  static async start(config: NodeConfig, options: RunnerOptions): Promise<NodeRunner> {
    const runner = new NodeRunner(config, options);
    try {
      await runner.open();
    } catch (err) {
      await runner.stop();
      throw err;
    }
    return runner;
  }

  private get log() {
    return this.options.hooks.log;
  }

  private async open(): Promise<void> {
    this.endpoints = await resolveEndpoints(this.config);
    if (chainPeerEntries(this.config).length) this.resolver = chainResolver(this.config, this.options.baseDir);
    for (const iface of this.config.wireguard ?? []) await this.startInterface(iface);
    if (this.config.planetary) await this.startPlanetary();
    await this.refresh(false);
    if (this.resolver) {
      const seconds = this.config.chain?.refreshSeconds ?? DEFAULT_REFRESH_SECONDS;
      this.timer = setInterval(() => {
        this.refresh(true).catch((err: Error) => this.log.error({ error: err.message }, 'refresh failed'));
      }, seconds * 1000);
    }
  }

  private async startInterface(iface: WireGuardInterfaceConfig): Promise<void> {
    if (await interfaceExists(iface.name)) throw new Error(`'${iface.name}' already exists`);
    const privateKey = await wireGuardPrivateKey(iface.key, this.options.keystore);
    let device: WireGuardDevice;
    try {
      device = WireGuardDevice.create({ name: iface.name, privateKey, listenPort: iface.listenPort ?? 0 });
    } finally {
      privateKey.fill(0);
    }
    let uapi: UapiServer;
    try {
      uapi = await UapiServer.listen(iface.name, { get: () => device.state(), set: (c) => device.apply(c) });
    } catch (err) {
      device.close();
      throw err;
    }
    this.interfaces.set(iface.name, { device, uapi });
    device.once('interface-gone', () => this.stopped || this.emit('gone', `${iface.name} was deleted`));
    this.options.hooks.addWireGuard(iface.name, device);
    const ip = async (argv: string[]) => {
      this.log.debug({ iface: iface.name, argv }, 'ip');
      return exec(argv);
    };
    const addresses = [...(iface.addresses ?? []), ...(iface.network ? [`${wireguardAddress(iface.network.subnet)}/16`] : [])];
    for (const addr of addresses) await ip(['ip', family(addr), 'address', 'add', addr, 'dev', iface.name]);
    await ip(['ip', 'link', 'set', 'mtu', String(iface.mtu ?? DEFAULT_MTU), 'up', 'dev', iface.name]);
    for (const prefix of routesOf(iface)) await addRoute(iface.name, prefix, 'auto', ip);
    this.log.info({ iface: iface.name, publicKey: device.publicKey, listenPort: device.listenPort, addresses }, 'wireguard interface up');
  }

  private async startPlanetary(): Promise<void> {
    const section = this.config.planetary!;
    let config: PlanetaryConfig;
    if (section.config !== undefined) {
      const loaded = loadPlanetaryConfigFile(resolvePath(this.options.baseDir, section.config));
      for (const warning of loaded.warnings) this.log.warn({ file: section.config }, warning);
      config = loaded.config;
    } else {
      // Peers come from node.json through plan(); multicast discovery is off unless a config file asks.
      config = {
        ...generatePlanetaryConfig(await planetaryPrivateKey(section.key!, this.options.keystore)),
        Listen: section.listen ?? [],
        IfName: section.ifName ?? 'auto',
        AdminListen: section.adminListen ?? 'none',
        MulticastInterfaces: [],
      };
    }
    validatePlanetaryConfig(config);
    this.planetary = await PlanetaryNode.start(config);
    config.PrivateKey.fill(0);
    this.planetary.once('interface-gone', () => this.stopped || this.emit('gone', 'the planetary TUN was deleted'));
    this.options.hooks.setPlanetary(this.planetary);
    this.log.info({ address: this.planetary.address, tun: this.planetary.tun() }, 'planetary node up');
  }

  /** Re-resolves chain-named peers and applies what changed; concurrent calls share one run. */
  refresh(fresh = true): Promise<Change[]> {
    this.refreshing ??= this.refreshOnce(fresh).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshOnce(fresh: boolean): Promise<Change[]> {
    const lookups = this.resolver ? await lookupPeers(this.config, this.resolver, fresh) : new Map();
    for (const [source, l] of lookups) {
      if ('error' in l) this.log.warn({ source, error: l.error }, 'chain lookup failed; keeping the peer as it was');
      if ('missing' in l) this.log.debug({ source }, 'not on the chain; no peer');
    }
    const resolved: Resolved = { lookups, endpoints: this.endpoints };
    const changes = plan(desiredState(this.config, resolved, this.current), this.current);
    const done: Change[] = [];
    for (const change of changes) {
      if (this.stopped) break;
      try {
        await this.apply(change);
        this.current = applied(this.current, [change]);
        done.push(change);
        this.log.info(describe(change), change.kind);
      } catch (err) {
        // Left out of `current`, so the next refresh tries again.
        this.log.error({ ...describe(change), error: (err as Error).message }, `${change.kind} failed`);
      }
    }
    return done;
  }

  private async apply(c: Change): Promise<void> {
    switch (c.kind) {
      case 'planetary-add':
        return this.planetary!.addPeer(c.uri, '');
      case 'planetary-remove':
        return this.planetary!.removePeer(c.uri, '');
      case 'wireguard-remove':
        return this.interfaces.get(c.iface)!.device.removePeer(c.peer.publicKey);
      default: {
        const p = c.peer;
        const all = c.kind === 'wireguard-add';
        const has = (f: string) => all || c.fields.includes(f as never);
        this.interfaces.get(c.iface)!.device.setPeer({
          publicKey: p.publicKey,
          ...(has('endpoint') && p.endpoint !== undefined && { endpoint: p.endpoint }),
          ...(has('allowedIps') && { allowedIps: [...p.allowedIps] }),
          ...(has('persistentKeepalive') && { persistentKeepalive: p.persistentKeepalive ?? 0 }),
          ...(has('presharedKey') && { presharedKey: p.presharedKey ?? null }),
        });
      }
    }
  }

  /** The peers as last applied, for tests and status displays. */
  get state(): PeerState {
    return this.current;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.refreshing?.catch(() => undefined);
    if (this.planetary) {
      this.options.hooks.setPlanetary(undefined);
      await this.planetary.close();
      this.planetary = undefined;
    }
    for (const [name, { device, uapi }] of this.interfaces) {
      this.options.hooks.removeWireGuard(name);
      await uapi.close();
      device.close();
      this.log.info({ iface: name }, 'wireguard interface down');
    }
    this.interfaces.clear();
  }
}

/** The /16 of a zos network, and what static peers are allowed, as wg-quick routes them. */
function routesOf(iface: WireGuardInterfaceConfig): string[] {
  const staticIps = (iface.peers ?? []).flatMap((p) => (isChainPeer(p) ? [] : (p.allowedIps ?? [])));
  const full = staticIps.find((p) => /\/0$/.test(p));
  if (full) throw new Error(`${iface.name}: allowed IPs ${full} need full-tunnel policy routing, which gridwire does not support yet`);
  return [...new Set([...(iface.network ? [iface.network.ipRange] : []), ...staticIps])];
}

function describe(c: Change): Record<string, unknown> {
  if (c.kind === 'planetary-add' || c.kind === 'planetary-remove') return { uri: c.uri };
  return {
    iface: c.iface,
    publicKey: c.peer.publicKey,
    source: c.peer.source,
    ...(c.peer.endpoint && { endpoint: c.peer.endpoint }),
    ...(c.kind === 'wireguard-update' && { fields: c.fields }),
  };
}
