// Test doubles for the chain lookups: SCALE encoders for the TFChain values the resolver decodes, and
// loopback fakes of the grid proxy (same routes and not-found conventions as tfgrid-sdk-go's server) and
// of a Substrate RPC node (state_getStorage over HTTP). Every fake has an `override` hook through which a
// test injects a fault (status, garbage, silence) for the requests it picks.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hexToBytes } from '@noble/hashes/utils.js';
import { ScaleWriter } from '../../src/chain/scale.js';

export const ALICE_KEY = hexToBytes('d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d');
export const ALICE_SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
/** The secp256k1 generator, compressed: a well-formed RMB key. */
export const GENERATOR_PK = '0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

// ---- SCALE values ----

export interface TwinValue {
  readonly id: number;
  readonly account: Uint8Array;
  readonly relay?: string;
  readonly pk?: Uint8Array;
  readonly entities?: readonly { id: number; signature: Uint8Array }[];
}

export function encodeTwin(t: TwinValue): Uint8Array {
  return new ScaleWriter()
    .u32(t.id)
    .raw(t.account)
    .option(t.relay, (w, r) => w.vecU8(r))
    .vec(t.entities ?? [], (w, e) => w.u32(e.id).vecU8(e.signature))
    .option(t.pk, (w, pk) => w.vecU8(pk))
    .bytes();
}

export interface NodeValue {
  readonly id: number;
  readonly farmId: number;
  readonly twinId: number;
  readonly publicConfig?: { ip4: { ip: string; gw: string }; ip6?: { ip: string; gw: string }; domain?: string };
  readonly serialNumber?: string;
}

export function encodeNode(n: NodeValue): Uint8Array {
  const w = new ScaleWriter().u32(5).u32(n.id).u32(n.farmId).u32(n.twinId);
  for (const v of [9001778946048n, 512110190592n, 24n, 202802933760n]) w.u64(v);
  for (const s of ['Ghent', 'Belgium', '51.05', '3.72']) w.vecU8(s);
  w.option(n.publicConfig, (w, pc) =>
    w
      .vecU8(pc.ip4.ip)
      .vecU8(pc.ip4.gw)
      .option(pc.ip6, (w, ip6) => w.vecU8(ip6.ip).vecU8(ip6.gw))
      .option(pc.domain, (w, d) => w.vecU8(d)),
  );
  w.u64(1649252220).u32(1);
  w.vec([{ name: 'zos', mac: '52:54:00:12:34:56', ips: ['192.168.1.20'] }], (w, i) =>
    w.vecU8(i.name).vecU8(i.mac).vec(i.ips, (w, ip) => w.vecU8(ip)),
  );
  return w.u8(0).bool(false).bool(false).option(n.serialNumber, (w, s) => w.vecU8(s)).u32(80).bytes();
}

export interface FarmValue {
  readonly id: number;
  readonly publicIps: readonly { ip: string; gateway: string; contractId: number }[];
  readonly withLimits?: boolean;
}

export function encodeFarm(f: FarmValue): Uint8Array {
  return new ScaleWriter()
    .u32(4)
    .u32(f.id)
    .vecU8('Freefarm')
    .u32(2)
    .u32(1)
    .u8(0)
    .vec(f.publicIps, (w, p) => w.vecU8(p.ip).vecU8(p.gateway).u64(p.contractId))
    .bool(false)
    .option(f.withLimits ? true : undefined, (w) =>
      w.u32(1).option(10n, (w, v) => w.u64(v)).option(undefined, () => {}).option(undefined, () => {}).option(3, (w, v) => w.u32(v)).bool(true),
    )
    .bytes();
}

export type ContractTypeValue = { name: string } | { nodeId: number; rent: true } | { nodeId: number; deploymentHash: string };

export function encodeContract(c: {
  id: number;
  twinId: number;
  state: 'Created' | 'Deleted' | 'GracePeriod';
  type: ContractTypeValue;
}): Uint8Array {
  const w = new ScaleWriter().u32(3);
  if (c.state === 'Created') w.u8(0);
  else if (c.state === 'Deleted') w.u8(1).u8(0);
  else w.u8(2).u64(123456);
  w.u64(c.id).u32(c.twinId);
  if ('name' in c.type) w.u8(1).vecU8(c.type.name);
  else if ('rent' in c.type) w.u8(2).u32(c.type.nodeId);
  else w.u8(0).u32(c.type.nodeId).raw(new TextEncoder().encode(c.type.deploymentHash)).vecU8('{}').u32(0).vec([], () => {});
  return w.option(undefined, () => {}).bytes();
}

// ---- loopback HTTP fakes ----

export interface Reply {
  readonly status?: number;
  /** Serialised as the body with a JSON content type. */
  readonly json?: unknown;
  /** Sent as is. */
  readonly body?: string;
  /** Never answer (until the server closes). */
  readonly hang?: boolean;
}

export interface FakeServer {
  readonly url: string;
  /** Request paths (with query) or RPC storage keys, in arrival order. */
  readonly hits: string[];
  /** Consulted first for every request; return undefined to let the fake answer normally. */
  override: ((what: string) => Reply | undefined) | undefined;
  close(): Promise<void>;
}

async function serve(handle: (req: IncomingMessage, body: string, server: FakeServer) => Reply): Promise<FakeServer> {
  let server: Server;
  const fake: FakeServer = {
    url: '',
    hits: [],
    override: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = handle(req, Buffer.concat(chunks).toString('utf8'), fake);
      if (reply.hang) return;
      const json = reply.json !== undefined;
      res.writeHead(reply.status ?? 200, { 'content-type': json ? 'application/json' : 'text/plain' });
      res.end(json ? JSON.stringify(reply.json) : (reply.body ?? ''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** Grid-proxy-shaped data, as the real proxy returns it. */
export interface ProxyData {
  twins: Record<string, unknown>[];
  nodes: Record<string, unknown>[];
  contracts: Record<string, unknown>[];
  publicIps: Record<string, unknown>[];
}

export function startFakeGridProxy(data: ProxyData): Promise<FakeServer> {
  return serve((req, _body, fake) => {
    const url = new URL(req.url!, 'http://x');
    const what = `${url.pathname}${url.search}`;
    fake.hits.push(what);
    const override = fake.override?.(what);
    if (override) return override;
    const q = url.searchParams;
    const num = (k: string) => Number(q.get(k));
    const nodeMatch = /^\/nodes\/(\d+)$/.exec(url.pathname);
    if (nodeMatch) {
      const node = data.nodes.find((n) => n.nodeId === Number(nodeMatch[1]));
      return node ? { json: node } : { status: 404, json: { error: 'node not found' } };
    }
    switch (url.pathname) {
      case '/twins':
        return { json: data.twins.filter((t) => !q.has('twin_id') || t.twinId === num('twin_id')) };
      case '/nodes':
        return { json: data.nodes.filter((n) => !q.has('twin_id') || n.twinId === num('twin_id')) };
      case '/contracts':
        return {
          json: data.contracts.filter(
            (c) =>
              (!q.has('type') || c.type === q.get('type')) &&
              (!q.has('name') || (c.details as { name?: string }).name === q.get('name')) &&
              (!q.has('state') || q.getAll('state').includes(c.state as string)),
          ),
        };
      case '/public_ips':
        return { json: data.publicIps.filter((p) => !q.has('farm_ids') || p.farm_id === num('farm_ids')) };
      case '/gateways': {
        const size = q.has('size') ? num('size') : 50;
        const page = q.has('page') ? num('page') : 1;
        const gateways = data.nodes.filter((n) => (n.publicConfig as { domain?: string } | undefined)?.domain);
        return { json: gateways.slice((page - 1) * size, page * size) };
      }
      default:
        // gorilla/mux's own 404: plain text, not the API's JSON error.
        return { status: 404, body: '404 page not found\n' };
    }
  });
}

/** A Substrate RPC node serving `storage` (hex key → hex SCALE value) to state_getStorage. */
export function startFakeSubstrate(storage: Map<string, Uint8Array>): Promise<FakeServer> {
  return serve((req, body, fake) => {
    let call: { id?: unknown; method?: string; params?: unknown[] };
    try {
      call = JSON.parse(body);
    } catch {
      return { json: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } } };
    }
    if (req.method !== 'POST' || call.method !== 'state_getStorage') {
      return { json: { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'Method not found' } } };
    }
    const key = String(call.params?.[0]).toLowerCase();
    fake.hits.push(key);
    const override = fake.override?.(key);
    if (override) return withId(override, call.id);
    const value = storage.get(key);
    return { json: { jsonrpc: '2.0', id: call.id, result: value ? `0x${Buffer.from(value).toString('hex')}` : null } };
  });
}

/** Lets overrides write `{ json: { result: ... } }` without knowing the request id. */
function withId(reply: Reply, id: unknown): Reply {
  if (typeof reply.json !== 'object' || reply.json === null || 'jsonrpc' in reply.json) return reply;
  return { ...reply, json: { jsonrpc: '2.0', id, ...(reply.json as object) } };
}
