// `gridwire status` against the real daemons, each in a namespace of its own (root): `gridwire wg` on
// both ends of a veth, with JSON logs and the metrics endpoint on one, and `gridwire planetary` on both.
// Then one WireGuard daemon is killed hard, leaving its socket file behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeKey, generatePrivateKey, planetaryPublicKey, publicKey } from '../src/keys/index.js';
import { formatPlanetaryConfig, generatePlanetaryConfig } from '../src/planetary/config.js';
import { packageRoot } from '../src/package-root.js';
import { uapiSet } from '../src/wireguard/uapi-client.js';
import { requireRoot, withLab, type Lab } from './lib/netns.js';
import { parseExposition, sampleValue } from './lib/prometheus-text.js';

const CLI = join(packageRoot(), 'dist', 'cli.js');

type Report = { wireguard: Array<Record<string, any>>; planetary: Array<Record<string, any>>; problems: Array<{ source: string; message: string }> };

test('status: real gridwire wg and gridwire planetary daemons in namespaces', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'gw-status-ns-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await withLab(t, async (lab: Lab) => {
    await lab.addNamespace('a');
    await lab.addNamespace('b');
    await lab.link('a', 'b', { a: { addrs: ['10.201.0.1/24'] }, b: { addrs: ['10.201.0.2/24'] } });
    const wgDir = join(dir, 'wireguard');
    const env = { WG_SOCKET_DIR: wgDir };
    const ifA = `gwsa${process.pid % 10000}`;
    const ifB = `gwsb${process.pid % 10000}`;
    const wgA = lab.spawn('a', [process.execPath, CLI, 'wg', '-f', '--log-format', 'json', '--log-level', 'debug', '--metrics', '127.0.0.1:9586', ifA], { env });
    const wgB = lab.spawn('b', [process.execPath, CLI, 'wg', '-f', ifB], { env });
    await wgA.waitForOutput(/"msg":"interface up"/, 15_000);
    await wgB.waitForOutput(/up, UAPI at/, 15_000);
    const [ka, kb] = [generatePrivateKey(), generatePrivateKey()];
    const peer = (key: Uint8Array, endpoint: string | undefined, ip: string) => ({
      publicKey: publicKey(key), remove: false, updateOnly: false, ...(endpoint && { endpoint }), persistentKeepalive: 1,
      replaceAllowedIps: true, addAllowedIps: [{ address: Uint8Array.from(ip.split('.').map(Number)), bits: 32 }], removeAllowedIps: [],
    });
    assert.equal(await uapiSet(ifB, { privateKey: kb, listenPort: 51820, replacePeers: true, peers: [peer(ka, undefined, '10.202.0.1')] }, wgDir), 0);
    assert.equal(await uapiSet(ifA, { privateKey: ka, listenPort: 51820, replacePeers: true, peers: [peer(kb, '10.201.0.2:51820', '10.202.0.2')] }, wgDir), 0);

    const [pa, pb] = [generatePlanetaryConfig(), generatePlanetaryConfig()];
    const adminA = join(dir, 'pa.sock');
    const write = (name: string, config: object) => {
      const path = join(dir, name);
      writeFileSync(path, formatPlanetaryConfig(config as ReturnType<typeof generatePlanetaryConfig>, 'json'), { mode: 0o600 });
      return path;
    };
    const common = { IfName: 'none', MulticastInterfaces: [] };
    const planetaryA = lab.spawn('a', [process.execPath, CLI, 'planetary', '-useconffile', write('pa.json', { ...pa, ...common, AdminListen: `unix://${adminA}`, Listen: ['tcp://10.201.0.1:12345'] })], {
      env: { GRIDWIRE_METRICS: '127.0.0.1:9587' },
    });
    lab.spawn('b', [process.execPath, CLI, 'planetary', '-useconffile', write('pb.json', { ...pb, ...common, AdminListen: 'none', Peers: ['tcp://10.201.0.1:12345'] })]);
    const keyA = Buffer.from(planetaryPublicKey(pa.PrivateKey)).toString('hex');
    const keyB = Buffer.from(planetaryPublicKey(pb.PrivateKey)).toString('hex');
    const root = keyA < keyB ? keyA : keyB;

    const status = (args: string[]) => lab.exec('a', [process.execPath, CLI, 'status', '--admin', `unix://${adminA}`, ...args], { env, timeoutMs: 30_000 });
    const report = await lab.waitFor(async () => {
      const r = await status(['--json']);
      if (r.code !== 0) return undefined;
      const j = JSON.parse(r.stdout) as Report;
      const hs = j.wireguard.find((i) => i['name'] === ifA)?.['peers'][0]?.['latestHandshake'];
      return hs && j.planetary[0]?.['peers'].some((p: { up: boolean }) => p.up) && j.planetary[0]?.['tree']?.['root'] === root ? j : undefined;
    }, 30_000, 'a WireGuard handshake and a planetary link with an agreed root');
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.wireguard.map((i) => i['name']).sort(), [ifA, ifB].sort());
    const a = report.wireguard.find((i) => i['name'] === ifA)!;
    assert.equal(a['publicKey'], encodeKey(publicKey(ka)));
    assert.equal(a['listenPort'], 51820);
    assert.equal(a['peers'][0]['endpoint'], '10.201.0.2:51820');
    assert.ok(a['peers'][0]['rxBytes'] > 0 && a['peers'][0]['txBytes'] > 0);
    const b = report.wireguard.find((i) => i['name'] === ifB)!;
    assert.equal(b['peers'][0]['endpoint'], '10.201.0.1:51820', 'the responder learnt the endpoint');
    assert.equal(report.planetary[0]!['key'], keyA);
    assert.equal(report.planetary[0]!['peers'][0]['key'], keyB);
    assert.equal(report.planetary[0]!['peers'][0]['inbound'], true);

    const text = await status([]);
    assert.equal(text.code, 0, text.stderr);
    t.diagnostic(`\n${text.stdout}`);
    assert.match(text.stdout, new RegExp(`  ${ifA} +${encodeKey(publicKey(kb)).slice(0, 10).replace(/[+/]/g, '\\$&')}… +10\\.201\\.0\\.2:51820 +10\\.202\\.0\\.2/32 +(Now|.* ago) +`));
    assert.match(text.stdout, new RegExp(`  tree root +${root}`));
    assert.match(text.stdout, /Planetary peers\n  URI +STATE +DIR +KEY +UPTIME +RX \/ TX\n  tcp:\/\/10\.201\.0\.2:\d+ +up +in +/);

    // The metrics endpoint of wg A, scraped from inside its namespace.
    const scrape = await lab.exec('a', [process.execPath, '-e', "fetch('http://127.0.0.1:9586/metrics').then(r => r.text()).then(t => process.stdout.write(t))"], { timeoutMs: 15_000 });
    const m = parseExposition(scrape.stdout);
    const peerB = encodeKey(publicKey(kb));
    assert.ok(sampleValue(m, 'gridwire_wg_peer_handshakes_total', { interface: ifA, peer: peerB }) >= 1);
    assert.ok(sampleValue(m, 'gridwire_wg_peer_receive_bytes_total', { interface: ifA, peer: peerB }) >= a['peers'][0]['rxBytes'], 'counters only grow');
    // Planetary A's endpoint (GRIDWIRE_METRICS) counts the link to B.
    await planetaryA.waitForOutput(/metrics at http:\/\/127\.0\.0\.1:9587\/metrics/, 5_000);
    const scrapeP = await lab.exec('a', [process.execPath, '-e', "fetch('http://127.0.0.1:9587/metrics').then(r => r.text()).then(t => process.stdout.write(t))"], { timeoutMs: 15_000 });
    const mp = parseExposition(scrapeP.stdout);
    assert.equal(sampleValue(mp, 'gridwire_planetary_peer_up', { key: keyB, direction: 'inbound' }), 1);
    assert.ok(sampleValue(mp, 'gridwire_planetary_peer_receive_bytes_total', { key: keyB, direction: 'inbound' }) > 0);
    // And its JSON log of the same handshake.
    const logged = wgA.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(logged.some((r) => r['msg'] === 'handshake completed' && r['peer'] === peerB && r['interface'] === ifA), wgA.stderr);
    assert.ok(logged.some((r) => r['msg'] === 'metrics endpoint listening' && r['port'] === 9586));

    // B dies without cleaning up: its socket file stays, and status says so without failing.
    process.kill(-wgB.pid, 'SIGKILL');
    await wgB.exited;
    const after = JSON.parse((await status(['--json'])).stdout) as Report;
    assert.deepEqual(after.wireguard.map((i) => i['name']), [ifA]);
    assert.deepEqual(after.problems, [{ source: join(wgDir, `${ifB}.sock`), message: 'dead socket: no daemon answers on it (connection refused)' }]);
    assert.equal((await status([])).code, 0, 'something still runs');
  });
});
