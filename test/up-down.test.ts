// `gridwire up/down/show` as wg-quick and wg would behave: a conf file brought up in a namespace
// reaches a real wireguard-go over veth, `gridwire show` prints exactly what `wg show` prints (also for
// crafted states served by a fake daemon), failures leave nothing behind, and down removes it all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { encodeKey, generatePresharedKey, generatePrivateKey, publicKey } from '../src/keys/index.js';
import type { DeviceState } from '../src/wireguard/uapi.js';
import { UapiServer } from '../src/wireguard/uapi-server.js';
import { peerPath, requirePeer, requireRoot, withLab, type ExecResult, type Lab } from './lib/netns.js';
import { packageRoot } from '../src/package-root.js';


const CLI = join(packageRoot(), 'dist', 'cli.js');
const WG = peerPath('wg');
const sock = (ifname: string) => `/var/run/wireguard/${ifname}.sock`;

function run(argv: readonly string[], env: Record<string, string> = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, signal: null, stdout, stderr }),
    );
  });
}

const UNIT_SECONDS: Record<string, number> = { year: 365 * 86400, day: 86400, hour: 3600, minute: 60, second: 1 };

/** Output with each handshake age replaced by a placeholder, and those ages in seconds. */
function splitAges(out: string): { text: string; ages: number[] } {
  const ages: number[] = [];
  const text = out.replace(/(latest handshake\S*: )(Now|.*? ago)\n/g, (_, head: string, age: string) => {
    const plain = age.replace(/\x1b\[[^m]*m/g, '');
    ages.push([...plain.matchAll(/(\d+) (year|day|hour|minute|second)/g)].reduce((sum, m) => sum + Number(m[1]) * UNIT_SECONDS[m[2]!]!, 0));
    return `${head}<age>\n`;
  });
  return { text, ages };
}

/**
 * `wg show` output changes with the clock (handshake ages) and traffic. gridwire's output must equal
 * wg's byte for byte except for the ages, which must lie between those wg printed just before and
 * just after it; a change of anything else meanwhile (a keepalive counted) means try again.
 */
async function assertSameAsWg(show: (argv: string[]) => Promise<ExecResult>, args: string[]): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [before, ours, after] = [await show([WG, 'show', ...args]), await show([process.execPath, CLI, 'show', ...args]), await show([WG, 'show', ...args])];
    const [b, o, a] = [before, ours, after].map((r) => splitAges(r.stdout)) as [ReturnType<typeof splitAges>, ReturnType<typeof splitAges>, ReturnType<typeof splitAges>];
    if (b.text !== a.text || before.code !== after.code) continue;
    assert.equal(before.code, 0, before.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(o.text, b.text, `gridwire show ${args.join(' ')} differs from wg show`);
    o.ages.forEach((age, i) => assert.ok(b.ages[i]! <= age && age <= a.ages[i]!, `handshake age ${age} s not within wg's ${b.ages[i]}..${a.ages[i]} s`));
    return;
  }
  assert.fail(`wg show ${args.join(' ')} kept changing`);
}

test('show: byte-for-byte wg show output for crafted states (units, ages, sorting, colours)', async (t) => {
  if (!requirePeer(t, 'wg')) return;
  const now = Math.floor(Date.now() / 1000);
  const peer = (over: Partial<DeviceState['peers'][0]>): DeviceState['peers'][0] => ({
    publicKey: publicKey(generatePrivateKey()), presharedKey: null, endpoint: null, lastHandshakeSec: 0, lastHandshakeNsec: 0,
    txBytes: 0n, rxBytes: 0n, persistentKeepalive: 0, allowedIps: [], ...over,
  });
  const full: DeviceState = {
    privateKey: generatePrivateKey(),
    listenPort: 51820,
    fwmark: 0xabcdef,
    peers: [
      peer({ allowedIps: [] }),
      peer({ lastHandshakeSec: now - (365 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5), rxBytes: 1152n, txBytes: 1023n,
        presharedKey: generatePresharedKey(), endpoint: '[fd00::1]:51820', persistentKeepalive: 3661,
        allowedIps: ['10.0.0.0/8', 'fd00::/64', '192.168.1.1/32'] }),
      peer({ lastHandshakeSec: now - 61, lastHandshakeNsec: 100, rxBytes: 1179648n, txBytes: 3n * 2n ** 40n + 12345n,
        endpoint: '10.1.2.3:4', persistentKeepalive: 1 }),
      peer({ lastHandshakeSec: now - 61, lastHandshakeNsec: 200, rxBytes: 5n * 2n ** 30n, txBytes: 0n, persistentKeepalive: 60 }),
      peer({ lastHandshakeSec: now + 1000, txBytes: 1n }),
    ],
  };
  const empty: DeviceState = { privateKey: null, listenPort: 0, fwmark: 0, peers: [] };
  const names = [`gwf${process.pid}`, `gwe${process.pid}`];
  const servers = await Promise.all([full, empty].map((state, i) => UapiServer.listen(names[i]!, { get: () => state, set: () => {} })));
  t.after(() => Promise.all(servers.map((s) => s.close())));
  for (const env of [{}, { WG_COLOR_MODE: 'always' }, { WG_HIDE_KEYS: 'never' }] as Record<string, string>[]) {
    for (const name of names) await assertSameAsWg((argv) => run(argv, env), [name]);
  }
  const listed = await run([process.execPath, CLI, 'show', 'interfaces']);
  for (const name of names) assert.match(listed.stdout, new RegExp(`(^| )${name}( |\n)`));
  const missing = await run([process.execPath, CLI, 'show', `gwx${process.pid}`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /unable to access interface/);
});

async function keyFile(dir: string, key: Uint8Array): Promise<string> {
  const path = join(dir, `${encodeKey(key).slice(0, 8).replace(/\//g, '_')}.key`);
  await writeFile(path, `${encodeKey(key)}\n`, { mode: 0o600 });
  return path;
}

async function startWireguardGo(lab: Lab, dir: string, ifname: string, privateKey: Uint8Array, peerPublic: Uint8Array): Promise<void> {
  const wggo = lab.spawn('b', [peerPath('wireguard-go-new'), '-f', ifname]);
  await lab.waitFor(() => existsSync(sock(ifname)) || !wggo.running, 10_000, `${ifname}.sock`);
  assert.ok(wggo.running, wggo.describe());
  for (const argv of [
    [WG, 'set', ifname, 'private-key', await keyFile(dir, privateKey), 'listen-port', '51821', 'peer', encodeKey(peerPublic),
      'allowed-ips', '10.77.0.1/32'],
    ['ip', 'address', 'add', '10.77.0.2/24', 'dev', ifname],
    ['ip', 'link', 'set', ifname, 'up'],
  ]) {
    const r = await lab.exec('b', argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
}

test('up/show/down: a wg-quick file in a namespace talks to wireguard-go', { timeout: 120_000 }, async (t: TestContext) => {
  if (!requirePeer(t, ['wg', 'wireguard-go-new', 'ping'])) return;
  const dir = await mkdtemp(join(tmpdir(), 'gw-up-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await withLab(t, async (lab) => {
    await lab.addNamespace('a');
    await lab.addNamespace('b');
    await lab.link('a', 'b', { a: { addrs: ['10.231.0.1/24'] }, b: { addrs: ['10.231.0.2/24'] } });
    const gridwire = (args: string[]) => lab.exec('a', [process.execPath, CLI, ...args]);
    const [ifA, ifB] = [`gwu${process.pid}`, `gwg${process.pid}`];
    const [privA, privB] = [generatePrivateKey(), generatePrivateKey()];
    await startWireguardGo(lab, dir, ifB, privB, publicKey(privA));

    const conf = join(dir, `${ifA}.conf`);
    await writeFile(conf, `[Interface]
PrivateKey = ${encodeKey(privA)}
ListenPort = 51820
Address = 10.77.0.1/24

[Peer] # wireguard-go in namespace b
PublicKey = ${encodeKey(publicKey(privB))}
Endpoint = 10.231.0.2:51821
AllowedIPs = 10.77.0.2/32

[Peer] # nobody listens there
PublicKey = ${encodeKey(publicKey(generatePrivateKey()))}
PresharedKey = ${encodeKey(generatePresharedKey())}
Endpoint = localhost:51999
AllowedIPs = 10.78.0.0/16, fd78::/64
PersistentKeepalive = 25
`, { mode: 0o600 });

    const up = await gridwire(['up', conf]);
    assert.equal(up.code, 0, up.stderr);
    for (const line of [`[#] gridwire wg ${ifA}`, `[#] ip -4 address add 10.77.0.1/24 dev ${ifA}`, `[#] ip link set mtu 1420 up dev ${ifA}`,
      `[#] ip -6 route add fd78::/64 dev ${ifA}`, `[#] ip -4 route add 10.78.0.0/16 dev ${ifA}`]) {
      assert.ok(up.stderr.includes(`${line}\n`), `missing '${line}' in:\n${up.stderr}`);
    }
    assert.doesNotMatch(up.stderr, /route add 10\.77\.0\.2/, 'the Address subnet already routes the /32');
    const routes = (await lab.exec('a', ['ip', '-4', 'route', 'show', 'dev', ifA])).stdout;
    assert.match(routes, /^10\.78\.0\.0\/16 /m);

    await lab.waitFor(async () => (await lab.exec('a', ['ping', '-c', '1', '-W', '1', '10.77.0.2'])).code === 0, 20_000, 'ping through the tunnel');
    const ping = await lab.exec('a', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.77.0.2']);
    assert.equal(ping.code, 0, ping.stdout);

    const inA = (argv: string[], env: Record<string, string> = {}) => lab.exec('a', argv, { env });
    await assertSameAsWg(inA, [ifA]);
    await assertSameAsWg((argv) => inA(argv, { WG_COLOR_MODE: 'always' }), [ifA]);
    assert.match((await gridwire(['show', 'interfaces'])).stdout, new RegExp(`(^| )${ifA}( |\n)`));
    await assertSameAsWg((argv) => lab.exec('b', argv), [ifB]); // a wireguard-go get reply

    // A failure after the daemon started tears everything down again.
    const ifBad = `gwv${process.pid}`;
    const bad = join(dir, `${ifBad}.conf`);
    await writeFile(bad, `[Interface]\nPrivateKey = ${encodeKey(generatePrivateKey())}\nAddress = 10.79.0.1/24, 10.79.0.1/24\n`);
    const failed = await gridwire(['up', bad]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, new RegExp(`\\[#\\] ip link delete dev ${ifBad}\n`));
    assert.match(failed.stderr, /\ngridwire: up: 'ip -4 address add 10\.79\.0\.1\/24 dev gwv\d+' failed: .*\n$/);
    assert.notEqual((await lab.exec('a', ['ip', 'link', 'show', 'dev', ifBad])).code, 0);
    assert.equal(existsSync(sock(ifBad)), false);

    // Full-tunnel routes are refused before anything is started.
    const full = join(dir, `gwd${process.pid}.conf`);
    await writeFile(full, `[Peer]\nPublicKey = ${encodeKey(publicKey(generatePrivateKey()))}\nAllowedIPs = 10.0.0.0/8, ::/0\n`);
    const refused = await gridwire(['up', full]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `gridwire: up: AllowedIPs ::/0 needs full-tunnel policy routing, which gridwire up does not support yet (use Table = off and route it yourself, or a numbered Table)\n`);

    const again = await gridwire(['up', conf]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `gridwire: up: '${ifA}' already exists\n`);

    const down = await gridwire(['down', conf]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stderr, `[#] ip link delete dev ${ifA}\n`);
    assert.equal(existsSync(sock(ifA)), false);
    assert.notEqual((await lab.exec('a', ['ip', 'link', 'show', 'dev', ifA])).code, 0);
    const twice = await gridwire(['down', ifA]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /is not a userspace WireGuard interface/);
  });
});

test('up: SIGINT or SIGTERM while the interface is being configured takes it down again, as wg-quick\'s trap does', { timeout: 120_000 }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  const dir = await mkdtemp(join(tmpdir(), 'gw-up-signal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await withLab(t, async (lab) => {
    await lab.addNamespace('a');
    for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const ifname = `gws${signal.length}${process.pid}`.slice(0, 15);
      // A daemon killed by the lab's cleanup (when this test fails) cannot remove its socket itself.
      t.after(() => rm(sock(ifname), { force: true }));
      const conf = join(dir, `${ifname}.conf`);
      // One `ip address add` per address: slow enough to signal gridwire up between two of them.
      const addresses = Array.from({ length: 3000 }, (_, i) => `10.${80 + (i >> 8)}.${i & 255}.1/32`).join(', ');
      await writeFile(conf, `[Interface]\nPrivateKey = ${encodeKey(generatePrivateKey())}\nAddress = ${addresses}\n`, { mode: 0o600 });
      const up = lab.spawn('a', [process.execPath, CLI, 'up', conf]);
      await up.waitForOutput(/\[#\] ip -4 address add 10\.80\.0\.1\/32/, 30_000);
      process.kill(up.pid, signal); // gridwire up alone, not its process group
      const r = await up.exited;
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, new RegExp(`\\[#\\] ip link delete dev ${ifname}\n`));
      assert.match(r.stderr, new RegExp(`\ngridwire: up: interrupted by ${signal}\n$`));
      assert.notEqual((await lab.exec('a', ['ip', 'link', 'show', 'dev', ifname])).code, 0, `${ifname} left behind`);
      assert.equal(existsSync(sock(ifname)), false);
    }
  });
});
