// `gridwire status` as a user runs it (the CLI in a child process), without root: its UAPI directory
// is a temporary one (WG_SOCKET_DIR), served by real TUN-less devices in this process, and planetary
// nodes answer on admin sockets of their own. Also: nothing running, and sockets nobody answers on.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeKey, generatePrivateKey, publicKey } from '../src/keys/index.js';
import { generatePlanetaryConfig } from '../src/planetary/config.js';
import { PlanetaryNode } from '../src/planetary/node.js';
import { packageRoot } from '../src/package-root.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import { waitFor } from './lib/netns.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-status-'));
// Read once, when the UAPI server module loads: set before the dynamic import below.
process.env['WG_SOCKET_DIR'] = join(dir, 'wireguard');

function status(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(packageRoot(), 'dist', 'cli.js'), 'status', ...args], { env: process.env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

/** A unix socket file whose process died without removing it, as a crashed daemon leaves it. */
async function deadSocket(path: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  await new Promise((resolve) => spawn(process.execPath, ['-e', script], { stdio: 'ignore' }).on('exit', resolve));
  assert.ok(existsSync(path), 'the dead socket file is there');
}

const until = <T>(probe: () => T | Promise<T>, what: string, ms = 20_000) => waitFor(probe, ms, what);

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('status: nothing running is a clear message and exit 1; dead sockets are reported, not removed', async () => {
  const empty = await status(['--admin', `unix://${join(dir, 'none.sock')}`]);
  assert.equal(empty.code, 1, empty.stderr);
  assert.match(empty.stdout, /^Nothing is running: no WireGuard UAPI socket answers and no planetary admin socket was found\.\n/);
  assert.match(empty.stdout, new RegExp(`Problems\\n  unix://${join(dir, 'none.sock')}: no such socket\\n`));
  assert.equal(empty.stderr, '');

  const wgDir = process.env['WG_SOCKET_DIR']!;
  rmSync(wgDir, { recursive: true, force: true });
  await import('node:fs').then((fs) => fs.mkdirSync(wgDir, { recursive: true }));
  const deadWg = join(wgDir, 'gwdead0.sock');
  const deadAdmin = join(dir, 'dead-admin.sock');
  await deadSocket(deadWg);
  await deadSocket(deadAdmin);
  const dead = await status(['--admin', `unix://${deadAdmin}`]);
  assert.equal(dead.code, 1, dead.stderr);
  assert.match(dead.stdout, /Nothing is running/);
  assert.match(dead.stdout, new RegExp(`  ${deadWg}: dead socket: no daemon answers on it \\(connection refused\\)\\n`));
  assert.match(dead.stdout, new RegExp(`  unix://${deadAdmin}: dead socket: no daemon answers on it \\(connection refused\\)\\n`));
  assert.ok(existsSync(deadWg) && existsSync(deadAdmin), 'status only reads: the dead sockets are left for their owners');
  const json = JSON.parse((await status(['--json', '--admin', `unix://${deadAdmin}`])).stdout) as { wireguard: unknown[]; planetary: unknown[]; problems: Array<{ source: string }> };
  assert.deepEqual(json.wireguard, []);
  assert.deepEqual(json.planetary, []);
  assert.deepEqual(json.problems.map((p) => p.source), [deadWg, `unix://${deadAdmin}`]);
  rmSync(deadWg);

  const bad = await status(['--admin', 'ftp://x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^gridwire: status: --admin: invalid AdminListen 'ftp:\/\/x'\nusage: gridwire status/);
  assert.equal((await status(['--bogus'])).code, 2);
});

test('status: live WireGuard interfaces and planetary nodes, as a table and as JSON', { timeout: 90_000 }, async (t) => {
  const { UapiServer } = await import('../src/wireguard/uapi-server.js');
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const b = WireGuardDevice.create({ privateKey: kb, peers: [{ publicKey: publicKey(ka), allowedIps: ['10.0.0.1/32'] }] });
  const a = WireGuardDevice.create({ privateKey: ka });
  const ifname = `gws${process.pid % 100000}`;
  const uapi = await UapiServer.listen(ifname, { get: () => a.state(), set: (c) => a.apply(c) });
  const adminPath = join(dir, 'admin.sock');
  const config = () => ({ ...generatePlanetaryConfig(), IfName: 'none', MulticastInterfaces: [], AdminListen: 'none', Listen: ['tcp://127.0.0.1:0'] });
  const root = await PlanetaryNode.start(config());
  const node = await PlanetaryNode.start({ ...config(), AdminListen: `unix://${adminPath}`, Listen: [], Peers: [`tcp://127.0.0.1:${root.listenPorts()[0]}`] });
  t.after(async () => {
    await uapi.close();
    a.close();
    b.close();
    await node.close();
    await root.close();
  });
  a.setPeer({ publicKey: publicKey(kb), endpoint: `127.0.0.1:${b.listenPort}`, allowedIps: ['10.0.0.2/32', '10.1.0.0/16'], persistentKeepalive: 1 });
  const rootKey = Buffer.from(root.publicKey).toString('hex');
  const nodeKey = Buffer.from(node.publicKey).toString('hex');
  // The lower key is the root; either node may have it.
  const treeRoot = rootKey < nodeKey ? rootKey : nodeKey;

  type Json = { wireguard: Array<Record<string, any>>; planetary: Array<Record<string, any>>; problems: unknown[] };
  const report = await until(async () => {
    const r = await status(['--json', '--admin', `unix://${adminPath}`]);
    if (r.code !== 0) return undefined;
    const j = JSON.parse(r.stdout) as Json;
    const ready = j.wireguard[0]?.['peers'][0]?.['latestHandshake'] && j.planetary[0]?.['peers'][0]?.['up'] && j.planetary[0]?.['tree']?.['root'] === treeRoot;
    return ready ? j : undefined;
  }, 'a handshake, a planetary link and a tree');
  assert.deepEqual(report.problems, []);
  const wg = report.wireguard.find((i) => i['name'] === ifname)!;
  assert.equal(wg['publicKey'], encodeKey(publicKey(ka)));
  assert.equal(wg['listenPort'], a.listenPort);
  const peer = wg['peers'][0];
  const live = a.peers()[0]!;
  assert.equal(peer['publicKey'], encodeKey(publicKey(kb)));
  assert.equal(peer['endpoint'], `127.0.0.1:${b.listenPort}`);
  assert.deepEqual([...peer['allowedIps']].sort(), ['10.0.0.2/32', '10.1.0.0/16']);
  assert.deepEqual(peer['allowedIps'], live.allowedIps, 'in the daemon\'s order');
  assert.ok(peer['txBytes'] > 0 && peer['txBytes'] <= live.txBytes, `tx ${peer['txBytes']} vs ${live.txBytes} now`);
  assert.ok(Math.abs(peer['latestHandshake'] * 1000 - live.lastHandshake!.getTime()) < 5000);
  const pl = report.planetary[0]!;
  assert.equal(pl['address'], node.address);
  assert.equal(pl['subnet'], node.subnet);
  assert.equal(pl['key'], nodeKey);
  assert.deepEqual(pl['tree'], { root: treeRoot, parent: treeRoot === nodeKey ? nodeKey : rootKey, depth: treeRoot === nodeKey ? 0 : 1 });
  assert.equal(pl['peers'][0]['key'], rootKey);
  assert.equal(pl['peers'][0]['inbound'], false);
  assert.equal(pl['peers'][0]['remote'], `tcp://127.0.0.1:${root.listenPorts()[0]}`);

  const text = await status(['--admin', `unix://${adminPath}`]);
  assert.equal(text.code, 0, text.stderr);
  t.diagnostic(`\n${text.stdout}`);
  const kbShort = encodeKey(publicKey(kb)).slice(0, 10);
  assert.match(text.stdout, new RegExp(`^WireGuard interfaces\\n  INTERFACE +PUBLIC KEY +LISTEN PORT +PEERS\\n(  .*\\n)*  ${ifname} +${escape(encodeKey(publicKey(ka)))} +${a.listenPort} +1\\n`, 'm'));
  assert.match(text.stdout, new RegExp(`  ${ifname} +${escape(kbShort)}… +127\\.0\\.0\\.1:${b.listenPort} +${escape(live.allowedIps.join(', '))} +(Now|(\\d+ seconds?(, )?)+ ago) +[\\d.]+ (B|KiB) / [\\d.]+ (B|KiB)\\n`));
  assert.match(text.stdout, new RegExp(`Planetary node \\(unix://${escape(adminPath)}\\)\\n  address +${escape(node.address)}\\n  subnet +${escape(node.subnet)}\\n  public key +${nodeKey}\\n  tree root +${treeRoot}`));
  assert.match(text.stdout, new RegExp(`Planetary peers\\n  URI +STATE +DIR +KEY +UPTIME +RX / TX\\n  tcp://127\\.0\\.0\\.1:${root.listenPorts()[0]} +up +out +${rootKey.slice(0, 16)}… +`));
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
