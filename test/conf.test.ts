// wg-quick configuration files: what parses and into what, what is refused with file:line, and the
// UAPI request `gridwire up` derives from a parsed file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeKey, generatePresharedKey, generatePrivateKey, publicKey } from '../src/keys/index.js';
import { formatPrefix } from '../src/net/prefix.js';
import { ConfError, confLocation, parseConf, toDeviceChange, type WgQuickConf } from '../src/wireguard/conf.js';
import { formatGet, parseSet } from '../src/wireguard/uapi.js';
import { formatSet, parseGet } from '../src/wireguard/uapi-client.js';

const PRIV = encodeKey(generatePrivateKey());
const PEER1 = encodeKey(publicKey(generatePrivateKey()));
const PEER2 = encodeKey(publicKey(generatePrivateKey()));
const PSK = encodeKey(generatePresharedKey());

const GOOD = `# a comment line
[Interface]
privatekey=${PRIV}   # trailing comment
ListenPort = 51820
Address = 10.0.0.1/24, fd00::1/64
ADDRESS = 10.0.1.1
MTU = 1380
FwMark = 0x1234
Table = 1234

[Peer]
PublicKey = ${PEER1}
PresharedKey = ${PSK}
Endpoint = vpn.example.com:51820
AllowedIPs = 10.0.0.2/32, 10.1.2.3/16
AllowedIPs = fd00::2
PersistentKeepalive = 25

[ peer ]\r
PublicKey = ${PEER2}\r
Endpoint = [fd00::9]:4242\r
AllowedIPs =\r
PersistentKeepalive = off\r
`;

const parse = (text: string) => parseConf(text, 'gw0.conf');

/** Buffers and Uint8Arrays as hex, so that deepEqual compares contents, not prototypes. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

test('conf: a full file parses into the typed config', () => {
  const c = parse(GOOD);
  assert.equal(encodeKey(c.interface.privateKey!), PRIV);
  assert.equal(c.interface.listenPort, 51820);
  assert.deepEqual(c.interface.addresses, ['10.0.0.1/24', 'fd00::1/64', '10.0.1.1']);
  assert.equal(c.interface.mtu, 1380);
  assert.equal(c.interface.fwmark, 0x1234);
  assert.equal(c.interface.table, 1234);
  assert.equal(c.peers.length, 2);
  const [a, b] = c.peers as [WgQuickConf['peers'][0], WgQuickConf['peers'][0]];
  assert.equal(encodeKey(a.publicKey), PEER1);
  assert.equal(encodeKey(a.presharedKey!), PSK);
  assert.deepEqual(a.endpoint, { host: 'vpn.example.com', port: 51820 });
  assert.deepEqual(a.allowedIps.map(formatPrefix), ['10.0.0.2/32', '10.1.0.0/16', 'fd00::2/128']);
  assert.equal(a.persistentKeepalive, 25);
  assert.deepEqual(b.endpoint, { host: 'fd00::9', port: 4242 });
  assert.deepEqual(b.allowedIps, []);
  assert.equal(b.persistentKeepalive, 0);
  assert.equal(b.presharedKey, undefined);
});

test('conf: defaults and the off/auto spellings', () => {
  const c = parse(`[Interface]\nFwMark = off\nTable = Off\n`);
  assert.deepEqual(c, { interface: { addresses: [], fwmark: 0, table: 'off' }, peers: [] });
  assert.equal(parse('[Interface]\nFwMark = 4660\nTable = auto').interface.fwmark, 4660);
  assert.equal(parse('').interface.table, 'auto');
});

test('conf: an Address or AllowedIPs line with hundreds of thousands of entries parses', () => {
  // Long enough that spreading the list into one call's arguments overflows the stack.
  const n = 300_000;
  const hosts = Array.from({ length: n }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`).join(', ');
  const c = parse(`[Interface]\nAddress = ${hosts}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = ${hosts}\n`);
  assert.equal(c.interface.addresses.length, n);
  assert.equal(c.peers[0]!.allowedIps.length, n);
});

function rejects(text: string, line: number, message: RegExp): void {
  assert.throws(
    () => parse(text),
    (err: unknown) => {
      assert.ok(err instanceof ConfError, String(err));
      assert.equal(err.line, line);
      assert.match(err.message, new RegExp(`^gw0\\.conf:${line}: `));
      assert.match(err.message, message);
      return true;
    },
  );
}

for (const key of ['DNS', 'PreUp', 'PostUp', 'PreDown', 'PostDown', 'SaveConfig', 'postup']) {
  test(`conf: ${key} is refused with file:line`, () => {
    rejects(`[Interface]\nPrivateKey = ${PRIV}\n${key} = something\n`, 3, new RegExp(`^gw0\\.conf:3: ${key} is not supported by gridwire up: `));
  });
}

const bad: Array<[string, string, number, RegExp]> = [
  ['unknown interface key', '[Interface]\nListenPrt = 1', 2, /unknown key 'ListenPrt' in \[Interface\]/],
  ['unknown peer key', `[Peer]\nPublicKey = ${PEER1}\nAddress = 10.0.0.1/32`, 3, /unknown key 'Address' in \[Peer\]/],
  ['key outside a section', 'ListenPort = 1', 1, /outside of an \[Interface\] or \[Peer\] section/],
  ['unknown section', '[Interfaces]', 1, /unknown section '\[Interfaces\]'/],
  ['line without =', '[Interface]\nListenPort 51820', 2, /expected 'Key = Value'/],
  ['short key', '[Interface]\nPrivateKey = abc=', 2, /PrivateKey: key has the wrong length/],
  ['hex key', `[Peer]\nPublicKey = ${'ab'.repeat(32)}`, 2, /PublicKey: key is hex/],
  ['bad psk', `[Peer]\nPublicKey = ${PEER1}\nPresharedKey = nope!`, 3, /PresharedKey: key is not base64/],
  ['port too big', '[Interface]\nListenPort = 65536', 2, /ListenPort must be a number from 0 to 65535/],
  ['port not a number', '[Interface]\nListenPort = http', 2, /ListenPort must be a number/],
  ['MTU too small', '[Interface]\nMTU = 100', 2, /MTU must be a number from 576 to 65535/],
  ['fwmark too big', '[Interface]\nFwMark = 0x100000000', 2, /FwMark must be off/],
  ['fwmark junk', '[Interface]\nFwMark = 12ab', 2, /FwMark must be off/],
  ['table name', '[Interface]\nTable = main', 2, /Table must be auto, off or a table number/],
  ['address /33', '[Interface]\nAddress = 10.0.0.1/33', 2, /Address: '10.0.0.1\/33' is not an IP address/],
  ['address junk', '[Interface]\nAddress = 10.0.0.1/24,,10.0.0.2', 2, /empty item/],
  ['allowed ip /129', `[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = fd00::/129`, 3, /AllowedIPs: 'fd00::\/129' is not an IP prefix/],
  ['allowed ip name', `[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = example.com`, 3, /not an IP prefix/],
  ['endpoint without port', `[Peer]\nPublicKey = ${PEER1}\nEndpoint = 10.0.0.1`, 3, /Endpoint must be host:port/],
  ['bare IPv6 endpoint', `[Peer]\nPublicKey = ${PEER1}\nEndpoint = fd00::1:51820`, 3, /Endpoint must be host:port or \[IPv6\]:port/],
  ['bracketed IPv4', `[Peer]\nPublicKey = ${PEER1}\nEndpoint = [10.0.0.1]:1`, 3, /Endpoint must be/],
  ['endpoint port 0', `[Peer]\nPublicKey = ${PEER1}\nEndpoint = 10.0.0.1:0`, 3, /Endpoint port must be a number from 1 to 65535/],
  ['keepalive too big', `[Peer]\nPublicKey = ${PEER1}\nPersistentKeepalive = 65536`, 3, /PersistentKeepalive must be a number/],
  ['peer without key', '[Peer]\nAllowedIPs = 10.0.0.0/8\n[Peer]', 1, /\[Peer\] without a PublicKey/],
  ['duplicate peer', `[Peer]\nPublicKey = ${PEER1}\n\n[Peer]\nPublicKey = ${PEER1}`, 4, /already used by the \[Peer\] at line 1/],
];
for (const [name, text, line, message] of bad) {
  test(`conf: rejects ${name} at its line`, () => rejects(text, line, message));
}

test('conf: wg-quick naming of files and interfaces', () => {
  assert.deepEqual(confLocation('wg0'), { path: '/etc/wireguard/wg0.conf', ifname: 'wg0' });
  assert.deepEqual(confLocation('wg0.conf'), { path: 'wg0.conf', ifname: 'wg0' });
  assert.deepEqual(confLocation('/tmp/x/gw-test.conf'), { path: '/tmp/x/gw-test.conf', ifname: 'gw-test' });
  assert.throws(() => confLocation('/tmp/x/far-too-long-name0.conf'), /must be an interface name followed by \.conf/);
  assert.throws(() => confLocation('/tmp/x/wg0.cfg'), /must be an interface name/);
});

test('conf: the UAPI set request resolves names and round-trips through the server parser', async () => {
  const conf = parse(GOOD);
  const asked: string[] = [];
  const change = await toDeviceChange(conf, async (host) => (asked.push(host), { address: '192.0.2.7' }));
  assert.deepEqual(asked, ['vpn.example.com']);
  const text = formatSet(change);
  assert.match(text, /^set=1\nprivate_key=[0-9a-f]{64}\nlisten_port=51820\nfwmark=4660\nreplace_peers=true\npublic_key=/);
  assert.ok(text.endsWith('allowed_ip=fd00::2/128\npublic_key=' + Buffer.from(conf.peers[1]!.publicKey).toString('hex') +
    '\nendpoint=[fd00::9]:4242\npersistent_keepalive_interval=0\nreplace_allowed_ips=true\n\n'), text);
  const parsed = parseSet(text.split('\n').slice(1, -2));
  assert.deepEqual(plain(parsed), plain(change));
  assert.equal(parsed.peers[0]!.endpoint, '192.0.2.7:51820');
  await assert.rejects(
    toDeviceChange(conf, async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    }),
    /cannot resolve endpoint host 'vpn.example.com': ENOTFOUND/,
  );
});

test('uapi client: get replies parse back into the state they were formatted from', () => {
  const state = {
    privateKey: generatePrivateKey(),
    listenPort: 51820,
    fwmark: 7,
    peers: [{ publicKey: publicKey(generatePrivateKey()), presharedKey: generatePresharedKey(), endpoint: '[fd00::1]:4',
      lastHandshakeSec: 1700000000, lastHandshakeNsec: 5, txBytes: 2n ** 60n, rxBytes: 9n, persistentKeepalive: 25,
      allowedIps: ['10.0.0.0/8', 'fd00::/64'] }],
  };
  assert.deepEqual(plain(parseGet(formatGet(state))), plain(state));
  assert.deepEqual(parseGet('errno=0\n\n'), { privateKey: null, listenPort: 0, fwmark: 0, peers: [] });
  assert.throws(() => parseGet('errno=-22\n\n'), /errno -22/);
  assert.throws(() => parseGet('listen_port=1\n'), /without an errno line/);
});
