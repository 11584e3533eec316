// WireGuard interop: gridwire against the reference wireguard-go (0.0.20231211 from trixie, and bookworm's
// 0.0.20220316) and against itself, in network namespaces joined by veth pairs, configured with the stock
// `wg`. Scenarios follow the acceptance catalogue of the spec (Part 5); every assertion is on something
// observed: ping replies, `wg show` output, packets on the wire, gridwire's own counters.
//
// Layout of a pair (wg-lab.ts): namespace a = gridwire, b = the peer; underlay 10.0.0.1/2 and fd10::1/2,
// tunnel 192.168.241.1/2 and fd00::1/2, listen ports 51001/51002. Tests of one describe block share their
// namespaces and daemons; each test resets the sessions it uses (removes and re-adds the peers).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { peerPath } from '../../src/netns/lab.js';
import { requirePeer, withLab, type Lab } from '../lib/netns.js';
import {
  BackgroundPing,
  FILE,
  Capture,
  JUNK_SENDER_JS,
  connect,
  createPair,
  iperf,
  missingSeqs,
  newKeyPair,
  newPsk,
  peersFor,
  ping,
  sharedLab,
  startIperfServer,
  startNode,
  type Family,
  type Impl,
  type Pair,
  type PingOptions,
  type WgNode,
} from './wg-lab.js';

// USO: one sendto with UDP_SEGMENT carries several datagrams; the receiver checks each one's length
// and bytes (datagram k, byte j = (k * 31 + j) % 251) and prints one JSON line.
const USO_PORT = 4433;
const USO_SIZES = [1200, 1200, 1200, 1200, 1200, 300];
const USO_SENDER = `
import socket, sys
dst, port, sizes = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3].split(',')]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, sizes[0])  # UDP_SEGMENT
s.sendto(b''.join(bytes((k * 31 + j) % 251 for j in range(n)) for k, n in enumerate(sizes)), (dst, port))
`;
const USO_RECEIVER = `
import json, socket, sys
host, port, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, port))
s.settimeout(4)
print('ready', flush=True)
got = []
try:
    while len(got) < want:
        got.append(s.recv(65535))
except socket.timeout:
    pass
intact = all(d == bytes((k * 31 + j) % 251 for j in range(len(d))) for k, d in enumerate(got))
print(json.dumps({'lengths': [len(d) for d in got], 'intact': intact}), flush=True)
`;

const GO_NEW: Impl = 'wireguard-go-new';
const GO_OLD: Impl = 'wireguard-go-old';

// ---------------------------------------------------------------------------------------------------
// Shared checks

async function dump(...nodes: WgNode[]): Promise<string> {
  return (await Promise.all(nodes.map((n) => n.describe()))).join('\n');
}

/**
 * Pings `to`'s tunnel address from `from`: exactly `count` echoes (no deadline, so none is retried) and
 * every one answered. The first may have to wait for the handshake (staged, as wireguard-go does).
 */
async function expectPing(from: WgNode, to: WgNode, family: Family, o: PingOptions = {}): Promise<void> {
  const count = o.count ?? 5;
  const r = await ping(from.lab, from.ns, to.addr(family), { count, interval: 0.02, wait: 3, ...o });
  if (r.received !== count || r.transmitted !== count) {
    assert.fail(
      `${from.impl} → ${to.impl} IPv${family}${o.size ? ` (${o.size} B)` : ''}: ${r.received}/${r.transmitted} replies, expected ${count}\n` +
        `${r.output.trimEnd()}\n${await dump(from, to)}`,
    );
  }
}

/** Pings that must all go unanswered; returns nothing, fails with the output otherwise. */
async function expectNoPing(from: WgNode, to: WgNode, family: Family, o: PingOptions = {}): Promise<void> {
  const r = await ping(from.lab, from.ns, to.addr(family), { count: 3, interval: 0.3, ...o });
  assert.ok(r.transmitted > 0, `ping did not run: ${r.output}`);
  assert.equal(r.received, 0, `${from.impl} → ${to.impl}: expected no replies\n${r.output}`);
}

const other = (side: 'a' | 'b'): 'a' | 'b' => (side === 'a' ? 'b' : 'a');

/**
 * Fresh session where only `initiator` knows the other's endpoint, so only it can start the handshake:
 * its first ping (IPv4 inner) triggers the handshake, the responder must learn the initiator's endpoint
 * from it, then IPv4 and IPv6 inner packets go both ways.
 */
async function handshakeAndPing(pair: Pair, initiator: 'a' | 'b', outer: Family, psk: boolean): Promise<void> {
  await connect(pair, { initiator, outer, psk });
  const init = pair[initiator];
  const resp = pair[other(initiator)];
  await expectPing(init, resp, 4);
  const learned = await resp.endpointOf(init.publicKey);
  assert.equal(learned, init.endpoint(outer), `the responder learned the initiator's endpoint\n${await dump(init, resp)}`);
  await expectPing(init, resp, 6);
  await expectPing(resp, init, 4);
  await expectPing(resp, init, 6);
  for (const [n, peer] of [[init, resp], [resp, init]] as const) {
    assert.ok((await n.latestHandshake(peer.publicKey)) > 0, `${n.impl} reports a latest handshake`);
  }
  if (psk) {
    const [pa, pb] = await Promise.all([init.show('preshared-keys'), resp.show('preshared-keys')]);
    assert.equal(pa.get(resp.publicKey), pb.get(init.publicKey), 'both sides hold the same PSK');
    assert.notEqual(pa.get(resp.publicKey), '(none)');
  }
}

/**
 * Session from `mover` (the initiator, pinging); mid-ping its underlay IPv4 address changes to .3. The
 * other side must take the new source as the endpoint (roaming) and the pings resume; then it pings back.
 */
async function roam(t: { diagnostic(msg: string): void }, pair: Pair, side: 'a' | 'b'): Promise<void> {
  const { lab } = pair;
  const mover = pair[side];
  const follower = pair[other(side)];
  const old = mover.underlay[4]!;
  const moved = old.replace(/\.\d+$/, '.3');
  const restore = async (addr: string): Promise<void> => {
    await lab.setAddress(mover.ns, pair.links[side], [`${addr}/24`, `${mover.underlay[6]}/64`]);
    mover.underlay[4] = addr;
  };
  await connect(pair, { initiator: side, outer: 4 });
  await expectPing(mover, follower, 4, { count: 2 });
  assert.equal(await follower.endpointOf(mover.publicKey), mover.endpoint(4));
  const bg = new BackgroundPing(lab, mover.ns, follower.addr(4), { interval: 0.05, deadline: 40 });
  try {
    await lab.waitFor(() => bg.seqs().length >= 5, 10_000, 'pings before the move');
    const atMove = bg.maxSeq();
    await restore(moved);
    const failed = async (e: Error): Promise<never> => {
      const ep = await follower.endpointOf(mover.publicKey);
      assert.fail(`${e.message}: ${follower.impl} has endpoint ${ep}\n${bg.proc.stdout.slice(-600)}\n${await dump(mover, follower)}`);
    };
    const followed = async (): Promise<boolean> => (await follower.endpointOf(mover.publicKey)) === mover.endpoint(4);
    await lab.waitFor(followed, 10_000, `${follower.impl} to follow`).catch(failed);
    await lab.waitFor(() => bg.maxSeq() >= atMove + 20, 10_000, 'pings to resume after the move').catch(failed);
    const r = await bg.stop();
    const lost = missingSeqs(r.seqs).filter((s) => s > atMove);
    const lostText = lost.length ? lost.join(',') : 'none';
    t.diagnostic(`${mover.impl} roamed ${old} → ${moved}: ${r.received}/${r.transmitted} replies; lost around the move: ${lostText}`);
    await expectPing(follower, mover, 4);
  } finally {
    if (bg.proc.running) await bg.stop();
    await restore(old);
  }
}

function gbit(bps: number): string {
  return `${(bps / 1e9).toFixed(2)} Gbit/s`;
}

// ---------------------------------------------------------------------------------------------------
// gridwire (the CLI, configured with wg) ↔ wireguard-go 0.0.20231211

describe('gridwire wg ↔ wireguard-go 0.0.20231211', { timeout: 240_000 }, () => {
  const shared = sharedLab([...peersFor('gridwire', GO_NEW), 'iperf3', 'tcpdump'], (lab) => createPair(lab, { a: 'gridwire', b: GO_NEW }));
  after(() => shared.cleanup());

  test('each side initiates; IPv4 and IPv6 inner over IPv4 and IPv6 outer; with and without PSK', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    for (const initiator of ['a', 'b'] as const) {
      for (const outer of [4, 6] as const) {
        for (const psk of [false, true]) {
          const who = initiator === 'a' ? 'gridwire' : 'wireguard-go';
          await t.test(`${who} initiates, outer IPv${outer}, ${psk ? 'with' : 'without'} PSK`, () => handshakeAndPing(pair, initiator, outer, psk));
        }
      }
    }
  });

  test('full-MTU pings with DF cross both ways; one byte more fails locally; 1000-ping floods lose nothing', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    const { a, b } = pair;
    const [sa, sb] = await Promise.all([a.linkStats(), b.linkStats()]);
    assert.equal(sa.mtu, 1420, 'gridwire TUN MTU (wireguard-go default)');
    assert.equal(sb.mtu, 1420, 'wireguard-go TUN MTU');
    const full = { 4: sa.mtu - 28, 6: sa.mtu - 48 } as const;
    for (const outer of [4, 6] as const) {
      await t.test(`outer IPv${outer}: ${full[4]}/${full[6]}-byte payloads (${sa.mtu}-byte inner packets)`, async () => {
        await connect(pair, { initiator: 'a', outer });
        for (const [from, to] of [[a, b], [b, a]] as const) {
          for (const fam of [4, 6] as const) await expectPing(from, to, fam, { size: full[fam], df: true, count: 3 });
        }
      });
    }
    await t.test('one byte over the MTU is refused locally (EMSGSIZE), not sent', async () => {
      for (const fam of [4, 6] as const) {
        const r = await ping(a.lab, a.ns, b.addr(fam), { size: full[fam] + 1, df: true, count: 1 });
        assert.equal(r.received, 0, r.output);
        assert.match(r.output, /message too long|mtu=1420/i, r.output);
      }
    });
    await t.test('1000-ping floods, both directions, IPv4 and IPv6 inner', async () => {
      for (const [from, to, fam] of [[a, b, 4], [b, a, 4], [a, b, 6]] as const) {
        const r = await ping(a.lab, from.ns, to.addr(fam), { flood: true, count: 1000 });
        const loss = r.transmitted - r.received;
        t.diagnostic(`flood ${from.impl} → ${to.impl} IPv${fam}: ${r.received}/${r.transmitted}`);
        assert.equal(r.transmitted, 1000, r.output);
        assert.equal(loss, 0, `${from.impl} → ${to.impl} IPv${fam} flood lost ${loss}\n${r.output}\n${await dump(a, b)}`);
      }
    });
  });

  test('iperf3 TCP through the tunnel, both directions', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    const { a, b } = pair;
    await connect(pair, { initiator: 'a', outer: 4 });
    await expectPing(a, b, 4, { count: 1 });
    const server = await startIperfServer(pair.lab, b.ns, b.addr(4));
    try {
      // TCP retransmits mostly mean a TUN queue overflowed: the sending daemon read its TUN too slowly.
      const tunDrops = async (): Promise<number[]> => (await Promise.all([a.linkStats(), b.linkStats()])).map((x) => x.txDropped);
      const d0 = await tunDrops();
      const up = await iperf(pair.lab, a.ns, b.addr(4), 3);
      const d1 = await tunDrops();
      const down = await iperf(pair.lab, a.ns, b.addr(4), 3, true);
      const d2 = await tunDrops();
      const retrans = (r: { retransmits?: number }): string => `TCP retransmits ${r.retransmits ?? '?'}`;
      t.diagnostic(`iperf3 gridwire → wireguard-go: ${gbit(up.bitsPerSecond)} (${retrans(up)}, gridwire TUN tx drops ${d1[0]! - d0[0]!})`);
      t.diagnostic(`iperf3 wireguard-go → gridwire: ${gbit(down.bitsPerSecond)} (${retrans(down)}, wireguard-go TUN tx drops ${d2[1]! - d1[1]!})`);
      // Loose floor: a tunnel that drops or stalls gets nowhere near it; any working one clears it easily.
      assert.ok(up.bitsPerSecond > 10e6, `gridwire → wireguard-go only ${gbit(up.bitsPerSecond)}`);
      assert.ok(down.bitsPerSecond > 10e6, `wireguard-go → gridwire only ${gbit(down.bitsPerSecond)}`);
    } finally {
      await server.kill();
    }
  });

  test('persistent keepalive: 32-byte transport messages leave gridwire every interval', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    const { a, b } = pair;
    // In the peer's namespace: type-4 messages from gridwire whose UDP payload is exactly 32 bytes.
    const filter = `udp and src host ${a.underlay[4]} and dst port ${b.listenPort} and udp[8] = 4 and udp[4:2] = 40`;
    const cap = new Capture(pair.lab, b.ns, pair.links.b, filter, 5);
    await cap.started();
    // Turning keepalive on with an endpoint starts the session at once: no traffic from the test at all.
    await connect(pair, { initiator: 'a', outer: 4, keepaliveA: 1 });
    const done = await Promise.race([
      cap.proc.exited.then(() => true),
      pair.lab.waitFor(() => cap.times().length >= 5, 12_000, '5 keepalives').catch(() => false),
    ]);
    const times = cap.times();
    await cap.proc.kill();
    assert.ok(done && times.length >= 5, `saw ${times.length} keepalives in 12 s\n${cap.proc.stdout}\n${await dump(a, b)}`);
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    t.diagnostic(`keepalive gaps (s): ${gaps.map((g) => g.toFixed(3)).join(', ')}`);
    // The first may be the key-confirmation keepalive right after the handshake; the rest are the timer.
    for (const g of gaps.slice(1)) assert.ok(g > 0.8 && g < 1.6, `keepalive gap ${g.toFixed(3)} s, expected ≈ 1 s: ${gaps.join(', ')}`);
    assert.ok((await b.latestHandshake(a.publicKey)) > 0, 'wireguard-go saw the handshake');
  });

  test('a wrong public key or a mismatched PSK never handshakes', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    const { a, b } = pair;
    const bogus = newKeyPair().publicKey;
    const cases = [
      { name: 'gridwire has a wrong public key for wireguard-go', opts: { peerKeyOnA: bogus }, peerOnA: bogus },
      { name: 'the two sides hold different PSKs', opts: { psk: { a: newPsk(), b: newPsk() } }, peerOnA: b.publicKey },
    ];
    for (const c of cases) {
      await t.test(c.name, async () => {
        // Both sides know an endpoint, so both try to initiate while the pings run.
        await connect(pair, { initiator: 'both', outer: 4, ...c.opts });
        await Promise.all([expectNoPing(a, b, 4), expectNoPing(b, a, 4)]);
        const [showA, showB] = await Promise.all([a.wg(['show', a.ifname]), b.wg(['show', b.ifname])]);
        assert.doesNotMatch(showA, /latest handshake/, `gridwire:\n${showA}`);
        assert.doesNotMatch(showB, /latest handshake/, `wireguard-go:\n${showB}`);
        const [ta, tb] = await Promise.all([a.transfer(c.peerOnA), b.transfer(a.publicKey)]);
        // Each side did send handshake messages (so the test exercised something) and got no session.
        assert.ok(ta.tx >= 92, `gridwire sent handshake messages: tx ${ta.tx}\n${showA}`);
        assert.ok(tb.tx >= 92, `wireguard-go sent handshake messages: tx ${tb.tx}\n${showB}`);
        assert.equal(await a.latestHandshake(c.peerOnA), 0);
        assert.equal(await b.latestHandshake(a.publicKey), 0);
      });
    }
  });

  test('wg setconf/addconf/set/syncconf leave gridwire with the same showconf as wireguard-go', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    // Fresh interfaces beside the pair's (same namespaces), so identical keys and ports can be used.
    const [g, w] = await Promise.all([
      startNode(pair.lab, pair.a.ns, 'gridwire', { listenPort: 0 }),
      startNode(pair.lab, pair.b.ns, GO_NEW, { listenPort: 0 }),
    ]);
    // A private key whose base64 starts with '/': byte 0 is 0xff; clamping clears its low 3 bits ('+').
    const raw = Buffer.from(newKeyPair().privateKey, 'base64');
    raw[0] = 0xff;
    const unclamped = raw.toString('base64');
    const [p1, p2, p3, p4, p5] = Array.from({ length: 5 }, () => newKeyPair().publicKey);
    const [psk1, psk5] = [newPsk(), newPsk()];
    const conf1 = `[Interface]
PrivateKey = ${unclamped}
ListenPort = 51820
FwMark = 0x1234

[Peer]
PublicKey = ${p1}
PresharedKey = ${psk1}
Endpoint = 10.9.9.9:51820
AllowedIPs = 10.1.0.0/16, fd01::/64, 10.250.3.77/16
PersistentKeepalive = 25

[Peer]
PublicKey = ${p2}
Endpoint = [fd02::1]:1234
AllowedIPs = 10.2.0.1/32

[Peer]
PublicKey = ${p3}
AllowedIPs = 0.0.0.0/0, ::/0
`;
    const conf2 = `[Peer]
PublicKey = ${p4}
Endpoint = 10.9.9.4:4
AllowedIPs = 10.4.0.0/24, 10.2.0.1/32

[Peer]
PublicKey = ${p2}
AllowedIPs = 10.2.0.2/32, 10.1.2.0/24
PersistentKeepalive = 7
`;
    const conf3 = `[Interface]
PrivateKey = ${newKeyPair().privateKey}
ListenPort = 51822

[Peer]
PublicKey = ${p1}
Endpoint = 10.9.9.9:51820
AllowedIPs = 10.1.0.0/16, 10.5.0.0/16

[Peer]
PublicKey = ${p5}
PresharedKey = ${psk5}
AllowedIPs = fd05::/48
`;
    const steps: [string, (n: WgNode) => Promise<unknown>][] = [
      ['setconf', (n) => n.wg(['setconf', n.ifname, FILE], conf1)],
      ['addconf', (n) => n.wg(['addconf', n.ifname, FILE], conf2)],
      [
        'set',
        (n) =>
          n.wg(['set', n.ifname, 'listen-port', '51821', 'fwmark', 'off', 'peer', p3!, 'remove']
            .concat(['peer', p1!, 'allowed-ips', '10.1.0.0/16', 'endpoint', '[fd09::9]:999', 'persistent-keepalive', 'off'])),
      ],
      ['syncconf', (n) => n.wg(['syncconf', n.ifname, FILE], conf3)],
    ];
    const seen: Record<string, string> = {};
    const diffs: string[] = [];
    try {
      for (const [name, step] of steps) {
        await step(g);
        await step(w);
        const [cg, cw] = await Promise.all([g.wg(['showconf', g.ifname]), w.wg(['showconf', w.ifname])]);
        seen[name] = cg;
        const [ng, nw] = [confLines(cg), confLines(cw)];
        const onlyG = ng.filter((l) => !nw.includes(l));
        const onlyW = nw.filter((l) => !ng.includes(l));
        if (onlyG.length || onlyW.length) {
          const lines = onlyG.map((l) => `  gridwire only:     ${l}`).concat(onlyW.map((l) => `  wireguard-go only: ${l}`));
          diffs.push(`after wg ${name}:\n${lines.join('\n')}`);
        }
      }
    } finally {
      await Promise.all([g.proc.kill(), w.proc.kill()]);
    }
    assert.equal(diffs.length, 0, `gridwire's showconf differs from wireguard-go's (peers and allowed IPs compared unordered)\n${diffs.join('\n')}`);
    // And on its own terms, so both being wrong the same way still fails.
    assert.match(seen['setconf']!, /^PrivateKey = \+/m, 'the private key is reported clamped');
    assert.match(seen['setconf']!, /10\.250\.0\.0\/16/, 'allowed IPs are masked');
    assert.match(seen['setconf']!, /^FwMark = 0x1234$/m);
    const afterAdd = sections(seen['addconf']!);
    assert.match(afterAdd.get(p4!) ?? '', /10\.2\.0\.1\/32/, 'addconf moved 10.2.0.1/32 to the new peer');
    assert.doesNotMatch(afterAdd.get(p2!) ?? '', /10\.2\.0\.1\/32/, '10.2.0.1/32 left its old owner');
    assert.equal(sections(seen['set']!).has(p3!), false, 'wg set … remove removed the peer');
    const afterSync = sections(seen['syncconf']!);
    assert.deepEqual([...afterSync.keys()].filter((k) => k !== '').sort(), [p1!, p5!].sort(), 'syncconf left exactly the file\'s peers');
    assert.match(seen['syncconf']!, /^ListenPort = 51822$/m);
  });

  // Last in this block: it renumbers the underlay (restored afterwards).
  test('roaming: one side moves to a new underlay address mid-ping and the other follows', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    await t.test('gridwire moves; wireguard-go follows', () => roam(t, pair, 'a'));
    await t.test('wireguard-go moves; gridwire follows', () => roam(t, pair, 'b'));
  });
});

/**
 * showconf as a sorted list of `<section>: <line>` (section = '[Interface]' or the peer's key), with each
 * AllowedIPs list sorted: peer order (a Go map's in wireguard-go) and allowed-IP order carry no meaning.
 */
function confLines(text: string): string[] {
  const out: string[] = [];
  for (const [key, sec] of sections(text)) {
    for (const raw of sec.split('\n')) {
      const l = raw.trim();
      if (!l || l.startsWith('[')) continue;
      const norm = l.startsWith('AllowedIPs') ? `AllowedIPs = ${l.replace(/^AllowedIPs\s*=\s*/, '').split(/,\s*/).sort().join(', ')}` : l;
      out.push(`${key || '[Interface]'}: ${norm}`);
    }
  }
  return out.sort();
}

/** showconf peer sections by public key ('' = the interface section). */
function sections(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of text.split(/^(?=\[)/m)) m.set(/^PublicKey = (\S+)$/m.exec(s)?.[1] ?? '', s);
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Other pairs

test('gridwire wg ↔ wireguard-go 0.0.20220316 (bookworm): each side initiates, pings both ways', { timeout: 60_000 }, async (t) => {
  if (!requirePeer(t, peersFor('gridwire', GO_OLD))) return;
  await withLab(t, async (lab) => {
    const pair = await createPair(lab, { a: 'gridwire', b: GO_OLD });
    await t.test('gridwire initiates, outer IPv4, with PSK', () => handshakeAndPing(pair, 'a', 4, true));
    await t.test('wireguard-go initiates, outer IPv6', () => handshakeAndPing(pair, 'b', 6, false));
  });
});

test('gridwire wg ↔ gridwire wg', { timeout: 60_000 }, async (t) => {
  if (!requirePeer(t, [...peersFor('gridwire'), 'iperf3'])) return;
  await withLab(t, async (lab) => {
    const pair = await createPair(lab, { a: 'gridwire', b: 'gridwire' });
    await t.test('a initiates, outer IPv4, with PSK', () => handshakeAndPing(pair, 'a', 4, true));
    await t.test('b initiates, outer IPv6', () => handshakeAndPing(pair, 'b', 6, false));
    await t.test('full-MTU DF pings and a 1000-ping flood', async () => {
      await expectPing(pair.a, pair.b, 4, { size: 1392, df: true, count: 3 });
      await expectPing(pair.b, pair.a, 6, { size: 1372, df: true, count: 3 });
      const r = await ping(lab, pair.a.ns, pair.b.addr(4), { flood: true, count: 1000 });
      assert.equal(r.transmitted, 1000, r.output);
      assert.equal(r.received, 1000, r.output);
    });
    await t.test('iperf3', async () => {
      const server = await startIperfServer(lab, pair.b.ns, pair.b.addr(4));
      try {
        const r = await iperf(lab, pair.a.ns, pair.b.addr(4), 2);
        t.diagnostic(`iperf3 gridwire → gridwire: ${gbit(r.bitsPerSecond)}`);
        assert.ok(r.bitsPerSecond > 10e6, gbit(r.bitsPerSecond));
      } finally {
        await server.kill();
      }
    });
  });
});

test('rekey after REKEY_AFTER_TIME (gridwire timeScale 20: 6 s) while pinging, no ping lost', { timeout: 60_000 }, async (t) => {
  if (!requirePeer(t, peersFor('runner', GO_NEW))) return;
  await withLab(t, async (lab) => {
    const pair = await createPair(lab, { a: 'runner', b: GO_NEW, timeScaleA: 20 });
    const { a, b } = pair;
    const runner = a.runner!;
    await connect(pair, { initiator: 'a', outer: 4 });
    await expectPing(a, b, 4, { count: 1 });
    assert.equal((await runner.peer(b.publicKey)).handshakes, 1, 'one handshake to start with');
    const first = runner.events('handshake')[0]!;
    const peerSawFirst = await b.latestHandshake(a.publicKey);
    const bg = new BackgroundPing(lab, a.ns, b.addr(4), { interval: 0.05, deadline: 30 });
    try {
      await lab
        .waitFor(async () => (await runner.peer(b.publicKey)).handshakes >= 2, 15_000, 'a second handshake')
        .catch(async (e: Error) => assert.fail(`${e.message}\n${await dump(a, b)}`));
      const atRekey = bg.maxSeq();
      await lab.waitFor(() => bg.maxSeq() >= atRekey + 20, 10_000, 'pings after the rekey');
      const r = await bg.stop();
      const rekey = runner.events('handshake')[1]!;
      const after = (rekey.t - first.t) / 1000;
      t.diagnostic(`rekey ${after.toFixed(2)} s after the first handshake; ${r.received}/${r.transmitted} pings answered`);
      assert.deepEqual(missingSeqs(r.seqs), [], `pings lost across the rekey\n${r.output.slice(-800)}`);
      assert.ok(r.seqs.length >= atRekey + 20);
      // REKEY_AFTER_TIME/20 = 6 s; REJECT_AFTER_TIME/20 = 9 s would have cut the session off.
      assert.ok(after > 5.5 && after < 9, `rekey after ${after.toFixed(2)} s, expected 6–9 s`);
      assert.ok((await b.latestHandshake(a.publicKey)) > peerSawFirst, 'wireguard-go completed the new handshake too');
    } finally {
      if (bg.proc.running) await bg.stop();
    }
  });
});

test('three peers with overlapping AllowedIPs: longest prefix wins', { timeout: 60_000 }, async (t) => {
  if (!requirePeer(t, peersFor('gridwire', GO_NEW))) return;
  await withLab(t, async (lab) => {
    await lab.addNamespace('hub');
    const spokes = ['s1', 's2', 's3'];
    const targets = ['10.10.2.5', '10.10.1.5', '10.10.1.127', '10.10.1.128', '10.10.1.200'];
    await Promise.all(spokes.map((s) => lab.addNamespace(s)));
    await Promise.all(spokes.map((s, i) => lab.link('hub', s, { a: { addrs: [`172.16.${i + 1}.1/24`] }, b: { addrs: [`172.16.${i + 1}.2/24`] } })));
    const hub = await startNode(lab, 'hub', 'gridwire', { listenPort: 51000, addrs: ['192.168.77.1/32'], routes: [['10.10.0.0/16']] });
    // Every spoke owns every target address: a misrouted echo would be answered from the wrong peer
    // (and dropped by the hub's source check), and the spoke's TUN counters show who got it.
    const nodes = await Promise.all(
      spokes.map((s, i) =>
        startNode(lab, s, GO_NEW, { listenPort: 51100 + i, addrs: targets.map((x) => `${x}/32`), routes: [['192.168.77.1/32']] }),
      ),
    );
    const prefixes = ['10.10.0.0/16', '10.10.1.0/24', '10.10.1.128/25'];
    for (const [i, n] of nodes.entries()) {
      await hub.setPeer({ publicKey: n.publicKey, allowedIps: [prefixes[i]!], endpoint: `172.16.${i + 1}.2:${n.listenPort}` });
      await n.setPeer({ publicKey: hub.publicKey, allowedIps: ['192.168.77.1/32'] });
    }
    const expectOwner = async (target: string, owner: number): Promise<void> => {
      const before = await Promise.all(nodes.map((n) => n.linkStats()));
      const r = await ping(lab, hub.ns, target, { count: 2, interval: 0.05, wait: 3 });
      const afterStats = await Promise.all(nodes.map((n) => n.linkStats()));
      const got = afterStats.map((s, i) => s.rxPackets - before[i]!.rxPackets);
      assert.equal(r.received, 2, `${target}: ${r.output}\nper-spoke echoes ${got.join('/')}\n${await dump(hub, ...nodes)}`);
      const expected = nodes.map((_, i) => i === owner);
      assert.deepEqual(got.map((g) => g > 0), expected, `${target} should reach s${owner + 1} only; echoes per spoke ${got.join('/')}`);
    };
    await expectOwner('10.10.2.5', 0);
    await expectOwner('10.10.1.5', 1);
    await expectOwner('10.10.1.127', 1);
    await expectOwner('10.10.1.128', 2);
    await expectOwner('10.10.1.200', 2);
    // Without s3 its /25 falls back to s2's /24; s1 is unaffected.
    await hub.removePeer(nodes[2]!.publicKey);
    await expectOwner('10.10.1.200', 1);
    await expectOwner('10.10.2.5', 0);
  });
});

// ---------------------------------------------------------------------------------------------------
// gridwire through the device-runner (counters visible) ↔ wireguard-go 0.0.20231211

describe('gridwire device ↔ wireguard-go 0.0.20231211 (drop counters)', { timeout: 120_000 }, () => {
  const shared = sharedLab(peersFor('runner', GO_NEW), async (lab: Lab) => {
    const pair = await createPair(lab, { a: 'runner', b: GO_NEW });
    await lab.addNamespace('junk');
    await lab.link('a', 'junk', { a: { addrs: ['10.0.1.1/24'] }, b: { addrs: ['10.0.1.2/24'] } });
    return pair;
  });
  after(() => shared.cleanup());

  test('an inner source outside AllowedIPs is dropped and counted (drop_source_not_allowed)', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    const { a, b } = pair;
    const runner = a.runner!;
    await connect(pair, { initiator: 'a', outer: 4 });
    await expectPing(a, b, 4, { count: 2 });
    await b.ip(['addr', 'add', '192.168.241.99/24', 'dev', b.ifname]);
    try {
      const [c0, p0] = await Promise.all([runner.counters(), runner.peer(b.publicKey)]);
      const r = await ping(pair.lab, b.ns, a.addr(4), { source: '192.168.241.99', count: 3, interval: 0.1 });
      const [c1, p1] = await Promise.all([runner.counters(), runner.peer(b.publicKey)]);
      const dropped = (c1['drop_source_not_allowed'] ?? 0) - (c0['drop_source_not_allowed'] ?? 0);
      const rx = p1.rxBytes - p0.rxBytes;
      t.diagnostic(`spoofed echoes: ${r.transmitted} sent, ${r.received} answered, drop_source_not_allowed +${dropped}, peer rx +${rx} B`);
      assert.equal(r.received, 0, `gridwire answered a packet from outside the peer's AllowedIPs\n${r.output}`);
      assert.ok(p1.rxBytes > p0.rxBytes, 'the packets did arrive authenticated');
      assert.equal(dropped, r.transmitted, `drop_source_not_allowed +${dropped} for ${r.transmitted} packets; counters ${JSON.stringify(c1)}`);
      await expectPing(b, a, 4, { count: 2 });
    } finally {
      await b.ip(['addr', 'del', '192.168.241.99/24', 'dev', b.ifname]);
    }
  });

  test('the TUN changes hands: pings stay in the shared loop, a bulk send moves it to the tx loop, quiet gives it back', async (t) => {
    const pair = await shared.get(t);
    if (!pair || !requirePeer(t, ['iperf3'])) return;
    const { a, b, lab } = pair;
    const runner = a.runner!;
    const handoffs = async () => {
      const c = await runner.counters();
      return { toTx: c['tun_handoffs_to_tx'] ?? NaN, toRx: c['tun_handoffs_to_rx'] ?? NaN };
    };
    await connect(pair, { initiator: 'a', outer: 4 });
    const h0 = await handoffs();
    await expectPing(a, b, 4, { count: 20, interval: 0.01 });
    const h1 = await handoffs();
    assert.deepEqual(h1, h0, 'one packet at a time must not move the TUN to the tx loop');
    const server = await startIperfServer(lab, b.ns, b.addr(4));
    try {
      await iperf(lab, a.ns, b.addr(4), 1);
    } finally {
      await server.kill();
    }
    const h2 = await handoffs();
    t.diagnostic(`hand-offs: before ${JSON.stringify(h0)}, after pings ${JSON.stringify(h1)}, after iperf3 ${JSON.stringify(h2)}`);
    assert.ok(h2.toTx > h1.toTx, `a bulk send from a's TUN must move it to the tx loop: ${JSON.stringify(h2)}`);
    await lab.waitFor(async () => {
      const h = await handoffs();
      return h.toRx === h.toTx;
    }, 5_000, 'the TUN back in the shared loop once traffic stops');
    await expectPing(a, b, 4, { count: 3 });
    await expectPing(b, a, 4, { count: 3 });
  });

  test('a UDP_SEGMENT send reaches gridwire as one super-packet (USO) and the peer as every datagram, intact', async (t) => {
    const pair = await shared.get(t);
    if (!pair || !requirePeer(t, ['python3'])) return;
    const { a, b, lab } = pair;
    const runner = a.runner!;
    await connect(pair, { initiator: 'a', outer: 4 });
    const before = (await runner.counters())['tun_udp_superpackets'] ?? NaN;
    const receiver = lab.spawn(b.ns, [peerPath('python3'), '-c', USO_RECEIVER, b.addr(4), String(USO_PORT), String(USO_SIZES.length)]);
    try {
      await receiver.waitForOutput(/ready/, 5_000);
      const sent = await lab.exec(a.ns, [peerPath('python3'), '-c', USO_SENDER, b.addr(4), String(USO_PORT), USO_SIZES.join(',')]);
      assert.equal(sent.code, 0, `UDP_SEGMENT sender: ${sent.stderr}`);
      const [, json] = await receiver.waitForOutput(/^(\{.*\})$/m, 5_000);
      assert.deepEqual(JSON.parse(json!), { lengths: USO_SIZES, intact: true }, 'b got every datagram, in order, with its bytes');
    } finally {
      await receiver.kill();
    }
    const after = (await runner.counters())['tun_udp_superpackets'] ?? NaN;
    assert.ok(after > before, `the send reached gridwire's TUN as a UDP super-packet: ${before} → ${after}`);
  });

  test('an initiation flood with valid mac1 draws cookie replies; the real peer still gets its handshake', async (t) => {
    const pair = await shared.get(t);
    if (!pair) return;
    const { a, b, lab } = pair;
    const runner = a.runner!;
    await connect(pair, { initiator: 'b', outer: 4 });
    const c0 = await runner.counters();
    const cfg = { host: '10.0.1.1', port: a.listenPort, publicKey: a.publicKey, burst: 256, intervalMs: 20, verify: 50 };
    const junk = lab.spawn('junk', [process.execPath, JUNK_SENDER_JS, JSON.stringify(cfg)]);
    const status = (): Record<string, number> => {
      const lines = junk.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
      return lines.length ? (JSON.parse(lines[lines.length - 1]!) as Record<string, number>) : {};
    };
    try {
      await lab
        .waitFor(() => (status()['cookieReplies'] ?? 0) > 0, 10_000, 'cookie replies to the flood')
        .catch(async (e: Error) => {
          const counters = JSON.stringify(await runner.counters());
          assert.fail(`${e.message}: ${JSON.stringify(status())}\ncounters ${counters}\n${junk.describe()}`);
        });
      const underLoad = await runner.counters();
      const t0 = Date.now();
      // wireguard-go's first initiation (no mac2) gets a cookie reply; its retry 5 s later carries mac2.
      // With a deadline ping resends every second until the first reply (the staged ones then all arrive).
      const r = await ping(lab, b.ns, a.addr(4), { count: 1, deadline: 25 });
      const took = (Date.now() - t0) / 1000;
      const during = await runner.counters();
      const s = status();
      t.diagnostic(`handshake under flood after ${took.toFixed(1)} s; junk ${JSON.stringify(s)}`);
      t.diagnostic(
        `counters: ${['drop_mac1', 'drop_cookie_reply_sent', 'drop_rate_limited', 'drop_handshake_decrypt', 'drop_handshake_queue_full']
          .map((k) => `${k} ${(during[k] ?? 0) - (c0[k] ?? 0)}`)
          .join(', ')}`,
      );
      assert.ok(r.received >= 1, `no handshake under the flood\n${r.output}\n${await dump(a, b)}`);
      assert.ok((during['drop_cookie_reply_sent'] ?? 0) > (c0['drop_cookie_reply_sent'] ?? 0), 'gridwire counted cookie replies');
      assert.ok((during['drop_cookie_reply_sent'] ?? 0) > (underLoad['drop_cookie_reply_sent'] ?? 0), 'still under load during the handshake');
      assert.ok((await runner.peer(b.publicKey)).handshakes >= 1);
    } finally {
      if (junk.running) process.kill(junk.pid, 'SIGTERM');
      await junk.exited;
    }
    const s = status();
    assert.ok(s['verified']! > 0, `cookie replies decrypt with HASH("cookie--" ‖ gridwire's key) and the flood's mac1: ${JSON.stringify(s)}`);
    assert.equal(s['verifyFailed'], 0, `cookie replies that did not decrypt: ${JSON.stringify(s)}`);
    await expectPing(a, b, 4, { count: 3 });
  });
});

// ---------------------------------------------------------------------------------------------------
// Crypto workers forced on (on 2 CPUs the engine starts none): the fork-join path must carry bulk traffic

describe('gridwire device ↔ gridwire wg, both with GRIDWIRE_CRYPTO_WORKERS=2', { timeout: 120_000 }, () => {
  const shared = sharedLab(peersFor('runner', 'gridwire'), (lab: Lab) =>
    createPair(lab, { a: 'runner', b: 'gridwire', env: { GRIDWIRE_CRYPTO_WORKERS: '2' } }),
  );
  after(() => shared.cleanup());

  test('iperf3 both ways through parallel seal and open: batches forked (parallel_batches), nothing forged or lost', async (t) => {
    const pair = await shared.get(t);
    if (!pair || !requirePeer(t, ['iperf3'])) return;
    const { a, b, lab } = pair;
    const runner = a.runner!;
    await connect(pair, { initiator: 'a', outer: 4 });
    await expectPing(a, b, 4, { count: 2 });
    const c0 = await runner.counters();
    const server = await startIperfServer(lab, b.ns, b.addr(4));
    let c1: Record<string, number>, c2: Record<string, number>;
    try {
      const up = await iperf(lab, a.ns, b.addr(4), 2);
      c1 = await runner.counters();
      const down = await iperf(lab, a.ns, b.addr(4), 2, true);
      c2 = await runner.counters();
      t.diagnostic(`a → b ${(up.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, b → a ${(down.bitsPerSecond / 1e6).toFixed(0)} Mbit/s`);
      assert.ok(up.bytes > 0 && down.bytes > 0, 'iperf3 moved data both ways');
    } finally {
      await server.kill();
    }
    const batches = [c0, c1, c2].map((c) => c['parallel_batches'] ?? NaN);
    t.diagnostic(`parallel_batches ${batches.join(' → ')}`);
    assert.ok(batches[1]! > batches[0]! && batches[2]! > batches[1]!, `the workers ran in each direction's run: ${JSON.stringify(c2)}`);
    for (const k of ['drop_decrypt', 'drop_invalid_inner_packet', 'drop_source_not_allowed'])
      assert.equal(c2[k], c0[k], `${k} unchanged: ${JSON.stringify(c2)}`);
    await expectPing(a, b, 4, { count: 3 });
    await expectPing(b, a, 6, { count: 3 });
  });
});
