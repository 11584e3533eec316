import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  addressBytesForKey,
  addressForKey,
  clampPrivateKey,
  decodeKey,
  encodeKey,
  formatIPv6,
  formatPlanetaryPrivateKey,
  generatePlanetaryKey,
  generatePresharedKey,
  generatePrivateKey,
  parseKeyText,
  parsePlanetaryPrivateKey,
  planetaryPublicKey,
  publicKey,
  readPrivateKeyFile,
  subnetBytesForKey,
  subnetForKey,
  warnIfWorldAccessibleOutput,
  writePrivateKeyFile,
} from '../src/keys/index.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const b64 = (text: string): string => Buffer.from(text, 'hex').toString('base64');

describe('WireGuard keys', () => {
  // RFC 7748 §6.1 (scalars deliberately unclamped) and the first step of §5.2's iteration, where
  // k = u = 9 makes X25519(k, 9) the public key of scalar 09 00 .. 00.
  const rfc7748 = [
    {
      name: 'RFC 7748 6.1 Alice',
      privateKey: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
      publicKey: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    },
    {
      name: 'RFC 7748 6.1 Bob',
      privateKey: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
      publicKey: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    },
    {
      name: 'RFC 7748 5.2 iteration 1',
      privateKey: '0900000000000000000000000000000000000000000000000000000000000000',
      publicKey: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
    },
  ];
  for (const v of rfc7748) {
    test(`publicKey: ${v.name}`, () => {
      assert.equal(hex(publicKey(unhex(v.privateKey))), v.publicKey);
      assert.equal(hex(publicKey(clampPrivateKey(unhex(v.privateKey)))), v.publicKey);
      assert.equal(encodeKey(publicKey(decodeKey(b64(v.privateKey)))), b64(v.publicKey));
    });
  }

  test('generatePrivateKey returns distinct clamped keys', () => {
    const keys = Array.from({ length: 32 }, generatePrivateKey);
    assert.equal(new Set(keys.map(hex)).size, keys.length);
    for (const k of keys) {
      assert.equal(k.length, 32);
      assert.equal(k[0]! & 7, 0);
      assert.equal(k[31]! & 0xc0, 0x40);
    }
  });

  test('generatePresharedKey returns 32 random bytes, not clamped', () => {
    const keys = Array.from({ length: 32 }, generatePresharedKey);
    assert.equal(new Set(keys.map(hex)).size, keys.length);
    assert.ok(keys.every((k) => k.length === 32));
    // Clamping would fix 5 bits; 32 random keys all looking clamped has probability 2^-160.
    assert.ok(keys.some((k) => hex(clampPrivateKey(k)) !== hex(k)));
  });

  test('encodeKey and decodeKey round-trip', () => {
    for (const key of [generatePrivateKey(), generatePresharedKey(), new Uint8Array(32), new Uint8Array(32).fill(255)]) {
      const text = encodeKey(key);
      assert.match(text, /^[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(decodeKey(text), key);
    }
  });

  const valid = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  const rejected: Array<[string, string, RegExp]> = [
    ['empty', '', /^key is empty$/],
    ['not base64', 'yAnz5TF!lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=', /^key is not base64: unexpected '!' at position 8$/],
    ['URL-safe alphabet', 'yAnz5TF-lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=', /^key is not base64: unexpected '-' at position 8$/],
    ['space inside', 'yAnz5TF lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=', /^key is not base64: unexpected character U\+0020 at position 8$/],
    ['surrounding newline', `${valid}\n`, /^key is not base64: unexpected character U\+000A at position 45$/],
    ['padding in the middle', 'yAnz=TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=', /^key is not base64: misplaced '='/],
    ['too short', valid.slice(4), /^key has the wrong length: 40 characters, expected 44/],
    ['too long', `AAAA${valid}`, /^key has the wrong length: 48 characters, expected 44/],
    ['hex', 'c8'.repeat(32), /^key is hex .*expected base64/],
    ['33 bytes', `${valid.slice(0, 43)}A`, /^key decodes to 33 bytes, expected 32$/],
    ['31 bytes', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==', /^key decodes to 31 bytes, expected 32$/],
    ['non-canonical', `${valid.slice(0, 42)}l=`, /^key is not canonical base64: 'l' at position 43/],
  ];
  for (const [name, text, message] of rejected) {
    test(`decodeKey rejects: ${name}`, () => {
      assert.throws(() => decodeKey(text), { name: 'KeyFormatError', message });
    });
  }

  test('parseKeyText accepts what wg pubkey accepts: the key, then only whitespace or NULs', () => {
    for (const tail of ['', '\n', '\r\n', ' \t\v\f\n\n', '\0\0\n']) {
      assert.equal(encodeKey(parseKeyText(valid + tail)), valid, JSON.stringify(tail));
    }
  });

  const badText: Array<[string, string, RegExp]> = [
    ['empty', '', /^key is empty$/],
    ['only a newline', '\n', /^key is empty$/],
    ['leading space', ` ${valid}`, /^whitespace before the key$/],
    ['text after the key', `${valid} x`, /^trailing characters after the key$/],
    ['two keys', `${valid}\n${valid}\n`, /^trailing characters after the key$/],
    ['glued text', `${valid}x\n`, /^trailing characters after the key$/],
    ['short', 'AAAA\n', /^key has the wrong length: 4 characters/],
  ];
  for (const [name, text, message] of badText) {
    test(`parseKeyText rejects: ${name}`, () => {
      assert.throws(() => parseKeyText(text), { name: 'KeyFormatError', message });
    });
  }

  test('byte arrays of the wrong length are refused', () => {
    assert.throws(() => publicKey(new Uint8Array(31)), /private key has the wrong length: 31 bytes, expected 32/);
    assert.throws(() => encodeKey(new Uint8Array(33)), /key has the wrong length: 33 bytes, expected 32/);
  });
});

describe('planetary (yggdrasil 0.5.12) keys', () => {
  // addresses.json from the yggdrasil 0.5-vectors: output of `yggdrasil -useconffile <name> -publickey|-address|-subnet`.
  const vectors = [
    {
      name: 'k1.json',
      privateKey:
        '2516d8874235dd57e9de280e303b8da367581eeffd895c54d0bc7b9bc1a410fd2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb',
      publicKey: '2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb',
      address: '202:9287:13ba:3551:c48a:28be:6ef:47c6',
      addressHex: '0202928713ba3551c48a28be06ef47c6',
      subnet: '302:9287:13ba:3551::/64',
      subnetHex: '0302928713ba3551',
    },
    {
      name: 'k2.json',
      privateKey:
        'f712b0968077ffef0ddf27cddefacadcc2afba6951533849f5ea6407819d070c14c2ebc0d88203dee7ec9f1e067a2b109bd8874de62871ff420486bed143d652',
      publicKey: '14c2ebc0d88203dee7ec9f1e067a2b109bd8874de62871ff420486bed143d652',
      address: '203:b3d1:43f2:77df:c211:8136:e1f:985d',
      addressHex: '0203b3d143f277dfc21181360e1f985d',
      subnet: '303:b3d1:43f2:77df::/64',
      subnetHex: '0303b3d143f277df',
    },
    {
      name: 'k3.json',
      privateKey:
        '589e2f1d144d6f654cdc4add54973b90c52b3eabca02c6ef49d4f7e785cc9d2504e01d73b669ac8e91e8f11215c5bbf72a5db4edd72f1f9a36014cf318f99cd1',
      publicKey: '04e01d73b669ac8e91e8f11215c5bbf72a5db4edd72f1f9a36014cf318f99cd1',
      address: '205:c7f8:a312:6594:dc5b:85c3:bb7a:8e91',
      addressHex: '0205c7f8a3126594dc5b85c3bb7a8e91',
      subnet: '305:c7f8:a312:6594::/64',
      subnetHex: '0305c7f8a3126594',
    },
    {
      name: 'k4.json',
      privateKey:
        '9d88469fec73c8ed2ccf193128b323ec3ed2cff0921f6e2cd735bb8fc9f4b22a49e62ecd31f0751c51117609743798b0d9a85ffc05c992c82f3e4d5e926cfd3e',
      publicKey: '49e62ecd31f0751c51117609743798b0d9a85ffc05c992c82f3e4d5e926cfd3e',
      address: '201:d867:44cb:383e:2b8e:bbba:27da:2f21',
      addressHex: '0201d86744cb383e2b8ebbba27da2f21',
      subnet: '301:d867:44cb:383e::/64',
      subnetHex: '0301d86744cb383e',
    },
    {
      name: 'k5.json',
      privateKey:
        'd16f2d8f66ab8707e51daf448ae2f8a9f2fda8541876e1f8a35d1b02cb85f38d2725e7033f7b6531aef2c0fdedf4e1a1a5fa64986f0689a5ae04f521cea6df8d',
      publicKey: '2725e7033f7b6531aef2c0fdedf4e1a1a5fa64986f0689a5ae04f521cea6df8d',
      address: '202:c6d0:c7e6:424:d672:8869:f810:9058',
      addressHex: '0202c6d0c7e60424d6728869f8109058',
      subnet: '302:c6d0:c7e6:424::/64',
      subnetHex: '0302c6d0c7e60424',
    },
    {
      name: 'k6.json',
      privateKey:
        'c86202b0de2cbc2972bd8f171b024cec8974c5f9a2f1a3dd566f0980fedea1cd32c84dedb70e99d4c8441e300c5f89629e174c5106f88c820fd341098cebd0a3',
      publicKey: '32c84dedb70e99d4c8441e300c5f89629e174c5106f88c820fd341098cebd0a3',
      address: '202:69bd:9092:478b:3159:bddf:e7f:9d03',
      addressHex: '020269bd9092478b3159bddf0e7f9d03',
      subnet: '302:69bd:9092:478b::/64',
      subnetHex: '030269bd9092478b',
    },
    {
      name: 'k7.json',
      privateKey:
        'bf0f2fb512352dd97ec29ce70bc23815d322306476f37cd13e87168fe0bf99a9bd275847e93ae2f8655f83412b364936e278cbcc8208209d15e93be463fcd7c1',
      publicKey: 'bd275847e93ae2f8655f83412b364936e278cbcc8208209d15e93be463fcd7c1',
      address: '200:85b1:4f70:2d8a:3a0f:3540:f97d:a993',
      addressHex: '020085b14f702d8a3a0f3540f97da993',
      subnet: '300:85b1:4f70:2d8a::/64',
      subnetHex: '030085b14f702d8a',
    },
    {
      name: 'k8.json',
      privateKey:
        '755f9626d35b97e3f3e09c3ede3433e90f7baad60a6d4fd7e92bdb56309c122680a992f3e1601ee40a3d09a356ab995d0d385133c3df54ec7b3a2b57992b414f',
      publicKey: '80a992f3e1601ee40a3d09a356ab995d0d385133c3df54ec7b3a2b57992b414f',
      address: '200:feac:da18:3d3f:c237:eb85:ecb9:52a8',
      addressHex: '0200feacda183d3fc237eb85ecb952a8',
      subnet: '300:feac:da18:3d3f::/64',
      subnetHex: '0300feacda183d3f',
    },
    {
      name: 'e_lead00.json',
      privateKey:
        '000000000000000000000000000000000000000000000000000000000000002400001f8bea42b3c74c50aa3589b1aa065f196857db97a75e4a54953f093e6772',
      publicKey: '00001f8bea42b3c74c50aa3589b1aa065f196857db97a75e4a54953f093e6772',
      address: '213:741:5bd4:c38b:3af5:5ca7:64e5:5f9a',
      addressHex: '021307415bd4c38b3af55ca764e55f9a',
      subnet: '313:741:5bd4:c38b::/64',
      subnetHex: '031307415bd4c38b',
    },
    {
      name: 'e_lead01.json',
      privateKey:
        '000000000000000000000000000000000000000000000000000000000000003601e13e0d55b4c76645038ba310d51fb3c733a814a631d8083d205686121efb52',
      publicKey: '01e13e0d55b4c76645038ba310d51fb3c733a814a631d8083d205686121efb52',
      address: '207:1ec1:f2aa:4b38:99ba:fc74:5cef:2ae0',
      addressHex: '02071ec1f2aa4b3899bafc745cef2ae0',
      subnet: '307:1ec1:f2aa:4b38::/64',
      subnetHex: '03071ec1f2aa4b38',
    },
    {
      name: 'e_leadff.json',
      privateKey:
        '000000000000000000000000000000000000000000000000000000000000005eff4b7821a508c80a6657dd477609f7a37018b32a4dda8289a05b2675ceacca14',
      publicKey: 'ff4b7821a508c80a6657dd477609f7a37018b32a4dda8289a05b2675ceacca14',
      address: '200:169:fbc:b5ee:6feb:3350:4571:13ec',
      addressHex: '020001690fbcb5ee6feb3350457113ec',
      subnet: '300:169:fbc:b5ee::/64',
      subnetHex: '030001690fbcb5ee',
    },
  ];
  for (const v of vectors) {
    test(`${v.name}: ${v.publicKey.slice(0, 16)}… -> ${v.address}, ${v.subnet}`, () => {
      const privateKey = parsePlanetaryPrivateKey(v.privateKey);
      const pub = planetaryPublicKey(privateKey);
      assert.equal(hex(pub), v.publicKey);
      assert.equal(formatPlanetaryPrivateKey(privateKey), v.privateKey);
      assert.equal(hex(addressBytesForKey(pub)), v.addressHex);
      assert.equal(hex(subnetBytesForKey(pub)), v.subnetHex);
      assert.equal(addressForKey(pub), v.address);
      assert.equal(subnetForKey(pub), v.subnet);
    });
  }

  test('edge keys: all-zero wraps the leading-ones count in a byte as yggdrasil does', () => {
    assert.equal(addressForKey(new Uint8Array(32)), '200::');
    assert.equal(subnetForKey(new Uint8Array(32)), '300::/64');
    // No leading ones: only the single 0 bit is dropped.
    assert.equal(addressForKey(new Uint8Array(32).fill(0xff)), '200::');
    assert.equal(addressForKey(new Uint8Array(32).fill(0xaa)), '200:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa');
  });

  test('generatePlanetaryKey round-trips through the config hex form', () => {
    const key = generatePlanetaryKey();
    assert.equal(key.length, 64);
    const text = formatPlanetaryPrivateKey(key);
    assert.match(text, /^[0-9a-f]{128}$/);
    assert.deepEqual(parsePlanetaryPrivateKey(text.toUpperCase()), key);
    assert.deepEqual(planetaryPublicKey(key), key.subarray(32));
    assert.match(addressForKey(planetaryPublicKey(key)), /^20[0-9a-f]:/);
  });

  const k1 = vectors[0]!.privateKey;
  const badPlanetary: Array<[string, string, RegExp]> = [
    ['empty', '', /^planetary private key is empty$/],
    ['not hex', `${k1.slice(0, 10)}g${k1.slice(11)}`, /^planetary private key is not hex: unexpected character at position 11$/],
    ['seed only', k1.slice(0, 64), /^planetary private key has the wrong length: 64 hex digits, expected 128/],
    ['trailing newline', `${k1}\n`, /^planetary private key is not hex: unexpected character at position 129$/],
    ['halves from different keys', k1.slice(0, 64) + vectors[1]!.publicKey, /^planetary private key is inconsistent/],
  ];
  for (const [name, text, message] of badPlanetary) {
    test(`parsePlanetaryPrivateKey rejects: ${name}`, () => {
      assert.throws(() => parsePlanetaryPrivateKey(text), { name: 'KeyFormatError', message });
    });
  }

  test('addressForKey refuses a key of the wrong length', () => {
    assert.throws(() => addressForKey(new Uint8Array(31)), /planetary public key has the wrong length: 31 bytes/);
  });
});

describe('formatIPv6 (Go net.IP.String)', () => {
  const cases: Array<[string, string]> = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['02000000000000010000000000000000', '200:0:0:1::'],
    ['00010000000100010001000100010001', '1:0:1:1:1:1:1:1'],
    ['00010000000000010000000000010001', '1::1:0:0:1:1'],
    ['0202928713ba3551c48a28be06ef47c6', '202:9287:13ba:3551:c48a:28be:6ef:47c6'],
  ];
  for (const [bytes, text] of cases) {
    test(`${bytes} -> ${text}`, () => assert.equal(formatIPv6(unhex(bytes)), text));
  }
});

describe('key files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gridwire-keys-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
  const collect = (): { warnings: string[]; warn: (m: string) => void } => {
    const warnings: string[] = [];
    return { warnings, warn: (m) => warnings.push(m) };
  };

  test('writePrivateKeyFile creates the file with mode 0600 whatever the umask', async () => {
    const path = join(dir, 'new.key');
    const old = process.umask(0o000);
    try {
      await writePrivateKeyFile(path, 'secret\n');
    } finally {
      process.umask(old);
    }
    assert.equal(await mode(path), 0o600);
    assert.equal(await readFile(path, 'utf8'), 'secret\n');
  });

  test('writePrivateKeyFile tightens an existing 0644 file and replaces its content', async () => {
    const path = join(dir, 'existing.key');
    await writeFile(path, 'a much longer old content\n');
    await chmod(path, 0o644);
    await writePrivateKeyFile(path, new Uint8Array([1, 2, 3]));
    assert.equal(await mode(path), 0o600);
    assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array([1, 2, 3]));
  });

  test('readPrivateKeyFile warns like wg-quick when others can read the file', async () => {
    const path = join(dir, 'open.key');
    await writeFile(path, 'key\n');
    await chmod(path, 0o644);
    const { warnings, warn } = collect();
    assert.equal(await readPrivateKeyFile(path, warn), 'key\n');
    assert.deepEqual(warnings, [`Warning: \`${path}' is world accessible`]);
  });

  for (const m of [0o600, 0o640]) {
    test(`readPrivateKeyFile does not warn on a ${m.toString(8)} file`, async () => {
      const path = join(dir, `quiet-${m.toString(8)}.key`);
      await writeFile(path, 'key\n');
      await chmod(path, m);
      const { warnings, warn } = collect();
      assert.equal(await readPrivateKeyFile(path, warn), 'key\n');
      assert.deepEqual(warnings, []);
    });
  }

  test('warnIfWorldAccessibleOutput warns with wg genkey\'s text for a 0644 output file only', async () => {
    for (const [m, expected] of [
      [0o644, ['Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.']],
      [0o602, ['Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.']],
      [0o640, []],
      [0o600, []],
    ] as const) {
      const path = join(dir, `out-${m.toString(8)}`);
      await writeFile(path, '');
      await chmod(path, m);
      const file = await open(path, 'a');
      try {
        const { warnings, warn } = collect();
        warnIfWorldAccessibleOutput(file.fd, warn);
        assert.deepEqual(warnings, expected, m.toString(8));
      } finally {
        await file.close();
      }
    }
  });
});
