// Peering from the chain, the pure parts: zos conventions, the desired peer set built from lookups,
// and plan(desired, current), which must touch only what differs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { x25519 } from '@noble/curves/ed25519.js';
import type { NodeInfo } from '../src/chain/index.js';
import { encodeKey, generatePlanetaryKey, generatePrivateKey, planetaryPublicKey, publicKey } from '../src/keys/index.js';
import { parseNodeConfig, type NodeConfig } from '../src/node/config.js';
import { desiredState, EMPTY_STATE, type Lookup, type PeerState, type WireGuardPeerSpec } from '../src/node/desired.js';
import { applied, plan, type Change } from '../src/node/plan.js';
import { identityWireGuardKey, identityWireGuardPrivateKey, peerAllowedIps, publicHost, wireguardAddress } from '../src/node/zos.js';

describe('zos conventions', () => {
  test('10.A.B.0/24 gets 100.64.A.B; a peer is allowed its /24 and that /32', () => {
    assert.equal(wireguardAddress('10.20.3.0/24'), '100.64.20.3');
    assert.equal(wireguardAddress('172.16.254.0/24'), '100.64.16.254');
    assert.deepEqual(peerAllowedIps('10.20.3.0/24'), ['10.20.3.0/24', '100.64.20.3/32']);
  });

  test('a node is dialled at its public IPv4, else its IPv6, else not at all', () => {
    assert.equal(publicHost({ ipv4: '203.0.113.10/24', ipv6: '2001:db8::10/64' }), '203.0.113.10');
    assert.equal(publicHost({ ipv6: '2001:db8::10/64' }), '[2001:db8::10]');
    assert.equal(publicHost({ domain: 'gw.example' }), undefined);
    assert.equal(publicHost(undefined), undefined);
  });

  test('the identity key and its private half make a working X25519 pair', () => {
    const planetary = generatePlanetaryKey();
    const accountKey = `0x${Buffer.from(planetaryPublicKey(planetary)).toString('hex')}`;
    const priv = identityWireGuardPrivateKey(planetary);
    assert.equal(identityWireGuardKey(accountKey), encodeKey(x25519.getPublicKey(priv)));
    assert.equal(identityWireGuardKey(accountKey), encodeKey(publicKey(priv)));
  });
});

const ids = new Map<number, Uint8Array>();
const planetaryOf = (n: number) => (ids.has(n) ? ids.get(n)! : (ids.set(n, generatePlanetaryKey()), ids.get(n)!));
const accountKey = (n: number) => `0x${Buffer.from(planetaryPublicKey(planetaryOf(n))).toString('hex')}`;

function nodeInfo(nodeId: number, publicConfig?: NodeInfo['publicConfig'], withTwin = true): NodeInfo {
  const twinId = 100 + nodeId;
  const provenance = { backend: 'file' as const, endpoint: '/r', fetchedAt: 0, cached: false };
  return {
    nodeId,
    twinId,
    farmId: 1,
    ...(publicConfig && { publicConfig }),
    ...(withTwin ? { twin: { value: { twinId, accountId: 'x', accountKey: accountKey(nodeId), relays: [] }, provenance } } : { twinError: 'gone' }),
  };
}

const STATIC_KEY = encodeKey(publicKey(generatePrivateKey()));
const OVERRIDE_KEY = encodeKey(publicKey(generatePrivateKey()));

const CONFIG: NodeConfig = parseNodeConfig(
  JSON.stringify({
    wireguard: [
      {
        name: 'gw0',
        key: encodeKey(generatePrivateKey()),
        listenPort: 51820,
        network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' },
        peers: [
          { publicKey: STATIC_KEY, endpoint: 'static.example:51820', allowedIps: ['10.99.0.0/24', '10.98.0.0/24'] },
          { node: 2, subnet: '10.20.2.0/24' },
          { twin: 103, subnet: '10.20.3.0/24', port: 6000, persistentKeepalive: 25 },
          { node: 4, subnet: '10.20.4.0/24', publicKey: OVERRIDE_KEY, allowedIps: ['10.44.0.0/16'] },
        ],
      },
    ],
    planetary: { key: 'keystore:me', peers: ['tcp://192.0.2.9:7000', { node: 2, port: 7000 }, { node: 4, port: 7001, scheme: 'tls' }] },
  }),
);

const lookups = (entries: Array<[string, Lookup]>) => new Map(entries);
const ENDPOINTS = new Map([['static.example:51820', '192.0.2.50:51820']]);
const ALL_FOUND = lookups([
  ['wireguard[0].peers[1]', { node: nodeInfo(2, { ipv4: '198.51.100.2/24' }) }],
  ['wireguard[0].peers[2]', { node: nodeInfo(3, { ipv6: '2001:db8::3/64' }) }],
  ['wireguard[0].peers[3]', { node: nodeInfo(4) }],
  ['planetary.peers[1]', { node: nodeInfo(2, { ipv4: '198.51.100.2/24' }) }],
  ['planetary.peers[2]', { node: nodeInfo(4, { ipv4: '198.51.100.4/24' }) }],
]);

describe('desiredState', () => {
  test('builds WireGuard and planetary peers from config and chain answers', () => {
    const d = desiredState(CONFIG, { lookups: ALL_FOUND, endpoints: ENDPOINTS }, EMPTY_STATE);
    const wg = [...d.wireguard.get('gw0')!.values()];
    assert.deepEqual(wg, [
      { source: 'wireguard[0].peers[0]', publicKey: STATIC_KEY, allowedIps: ['10.98.0.0/24', '10.99.0.0/24'], endpoint: '192.0.2.50:51820' },
      { source: 'wireguard[0].peers[1]', publicKey: identityWireGuardKey(accountKey(2)), allowedIps: ['10.20.2.0/24', '100.64.20.2/32'], endpoint: '198.51.100.2:51820' },
      {
        source: 'wireguard[0].peers[2]',
        persistentKeepalive: 25,
        publicKey: identityWireGuardKey(accountKey(3)),
        allowedIps: ['10.20.3.0/24', '100.64.20.3/32'],
        endpoint: '[2001:db8::3]:6000',
      },
      // Hidden node (no public config): no endpoint; its own key wins over the derived one.
      { source: 'wireguard[0].peers[3]', publicKey: OVERRIDE_KEY, allowedIps: ['10.20.4.0/24', '10.44.0.0/16', '100.64.20.4/32'] },
    ]);
    assert.deepEqual([...d.planetary], [
      ['tcp://192.0.2.9:7000', 'planetary.peers[0]'],
      [`tcp://198.51.100.2:7000?key=${accountKey(2).slice(2)}`, 'planetary.peers[1]'],
      [`tls://198.51.100.4:7001?key=${accountKey(4).slice(2)}`, 'planetary.peers[2]'],
    ]);
  });

  test('a node the chain does not know gives no peer', () => {
    const l = new Map(ALL_FOUND);
    l.set('wireguard[0].peers[1]', { missing: true });
    l.set('planetary.peers[1]', { missing: true });
    const d = desiredState(CONFIG, { lookups: l, endpoints: ENDPOINTS }, EMPTY_STATE);
    assert.deepEqual([...d.wireguard.get('gw0')!.values()].map((p) => p.source), ['wireguard[0].peers[0]', 'wireguard[0].peers[2]', 'wireguard[0].peers[3]']);
    assert.deepEqual([...d.planetary.values()], ['planetary.peers[0]', 'planetary.peers[2]']);
  });

  test('a node whose twin could not be read keeps its peer as it was, unless its key is given', () => {
    const before = desiredState(CONFIG, { lookups: ALL_FOUND, endpoints: ENDPOINTS }, EMPTY_STATE);
    const l = new Map(ALL_FOUND);
    l.set('wireguard[0].peers[1]', { node: nodeInfo(2, { ipv4: '198.51.100.99/24' }, false) });
    l.set('wireguard[0].peers[3]', { node: nodeInfo(4, { ipv4: '198.51.100.4/24' }, false) });
    l.set('planetary.peers[1]', { node: nodeInfo(2, { ipv4: '198.51.100.99/24' }, false) });
    const after = desiredState(CONFIG, { lookups: l, endpoints: ENDPOINTS }, before);
    const wg = after.wireguard.get('gw0')!;
    assert.equal(wg.get(identityWireGuardKey(accountKey(2)))?.endpoint, '198.51.100.2:51820', 'kept, not moved on half an answer');
    assert.equal(wg.get(OVERRIDE_KEY)?.endpoint, '198.51.100.4:51820', 'the given key needs no twin');
    assert.deepEqual([...after.planetary.keys()], [...before.planetary.keys()]);
    assert.equal(desiredState(CONFIG, { lookups: l, endpoints: ENDPOINTS }, EMPTY_STATE).wireguard.get('gw0')!.has(identityWireGuardKey(accountKey(2))), false);
  });

  test('a failed lookup keeps exactly what that entry had before', () => {
    const before = desiredState(CONFIG, { lookups: ALL_FOUND, endpoints: ENDPOINTS }, EMPTY_STATE);
    const l = new Map(ALL_FOUND);
    l.set('wireguard[0].peers[1]', { error: 'every backend failed' });
    l.set('planetary.peers[1]', { error: 'every backend failed' });
    l.set('wireguard[0].peers[2]', { missing: true });
    const after = desiredState(CONFIG, { lookups: l, endpoints: ENDPOINTS }, before);
    const wg = after.wireguard.get('gw0')!;
    assert.deepEqual(wg.get(identityWireGuardKey(accountKey(2))), before.wireguard.get('gw0')!.get(identityWireGuardKey(accountKey(2))));
    assert.equal(wg.has(identityWireGuardKey(accountKey(3))), false);
    assert.deepEqual([...after.planetary.keys()], [...before.planetary.keys()]);
    // With nothing before, a failure adds nothing.
    assert.equal(desiredState(CONFIG, { lookups: l, endpoints: ENDPOINTS }, EMPTY_STATE).wireguard.get('gw0')!.size, 2);
  });
});

// --- plan ---------------------------------------------------------------------------------------

const key = (i: number) => `k${String(i).padStart(2, '0')}`;
const peer = (i: number, over: Partial<WireGuardPeerSpec> = {}): WireGuardPeerSpec => ({
  publicKey: key(i),
  source: `s${i}`,
  endpoint: `192.0.2.${i}:51820`,
  allowedIps: [`10.20.${i}.0/24`],
  ...over,
});
const state = (wg: Record<string, WireGuardPeerSpec[]>, planetary: string[] = []): PeerState => ({
  wireguard: new Map(Object.entries(wg).map(([i, ps]) => [i, new Map(ps.map((p) => [p.publicKey, p]))])),
  planetary: new Map(planetary.map((u) => [u, 'src'])),
});
const kinds = (changes: Change[]) => changes.map((c) => ('uri' in c ? `${c.kind} ${c.uri}` : `${c.kind} ${c.iface} ${c.peer.publicKey}${c.kind === 'wireguard-update' ? ` ${c.fields.join(',')}` : ''}`));

describe('plan', () => {
  test('nothing to do between equal states, including empty ones', () => {
    assert.deepEqual(plan(EMPTY_STATE, EMPTY_STATE), []);
    const s = state({ gw0: [peer(1), peer(2)] }, ['tcp://a:1']);
    assert.deepEqual(plan(s, state({ gw0: [peer(1), peer(2)] }, ['tcp://a:1'])), []);
  });

  test('adds, removes and updates, removals first, then updates, then additions', () => {
    const current = state({ gw0: [peer(1), peer(2), peer(3)] }, ['tcp://old:1', 'tcp://same:1']);
    const desired = state({ gw0: [peer(1), peer(2, { endpoint: '192.0.2.99:51820' }), peer(4)] }, ['tcp://same:1', 'tcp://new:1']);
    assert.deepEqual(kinds(plan(desired, current)), [
      'wireguard-remove gw0 k03',
      'planetary-remove tcp://old:1',
      'wireguard-update gw0 k02 endpoint',
      'wireguard-add gw0 k04',
      'planetary-add tcp://new:1',
    ]);
  });

  test('each field is compared on its own', () => {
    const cur = state({ gw0: [peer(1)] });
    const one = (over: Partial<WireGuardPeerSpec>) => kinds(plan(state({ gw0: [peer(1, over)] }), cur));
    assert.deepEqual(one({ allowedIps: ['10.20.1.0/24', '100.64.20.1/32'] }), ['wireguard-update gw0 k01 allowedIps']);
    assert.deepEqual(one({ persistentKeepalive: 25 }), ['wireguard-update gw0 k01 persistentKeepalive']);
    assert.deepEqual(one({ persistentKeepalive: 0 }), [], 'keepalive 0 is the same as none');
    assert.deepEqual(one({ presharedKey: 'psk' }), ['wireguard-update gw0 k01 presharedKey']);
    assert.deepEqual(one({ endpoint: '192.0.2.1:51821', persistentKeepalive: 5 }), ['wireguard-update gw0 k01 endpoint,persistentKeepalive']);
    assert.deepEqual(one({ source: 'elsewhere' }), [], 'where a peer came from is not part of its configuration');
    const psk = state({ gw0: [peer(1, { presharedKey: 'psk' })] });
    assert.deepEqual(kinds(plan(cur, psk)), ['wireguard-update gw0 k01 presharedKey'], 'a removed PSK is a change too');
  });

  test('a peer without an endpoint opinion keeps the endpoint it has', () => {
    const { endpoint: _, ...hidden } = peer(1);
    assert.deepEqual(plan(state({ gw0: [hidden] }), state({ gw0: [peer(1)] })), []);
    const result = applied(state({ gw0: [peer(1)] }), [{ kind: 'wireguard-update', iface: 'gw0', peer: { ...hidden, persistentKeepalive: 9 }, fields: ['persistentKeepalive'] }]);
    assert.equal(result.wireguard.get('gw0')!.get('k01')!.endpoint, '192.0.2.1:51820');
  });

  test('interfaces are planned independently; one missing on either side counts as empty', () => {
    const desired = state({ gw0: [peer(1)], gw1: [peer(1)] });
    const current = state({ gw1: [peer(1, { endpoint: '192.0.2.7:1' })], gw2: [peer(2)] });
    assert.deepEqual(kinds(plan(desired, current)), ['wireguard-remove gw2 k02', 'wireguard-update gw1 k01 endpoint', 'wireguard-add gw0 k01']);
  });

  test('a key that changes is a removal and an addition (a different peer to WireGuard)', () => {
    assert.deepEqual(kinds(plan(state({ gw0: [peer(2, { source: 's1' })] }), state({ gw0: [peer(1)] }))), ['wireguard-remove gw0 k01', 'wireguard-add gw0 k02']);
  });

  // Random states over a small universe, so collisions (same key, same URI) are common.
  test('property: applying the plan reaches the desired state, never touches an equal peer, and is idempotent', () => {
    let seed = 0x5eed;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const randomPeer = (i: number): WireGuardPeerSpec => ({
      publicKey: key(i),
      source: `s${rand(3)}`,
      allowedIps: [...new Set([`10.20.${rand(3)}.0/24`, `100.64.20.${rand(3)}/32`])].sort(),
      ...(rand(4) > 0 && { endpoint: `192.0.2.${rand(3)}:51820` }),
      ...(rand(3) === 0 && { persistentKeepalive: rand(2) * 25 }),
      ...(rand(4) === 0 && { presharedKey: `psk${rand(2)}` }),
    });
    const randomState = (): PeerState =>
      state(
        Object.fromEntries(['gw0', 'gw1'].filter(() => rand(4) > 0).map((i) => [i, Array.from({ length: 8 }, (_, k) => k).filter(() => rand(2)).map(randomPeer)])),
        ['tcp://a:1', 'tcp://b:1', 'tls://c:1'].filter(() => rand(2)),
      );
    for (let round = 0; round < 500; round++) {
      const desired = randomState();
      // Desired peers always state an endpoint here, except where the current state's would do.
      const current = randomState();
      const changes = plan(desired, current);
      const after = applied(current, changes);
      assert.deepEqual(plan(desired, after), [], `round ${round}: not idempotent`);
      for (const iface of new Set([...desired.wireguard.keys(), ...current.wireguard.keys()])) {
        const want = desired.wireguard.get(iface) ?? new Map();
        const got = after.wireguard.get(iface) ?? new Map();
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `round ${round}: ${iface} peer set`);
        for (const [k, p] of want) {
          const have = current.wireguard.get(iface)?.get(k);
          const touched = changes.some((c) => 'iface' in c && c.iface === iface && c.peer.publicKey === k);
          const equal = have && have.allowedIps.join() === p.allowedIps.join() && (p.endpoint === undefined || p.endpoint === have.endpoint) &&
            (have.persistentKeepalive ?? 0) === (p.persistentKeepalive ?? 0) && have.presharedKey === p.presharedKey;
          assert.equal(touched, !equal, `round ${round}: ${iface} ${k} touched=${touched}`);
        }
      }
      assert.deepEqual([...after.planetary.keys()].sort(), [...desired.planetary.keys()].sort());
    }
  });
});
