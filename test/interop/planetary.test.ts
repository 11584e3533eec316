// Planetary Network interop: gridwire's drop-in daemon (`gridwire planetary -useconffile F`) against the real
// yggdrasil 0.5.12 and yggdrasilctl 0.5.12, in network namespaces joined by veth pairs (planetary-lab.ts).
// Every assertion is on something observed: the reference's -address/-subnet/-publickey output, ping6
// replies, yggdrasilctl answers from both implementations, iperf3 transfers, what a raw socket sees.
//
// Labs: a gridwire/yggdrasil pair (fresh daemons per link type), a line of seven nodes (routing through
// either implementation, the /64 subnets, the admin API, iperf3), a six-node mixed mesh (all pairs, then the
// root is killed), and a pair for the bad-input link tests. Multicast discovery is not covered here.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gate, peerPath, requirePeer, withLab, type PeerName } from '../lib/netns.js';
import { BackgroundPing, iperf, missingSeqs, run, runOk, sharedLab, startIperfServer, type IperfResult } from './wg-lab.js';
import { EDGE_KEYS } from './fixtures/planetary-keys.js';
import type { BadPeerCase, BadPeerResult } from './fixtures/planetary-badpeer.js';
import {
  BADPEER_JS,
  PLANETARY_PEERS,
  Net,
  PNode,
  buildNet,
  genconfText,
  identityOf,
  listenPort,
  pingExact,
  publicKeyOf,
  rate,
  reach,
  rootOf,
  tempFile,
  type Impl,
  type PeerRow,
  type Scheme,
} from './planetary-lab.js';

type Diag = Pick<TestContext, 'diagnostic'>;

// ---------------------------------------------------------------------------------------------------
// Shared checks

/** `from` reaches `to` (retrying while paths and sessions form), then answers `count` echoes out of `count`. */
async function expectPing(net: Net | undefined, from: PNode, to: PNode | string, count = 3, source?: string): Promise<void> {
  const dst = typeof to === 'string' ? to : to.address;
  const label = `${from.label} → ${typeof to === 'string' ? to : to.label}${source ? ` (from ${source})` : ''}`;
  const first = await reach(from, dst, 15, source ? { source } : {});
  const r = first.received === 1 ? await pingExact(from, dst, count, source ? { source } : {}) : first;
  if (first.received !== 1 || r.received !== count || r.transmitted !== count) {
    const dump = net ? await net.describe() : await describeNodes(from, ...(typeof to === 'string' ? [] : [to]));
    assert.fail(
      `${label}: ${first.received === 1 ? `${r.received}/${r.transmitted} replies, expected ${count}` : 'never answered (15 s)'}\n` +
        `${r.output.trimEnd()}\n${dump}`,
    );
  }
}

async function describeNodes(...nodes: PNode[]): Promise<string> {
  return (await Promise.all(nodes.map((n) => n.describe()))).join('\n');
}

function peerRow(rows: readonly PeerRow[], key: string): PeerRow | undefined {
  return rows.find((r) => r.key === key);
}

/** Uid, Gid, Groups and CapEff of every thread of `pid`, one line per thread. */
function threadCredentials(pid: number): { tid: string; line: string }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const field = (name: string): string => (new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).join(' ');
    return { tid, line: `uid ${field('Uid')} gid ${field('Gid')} groups ${field('Groups')} caps ${field('CapEff')}` };
  });
}

function summarize(threads: readonly { line: string }[]): string {
  const counts = new Map<string, number>();
  for (const t of threads) counts.set(t.line, (counts.get(t.line) ?? 0) + 1);
  return [...counts].map(([line, n]) => `${n}× ${line}`).join(', ');
}

/** Skips (or fails under GRIDWIRE_REQUIRE_INTEROP=1) when a reference binary is missing; needs no root. */
function requireBinaries(t: TestContext, names: readonly PeerName[]): boolean {
  const missing = names.flatMap((n) => {
    try {
      accessSync(peerPath(n), constants.X_OK);
      return [];
    } catch {
      return [`peer ${n} not found at ${peerPath(n)} (run: bash test/peers/install.sh)`];
    }
  });
  return gate(t, missing);
}

// ---------------------------------------------------------------------------------------------------
// 1. Keys → address, subnet, public key

test('address, subnet and public key equal yggdrasil 0.5.12 for generated and edge-case keys', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['yggdrasil-0.5'])) return;
  // Config files as each implementation writes them (HJSON and JSON), plus edge-case keys.
  const files: { name: string; path: string; privateKey?: string }[] = [];
  for (const impl of ['yggdrasil', 'gridwire'] as const) {
    for (const json of [false, true]) {
      const path = tempFile(`keys-${impl}`, json ? '.json' : '.conf');
      writeFileSync(path, await genconfText(impl, json));
      files.push({ name: `${impl} -genconf${json ? ' -json' : ''}`, path });
    }
  }
  for (const k of EDGE_KEYS) {
    const path = tempFile('keys-edge', '.json');
    writeFileSync(path, JSON.stringify({ PrivateKey: k.privateKey, Peers: [], Listen: [], MulticastInterfaces: [] }));
    files.push({ name: k.name, path, privateKey: k.privateKey });
  }
  // One file at a time: all of them at once start dozens of processes, which on a loaded 2-core machine
  // ran into the 20 s per-command timeout.
  const rows = [];
  for (const f of files) rows.push({ f, ref: await identityOf('yggdrasil', f.path), ours: await identityOf('gridwire', f.path) });
  const keys = new Set<string>();
  for (const { f, ref, ours } of rows) {
    assert.match(ref.key, /^[0-9a-f]{64}$/, `${f.name}: reference public key`);
    if (f.privateKey) assert.equal(ref.key, publicKeyOf(f.privateKey), `${f.name}: the reference derives the key in the config`);
    assert.deepEqual(ours, ref, `${f.name} (${f.path}): gridwire -publickey/-address/-subnet differ from yggdrasil's`);
    keys.add(ref.key);
  }
  assert.equal(keys.size, files.length, 'every config has a distinct key');
  t.diagnostic(`${files.length} keys agree, e.g. ${rows.map((r) => r.ref.address).slice(-3).join(', ')}`);
});

// ---------------------------------------------------------------------------------------------------
// 2. A gridwire/yggdrasil pair over tcp:// and tls://, each side dialing

describe('gridwire ↔ yggdrasil 0.5.12, one link', { timeout: 120_000 }, () => {
  const shared = sharedLab(PLANETARY_PEERS, async (lab) => {
    await Promise.all([lab.addNamespace('g'), lab.addNamespace('y')]);
    await lab.link('g', 'y', { a: { ifname: 'l0', addrs: ['10.78.1.1/24'] }, b: { ifname: 'l0', addrs: ['10.78.1.2/24'] } });
    return lab;
  });
  after(() => shared.cleanup());

  const cases: { scheme: Scheme; dialer: Impl }[] = [
    { scheme: 'tcp', dialer: 'gridwire' },
    { scheme: 'tcp', dialer: 'yggdrasil' },
    { scheme: 'tls', dialer: 'gridwire' },
    { scheme: 'tls', dialer: 'yggdrasil' },
  ];
  for (const c of cases) {
    test(`${c.scheme}://, ${c.dialer} dials: both list the link, ping6 both ways`, async (t) => {
      const lab = await shared.get(t);
      if (!lab) return;
      const listenerImpl: Impl = c.dialer === 'gridwire' ? 'yggdrasil' : 'gridwire';
      const ns = (impl: Impl): string => (impl === 'gridwire' ? 'g' : 'y');
      const listenAddr = listenerImpl === 'gridwire' ? '10.78.1.1' : '10.78.1.2';
      const uri = `${c.scheme}://${listenAddr}:${listenPort(c.scheme)}`;
      const listener = await PNode.start(lab, ns(listenerImpl), `${listenerImpl}-${c.scheme}`, listenerImpl, { listen: [uri] });
      let dialer: PNode | undefined;
      try {
        dialer = await PNode.start(lab, ns(c.dialer), `${c.dialer}-${c.scheme}`, c.dialer, { peers: [uri] });
        await Promise.all([listener.waitPeers([dialer.key]), dialer.waitPeers([listener.key])]);
        await Net.of(lab, listener, dialer).waitTree(10_000, undefined, 2000);
        const [g, y] = c.dialer === 'gridwire' ? [dialer, listener] : [listener, dialer];
        const [gRow, yRow] = [peerRow(await g.peers(), y.key), peerRow(await y.peers(), g.key)];
        const dump = await describeNodes(g, y);
        assert.ok(yRow?.up && gRow?.up, `both list each other as up\n${dump}`);
        assert.equal(yRow.inbound, c.dialer === 'gridwire', `yggdrasil's view of the direction\n${dump}`);
        assert.equal(gRow.inbound, c.dialer === 'yggdrasil', `gridwire's view of the direction\n${dump}`);
        assert.equal(yRow.address, g.address, `yggdrasil shows gridwire's address\n${dump}`);
        assert.equal(gRow.address, y.address, `gridwire shows yggdrasil's address\n${dump}`);
        // The real node names the transport it really used (tls:// only if the TLS handshake happened).
        assert.ok(yRow.remote.startsWith(`${c.scheme}://`), `yggdrasil's remote ${yRow.remote} is ${c.scheme}://\n${dump}`);
        // Both log the link in yggdrasil's words: "Connected outbound: <address>@<remote>, source <local>".
        for (const [me, other, row] of [[g, y, gRow], [y, g, yRow]] as const) {
          const line = `Connected ${row.inbound ? 'inbound' : 'outbound'}: ${other.address}@10\\.78\\.1\\.\\d:\\d+, source 10\\.78\\.1\\.\\d:\\d+\n`;
          assert.match(me.proc.stdout, new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d ${line}`, 'm'), `${me.label}'s log\n${dump}`);
          const tun = `Interface name: ${me.ifname}\n[^]*Interface IPv6: ${me.address}/7\n[^]*Interface MTU: 65535\n`;
          assert.match(me.proc.stdout, new RegExp(tun), `${me.label}'s log names its TUN\n${dump}`);
        }
        await expectPing(undefined, g, y, 5);
        await expectPing(undefined, y, g, 5);
        // Both fill getPeers' latency (the link's SigReq round trip, ns) and, while echoes flow, the
        // bytes of the last second (yggdrasilctl's RTT, Down and Up columns).
        const echoes = pingExact(g, y.address, 30);
        const busy = async (n: PNode, key: string) => {
          for (let i = 0; i < 40; i++) {
            const row = peerRow(await n.peers(), key);
            if ((row?.rate_recvd ?? 0) > 0 && (row?.rate_sent ?? 0) > 0) return row;
            await new Promise((r) => setTimeout(r, 50));
          }
          return peerRow(await n.peers(), key);
        };
        const [gBusy, yBusy] = await Promise.all([busy(g, y.key), busy(y, g.key)]);
        await echoes;
        for (const [impl, row] of [['gridwire', gBusy], ['yggdrasil', yBusy]] as const) {
          assert.ok((row?.latency ?? 0) > 0, `${impl} shows the link's latency: ${JSON.stringify(row)}`);
          assert.ok((row?.rate_recvd ?? 0) > 0 && (row?.rate_sent ?? 0) > 0, `${impl} shows rates while echoes flow: ${JSON.stringify(row)}`);
        }
        const sessions = await y.sessions();
        assert.ok(
          sessions.some((s) => s.key === g.key && s.bytes_recvd > 0 && s.bytes_sent > 0),
          `yggdrasil has a session with gridwire carrying bytes both ways: ${JSON.stringify(sessions)}`,
        );
        t.diagnostic(`${c.scheme}://: link up, 5/5 echoes each way; yggdrasil sees cost ${yRow.cost}, remote ${yRow.remote}`);
      } finally {
        await Promise.all([listener.stop(), dialer?.stop()]);
      }
    });
  }

  test('-user nobody: both daemons drop root after opening TUN, sockets and admin socket; the link still works', async (t) => {
    const lab = await shared.get(t);
    if (!lab) return;
    const uri = 'tcp://10.78.1.2:7000';
    const y = await PNode.start(lab, 'y', 'yggdrasil-user', 'yggdrasil', { listen: [uri], args: ['-user', 'nobody'] });
    let g: PNode | undefined;
    try {
      // The log file sits in the run's root-only temp dir: written after the drop only through the fd opened before.
      const logFile = tempFile('gridwire-user', '.log');
      g = await PNode.start(lab, 'g', 'gridwire-user', 'gridwire', { listen: ['tls://10.78.1.1:7001'], args: ['-user', 'nobody', '-logto', logFile] });
      // Dialed after the drop: a new outbound link needs no privilege.
      await g.ctl('addPeer', `uri=${uri}`);
      await Promise.all([g.waitPeers([y.key]), y.waitPeers([g.key])]);
      assert.match(readFileSync(logFile, 'utf8'), new RegExp(`Your public key is ${g.key}\n[^]*Connected outbound: ${y.address}@`), 'logged after the drop');
      await Net.of(lab, g, y).waitTree(10_000, undefined, 2000);
      await expectPing(undefined, g, y, 3);
      await expectPing(undefined, y, g, 3);
      const nobody = (await runOk(lab, 'g', ['id', '-u', 'nobody'])).trim();
      const group = (await runOk(lab, 'g', ['id', '-g', 'nobody'])).trim();
      const [gThreads, yThreads] = [threadCredentials(g.proc.pid), threadCredentials(y.proc.pid)];
      t.diagnostic(`gridwire threads: ${summarize(gThreads)}; yggdrasil 0.5.12 threads: ${summarize(yThreads)}`);
      assert.ok(gThreads.length > 2, `gridwire has its engine and libuv threads: ${gThreads.length}`);
      const want = `uid ${nobody} ${nobody} ${nobody} ${nobody} gid ${group} ${group} ${group} ${group} groups ${group} caps 0000000000000000`;
      for (const th of gThreads) assert.equal(th.line, want, `gridwire thread ${th.tid}`);
      // yggdrasil's Setgroups reaches one thread only (x/sys/unix makes a plain syscall); uid and gid reach all.
      for (const th of yThreads) assert.match(th.line, new RegExp(`^uid ${nobody} ${nobody} ${nobody} ${nobody} gid ${group} `), `yggdrasil thread ${th.tid}`);
    } finally {
      await Promise.all([y.stop(), g?.stop()]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// 2b. InterfacePeers and addPeer's `interface`: dialed out of that interface only
//
//        ya (10.79.0.2, fe80::2) ──ea── d ──eb── yb (10.79.0.2, fe80::2)
//
// d has both links in the same subnet (ea 10.79.0.1/24, eb 10.79.0.3/24), and the two real nodes behind
// them share their addresses: `tcp://10.79.0.2:7000` reaches ya or yb depending only on the interface it
// leaves by, and `tcp://[fe80::2]:7000` (no zone) only through the interface it is configured for. Unbound,
// both IPv4 dials follow the first route and reach the same node. yggdrasil 0.5.12 runs as the dialer first
// (the reference for what getPeers shows), then gridwire, with the same assertions.

describe('InterfacePeers and addPeer interface=: the source interface decides which node is reached', { timeout: 120_000 }, () => {
  const URI = 'tcp://10.79.0.2:7000';
  const LINK_LOCAL = 'tcp://[fe80::2]:7000';
  const shared = sharedLab(PLANETARY_PEERS, async (lab) => {
    await Promise.all(['d', 'ya', 'yb'].map((n) => lab.addNamespace(n)));
    await lab.link('d', 'ya', { a: { ifname: 'ea', addrs: ['10.79.0.1/24'] }, b: { ifname: 'l0', addrs: ['10.79.0.2/24', 'fe80::2/64'] } });
    await lab.link('d', 'yb', { a: { ifname: 'eb', addrs: ['10.79.0.3/24'] }, b: { ifname: 'l0', addrs: ['10.79.0.2/24', 'fe80::2/64'] } });
    // Replies for eb's address arrive on eb while the best route back to 10.79.0.2 is ea's.
    for (const k of ['all', 'default', 'ea', 'eb']) await runOk(lab, 'd', ['sysctl', '-qw', `net.ipv4.conf.${k}.rp_filter=0`]);
    // The link-local dial binds d's own fe80:: address on eb, which cannot be bound while still tentative.
    await lab.waitFor(async () => (await runOk(lab, 'd', ['ip', '-6', 'addr', 'show', 'tentative'])).trim() === '', 10_000, 'DAD on d');
    const [ya, yb] = await Promise.all(['ya', 'yb'].map((n) => PNode.start(lab, n, n.toUpperCase(), 'yggdrasil', { listen: ['tcp://[::]:7000'] })));
    return { lab, ya: ya!, yb: yb! };
  });
  after(() => shared.cleanup());

  for (const impl of ['yggdrasil', 'gridwire'] as const) {
    test(`${impl} dials: InterfacePeers reach the node behind each interface; removePeer/addPeer with interface=`, async (t) => {
      const s = await shared.get(t);
      if (!s) return;
      const { lab, ya, yb } = s;
      const d = await PNode.start(lab, 'd', `D-${impl}`, impl, { interfacePeers: { ea: [URI], eb: [URI, LINK_LOCAL], nosuch0: [URI] } });
      const upRows = async (key: string): Promise<PeerRow[]> => (await d.peers()).filter((r) => r.up && r.key === key);
      const waitUpRows = (key: string, n: number) =>
        lab.waitFor(async () => (await upRows(key)).length === n, 20_000, `${d.label} to have ${n} links up to ${key.slice(0, 8)}`).catch(async (e: Error) => {
          throw new Error(`${e.message}\n${await d.describe()}`);
        });
      try {
        await Promise.all([waitUpRows(ya.key, 1), waitUpRows(yb.key, 2)]);
        const rows = await d.peers();
        const dump = await d.describe();
        t.diagnostic(`${impl}: ${rows.map((r) => `${r.remote} ${r.up ? r.key!.slice(0, 8) : `down ${JSON.stringify(r.last_error ?? '')}`}`).join('; ')}`);
        // One row per configured (URI, interface), named by the URI alone as yggdrasil names them.
        assert.deepEqual(rows.map((r) => r.remote).sort(), [URI, URI, URI, LINK_LOCAL].sort(), `rows\n${dump}`);
        assert.equal(rows.find((r) => r.remote === LINK_LOCAL)?.key, yb.key, `the zone-less link-local peer on eb is yb\n${dump}`);
        const down = rows.filter((r) => !r.up);
        assert.equal(down.length, 1, `the peer on a missing interface is down\n${dump}`);
        assert.equal(down[0]!.last_error, 'interface "nosuch0" not found', `yggdrasil 0.5.12's last_error\n${dump}`);
        // The real nodes saw d come from the address of the interface it used.
        for (const [y, from] of [[ya, '10.79.0.1'], [yb, '10.79.0.3']] as const) {
          const seen = (await y.peers()).filter((r) => r.key === d.key && r.up).map((r) => r.remote);
          assert.ok(seen.some((r) => r.startsWith(`tcp://${from}:`)), `${y.label} has d from ${from}: ${seen.join(' ')}`);
        }
        // The same URI without an interface, or on another one, is a different peer.
        const missing = await d.ctlText('removePeer', `uri=${URI}`);
        assert.notEqual(missing.code, 0, `removePeer without interface fails: ${missing.stdout}${missing.stderr}`);
        assert.match(missing.stdout + missing.stderr, /peer is not configured/);
        await d.ctl('removePeer', `uri=${URI}`, 'interface=eb');
        await waitUpRows(yb.key, 1);
        assert.equal((await upRows(ya.key)).length, 1, 'ya stays up');
        await d.ctl('addPeer', `uri=${URI}`, 'interface=eb');
        await waitUpRows(yb.key, 2);
        const again = await d.ctlText('addPeer', `uri=${URI}`, 'interface=ea');
        assert.match(again.stdout + again.stderr, /peer is already configured/, 'adding (URI, ea) twice');
        // A refused dial's last_error is in Go's words, as yggdrasil 0.5.12 (run first) shows it.
        const REFUSED = 'tcp://10.79.0.2:7999';
        await d.ctl('addPeer', `uri=${REFUSED}`);
        const refusedRow = async () => (await d.peers()).find((r) => r.remote === REFUSED && r.last_error);
        await lab.waitFor(async () => (await refusedRow()) !== undefined, 10_000, `${d.label}: a last_error for ${REFUSED}`);
        assert.equal((await refusedRow())!.last_error, 'dial tcp 10.79.0.2:7999: connect: connection refused', await d.describe());
      } finally {
        await d.stop();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// 3, 5, 6, 7. A line of seven nodes:
//
//   G1 —tcp— Y1 —tls— G2 —tcp— Y2 —tls— Y3 —tcp— Y4
//                      |
//                     tls
//                      |
//                      G3
//
// G1 has the lowest key (the root). G1→G2 crosses a real router (Y1), Y1→Y2 crosses gridwire (G2); G2 has
// three peers for the admin checks; Y2–Y3, Y2→Y3→Y4 and G2–G3 are the iperf3 baselines.

describe('a line of gridwire and yggdrasil nodes', { timeout: 150_000 }, () => {
  const shared = sharedLab(PLANETARY_PEERS, (lab) =>
    buildNet(
      lab,
      [
        { name: 'G1', impl: 'gridwire' },
        { name: 'Y1', impl: 'yggdrasil' },
        { name: 'G2', impl: 'gridwire' },
        { name: 'Y2', impl: 'yggdrasil' },
        { name: 'Y3', impl: 'yggdrasil' },
        { name: 'Y4', impl: 'yggdrasil' },
        { name: 'G3', impl: 'gridwire' },
      ],
      [
        { a: 'G1', b: 'Y1', scheme: 'tcp' }, // G1 dials Y1
        { a: 'G2', b: 'Y1', scheme: 'tls' }, // G2 dials Y1
        { a: 'Y2', b: 'G2', scheme: 'tcp' }, // Y2 dials G2 (inbound at G2)
        { a: 'Y3', b: 'Y2', scheme: 'tls' },
        { a: 'Y4', b: 'Y3', scheme: 'tcp' },
        { a: 'G3', b: 'G2', scheme: 'tls' }, // G3 dials G2 (inbound at G2)
      ],
      // Keys in this order (lowest first): the gridwire G1 at the end of the line is the root.
      { keyOrder: ['G1', 'Y1', 'G2', 'G3', 'Y4', 'Y3', 'Y2'] },
    ),
  );
  after(() => shared.cleanup());

  test('gridwire – yggdrasil – gridwire: G1 ↔ G2 through the real Y1', async (t) => {
    const net = await shared.get(t);
    if (!net) return;
    const [g1, y1, g2] = ['G1', 'Y1', 'G2'].map((n) => net.node(n)) as [PNode, PNode, PNode];
    const before = peerRow(await y1.peers(), g2.key)?.bytes_sent ?? 0;
    await expectPing(net, g1, g2, 5);
    await expectPing(net, g2, g1, 5);
    // G1 and G2 are not peers: the echoes crossed Y1, which has forwarded bytes to G2 since.
    assert.ok(!(await g1.upPeerKeys()).has(g2.key), 'G1 and G2 are not direct peers');
    const afterBytes = peerRow(await y1.peers(), g2.key)?.bytes_sent ?? 0;
    assert.ok(afterBytes > before, `Y1 sent G2 more bytes (${before} → ${afterBytes})`);
  });

  test('yggdrasil – gridwire – yggdrasil: Y1 ↔ Y2 through G2, and the whole line end to end', async (t) => {
    const net = await shared.get(t);
    if (!net) return;
    const n = (name: string): PNode => net.node(name);
    await expectPing(net, n('Y1'), n('Y2'), 5);
    await expectPing(net, n('Y2'), n('Y1'), 5);
    assert.ok(!(await n('Y1').upPeerKeys()).has(n('Y2').key), 'Y1 and Y2 are not direct peers');
    // Five hops, both implementations forwarding, each end originating.
    await expectPing(net, n('G1'), n('Y4'));
    await expectPing(net, n('Y4'), n('G1'));
    await expectPing(net, n('G3'), n('G1'));
    await expectPing(net, n('Y4'), n('G3'));
  });

  test("the 300::/64 subnets: an address from a node's /64 on its TUN is reachable; sources are checked", async (t) => {
    const net = await shared.get(t);
    if (!net) return;
    const n = (name: string): PNode => net.node(name);
    const [g1, y1, g2, y2] = [n('G1'), n('Y1'), n('G2'), n('Y2')];
    for (const node of [g2, y2]) {
      await runOkIp(node, ['-6', 'addr', 'add', `${node.subnetHost}/64`, 'dev', node.ifname, 'nodad']);
      t.diagnostic(`${node.label}: ${node.subnetHost} from ${node.identity.subnet}`);
    }
    await t.test('both implementations route 300::/8 into their TUN (their address is on it as /7: 200::/7)', async () => {
      for (const [node, dst] of [[y1, g2.subnetHost], [g1, y2.subnetHost]] as const) {
        const r = await run(node.lab, node.ns, ['ip', '-6', 'route', 'get', dst]);
        assert.match(r.stdout, new RegExp(`\\bdev ${node.ifname}\\b`), `${node.label}: route to ${dst}\n${r.stdout}${r.stderr}`);
      }
    });
    await t.test('gridwire subnet, reached by its real peer and through a real router', async () => {
      await expectPing(net, y1, g2.subnetHost);
      await expectPing(net, g1, g2.subnetHost);
    });
    await t.test('real node subnet, reached by gridwire directly and through gridwire', async () => {
      await expectPing(net, g2, y2.subnetHost);
      await expectPing(net, g1, y2.subnetHost);
    });
    await t.test('echoes sent from a subnet address get answered (source inside the sender\'s /64)', async () => {
      await expectPing(net, g2, y1.address, 3, g2.subnetHost);
      await expectPing(net, y2, g1.address, 3, y2.subnetHost);
    });
    await t.test("gridwire does not send packets whose source is neither its address nor in its /64", async () => {
      // G2 puts Y1's subnet address on its TUN and pings Y2 from it. Spec §6.2: the node must drop such a
      // packet read from its TUN. Observed at the receiver: the real Y2's session with G2 must receive nothing
      // (Y2 would also drop it after decrypting, but its session counters count what arrived).
      const spoofed = y1.subnetHost;
      await expectPing(net, g2, y2, 1); // a session G2 ↔ Y2 exists
      const recvd = async (): Promise<number> => (await y2.sessions()).find((x) => x.key === g2.key)?.bytes_recvd ?? NaN;
      await runOkIp(g2, ['-6', 'addr', 'add', `${spoofed}/128`, 'dev', g2.ifname, 'nodad']);
      try {
        const b0 = await recvd();
        const spoof = await pingExact(g2, y2.address, 5, { source: spoofed, wait: 1 });
        const b1 = await recvd();
        const genuine = await pingExact(g2, y2.address, 5, { source: g2.address, wait: 1 }); // control
        const b2 = await recvd();
        t.diagnostic(`Y2's session with G2 received +${b1 - b0} bytes for 5 spoofed echoes, +${b2 - b1} for 5 genuine ones`);
        assert.equal(genuine.received, 5, `the control echoes are answered\n${genuine.output}`);
        assert.ok(b2 - b1 >= 5 * 104, `the control echoes reached Y2's session (+${b2 - b1} bytes)`);
        assert.equal(spoof.received, 0, spoof.output);
        assert.equal(b1 - b0, 0, `spoofed echoes reached Y2 (+${b1 - b0} bytes): gridwire sent packets with a foreign source`);
      } finally {
        await runOkIp(g2, ['-6', 'addr', 'del', `${spoofed}/128`, 'dev', g2.ifname]);
      }
    });
  });

  test('yggdrasilctl getSelf/getPeers/getTree/getPaths/getSessions against gridwire (plain and -json)', async (t) => {
    const net = await shared.get(t);
    if (!net) return;
    const n = (name: string): PNode => net.node(name);
    const [g2, y1, y2, g3, y4, g1] = [n('G2'), n('Y1'), n('Y2'), n('G3'), n('Y4'), n('G1')];
    // Traffic from G2 to two distant nodes, so that it holds paths and sessions.
    await expectPing(net, g2, y4, 2);
    await expectPing(net, g2, g1, 2);
    const known = new Map(net.all.map((x) => [x.key, x]));

    await t.test('getNodeInfo and debug_remoteGetPeers across the overlay, in both directions', async () => {
      // gridwire asks a real node, and a real node asks gridwire: both answers travel as proto messages.
      const fromReal = (await g2.ctl('getNodeInfo', `key=${y4.key}`)) as Record<string, Record<string, unknown>>;
      assert.equal(fromReal[y4.key]?.['buildname'], 'yggdrasil', JSON.stringify(fromReal));
      const fromGridwire = (await y4.ctl('getNodeInfo', `key=${g2.key}`)) as Record<string, Record<string, unknown>>;
      assert.equal(fromGridwire[g2.key]?.['buildname'], 'gridwire', JSON.stringify(fromGridwire));
      const peers = (await g2.ctl('debug_remoteGetPeers', `key=${y1.key}`)) as Record<string, { keys: string[] }>;
      assert.ok(Object.values(peers)[0]?.keys.includes(g2.key), `Y1's peers include G2: ${JSON.stringify(peers)}`);
      const gridwirePeers = (await y1.ctl('debug_remoteGetPeers', `key=${g2.key}`)) as Record<string, { keys: string[] }>;
      const g2Peers = (await g2.peers()).filter((r) => r.up).map((r) => r.key!);
      assert.deepEqual(new Set(gridwirePeers[g2.address]?.keys), new Set(g2Peers), `G2 answers Y1 with its peers: ${JSON.stringify(gridwirePeers)}`);
    });

    await t.test('debug_remoteGetSelf and debug_remoteGetTree across the overlay, in both directions', async () => {
      type Answer = Record<string, Record<string, unknown>>;
      // Each asker gets the answer keyed by the target's address; the two implementations' answers have the
      // same fields with the same JSON types, and carry what the target's own admin socket shows.
      const selfOf = async (asker: PNode, target: PNode): Promise<Record<string, unknown>> => {
        const a = (await asker.ctl('debug_remoteGetSelf', `key=${target.key}`)) as Answer;
        assert.deepEqual(Object.keys(a), [target.address], `${asker.label} → ${target.label}: ${JSON.stringify(a)}`);
        assert.equal(a[target.address]!['key'], target.key, `${asker.label} → ${target.label}: ${JSON.stringify(a)}`);
        return a[target.address]!;
      };
      const [ofReal, ofGridwire] = [await selfOf(g2, y4), await selfOf(y4, g2)];
      const shape = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${k}:${typeof v}`).sort();
      assert.deepEqual(shape(ofGridwire), shape(ofReal), `same fields: gridwire ${JSON.stringify(ofGridwire)}, yggdrasil ${JSON.stringify(ofReal)}`);
      const treeOf = async (asker: PNode, target: PNode): Promise<void> => {
        const a = (await asker.ctl('debug_remoteGetTree', `key=${target.key}`)) as Record<string, { keys: string[] }>;
        const own = (await target.tree()).map((r) => r.key);
        assert.deepEqual(new Set(a[target.address]?.keys), new Set(own), `${asker.label} → ${target.label}: ${JSON.stringify(a)}`);
      };
      await treeOf(g2, y4);
      await treeOf(y4, g2);
      await treeOf(y1, g2);
    });

    await t.test('getSelf', async () => {
      const self = await g2.self();
      assert.equal(self.key, g2.key);
      assert.equal(self.address, g2.address);
      assert.equal(self.subnet, g2.identity.subnet);
      assert.equal(self.build_name, 'gridwire');
      assert.ok(self.routing_entries >= 4, `routing_entries ${self.routing_entries}: at least itself and its three peers`);
    });

    await t.test('getPeers', async () => {
      const rows = await g2.peers();
      const dump = JSON.stringify(rows, null, 1);
      assert.deepEqual(new Set(rows.map((r) => r.key)), new Set([y1.key, y2.key, g3.key]), `G2's peers\n${dump}`);
      const ports = new Set<number>();
      for (const r of rows) {
        const peer = known.get(r.key!)!;
        const link = net.link('G2', peer.name);
        assert.ok(r.up, `${peer.label} is up`);
        assert.equal(r.address, peer.address, `${peer.label}'s address`);
        assert.equal(r.inbound, link.dialer !== 'G2', `${peer.label}: inbound`);
        assert.ok((r.bytes_recvd ?? 0) > 0 && (r.bytes_sent ?? 0) > 0, `${peer.label}: bytes both ways\n${dump}`);
        assert.ok(Number.isInteger(r.port) && r.port! >= 1, `${peer.label}: port ${r.port}`);
        ports.add(r.port!);
        if (!r.inbound) assert.equal(r.remote, link.uri, `${peer.label}: outbound remote is the configured URI`);
      }
      assert.equal(ports.size, 3, 'one port per peer');
      // And the real peers see G2 the same way.
      const fromY2 = peerRow(await y2.peers(), g2.key);
      assert.ok(fromY2?.up && !fromY2.inbound, `Y2 lists G2 as an up outbound peer: ${JSON.stringify(fromY2)}`);
    });

    await t.test("getPeers: an inbound link's remote is scheme://ip:port, as yggdrasil names it", async () => {
      // e.g. yggdrasil 0.5.12 shows tls://10.78.1.1:50150 for an inbound TLS link (spec §3.1, §8).
      const rows = (await g2.peers()).filter((r) => r.inbound);
      assert.equal(rows.length, 2, 'two inbound links (Y2, G3)');
      const wrong = rows.flatMap((r) => {
        const peer = known.get(r.key!)!;
        const link = net.link('G2', peer.name);
        const want = new RegExp(`^${link.scheme}://${link.ip[peer.name]!.replace(/\./g, '\\.')}:\\d+$`);
        return want.test(r.remote) ? [] : [`${peer.label}: remote ${JSON.stringify(r.remote)}, expected ${link.scheme}://${link.ip[peer.name]}:<port>`];
      });
      const real = peerRow(await y1.peers(), g2.key);
      assert.deepEqual(wrong, [], `yggdrasil Y1 shows its inbound link from G2 as ${real?.remote}`);
    });

    await t.test('getTree', async () => {
      const [tree, realTree] = await Promise.all([g2.tree(), y2.tree()]);
      const dump = JSON.stringify(tree, null, 1);
      const keys = new Set(tree.map((r) => r.key));
      for (const x of [g2, y1, y2, g3]) assert.ok(keys.has(x.key), `G2's tree has ${x.label}\n${dump}`);
      for (const r of tree) {
        const node = known.get(r.key);
        if (node) assert.equal(r.address, node.address, `tree address of ${node.label}`);
        assert.ok(Number.isInteger(r.sequence) && r.sequence >= 1, `sequence of ${r.key}`);
      }
      const root = rootOf(tree, g2.key);
      assert.ok(root, `G2's tree leads from G2 to a root\n${dump}`);
      assert.equal(root, rootOf(realTree, y2.key), `G2 and its real peer Y2 agree on the root\n${dump}\n${JSON.stringify(realTree, null, 1)}`);
      const lowest = [...known.keys()].sort()[0];
      assert.equal(root, lowest, 'the root is the lowest key in the network');
    });

    await t.test("getPaths: a path for each pinged node, equal to the real node's path to it", async () => {
      // A path is the destination's coordinates (spec §4.9: the responder's own coords), so the real Y2,
      // having pinged the same nodes, must hold the same ones.
      await expectPing(net, y2, y4, 1);
      await expectPing(net, y2, g1, 1);
      const [paths, realPaths] = await Promise.all([g2.paths(), y2.paths()]);
      const dump = `gridwire G2: ${JSON.stringify(paths)}\nyggdrasil Y2: ${JSON.stringify(realPaths)}`;
      for (const x of [y4, g1]) {
        const p = paths.find((r) => r.key === x.key);
        assert.ok(p, `G2 has a path to ${x.label}, which it pinged\n${dump}`);
        assert.equal(p.address, x.address);
        assert.ok(Array.isArray(p.path) && p.path.every((v) => Number.isInteger(v) && v >= 1), `path of ${x.label}: ports\n${dump}`);
        assert.ok(Number.isInteger(p.sequence) && p.sequence > 1_600_000_000, `sequence of ${x.label} is a Unix time\n${dump}`);
        const real = realPaths.find((r) => r.key === x.key);
        assert.ok(real, `Y2 has a path to ${x.label}\n${dump}`);
        assert.deepEqual(p.path, real.path, `G2 and Y2 hold the same path (coordinates) for ${x.label}\n${dump}`);
      }
    });

    await t.test('getSessions', async () => {
      const sessions = await g2.sessions();
      const dump = JSON.stringify(sessions, null, 1);
      for (const x of [y4, g1]) {
        const s = sessions.find((r) => r.key === x.key);
        assert.ok(s, `G2 has a session with ${x.label}\n${dump}`);
        assert.equal(s.address, x.address);
        assert.ok(s.bytes_sent > 0 && s.bytes_recvd > 0, `session with ${x.label} carried bytes both ways\n${dump}`);
      }
    });

    await t.test('plain tables: same columns as yggdrasil, rows for the expected keys', async () => {
      const expect: Record<string, string[]> = {
        getSelf: [g2.key, g2.address, g2.identity.subnet],
        getPeers: [y1.address, y2.address, g3.address],
        getTree: [g2.key, y1.key, y2.key, g3.key],
        getPaths: [y4.key, g1.key],
        getSessions: [y4.key, g1.key],
      };
      // (The getPaths check gave the real node Y2 paths and sessions too, so its tables have rows.)
      await expectPing(net, y2, y4, 1);
      for (const [cmd, needles] of Object.entries(expect)) {
        const [ours, theirs] = await Promise.all([g2.ctlText(cmd), y2.ctlText(cmd)]);
        assert.equal(ours.code, 0, `${cmd} exits 0: ${ours.stderr}`);
        assert.equal(theirs.code, 0, `${cmd} on yggdrasil: ${theirs.stderr}`);
        const labels = (s: string): string[] =>
          cmd === 'getSelf' ? s.split('\n').map((l) => l.split('\t')[0]!.trim()).filter(Boolean) : (s.split('\n')[0] ?? '').split('\t').map((c) => c.trim());
        assert.deepEqual(labels(ours.stdout), labels(theirs.stdout), `${cmd}: columns/labels as yggdrasil's\n${ours.stdout}\n--- yggdrasil:\n${theirs.stdout}`);
        for (const needle of needles) assert.ok(ours.stdout.includes(needle), `${cmd} shows ${needle}\n${ours.stdout}`);
      }
    });
  });

  test('iperf3 (TCP, 3 s) through gridwire and yggdrasil routers and direct links', { timeout: 90_000 }, async (t) => {
    if (!requirePeer(t, [...PLANETARY_PEERS, 'iperf3'])) return;
    const net = await shared.get(t);
    if (!net) return;
    const n = (name: string): PNode => net.node(name);
    const runs: [string, PNode, PNode][] = [
      ['yggdrasil → yggdrasil (direct)', n('Y2'), n('Y3')],
      ['yggdrasil → yggdrasil router → yggdrasil', n('Y2'), n('Y4')],
      ['gridwire → gridwire (direct)', n('G3'), n('G2')],
      ['yggdrasil → gridwire router → yggdrasil', n('Y1'), n('Y2')],
      ['gridwire → yggdrasil router → gridwire', n('G1'), n('G2')],
    ];
    for (const [label, client, server] of runs) {
      await expectPing(net, client, server, 1);
      const srv = await startIperfServer(net.lab, server.ns, server.address);
      let r: IperfResult;
      try {
        r = await iperf(net.lab, client.ns, server.address, 3);
      } finally {
        await srv.kill();
      }
      assert.ok(r.bytes > 0, `${label}: iperf3 moved data`);
      const line = `iperf3 ${label}: ${rate(r.bitsPerSecond)}${r.retransmits !== undefined ? ` (${r.retransmits} retransmits)` : ''}`;
      t.diagnostic(line);
    }
  });
});

async function runOkIp(node: PNode, args: string[]): Promise<void> {
  const r = await run(node.lab, node.ns, ['ip', ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} in ${node.ns}: ${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------------
// 4. Six mixed nodes: a tree plus a cross link; all pairs; the root dies
//
//              G1 (lowest key: root)
//            /    \
//          Y1      G2 (second lowest: the next root)
//         /  \       \
//       G3    Y2      Y3
//        \____________/   cross link G3–Y3
//
// With G1 gone the rest is the chain Y2 – Y1 – G3 – Y3 – G2: Y2 ↔ G2 and G2 ↔ Y1 then go through G3.
// The same topology is then run with six real nodes, as the reference for the re-convergence time.

describe('six nodes, a tree plus a cross link: all pairs, then the root is killed', { timeout: 200_000 }, () => {
  test('3 gridwire + 3 yggdrasil: all pairs ping; after the root is killed traffic resumes and the tree re-forms', async (t) => {
    await rootKill(t, (name) => (name.startsWith('G') ? 'gridwire' : 'yggdrasil'));
  });

  test('reference: the same with six yggdrasil 0.5.12 nodes (same measurement, for comparison)', async (t) => {
    await rootKill(t, () => 'yggdrasil');
  });
});

async function rootKill(t: TestContext, implOf: (name: string) => Impl): Promise<void> {
  if (!requirePeer(t, PLANETARY_PEERS)) return;
  await withLab(t, async (lab) => {
    const net = await buildNet(
      lab,
      ['G1', 'G2', 'G3', 'Y1', 'Y2', 'Y3'].map((name) => ({ name, impl: implOf(name) })),
      [
        { a: 'Y1', b: 'G1', scheme: 'tcp' },
        { a: 'G2', b: 'G1', scheme: 'tls' },
        { a: 'G3', b: 'Y1', scheme: 'tls' },
        { a: 'Y2', b: 'Y1', scheme: 'tcp' },
        { a: 'Y3', b: 'G2', scheme: 'tcp' },
        { a: 'G3', b: 'Y3', scheme: 'tcp' },
      ],
      { keyOrder: ['G1', 'G2', 'Y1', 'G3', 'Y2', 'Y3'] },
    );
    const n = (name: string): PNode => net.node(name);
    assert.equal((await net.roots()).get('Y2'), n('G1').key, 'G1, the lowest key, is the root');
    await allPairs(t, net, 'before');

    // Streams whose path crosses the root: Y2 → G2 (Y2 Y1 G1 G2) and G2 → Y1 (G2 G1 Y1).
    const interval = 0.1;
    const streams = [
      { from: n('Y2'), to: n('G2') },
      { from: n('G2'), to: n('Y1') },
    ].map((s) => ({ ...s, bg: new BackgroundPing(lab, s.from.ns, s.to.address, { interval, deadline: 90 }) }));
    try {
      await lab.waitFor(() => streams.every((s) => s.bg.seqs().length >= 10), 15_000, 'the streams to flow before the kill');
      const seqAtKill = streams.map((s) => s.bg.maxSeq());
      const killedAt = Date.now();
      await n('G1').kill();
      const killMs = Date.now() - killedAt;
      // Resumed: 20 consecutive answered echoes sent after the kill (ping sends one every `interval`
      // whatever happens, so sequence numbers are send times).
      const resumedAt = (seqs: number[], after: number): number | undefined => {
        const got = new Set(seqs);
        for (const s of [...got].filter((x) => x > after).sort((a, b) => a - b)) {
          let run = 0;
          while (got.has(s + run)) run++;
          if (run >= 20) return s;
        }
        return undefined;
      };
      await lab
        .waitFor(() => streams.every((s, i) => resumedAt(s.bg.seqs(), seqAtKill[i]!) !== undefined), 30_000, 'traffic to resume after the root was killed')
        .catch(async (err: Error) => {
          const tails = streams.map((s) => `${s.from.label} → ${s.to.label}: max seq ${s.bg.maxSeq()}\n${s.bg.proc.stdout.slice(-400)}`);
          assert.fail(`${err.message}\n${tails.join('\n')}\n${await net.describe()}`);
        });
      // With G1 gone, G2 has the lowest key: every node must end up in its tree.
      const waitedFrom = Date.now();
      const agreedMs = await net.waitTree(30_000, n('G2').key).catch((err: Error) => assert.fail(err.message));
      const treeMs = waitedFrom + agreedMs - killedAt;
      for (const [i, s] of streams.entries()) {
        const r = await s.bg.stop();
        const first = resumedAt(r.seqs, seqAtKill[i]!)!;
        const lost = missingSeqs(r.seqs, first).filter((x) => x > seqAtKill[i]! - 20);
        t.diagnostic(
          `${s.from.label} → ${s.to.label}: root killed at seq ${seqAtKill[i]}, ${lost.length} echoes lost (≈ ${(lost.length * interval).toFixed(1)} s), ` +
            `steady again from seq ${first}: traffic resumed ≈ ${((first - seqAtKill[i]!) * interval).toFixed(1)} s after the kill`,
        );
        assert.ok((first - seqAtKill[i]!) * interval <= 30, `${s.from.label} → ${s.to.label} resumed within 30 s`);
      }
      t.diagnostic(`root G1 killed (SIGKILL, gone after ${killMs} ms); every node's tree has G2 as root ${(treeMs / 1000).toFixed(1)} s after the kill`);
    } finally {
      for (const s of streams) if (s.bg.proc.running) await s.bg.stop();
    }
    await allPairs(t, net, 'after the root died');
  });
}

/** Every ordered pair of running nodes at once: each answers within 20 s, then 3/3 echoes. */
async function allPairs(t: Diag, net: Net, when: string): Promise<void> {
  const nodes = net.live;
  const pairs = nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => [a, b] as const));
  const started = Date.now();
  const first = await Promise.all(pairs.map(async ([a, b]) => ({ a, b, r: await reach(a, b.address, 20) })));
  const unreached = first.filter((x) => x.r.received !== 1);
  if (unreached.length) {
    const list = unreached.map((x) => `${x.a.name}→${x.b.name}`).join(' ');
    assert.fail(`${when}: ${unreached.length}/${pairs.length} pairs never answered (20 s): ${list}\n${await net.describe()}`);
  }
  const reachedMs = Date.now() - started;
  const exact = await Promise.all(pairs.map(async ([a, b]) => ({ a, b, r: await pingExact(a, b.address, 3) })));
  const short = exact.filter((x) => x.r.received !== 3);
  if (short.length) {
    assert.fail(`${when}: ${short.map((x) => `${x.a.name}→${x.b.name} ${x.r.received}/3`).join(' ')}\n${await net.describe()}`);
  }
  t.diagnostic(`${when}: all ${pairs.length} ordered pairs of ${nodes.length} nodes answer (first replies within ${(reachedMs / 1000).toFixed(1)} s), then 3/3 each`);
}

// ---------------------------------------------------------------------------------------------------
// 8. Bad input on a link

test('bad input: garbage, bad preambles and bad frames get the link dropped; the real peer stays up', { timeout: 90_000 }, async (t) => {
  if (!requirePeer(t, PLANETARY_PEERS)) return;
  await withLab(t, async (lab) => {
    await Promise.all([lab.addNamespace('g'), lab.addNamespace('y'), lab.addNamespace('x')]);
    await lab.link('g', 'y', { a: { ifname: 'l0', addrs: ['10.78.1.1/24'] }, b: { ifname: 'l0', addrs: ['10.78.1.2/24'] } });
    await lab.link('g', 'x', { a: { ifname: 'l1', addrs: ['10.78.2.1/24'] }, b: { ifname: 'l1', addrs: ['10.78.2.2/24'] } });
    const g = await PNode.start(lab, 'g', 'G', 'gridwire', { listen: ['tcp://10.78.1.1:7000', 'tcp://10.78.2.1:7000', 'tls://10.78.2.1:7001'] });
    const y = await PNode.start(lab, 'y', 'Y', 'yggdrasil', { peers: ['tcp://10.78.1.1:7000'] });
    await Promise.all([g.waitPeers([y.key]), y.waitPeers([g.key])]);
    await Net.of(lab, g, y).waitTree(10_000, undefined, 2000);
    await expectPing(undefined, y, g, 2);
    const upBefore = peerRow(await y.peers(), g.key)!.uptime!;
    const started = Date.now();

    const badPeer = async (c: BadPeerCase, tls = false): Promise<BadPeerResult & { key: string }> => {
      const cfg = { host: '10.78.2.1', port: tls ? 7001 : 7000, tls, case: c, holdMs: 2500 };
      const proc = lab.spawn('x', [process.execPath, BADPEER_JS, JSON.stringify(cfg)]);
      if (c === 'control') {
        // While the well-behaved fixture holds its link, gridwire lists it as an up peer.
        const key = JSON.parse((await proc.waitForOutput(/^\{"type":"key".*$/m, 10_000))[0]).key as string;
        await g.waitPeers([key], 2000);
      }
      const r = await proc.exited;
      const line = r.stdout.split('\n').find((l) => l.includes('"type":"result"'));
      if (r.code !== 0 || !line) assert.fail(`fixture ${c}${tls ? ' (tls)' : ''} failed: ${proc.describe()}`);
      const key = (JSON.parse(r.stdout.split('\n')[0]!) as { key: string }).key;
      return { ...(JSON.parse(line) as BadPeerResult), key };
    };

    const cases: [BadPeerCase, boolean][] = [
      ['control', false],
      ['garbage', false],
      ['bad-signature', false],
      ['old-version', false],
      ['oversize', false],
      ['empty-frame', false],
      ['unknown-type', false],
      ['control', true],
      ['garbage', true],
      ['oversize', true],
    ];
    const results = await Promise.all(cases.map(([c, tls]) => badPeer(c, tls)));
    const failures: string[] = [];
    for (const [i, r] of results.entries()) {
      const label = `${r.case}${cases[i]![1] ? ' over tls' : ''}`;
      const logged = g.proc.stdout.split('\n').find((l) => l.includes(`:${r.localPort}`) && /disconnect|clos|refus|error/i.test(l));
      t.diagnostic(
        `${label}: ${r.closed ? `dropped after ${r.closedAfterMs} ms (${r.how})` : 'kept open'}; ` +
          `gridwire's preamble ${r.gotPreamble ? 'received' : 'not received'}${logged ? `; gridwire logged: ${logged.replace(/^\S+ \S+ /, '')}` : ''}`,
      );
      // Where the fixture waited for gridwire's preamble before misbehaving, it must have come, with G's key.
      const handshook = ['control', 'oversize', 'empty-frame', 'unknown-type'].includes(r.case);
      if (handshook && (!r.gotPreamble || r.remoteKey !== g.key)) failures.push(`${label}: expected gridwire's preamble with its key (got ${r.remoteKey})`);
      if (r.case === 'control') {
        if (r.closed) failures.push(`${label}: a well-behaved peer was dropped after ${r.closedAfterMs} ms (${r.how})`);
      } else if (!r.closed) failures.push(`${label}: not dropped within 2.5 s`);
      else if (r.closedAfterMs! > 2000) failures.push(`${label}: dropped only after ${r.closedAfterMs} ms (a timeout, not the check)`);
    }
    const rows = await g.peers();
    const stillListed = rows.filter((p) => p.up && results.some((r) => r.key === p.key));
    if (stillListed.length) failures.push(`gridwire still lists fixture links as up: ${JSON.stringify(stillListed)}`);

    // The real peer's link never dropped and still carries traffic; gridwire is alive.
    assert.ok(g.running, `gridwire survived\n${await g.describe()}`);
    const yRow = peerRow(await y.peers(), g.key);
    const elapsed = (Date.now() - started) / 1000;
    assert.ok(yRow?.up, `yggdrasil still has gridwire up\n${await describeNodes(g, y)}`);
    assert.ok(yRow.uptime! >= upBefore + elapsed - 1, `the link was not re-established: uptime ${yRow.uptime} ≥ ${upBefore} + ${elapsed}`);
    await expectPing(undefined, y, g, 3);
    await expectPing(undefined, g, y, 3);
    assert.deepEqual(failures, [], `${failures.join('\n')}\n${await g.describe()}`);
  });
});
