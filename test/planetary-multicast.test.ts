// Multicast peer discovery: the beacon codec against beacons captured between two yggdrasil 0.5.12 nodes,
// the interface rules, and discovery in namespaces joined by a veth (link-local addresses only):
// gridwire with a real yggdrasil 0.5.12 and with itself, with and without a password, and a password
// mismatch that must not peer.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planetaryPublicKey } from '../src/keys/index.js';
import { packageRoot } from '../src/package-root.js';
import { formatPlanetaryConfig, generatePlanetaryConfig, type MulticastInterfaceConfig, type PlanetaryConfig } from '../src/planetary/config.js';
import { beaconHash, decodeBeacon, encodeBeacon, interfaceConfig } from '../src/planetary/multicast.js';
import { peerPath, requirePeer, waitFor, withLab, type Lab, type LabProcess } from './lib/netns.js';

const VECTORS = join(packageRoot(), '..', 'shared', 'specs', 'yggdrasil-0.5-vectors');
const RUNNER = fileURLToPath(new URL('./fixtures/planetary-node-runner.js', import.meta.url));
const unhex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface CapturedBeacon {
  payload_hex: string;
  major: number;
  minor: number;
  key: string;
  tcp_tls_port: number;
  hash_len: number;
}
const captured = (JSON.parse(readFileSync(join(VECTORS, 'multicast.json'), 'utf8')) as { beacons: CapturedBeacon[] }).beacons;

describe('beacon codec (multicast.json, yggdrasil 0.5.12, password "mcpw")', () => {
  test('decodes every captured beacon', () => {
    for (const v of captured) {
      const b = decodeBeacon(unhex(v.payload_hex));
      assert.ok(b);
      assert.equal(b.major, v.major);
      assert.equal(b.minor, v.minor);
      assert.equal(hex(b.publicKey), v.key);
      assert.equal(b.port, v.tcp_tls_port);
      assert.equal(b.hash.length, v.hash_len);
    }
  });

  test('re-encodes each byte for byte from key, port and the password', () => {
    for (const v of captured) {
      const key = unhex(v.key);
      assert.equal(hex(encodeBeacon(key, v.tcp_tls_port, beaconHash(key, 'mcpw'))), v.payload_hex);
    }
  });

  test('the hash proves the password: another or no password gives another hash', () => {
    const v = captured[0]!;
    const b = decodeBeacon(unhex(v.payload_hex))!;
    assert.ok(beaconHash(b.publicKey, 'mcpw').equals(b.hash));
    assert.ok(!beaconHash(b.publicKey, 'mcpW').equals(b.hash));
    assert.ok(!beaconHash(b.publicKey, '').equals(b.hash));
    // Without a password the hash is still sent: plain BLAKE2b-512 of the key.
    assert.ok(beaconHash(b.publicKey, '').equals(createHash('blake2b512').update(b.publicKey).digest()));
  });

  test('rejects short beacons and hash lengths past the end (a packet that crashes yggdrasil 0.5.12)', () => {
    const good = unhex(captured[0]!.payload_hex);
    assert.equal(decodeBeacon(good.subarray(0, 39)), undefined);
    assert.equal(decodeBeacon(good.subarray(0, 103)), undefined);
    const overlong = Buffer.from(good.subarray(0, 40));
    overlong.writeUInt16BE(0xffff, 38);
    assert.equal(decodeBeacon(overlong), undefined);
    const empty = Buffer.from(good.subarray(0, 40));
    empty.writeUInt16BE(0, 38);
    assert.equal(decodeBeacon(empty)?.hash.length, 0);
    // Bytes after the hash are ignored, as yggdrasil ignores them.
    const trailing = decodeBeacon(Buffer.concat([good, Buffer.from('extra')]))!;
    assert.equal(hex(trailing.hash), hex(decodeBeacon(good)!.hash));
  });
});

describe('interface rules', () => {
  const entry = (Regex: string, over: Partial<MulticastInterfaceConfig> = {}): MulticastInterfaceConfig => ({
    Regex, Beacon: true, Listen: true, Port: 0, Priority: 0, Password: '', ...over,
  });

  test('first matching entry with Beacon or Listen applies; regexes are unanchored', () => {
    const configs = [entry('^eth', { Beacon: false, Listen: false }), entry('th', { Password: 'a' }), entry('.*', { Password: 'b' })];
    assert.equal(interfaceConfig(configs, 'eth0')?.Password, 'a');
    assert.equal(interfaceConfig(configs, 'wlan0')?.Password, 'b');
    assert.equal(interfaceConfig([entry('^eth$')], 'eth0'), undefined);
    assert.equal(interfaceConfig([], 'eth0'), undefined);
  });
});

// ---------------------------------------------------------------------------------------------------
// Interop in namespaces

const IF_A = 'gwmc-a';
const IF_B = 'gwmc-b';

interface PeerRow {
  up: boolean;
  inbound: boolean;
  key: string | null;
  remote: string;
}

/** A gridwire node (or beacon observer) in a namespace, driven through the runner's stdin/stdout. */
class Runner {
  private nextId = 1;
  private constructor(readonly proc: LabProcess) {}

  static async start(lab: Lab, ns: string, args: { config: string } | { observe: string }): Promise<Runner> {
    const proc = lab.spawn(ns, [process.execPath, RUNNER, JSON.stringify(args)], { stdin: 'pipe' });
    await proc.waitForOutput(/"type":"ready"/, 15_000);
    return new Runner(proc);
  }

  lines(): Array<Record<string, any>> {
    return this.proc.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
  }

  async request<T>(cmd: 'peers' | 'multicast'): Promise<T> {
    const id = this.nextId++;
    this.proc.child.stdin!.write(`${cmd} ${id}\n`);
    const reply = await waitFor(() => this.lines().find((l) => l.type === 'reply' && l.id === id), 5000, `reply ${id} from ${this.proc.describe()}`);
    if (reply.error) throw new Error(reply.error);
    return reply.data as T;
  }
}

function multicastConfig(password: string, over: Partial<PlanetaryConfig> = {}): PlanetaryConfig {
  return {
    ...generatePlanetaryConfig(),
    IfName: 'none',
    AdminListen: 'none',
    MulticastInterfaces: [{ Regex: '^gwmc-', Beacon: true, Listen: true, Port: 0, Priority: 0, Password: password }],
    ...over,
  };
}

interface Side {
  key: string;
  /** The node's peer rows, in gridwire's shape. */
  peers(): Promise<PeerRow[]>;
}

async function gridwireSide(lab: Lab, dir: string, ns: string, config: PlanetaryConfig): Promise<Side & { runner: Runner }> {
  const path = join(dir, `${ns}.json`);
  writeFileSync(path, formatPlanetaryConfig(config, 'json'));
  const runner = await Runner.start(lab, ns, { config: path });
  return { key: hex(planetaryPublicKey(config.PrivateKey)), runner, peers: () => runner.request<PeerRow[]>('peers') };
}

async function yggdrasilSide(lab: Lab, dir: string, ns: string, config: PlanetaryConfig): Promise<Side & { proc: LabProcess }> {
  const path = join(dir, `${ns}.json`);
  const sock = join(dir, `${ns}.sock`);
  writeFileSync(path, formatPlanetaryConfig({ ...config, AdminListen: `unix://${sock}` }, 'json'));
  const proc = lab.spawn(ns, [peerPath('yggdrasil-0.5'), '-useconffile', path, '-loglevel', 'debug']);
  await proc.waitForOutput(/admin socket listening/, 10_000);
  const peers = async (): Promise<PeerRow[]> => {
    const r = await lab.exec(ns, [peerPath('yggdrasilctl-0.5'), '-endpoint', `unix://${sock}`, '-json', 'getPeers'], { timeoutMs: 5000 });
    if (r.code !== 0) throw new Error(`yggdrasilctl getPeers: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { peers: PeerRow[] }).peers;
  };
  return { key: hex(planetaryPublicKey(config.PrivateKey)), proc, peers };
}

/** Both nodes of a pair have an inbound and an outbound link to the other, all up: each heard the other's beacons. */
async function assertPeered(lab: Lab, a: Side, b: Side): Promise<void> {
  const linked = async (side: Side, other: Side) => {
    const rows = (await side.peers()).filter((p) => p.up && p.key === other.key);
    return rows.some((p) => p.inbound) && rows.some((p) => !p.inbound);
  };
  await lab.waitFor(async () => (await linked(a, b)) && (await linked(b, a)), 30_000, 'an inbound and an outbound link on both sides');
}

const linkPair = (lab: Lab) => lab.link('a', 'b', { a: { ifname: IF_A }, b: { ifname: IF_B } });

/** Namespaces a and b, joined by the veth unless `unlinked` (then linkPair does it). */
async function withPair(
  t: Parameters<typeof requirePeer>[0] & { after(fn: () => unknown): void },
  body: (lab: Lab, dir: string) => Promise<void>,
  { unlinked = false } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-mc-'));
  try {
    await withLab(t, async (lab) => {
      await lab.addNamespace('a');
      await lab.addNamespace('b');
      if (!unlinked) await linkPair(lab);
      await body(lab, dir);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('multicast discovery in namespaces', { timeout: 120_000 }, () => {
  for (const password of ['', 'mcpw']) {
    test(`gridwire and yggdrasil 0.5.12 find each other and peer (password ${JSON.stringify(password)})`, async (t) => {
      if (!requirePeer(t, ['yggdrasil-0.5', 'yggdrasilctl-0.5'])) return;
      await withPair(t, async (lab, dir) => {
        const gw = await gridwireSide(lab, dir, 'a', multicastConfig(password));
        const ygg = await yggdrasilSide(lab, dir, 'b', multicastConfig(password));
        await assertPeered(lab, gw, ygg);
        const [intf] = await gw.runner.request<Array<Record<string, unknown>>>('multicast');
        assert.equal(intf?.name, IF_A);
        assert.match(String(intf?.address), new RegExp(`^\\[fe80::[0-9a-f:]+%${IF_A}\\]:\\d+$`));
        assert.deepEqual({ ...intf, address: '' }, { name: IF_A, address: '', beacon: true, listen: true, hasPassword: password !== '' });
        // Both name every link, inbound ones too, by a URL whose zone is the interface's name (%25-escaped).
        const remotes = (await ygg.peers()).map((p) => p.remote);
        assert.ok(remotes.every((r) => new RegExp(`^tls://\\[fe80::[0-9a-f:]+%25${IF_B}\\]:\\d+$`).test(r)), remotes.join(' '));
        const named = (await gw.peers()).map((p) => p.remote);
        assert.ok(named.every((r) => new RegExp(`^tls://\\[fe80::[0-9a-f:]+%25${IF_A}\\]:\\d+$`).test(r)), named.join(' '));
      });
    });
  }

  test('gridwire and yggdrasil 0.5.12 with different passwords hear each other and do not peer', async (t) => {
    if (!requirePeer(t, ['yggdrasil-0.5', 'yggdrasilctl-0.5'])) return;
    await withPair(t, async (lab, dir) => {
      const watchA = await Runner.start(lab, 'a', { observe: IF_A });
      const watchB = await Runner.start(lab, 'b', { observe: IF_B });
      const gw = await gridwireSide(lab, dir, 'a', multicastConfig('one'));
      const ygg = await yggdrasilSide(lab, dir, 'b', multicastConfig('two'));
      // Each node's own beacon shows its socket has joined the group; a beacon of the other node seen
      // after it in the same namespace was delivered to that node, and rejected there.
      const heardAfterOwn = (w: Runner, own: string, other: string) => {
        const keys = w.lines().filter((l) => l.type === 'beacon').map((l) => l.key as string);
        const first = keys.indexOf(own);
        return first >= 0 && keys.slice(first).filter((k) => k === other).length >= 2;
      };
      await lab.waitFor(
        () => heardAfterOwn(watchA, gw.key, ygg.key) && heardAfterOwn(watchB, ygg.key, gw.key),
        30_000,
        'each node to receive two beacons of the other',
      );
      assert.deepEqual(await gw.peers(), []);
      assert.deepEqual(await ygg.peers(), []);
    });
  });

  test('two gridwire nodes find each other and peer; multicast links bypass AllowedPublicKeys', async (t) => {
    if (!requirePeer(t, [])) return;
    await withPair(t, async (lab, dir) => {
      const a = await gridwireSide(lab, dir, 'a', multicastConfig('mcpw', { AllowedPublicKeys: ['01'.repeat(32)] }));
      const b = await gridwireSide(lab, dir, 'b', multicastConfig('mcpw'));
      await assertPeered(lab, a, b);
    });
  });

  test('interfaces are re-scanned: one that appears is used, one that goes away loses its listener', async (t) => {
    if (!requirePeer(t, [])) return;
    await withPair(
      t,
      async (lab, dir) => {
        const a = await gridwireSide(lab, dir, 'a', multicastConfig(''));
        assert.deepEqual(await a.runner.request('multicast'), []);
        await linkPair(lab);
        const b = await gridwireSide(lab, dir, 'b', multicastConfig(''));
        await assertPeered(lab, a, b);
        const tcpListeners = async () => (await lab.exec('a', ['ss', '-Htln'])).stdout.trim();
        assert.match(await tcpListeners(), new RegExp(`%${IF_A}`));
        await lab.exec('a', ['ip', 'link', 'del', IF_A]);
        await lab.waitFor(async () => (await a.runner.request<unknown[]>('multicast')).length === 0, 10_000, `${IF_A} to be dropped`);
        assert.equal(await tcpListeners(), '');
      },
      { unlinked: true },
    );
  });
});
