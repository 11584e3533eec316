// Tests of the namespace lab itself: if these fail, no interop result built on it can be trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Lab,
  gate,
  peerPath,
  pidAlive,
  requirePeer,
  requireRoot,
  waitFor,
  withLab,
  type Gate,
} from './lib/netns.js';

const netnsJs = fileURLToPath(new URL('./lib/netns.js', import.meta.url));

function fakeTest(): Gate & { skipped: string[]; said: string[] } {
  const skipped: string[] = [];
  const said: string[] = [];
  return { name: 'fake', skipped, said, skip: (m) => void skipped.push(m ?? ''), diagnostic: (m) => void said.push(m) };
}

function sessionOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[3]);
}

function netnsList(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}


// --- gates (no root needed) -------------------------------------------------------------------------

test('gate passes when nothing is missing', () => {
  const t = fakeTest();
  assert.equal(gate(t, [], { GRIDWIRE_REQUIRE_INTEROP: '1' }), true);
  assert.deepEqual(t.skipped, []);
});

test('gate skips with the reason by default and fails under GRIDWIRE_REQUIRE_INTEROP=1', () => {
  const t = fakeTest();
  assert.equal(gate(t, ['no tun', 'no ping'], {}), false);
  assert.deepEqual(t.skipped, ['no tun; no ping']);
  assert.deepEqual(t.said, ['skipping: no tun; no ping']);
  assert.equal(gate(t, ['no tun'], { GRIDWIRE_REQUIRE_INTEROP: '0' }), false);
  assert.throws(() => gate(fakeTest(), ['no tun'], { GRIDWIRE_REQUIRE_INTEROP: '1' }), /GRIDWIRE_REQUIRE_INTEROP=1 but no tun/);
});

test('requirePeer reports a missing peer: skip, or fail when interop is required', () => {
  const env = { GRIDWIRE_PEERS_DIR: '/nonexistent/gridwire-peers' };
  const t = fakeTest();
  assert.equal(requirePeer(t, 'yggdrasil-0.5', env), false);
  assert.match(t.skipped[0] ?? '', /peer yggdrasil-0\.5 not found at \/nonexistent\/gridwire-peers\/bin\/yggdrasil/);
  assert.throws(
    () => requirePeer(fakeTest(), ['wg', 'wireguard-go-new'], { ...env, GRIDWIRE_REQUIRE_INTEROP: '1' }),
    /GRIDWIRE_REQUIRE_INTEROP=1 but .*peer wireguard-go-new not found at \/nonexistent\/gridwire-peers\/bin\/wireguard-go/,
  );
});

test('peerPath maps names and honours GRIDWIRE_PEERS_DIR', () => {
  assert.equal(peerPath('yggdrasil-0.5', {}), '/opt/gridwire-peers/bin/yggdrasil');
  assert.equal(peerPath('yggdrasilctl-0.5', { GRIDWIRE_PEERS_DIR: '/p' }), '/p/bin/yggdrasilctl');
  assert.equal(peerPath('wireguard-go-new', { GRIDWIRE_PEERS_DIR: '/p' }), '/p/bin/wireguard-go');
  assert.equal(peerPath('wireguard-go-old', { GRIDWIRE_PEERS_DIR: '/p' }), '/usr/bin/wireguard-go');
  assert.equal(peerPath('wg', {}), '/usr/bin/wg');
  assert.throws(() => peerPath('nope' as never, {}), /unknown peer 'nope'/);
});

test('requireRoot skips for a non-root user, and fails under GRIDWIRE_REQUIRE_INTEROP=1', (t) => {
  if (process.getuid?.() !== 0) {
    // Already unprivileged: the real check applies directly.
    const f = fakeTest();
    assert.equal(requireRoot(f, {}), false);
    assert.match(f.skipped[0] ?? '', /not running as root/);
    return;
  }
  // A copy in a world-readable dir, so that `nobody` can load it wherever the checkout lives.
  const dir = mkdtempSync(join(tmpdir(), 'gw-labtest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  // The gates import the lab by a relative path: rebuild that layout as an ES module package.
  for (const sub of ['test/lib', 'src/netns']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  copyFileSync(netnsJs, join(dir, 'test/lib/netns.js'));
  copyFileSync(join(dirname(netnsJs), '../../src/netns/lab.js'), join(dir, 'src/netns/lab.js'));
  chmodSync(join(dir, 'test'), 0o755);
  const script = `
    import { requireRoot } from ${JSON.stringify(join(dir, 'test/lib/netns.js'))};
    const skipped = [];
    try {
      const ok = requireRoot({ name: 'child', skip: (m) => skipped.push(m) });
      console.log(JSON.stringify({ ok, skipped }));
    } catch (e) {
      console.log(JSON.stringify({ threw: e.message }));
    }`;
  const run = (required: boolean): Record<string, unknown> => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...(required ? { GRIDWIRE_REQUIRE_INTEROP: '1' } : {}) },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const relaxed = run(false);
  assert.equal(relaxed.ok, false);
  assert.match(String((relaxed.skipped as string[])[0]), /not running as root/);
  assert.match(String(run(true).threw), /GRIDWIRE_REQUIRE_INTEROP=1 but not running as root/);
});

test('waitFor returns the first truthy value and times out with a message', async () => {
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : 0), 1000), 3);
  await assert.rejects(waitFor(() => false, 50, 'the impossible'), /timed out after 50 ms waiting for the impossible/);
});

// --- real namespaces (root) -------------------------------------------------------------------------

test('two namespaces over veth ping each other over IPv4 and IPv6', async (t) => {
  if (!requirePeer(t, 'ping')) return;
  await withLab(t, async (lab) => {
    await lab.addNamespace('a');
    await lab.addNamespace('b');
    const ifs = await lab.link('a', 'b', {
      a: { addrs: ['10.231.0.1/24', 'fd99:6777::1/64'] },
      b: { addrs: ['10.231.0.2/24', 'fd99:6777::2/64'] },
    });
    assert.deepEqual(ifs, { a: 'to-b', b: 'to-a' });
    const ping = peerPath('ping');
    for (const [from, to] of [['a', '10.231.0.2'], ['b', '10.231.0.1'], ['a', 'fd99:6777::2'], ['b', 'fd99:6777::1']] as const) {
      const r = await lab.exec(from, [ping, '-n', '-c', '2', '-i', '0.2', '-W', '2', to]);
      assert.equal(r.code, 0, `ping ${to} from ${from}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, / 0% packet loss/);
    }
    // Nothing leaked into the host namespace.
    assert.doesNotMatch(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }), /\bto-[ab]\b/);
  });
});

test('setAddress readdresses an interface (roaming) and the old address stops answering', async (t) => {
  if (!requirePeer(t, 'ping')) return;
  await withLab(t, async (lab) => {
    await lab.addNamespace('a');
    await lab.addNamespace('b');
    await lab.link('a', 'b', { a: { addrs: ['10.231.1.1/24'] }, b: { addrs: ['10.231.1.2/24'] } });
    await lab.setAddress('b', 'to-a', ['10.231.1.3/24', 'fd99:6777:1::3/64']);
    const ping = (to: string): Promise<number | null> =>
      lab.exec('a', [peerPath('ping'), '-n', '-c', '1', '-W', '1', to]).then((r) => r.code);
    assert.equal(await ping('10.231.1.3'), 0);
    assert.notEqual(await ping('10.231.1.2'), 0);
  });
});

test('spawned processes: output capture, waitForOutput, exit and kill', async (t) => {
  if (!requireRoot(t)) return;
  await withLab(t, async (lab) => {
    await lab.addNamespace('a');
    const p = lab.spawn('a', ['sh', '-c', 'echo ready-$((40+2)); echo oops >&2; exec sleep 1000']);
    assert.deepEqual([...(await p.waitForOutput(/ready-(\d+)/, 5000))].slice(1), ['42']);
    await p.waitForOutput(/oops/, 5000);
    await assert.rejects(p.waitForOutput(/never/, 50), /timed out after 50 ms waiting for \/never\//);
    const r = await p.kill();
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(pidAlive(p.pid), false);

    const quick = lab.spawn('a', ['sh', '-c', 'echo bye; exit 3']);
    await assert.rejects(quick.waitForOutput(/never/, 5000), /exited \(code 3/);

    const e = await lab.exec('a', ['sh', '-c', 'ip -o link show lo; exit 7']);
    assert.equal(e.code, 7);
    assert.match(e.stdout, /\blo\b.*UP/);
    await assert.rejects(lab.exec('a', ['sleep', '1000'], { timeoutMs: 100 }), /timed out after 100 ms/);
  });
});

test('cleanup kills the lab processes and deletes its namespaces when the body throws', async (t) => {
  if (!requireRoot(t)) return;
  let prefix = '';
  let pids: number[] = [];
  await t.test('inner lab whose body throws', async (st) => {
    await assert.rejects(
      withLab(st, async (lab) => {
        prefix = lab.prefix;
        await lab.addNamespace('x');
        await lab.addNamespace('y');
        await lab.link('x', 'y');
        const p = lab.spawn('x', ['sleep', '1000']);
        // A daemon that leaves the process group is still caught: it lives in the lab's namespace.
        const d = lab.spawn('y', ['sh', '-c', 'setsid sleep 1000 >/dev/null 2>&1 & echo $!']);
        const daemon = Number((await d.waitForOutput(/^(\d+)$/m, 5000))[1]);
        await d.exited;
        // One that keeps the lab's stdout pipe open must not make cleanup wait for it.
        const holder = lab.spawn('y', ['sh', '-c', 'setsid sleep 1000 & echo $!']);
        const held = Number((await holder.waitForOutput(/^(\d+)$/m, 5000))[1]);
        // $! is printed right after the fork; only once setsid has run is the daemon out of the group.
        await lab.waitFor(() => sessionOf(daemon) === daemon && sessionOf(held) === held, 5000, 'setsid');
        pids = [p.pid, daemon, held];
        assert.ok(pids.every(pidAlive));
        throw new Error('body failed on purpose');
      }),
      /body failed on purpose/,
    );
    // Already gone here, not only once the subtest's after-hooks have run.
    assert.doesNotMatch(netnsList(), new RegExp(`^${prefix}`, 'm'));
  });
  assert.match(prefix, /^gw-\d+-\d+-$/);
  assert.equal(pids.length, 3);
  assert.deepEqual(pids.filter(pidAlive), []);
  assert.doesNotMatch(netnsList(), new RegExp(`^${prefix}`, 'm'));
});

test('cleanup leaves processes and namespaces of other labs alone', async (t) => {
  if (!requireRoot(t)) return;
  const other = new Lab();
  t.after(() => other.cleanup());
  await other.addNamespace('keep');
  const survivor = other.spawn('keep', ['sleep', '1000']);
  const outsider = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.after(() => void outsider.kill('SIGKILL'));

  const lab = new Lab();
  await lab.addNamespace('gone');
  lab.spawn('gone', ['sleep', '1000']);
  await lab.cleanup();
  await lab.cleanup(); // idempotent

  assert.ok(pidAlive(survivor.pid) && pidAlive(outsider.pid!));
  assert.match(netnsList(), new RegExp(`^${other.ns('keep')}\\b`, 'm'));
  assert.doesNotMatch(netnsList(), new RegExp(`^${lab.prefix}`, 'm'));
  assert.throws(() => lab.spawn('gone', ['true']), /no namespace 'gone'/);
});

// The last-resort handlers only run in a dying process, so they are exercised in a child.
for (const how of ['uncaught exception', 'SIGTERM', 'SIGINT'] as const) {
  test(`a process that dies from ${how} still removes its lab`, async (t) => {
    if (!requireRoot(t)) return;
    const script = `
      import { Lab } from ${JSON.stringify(netnsJs)};
      const lab = new Lab();
      await lab.addNamespace('n');
      const p = lab.spawn('n', ['sleep', '1000']);
      console.log(JSON.stringify({ prefix: lab.prefix, pid: p.pid }));
      ${how === 'uncaught exception' ? "setTimeout(() => { throw new Error('crash'); }, 10);" : 'setInterval(() => {}, 1000);'}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
    const info = await waitFor(() => /^(\{.*\})$/m.exec(out)?.[1], 10_000, 'the child lab to start');
    const { prefix, pid } = JSON.parse(info) as { prefix: string; pid: number };
    if (how !== 'uncaught exception') child.kill(how);
    const [code, signal] = await exited;
    if (how === 'uncaught exception') assert.equal(code, 1);
    else assert.equal(signal, how);
    assert.equal(pidAlive(pid), false);
    assert.doesNotMatch(netnsList(), new RegExp(`^${prefix}`, 'm'));
  });
}

test('reference peers start inside a namespace', async (t) => {
  if (!requirePeer(t, ['yggdrasil-0.5', 'wireguard-go-new', 'wireguard-go-old', 'wg'])) return;
  await withLab(t, async (lab) => {
    await lab.addNamespace('p');
    const ygg = await lab.exec('p', [peerPath('yggdrasil-0.5'), '-version']);
    assert.match(ygg.stdout, /Build version: 0\.5\.12/);
    // Upstream's 0.0.20231211 tag still reports 0.0.20230223; the old build reports its own version.
    const wgNew = await lab.exec('p', [peerPath('wireguard-go-new'), '--version']);
    assert.match(wgNew.stdout, /wireguard-go v0\.0\.20230223/);
    const wgOld = await lab.exec('p', [peerPath('wireguard-go-old'), '--version']);
    assert.match(wgOld.stdout, /wireguard-go v0\.0\.20220316/);
  });
});
