// One WireGuard interface of a node: the device with its TUN, the UAPI socket `wg` talks to, then
// addresses (with the zos 100.64.A.B/16), MTU, and routes (the network's /16, static peers' allowed
// IPs as wg-quick routes them). Fails whole: nothing is left behind when a step goes wrong.
import { exec } from '../net/exec.js';
import type { Keystore } from '../keystore/index.js';
import { WireGuardDevice } from '../wireguard/device.js';
import { UapiServer } from '../wireguard/uapi-server.js';
import { isChainPeer, type WireGuardInterfaceConfig } from './config.js';
import { addRoute, family, interfaceExists } from './ip.js';
import { wireGuardPrivateKey } from './keys.js';
import type { Logger } from './observe-hooks.js';
import { wireguardAddress } from './zos.js';

const DEFAULT_MTU = 1420;

export interface Interface {
  readonly device: WireGuardDevice;
  readonly uapi: UapiServer;
}

export async function startInterface(iface: WireGuardInterfaceConfig, keystore: Keystore, log: Logger): Promise<Interface> {
  if (await interfaceExists(iface.name)) throw new Error(`'${iface.name}' already exists`);
  const routes = routesOf(iface);
  const privateKey = await wireGuardPrivateKey(iface.key, keystore);
  let device: WireGuardDevice;
  try {
    device = WireGuardDevice.create({ name: iface.name, privateKey, listenPort: iface.listenPort ?? 0 });
  } finally {
    privateKey.fill(0);
  }
  let uapi: UapiServer | undefined;
  try {
    uapi = await UapiServer.listen(iface.name, { get: () => device.state(), set: (c) => device.apply(c) });
    const ip = (argv: string[]) => {
      log.debug({ iface: iface.name, argv }, 'ip');
      return exec(argv);
    };
    const addresses = [...(iface.addresses ?? []), ...(iface.network ? [`${wireguardAddress(iface.network.subnet)}/16`] : [])];
    for (const addr of addresses) await ip(['ip', family(addr), 'address', 'add', addr, 'dev', iface.name]);
    await ip(['ip', 'link', 'set', 'mtu', String(iface.mtu ?? DEFAULT_MTU), 'up', 'dev', iface.name]);
    for (const prefix of routes) await addRoute(iface.name, prefix, 'auto', ip);
    log.info({ iface: iface.name, publicKey: device.publicKey, listenPort: device.listenPort, addresses }, 'wireguard interface up');
    return { device, uapi };
  } catch (err) {
    await uapi?.close();
    device.close();
    throw err;
  }
}

function routesOf(iface: WireGuardInterfaceConfig): string[] {
  const staticIps = (iface.peers ?? []).flatMap((p) => (isChainPeer(p) ? [] : (p.allowedIps ?? [])));
  const full = staticIps.find((p) => /\/0$/.test(p));
  if (full) throw new Error(`${iface.name}: allowed IPs ${full} need full-tunnel policy routing, which gridwire does not support yet`);
  return [...new Set([...(iface.network ? [iface.network.ipRange] : []), ...staticIps])];
}
