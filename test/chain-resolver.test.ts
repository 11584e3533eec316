// The resolver against loopback fakes of the grid proxy and of a TFChain RPC node, and against a registry
// file: the same answers from each backend, provenance, fallback across endpoints, the cache (TTL,
// stale-while-error, nothing wrong or negative stored), and every fault as a clear error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  ChainArgumentError,
  ChainNotFoundError,
  ChainResolver,
  ChainUnavailableError,
  FileBackend,
  formatRegistry,
  GridProxyBackend,
  SubstrateBackend,
  storageKeys,
  type ChainBackend,
  type FailureKind,
  type ResolverOptions,
} from '../src/chain/index.js';
import { ScaleWriter } from '../src/chain/scale.js';
import {
  ALICE_KEY,
  ALICE_SS58,
  encodeContract,
  encodeFarm,
  encodeNode,
  encodeTwin,
  GENERATOR_PK,
  startFakeGridProxy,
  startFakeSubstrate,
  type FakeServer,
  type ProxyData,
} from './lib/chain-fixtures.js';

// Node 11's twin (29) uses Alice's key, so its planetary address is the known vector.
const BOB_KEY = hexToBytes('8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48');
const PLANETARY = { address: '200:5794:d871:d404:59c7:3dd7:ca85:f6ac', subnet: '300:5794:d871:d404::/64' };
const GW_CONFIG = { ipv4: '203.0.113.10/24', gw4: '203.0.113.1', ipv6: '2001:db8:1::10/64', gw6: '2001:db8:1::1', domain: 'gw1.example.grid' };

const TWIN_7 = { twinId: 7, accountId: ALICE_SS58, accountKey: `0x${bytesToHex(ALICE_KEY)}`, relays: ['relay.grid.tf'], publicKey: GENERATOR_PK };

function proxyData(): ProxyData {
  return {
    twins: [
      { twinId: 7, accountId: ALICE_SS58, relay: 'relay.grid.tf', publicKey: GENERATOR_PK },
      { twinId: 29, accountId: ALICE_SS58, relay: 'relay.grid.tf_relay.02.grid.tf', publicKey: '' },
      { twinId: 30, accountId: `0x${bytesToHex(BOB_KEY)}`, relay: null, publicKey: null, gridVersion: 3 },
    ],
    nodes: [
      {
        id: '0000012345-000001-abcde', nodeId: 11, farmId: 1, farmName: 'Freefarm', twinId: 29, country: 'Belgium', status: 'up',
        capacity: { total_resources: { cru: 24 } }, publicConfig: GW_CONFIG, features: ['mycelium'], dmi: { UpdatedAt: 0 },
      },
      { nodeId: 12, farmId: 1, twinId: 30, publicConfig: { domain: '', gw4: '', gw6: '', ipv4: '', ipv6: '' } },
      { nodeId: 13, farmId: 2, twinId: 404 },
    ],
    contracts: [
      { contract_id: 12, twin_id: 7, state: 'Created', created_at: 1, type: 'name', details: { name: 'web' } },
      { contract_id: 5, twin_id: 8, state: 'Deleted', created_at: 1, type: 'name', details: { name: 'old' } },
    ],
    publicIps: [
      { id: '0000001070-000001-3e7e7', ip: '203.0.113.42/24', gateway: '203.0.113.1', contract_id: 0, farm_id: 1 },
      { ip: '203.0.113.43/24', gateway: '203.0.113.1', contractId: 77, farm_id: 1 },
    ],
  };
}

function chainStorage(): Map<string, Uint8Array> {
  const id = (size: 4 | 8, n: number) => (size === 4 ? new ScaleWriter().u32(n) : new ScaleWriter().u64(n)).bytes();
  return new Map([
    [storageKeys.twin(7), encodeTwin({ id: 7, account: ALICE_KEY, relay: 'relay.grid.tf', pk: hexToBytes(GENERATOR_PK.slice(2)) })],
    [storageKeys.twin(29), encodeTwin({ id: 29, account: ALICE_KEY, relay: 'relay.grid.tf_relay.02.grid.tf' })],
    [storageKeys.twin(30), encodeTwin({ id: 30, account: BOB_KEY })],
    [
      storageKeys.node(11),
      encodeNode({ id: 11, farmId: 1, twinId: 29, publicConfig: { ip4: { ip: GW_CONFIG.ipv4, gw: GW_CONFIG.gw4 }, ip6: { ip: GW_CONFIG.ipv6, gw: GW_CONFIG.gw6 }, domain: GW_CONFIG.domain } }),
    ],
    [storageKeys.node(12), encodeNode({ id: 12, farmId: 1, twinId: 30 })],
    [storageKeys.nodeIdByTwin(29), id(4, 11)],
    [storageKeys.contractIdByName('web'), id(8, 12)],
    [storageKeys.contract(12), encodeContract({ id: 12, twinId: 7, state: 'Created', type: { name: 'web' } })],
    [storageKeys.contractIdByName('old'), id(8, 5)],
    [storageKeys.contract(5), encodeContract({ id: 5, twinId: 8, state: 'Deleted', type: { name: 'old' } })],
    [storageKeys.farm(1), encodeFarm({ id: 1, publicIps: [{ ip: '203.0.113.42/24', gateway: '203.0.113.1', contractId: 0 }, { ip: '203.0.113.43/24', gateway: '203.0.113.1', contractId: 77 }] })],
  ].map(([k, v]) => [(k as string).toLowerCase(), v as Uint8Array]));
}

let proxy: FakeServer;
let chain: FakeServer;
let dir: string;
let registryPath: string;
let clock: number;

before(async () => {
  proxy = await startFakeGridProxy(proxyData());
  chain = await startFakeSubstrate(chainStorage());
  dir = mkdtempSync(join(tmpdir(), 'gw-chain-'));
  // The registry is built from what the grid proxy answers, so the file backend is checked against it.
  const fromProxy = new ChainResolver({ backends: [new GridProxyBackend(proxy.url)] });
  registryPath = join(dir, 'registry.json');
  writeFileSync(
    registryPath,
    formatRegistry({
      twins: await Promise.all([7, 29, 30].map(async (id) => (await fromProxy.twin(id)).value)),
      nodes: await Promise.all([11, 12].map(async (id) => (await fromProxy.node(id)).value)),
      names: [(await fromProxy.name('web')).value],
      publicIps: (await fromProxy.farmPublicIps(1)).value,
    }),
  );
});
after(async () => {
  await proxy.close();
  await chain.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  proxy.override = undefined;
  chain.override = undefined;
  clock = 1_700_000_000_000;
});

function resolver(backends: ChainBackend[], options: Partial<ResolverOptions> = {}): ChainResolver {
  return new ChainResolver({ backends, timeoutMs: 500, retryDelayMs: 10, now: () => clock, ...options });
}

const backendsByKind: Record<string, () => ChainBackend> = {
  'grid-proxy': () => new GridProxyBackend(proxy.url),
  substrate: () => new SubstrateBackend(chain.url.replace('http:', 'ws:')),
  file: () => new FileBackend(registryPath),
};

async function unavailable(promise: Promise<unknown>, kind: FailureKind, pattern?: RegExp): Promise<ChainUnavailableError> {
  const err = await promise.then(
    () => assert.fail('expected the lookup to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ChainUnavailableError, `expected ChainUnavailableError, got ${String(err)}`);
  assert.ok(err.failures.length > 0);
  for (const f of err.failures) {
    assert.equal(f.kind, kind, f.message);
    if (pattern) assert.match(f.message, pattern);
  }
  return err;
}

for (const [kind, make] of Object.entries(backendsByKind)) {
  describe(`${kind} backend`, () => {
    test('twin → account, key, relays, RMB key, with provenance', async () => {
      const backend = make();
      const answer = await resolver([backend]).twin(7);
      assert.deepEqual(answer.value, TWIN_7);
      assert.deepEqual(answer.provenance, { backend: kind, endpoint: backend.endpoint, fetchedAt: clock, cached: false });
    });

    test('a twin without relay or RMB key, and one with two relays', async () => {
      const r = resolver([make()]);
      const bare = (await r.twin(30)).value;
      assert.deepEqual(bare.relays, []);
      assert.equal(bare.publicKey, undefined);
      assert.equal(bare.accountKey, `0x${bytesToHex(BOB_KEY)}`);
      assert.deepEqual((await r.twin(29)).value.relays, ['relay.grid.tf', 'relay.02.grid.tf']);
    });

    test('node → twin, farm, public config, planetary address', async () => {
      const answer = await resolver([make()]).node(11);
      const { twin, ...node } = answer.value;
      assert.deepEqual(node, { nodeId: 11, twinId: 29, farmId: 1, publicConfig: GW_CONFIG, planetary: PLANETARY });
      assert.equal(twin?.value.accountId, ALICE_SS58);
      assert.equal(twin?.provenance.backend, kind);
      const plain = (await resolver([make()]).node(12)).value;
      assert.equal(plain.publicConfig, undefined);
    });

    test('name → owning twin; deleted and unknown names are not found', async () => {
      const r = resolver([make()]);
      assert.deepEqual((await r.name('web')).value, { name: 'web', contractId: 12, twinId: 7, state: 'Created' });
      await assert.rejects(r.name('old'), ChainNotFoundError);
      await assert.rejects(r.name('nope'), (e: Error) => e instanceof ChainNotFoundError && e.message.startsWith('name "nope" not found'));
    });

    test('twin → node, farm public IPs', async () => {
      const r = resolver([make()]);
      assert.equal((await r.nodeIdOfTwin(29)).value, 11);
      await assert.rejects(r.nodeIdOfTwin(7), ChainNotFoundError);
      assert.deepEqual((await r.farmPublicIps(1)).value, [
        { ip: '203.0.113.42/24', gateway: '203.0.113.1', contractId: 0, farmId: 1 },
        { ip: '203.0.113.43/24', gateway: '203.0.113.1', contractId: 77, farmId: 1 },
      ]);
    });

    test('missing twin and node are not found, and say which backend said so', async () => {
      const backend = make();
      const r = resolver([backend]);
      await assert.rejects(r.twin(99), (e: Error) => e instanceof ChainNotFoundError && e.message === `twin 99 not found (${kind} ${backend.endpoint})`);
      await assert.rejects(r.node(99), ChainNotFoundError);
    });
  });
}

describe('grid proxy faults', () => {
  const faults: [string, { status?: number; json?: unknown; body?: string; hang?: boolean }, FailureKind, RegExp][] = [
    ['500', { status: 500, json: { error: 'database is down' } }, 'http', /HTTP 500 .*database is down/],
    ["the router's plain 404 (wrong base URL)", { status: 404, body: '404 page not found\n' }, 'http', /HTTP 404/],
    ['malformed JSON', { body: '[{"twinId": 7,' }, 'malformed', /not valid JSON/],
    ['an object where a list belongs', { json: { twinId: 7 } }, 'malformed', /not a JSON array/],
    ['another twin (filter ignored)', { json: [{ twinId: 8, accountId: ALICE_SS58 }] }, 'malformed', /none matching/],
    ['a bad SS58 account', { json: [{ twinId: 7, accountId: ALICE_SS58.slice(0, -1) + 'Z' }] }, 'malformed', /checksum/],
    ['a non-hex RMB key', { json: [{ twinId: 7, accountId: ALICE_SS58, publicKey: '0xzz' }] }, 'malformed', /public key is not hex/],
    ['a string id', { json: [{ twinId: '7', accountId: ALICE_SS58 }] }, 'malformed', /twinId is not an id/],
    ['silence', { hang: true }, 'timeout', /timed out/],
  ];
  for (const [name, reply, kind, pattern] of faults) {
    test(`${name}: a clear error, nothing cached`, async () => {
      const r = resolver([new GridProxyBackend(proxy.url)], { timeoutMs: 200 });
      proxy.override = (path) => (path.startsWith('/twins') ? reply : undefined);
      const started = Date.now();
      const err = await unavailable(r.twin(7), kind, pattern);
      assert.equal(err.failures.length, 2, 'the single endpoint is tried once per round');
      assert.ok(Date.now() - started < 3000);
      proxy.override = undefined;
      const hits = proxy.hits.length;
      assert.deepEqual((await r.twin(7)).value, TWIN_7);
      assert.equal(proxy.hits.length, hits + 1, 'the failed lookup left nothing in the cache');
    });
  }

  test('a node 404 with the API error body is "not found"; a gateway list is read', async () => {
    const r = resolver([new GridProxyBackend(proxy.url)]);
    await assert.rejects(r.node(4242), ChainNotFoundError);
    assert.deepEqual((await r.gateways()).value.map((n) => n.nodeId), [11]);
  });

  test('a node twin the chain does not have: the node answer says so', async () => {
    const answer = await resolver([new GridProxyBackend(proxy.url)]).node(13);
    assert.equal(answer.value.twin, undefined);
    assert.equal(answer.value.planetary, undefined);
    assert.match(answer.value.twinError!, /twin 404 not found/);
  });

  test('a refused connection is a network failure', async () => {
    const closed = await startFakeGridProxy(proxyData());
    await closed.close();
    await unavailable(resolver([new GridProxyBackend(closed.url)]).twin(7), 'network', /ECONNREFUSED/);
  });
});

describe('substrate faults', () => {
  const twinKey = storageKeys.twin(7).toLowerCase();
  const good = encodeTwin({ id: 7, account: ALICE_KEY, relay: 'relay.grid.tf' });
  const faults: [string, { status?: number; json?: unknown; body?: string; hang?: boolean }, FailureKind, RegExp][] = [
    ['a value one byte short', { json: { result: `0x${bytesToHex(good.subarray(0, -1))}` } }, 'malformed', /Twins\(7\): pk: value truncated/],
    ['a value with a trailing byte', { json: { result: `0x${bytesToHex(good)}00` } }, 'malformed', /1 unexpected trailing bytes/],
    ["another twin's value", { json: { result: `0x${bytesToHex(encodeTwin({ id: 8, account: ALICE_KEY }))}` } }, 'malformed', /holds twin 8/],
    ['a result that is not hex', { json: { result: '0xabc' } }, 'malformed', /not 0x-hex/],
    ['an RPC error', { json: { error: { code: -32000, message: 'state already discarded' } } }, 'rpc', /RPC error -32000: state already discarded/],
    ['a reply to another request', { json: { jsonrpc: '2.0', id: 999999, result: null } }, 'malformed', /reply id 999999/],
    ['HTTP 502', { status: 502, body: 'Bad Gateway' }, 'http', /HTTP 502 Bad Gateway/],
    ['malformed JSON', { body: '{"jsonrpc":' }, 'malformed', /not valid JSON/],
    ['silence', { hang: true }, 'timeout', /timed out/],
  ];
  for (const [name, reply, kind, pattern] of faults) {
    test(`${name}: a clear error, nothing cached`, async () => {
      const r = resolver([new SubstrateBackend(chain.url)], { timeoutMs: 200 });
      chain.override = (key) => (key === twinKey ? reply : undefined);
      await unavailable(r.twin(7), kind, pattern);
      chain.override = undefined;
      assert.deepEqual((await r.twin(7)).value, TWIN_7);
    });
  }

  test('gateways are not listable from storage: the next backend answers', async () => {
    const r = resolver([new SubstrateBackend(chain.url), new GridProxyBackend(proxy.url)]);
    const answer = await r.gateways();
    assert.equal(answer.provenance.backend, 'grid-proxy');
    await unavailable(resolver([new SubstrateBackend(chain.url)]).gateways(), 'unsupported');
  });

  test('a name registration pointing at a missing or foreign contract is malformed', async () => {
    const r = resolver([new SubstrateBackend(chain.url)]);
    const nameKey = storageKeys.contractIdByName('web').toLowerCase();
    chain.override = (key) => (key === nameKey ? { json: { result: `0x${bytesToHex(new ScaleWriter().u64(5).bytes())}` } } : undefined);
    await unavailable(r.name('web'), 'malformed', /not a name contract for it/);
    chain.override = (key) => (key === nameKey ? { json: { result: `0x${bytesToHex(new ScaleWriter().u64(77).bytes())}` } } : undefined);
    await unavailable(r.name('web'), 'malformed', /Contracts\(77\), which does not exist/);
  });
});

describe('file backend faults', () => {
  test('a missing or malformed registry is an error, not an empty answer', async () => {
    await unavailable(resolver([new FileBackend(join(dir, 'absent.json'))]).twin(7), 'io', /ENOENT/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"twins": [');
    await unavailable(resolver([new FileBackend(broken)]).twin(7), 'malformed', /not valid JSON/);
    writeFileSync(broken, JSON.stringify({ twins: [{ twinId: 7, accountId: ALICE_SS58 }, { twinId: 7, accountId: ALICE_SS58 }] }));
    await unavailable(resolver([new FileBackend(broken)]).twin(7), 'malformed', /lists twin 7 2 times/);
  });
});

describe('resolver', () => {
  test('endpoints are tried in order; provenance names the one that answered', async () => {
    const dead = new GridProxyBackend(proxy.url.replace(/:\d+$/, ':1'));
    proxy.override = () => ({ status: 500, json: { error: 'boom' } });
    const answer = await resolver([dead, new GridProxyBackend(proxy.url), new SubstrateBackend(chain.url)]).twin(7);
    assert.deepEqual(answer.value, TWIN_7);
    assert.equal(answer.provenance.backend, 'substrate');
  });

  test('a transient failure is retried in the next round', async () => {
    let calls = 0;
    proxy.override = () => (calls++ === 0 ? { status: 503, body: 'busy' } : undefined);
    const answer = await resolver([new GridProxyBackend(proxy.url)]).twin(7);
    assert.deepEqual(answer.value, TWIN_7);
    assert.equal(calls, 2);
  });

  test('cache: served until the TTL, then asked again; fresh skips it', async () => {
    const r = resolver([new GridProxyBackend(proxy.url)], { ttlMs: 60_000 });
    const first = await r.twin(7);
    const hits = proxy.hits.length;
    clock += 59_000;
    const second = await r.twin(7);
    assert.equal(proxy.hits.length, hits);
    assert.deepEqual(second.provenance, { ...first.provenance, cached: true });
    clock += 2_000;
    const third = await r.twin(7);
    assert.equal(proxy.hits.length, hits + 1);
    assert.equal(third.provenance.cached, false);
    assert.equal(third.provenance.fetchedAt, clock);
    await r.twin(7, { fresh: true });
    assert.equal(proxy.hits.length, hits + 2);
    r.invalidate('twin', 7);
    await r.twin(7);
    assert.equal(proxy.hits.length, hits + 3);
  });

  test('stale-while-error: an expired answer is served, marked, while every backend fails; not forever', async () => {
    const r = resolver([new GridProxyBackend(proxy.url)], { ttlMs: 60_000, maxStaleMs: 3_600_000 });
    const fetchedAt = clock;
    await r.twin(7);
    clock += 120_000;
    proxy.override = () => ({ status: 500, json: { error: 'indexer lagging' } });
    const stale = await r.twin(7);
    assert.deepEqual(stale.value, TWIN_7);
    assert.equal(stale.provenance.fetchedAt, fetchedAt);
    assert.equal(stale.provenance.cached, true);
    assert.match(stale.provenance.staleBecause!, /HTTP 500 .*indexer lagging/);
    clock += 3_600_000;
    await unavailable(r.twin(7), 'http');
  });

  test('"not found" drops a cached answer and is not served stale', async () => {
    const r = resolver([new GridProxyBackend(proxy.url)], { ttlMs: 1_000 });
    await r.twin(7);
    clock += 2_000;
    proxy.override = () => ({ json: [] });
    await assert.rejects(r.twin(7), ChainNotFoundError);
    proxy.override = () => ({ status: 500, json: { error: 'down' } });
    await unavailable(r.twin(7), 'http');
  });

  test('a node answer composes the cached twin', async () => {
    const r = resolver([new GridProxyBackend(proxy.url)]);
    await r.twin(29);
    const answer = await r.node(11);
    assert.equal(answer.provenance.cached, false);
    assert.equal(answer.value.twin?.provenance.cached, true);
  });

  test('bad arguments are refused before any request', async () => {
    const hits = proxy.hits.length;
    const r = resolver([new GridProxyBackend(proxy.url)]);
    for (const id of [0, -1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => r.twin(id), ChainArgumentError);
    for (const name of ['', '../x', 'a b', 'web?x=1']) assert.throws(() => r.name(name), ChainArgumentError);
    assert.equal(proxy.hits.length, hits);
  });

  test("the caller's abort stops the lookup at once and is not reported as an endpoint failure", async () => {
    proxy.override = () => ({ hang: true });
    const r = resolver([new GridProxyBackend(proxy.url)], { timeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    await assert.rejects(r.twin(7, { signal: controller.signal }), (e: Error) => e.name === 'AbortError');
    assert.ok(Date.now() - started < 2_000);
  });

  test('a backend that throws something unexpected is reported, not propagated', async () => {
    const broken: ChainBackend = {
      ...new GridProxyBackend(proxy.url),
      kind: 'file',
      endpoint: 'broken',
      twin: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
    } as unknown as ChainBackend;
    await unavailable(resolver([broken]).twin(7), 'internal', /internal error: cannot read properties/);
  });

  test('without backends, lookups fail cleanly', async () => {
    await assert.rejects(resolver([]).twin(7), /no backend configured/);
  });
});
