// `gridwire planetary` (dist/cli.js) next to the real yggdrasil 0.5.12: the same stdout and exit code for
// -genconf, -normaliseconf, -address, -subnet, -publickey, -exportkey and flag errors, configs generated
// by each accepted by the other, and bad configs refused with the key named.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../src/package-root.js';
import { peerPath, requirePeer, withLab } from './lib/netns.js';

const CLI = join(packageRoot(), 'dist', 'cli.js');
const CONFIGS = join(packageRoot(), '..', 'shared', 'specs', 'yggdrasil-0.5-vectors', 'configs');
const KEY_A =
  '2516d8874235dd57e9de280e303b8da367581eeffd895c54d0bc7b9bc1a410fd2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Result {
  const r = spawnSync(command, args, { input, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const gridwire = (args: string[], input?: string): Result => run(process.execPath, [CLI, 'planetary', ...args], input);
const yggdrasil = (args: string[], input?: string): Result => run(peerPath('yggdrasil-0.5'), args, input);

function assertSame(args: string[], input?: string): Result {
  const ours = gridwire(args, input);
  const real = yggdrasil(args, input);
  assert.equal(ours.stdout, real.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(ours.status, real.status, `exit code of ${args.join(' ')}: ${ours.stderr}`);
  return ours;
}

let dir: string;
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

before(() => {
  assert.ok(existsSync(CLI), `${CLI} is missing: build with npx tsc -p tsconfig.json first`);
  dir = mkdtempSync(join(tmpdir(), 'gw-planetary-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Configs that exercise the writers: every vector config, plus tricky NodeInfo values and optional keys. */
function interestingConfigs(): string[] {
  const vectors = readdirSync(CONFIGS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(CONFIGS, f));
  const nodeInfo = {
    s01: 'true', s02: '123', s03: 'a#b', s04: ' lead', s05: 'x:y', s06: '{', s07: 'multi\nline', s08: 'tab\there', s09: 'ünï',
    s10: '', s11: '-', s13: '//x', s15: "'q'", s16: '"q"', s17: 'trail ', s18: '1.5x', s20: '<&>', s21: 'a]', s22: '[a',
    s23: 'two\nlines\n', s24: 'ctl\u0001', s28: '0x10', s29: '-5', s30: '1e3', n1: 1.5, n2: 1e21, n3: 1e-7, e1: [], e2: {},
    z: null, b: false, arr: [1, 'x', { k: 'v' }, [2]], obj: { in: { deep: 1 } }, S: 1, 'a b': 2, 'k:c': 3, '': 4, Ü: 6,
  };
  const tricky = file('nodeinfo.json', JSON.stringify({ PrivateKey: KEY_A, IfName: 'none', NodeInfo: nodeInfo }));
  const hjson = file(
    'options.hjson',
    `{\n  # HJSON with the optional keys\n  privatekey: ${KEY_A}\n  LogLookups: true\n  AdminListen: "tcp://localhost:9001"\n` +
      `  MulticastInterfaces: [\n    { Regex: eth0, Port: 7, Priority: 3 }\n    { Regex: wlan0 }\n  ]\n` +
      `  InterfacePeers: { eth1: [ "tls://[fe80::1%25eth1]:1" ], eth0: [] }\n  IfMTU: 1280\n}\n`,
  );
  const pem = file('key.pem', gridwire(['-useconffile', tricky, '-exportkey']).stdout.trimEnd() + '\n');
  const keyPath = file('keypath.json', JSON.stringify({ PrivateKeyPath: pem, Peers: ['tcp://[::1]:1'] }));
  // Go keeps a null list or map nil, which its JSON writes back as null (and hjson-go as []).
  const nulls = file('nulls.json', JSON.stringify({ PrivateKey: KEY_A, Peers: null, Listen: null, MulticastInterfaces: null, AllowedPublicKeys: null, InterfacePeers: null }));
  const nullPeers = file('null-peers.json', JSON.stringify({ PrivateKey: KEY_A, InterfacePeers: { eth1: null, eth0: ['tcp://[::1]:2'] } }));
  return [...vectors, tricky, hjson, keyPath, nulls, nullPeers];
}

/** Runs a node on `conf` until it has printed its address, stops it, and checks it started and exited 0. */
async function startAndStop(conf: string): Promise<{ out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, 'planetary', '-useconffile', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const deadline = Date.now() + 20_000;
  while (!/Your IPv6 subnet is/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', r));
  assert.match(out, /Your IPv6 address is /, `stdout: ${out}\nstderr: ${err}`);
  assert.equal(code, 0, err);
  return { out, err };
}

describe('gridwire planetary vs yggdrasil 0.5.12', () => {
  test('-normaliseconf [-json], -address, -subnet, -publickey, -exportkey on every config', (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    for (const config of interestingConfigs()) {
      for (const mode of [['-normaliseconf'], ['-normaliseconf', '-json'], ['-address'], ['-subnet'], ['-publickey'], ['-exportkey']]) {
        assertSame(['-useconffile', config, ...mode]);
      }
    }
  });

  test('-useconf reads stdin', (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    const config = `{ PrivateKey: ${KEY_A}\n}`;
    for (const mode of ['-address', '-subnet', '-publickey', '-normaliseconf']) assertSame(['-useconf', mode], config);
  });

  test('our -genconf is accepted by yggdrasil, and yggdrasil\'s by us', (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    for (const json of [[], ['-json']]) {
      const ours = gridwire(['-genconf', ...json]);
      const theirs = yggdrasil(['-genconf', ...json]);
      assert.equal(ours.status, 0);
      for (const generated of [ours.stdout, theirs.stdout]) {
        const path = file('generated.conf', generated);
        for (const mode of [['-normaliseconf'], ['-normaliseconf', '-json'], ['-address'], ['-publickey']]) {
          assertSame(['-useconffile', path, ...mode]);
        }
      }
      // Apart from the key, a generated config is the same text.
      const strip = (s: string) => s.replace(/[0-9a-f]{128}/, 'KEY');
      assert.equal(strip(ours.stdout), strip(theirs.stdout));
    }
  });

  test('usage, flag errors and the no-config cases', (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    const usageBody = (stderr: string) => stderr.replace(/^Usage of [^\n]*:\n/m, '');
    for (const args of [[], ['-address'], ['-normaliseconf'], ['-h'], ['--help']]) {
      const ours = assertSame(args);
      assert.equal(usageBody(ours.stderr), usageBody(yggdrasil(args).stderr), `stderr of ${args.join(' ')}`);
    }
    for (const args of [['-bogus'], ['-useconffile'], ['-loglevel'], ['-genconf', '-json=maybe'], ['---genconf']]) {
      const ours = assertSame(args);
      assert.equal(ours.stderr.split('\n')[0], yggdrasil(args).stderr.split('\n')[0], `first stderr line of ${args.join(' ')}`);
    }
    // Go's flag syntax: --flag, -flag=value, and the first non-flag ends the flags.
    for (const args of [['--genconf', '--json=false'], ['-genconf', '--', '-json'], ['-genconf', 'extra', '-json']]) {
      const ours = gridwire(args);
      assert.equal(ours.status, 0);
      assert.ok(ours.stdout.startsWith('{\n  # Your private key'), args.join(' '));
    }
  });
});

/** Runs a node on `config` until it has logged `ready`, stops it with SIGINT; its log lines and exit code. */
async function runUntil(argv: string[], config: string, ready: RegExp): Promise<{ code: unknown; lines: string[] }> {
  const child = spawn(argv[0]!, [...argv.slice(1), '-useconffile', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!ready.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.once('exit', r));
  return { code, lines: out.split('\n').filter(Boolean).map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')) };
}

describe('gridwire planetary vs yggdrasil 0.5.12, running', () => {
  test('logs its admin socket, listeners and shutdown in yggdrasil\'s words', async (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    // A 0.0.0.0 wildcard is dual-stack in Go: yggdrasil logs it as [::].
    const LISTEN = ['tcp://127.0.0.1:0', 'tls://[::1]:0', 'tcp://[::1]:0', 'tcp://0.0.0.0:0', 'tls://0.0.0.0:0', 'tcp://[::]:0'];
    const log = async (argv: string[], name: string) => {
      const sock = join(dir, `${name}.sock`);
      const config = file(`${name}-run.conf`, JSON.stringify({
        PrivateKey: KEY_A, IfName: 'none', MulticastInterfaces: [], AdminListen: `unix://${sock}`, Listen: LISTEN,
      }));
      const r = await runUntil(argv, config, new RegExp(`^(?=[^]*admin socket listening)(?=(?:[^]*listener started){${LISTEN.length}})`));
      // Build lines name each implementation; ports are the kernel's; yggdrasil's start lines come in any order.
      const lines = r.lines.filter((l) => !l.startsWith('Build ')).map((l) => l.replace(sock, 'SOCK').replace(/:\d+$/, ':PORT'));
      return { code: r.code, lines: lines.sort() };
    };
    const [real, ours] = [await log([peerPath('yggdrasil-0.5')], 'real'), await log([process.execPath, CLI, 'planetary'], 'ours')];
    // yggdrasil exits without waiting for its listeners' goroutines, so some of its "listener stopped"
    // lines may be missing: ours must be one per started listener, and include all of yggdrasil's.
    const stops = (lines: string[]) => lines.filter((l) => l.includes(' listener stopped '));
    const others = (lines: string[]) => lines.filter((l) => !l.includes(' listener stopped '));
    assert.deepEqual(others(ours.lines), others(real.lines));
    const started = ours.lines.filter((l) => l.includes(' listener started ')).map((l) => l.replace(' started ', ' stopped ')).sort();
    assert.deepEqual(stops(ours.lines), started);
    for (const line of stops(real.lines)) assert.ok(stops(ours.lines).includes(line), line);
    assert.equal(ours.code, real.code);
  });

  test('-loglevel error still logs who the node is, as yggdrasil does (nothing else)', async (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    const config = file('quiet.conf', JSON.stringify({ PrivateKey: KEY_A, IfName: 'none', MulticastInterfaces: [], AdminListen: 'none', Listen: ['tcp://127.0.0.1:0'] }));
    const quiet = (argv: string[]) => runUntil([...argv, '-loglevel', 'error'], config, /Your IPv6 subnet is .*\n/);
    const [real, ours] = [await quiet([peerPath('yggdrasil-0.5')]), await quiet([process.execPath, CLI, 'planetary'])];
    // yggdrasil's TUN writer sometimes loses a race with its own shutdown and says so at error level.
    const identity = real.lines.filter((l) => !l.startsWith('Exiting TUN writer due to core read error'));
    assert.deepEqual(ours.lines, identity);
    assert.equal(identity.length, 3, real.lines.join('\n'));
  });
});

describe('gridwire planetary on its own', () => {
  test('-version', () => {
    const r = gridwire(['-version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Build name: gridwire\nBuild version: \d+\.\d+\.\d+\S*\n$/);
  });

  test('a bad config names the key and exits 2 with one line', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"IfMTU": "x"}', /IfMTU: expected an integer/],
      ['{"MulticastInterfaces": [{"Port": 70000}]}', /MulticastInterfaces\[0\]\.Port: /],
      ['{"PrivateKey": "abc"}', /PrivateKey: /],
      ['{ nope', /not valid HJSON\/JSON/],
    ];
    for (const [text, message] of cases) {
      const r = gridwire(['-useconffile', file('bad.conf', text), '-address']);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^gridwire: planetary: bad config \S+: [^\n]+\n$/);
      assert.match(r.stderr, message);
    }
    const missing = gridwire(['-useconffile', join(dir, 'does-not-exist.conf'), '-address']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read config/);
  });

  test('a peer or listener on a transport gridwire lacks is skipped with a warning naming it; the node still starts', async () => {
    // yggdrasil 0.5.12 runs such a config (it speaks quic/ws/…), so a drop-in must not refuse it.
    const conf = file('quic.conf', JSON.stringify({
      PrivateKey: KEY_A, IfName: 'none', AdminListen: 'none', MulticastInterfaces: [],
      Peers: ['quic://192.0.2.1:1', 'tcp://127.0.0.1:1'], InterfacePeers: { lo: ['ws://127.0.0.1:2'] }, Listen: ['quic://127.0.0.1:0'],
    }));
    const { err } = await startAndStop(conf);
    assert.deepEqual(err.split('\n').filter(Boolean), [
      "gridwire planetary: warning: Peers[0]: quic:// is not supported yet (only tcp:// and tls://); 'quic://192.0.2.1:1' skipped",
      "gridwire planetary: warning: InterfacePeers.lo[0]: ws:// is not supported yet (only tcp:// and tls://); 'ws://127.0.0.1:2' skipped",
      "gridwire planetary: warning: Listen[0]: quic:// is not supported yet (only tcp:// and tls://); 'quic://127.0.0.1:0' skipped",
    ]);
  });

  test('a SIGINT or SIGTERM while the node starts takes it down: exit 0, no admin socket file left', async () => {
    for (const [round, signal] of (['SIGINT', 'SIGTERM', 'SIGINT'] as const).entries()) {
      const sock = join(dir, `starting-${round}.sock`);
      const conf = file('starting.conf', JSON.stringify({
        PrivateKey: KEY_A, IfName: 'none', MulticastInterfaces: [], AdminListen: `unix://${sock}`, Listen: ['tcp://127.0.0.1:0'],
      }));
      // The metrics server starts after the node: a longer window between the admin socket and a started node.
      const env = { ...process.env, GRIDWIRE_METRICS: '127.0.0.1:0' };
      const child = spawn(process.execPath, [CLI, 'planetary', '-useconffile', conf], { stdio: 'ignore', env });
      const exited = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
      // The admin socket opens inside start(): signalled the moment it appears, the node is still starting.
      // Busy-waiting, as a timer would let it finish starting first.
      const deadline = Date.now() + 20_000;
      while (!existsSync(sock) && Date.now() < deadline);
      child.kill(signal);
      assert.equal(await exited, 0, `${signal}, round ${round}`);
      assert.ok(!existsSync(sock), `${signal}, round ${round}: ${sock} left behind`);
    }
  });

  // yggdrasil 0.5.12 sets a low IfMTU as is and panics when the kernel then refuses the link an IPv6
  // address; gridwire raises it to IPv6's minimum instead.
  test('an IfMTU above 65535 is clamped as yggdrasil does; one below 1280 is raised to 1280, not a crash', async (t) => {
    if (!requirePeer(t, 'yggdrasil-0.5')) return;
    await withLab(t, async (lab) => {
      await lab.addNamespace('mtu');
      const cases = [[100, 1280, ['gridwire']], [99_999_999_999, 65535, ['gridwire', 'yggdrasil']]] as const;
      for (const [mtu, clamped, who] of cases) {
        const conf = file('mtu.conf', JSON.stringify({ PrivateKey: KEY_A, IfName: 'gwmtu0', AdminListen: 'none', MulticastInterfaces: [], IfMTU: mtu }));
        for (const name of who) {
          const argv = name === 'yggdrasil' ? [peerPath('yggdrasil-0.5')] : [process.execPath, CLI, 'planetary'];
          const node = lab.spawn('mtu', [...argv, '-useconffile', conf]);
          const [, logged] = await node.waitForOutput(/Interface MTU: (\d+)/, 20_000);
          const link = await lab.exec('mtu', ['ip', '-o', 'link', 'show', 'dev', 'gwmtu0']);
          const stopped = await node.kill();
          assert.equal(Number(logged), clamped, `${name}, IfMTU ${mtu}: logged`);
          assert.match(link.stdout, new RegExp(` mtu ${clamped} `), `${name}, IfMTU ${mtu}: the kernel's`);
          assert.equal(stopped.code, 0, stopped.stderr);
        }
      }
    });
  });

  test('-user with an unknown user or group: a clear error and exit 2 (yggdrasil: a panic, also exit 2)', (t) => {
    // Nothing to open: no TUN, admin socket, listeners or multicast, so yggdrasil runs without root as well.
    const conf = file('user.conf', JSON.stringify({ PrivateKey: KEY_A, IfName: 'none', AdminListen: 'none', MulticastInterfaces: [] }));
    const cases: Array<[string, RegExp]> = [
      ['gw-no-such-user', /^gridwire: planetary: -user gw-no-such-user: unknown user gw-no-such-user\n$/],
      ['root:gw-no-such-group', /^gridwire: planetary: -user root:gw-no-such-group: unknown group gw-no-such-group\n$/],
    ];
    for (const [user, message] of cases) {
      const r = gridwire(['-useconffile', conf, '-user', user]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'refused before starting');
      if (!requirePeer(t, ['yggdrasil-0.5'])) continue;
      const real = yggdrasil(['-useconffile', conf, '-user', user]);
      assert.equal(real.status, 2, `yggdrasil's exit code for -user ${user}: ${real.stderr}`);
    }
  });

  test('-loglevel debug logs a link that failed before coming up (at info, like yggdrasil, only getPeers shows it)', async () => {
    const config = file('debug.conf', JSON.stringify({ PrivateKey: KEY_A, IfName: 'none', AdminListen: 'none', MulticastInterfaces: [], Peers: ['tcp://127.0.0.1:1'] }));
    const failed = /^Link failed: tcp:\/\/127\.0\.0\.1:1: dial tcp 127\.0\.0\.1:1: connect: connection refused$/m;
    const debug = await runUntil([process.execPath, CLI, 'planetary', '-loglevel', 'debug'], config, failed);
    assert.match(debug.lines.join('\n'), failed);
  });

  test('unknown keys are reported when normalising (yggdrasil drops them silently)', () => {
    const r = gridwire(['-useconffile', file('typo.conf', `{"PrivateKey": "${KEY_A}", "Peer": []}`), '-normaliseconf', '-json']);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, "gridwire planetary: warning: unknown config key 'Peer' ignored\n");
  });
});
