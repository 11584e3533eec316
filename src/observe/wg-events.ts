// What a WireGuard device's events mean to an operator, as log records: one place that names them, for
// `gridwire wg` and for anything else that runs devices (e.g. `gridwire up node.json`).
import type { Logger } from './log.js';
import type { DeviceEvent, WireGuardDevice } from '../wireguard/device.js';

/** The engine reports peers by hex key; operators know them by wg's base64. */
export const peerKey = (hex: string | undefined) => (hex ? Buffer.from(hex, 'hex').toString('base64') : undefined);

/** The event's kind as metrics and logs name it: expiry is split into its two causes. */
export function eventKind(e: DeviceEvent): string {
  if (e.type === 'endpoint') return 'endpoint_change';
  if (e.type === 'expired') return e.detail === 'handshake gave up' ? 'handshake_gave_up' : 'keys_zeroed';
  return e.type.replace(/-/g, '_');
}

function logEvent(log: Logger, e: DeviceEvent): void {
  const peer = peerKey(e.peer);
  switch (eventKind(e)) {
    case 'handshake':
      return log.info({ event: 'handshake', peer }, 'handshake completed');
    case 'endpoint_change':
      return log.info({ event: 'endpoint_change', peer, endpoint: e.detail }, 'peer endpoint changed');
    case 'handshake_gave_up':
      return log.warn({ event: 'handshake_failed', peer }, 'handshake failed: no answer after retrying');
    case 'keys_zeroed':
      return log.debug({ event: 'keys_zeroed', peer }, 'session keys expired and zeroed');
    case 'interface_gone':
      return log.warn({ event: 'interface_gone' }, 'the TUN interface was deleted');
    default:
      return log.error({ event: e.type, peer, detail: e.detail }, e.detail ?? e.type);
  }
}

/** The events about one peer; 'interface-gone' and 'error' are about the whole device. */
export const PEER_EVENTS = ['handshake', 'endpoint', 'expired'] as const;
const ALL_EVENTS = [...PEER_EVENTS, 'interface-gone', 'error'] as const;

/** Passes the device's events of these types to `listener`; returns the function that stops it. */
export function onDeviceEvents(device: WireGuardDevice, types: readonly (typeof ALL_EVENTS)[number][], listener: (e: DeviceEvent) => void): () => void {
  for (const type of types) device.on(type, listener);
  return () => {
    for (const type of types) device.off(type, listener);
  };
}

/** Logs the device's events under `interface`; returns the function that stops it. */
export function logDeviceEvents(device: WireGuardDevice, logger: Logger, ifname: string): () => void {
  const log = logger.child({ interface: ifname });
  return onDeviceEvents(device, ALL_EVENTS, (e) => logEvent(log, e));
}
