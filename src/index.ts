// Public API of gridwire for embedding from Node.
export * as keys from './keys/index.js';
export { native } from './native/binding.js';
export {
  WireGuardDevice,
  type DeviceEvent,
  type DeviceOptions,
  type Key,
  type PeerConfig,
  type PeerStats,
} from './wireguard/device.js';
export { UapiError, type DeviceChange, type DeviceState, type PeerChange } from './wireguard/uapi.js';
export { PlanetaryNode, startPlanetaryNode, type PlanetaryNodeOptions } from './planetary/node.js';
export {
  generatePlanetaryConfig,
  parsePlanetaryConfig,
  type PlanetaryConfig,
} from './planetary/config.js';
