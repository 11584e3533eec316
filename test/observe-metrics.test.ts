// The metrics endpoint against real engines in this process (no TUN, no root): two WireGuard devices
// handshake and exchange keepalives and data (the bench injector standing in for a TUN) through a UDP
// relay that counts bytes and datagrams by kind, so the byte, packet and keepalive counters served over
// HTTP are checked against what the test itself saw on the wire; junk datagrams of a known kind are checked against the drop
// counter; two planetary nodes peer over loopback TCP, so the node whose root moves counts it; a
// handshake nobody answers is counted and logged as failed.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatePrivateKey, planetaryPublicKey, publicKey } from '../src/keys/index.js';
import { generatePlanetaryConfig } from '../src/planetary/config.js';
import { PlanetaryNode } from '../src/planetary/node.js';
import { createLogger } from '../src/observe/log.js';
import { MetricsError, MetricsServer, parseMetricsAddress } from '../src/observe/metrics.js';
import { logDeviceEvents } from '../src/observe/wg-events.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import type { NativePlanetaryEngine, NativeWgEngine } from '../src/native/binding.js';
import { parseExposition, sampleValue } from './lib/prometheus-text.js';
import { waitFor } from './lib/netns.js';

const until = <T>(probe: () => T | Promise<T>, what: string, ms = 15_000) => waitFor(probe, ms, what);

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** By the protocol, not the engine: type 4 is a transport message, and one of 32 bytes (header and tag) carries nothing. */
const kindOf = (msg: Buffer) => (msg[0] !== 4 ? 'handshake' : msg.length === 32 ? 'keepalive' : 'data');

/** Forwards datagrams between a and b and counts what passes each way: bytes, and datagrams by kind. */
async function relay(bPort: number) {
  const socket = () => createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  const toB = socket();
  const toA = socket();
  await Promise.all([new Promise<void>((r) => toA.bind(0, '127.0.0.1', r)), new Promise<void>((r) => toB.bind(0, '127.0.0.1', r))]);
  const way = () => ({ bytes: 0, data: 0, keepalive: 0, handshake: 0 });
  const count = { aToB: way(), bToA: way(), datagrams: 0 };
  const seen = (w: ReturnType<typeof way>, msg: Buffer) => {
    w.bytes += msg.length;
    w[kindOf(msg)]++;
    count.datagrams++;
  };
  let aAddr: { port: number } | undefined;
  toA.on('message', (msg, from) => {
    aAddr = from;
    seen(count.aToB, msg);
    toB.send(msg, bPort, '127.0.0.1');
  });
  toB.on('message', (msg) => {
    seen(count.bToA, msg);
    if (aAddr) toA.send(msg, aAddr.port, '127.0.0.1');
  });
  const close = (s: Socket) => s.close();
  return { port: (toA.address() as { port: number }).port, count, close: () => (close(toA), close(toB)) };
}

/** The bench's native injector: IPv4/UDP packets into the device's transmit path, as its TUN reader would. */
async function injectBatch(dev: WireGuardDevice, src: number[], dst: number[]): Promise<number> {
  const engine = (dev as unknown as { engine: NativeWgEngine }).engine;
  // So short a run stops after its first batch: few enough packets that no socket buffer overflows.
  for (;;) {
    const { packets } = await engine.inject(Uint8Array.from(src), Uint8Array.from(dst), 16, 1e-6);
    if (packets > 0) return packets;
  }
}

test('metrics: WireGuard byte, packet, keepalive, handshake and drop counters match what crossed the wire', { timeout: 60_000 }, async (t) => {
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const b = WireGuardDevice.create({ privateKey: kb, listenPort: 0, peers: [{ publicKey: publicKey(ka), allowedIps: ['10.0.0.1/32'] }] });
  const a = WireGuardDevice.create({ privateKey: ka, listenPort: 0 });
  const wire = await relay(b.listenPort);
  const metrics = new MetricsServer({ port: 0 });
  t.after(async () => {
    await metrics.close();
    a.close();
    b.close();
    wire.close();
  });
  metrics.addWireGuard('gwa', a);
  metrics.addWireGuard('gwb', b);
  const { host, port } = await metrics.listen();
  assert.equal(host, '127.0.0.1');

  const before = Date.now();
  // A keepalive interval makes the device handshake at once, and keepalives flow both ways beside the
  // data; the intervals are switched off again afterwards so the wire falls quiet and the counters can
  // be compared exactly.
  a.setPeer({ publicKey: publicKey(kb), endpoint: `127.0.0.1:${wire.port}`, allowedIps: ['10.0.0.2/32'], persistentKeepalive: 1 });
  await until(() => b.peers()[0]?.handshakes, 'the handshake');
  b.setPeer({ publicKey: publicKey(ka), persistentKeepalive: 1 });
  const injected = { aToB: await injectBatch(a, [10, 0, 0, 1], [10, 0, 0, 2]), bToA: await injectBatch(b, [10, 0, 0, 2], [10, 0, 0, 1]) };
  await until(() => wire.count.aToB.keepalive > 0 && wire.count.bToA.keepalive > 0, 'keepalives both ways');
  a.setPeer({ publicKey: publicKey(kb), persistentKeepalive: 0 });
  b.setPeer({ publicKey: publicKey(ka), persistentKeepalive: 0 });
  let last = -1;
  await until(async () => {
    const settled = wire.count.datagrams === last;
    last = wire.count.datagrams;
    await new Promise((r) => setTimeout(r, 700));
    return settled && wire.count.datagrams === last;
  }, 'the wire to fall quiet');
  const after = Date.now();

  const res = await get(port, '/metrics');
  assert.equal(res.status, 200);
  assert.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8');
  const m = parseExposition(res.body);
  const peerA = Buffer.from(publicKey(ka)).toString('base64');
  const peerB = Buffer.from(publicKey(kb)).toString('base64');
  t.diagnostic(`relay saw a→b ${JSON.stringify(wire.count.aToB)}, b→a ${JSON.stringify(wire.count.bToA)}; injected ${JSON.stringify(injected)}`);
  // Each kind crossed both ways, so counting one as another is off by at least one.
  for (const w of [wire.count.aToB, wire.count.bToA]) assert.ok(w.data > 0 && w.keepalive > 0 && w.handshake > 0);
  assert.equal(wire.count.aToB.data, injected.aToB, 'every injected packet crossed the relay once');
  assert.equal(wire.count.bToA.data, injected.bToA, 'every injected packet crossed the relay once');
  const sides = [
    { from: 'gwa', to: 'gwb', fromPeer: peerB, toPeer: peerA, w: wire.count.aToB },
    { from: 'gwb', to: 'gwa', fromPeer: peerA, toPeer: peerB, w: wire.count.bToA },
  ];
  for (const { from, to, fromPeer, toPeer, w } of sides) {
    for (const [what, seen] of [['bytes', w.bytes], ['packets', w.data], ['keepalives', w.keepalive]] as const) {
      assert.equal(sampleValue(m, `gridwire_wg_peer_transmit_${what}_total`, { interface: from, peer: fromPeer }), seen, `${from} ${what} sent`);
      assert.equal(sampleValue(m, `gridwire_wg_peer_receive_${what}_total`, { interface: to, peer: toPeer }), seen, `${to} ${what} received`);
    }
  }
  for (const ifname of ['gwa', 'gwb']) {
    assert.equal(sampleValue(m, 'gridwire_wg_peer_handshakes_total', { interface: ifname }), 1, `${ifname}: one handshake`);
    const at = sampleValue(m, 'gridwire_wg_peer_last_handshake_timestamp_seconds', { interface: ifname });
    assert.ok(at * 1000 >= before - 1000 && at * 1000 <= after + 1000, `${ifname}: handshake time ${at} within the test`);
    assert.equal(sampleValue(m, 'gridwire_wg_peers', { interface: ifname }), 1);
  }
  assert.equal(sampleValue(m, 'gridwire_wg_peer_events_total', { interface: 'gwa', event: 'handshake' }), 1, 'the initiator saw one handshake event');
  assert.equal(sampleValue(m, 'gridwire_wg_device_info', { interface: 'gwb', public_key: peerB, listen_port: String(b.listenPort) }), 1);
  assert.equal(sampleValue(m, 'gridwire_wg_drops_total', { interface: 'gwb', reason: 'invalid_message' }), 0);

  // Datagrams too short to be any WireGuard message, straight to b.
  const junk = createSocket('udp4');
  t.after(() => junk.close());
  const JUNK = 37;
  for (let i = 0; i < JUNK; i++) await new Promise<void>((r) => junk.send(Buffer.from([1, 2, 3]), b.listenPort, '127.0.0.1', () => r()));
  const drops = await until(async () => {
    const v = sampleValue(parseExposition((await get(port, '/metrics')).body), 'gridwire_wg_drops_total', { interface: 'gwb', reason: 'invalid_message' });
    return v >= JUNK ? v : undefined;
  }, 'the junk to be counted');
  assert.equal(drops, JUNK, 'each junk datagram counted once, under its reason');
  for (const [reason, value] of Object.entries(b.counters())) {
    if (reason.startsWith('drop_')) assert.equal(sampleValue(parseExposition(metrics.render()), 'gridwire_wg_drops_total', { interface: 'gwb', reason: reason.slice(5) }), value);
  }

  metrics.removeWireGuard('gwa');
  assert.doesNotMatch(metrics.render(), /interface="gwa"/, 'a removed interface is gone from the next scrape');
  assert.deepEqual(a.eventNames(), [], 'a removed interface is no longer listened to');
});

test('metrics: only GET/HEAD /metrics; loopback unless allowed; bad addresses refused', async (t) => {
  const metrics = new MetricsServer({ port: 0 });
  t.after(() => metrics.close());
  const { port } = await metrics.listen();
  assert.equal((await get(port, '/')).status, 404);
  assert.equal((await get(port, '/metrics/x')).status, 404);
  assert.equal((await get(port, '/metrics', 'POST')).status, 405);
  const head = await get(port, '/metrics', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  const empty = parseExposition((await get(port, '/metrics?x=1')).body);
  assert.deepEqual([...empty.keys()], ['gridwire_metrics_collect_errors_total'], 'nothing registered: only the error counter, declared');

  assert.throws(() => new MetricsServer({ host: '0.0.0.0', port: 0 }), (e: unknown) => e instanceof MetricsError && /not a loopback address/.test((e as Error).message));
  assert.throws(() => new MetricsServer({ host: '192.0.2.1', port: 9586 }), /not a loopback address/);
  assert.doesNotThrow(() => new MetricsServer({ host: '0.0.0.0', port: 0, allowNonLoopback: true }));
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.doesNotThrow(() => new MetricsServer({ host, port: 0 }), host);
  assert.throws(() => new MetricsServer({ port: 70000 }), /port 70000/);

  assert.deepEqual(parseMetricsAddress('9586'), { host: '127.0.0.1', port: 9586 });
  assert.deepEqual(parseMetricsAddress('[::1]:9586'), { host: '::1', port: 9586 });
  assert.deepEqual(parseMetricsAddress('127.0.0.2:1'), { host: '127.0.0.2', port: 1 });
  for (const bad of ['', 'x', ':1', '1.2.3.4:', '1.2.3.4:99999', '::1:80']) assert.throws(() => parseMetricsAddress(bad), /not a metrics address/, bad);

  const busy = new MetricsServer({ port });
  await assert.rejects(busy.listen(), /cannot serve metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
});

test('metrics: a closed device is a counted collection error, not a failed scrape', async (t) => {
  const metrics = new MetricsServer({ port: 0 });
  const dev = WireGuardDevice.create({ privateKey: generatePrivateKey(), listenPort: 0 });
  t.after(() => metrics.close());
  metrics.addWireGuard('gwc', dev);
  assert.match(metrics.render(), /gridwire_wg_device_info\{interface="gwc"/);
  dev.close();
  // The closed device may still answer from its last state; make it fail for certain.
  (dev as unknown as { peers: () => never }).peers = () => {
    throw new Error('closed');
  };
  const m = parseExposition(metrics.render());
  assert.equal(sampleValue(m, 'gridwire_metrics_collect_errors_total', { source: 'wireguard:gwc' }), 1);
  assert.equal(m.get('gridwire_wg_device_info'), undefined, 'nothing half-collected from the failing source');
});

/** Counts the calls the node makes into its real native engine for a snapshot of its state. */
function countSnapshots(node: PlanetaryNode): { calls: number } {
  const engine = (node as unknown as { engine: NativePlanetaryEngine }).engine;
  const take = engine.snapshot.bind(engine);
  const count = { calls: 0 };
  // The addon's methods are read-only on its prototype; an own property shadows it.
  Object.defineProperty(engine, 'snapshot', {
    value: () => {
      count.calls++;
      return take();
    },
  });
  return count;
}

/** How many engine snapshots `act` took; it runs synchronously, so no timer's call is counted. */
function snapshotsDuring(count: { calls: number }, act: () => void): number {
  const before = count.calls;
  act();
  return count.calls - before;
}

test('metrics: planetary peers, sessions and a tree root change, from two nodes over loopback', { timeout: 60_000 }, async (t) => {
  const config = () => ({ ...generatePlanetaryConfig(), IfName: 'none', AdminListen: 'none', MulticastInterfaces: [], Listen: ['tcp://127.0.0.1:0'] });
  const a = await PlanetaryNode.start(config());
  t.after(() => a.close());
  const keyA = Buffer.from(a.publicKey).toString('hex');
  const metrics = new MetricsServer({ port: 0, treeSampleMs: 50 });
  t.after(() => metrics.close());
  const snapshots = countSnapshots(a);
  assert.equal(snapshotsDuring(snapshots, () => metrics.setPlanetary(a)), 1, 'a tree sample takes one engine snapshot');
  let m = parseExposition(metrics.render());
  assert.equal(sampleValue(m, 'gridwire_planetary_node_info', { address: a.address, subnet: a.subnet, public_key: keyA }), 1);
  assert.equal(sampleValue(m, 'gridwire_planetary_tree_info', { root: keyA, parent: keyA }), 1, 'alone, a node is its own root and parent');
  assert.equal(sampleValue(m, 'gridwire_planetary_tree_root_changes_total'), 0);
  assert.equal(m.get('gridwire_planetary_peer_up')?.samples.length ?? 0, 0);

  // b gets the lower key, so it becomes the root and a's root and parent must move to it.
  let cb = config();
  while (Buffer.from(planetaryPublicKey(cb.PrivateKey)).toString('hex') > keyA) cb = config();
  const b = await PlanetaryNode.start({ ...cb, Peers: [`tcp://127.0.0.1:${a.listenPorts()[0]}`] });
  t.after(() => b.close());
  const keyB = Buffer.from(b.publicKey).toString('hex');
  m = await until(() => {
    const now = parseExposition(metrics.render());
    const root = now.get('gridwire_planetary_tree_info')?.samples[0]?.labels['root'];
    const upEvents = now.get('gridwire_planetary_peer_link_events_total')?.samples.find((s) => s.labels['event'] === 'up')?.value;
    return root === keyB && upEvents === 1 && now.get('gridwire_planetary_peer_up')?.samples.some((s) => s.value === 1) ? now : undefined;
  }, 'a to peer with b, count the link event and agree on the root');
  assert.equal(sampleValue(m, 'gridwire_planetary_peer_up', { key: keyB, direction: 'inbound' }), 1);
  const received = sampleValue(m, 'gridwire_planetary_peer_receive_bytes_total', { key: keyB });
  const sent = a.peers()[0]!;
  assert.ok(received > 0 && received <= sent.bytesReceived, `received ${received} bytes, the node says ${sent.bytesReceived} now`);
  const rootChanges = sampleValue(m, 'gridwire_planetary_tree_root_changes_total');
  const parentChanges = sampleValue(m, 'gridwire_planetary_tree_parent_changes_total');
  assert.equal(rootChanges, 1, "a's root moved to b once");
  assert.equal(parentChanges, 1, "a's parent moved to b once");
  assert.equal(sampleValue(m, 'gridwire_planetary_tree_info', { root: keyB, parent: keyB }), 1);
  assert.equal(sampleValue(m, 'gridwire_planetary_tree_depth'), 1);
  assert.equal(sampleValue(m, 'gridwire_planetary_sessions'), a.sessions().length);
  assert.equal(snapshotsDuring(snapshots, () => (m = parseExposition(metrics.render()))), 1, 'a scrape with peers and a tree takes one engine snapshot');
  assert.equal(sampleValue(m, 'gridwire_planetary_tree_entries'), 2, 'both nodes in the tree');

  await b.close();
  m = await until(() => {
    const now = parseExposition(metrics.render());
    return now.get('gridwire_planetary_peer_link_events_total')?.samples.find((s) => s.labels['event'] === 'down')?.value === 1 ? now : undefined;
  }, 'the link down to be counted');
});

test('metrics and logs: a handshake nobody answers is counted and logged as failed', { timeout: 60_000 }, async (t) => {
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  // timeScale divides the protocol timers: giving up takes 90 s / 30 = 3 s.
  const dev = WireGuardDevice.create({ privateKey: generatePrivateKey(), timeScale: 30 });
  const dir = mkdtempSync(join(tmpdir(), 'gw-obs-'));
  const metrics = new MetricsServer({ port: 0 });
  t.after(async () => {
    await metrics.close();
    dev.close();
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const logPath = join(dir, 'wg.log');
  logDeviceEvents(dev, createLogger({ destination: logPath }), 'gwf');
  metrics.addWireGuard('gwf', dev);
  const peer = generatePrivateKey();
  dev.setPeer({ publicKey: publicKey(peer), endpoint: `127.0.0.1:${(silent.address() as { port: number }).port}`, allowedIps: ['10.9.0.1/32'], persistentKeepalive: 1 });
  const m = await until(() => {
    const now = parseExposition(metrics.render());
    return sampleValue(now, 'gridwire_wg_peer_events_total', { event: 'handshake_gave_up' }) >= 1 ? now : undefined;
  }, 'the device to give up', 30_000);
  assert.equal(sampleValue(m, 'gridwire_wg_peer_events_total', { event: 'handshake' }), 0);
  assert.equal(sampleValue(m, 'gridwire_wg_peer_handshakes_total', { interface: 'gwf' }), 0);
  assert.equal(sampleValue(m, 'gridwire_wg_peer_last_handshake_timestamp_seconds', { interface: 'gwf' }), 0);
  const failed = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r['event'] === 'handshake_failed');
  assert.ok(failed, 'a handshake_failed record');
  assert.equal(failed['level'], 40, 'logged as a warning');
  assert.equal(failed['peer'], Buffer.from(publicKey(peer)).toString('base64'));
  assert.equal(failed['interface'], 'gwf');
});
