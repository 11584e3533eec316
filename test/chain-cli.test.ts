// `gridwire chain` end to end (the command module in a child process) against loopback fakes: human and
// JSON output, backends in command-line order, and the exit status for not found, bad usage and outage.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bytesToHex } from '@noble/hashes/utils.js';
import { storageKeys } from '../src/chain/storage.js';
import {
  ALICE_KEY,
  ALICE_SS58,
  encodeNode,
  encodeTwin,
  GENERATOR_PK,
  startFakeGridProxy,
  startFakeSubstrate,
  type FakeServer,
} from './lib/chain-fixtures.js';

const COMMAND = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'cli', 'chain.js')).href;
// What src/cli.ts does around a command: CliError → message and its exit code.
const RUNNER = `
const { default: command } = await import(${JSON.stringify(COMMAND)});
try { process.exitCode = await command.run(process.argv.slice(1)); }
catch (err) {
  if (err.name !== 'CliError') throw err;
  process.stderr.write('gridwire: ' + err.message + '\\n');
  process.exitCode = err.exitCode;
}`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function chain(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', RUNNER, '--', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let proxy: FakeServer;
let rpc: FakeServer;
/** A loopback URL nothing listens on (fetch refuses some low ports outright, so not :1). */
let deadUrl: string;

before(async () => {
  const dead = await startFakeGridProxy({ twins: [], nodes: [], contracts: [], publicIps: [] });
  await dead.close();
  deadUrl = dead.url;
  proxy = await startFakeGridProxy({
    twins: [
      { twinId: 7, accountId: ALICE_SS58, relay: 'relay.grid.tf', publicKey: GENERATOR_PK },
      { twinId: 29, accountId: ALICE_SS58, relay: '', publicKey: '' },
    ],
    nodes: [{ nodeId: 11, farmId: 1, twinId: 29, publicConfig: { ipv4: '203.0.113.10/24', gw4: '203.0.113.1', ipv6: '', gw6: '', domain: 'gw1.example.grid' } }],
    contracts: [{ contract_id: 12, twin_id: 7, state: 'GracePeriod', type: 'name', details: { name: 'web' } }],
    publicIps: [],
  });
  rpc = await startFakeSubstrate(
    new Map([
      [storageKeys.twin(29).toLowerCase(), encodeTwin({ id: 29, account: ALICE_KEY })],
      [storageKeys.node(11).toLowerCase(), encodeNode({ id: 11, farmId: 1, twinId: 29 })],
    ]),
  );
});
after(async () => {
  await proxy.close();
  await rpc.close();
});

describe('gridwire chain', () => {
  test('twin, human-readable', async () => {
    const r = await chain('twin', '7', '--grid-proxy', proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^twin 7\n/);
    assert.match(r.stdout, new RegExp(`account: +${ALICE_SS58}\n`));
    assert.match(r.stdout, new RegExp(`account key: +0x${bytesToHex(ALICE_KEY)}\n`));
    assert.match(r.stdout, /relays: +relay\.grid\.tf\n/);
    assert.match(r.stdout, new RegExp(`rmb public key: +${GENERATOR_PK}\n`));
    assert.match(r.stdout, new RegExp(`source: +grid-proxy ${proxy.url} at \\d{4}-\\d\\d-\\d\\dT`));
  });

  test('node as JSON: planetary address, provenance with ISO times', async () => {
    const r = await chain('node', '11', `--grid-proxy=${proxy.url}`, '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.query, { kind: 'node', id: 11 });
    assert.equal(out.value.planetary.address, '200:5794:d871:d404:59c7:3dd7:ca85:f6ac');
    assert.deepEqual(out.value.publicConfig, { ipv4: '203.0.113.10/24', gw4: '203.0.113.1', domain: 'gw1.example.grid' });
    assert.equal(out.value.twin.value.accountId, ALICE_SS58);
    assert.equal(out.provenance.backend, 'grid-proxy');
    assert.match(out.provenance.fetchedAt, /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  test('name, human-readable', async () => {
    const r = await chain('name', 'web', '--grid-proxy', proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^name web\n {2}twin: +7\n {2}contract: +12 \(GracePeriod\)\n/);
  });

  test('backends in command-line order: a dead proxy, then the chain', async () => {
    const r = await chain('node', '11', '--grid-proxy', deadUrl, '--substrate', rpc.url.replace('http:', 'ws:'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source: +substrate http:\/\/127\.0\.0\.1:\d+\/ at /);
    assert.match(r.stdout, /planetary address: +200:5794:d871:d404:59c7:3dd7:ca85:f6ac\n/);
    assert.match(r.stdout, /public config: +none\n/);
  });

  test('not found: exit 1 and the backend that said so', async () => {
    const r = await chain('twin', '99', '--grid-proxy', proxy.url);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `gridwire: chain: twin 99 not found (grid-proxy ${proxy.url})\n`);
  });

  test('every backend down: exit 3 and each failure listed', async () => {
    const r = await chain('twin', '7', '--grid-proxy', deadUrl, '--timeout', '1');
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      `gridwire: chain: cannot look up twin 7; every backend failed:\n${`  grid-proxy ${deadUrl}: network: ECONNREFUSED\n`.repeat(2)}`,
    );
  });

  test('bad usage: exit 2 with the reason', async () => {
    for (const [args, pattern] of [
      [['twin', 'seven', '--grid-proxy', proxy.url], /twin id must be a decimal number, got 'seven'/],
      [['twin', '0', '--grid-proxy', proxy.url], /twin id must be an integer from 1/],
      [['name', '../etc', '--grid-proxy', proxy.url], /is not a gateway name/],
      [['farm', '1'], /unknown lookup 'farm'/],
      [['twin'], /twin ID is missing/],
      [['twin', '7', '--grid-proxy'], /--grid-proxy needs a value/],
      [['twin', '7', '--substrate', 'ftp://x'], /substrate URL must be ws\(s\) or http\(s\)/],
      [['twin', '7', '--bogus'], /unknown option --bogus/],
    ] as [string[], RegExp][]) {
      const r = await chain(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });

  test('--help', async () => {
    const r = await chain('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: gridwire chain/);
  });
});

