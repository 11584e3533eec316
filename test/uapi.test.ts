// The UAPI text protocol: the parser against wireguard-go's recorded transcripts (shared/specs/wireguard.md
// §3.5), the get formatter's key order, and the socket loop's framing rules.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatPrefix } from '../src/net/prefix.js';
import { EINVAL, EPROTO, formatGet, parseSet, UapiError, type DeviceChange } from '../src/wireguard/uapi.js';

const PEER = '95eaa36ea6cec244d4b07855b4cec11b781bff4641f7e68bee32c1978732fa55';
const PEER2 = 'e8afed0bd1cdfc854c65db34897056c7ec6ccd370dd6c5ede8e5dc6745db0071';
const PRIV = '1019fd9fb3857edf493bacc2349907645e2d83cd92079e14a164b38a0117896d';

function errnoOf(lines: string[]): number {
  try {
    parseSet(lines);
    return 0;
  } catch (err) {
    assert.ok(err instanceof UapiError, String(err));
    return err.errno;
  }
}

test('uapi: the full set transcript parses into one change', () => {
  const c = parseSet([
    `private_key=${PRIV}`,
    'listen_port=51820',
    'fwmark=0',
    'replace_peers=true',
    `public_key=${PEER}`,
    'protocol_version=1',
    'preshared_key=49d2d9a4e06b5b9897ef94e0cd8d2caaa78637cbd45a9e5294f013957cde5438',
    'endpoint=10.231.0.2:51821',
    'persistent_keepalive_interval=25',
    'replace_allowed_ips=true',
    'allowed_ip=10.232.0.2/32',
    'allowed_ip=fd00:232::2/128',
    `public_key=${PEER2}`,
    'endpoint=[fd00:231::9]:4242',
    'allowed_ip=10.240.0.0/16',
  ]);
  assert.equal(Buffer.from(c.privateKey!).toString('hex'), PRIV);
  assert.equal(c.listenPort, 51820);
  assert.equal(c.fwmark, 0);
  assert.equal(c.replacePeers, true);
  assert.equal(c.peers.length, 2);
  const [a, b] = c.peers as [DeviceChange['peers'][0], DeviceChange['peers'][0]];
  assert.equal(a.persistentKeepalive, 25);
  assert.equal(a.replaceAllowedIps, true);
  assert.deepEqual(a.addAllowedIps.map(formatPrefix), ['10.232.0.2/32', 'fd00:232::2/128']);
  assert.equal(b.endpoint, '[fd00:231::9]:4242');
  assert.equal(b.replaceAllowedIps, false);
});

const rejected: Array<[string, string[], number]> = [
  ['unknown device key', ['foo=bar'], EINVAL],
  ['unknown peer key', [`public_key=${PEER}`, 'foo=bar'], EINVAL],
  ['short private key', ['private_key=zz'], EINVAL],
  ['short public key', ['public_key=abcd'], EINVAL],
  ['protocol_version 2', [`public_key=${PEER}`, 'protocol_version=2'], EINVAL],
  ['replace_peers=false', ['replace_peers=false'], EINVAL],
  ['line without =', ['hello'], EPROTO],
  ['keepalive 70000', [`public_key=${PEER}`, 'persistent_keepalive_interval=70000'], EINVAL],
  ['host name endpoint', [`public_key=${PEER}`, 'endpoint=localhost:51820'], EINVAL],
  ['prefix /33', [`public_key=${PEER}`, 'allowed_ip=10.0.0.0/33'], EINVAL],
  ['listen_port 65536', ['listen_port=65536'], EINVAL],
  ['bare address as allowed_ip', [`public_key=${PEER}`, 'allowed_ip=10.0.0.1'], EINVAL],
  ['prefix length with a leading zero', [`public_key=${PEER}`, 'allowed_ip=10.0.0.1/032'], EINVAL],
  ['signed prefix length', [`public_key=${PEER}`, 'allowed_ip=10.0.0.1/+8'], EINVAL],
];
for (const [name, lines, errno] of rejected) {
  test(`uapi: rejects ${name} with errno ${errno}`, () => assert.equal(errnoOf(lines), errno));
}

test('uapi: host bits are masked, removals and zero keys understood', () => {
  const c = parseSet([`private_key=${'0'.repeat(64)}`, `public_key=${PEER2}`, 'allowed_ip=10.250.3.77/16',
    'allowed_ip=-10.240.0.0/16', `preshared_key=${'0'.repeat(64)}`, 'update_only=true', 'remove=true']);
  assert.equal(c.privateKey, null);
  const p = c.peers[0]!;
  assert.deepEqual(p.addAllowedIps.map(formatPrefix), ['10.250.0.0/16']);
  assert.deepEqual(p.removeAllowedIps.map(formatPrefix), ['10.240.0.0/16']);
  assert.equal(p.presharedKey, null);
  assert.equal(p.updateOnly, true);
  assert.equal(p.remove, true);
});

test('uapi: keys in upper-case hex are the same keys, as wireguard-go (hex.DecodeString) reads them', () => {
  const c = parseSet([`private_key=${PRIV.toUpperCase()}`, `public_key=${PEER.toUpperCase()}`, `preshared_key=${PEER2.toUpperCase()}`]);
  assert.equal(Buffer.from(c.privateKey!).toString('hex'), PRIV);
  assert.equal(Buffer.from(c.peers[0]!.publicKey).toString('hex'), PEER);
  assert.equal(Buffer.from(c.peers[0]!.presharedKey!).toString('hex'), PEER2);
  assert.equal(errnoOf([`public_key=${PEER.slice(0, 63)}G`]), EINVAL);
});

test('uapi: get reply keeps wireguard-go key order', () => {
  const text = formatGet({
    privateKey: Buffer.from(PRIV, 'hex'),
    listenPort: 51820,
    fwmark: 0,
    peers: [{ publicKey: Buffer.from(PEER, 'hex'), presharedKey: null, endpoint: '10.231.0.2:51821', lastHandshakeSec: 0,
      lastHandshakeNsec: 0, txBytes: 0n, rxBytes: 0n, persistentKeepalive: 0, allowedIps: ['10.232.0.2/32', 'fd00:232::2/128'] }],
  });
  assert.equal(text, [`private_key=${PRIV}`, 'listen_port=51820', `public_key=${PEER}`, `preshared_key=${'0'.repeat(64)}`,
    'protocol_version=1', 'endpoint=10.231.0.2:51821', 'last_handshake_time_sec=0', 'last_handshake_time_nsec=0',
    'tx_bytes=0', 'rx_bytes=0', 'persistent_keepalive_interval=0', 'allowed_ip=10.232.0.2/32',
    'allowed_ip=fd00:232::2/128', 'errno=0', '', ''].join('\n'));
});

async function talk(path: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.on('connect', () => s.end(request));
  });
}

test('uapi server: framing, atomic set, probe tolerance and stale sockets', async () => {
  process.env['WG_SOCKET_DIR'] = mkdtempSync(join(tmpdir(), 'gw-uapi-'));
  const { UapiServer, socketPath } = await import('../src/wireguard/uapi-server.js');
  const applied: DeviceChange[] = [];
  const server = await UapiServer.listen('gwtest0', {
    get: () => ({ privateKey: null, listenPort: 4242, fwmark: 0, peers: [] }),
    set: (c) => {
      applied.push(c);
    },
  });
  try {
    await talk(socketPath('gwtest0'), ''); // wg's probe: connect and close
    assert.equal(await talk(socketPath('gwtest0'), 'get=1\n\n'), 'listen_port=4242\nerrno=0\n\n');
    assert.equal(await talk(socketPath('gwtest0'), 'get=1\nx\n'), `errno=${EINVAL}\n\n`);
    assert.equal(await talk(socketPath('gwtest0'), 'set=1\nfwmark=77\nfoo=bar\nlisten_port=1\n\n'), `errno=${EINVAL}\n\n`);
    assert.equal(applied.length, 0, 'a rejected set must change nothing');
    assert.equal(await talk(socketPath('gwtest0'), 'set=1\nfwmark=77\n'), 'errno=0\n\n'); // EOF ends a set
    assert.equal(applied[0]?.fwmark, 77);
    assert.equal(await talk(socketPath('gwtest0'), 'bogus=1\n\n'), '');
    assert.equal(await talk(socketPath('gwtest0'), 'get=1\n\nget=1\n\n'), 'listen_port=4242\nerrno=0\n\n'.repeat(2));
    await assert.rejects(UapiServer.listen('gwtest0', { get: () => { throw new Error(); }, set: () => {} }), /in use/);
  } finally {
    await server.close();
  }
});

test('uapi: 20,000 random requests only ever yield a change or a UapiError', () => {
  const keys = ['private_key', 'listen_port', 'fwmark', 'replace_peers', 'public_key', 'remove', 'update_only',
    'preshared_key', 'endpoint', 'persistent_keepalive_interval', 'replace_allowed_ips', 'allowed_ip', 'protocol_version', 'x'];
  const values = [PEER, PRIV, '0', '65535', '65536', 'true', 'false', '10.0.0.0/8', '-fd00::/64', '[::1]:1', '1.2.3.4:5',
    '', '=', '999999999999', 'zz', '1'];
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const junk = () => String.fromCharCode(...Array.from({ length: rand(12) }, () => rand(256)));
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const lines = Array.from({ length: rand(8) }, () =>
      rand(10) === 0 ? junk() : `${keys[rand(keys.length)]}=${rand(6) === 0 ? junk() : values[rand(values.length)]}`);
    try {
      const c = parseSet(lines);
      assert.ok(Array.isArray(c.peers));
      accepted++;
    } catch (err) {
      assert.ok(err instanceof UapiError, `non-UAPI error for ${JSON.stringify(lines)}: ${String(err)}`);
      assert.ok([EINVAL, EPROTO].includes(err.errno));
    }
  }
  assert.ok(accepted > 100, 'the generator also produces valid requests');
});
