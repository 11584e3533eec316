// The planetary config model and peer URIs on their own: the vector configs of shared/specs, Go's
// decoding rules (case-insensitive keys, defaults, typed errors naming the key) and the writers.
// Byte-for-byte comparisons with the real yggdrasil binary are in planetary-cli.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addressForKey, planetaryPublicKey, subnetForKey } from '../src/keys/index.js';
import { packageRoot } from '../src/package-root.js';
import {
  decodeConfigText,
  exportPemPrivateKey,
  formatPlanetaryConfig,
  generatePlanetaryConfig,
  parsePlanetaryConfig,
  planetaryConfigProblems,
  unsupportedTransportWarnings,
  PlanetaryConfigError,
  type PlanetaryConfig,
} from '../src/planetary/config.js';
import { goJson, nesting, parseHjson } from '../src/planetary/hjson.js';
import { parseGoDuration, parsePeerUri } from '../src/planetary/uri.js';

const VECTORS = join(packageRoot(), '..', 'shared', 'specs', 'yggdrasil-0.5-vectors');
const CLI = join(packageRoot(), 'dist', 'cli.js');
const KEY_A =
  '2516d8874235dd57e9de280e303b8da367581eeffd895c54d0bc7b9bc1a410fd2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb';

const parse = (text: string): PlanetaryConfig => parsePlanetaryConfig(text).config;

function parseError(text: string): PlanetaryConfigError {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof PlanetaryConfigError, String(err));
    return err;
  }
  assert.fail(`accepted: ${text}`);
}

describe('planetary config: the vector configs', () => {
  const files = readdirSync(join(VECTORS, 'configs')).filter((f) => f.endsWith('.json'));

  test('every vector config normalises to itself minus AdminListen (JSON)', () => {
    assert.ok(files.length >= 20);
    for (const file of files) {
      const text = readFileSync(join(VECTORS, 'configs', file), 'utf8');
      const { AdminListen: _, ...expected } = JSON.parse(text);
      // Port and Priority are `omitempty`: yggdrasil drops zeros that a hand-written file spelled out.
      for (const m of expected.MulticastInterfaces) for (const k of ['Port', 'Priority']) if (m[k] === 0) delete m[k];
      const config = parse(text);
      const out = formatPlanetaryConfig({ ...config, AdminListen: '' }, 'json');
      assert.deepEqual(JSON.parse(out), expected, file);
      // Field order is the struct's, and the key order of the vector files is yggdrasil's own output.
      assert.deepEqual(Object.keys(JSON.parse(out)), Object.keys(expected), file);
    }
  });

  test('addresses.json: key → public key, address, subnet as yggdrasil printed them', () => {
    const { vectors } = JSON.parse(readFileSync(join(VECTORS, 'addresses.json'), 'utf8'));
    for (const v of vectors) {
      const config = parse(readFileSync(join(VECTORS, 'configs', v.source_config), 'utf8'));
      const pub = planetaryPublicKey(config.PrivateKey);
      assert.equal(Buffer.from(pub).toString('hex'), v.public_key, v.source_config);
      assert.equal(addressForKey(pub), v.address, v.source_config);
      assert.equal(subnetForKey(pub), v.subnet, v.source_config);
    }
  });
});

describe('planetary config: decoding as Go does', () => {
  test('an empty file is the defaults with a fresh key', () => {
    const c = parse('');
    assert.equal(c.PrivateKey.length, 64);
    assert.deepEqual(
      { ...c, PrivateKey: undefined },
      { ...generatePlanetaryConfig(c.PrivateKey), PrivateKey: undefined },
    );
    assert.equal(c.IfName, 'auto');
    assert.equal(c.IfMTU, 65535);
    assert.deepEqual(c.MulticastInterfaces, [{ Regex: '.*', Beacon: true, Listen: true, Port: 0, Priority: 0, Password: '' }]);
  });

  test('HJSON with comments, quoteless strings and case-insensitive keys', () => {
    const c = parse(`{
      # comment
      privatekey: ${KEY_A}
      PEERS: [
        tcp://10.0.0.1:1
      ]  // another comment
      ifname: none
      /* block */ IfMtu: 1280
    }`);
    assert.equal(Buffer.from(c.PrivateKey).toString('hex'), KEY_A);
    assert.deepEqual(c.Peers, ['tcp://10.0.0.1:1']);
    assert.equal(c.IfName, 'none');
    assert.equal(c.IfMTU, 1280);
  });

  test('a config nested too deeply to write back is refused by name, not a crash of the writers', () => {
    const nested = (depth: number) => `{"PrivateKey": "${KEY_A}", "NodeInfo": {"a": ${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    for (const depth of [3_000, 200_000]) {
      assert.match(parseError(nested(depth)).message, /nested more than \d+ levels deep/);
    }
    const fine = parsePlanetaryConfig(nested(500)).config;
    assert.doesNotThrow(() => formatPlanetaryConfig(fine, 'hjson'));
    assert.doesNotThrow(() => formatPlanetaryConfig(fine, 'json'));
  });

  test('the nesting limit is exactly 1000 levels: 1000 are written back by -normaliseconf, 1001 refused', () => {
    // The outer object and NodeInfo are two of the levels.
    const nested = (levels: number) => `{"PrivateKey": "${KEY_A}", "NodeInfo": {"a": ${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`;
    const normalise = (text: string, json: boolean) =>
      spawnSync(process.execPath, [CLI, 'planetary', '-useconf', '-normaliseconf', ...(json ? ['-json'] : [])], { input: text, encoding: 'utf8', timeout: 20_000, maxBuffer: 64 << 20 });
    for (const json of [false, true]) {
      const ok = normalise(nested(1000), json);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(nesting(parseHjson(ok.stdout)), 1000, 'written back whole');
      const refused = normalise(nested(1001), json);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /nested more than 1000 levels deep/);
    }
  });

  test('unknown keys are ignored with a warning', () => {
    const { config, warnings } = parsePlanetaryConfig('{"Bogus": 1, "IfName": "x"}');
    assert.equal(config.IfName, 'x');
    assert.deepEqual(warnings, ["unknown config key 'Bogus' ignored"]);
  });

  test('LogLookups, PrivateKeyPath and AdminListen are read; NodeInfo null and {} stay apart', () => {
    const c = parse(`{"PrivateKey": "${KEY_A}", "LogLookups": true, "AdminListen": "tcp://[::1]:9001", "NodeInfo": null}`);
    assert.equal(c.LogLookups, true);
    assert.equal(c.AdminListen, 'tcp://[::1]:9001');
    assert.equal(c.NodeInfo, null);
    assert.deepEqual(parse('{"NodeInfo": {}}').NodeInfo, {});
  });

  test('the first multicast entry inherits the default entry (Go reuses the slice), later ones start empty', () => {
    const c = parse('{"MulticastInterfaces": [{"Regex": "eth0"}, {"regex": "wlan0", "port": 9}]}');
    assert.deepEqual(c.MulticastInterfaces, [
      { Regex: 'eth0', Beacon: true, Listen: true, Port: 0, Priority: 0, Password: '' },
      { Regex: 'wlan0', Beacon: false, Listen: false, Port: 9, Priority: 0, Password: '' },
    ]);
  });

  test('null lists are empty lists; null scalars keep their defaults', () => {
    const c = parse('{"Peers": null, "IfName": null, "IfMTU": null, "MulticastInterfaces": null}\n');
    assert.deepEqual(c.Peers, []);
    assert.equal(c.IfName, 'auto');
    assert.equal(c.IfMTU, 65535);
    assert.deepEqual(c.MulticastInterfaces, []);
  });

  test('UTF-16 with a byte order mark (both orders) and UTF-8 with a BOM', () => {
    const text = '{"IfName": "ü16"}';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    for (const bytes of [le, be, bom8]) assert.equal(parse(decodeConfigText(bytes)).IfName, 'ü16');
  });

  test('wrong types name the offending key', () => {
    const cases: Array<[string, string]> = [
      ['{"IfMTU": "x"}', 'IfMTU'],
      ['{"IfMTU": -1}', 'IfMTU'],
      ['{"IfMTU": 1.5}', 'IfMTU'],
      ['{"Peers": "tcp://a:1"}', 'Peers'],
      ['{"Listen": ["tcp://a:1", 5]}', 'Listen[1]'],
      ['{"InterfacePeers": {"eth0": "x"}}', 'InterfacePeers.eth0'],
      ['{"MulticastInterfaces": [{"Port": 70000}]}', 'MulticastInterfaces[0].Port'],
      ['{"MulticastInterfaces": [{}, {"Beacon": "yes"}]}', 'MulticastInterfaces[1].Beacon'],
      ['{"NodeInfo": [1]}', 'NodeInfo'],
      ['{"NodeInfoPrivacy": 1}', 'NodeInfoPrivacy'],
      ['{"PrivateKey": 1}', 'PrivateKey'],
      ['{"PrivateKey": "abc"}', 'PrivateKey'],
      [`{"PrivateKey": "${KEY_A.slice(0, 64)}"}`, 'PrivateKey'],
      [`{"PrivateKey": "${KEY_A.slice(0, 64)}${KEY_A.slice(0, 64)}"}`, 'PrivateKey'],
      ['{"PrivateKeyPath": "/nonexistent/key.pem"}', 'PrivateKeyPath'],
    ];
    for (const [text, key] of cases) {
      const err = parseError(text);
      assert.equal(err.key, key, `${text}: ${err.message}`);
      assert.ok(err.message.startsWith(`${key}: `), err.message);
    }
  });

  test('syntax errors and non-object roots are errors without a key', () => {
    assert.match(parseError('{ nope').message, /not valid HJSON\/JSON/);
    assert.match(parseError('[1, 2]').message, /must be an object/);
  });

  test('PrivateKeyPath reads the PKCS#8 PEM that -exportkey writes, and normalising keeps the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-planetary-'));
    try {
      const pem = join(dir, 'key.pem');
      writeFileSync(pem, exportPemPrivateKey(Buffer.from(KEY_A, 'hex')));
      const c = parse(`{"PrivateKeyPath": ${JSON.stringify(pem)}}`);
      assert.equal(Buffer.from(c.PrivateKey).toString('hex'), KEY_A);
      const out = JSON.parse(formatPlanetaryConfig(c, 'json'));
      assert.equal(out.PrivateKeyPath, pem);
      assert.equal(out.PrivateKey, undefined);
      writeFileSync(pem, '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n');
      assert.match(parseError(`{"PrivateKeyPath": ${JSON.stringify(pem)}}`).message, /unexpected PEM type "EC PRIVATE KEY"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('exportPemPrivateKey writes what yggdrasil -exportkey wrote for config a', () => {
    assert.equal(
      exportPemPrivateKey(Buffer.from(KEY_A, 'hex')),
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEICUW2IdCNd1X6d4oDjA7jaNnWB7v/YlcVNC8e5vBpBD9\n-----END PRIVATE KEY-----\n',
    );
  });
});

describe('planetary config: start-time checks', () => {
  const problems = (text: string) => planetaryConfigProblems(parse(text)).map((p) => p.message);

  test('a generated config has none', () => {
    assert.deepEqual(planetaryConfigProblems(generatePlanetaryConfig()), []);
  });

  test('each problem names its key', () => {
    const found = problems(`{
      "Peers": ["tcp://a:1", "quic://b:2", "tcp://c:3?priority=300"],
      "InterfacePeers": {"eth0": ["ws://d:4"]},
      "Listen": ["tls://[::]:0", "tcp://e"],
      "AdminListen": "http://x",
      "MulticastInterfaces": [{"Regex": "("}, {"Regex": "x", "Priority": 300, "Password": "${'p'.repeat(65)}"}],
      "AllowedPublicKeys": ["zz"],
      "IfName": "name-longer-than-15"
    }`);
    const keys = found.map((m) => m.split(': ')[0]);
    assert.deepEqual(keys, [
      'Peers[2]',
      'Listen[1]',
      'AdminListen',
      'MulticastInterfaces[0].Regex',
      'MulticastInterfaces[1].Priority',
      'MulticastInterfaces[1].Password',
      'AllowedPublicKeys[0]',
      'IfName',
    ]);
  });

  test('transports yggdrasil speaks and gridwire does not are warnings, not problems', () => {
    const config = parsePlanetaryConfig(`{"Peers": ["tcp://a:1", "QUIC://b:2"], "InterfacePeers": {"eth0": ["socks://d:4/e:5"]}, "Listen": ["wss://[::]:0"]}`).config;
    assert.deepEqual(planetaryConfigProblems(config), []);
    assert.deepEqual(unsupportedTransportWarnings(config), [
      "Peers[1]: quic:// is not supported yet (only tcp:// and tls://); 'QUIC://b:2' skipped",
      "InterfacePeers.eth0[0]: socks:// is not supported yet (only tcp:// and tls://); 'socks://d:4/e:5' skipped",
      "Listen[0]: wss:// is not supported yet (only tcp:// and tls://); 'wss://[::]:0' skipped",
    ]);
  });

  test('NodeInfo over 16384 bytes is refused', () => {
    assert.match(problems(`{"NodeInfo": {"x": "${'a'.repeat(16400)}"}}`)[0]!, /^NodeInfo: /);
  });
});

describe('planetary peer URIs', () => {
  test('tcp and tls with every option', () => {
    const key = 'ab'.repeat(32);
    const u = parsePeerUri(`TLS://[2001:db8::1]:443/path?key=${key}&key=${'cd'.repeat(32)}&priority=7&password=p%20w&maxbackoff=1h8m16s&sni=example.org`);
    assert.equal(u.scheme, 'tls');
    assert.equal(u.host, '2001:db8::1');
    assert.equal(u.port, 443);
    assert.equal(u.pinnedKeys.length, 2);
    assert.equal(Buffer.from(u.pinnedKeys[0]!).toString('hex'), key);
    assert.equal(u.priority, 7);
    assert.equal(Buffer.from(u.password).toString(), 'p w');
    assert.equal(u.maxBackoffMs, 4096_000);
    assert.equal(u.sni, 'example.org');
    assert.equal(u.withoutQuery, 'tls://[2001:db8::1]:443/path');
    const plain = parsePeerUri('tcp://10.0.0.1:1');
    assert.deepEqual([plain.priority, plain.password.length, plain.maxBackoffMs, plain.sni, plain.pinnedKeys.length], [0, 0, undefined, undefined, 0]);
  });

  test('a link-local address with a zone, as multicast peers have', () => {
    const u = parsePeerUri('tls://[fe80::1%25eth0]:1234?key=' + '00'.repeat(32));
    assert.equal(u.host, 'fe80::1%eth0');
    assert.equal(u.withoutQuery, 'tls://[fe80::1%25eth0]:1234');
  });

  test('unsupported schemes say so; bad options use yggdrasil\'s words', () => {
    for (const scheme of ['quic', 'ws', 'wss', 'unix', 'socks', 'sockstls']) {
      assert.throws(() => parsePeerUri(`${scheme}://h:1`), new RegExp(`^PeerUriError: ${scheme}:// peering is not supported yet`));
    }
    assert.throws(() => parsePeerUri('foo://h:1'), /link schema unknown/);
    assert.throws(() => parsePeerUri('tcp://h:1?priority=256'), /priority value is invalid/);
    assert.throws(() => parsePeerUri('tcp://h:1?priority=-1'), /priority value is invalid/);
    assert.throws(() => parsePeerUri(`tcp://h:1?password=${'x'.repeat(65)}`), /invalid password supplied/);
    assert.throws(() => parsePeerUri('tcp://h:1?key=zz'), /pinned public key is invalid/);
    assert.throws(() => parsePeerUri('tcp://h:1?maxbackoff=29s'), /max backoff duration invalid/);
    assert.throws(() => parsePeerUri('tcp://h:1?maxbackoff=bogus'), /max backoff duration invalid/);
    assert.throws(() => parsePeerUri('tcp://h'), /no port/);
    assert.throws(() => parsePeerUri('%%%'), /^PeerUriError: parse "%%%": invalid URL escape "%%%"$/);
  });

  test('Go durations', () => {
    assert.equal(parseGoDuration('30s'), 30_000);
    assert.equal(parseGoDuration('1.5m'), 90_000);
    assert.equal(parseGoDuration('1h8m16s'), 4096_000);
    assert.equal(parseGoDuration('500ms'), 500);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('10'), undefined);
    assert.equal(parseGoDuration(''), undefined);
  });
});

describe('planetary writers', () => {
  test('Go JSON: HTML characters, U+2028 and control characters escaped; map keys sorted bytewise', () => {
    assert.equal(goJson({ b: '<&>\u2028\u0001\t"\\', a: [], Ü: {}, z: null, '10': 1, '9': -0 }),
      '{\n  "10": 1,\n  "9": -0,\n  "a": [],\n  "b": "\\u003c\\u0026\\u003e\\u2028\\u0001\\t\\"\\\\",\n  "z": null,\n  "Ü": {}\n}');
  });

  test('HJSON: a generated config has the comment layout of yggdrasil -genconf', () => {
    const out = formatPlanetaryConfig({ ...generatePlanetaryConfig(Buffer.from(KEY_A, 'hex')), AdminListen: '' }, 'hjson');
    assert.ok(out.startsWith(`{\n  # Your private key. DO NOT share this with anyone!\n  PrivateKey: ${KEY_A}\n\n  # List of outbound`), out);
    assert.ok(out.includes('  MulticastInterfaces: [\n    {\n      Regex: .*\n      Beacon: true\n      Listen: true\n      Password: ""\n    }\n  ]\n'));
    assert.ok(out.endsWith('  # to the whole network on request.\n  NodeInfo: {}\n}'), out);
    // And it reads back as the same config, but for hjson-go's {} for a null NodeInfo.
    assert.deepEqual(parse(out), { ...generatePlanetaryConfig(Uint8Array.from(Buffer.from(KEY_A, 'hex'))), NodeInfo: {} });
  });

  test('HJSON: strings are quoted, multi-line or bare exactly where hjson-go chooses', () => {
    const nodeInfo = {
      bare: 'netns y5a', num: '123', neg: '-5', exp: '1e3', hexish: '0x10', numx: '1.5x', kw: 'true', hash: 'a#b', lead: ' x',
      brace: '{', tab: 'a\tb', quote: '"q"', ctl: 'c\u0001', ml: 'two\nlines', empty: '', float: 1e-7, big: 1e21, negz: -0,
      'a b': 1, '': 2,
    };
    const out = formatPlanetaryConfig({ ...generatePlanetaryConfig(Buffer.from(KEY_A, 'hex')), AdminListen: '', NodeInfo: nodeInfo }, 'hjson');
    const body = out.slice(out.indexOf('  NodeInfo: {'));
    assert.equal(
      body,
      [
        '  NodeInfo: {',
        '    "": 2',
        '    "a b": 1',
        '    bare: netns y5a',
        '    big: 1e+21',
        '    brace: "{"',
        '    ctl: "c\\u0001"',
        '    empty: ""',
        '    exp: "1e3"',
        '    float: 1e-07',
        '    hash: a#b',
        '    hexish: 0x10',
        '    kw: "true"',
        '    lead: " x"',
        '    ml:',
        "      '''",
        '      two',
        '      lines',
        "      '''",
        '    neg: "-5"',
        '    negz: 0',
        '    num: "123"',
        '    numx: 1.5x',
        "    quote: '''\"q\"'''",
        "    tab: '''a\tb'''",
        '  }',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(parse(out).NodeInfo, { ...nodeInfo, negz: 0 });
  });
});
