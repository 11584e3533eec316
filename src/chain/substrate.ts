// TFChain read directly: Substrate JSON-RPC `state_getStorage` over HTTP (the RPC port serves HTTP and
// WebSocket alike, so ws(s):// endpoints are called as http(s)://). Authoritative, unlike the proxy, at
// the price of SCALE decoding and one round trip per storage item.
import { hexToBytes } from '@noble/hashes/utils.js';
import { BackendError, malformed } from './errors.js';
import { excerpt, httpRequest, parseJson } from './http.js';
import { asObject } from './records.js';
import { storageKeys } from './storage.js';
import { decodeContract, decodeFarm, decodeId, decodeNode, decodeTwin } from './tfchain.js';
import type { ChainBackend, NameRecord, NodeRecord, PublicIp, TwinRecord } from './types.js';

export class SubstrateBackend implements ChainBackend {
  readonly kind = 'substrate';
  readonly endpoint: string;
  private nextId = 1;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`substrate URL is not a URL: ${url}`);
    }
    const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[parsed.protocol];
    if (!scheme) throw new TypeError(`substrate URL must be ws(s) or http(s): ${url}`);
    this.endpoint = `${scheme}${parsed.href.slice(parsed.protocol.length)}`;
  }

  /** The SCALE bytes at `key`, or undefined where the chain has none. */
  async storage(key: string, what: string, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'state_getStorage', params: [key] });
    const { status, text } = await httpRequest(
      this.endpoint,
      { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json' } },
      signal,
    );
    if (status < 200 || status > 299) throw new BackendError('http', `state_getStorage ${what}: HTTP ${status} ${excerpt(text)}`.trim());
    const reply = asObject(parseJson(text, `state_getStorage ${what} reply`), `state_getStorage ${what} reply`);
    if (reply.id !== id) throw malformed(`state_getStorage ${what}: reply id ${JSON.stringify(reply.id)}, expected ${id}`);
    if (reply.error !== undefined) {
      const error = reply.error as { code?: unknown; message?: unknown } | null;
      throw new BackendError('rpc', `state_getStorage ${what}: RPC error ${String(error?.code)}: ${excerpt(String(error?.message))}`);
    }
    if (reply.result === null) return undefined;
    if (typeof reply.result !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(reply.result)) {
      throw malformed(`state_getStorage ${what}: result is not 0x-hex`);
    }
    return hexToBytes(reply.result.slice(2));
  }

  async twin(twinId: number, signal: AbortSignal): Promise<TwinRecord | undefined> {
    const what = `Twins(${twinId})`;
    const bytes = await this.storage(storageKeys.twin(twinId), what, signal);
    if (!bytes) return undefined;
    const twin = decodeTwin(bytes, what);
    if (twin.twinId !== twinId) throw malformed(`${what} holds twin ${twin.twinId}`);
    return twin;
  }

  async node(nodeId: number, signal: AbortSignal): Promise<NodeRecord | undefined> {
    const what = `Nodes(${nodeId})`;
    const bytes = await this.storage(storageKeys.node(nodeId), what, signal);
    if (!bytes) return undefined;
    const node = decodeNode(bytes, what);
    if (node.nodeId !== nodeId) throw malformed(`${what} holds node ${node.nodeId}`);
    return node;
  }

  async nodeIdOfTwin(twinId: number, signal: AbortSignal): Promise<number | undefined> {
    const what = `NodeIdByTwinID(${twinId})`;
    const bytes = await this.storage(storageKeys.nodeIdByTwin(twinId), what, signal);
    // A ValueQuery map: absent and 0 both mean "no node".
    const nodeId = bytes && decodeId(bytes, 4, what);
    return nodeId || undefined;
  }

  async name(name: string, signal: AbortSignal): Promise<NameRecord | undefined> {
    const what = `ContractIDByNameRegistration(${JSON.stringify(name)})`;
    const idBytes = await this.storage(storageKeys.contractIdByName(name), what, signal);
    const contractId = idBytes && decodeId(idBytes, 8, what);
    if (!contractId) return undefined;
    const contractWhat = `Contracts(${contractId})`;
    const bytes = await this.storage(storageKeys.contract(contractId), contractWhat, signal);
    if (!bytes) throw malformed(`${what} points at ${contractWhat}, which does not exist`);
    const contract = decodeContract(bytes, contractWhat);
    if (contract.contractId !== contractId) throw malformed(`${contractWhat} holds contract ${contract.contractId}`);
    if (contract.name !== name) throw malformed(`${what} points at ${contractWhat}, which is not a name contract for it`);
    if (contract.state === 'Deleted') return undefined;
    return { name, contractId, twinId: contract.twinId, state: contract.state };
  }

  async farmPublicIps(farmId: number, signal: AbortSignal): Promise<readonly PublicIp[] | undefined> {
    const what = `Farms(${farmId})`;
    const bytes = await this.storage(storageKeys.farm(farmId), what, signal);
    if (!bytes) return undefined;
    const farm = decodeFarm(bytes, what);
    if (farm.farmId !== farmId) throw malformed(`${what} holds farm ${farm.farmId}`);
    return farm.publicIps;
  }

  async gateways(): Promise<readonly NodeRecord[]> {
    throw new BackendError('unsupported', 'listing gateways needs a scan of all nodes; use a grid proxy');
  }
}
