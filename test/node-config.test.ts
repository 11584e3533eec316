// node.json validation: good configs pass, each bad one fails with the exact message naming its path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { packageRoot } from '../src/package-root.js';
import { encodeKey, generatePrivateKey, publicKey } from '../src/keys/index.js';
import { NodeConfigError, parseNodeConfig } from '../src/node/config.js';
import { validate } from '../src/node/schema-validator.js';

const KEY = encodeKey(generatePrivateKey());
const PEER = encodeKey(publicKey(generatePrivateKey()));

const iface = (extra: Record<string, unknown> = {}) => ({ name: 'gw0', key: KEY, ...extra });

function problems(config: unknown): readonly string[] {
  try {
    parseNodeConfig(JSON.stringify(config));
  } catch (err) {
    assert.ok(err instanceof NodeConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected the config to be rejected');
}

describe('node.json: good configs', () => {
  test('an empty node, a full one, and a planetary config reference all pass', () => {
    parseNodeConfig('{}');
    const full = {
      keystore: 'keys',
      chain: { gridProxy: ['https://gridproxy.grid.tf'], substrate: ['wss://tfchain.grid.tf/'], registry: 'reg.json', refreshSeconds: 30, timeoutSeconds: 5 },
      wireguard: [
        iface({
          key: 'keystore:alpha',
          listenPort: 51820,
          mtu: 1420,
          addresses: ['10.20.1.1/32', 'fd00::1/64'],
          network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' },
          peers: [
            { publicKey: PEER, endpoint: 'peer.example.org:51820', allowedIps: ['10.99.0.0/24'], persistentKeepalive: 25 },
            { publicKey: encodeKey(publicKey(generatePrivateKey())), endpoint: '[2001:db8::1]:51820' },
            { node: 11, subnet: '10.20.2.0/24', port: 51821 },
            { twin: 29, subnet: '10.20.3.0/24', publicKey: encodeKey(publicKey(generatePrivateKey())) },
          ],
        }),
        { name: 'gw1', key: encodeKey(generatePrivateKey()) },
      ],
      planetary: { key: 'keystore:me', listen: ['tls://0.0.0.0:9651'], ifName: 'gwp0', adminListen: 'unix:///run/gw.sock', peers: ['tcp://192.0.2.1:9651', { node: 11, port: 9651, scheme: 'tls' }] },
      log: { level: 'debug' },
      metrics: { listen: '127.0.0.1:9586' },
    };
    assert.deepEqual(parseNodeConfig(JSON.stringify(full)), full);
    parseNodeConfig(JSON.stringify({ planetary: { config: '/etc/yggdrasil.conf', peers: [{ node: 3, port: 7000 }] } }));
  });
});

describe('node.json: bad configs name the JSON path', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['a bad endpoint', { wireguard: [iface(), iface({ name: 'gw1', peers: [{ publicKey: PEER, endpoint: '10.0.0.1' }] })] }, ['wireguard[1].peers[0].endpoint: expected host:port']],
    ['a port out of range in an endpoint', { wireguard: [iface({ peers: [{ publicKey: PEER, endpoint: '10.0.0.1:70000' }] })] }, ['wireguard[0].peers[0].endpoint: expected host:port']],
    ['an unknown top-level key', { wireguards: [] }, ['wireguards: unknown property']],
    ['a typo in an interface', { wireguard: [iface({ listenport: 1 })] }, ['wireguard[0].listenport: unknown property']],
    ['a missing key', { wireguard: [{ name: 'gw0' }] }, ['wireguard[0].key: required']],
    ['a string for a number', { wireguard: [iface({ listenPort: '51820' })] }, ['wireguard[0].listenPort: expected an integer, got a string']],
    ['a port too high', { wireguard: [iface({ listenPort: 65536 })] }, ['wireguard[0].listenPort: expected an integer from 0 to 65535, got 65536']],
    ['a fractional port', { wireguard: [iface({ listenPort: 1.5 })] }, ['wireguard[0].listenPort: expected an integer, got a number']],
    ['wireguard not a list', { wireguard: {} }, ['wireguard: expected an array, got an object']],
    ['a long interface name', { wireguard: [iface({ name: 'sixteen-chars-xx' })] }, ['wireguard[0].name: expected an interface name of 1-15 letters, digits or _=+.-']],
    ['a hex key', { wireguard: [iface({ key: 'ab'.repeat(32) })] }, ['wireguard[0].key: expected keystore:NAME or a base64 private key: key is hex (as in the UAPI), expected base64 of 44 characters']],
    ['a bad keystore name', { wireguard: [iface({ key: 'keystore:../x' })] }, ['wireguard[0].key: expected keystore:NAME or a base64 private key: invalid key name "../x": use 1-64 letters, digits, \'-\' or \'_\', starting with a letter or digit']],
    ['a bad peer key', { wireguard: [iface({ peers: [{ publicKey: 'abc' }] })] }, ['wireguard[0].peers[0].publicKey: expected a base64 WireGuard key: key has the wrong length: 3 characters, expected 44 (base64 of 32 bytes)']],
    ['a bare allowed IP', { wireguard: [iface({ peers: [{ publicKey: PEER, allowedIps: ['10.0.0.1'] }] })] }, ['wireguard[0].peers[0].allowedIps[0]: expected an IP prefix such as 10.0.0.0/24']],
    ['an address without a length', { wireguard: [iface({ addresses: ['10.0.0.1'] })] }, ['wireguard[0].addresses[0]: expected an address with its prefix length, such as 10.0.0.1/24']],
    ['a /24 as the network', { wireguard: [iface({ network: { ipRange: '10.20.1.0/24', subnet: '10.20.1.0/24' } })] }, ['wireguard[0].network.ipRange: expected an IPv4 /16 network such as 10.20.0.0/16']],
    ['host bits in a subnet', { wireguard: [iface({ network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.1/24' } })] }, ['wireguard[0].network.subnet: expected an IPv4 /24 network such as 10.20.1.0/24']],
    ['a subnet outside the network', { wireguard: [iface({ network: { ipRange: '10.20.0.0/16', subnet: '10.30.1.0/24' } })] }, ['wireguard[0].network.subnet: 10.30.1.0/24 is not inside ipRange 10.20.0.0/16']],
    ['a peer with neither key nor id', { wireguard: [iface({ peers: [{ endpoint: '10.0.0.1:1' }] })] }, ['wireguard[0].peers[0]: give publicKey, node or twin']],
    ['a peer with node and twin', { wireguard: [iface({ listenPort: 1, network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' }, peers: [{ node: 1, twin: 2, subnet: '10.20.2.0/24' }] })] }, ['wireguard[0].peers[0]: give node or twin, not both']],
    ['an endpoint on a chain peer', { wireguard: [iface({ listenPort: 1, network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' }, peers: [{ node: 1, subnet: '10.20.2.0/24', endpoint: '10.0.0.1:1' }] })] }, ['wireguard[0].peers[0].endpoint: comes from the chain for peers named by node or twin']],
    ['a chain peer without subnet or network', { wireguard: [iface({ listenPort: 1, peers: [{ node: 1 }] })] }, ['wireguard[0].peers[0].subnet: required for a peer named by node or twin', 'wireguard[0].network: required when peers are named by node or twin']],
    ['a chain peer with no port to dial', { wireguard: [iface({ network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' }, peers: [{ twin: 7, subnet: '10.20.2.0/24' }] })] }, ['wireguard[0].peers[0].port: required when wireguard[0].listenPort is not set']],
    ['a chain peer subnet outside the network', { wireguard: [iface({ listenPort: 1, network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' }, peers: [{ node: 1, subnet: '10.21.2.0/24' }] })] }, ['wireguard[0].peers[0].subnet: 10.21.2.0/24 is not inside ipRange 10.20.0.0/16']],
    ['a port on a static peer', { wireguard: [iface({ peers: [{ publicKey: PEER, port: 1 }] })] }, ['wireguard[0].peers[0].port: only for peers named by node or twin']],
    ['node id 0', { wireguard: [iface({ network: { ipRange: '10.20.0.0/16', subnet: '10.20.1.0/24' }, peers: [{ node: 0, subnet: '10.20.2.0/24' }] })] }, ['wireguard[0].peers[0].node: expected an integer from 1 to 4294967295, got 0']],
    ['a duplicate interface', { wireguard: [iface(), iface()] }, ["wireguard[1].name: 'gw0' is already used by wireguard[0]"]],
    ['a duplicate peer key', { wireguard: [iface({ peers: [{ publicKey: PEER }, { publicKey: PEER }] })] }, ['wireguard[0].peers[1].publicKey: same key as wireguard[0].peers[0]']],
    ['planetary without a key', { planetary: { listen: [] } }, ['planetary.key: required unless planetary.config is given']],
    ['planetary key beside a config file', { planetary: { config: 'y.conf', key: 'keystore:me' } }, ['planetary.key: set it in the planetary.config file instead']],
    ['a planetary peer URI with a bad scheme', { planetary: { key: 'keystore:me', peers: ['quic://1.2.3.4:1'] } }, ['planetary.peers[0]: expected a peering URI such as tcp://host:port: quic:// peering is not supported yet (only tcp:// and tls://)']],
    ['a planetary node peer without a port', { planetary: { key: 'keystore:me', peers: [{ node: 3 }] } }, ['planetary.peers[0].port: required']],
    ['a planetary peer of the wrong type', { planetary: { key: 'keystore:me', peers: [3] } }, ['planetary.peers[0]: expected a string or an object, got an integer']],
    ['an unknown log level', { log: { level: 'loud' } }, ['log.level: expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent"']],
    ['a metrics address without a port', { metrics: { listen: '127.0.0.1' } }, ['metrics.listen: expected host:port']],
    ['a registry given as a number', { chain: { registry: 5 } }, ['chain.registry: expected a string, got an integer']],
    ['a grid proxy that is not a URL', { chain: { gridProxy: ['gridproxy.grid.tf'] } }, ['chain.gridProxy[0]: expected a http or https URL']],
    ['several problems at once', { wireguard: [{ name: 'gw0', key: KEY, mtu: 100, bogus: 1 }], log: [] }, ['wireguard[0].mtu: expected an integer from 576 to 65535, got 100', 'wireguard[0].bogus: unknown property', 'log: expected an object, got an array']],
    ['not an object', [], ['expected an object, got an array']],
  ];
  for (const [what, config, expected] of cases) test(what, () => assert.deepEqual(problems(config), expected));

  test('invalid JSON is reported as such, with the file named', () => {
    assert.throws(() => parseNodeConfig('{', '/etc/gridwire/node.json'), (err: Error) => err.message.startsWith('/etc/gridwire/node.json: not valid JSON: '));
  });

  test('the error message lists all problems under the file name', () => {
    assert.throws(() => parseNodeConfig('{"a":1,"b":2}', 'n.json'), { message: 'n.json: 2 problems:\n  a: unknown property\n  b: unknown property' });
  });
});

describe('schema validator', () => {
  test('an unknown format in a schema is a bug, not a pass', () => {
    assert.throws(() => validate('x', { type: 'string', format: 'nope' }, {}), /unknown format 'nope'/);
  });
});

describe('gridwire up node.json', () => {
  test('a bad file exits 2 naming the file and the JSON path, before anything is created', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gridwire-node-config-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ wireguard: [iface(), iface({ name: 'gw1', peers: [{ publicKey: PEER, endpoint: 'nowhere' }] })] }), { mode: 0o600 });
    const r = spawnSync(process.execPath, [join(packageRoot(), 'dist', 'cli.js'), 'up', file], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `gridwire: up: ${file}: wireguard[1].peers[0].endpoint: expected host:port\n`);
    const missing = spawnSync(process.execPath, [join(packageRoot(), 'dist', 'cli.js'), 'up', join(dir, 'none.json')], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, `gridwire: up: '${join(dir, 'none.json')}' does not exist\n`);
  });
});
