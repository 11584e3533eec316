// TFChain storage keys: twox128(pallet) ‖ twox128(item) ‖ Blake2_128Concat(SCALE(key)), as the runtime
// lays out every map this resolver reads.
import { bytesToHex } from '@noble/hashes/utils.js';
import { blake2_128Concat, twox128 } from './hashing.js';
import { ScaleWriter } from './scale.js';

/** twox128(pallet) ‖ twox128(item): the prefix every entry of a storage item shares. */
export function storagePrefix(pallet: string, item: string): Uint8Array {
  const out = new Uint8Array(32);
  out.set(twox128(pallet));
  out.set(twox128(item), 16);
  return out;
}

function mapKey(pallet: string, item: string, encodedKey: Uint8Array): string {
  return `0x${bytesToHex(storagePrefix(pallet, item))}${bytesToHex(blake2_128Concat(encodedKey))}`;
}

const u32 = (n: number): Uint8Array => new ScaleWriter().u32(n).bytes();
const u64 = (n: number | bigint): Uint8Array => new ScaleWriter().u64(n).bytes();

/** The hex storage keys (`0x…`) that state_getStorage takes. */
export const storageKeys = {
  twin: (twinId: number) => mapKey('TfgridModule', 'Twins', u32(twinId)),
  twinIdByAccount: (accountKey: Uint8Array) => mapKey('TfgridModule', 'TwinIdByAccountID', accountKey),
  node: (nodeId: number) => mapKey('TfgridModule', 'Nodes', u32(nodeId)),
  nodeIdByTwin: (twinId: number) => mapKey('TfgridModule', 'NodeIdByTwinID', u32(twinId)),
  farm: (farmId: number) => mapKey('TfgridModule', 'Farms', u32(farmId)),
  contract: (contractId: number | bigint) => mapKey('SmartContractModule', 'Contracts', u64(contractId)),
  contractIdByName: (name: string) =>
    mapKey('SmartContractModule', 'ContractIDByNameRegistration', new ScaleWriter().vecU8(name).bytes()),
};
