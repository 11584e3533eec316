// `gridwire up node.json` in two namespaces, peers named by node id through a registry file: a
// WireGuard handshake and a ping, planetary peering pinned to the node's identity, then registry
// changes that the running processes apply as differences while the unchanged session stays up.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeSs58, formatRegistry, type NodeRecord, type TwinRecord } from '../src/chain/index.js';
import { generatePlanetaryKey, planetaryPublicKey } from '../src/keys/index.js';
import { Keystore } from '../src/keystore/index.js';
import { identityWireGuardKey } from '../src/node/zos.js';
import { adminRequest } from '../src/observe/admin-client.js';
import { packageRoot } from '../src/package-root.js';
import { requirePeer, withLab, type Lab } from './lib/netns.js';

const CLI = join(packageRoot(), 'dist', 'cli.js');
const PORT = 51820;
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

interface Member {
  readonly nodeId: number;
  readonly accountKey: string;
  ipv4?: string;
}

function registry(members: Member[]): string {
  const twins: TwinRecord[] = members.map((m) => ({
    twinId: 100 + m.nodeId,
    accountId: encodeSs58(Buffer.from(m.accountKey.slice(2), 'hex')),
    accountKey: m.accountKey,
    relays: [],
  }));
  const nodes: NodeRecord[] = members.map((m) => ({ nodeId: m.nodeId, twinId: 100 + m.nodeId, farmId: 1, ...(m.ipv4 && { publicConfig: { ipv4: m.ipv4 } }) }));
  return formatRegistry({ twins, nodes });
}

// Replaced whole, as a registry update should be: the resolver never reads half a file.
async function publish(path: string, members: Member[]): Promise<void> {
  await writeFile(`${path}.tmp`, registry(members));
  await rename(`${path}.tmp`, path);
}

/** `wg show <iface> <what>` as key → value. */
async function wgShow(lab: Lab, ns: string, iface: string, what: 'endpoints' | 'latest-handshakes'): Promise<Map<string, string>> {
  const r = await lab.exec(ns, ['wg', 'show', iface, what]);
  assert.equal(r.code, 0, r.stderr);
  return new Map(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
}

test('gridwire up node.json: peers by node id from a registry, applied as differences when it changes', { timeout: 180_000 }, async (t) => {
  if (!requirePeer(t, ['wg', 'ping'])) return;
  await withLab(t, async (lab) => {
    const dir = await mkdtemp(join(tmpdir(), 'gridwire-node-up-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await lab.addNamespace('a');
    await lab.addNamespace('b');
    await lab.link('a', 'b', { a: { addrs: ['10.211.1.1/24'] }, b: { addrs: ['10.211.1.2/24'] } });

    const store = new Keystore(join(dir, 'keys'));
    const a = await store.create('a', 'planetary');
    const b = await store.create('b', 'planetary');
    // Nodes 3 and 4 exist only on the chain: peers whose changes the test watches being applied.
    const member = (nodeId: number, publicKey: string, ipv4?: string): Member => ({ nodeId, accountKey: `0x${publicKey}`, ...(ipv4 && { ipv4 }) });
    const ghost = (nodeId: number, ipv4: string) => member(nodeId, hex(planetaryPublicKey(generatePlanetaryKey())).slice(2), ipv4);
    const one = member(1, a.publicKey, '10.211.1.1/24');
    const two = member(2, b.publicKey, '10.211.1.2/24');
    const three = ghost(3, '10.211.1.3/24');
    const four = ghost(4, '10.211.1.4/24');
    const regPath = join(dir, 'registry.json');
    await publish(regPath, [one, two, three]);

    const tag = `n${process.pid % 100000}`;
    const wgA = `${tag}a`;
    const wgB = `${tag}b`;
    const sockA = join(dir, 'a.sock');
    const nodeFile = (name: string, key: string, subnet: string, peers: object[], planetary: object) => ({
      keystore: 'keys',
      chain: { registry: 'registry.json', refreshSeconds: 1 },
      wireguard: [{ name, key: `keystore:${key}`, listenPort: PORT, network: { ipRange: '10.20.0.0/16', subnet }, peers }],
      planetary: { key: `keystore:${key}`, ifName: `${name}p`, ...planetary },
      log: { level: 'info' },
    });
    await writeFile(
      join(dir, 'a.json'),
      JSON.stringify(
        nodeFile(wgA, 'a', '10.20.1.0/24', [2, 3, 4].map((n) => ({ node: n, subnet: `10.20.${n}.0/24` })), {
          adminListen: `unix://${sockA}`,
          peers: [{ node: 2, port: 7000 }],
        }),
      ),
      { mode: 0o600 },
    );
    await writeFile(join(dir, 'b.json'), JSON.stringify(nodeFile(wgB, 'b', '10.20.2.0/24', [{ node: 1, subnet: '10.20.1.0/24' }], { listen: ['tcp://0.0.0.0:7000'] })), { mode: 0o600 });

    const upA = lab.spawn('a', [process.execPath, CLI, 'up', join(dir, 'a.json')]);
    const upB = lab.spawn('b', [process.execPath, CLI, 'up', join(dir, 'b.json')]);
    const keyB = identityWireGuardKey(two.accountKey);
    const key3 = identityWireGuardKey(three.accountKey);
    const key4 = identityWireGuardKey(four.accountKey);
    try {
      // The last changes of each node's first refresh.
      await upA.waitForOutput(/"msg":"planetary-add"/, 30_000);
      await upB.waitForOutput(/"msg":"wireguard-add"/, 30_000);

      // The peers came from the registry: derived keys, endpoints from the nodes' public config.
      const endpoints = await wgShow(lab, 'a', wgA, 'endpoints');
      assert.deepEqual([...endpoints].sort(), [[keyB, `10.211.1.2:${PORT}`], [key3, `10.211.1.3:${PORT}`]].sort());
      const allowed = new Map((await lab.exec('a', ['wg', 'show', wgA, 'allowed-ips'])).stdout.trim().split('\n').map((l) => l.split('\t') as [string, string]));
      assert.deepEqual(allowed.get(keyB)?.split(' ').sort(), ['10.20.2.0/24', '100.64.20.2/32']);
      assert.match((await lab.exec('a', ['ip', '-4', 'route', 'show', 'dev', wgA])).stdout, /^10\.20\.0\.0\/16 /m);

      await lab.waitFor(async () => (await lab.exec('a', ['ping', '-c', '1', '-W', '1', '100.64.20.2'])).code === 0, 20_000, 'a ping a → b over WireGuard');
      const handshake = (await wgShow(lab, 'a', wgA, 'latest-handshakes')).get(keyB);
      assert.ok(handshake && handshake !== '0', `no handshake with b: ${handshake}`);

      // Planetary: a peers with node 2 at its public address, pinned to its identity key.
      await lab.waitFor(
        async () => {
          const peers = ((await adminRequest(`unix://${sockA}`, 'getpeers').catch(() => ({ peers: [] }))).peers ?? []) as Array<{ key?: string; up?: boolean }>;
          return peers.some((p) => p.key === b.publicKey && p.up);
        },
        20_000,
        'a planetary link from a to b',
      );

      // The chain changes: node 3 moves, node 4 appears. Only those two peers change.
      three.ipv4 = '10.211.1.33/24';
      await publish(regPath, [one, two, three, four]);
      await lab.waitFor(
        async () => {
          const e = await wgShow(lab, 'a', wgA, 'endpoints');
          return e.get(key3) === `10.211.1.33:${PORT}` && e.get(key4) === `10.211.1.4:${PORT}`;
        },
        20_000,
        'node 3 to move and node 4 to appear on a',
      );
      assert.equal((await lab.exec('a', ['ping', '-c', '1', '-W', '2', '100.64.20.2'])).code, 0);
      assert.equal((await wgShow(lab, 'a', wgA, 'latest-handshakes')).get(keyB), handshake, 'the session with b was renewed: the unchanged peer was touched');
      const changes = upA.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; publicKey?: string; fields?: string[] });
      assert.deepEqual(changes.filter((c) => c.msg === 'wireguard-update').map((c) => [c.publicKey, c.fields]), [[key3, ['endpoint']]]);
      assert.deepEqual(changes.filter((c) => c.publicKey === keyB).map((c) => c.msg), ['wireguard-add'], 'b was only ever added');

      // Node 3 leaves the chain: its peer goes, b stays.
      await publish(regPath, [one, two, four]);
      await lab.waitFor(async () => !(await wgShow(lab, 'a', wgA, 'endpoints')).has(key3), 20_000, 'node 3 to be removed on a');
      assert.equal((await wgShow(lab, 'a', wgA, 'latest-handshakes')).get(keyB), handshake);

      // SIGTERM takes a down; deleting b's interface under it takes b down. Nothing is left either way.
      const [ra, rb] = await Promise.all([upA.kill(10_000), lab.exec('b', ['ip', 'link', 'del', wgB]).then(() => upB.exited)]);
      assert.equal(ra.code, 0, upA.describe());
      assert.equal(rb.code, 0, upB.describe());
      assert.match(upB.stderr, /"reason":"n\d+b was deleted","msg":"shutting down"/);
      for (const [ns, name] of [['a', wgA], ['a', `${wgA}p`], ['b', `${wgB}p`]] as const) {
        assert.notEqual((await lab.exec(ns, ['ip', 'link', 'show', name])).code, 0, `${name} is still there`);
      }
      assert.equal((await lab.exec('a', ['wg', 'show', 'interfaces'])).stdout.includes(tag), false, 'a UAPI socket was left behind');
    } catch (err) {
      t.diagnostic(upA.describe());
      t.diagnostic(upB.describe());
      throw err;
    }
  });
});
