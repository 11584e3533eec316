// Runs the built CLI (dist/cli.js) and, where wireguard-tools is installed, compares it with the real wg.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { packageRoot } from '../src/package-root.js';

const WG = '/usr/bin/wg';
const KEY_LINE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\n$/;
const WORLD_ACCESSIBLE_WARNING = 'Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n';


const CLI = join(packageRoot(), 'dist', 'cli.js');

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string | Uint8Array, stdout: 'pipe' | number = 'pipe'): Result {
  const r = spawnSync(command, args, { input, stdio: ['pipe', stdout, 'pipe'], encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr };
}

const gridwire = (args: string[], input?: string | Uint8Array, stdout?: number): Result =>
  run(process.execPath, [CLI, ...args], input, stdout);
const wg = (args: string[], input?: string | Uint8Array, stdout?: number): Result => run(WG, args, input, stdout);

/** Interop tests skip without wg, unless the environment insists on them (CI with wireguard-tools). */
function haveWg(t: TestContext): boolean {
  if (existsSync(WG)) return true;
  if (process.env.GRIDWIRE_REQUIRE_INTEROP === '1') assert.fail(`${WG} not installed but GRIDWIRE_REQUIRE_INTEROP=1`);
  t.skip('wg not installed');
  return false;
}

function assertSucceeded(r: Result, what: string): string {
  assert.equal(r.status, 0, `${what} failed: ${r.stderr}`);
  assert.equal(r.stderr, '', what);
  return r.stdout;
}

function assertOneLineError(r: Result, message?: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^gridwire: [^\n]+\n$/);
  if (message) assert.match(r.stderr, message);
}

before(() => {
  assert.ok(existsSync(CLI), `${CLI} is missing: build with npx tsc -p tsconfig.json first`);
});

describe('gridwire genkey / genpsk / pubkey on their own', () => {
  test('genkey prints one clamped base64 key and a newline', () => {
    const out = assertSucceeded(gridwire(['genkey']), 'genkey');
    assert.match(out, KEY_LINE);
    const key = Buffer.from(out, 'base64');
    assert.equal(key[0]! & 7, 0);
    assert.equal(key[31]! & 0xc0, 0x40);
  });

  test('genpsk prints one base64 key and a newline, fresh each time', () => {
    const keys = Array.from({ length: 3 }, () => assertSucceeded(gridwire(['genpsk']), 'genpsk'));
    for (const k of keys) assert.match(k, KEY_LINE);
    assert.equal(new Set(keys).size, keys.length);
  });

  test('pubkey of the RFC 7748 Alice key', () => {
    const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64');
    const alicePublic = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex').toString('base64');
    assert.equal(assertSucceeded(gridwire(['pubkey'], `${alice}\n`), 'pubkey'), `${alicePublic}\n`);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['empty input', '', /key is empty/],
    ['not base64', `${'!'.repeat(43)}=\n`, /not base64/],
    ['wrong length', 'AAAA\n', /wrong length/],
    ['two keys', `${'A'.repeat(43)}=\n${'A'.repeat(43)}=\n`, /trailing characters/],
  ];
  for (const [name, input, message] of bad) {
    test(`pubkey rejects ${name} with exit 2 and one line`, () => {
      assertOneLineError(gridwire(['pubkey'], input), message);
    });
  }

  for (const command of ['genkey', 'genpsk', 'pubkey']) {
    test(`${command} rejects arguments with exit 2 and one line`, () => {
      assertOneLineError(gridwire([command, 'extra'], ''), /usage/);
    });
  }
});

describe('output to a world-accessible file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gridwire-keys-cli-'));
  after(() => rm(dir, { recursive: true, force: true }));

  async function toFile(exec: typeof gridwire, command: string, mode: number): Promise<{ stderr: string; written: string }> {
    const path = join(dir, `${command}-${mode.toString(8)}-${exec === wg ? 'wg' : 'gridwire'}`);
    const file = await open(path, 'w');
    try {
      await chmod(path, mode);
      const r = exec([command], undefined, file.fd);
      assert.equal(r.status, 0, r.stderr);
      return { stderr: r.stderr, written: await readFile(path, 'utf8') };
    } finally {
      await file.close();
    }
  }

  for (const command of ['genkey', 'genpsk']) {
    for (const [mode, warning] of [
      [0o644, WORLD_ACCESSIBLE_WARNING],
      [0o600, ''],
    ] as const) {
      test(`${command} > ${mode.toString(8)} file ${warning ? 'warns as wg does' : 'is silent'}`, async (t) => {
        const ours = await toFile(gridwire, command, mode);
        assert.equal(ours.stderr, warning);
        assert.match(ours.written, KEY_LINE);
        if (!haveWg(t)) return;
        assert.equal(ours.stderr, (await toFile(wg, command, mode)).stderr);
      });
    }
  }
});

describe('interoperability with wg', () => {
  test('gridwire genkey | wg pubkey == gridwire genkey | gridwire pubkey', (t) => {
    if (!haveWg(t)) return;
    for (let i = 0; i < 3; i++) {
      const key = assertSucceeded(gridwire(['genkey']), 'gridwire genkey');
      assert.equal(assertSucceeded(gridwire(['pubkey'], key), 'gridwire pubkey'), assertSucceeded(wg(['pubkey'], key), 'wg pubkey'));
    }
  });

  test('wg genkey | gridwire pubkey == wg genkey | wg pubkey', (t) => {
    if (!haveWg(t)) return;
    for (let i = 0; i < 3; i++) {
      const key = assertSucceeded(wg(['genkey']), 'wg genkey');
      assert.match(key, KEY_LINE);
      assert.equal(assertSucceeded(gridwire(['pubkey'], key), 'gridwire pubkey'), assertSucceeded(wg(['pubkey'], key), 'wg pubkey'));
    }
  });

  test('genkey and genpsk output has the same shape as wg\'s', (t) => {
    if (!haveWg(t)) return;
    for (const command of ['genkey', 'genpsk']) {
      const theirs = assertSucceeded(wg([command]), `wg ${command}`);
      const ours = assertSucceeded(gridwire([command]), `gridwire ${command}`);
      assert.match(theirs, KEY_LINE);
      assert.match(ours, KEY_LINE);
      if (command === 'genkey') {
        for (const k of [theirs, ours]) assert.equal(Buffer.from(k, 'base64')[31]! & 0xc0, 0x40, `clamped: ${k}`);
      }
    }
  });

  // Every input wg pubkey accepts, gridwire accepts with the same output, and vice versa.
  const key = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  const inputs: Array<[string, string]> = [
    ['key and newline', `${key}\n`],
    ['key alone', key],
    ['CRLF', `${key}\r\n`],
    ['trailing whitespace of every kind', `${key} \t\v\f\r\n\n`],
    ['trailing NULs', `${key}\0\0\n`],
    ['unclamped all-zero key', `${'A'.repeat(43)}=\n`],
    ['unclamped all-ones key', `${'/'.repeat(42)}8=\n`],
    ['empty', ''],
    ['newline only', '\n'],
    ['leading space', ` ${key}\n`],
    ['text after the key', `${key} x\n`],
    ['glued text', `${key}x`],
    ['two keys', `${key}\n${key}\n`],
    ['NUL then text', `${key}\0x`],
    ['short', 'AAAA\n'],
    ['missing padding', `${key.slice(0, 43)}\n`],
    ['33 bytes', `${key.slice(0, 43)}A\n`],
    ['double padding', `${'A'.repeat(42)}==\n`],
    ['non-canonical', `${key.slice(0, 42)}l=\n`],
    ['URL-safe alphabet', `${key.replace('+', '-')}\n`],
    ['hex', `${'c8'.repeat(32)}\n`],
    ['non-ASCII', `${key.slice(0, 10)}é${key.slice(11)}\n`],
  ];
  for (const [name, input] of inputs) {
    test(`pubkey agrees with wg on: ${name}`, (t) => {
      if (!haveWg(t)) return;
      const theirs = wg(['pubkey'], input);
      const ours = gridwire(['pubkey'], input);
      if (theirs.status === 0) {
        assert.equal(assertSucceeded(ours, 'gridwire pubkey'), theirs.stdout);
      } else {
        assertOneLineError(ours);
      }
    });
  }
});
