// The answers the chain lookups give, in one normalised form whichever backend produced them: no empty
// strings or nulls (absent is undefined), keys as lower-case 0x-hex, relays as a de-duplicated list.

export type BackendKind = 'grid-proxy' | 'substrate' | 'file';

export interface TwinRecord {
  readonly twinId: number;
  /** SS58, network prefix 42, as the grid proxy and polkadot.js print it. */
  readonly accountId: string;
  /** The same 32 bytes as 0x-hex; for a node twin this is the node's ed25519 identity key. */
  readonly accountKey: string;
  /** RMB relay domains (the chain joins them with `_`); empty when the twin never ran an RMB peer. */
  readonly relays: readonly string[];
  /** RMB end-to-end key (compressed secp256k1 in practice) as 0x-hex. */
  readonly publicKey?: string;
}

/** A node's own public addresses as the farmer registered them: IPs in CIDR form, gateways bare. */
export interface PublicConfig {
  readonly ipv4?: string;
  readonly gw4?: string;
  readonly ipv6?: string;
  readonly gw6?: string;
  readonly domain?: string;
}

export interface NodeRecord {
  readonly nodeId: number;
  readonly twinId: number;
  readonly farmId: number;
  readonly publicConfig?: PublicConfig;
}

/** An active (Created or GracePeriod) name contract. */
export interface NameRecord {
  readonly name: string;
  readonly contractId: number;
  readonly twinId: number;
  readonly state: 'Created' | 'GracePeriod';
}

/** A farm IPv4 that can be rented; contractId 0 means free. */
export interface PublicIp {
  readonly ip: string;
  readonly gateway: string;
  readonly contractId: number;
  readonly farmId: number;
}

/**
 * One source of chain data. Methods resolve to undefined for a definitive "no such record" and throw
 * BackendError for anything else; they must honour the signal (the resolver's timeout).
 */
export interface ChainBackend {
  readonly kind: BackendKind;
  /** URL or path, for provenance and error messages. */
  readonly endpoint: string;
  twin(twinId: number, signal: AbortSignal): Promise<TwinRecord | undefined>;
  node(nodeId: number, signal: AbortSignal): Promise<NodeRecord | undefined>;
  nodeIdOfTwin(twinId: number, signal: AbortSignal): Promise<number | undefined>;
  name(name: string, signal: AbortSignal): Promise<NameRecord | undefined>;
  /** Undefined when the backend knows the farm does not exist; the grid proxy cannot tell, so it gives []. */
  farmPublicIps(farmId: number, signal: AbortSignal): Promise<readonly PublicIp[] | undefined>;
  gateways(signal: AbortSignal): Promise<readonly NodeRecord[]>;
}

export interface Provenance {
  readonly backend: BackendKind;
  readonly endpoint: string;
  /** When the backend produced the data (ms since the epoch), not when it was served. */
  readonly fetchedAt: number;
  readonly cached: boolean;
  /** Set when the data outlived its TTL and was served because every backend failed; says why. */
  readonly staleBecause?: string;
}

export interface Answer<T> {
  readonly value: T;
  readonly provenance: Provenance;
}

export interface PlanetaryAddress {
  readonly address: string;
  readonly subnet: string;
}

export interface NodeInfo extends NodeRecord {
  /** The node's twin, looked up after the node (and cached on its own). */
  readonly twin?: Answer<TwinRecord>;
  /** Why `twin` is missing, when it is. */
  readonly twinError?: string;
  /** Yggdrasil address and /64 of the twin's account key, which for a zos node is its ed25519 identity. */
  readonly planetary?: PlanetaryAddress;
}
