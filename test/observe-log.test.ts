// Structured logs: levels and their filtering, clear errors for bad options, the text rendering, and
// the WireGuard event records produced by a real handshake between two in-process devices.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatePrivateKey, publicKey } from '../src/keys/index.js';
import { createLogger, LogOptionError, textLine } from '../src/observe/log.js';
import { logDeviceEvents } from '../src/observe/wg-events.js';
import { packageRoot } from '../src/package-root.js';
import { WireGuardDevice } from '../src/wireguard/device.js';
import { waitFor } from './lib/netns.js';

const records = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function tempFile(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

test('log: JSON records with pino levels, filtered by level, to a file', (t) => {
  const path = tempFile(t, 'a.log');
  const log = createLogger({ level: 'debug', destination: path, name: 'unit' });
  log.trace('hidden');
  log.debug({ n: 1 }, 'shown');
  log.child({ interface: 'wg0' }).error('bad "thing"');
  const got = records(path);
  assert.deepEqual(got.map((r) => [r['level'], r['msg'], r['name']]), [[20, 'shown', 'unit'], [50, 'bad "thing"', 'unit']]);
  assert.equal(got[0]!['n'], 1);
  assert.equal(got[1]!['interface'], 'wg0');
  assert.equal(got[0]!['pid'], process.pid);
  assert.ok(Math.abs((got[0]!['time'] as number) - Date.now()) < 60_000);
  const quiet = createLogger({ level: 'silent', destination: path });
  quiet.fatal('never');
  assert.equal(records(path).length, 2);
});

test('log: every level name is accepted; anything else is a clear error', () => {
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) assert.equal(createLogger({ level, destination: '/dev/null' }).level, level);
  assert.throws(() => createLogger({ level: 'verbose' }), (e: unknown) => e instanceof LogOptionError && /unknown log level 'verbose' \(expected one of trace, debug, info, warn, error, fatal, silent\)/.test((e as Error).message));
  assert.throws(() => createLogger({ level: 'INFO' }), /unknown log level 'INFO'/);
  assert.throws(() => createLogger({ format: 'xml' as 'json' }), /unknown log format 'xml' \(expected json or text\)/);
});

test('log: the text format is one readable line a record', (t) => {
  const path = tempFile(t, 'b.log');
  const log = createLogger({ destination: path, format: 'text', name: 'gridwire-wg' });
  log.warn({ interface: 'wg0', peer: 'abc=', note: 'two words', n: 3 }, 'handshake failed');
  const line = readFileSync(path, 'utf8');
  assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  gridwire-wg: handshake failed interface=wg0 peer="abc=" note="two words" n=3\n$/);
  assert.equal(textLine('{"level":30,"time":0,"msg":"m","pid":1}'), '1970-01-01T00:00:00.000Z INFO  m\n');
});

test('log: a real handshake and endpoint change are logged with the peer in wg form', async (t) => {
  const path = tempFile(t, 'c.log');
  const log = createLogger({ level: 'debug', destination: path });
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const b = WireGuardDevice.create({ privateKey: kb, peers: [{ publicKey: publicKey(ka), allowedIps: ['10.0.0.1/32'] }] });
  const a = WireGuardDevice.create({ privateKey: ka });
  t.after(() => (a.close(), b.close()));
  const stopA = logDeviceEvents(a, log, 'gwa');
  logDeviceEvents(b, log, 'gwb');
  a.setPeer({ publicKey: publicKey(kb), endpoint: `127.0.0.1:${b.listenPort}`, allowedIps: ['10.0.0.2/32'], persistentKeepalive: 1 });
  const wanted = (r: Record<string, unknown>) => r['interface'] === 'gwb' && r['event'] === 'endpoint_change';
  await waitFor(() => records(path).some(wanted) && records(path).some((r) => r['interface'] === 'gwa' && r['event'] === 'handshake'), 10_000, 'handshake and endpoint records').catch((err: Error) => {
    assert.fail(`${err.message}: ${readFileSync(path, 'utf8')}`);
  });
  const got = records(path);
  const hs = got.find((r) => r['interface'] === 'gwa' && r['event'] === 'handshake')!;
  assert.equal(hs['msg'], 'handshake completed');
  assert.equal(hs['level'], 30);
  assert.equal(hs['peer'], Buffer.from(publicKey(kb)).toString('base64'));
  const ep = got.find(wanted)!;
  assert.equal(ep['peer'], Buffer.from(publicKey(ka)).toString('base64'));
  assert.equal(ep['endpoint'], `127.0.0.1:${a.listenPort}`);
  stopA();
  assert.equal(a.listenerCount('handshake'), 0, 'stopping removes the listeners');
});

function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(packageRoot(), 'dist', 'cli.js'), ...args], (err, _out, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }));
  });
}

test('gridwire wg: bad logging and metrics options are refused before anything starts', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--log-level', 'loud', 'gwx0'], /unknown log level 'loud'/],
    [['--log-format=xml', 'gwx0'], /unknown log format 'xml'/],
    [['--log-format', 'gwx0'], /usage: gridwire wg/],
    [['--metrics', '0.0.0.0:9586', 'gwx0'], /--metrics 0\.0\.0\.0 is not a loopback address; add --metrics-allow-remote/],
    [['--metrics', 'nope', 'gwx0'], /'nope' is not a metrics address/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(['wg', '-f', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
