// The pure parts of the chain lookups against known values: xxHash64 (vectors from libxxhash 0.8.1),
// Substrate's storage prefixes and keys, SS58, the SCALE reader's strictness, and the TFChain layouts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { BackendError } from '../src/chain/errors.js';
import { twox128, xxhash64 } from '../src/chain/hashing.js';
import { planetaryAddress } from '../src/chain/resolver.js';
import { ScaleError, ScaleReader, ScaleWriter } from '../src/chain/scale.js';
import { decodeSs58, encodeSs58, Ss58Error } from '../src/chain/ss58.js';
import { storageKeys, storagePrefix } from '../src/chain/storage.js';
import { decodeContract, decodeFarm, decodeNode, decodeTwin } from '../src/chain/tfchain.js';
import { ALICE_KEY, ALICE_SS58, encodeContract, encodeFarm, encodeNode, encodeTwin, GENERATOR_PK } from './lib/chain-fixtures.js';

const hex = (b: Uint8Array) => bytesToHex(b);

describe('xxhash64 / twox128', () => {
  // XXH64(data[:n], seed) from libxxhash, data[i] = (7i + 3) & 0xff; covers every tail path and the
  // 32-byte stripe loop.
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff);
  const vectors: [number, bigint, string][] = [
    [0, 0n, 'ef46db3751d8e999'],
    [0, 1n, 'd5afba1336a3be4b'],
    [1, 0n, '1f25c8d0bc1f4bb6'],
    [3, 1n, '2d80e074130d0176'],
    [4, 0n, '9bb64b7d66ee9fda'],
    [7, 0x9e3779b185ebca87n, 'cab876a70dc46b71'],
    [8, 0n, 'dab99d95c6f90092'],
    [12, 1n, '37851f0d89d23966'],
    [31, 0n, 'a2aa5f33cc4a6119'],
    [32, 0n, '23c3c17ef790fd97'],
    [32, 0x9e3779b185ebca87n, '7ce1c68e13aae778'],
    [33, 1n, '17b3df313de9a40e'],
    [63, 0n, '5e3e54b431c7493c'],
    [64, 1n, '2d0457940c5a93f4'],
    [100, 0n, 'a61f8d4c170fe531'],
    [100, 0x9e3779b185ebca87n, '9869d9ef85051be9'],
  ];
  for (const [n, seed, expected] of vectors) {
    test(`XXH64 of ${n} bytes, seed ${seed.toString(16)}`, () => {
      assert.equal(xxhash64(data.subarray(0, n), seed).toString(16).padStart(16, '0'), expected);
    });
  }

  test('twox128 gives the well-known System.Account prefix', () => {
    assert.equal(hex(twox128('System')), '26aa394eea5630e07c48ae0c9558cef7');
    assert.equal(hex(twox128('Account')), 'b99d880ec681799c0cf30e8886371da9');
  });
});

describe('storage keys', () => {
  test('prefixes of the items the resolver reads', () => {
    const expected: [string, string, string][] = [
      ['TfgridModule', 'Twins', '19a2526838feefd7695a3b5715b415b1311378229266fc86f673a3f4cf398e69'],
      ['TfgridModule', 'TwinIdByAccountID', '19a2526838feefd7695a3b5715b415b1aca6514962aa3f0d58aff3524045f9e0'],
      ['TfgridModule', 'Nodes', '19a2526838feefd7695a3b5715b415b1519dfc7fdad21b84f64a5310fa178ef2'],
      ['TfgridModule', 'NodeIdByTwinID', '19a2526838feefd7695a3b5715b415b1ca342256e8d948b15c6c497b8c2ea8d1'],
      ['TfgridModule', 'Farms', '19a2526838feefd7695a3b5715b415b1991668ecbcb25e4ae6f380a2cc63b670'],
      ['SmartContractModule', 'Contracts', '44cb2e51a1811cda53a74b4395e03d574342193e496fab7ec59d615ed0dc5530'],
      ['SmartContractModule', 'ContractIDByNameRegistration', '44cb2e51a1811cda53a74b4395e03d57364bdba29acc58a903c46b1daed736d1'],
    ];
    for (const [pallet, item, prefix] of expected) assert.equal(hex(storagePrefix(pallet, item)), prefix, `${pallet}.${item}`);
  });

  test('full map keys: Twins(7), Nodes(29), TwinIdByAccountID(Alice)', () => {
    assert.equal(
      storageKeys.twin(7),
      '0x19a2526838feefd7695a3b5715b415b1311378229266fc86f673a3f4cf398e6999850724010e3222888eeb8478c9ffd307000000',
    );
    assert.equal(storageKeys.node(29), '0x19a2526838feefd7695a3b5715b415b1519dfc7fdad21b84f64a5310fa178ef28f157199ac37e16ec1ddc5abacdf03e91d000000');
    // The blake2 part is the one in the well-known System.Account key of Alice.
    assert.equal(
      storageKeys.twinIdByAccount(ALICE_KEY),
      `0x19a2526838feefd7695a3b5715b415b1aca6514962aa3f0d58aff3524045f9e0de1e86a9a8c739864cf3cc5ec2bea59f${hex(ALICE_KEY)}`,
    );
  });

  test('a name key hashes the SCALE-encoded name (compact length first)', () => {
    const key = storageKeys.contractIdByName('web');
    assert.ok(key.endsWith('0c776562'), key);
    assert.equal(key.length, 2 + 2 * (32 + 16 + 4));
  });
});

describe('SS58', () => {
  test('Alice', () => {
    assert.equal(encodeSs58(ALICE_KEY), ALICE_SS58);
    assert.deepEqual(decodeSs58(ALICE_SS58), ALICE_KEY);
  });

  test('bad addresses are refused with the reason', () => {
    const flipped = ALICE_SS58.slice(0, -1) + (ALICE_SS58.endsWith('Y') ? 'Z' : 'Y');
    assert.throws(() => decodeSs58(flipped), (e: Error) => e instanceof Ss58Error && /checksum/.test(e.message));
    assert.throws(() => decodeSs58(ALICE_SS58.replace('G', '0')), /not base58/);
    assert.throws(() => decodeSs58(encodeSs58(ALICE_KEY, 0)), /prefix is 0, expected 42/);
    assert.throws(() => decodeSs58(ALICE_SS58.slice(0, 20)), /not a 32-byte/);
  });
});

describe('SCALE reader', () => {
  test('compact integers round-trip at every mode boundary', () => {
    for (const v of [0n, 1n, 63n, 64n, 16383n, 16384n, (1n << 30n) - 1n, 1n << 30n, (1n << 32n) - 1n, (1n << 64n) - 1n]) {
      const bytes = new ScaleWriter().compact(v).bytes();
      const r = new ScaleReader(bytes, 'compact');
      assert.equal(r.compact('n'), v);
      r.end();
    }
  });

  test('non-canonical compacts, bad booleans and option tags, overlong vectors, truncation, trailing bytes', () => {
    const read = (h: string, f: (r: ScaleReader) => unknown) => () => {
      const r = new ScaleReader(hexToBytes(h), 'v');
      f(r);
      r.end();
    };
    assert.throws(read('0100', (r) => r.compact('n')), /non-canonical/); // 0 in two-byte mode
    assert.throws(read('02000000', (r) => r.compact('n')), /non-canonical/);
    assert.throws(read('0300000000', (r) => r.compact('n')), /non-canonical/);
    assert.throws(read('02', (r) => r.bool('flag')), /v: flag: boolean byte is 2/);
    assert.throws(read('02', (r) => r.option('o', () => 0)), /option tag is 2/);
    assert.throws(read('1061626364', (r) => r.vecU8('s', 3)), /length 4 exceeds the bound 3/);
    assert.throws(read('14616263', (r) => r.vecU8('s')), /length 5 runs past the end/);
    assert.throws(read('010203', (r) => r.u32('id')), /id: value truncated/);
    assert.throws(read('0100000000', (r) => r.u32('id')), /1 unexpected trailing bytes/);
    assert.throws(read('08c328', (r) => r.text('s')), /not UTF-8/);
    assert.throws(read('03', (r) => r.variant('e', 3)), /unknown variant 3/);
    assert.throws(read('02', () => {}), ScaleError);
  });
});

describe('TFChain values', () => {
  test('Twin: the example value for twin 7 decodes to the normalised record', () => {
    const value = hexToBytes(
      '07000000d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d013472656c61792e677269642e74660001840279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    );
    assert.deepEqual(encodeTwin({ id: 7, account: ALICE_KEY, relay: 'relay.grid.tf', pk: hexToBytes(GENERATOR_PK.slice(2)) }), value);
    assert.deepEqual(decodeTwin(value, 'Twins(7)'), {
      twinId: 7,
      accountId: ALICE_SS58,
      accountKey: `0x${hex(ALICE_KEY)}`,
      relays: ['relay.grid.tf'],
      publicKey: GENERATOR_PK,
    });
  });

  test('Twin without relay or pk, with several relays, with entities', () => {
    const bare = decodeTwin(hexToBytes(`07000000${hex(ALICE_KEY)}000000`), 'Twins(7)');
    assert.deepEqual(bare.relays, []);
    assert.equal('publicKey' in bare, false);
    const multi = decodeTwin(
      encodeTwin({ id: 9, account: ALICE_KEY, relay: 'relay.grid.tf_Relay.02.grid.tf__relay.grid.tf', entities: [{ id: 1, signature: new Uint8Array(64) }] }),
      'Twins(9)',
    );
    assert.deepEqual(multi.relays, ['relay.grid.tf', 'relay.02.grid.tf']);
  });

  test('Twin values of the wrong length are malformed, never misread', () => {
    const good = encodeTwin({ id: 7, account: ALICE_KEY, relay: 'relay.grid.tf' });
    for (const bad of [good.subarray(0, good.length - 1), Uint8Array.from([...good, 0]), good.subarray(0, 20)]) {
      assert.throws(() => decodeTwin(bad, 'Twins(7)'), (e: Error) => e instanceof BackendError && e.kind === 'malformed' && /^Twins\(7\): /.test(e.message));
    }
    const longRelay = encodeTwin({ id: 7, account: ALICE_KEY, relay: 'a'.repeat(1025) });
    assert.throws(() => decodeTwin(longRelay, 'Twins(7)'), /exceeds the bound 1024/);
  });

  test('Node with a full public config, and without one', () => {
    const node = decodeNode(
      encodeNode({
        id: 11,
        farmId: 1,
        twinId: 29,
        serialNumber: 'ABC123',
        publicConfig: { ip4: { ip: '203.0.113.10/24', gw: '203.0.113.1' }, ip6: { ip: '2001:db8:1::10/64', gw: '2001:db8:1::1' }, domain: 'GW1.example.grid' },
      }),
      'Nodes(11)',
    );
    assert.deepEqual(node, {
      nodeId: 11,
      twinId: 29,
      farmId: 1,
      publicConfig: { ipv4: '203.0.113.10/24', gw4: '203.0.113.1', ipv6: '2001:db8:1::10/64', gw6: '2001:db8:1::1', domain: 'gw1.example.grid' },
    });
    assert.deepEqual(decodeNode(encodeNode({ id: 12, farmId: 1, twinId: 30 }), 'Nodes(12)'), { nodeId: 12, twinId: 30, farmId: 1 });
    const bogus = encodeNode({ id: 13, farmId: 1, twinId: 31, publicConfig: { ip4: { ip: 'not-an-ip', gw: '203.0.113.1' } } });
    assert.throws(() => decodeNode(bogus, 'Nodes(13)'), /ipv4 is not an IPv4 prefix/);
    const good = encodeNode({ id: 12, farmId: 1, twinId: 30 });
    assert.throws(() => decodeNode(good.subarray(0, good.length - 4), 'Nodes(12)'), /connection_price: value truncated/);
  });

  test('Farm public IPs, with and without farming policy limits', () => {
    const ips = [{ ip: '203.0.113.42/24', gateway: '203.0.113.1', contractId: 0 }, { ip: '203.0.113.43/24', gateway: '203.0.113.1', contractId: 77 }];
    for (const withLimits of [false, true]) {
      assert.deepEqual(decodeFarm(encodeFarm({ id: 1, publicIps: ips, withLimits }), 'Farms(1)'), {
        farmId: 1,
        publicIps: ips.map((p) => ({ ...p, farmId: 1 })),
      });
    }
  });

  test('Contract: name, node and rent contracts in each state', () => {
    assert.deepEqual(decodeContract(encodeContract({ id: 12, twinId: 7, state: 'GracePeriod', type: { name: 'web' } }), 'Contracts(12)'), {
      contractId: 12,
      twinId: 7,
      state: 'GracePeriod',
      name: 'web',
    });
    const node = decodeContract(encodeContract({ id: 13, twinId: 7, state: 'Deleted', type: { nodeId: 11, deploymentHash: 'f'.repeat(32) } }), 'Contracts(13)');
    assert.deepEqual(node, { contractId: 13, twinId: 7, state: 'Deleted' });
    const rent = decodeContract(encodeContract({ id: 14, twinId: 8, state: 'Created', type: { nodeId: 11, rent: true } }), 'Contracts(14)');
    assert.deepEqual(rent, { contractId: 14, twinId: 8, state: 'Created' });
  });

  test("a node's planetary address is yggdrasil's for its twin's key", () => {
    assert.deepEqual(planetaryAddress(`0x${hex(ALICE_KEY)}`), {
      address: '200:5794:d871:d404:59c7:3dd7:ca85:f6ac',
      subnet: '300:5794:d871:d404::/64',
    });
  });
});
