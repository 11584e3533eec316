// Runs a node.json in this process: every WireGuard interface (TUN, UAPI socket so `wg` works,
// addresses and routes), the planetary node, and the chain refresh loop that re-resolves named peers
// and applies only the difference (plan.ts). stop() undoes it all; deleting the TUNs takes their
// addresses and routes with them.
import { EventEmitter } from 'node:events';
import type { ChainResolver } from '../chain/index.js';
import type { Keystore } from '../keystore/index.js';
import { PlanetaryNode } from '../planetary/node.js';
import type { NodeConfig, WireGuardInterfaceConfig } from './config.js';
import { desiredState, EMPTY_STATE, type PeerState, type Resolved } from './desired.js';
import { startInterface, type Interface } from './interface.js';
import type { ObserveHooks } from './observe-hooks.js';
import { planetaryConfig } from './planetary.js';
import { applied, plan, type Change } from './plan.js';
import { chainPeerEntries, chainResolver, DEFAULT_REFRESH_SECONDS, lookupPeers, resolveEndpoints } from './resolve.js';

export interface RunnerOptions {
  /** Directory of node.json: relative paths in it are relative to this. */
  readonly baseDir: string;
  readonly keystore: Keystore;
  readonly hooks: ObserveHooks;
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
    const started = await startInterface(iface, this.options.keystore, this.log);
    this.interfaces.set(iface.name, started);
    started.device.once('interface-gone', () => this.stopped || this.emit('gone', `${iface.name} was deleted`));
    this.options.hooks.addWireGuard(iface.name, started.device);
  }

  private async startPlanetary(): Promise<void> {
    const config = await planetaryConfig(this.config.planetary!, this.options.baseDir, this.options.keystore, this.log);
    try {
      this.planetary = await PlanetaryNode.start(config);
    } finally {
      config.PrivateKey.fill(0);
    }
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
