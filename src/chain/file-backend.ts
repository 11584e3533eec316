// A local JSON registry answering like the chain: for demos and for machines without the grid. Entries
// use the grid proxy's JSON shapes, so a registry can be assembled from saved proxy responses and is read
// by the same normalisers. The file is re-read on every lookup; the resolver's cache sits in front.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BackendError, malformed } from './errors.js';
import { parseJson } from './http.js';
import { asArray, asObject, nameFromJson, nodeFromJson, publicIpFromJson, twinFromJson } from './records.js';
import type { ChainBackend, NameRecord, NodeRecord, PublicIp, TwinRecord } from './types.js';

export interface RegistryRecords {
  readonly twins?: readonly TwinRecord[];
  readonly nodes?: readonly NodeRecord[];
  readonly names?: readonly NameRecord[];
  readonly publicIps?: readonly PublicIp[];
}

/** The registry file's JSON for a set of records (the inverse of what FileBackend reads). */
export function formatRegistry(records: RegistryRecords): string {
  const registry = {
    twins: (records.twins ?? []).map((t) => ({
      twinId: t.twinId,
      accountId: t.accountId,
      relay: t.relays.join('_'),
      publicKey: t.publicKey ?? '',
    })),
    nodes: (records.nodes ?? []).map((n) => ({
      nodeId: n.nodeId,
      twinId: n.twinId,
      farmId: n.farmId,
      publicConfig: { ipv4: '', gw4: '', ipv6: '', gw6: '', domain: '', ...n.publicConfig },
    })),
    contracts: (records.names ?? []).map((c) => ({
      contract_id: c.contractId,
      twin_id: c.twinId,
      state: c.state,
      type: 'name',
      details: { name: c.name },
    })),
    publicIps: (records.publicIps ?? []).map((p) => ({ ip: p.ip, gateway: p.gateway, contract_id: p.contractId, farm_id: p.farmId })),
  };
  return `${JSON.stringify(registry, null, 2)}\n`;
}

interface Registry {
  readonly twins: TwinRecord[];
  readonly nodes: NodeRecord[];
  readonly names: NameRecord[];
  readonly publicIps: PublicIp[];
}

export class FileBackend implements ChainBackend {
  readonly kind = 'file';
  readonly endpoint: string;

  constructor(path: string) {
    this.endpoint = resolve(path);
  }

  private async load(signal: AbortSignal): Promise<Registry> {
    let text: string;
    try {
      text = await readFile(this.endpoint, { encoding: 'utf8', signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new BackendError('io', `cannot read ${this.endpoint}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const root = asObject(parseJson(text, 'registry'), 'registry');
    const section = <T>(key: string, parse: (v: unknown, what: string) => T): T[] =>
      root[key] === undefined ? [] : asArray(root[key], `registry ${key}`).map((v, i) => parse(v, `registry ${key}[${i}]`));
    return {
      twins: section('twins', twinFromJson),
      nodes: section('nodes', nodeFromJson),
      names: section('contracts', nameFromJson).filter((c): c is NameRecord => c !== undefined),
      publicIps: section('publicIps', publicIpFromJson),
    };
  }

  async twin(twinId: number, signal: AbortSignal): Promise<TwinRecord | undefined> {
    return unique((await this.load(signal)).twins.filter((t) => t.twinId === twinId), `twin ${twinId}`);
  }

  async node(nodeId: number, signal: AbortSignal): Promise<NodeRecord | undefined> {
    return unique((await this.load(signal)).nodes.filter((n) => n.nodeId === nodeId), `node ${nodeId}`);
  }

  async nodeIdOfTwin(twinId: number, signal: AbortSignal): Promise<number | undefined> {
    return unique((await this.load(signal)).nodes.filter((n) => n.twinId === twinId), `node of twin ${twinId}`)?.nodeId;
  }

  async name(name: string, signal: AbortSignal): Promise<NameRecord | undefined> {
    return unique((await this.load(signal)).names.filter((c) => c.name === name), `name ${JSON.stringify(name)}`);
  }

  async farmPublicIps(farmId: number, signal: AbortSignal): Promise<readonly PublicIp[]> {
    return (await this.load(signal)).publicIps.filter((p) => p.farmId === farmId);
  }

  async gateways(signal: AbortSignal): Promise<readonly NodeRecord[]> {
    return (await this.load(signal)).nodes.filter((n) => n.publicConfig?.domain && (n.publicConfig.ipv4 || n.publicConfig.ipv6));
  }
}

function unique<T>(matches: T[], what: string): T | undefined {
  if (matches.length > 1) throw malformed(`registry lists ${what} ${matches.length} times`);
  return matches[0];
}
