// Chain lookups: who a twin, node or gateway name is, from the grid proxy, TFChain itself or a local file.
export { ChainResolver, planetaryAddress, type LookupOptions, type ResolverOptions } from './resolver.js';
export { GridProxyBackend } from './gridproxy.js';
export { SubstrateBackend } from './substrate.js';
export { FileBackend, formatRegistry, type RegistryRecords } from './file-backend.js';
export {
  BackendError,
  ChainArgumentError,
  ChainNotFoundError,
  ChainUnavailableError,
  type Failure,
  type FailureKind,
} from './errors.js';
export type {
  Answer,
  BackendKind,
  ChainBackend,
  NameRecord,
  NodeInfo,
  NodeRecord,
  PlanetaryAddress,
  Provenance,
  PublicConfig,
  PublicIp,
  TwinRecord,
} from './types.js';
export { decodeSs58, encodeSs58, Ss58Error, TFCHAIN_SS58_PREFIX } from './ss58.js';
export { blake2_128Concat, twox128, xxhash64 } from './hashing.js';
export { ScaleError, ScaleReader, ScaleWriter } from './scale.js';
export { storageKeys, storagePrefix } from './storage.js';

/** Public endpoints of the main network (zos' production environment). */
export const MAINNET = {
  gridProxy: ['https://gridproxy.grid.tf'],
  substrate: ['wss://tfchain.grid.tf/', 'wss://02.tfchain.grid.tf/', 'wss://03.tfchain.grid.tf/', 'wss://04.tfchain.grid.tf/'],
} as const;
