// Keys and configs a node.json names: keystore references of either type, the identity-derived
// WireGuard key, planetary config files and inline fields, static endpoints with host names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeKey, generatePlanetaryKey, planetaryPublicKey, publicKey } from '../src/keys/index.js';
import { Keystore } from '../src/keystore/index.js';
import { createLogger } from '../src/observe/log.js';
import { parseNodeConfig } from '../src/node/config.js';
import { planetaryPrivateKey, wireGuardPrivateKey } from '../src/node/keys.js';
import { planetaryConfig } from '../src/node/planetary.js';
import { resolveEndpoints } from '../src/node/resolve.js';
import { identityWireGuardKey } from '../src/node/zos.js';
import { formatPlanetaryConfig, generatePlanetaryConfig } from '../src/planetary/config.js';

const dir = mkdtempSync(join(tmpdir(), 'gridwire-node-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = new Keystore(join(dir, 'keys'));
const silent = createLogger({ level: 'silent' });

test('a WireGuard interface runs on a wireguard key, an inline key, or a planetary identity', async () => {
  const wg = await store.create('wg', 'wireguard');
  assert.equal(encodeKey(publicKey(await wireGuardPrivateKey('keystore:wg', store))), wg.publicKey);
  const inline = encodeKey(new Uint8Array(32).fill(7));
  assert.deepEqual(await wireGuardPrivateKey(inline, store), new Uint8Array(32).fill(7));
  // The identity's X25519 form is the key peers derive from the chain's account key.
  const id = await store.create('id', 'planetary');
  assert.equal(encodeKey(publicKey(await wireGuardPrivateKey('keystore:id', store))), identityWireGuardKey(id.publicKey));
  await assert.rejects(wireGuardPrivateKey('keystore:nope', store), /no key named 'nope'/);
});

test('the planetary node needs a planetary key', async () => {
  await store.create('p', 'planetary');
  const key = await planetaryPrivateKey('keystore:p', store);
  assert.equal(Buffer.from(planetaryPublicKey(key)).toString('hex'), (await store.load('p')).publicKey);
  await store.create('w', 'wireguard');
  await assert.rejects(planetaryPrivateKey('keystore:w', store), { message: "key 'w' is a wireguard key; the planetary node needs a planetary key" });
});

test('planetary config: inline fields over quiet defaults, or a yggdrasil file relative to node.json', async () => {
  await store.create('me', 'planetary');
  const inline = await planetaryConfig({ key: 'keystore:me', listen: ['tcp://0.0.0.0:7000'], ifName: 'gp0' }, dir, store, silent);
  assert.deepEqual([inline.Listen, inline.IfName, inline.AdminListen, inline.MulticastInterfaces, inline.Peers], [['tcp://0.0.0.0:7000'], 'gp0', 'none', [], []]);
  const key = generatePlanetaryKey();
  writeFileSync(join(dir, 'ygg.conf'), formatPlanetaryConfig({ ...generatePlanetaryConfig(key), Peers: ['tcp://192.0.2.1:1'] }, 'hjson'), { mode: 0o600 });
  const fromFile = await planetaryConfig({ config: 'ygg.conf' }, dir, store, silent);
  assert.deepEqual(fromFile.PrivateKey, key);
  assert.deepEqual(fromFile.Peers, ['tcp://192.0.2.1:1']);
  await assert.rejects(planetaryConfig({ config: 'missing.conf' }, dir, store, silent), /cannot read config .*missing\.conf/);
});

test('static endpoints with host names are resolved once; numeric ones pass as they are', async () => {
  const config = parseNodeConfig(
    JSON.stringify({
      wireguard: [
        {
          name: 'gw0',
          key: encodeKey(new Uint8Array(32).fill(1)),
          peers: [
            { publicKey: encodeKey(new Uint8Array(32).fill(2)), endpoint: 'localhost:51820' },
            { publicKey: encodeKey(new Uint8Array(32).fill(3)), endpoint: '[2001:db8::1]:1' },
          ],
        },
      ],
    }),
  );
  const resolved = await resolveEndpoints(config);
  assert.match(resolved.get('localhost:51820')!, /^(127\.0\.0\.1|\[::1\]):51820$/);
  assert.equal(resolved.get('[2001:db8::1]:1'), '[2001:db8::1]:1');
});
