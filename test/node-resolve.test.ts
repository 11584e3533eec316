// The lookup half of peering from the chain, against a registry file: node and twin ids, a node the
// chain does not know, and a backend that fails (an outcome that keeps the peer, not one that drops it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeSs58, formatRegistry } from '../src/chain/index.js';
import { generatePlanetaryKey, planetaryPublicKey } from '../src/keys/index.js';
import { parseNodeConfig } from '../src/node/config.js';
import { chainResolver, lookupPeers } from '../src/node/resolve.js';

test('lookupPeers: node and twin ids through the registry, missing nodes, failing backends', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gridwire-node-resolve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = planetaryPublicKey(generatePlanetaryKey());
  const accountKey = `0x${Buffer.from(key).toString('hex')}`;
  writeFileSync(
    join(dir, 'registry.json'),
    formatRegistry({
      twins: [{ twinId: 102, accountId: encodeSs58(key), accountKey, relays: [] }],
      nodes: [{ nodeId: 2, twinId: 102, farmId: 1, publicConfig: { ipv4: '198.51.100.2/24' } }],
    }),
  );
  const config = (registry: string) =>
    parseNodeConfig(
      JSON.stringify({
        chain: { registry, timeoutSeconds: 2 },
        wireguard: [
          {
            name: 'gw0',
            key: 'keystore:me',
            listenPort: 51820,
            network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' },
            peers: [{ node: 2, subnet: '10.20.2.0/24' }, { twin: 102, subnet: '10.20.3.0/24' }, { node: 9, subnet: '10.20.9.0/24' }],
          },
        ],
        planetary: { key: 'keystore:me', peers: [{ node: 2, port: 7000 }] },
      }),
    );
  const good = config('registry.json');
  const found = await lookupPeers(good, chainResolver(good, dir), false);
  const node = (source: string) => {
    const l = found.get(source);
    assert.ok(l && 'node' in l, `${source}: ${JSON.stringify(l)}`);
    return l.node;
  };
  assert.equal(node('wireguard[0].peers[0]').publicConfig?.ipv4, '198.51.100.2/24');
  assert.equal(node('wireguard[0].peers[1]').nodeId, 2, 'twin 102 is the twin of node 2');
  assert.equal(node('wireguard[0].peers[1]').twin?.value.accountKey, accountKey);
  assert.equal(node('planetary.peers[0]').nodeId, 2);
  assert.deepEqual(found.get('wireguard[0].peers[2]'), { missing: true });

  const broken = config('no-such-registry.json');
  const failed = await lookupPeers(broken, chainResolver(broken, dir), false);
  assert.equal(failed.size, 4);
  for (const [source, l] of failed) assert.ok('error' in l && /no-such-registry\.json/.test(l.error), `${source}: ${JSON.stringify(l)}`);
});
