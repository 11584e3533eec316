// The embeddable WireGuardDevice without a TUN: two engines in this process over loopback UDP. Covers
// the control surface (atomic configure, errors), the handshake through the real native threads, and
// the promise that bad datagrams never hurt: every length 0..2000 and random bytes are dropped and
// counted by reason, and the session keeps working afterwards.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { generatePrivateKey, publicKey } from '../src/keys/index.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import { EADDRINUSE, EINVAL, parseSet, UapiError } from '../src/wireguard/uapi.js';
import { threadNames } from './lib/threads.js';

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function pair() {
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const b = WireGuardDevice.create({ privateKey: kb, listenPort: 0, peers: [{ publicKey: publicKey(ka), allowedIps: ['10.0.0.1/32'] }] });
  const a = WireGuardDevice.create({ privateKey: ka, listenPort: 0 });
  return { a, b, ka, kb };
}

const totalDrops = (d: WireGuardDevice) => Object.entries(d.counters()).filter(([k]) => k.startsWith('drop_')).reduce((s, [, v]) => s + v, 0);

test('wg device: two engines handshake over loopback and report it', async (t) => {
  const { a, b, kb } = pair();
  t.after(() => (a.close(), b.close()));
  const handshake = once(a, 'handshake');
  a.setPeer({ publicKey: publicKey(kb), endpoint: `127.0.0.1:${b.listenPort}`, allowedIps: ['10.0.0.2/32'], persistentKeepalive: 1 });
  const [event] = await handshake;
  assert.equal(event.peer, Buffer.from(publicKey(kb)).toString('hex'));
  const peer = await until(() => b.peers().find((p) => p.handshakes >= 1 && p.rxBytes > 0), 'the responder to count the session');
  assert.equal(peer.endpoint, `127.0.0.1:${a.listenPort}`, 'the responder learns the initiator endpoint');
  assert.ok(a.peers()[0]!.lastHandshake instanceof Date);
  assert.deepEqual(b.peers()[0]!.allowedIps, ['10.0.0.1/32']);
});

test('wg device: each engine names its loop threads, so profiles and top -H can tell them from Node threads', (t) => {
  const { a, b } = pair();
  t.after(() => (a.close(), b.close()));
  const count = (name: string) => threadNames().filter((n) => n === name).length;
  assert.equal(count('gw-rx'), 2, `one receive loop per device: ${threadNames().join(', ')}`);
  assert.equal(count('gw-hs'), 2, 'one handshake loop per device');
});

test('wg device: setting the private key it already has keeps the session (wg syncconf resends it)', async (t) => {
  const { a, b, ka, kb } = pair();
  t.after(() => (a.close(), b.close()));
  const handshake = once(a, 'handshake');
  a.setPeer({ publicKey: publicKey(kb), endpoint: `127.0.0.1:${b.listenPort}`, allowedIps: ['10.0.0.2/32'], persistentKeepalive: 1 });
  await handshake;
  const sent = a.peers()[0]!.txKeepalives;
  a.apply({ privateKey: ka, listenPort: a.listenPort, replacePeers: false, peers: [] });
  await until(() => a.peers()[0]!.txKeepalives >= sent + 2, 'two more keepalives');
  assert.equal(a.peers()[0]!.handshakes, 1, 'no new handshake: the keys in use were not thrown away');
});

test('wg device: a failing change is rejected whole and changes nothing', async (t) => {
  const holder = createSocket('udp4');
  holder.bind(0, '0.0.0.0');
  await once(holder, 'listening');
  const dev = WireGuardDevice.create({ listenPort: 0 });
  t.after(() => (dev.close(), holder.close()));
  const before = dev.listenPort;
  const key = generatePrivateKey();
  assert.throws(
    () => dev.apply({ privateKey: key, listenPort: holder.address().port, replacePeers: false, peers: [] }),
    (e: unknown) => e instanceof UapiError && e.errno === EADDRINUSE,
  );
  assert.equal(dev.publicKey, null, 'the private key in the failed change was not applied');
  assert.equal(dev.listenPort, before);
  assert.throws(() => dev.setPeer({ publicKey: publicKey(key), allowedIps: ['10.0.0.0/33'] }), /prefix/);
  assert.throws(() => dev.setPeer({ publicKey: publicKey(key), endpoint: 'example.com:51820' }), (e: unknown) => e instanceof UapiError && e.errno === EINVAL);
  assert.throws(() => dev.setPeer({ publicKey: 'not a key' }), /key/i);
  assert.equal(dev.peers().length, 0);
  dev.setPrivateKey(key);
  assert.equal(dev.publicKey, Buffer.from(publicKey(key)).toString('base64'));
  dev.setPeer({ publicKey: publicKey(key), allowedIps: ['10.0.0.2/32'] });
  assert.equal(dev.peers().length, 0, 'a peer with our own public key is ignored, as wireguard-go does');
});

test('wg device: a set as wg sends it for a link-local endpoint and a v4-mapped prefix reads back as from wireguard-go', (t) => {
  const dev = WireGuardDevice.create({ privateKey: generatePrivateKey(), listenPort: 0 });
  t.after(() => dev.close());
  // `wg set … endpoint [fe80::1%lo]:9` sends the scope by name (getnameinfo); lo is index 1 in every namespace.
  const peer = parseSet([`public_key=${Buffer.from(publicKey(generatePrivateKey())).toString('hex')}`,
    'endpoint=[fe80::1%lo]:9', 'allowed_ip=::ffff:10.0.0.1/128']).peers[0]!;
  dev.apply({ replacePeers: false, peers: [peer] });
  const got = dev.state().peers[0]!;
  assert.equal(got.endpoint, '[fe80::1%lo]:9');
  assert.deepEqual(got.allowedIps, ['::ffff:10.0.0.1/128'], 'RFC 5952 §5 mixed notation, as netip prints it');
  assert.throws(() => dev.setPeer({ publicKey: peer.publicKey, endpoint: '[fe80::1%hwa-nosuchif]:9' }),
    (e: unknown) => e instanceof UapiError && e.errno === EINVAL, 'a zone naming no interface');
  assert.equal(dev.state().peers[0]!.endpoint, '[fe80::1%lo]:9');
});

test('wg device: malformed datagrams of every length are dropped and counted; the session survives', async (t) => {
  const { a, b, kb } = pair();
  const junk = createSocket('udp4');
  t.after(() => (a.close(), b.close(), junk.close()));
  a.setPeer({ publicKey: publicKey(kb), endpoint: `127.0.0.1:${b.listenPort}`, allowedIps: ['10.0.0.2/32'], persistentKeepalive: 1 });
  await until(() => b.peers()[0]?.handshakes, 'the first handshake');
  const send = (buf: Buffer) => new Promise<void>((resolve) => junk.send(buf, b.listenPort, '127.0.0.1', () => resolve()));
  let sent = 0;
  for (let len = 0; len <= 2000; len++) {
    const buf = Buffer.alloc(len, len & 0xff);
    // Give every message type a turn at every length, so each decoder sees right and wrong sizes.
    if (len >= 4) buf.writeUInt32LE((len % 5) as number, 0);
    await send(buf);
    sent++;
  }
  for (let i = 0; i < 500; i++) {
    const buf = Buffer.from(Array.from({ length: Math.floor(Math.random() * 1500) }, () => Math.floor(Math.random() * 256)));
    if (buf.length >= 4 && i % 2) buf.writeUInt32LE(1 + (i % 4), 0);
    await send(buf);
    sent++;
  }
  const counted = await until(() => {
    const c = totalDrops(b);
    return c >= sent ? c : undefined;
  }, `${sent} drops to be counted`);
  const c = b.counters();
  for (const reason of ['drop_invalid_message', 'drop_mac1', 'drop_unknown_index']) assert.ok(c[reason]! > 0, `${reason} counted`);
  t.diagnostic(`sent ${sent} bad datagrams, ${counted} drops counted: ${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([, v]) => v)))}`);
  const rx = b.peers()[0]!.rxBytes;
  await until(() => b.peers()[0]!.rxBytes > rx, 'keepalives to keep arriving after the junk');
});
