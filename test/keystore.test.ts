// The keystore: modes, create/rotate/show, atomic replacement, bad names, and the `gridwire keys` CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeKey, encodeKey, publicKey } from '../src/keys/index.js';
import { defaultKeystoreDir, Keystore, KeystoreError } from '../src/keystore/index.js';
import { packageRoot } from '../src/package-root.js';

const CLI = join(packageRoot(), 'dist', 'cli.js');
let root: string;
let n = 0;
const freshDir = () => join(root, `store-${n++}`);
const quiet = () => {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => void warnings.push(m) };
};

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gridwire-keystore-'));
});
after(() => rm(root, { recursive: true, force: true }));

describe('keystore location', () => {
  test('root uses /etc/gridwire, users their config directory, GRIDWIRE_KEYSTORE wins', () => {
    assert.equal(defaultKeystoreDir({}, 0), '/etc/gridwire');
    assert.equal(defaultKeystoreDir({ XDG_CONFIG_HOME: '/x/cfg' }, 1000), '/x/cfg/gridwire');
    assert.match(defaultKeystoreDir({}, 1000), /\/\.config\/gridwire$/);
    assert.equal(defaultKeystoreDir({ GRIDWIRE_KEYSTORE: '/k' }, 0), '/k');
  });
});

describe('keystore', () => {
  test('create makes a 0700 directory and 0600 files whose key matches the public key returned', async () => {
    const dir = join(freshDir(), 'nested');
    const store = new Keystore(dir);
    const made = await store.create('wg0', 'wireguard');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'wg0.wg'))).mode & 0o777, 0o600);
    const text = await readFile(join(dir, 'wg0.wg'), 'utf8');
    assert.match(text, /^[A-Za-z0-9+/]{43}=\n$/);
    assert.equal(encodeKey(publicKey(decodeKey(text.trim()))), made.publicKey);
    const loaded = await store.load('wg0');
    assert.equal(loaded.publicKey, made.publicKey);
    assert.equal(loaded.type, 'wireguard');
  });

  test('planetary keys carry their address and are stored as yggdrasil PrivateKey hex', async () => {
    const store = new Keystore(freshDir());
    const made = await store.create('id', 'planetary');
    assert.match(made.publicKey, /^[0-9a-f]{64}$/);
    assert.match(made.address!, /^2[0-9a-f]{2}:/);
    assert.match(await readFile(join(store.dir, 'id.planetary'), 'utf8'), /^[0-9a-f]{128}\n$/);
  });

  test('create refuses an existing name of either type and leaves the key alone', async () => {
    const store = new Keystore(freshDir());
    const first = await store.create('a', 'wireguard');
    await assert.rejects(store.create('a', 'planetary'), { kind: 'input', message: "key 'a' already exists (wireguard); use rotate to replace it" });
    assert.equal((await store.load('a')).publicKey, first.publicKey);
  });

  test('rotate replaces the key, keeps the old one as .prev, and leaves no temporary files', async () => {
    const store = new Keystore(freshDir());
    const first = await store.create('a', 'wireguard');
    const second = await store.rotate('a');
    assert.notEqual(second.publicKey, first.publicKey);
    assert.equal(second.previous.publicKey, first.publicKey);
    assert.equal((await store.load('a.prev')).publicKey, first.publicKey);
    const third = await store.rotate('a');
    assert.equal((await store.load('a.prev')).publicKey, second.publicKey);
    assert.equal((await store.load('a')).publicKey, third.publicKey);
    assert.deepEqual((await readdir(store.dir)).sort(), ['a.prev.wg', 'a.wg']);
    for (const f of await readdir(store.dir)) assert.equal((await stat(join(store.dir, f))).mode & 0o777, 0o600);
  });

  test('rotate keeps the type of the key', async () => {
    const store = new Keystore(freshDir());
    await store.create('p', 'planetary');
    assert.equal((await store.rotate('p')).type, 'planetary');
  });

  test('rotation is atomic: a reader running alongside always reads a whole, valid key', async () => {
    const store = new Keystore(freshDir());
    await store.create('a', 'wireguard');
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const text = await readFile(join(store.dir, 'a.wg'), 'utf8');
        decodeKey(text.trim());
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 30; i++) await store.rotate('a');
    stop = true;
    await reader;
    assert.ok(reads > 0);
  });

  test('list shows every key sorted, previous ones included, and never a private key', async () => {
    const store = new Keystore(freshDir());
    await store.create('b', 'planetary');
    const a = await store.create('a', 'wireguard');
    await store.rotate('a');
    const listed = await store.list();
    assert.deepEqual(listed.map((k) => [k.name, k.type]), [['a', 'wireguard'], ['a.prev', 'wireguard'], ['b', 'planetary']]);
    assert.equal(listed[1]!.publicKey, a.publicKey);
    assert.ok(listed.every((k) => !('privateKey' in k)));
    assert.deepEqual(await new Keystore(join(root, 'missing')).list(), []);
  });

  test('a name stored as both types (by hand) is listed once per file with its type, warned about, and refused by name', async () => {
    const { warnings, warn } = quiet();
    const store = new Keystore(freshDir(), warn);
    const wg = await store.create('a', 'wireguard');
    const planetary = await store.create('p', 'planetary');
    await rename(join(store.dir, 'p.planetary'), join(store.dir, 'a.planetary'));
    const listed = await store.list();
    assert.deepEqual(listed.map((k) => [k.name, k.type, k.publicKey]), [['a', 'wireguard', wg.publicKey], ['a', 'planetary', planetary.publicKey]]);
    const ambiguous = `key 'a' is stored twice, as ${join(store.dir, 'a.wg')} and ${join(store.dir, 'a.planetary')}; remove or rename one`;
    assert.deepEqual(warnings, [`Warning: ${ambiguous}`]);
    await assert.rejects(store.load('a'), { kind: 'state', message: ambiguous });
    await assert.rejects(store.rotate('a'), { kind: 'state', message: ambiguous });
    await assert.rejects(store.create('a', 'planetary'), { kind: 'input', message: "key 'a' already exists (wireguard and planetary); use rotate to replace it" });
  });

  test('a world-accessible key is refused, a group-readable one warned about, a loose directory warned about', async () => {
    const { warnings, warn } = quiet();
    const store = new Keystore(freshDir(), warn);
    await store.create('a', 'wireguard');
    await chmod(join(store.dir, 'a.wg'), 0o604);
    await assert.rejects(store.load('a'), {
      kind: 'state',
      message: `${join(store.dir, 'a.wg')} is world accessible (mode 0604); refusing to use it: chmod 600 ${join(store.dir, 'a.wg')}`,
    });
    await chmod(join(store.dir, 'a.wg'), 0o640);
    await store.load('a');
    assert.deepEqual(warnings, [`Warning: \`${join(store.dir, 'a.wg')}' is group accessible (mode 0640)`]);
    await chmod(store.dir, 0o755);
    await store.load('a');
    assert.equal(warnings[1], `Warning: keystore \`${store.dir}' is accessible by others (mode 0755); chmod 700 it`);
    // list names a refused file and still lists the others.
    await chmod(store.dir, 0o700);
    await store.create('b', 'wireguard');
    await chmod(join(store.dir, 'a.wg'), 0o644);
    warnings.length = 0;
    assert.deepEqual((await store.list()).map((k) => k.name), ['b']);
    assert.match(warnings[0]!, /^Warning: .*a\.wg is world accessible \(mode 0644\); refusing to use it/);
  });

  test('bad names are refused before touching the disk', async () => {
    const store = new Keystore(freshDir());
    for (const bad of ['', '../x', 'a/b', '.hidden', '-dash', 'a.b', 'x'.repeat(65), 'a b']) {
      await assert.rejects(store.create(bad, 'wireguard'), (err: Error) => err instanceof KeystoreError && err.kind === 'input' && err.message.startsWith('invalid key name'));
    }
    await assert.rejects(store.rotate('a.prev'), /invalid key name "a.prev"/);
    await assert.rejects(store.load('nope'), { kind: 'input', message: `no key named 'nope' in ${store.dir}` });
    assert.deepEqual(await new Keystore(store.dir).list(), []);
  });

  test('a damaged key file is named in the error', async () => {
    const store = new Keystore(freshDir());
    await mkdir(store.dir, { mode: 0o700 });
    await writeFile(join(store.dir, 'x.wg'), 'abc!\n', { mode: 0o600 });
    await assert.rejects(store.load('x'), { kind: 'state', message: `${join(store.dir, 'x.wg')}: key is not base64: unexpected '!' at position 4` });
  });

  test('a key file that is not a regular file is refused by name, never waited on', { timeout: 10_000 }, async () => {
    const store = new Keystore(freshDir(), quiet().warn);
    await mkdir(join(store.dir, 'd.wg'), { recursive: true, mode: 0o700 });
    // Opening a FIFO for reading blocks until a writer comes, which would hang list and show for good.
    assert.equal(spawnSync('mkfifo', ['-m', '600', join(store.dir, 'f.wg')]).status, 0);
    for (const name of ['d', 'f']) {
      await assert.rejects(store.load(name), { kind: 'state', message: `${join(store.dir, `${name}.wg`)} is not a regular file` });
    }
    assert.deepEqual(await store.list(), []);
  });

  test('a rotation that cannot move its files into place fails by name and leaves no temporary key behind', async () => {
    const store = new Keystore(freshDir(), quiet().warn);
    await store.create('a', 'wireguard');
    await mkdir(join(store.dir, 'a.prev.wg'));
    await assert.rejects(store.rotate('a'), { kind: 'state', message: `cannot write to keystore ${store.dir}: EISDIR` });
    assert.deepEqual((await readdir(store.dir)).sort(), ['a.prev.wg', 'a.wg']);
  });

  test('a keystore that cannot be written to is a KeystoreError naming it, not a raw errno', async () => {
    // /proc/self is a directory nobody, root included, can create files in.
    const store = new Keystore('/proc/self', quiet().warn);
    await assert.rejects(store.create('wg0', 'wireguard'), (err: Error) => err instanceof KeystoreError && /^cannot write to keystore \/proc\/self: E[A-Z]+$/.test(err.message));
  });
});

describe('gridwire keys', () => {
  const keys = (dir: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'keys', '--keystore', dir, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  test('create, list, rotate and show; private keys only with show --private', async () => {
    const dir = freshDir();
    const created = keys(dir, 'create', 'wg0');
    assert.equal(created.status, 0, created.stderr);
    const pub = created.stdout.trim();
    assert.match(pub, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(keys(dir, 'create', 'me', '--type', 'planetary').status, 0);
    const rotated = keys(dir, 'rotate', 'wg0');
    assert.equal(rotated.status, 0);
    assert.match(rotated.stderr, /previous key is kept as wg0\.prev/);
    const list = keys(dir, 'list').stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(list.map((l) => l.slice(0, 2)), [['me', 'planetary'], ['wg0', 'wireguard'], ['wg0.prev', 'wireguard']]);
    assert.equal(list[2]![2], pub);
    const secret = (await readFile(join(dir, 'wg0.wg'), 'utf8')).trim();
    for (const args of [['list'], ['show', 'wg0'], ['rotate', 'wg0']]) assert.ok(!keys(dir, ...args).stdout.includes(secret));
    const now = (await readFile(join(dir, 'wg0.wg'), 'utf8')).trim();
    assert.match(keys(dir, 'show', 'wg0', '--private').stdout, new RegExp(`^private key: ${now.replace(/[+/]/g, '\\$&')}$`, 'm'));
  });

  test('bad input exits 2 with a clear message', () => {
    const dir = freshDir();
    const cases: Array<[string[], RegExp]> = [
      [['create'], /usage: gridwire keys/],
      [['create', 'a', '--type', 'rsa'], /unknown key type 'rsa' \(expected wireguard or planetary\)/],
      [['create', 'a/b'], /invalid key name "a\/b"/],
      [['show', 'nope'], /no key named 'nope'/],
      [['list', '--private'], /--private only goes with show/],
      [['frobnicate'], /usage: gridwire keys/],
    ];
    for (const [args, message] of cases) {
      const r = keys(dir, ...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
