// SCALE layouts of the TFChain storage values the resolver reads (pallet-tfgrid and
// pallet-smart-contract as of the 2024 runtime). Each decoder reads the whole value, including the parts
// it then throws away, so a runtime whose layout moved on fails loudly instead of yielding shifted fields.
import { bytesToHex } from '@noble/hashes/utils.js';
import { malformed } from './errors.js';
import { makePublicIp, makeTwin, normalisePublicConfig } from './records.js';
import { ScaleError, ScaleReader } from './scale.js';
import type { NodeRecord, PublicIp, TwinRecord } from './types.js';

/** Runs a decoder, turning codec errors into malformed-record errors. */
function decode<T>(bytes: Uint8Array, what: string, read: (r: ScaleReader) => T): T {
  const r = new ScaleReader(bytes, what);
  try {
    const value = read(r);
    r.end();
    return value;
  } catch (err) {
    if (err instanceof ScaleError) throw malformed(err.message);
    throw err;
  }
}

export function decodeTwin(bytes: Uint8Array, what: string): TwinRecord {
  const raw = decode(bytes, what, (r) => {
    const id = r.u32('id');
    const account = r.fixed(32, 'account_id');
    const relay = r.option('relay', () => r.text('relay', 1024));
    r.vec('entities', () => {
      r.u32('entity_id');
      r.vecU8('signature');
    });
    const pk = r.option('pk', () => r.vecU8('pk', 128));
    return { id, account, relay, pk };
  });
  return makeTwin(raw.id, raw.account, raw.relay, raw.pk && bytesToHex(raw.pk), what);
}

export function decodeNode(bytes: Uint8Array, what: string): NodeRecord {
  const raw = decode(bytes, what, (r) => {
    r.u32('version');
    const nodeId = r.u32('id');
    const farmId = r.u32('farm_id');
    const twinId = r.u32('twin_id');
    for (const f of ['hru', 'sru', 'cru', 'mru']) r.u64(`resources.${f}`);
    for (const f of ['city', 'country', 'latitude', 'longitude']) r.vecU8(`location.${f}`);
    const publicConfig = r.option('public_config', () => {
      const ip4 = { ip: r.text('ip4.ip', 18), gw: r.text('ip4.gw', 15) };
      const ip6 = r.option('ip6', () => ({ ip: r.text('ip6.ip', 43), gw: r.text('ip6.gw', 39) }));
      const domain = r.option('domain', () => r.text('domain', 128));
      return { ipv4: ip4.ip, gw4: ip4.gw, ipv6: ip6?.ip, gw6: ip6?.gw, domain };
    });
    r.u64('created');
    r.u32('farming_policy_id');
    r.vec('interfaces', () => {
      r.vecU8('interface.name');
      r.vecU8('interface.mac');
      r.vec('interface.ips', () => r.vecU8('interface.ip'));
    });
    r.variant('certification', 2);
    r.bool('secure_boot');
    r.bool('virtualized');
    r.option('serial_number', () => r.vecU8('serial_number'));
    r.u32('connection_price');
    return { nodeId, farmId, twinId, publicConfig };
  });
  const blank = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s.trim());
  const publicConfig =
    raw.publicConfig &&
    normalisePublicConfig(
      {
        ipv4: blank(raw.publicConfig.ipv4),
        gw4: blank(raw.publicConfig.gw4),
        ipv6: blank(raw.publicConfig.ipv6),
        gw6: blank(raw.publicConfig.gw6),
        domain: blank(raw.publicConfig.domain),
      },
      what,
    );
  return { nodeId: raw.nodeId, twinId: raw.twinId, farmId: raw.farmId, ...(publicConfig ? { publicConfig } : {}) };
}

export function decodeFarm(bytes: Uint8Array, what: string): { farmId: number; publicIps: PublicIp[] } {
  const raw = decode(bytes, what, (r) => {
    r.u32('version');
    const farmId = r.u32('id');
    r.vecU8('name');
    r.u32('twin_id');
    r.u32('pricing_policy_id');
    r.variant('certification', 2);
    const publicIps = r.vec(
      'public_ips',
      (i) => ({ ip: r.text('public_ip.ip', 18), gateway: r.text('public_ip.gateway', 15), contractId: r.u64Number('public_ip.contract_id'), i }),
      256,
    );
    r.bool('dedicated_farm');
    r.option('farming_policy_limits', () => {
      r.u32('farming_policy_id');
      r.option('cu', () => r.u64('cu'));
      r.option('su', () => r.u64('su'));
      r.option('end', () => r.u64('end'));
      r.option('node_count', () => r.u32('node_count'));
      r.bool('node_certification');
    });
    return { farmId, publicIps };
  });
  return {
    farmId: raw.farmId,
    publicIps: raw.publicIps.map((p) => makePublicIp(p.ip, p.gateway, p.contractId, raw.farmId, `${what}: public_ips[${p.i}]`)),
  };
}

export type ContractState = 'Created' | 'Deleted' | 'GracePeriod';

export interface DecodedContract {
  readonly contractId: number;
  readonly twinId: number;
  readonly state: ContractState;
  /** Set for name contracts only. */
  readonly name?: string;
}

export function decodeContract(bytes: Uint8Array, what: string): DecodedContract {
  return decode(bytes, what, (r) => {
    r.u32('version');
    const stateTag = r.variant('state', 3);
    if (stateTag === 1) r.variant('state.Deleted.cause', 2);
    if (stateTag === 2) r.u64('state.GracePeriod.block');
    const state: ContractState = (['Created', 'Deleted', 'GracePeriod'] as const)[stateTag]!;
    const contractId = r.u64Number('contract_id');
    const twinId = r.u32('twin_id');
    let name: string | undefined;
    switch (r.variant('contract_type', 3)) {
      case 0:
        r.u32('node_id');
        r.fixed(32, 'deployment_hash');
        r.vecU8('deployment_data');
        r.u32('public_ips');
        r.vec('public_ips_list', () => {
          r.vecU8('public_ip.ip');
          r.vecU8('public_ip.gateway');
          r.u64('public_ip.contract_id');
        });
        break;
      case 1:
        name = r.text('name');
        break;
      default:
        r.u32('node_id');
    }
    r.option('solution_provider_id', () => r.u64('solution_provider_id'));
    return { contractId, twinId, state, ...(name !== undefined ? { name } : {}) };
  });
}

/** The u32/u64 value of an id-lookup map (TwinIdByAccountID, NodeIdByTwinID, ContractIDByNameRegistration). */
export function decodeId(bytes: Uint8Array, size: 4 | 8, what: string): number {
  return decode(bytes, what, (r) => (size === 4 ? r.u32('value') : r.u64Number('value')));
}
