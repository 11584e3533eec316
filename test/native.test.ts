// The C++ unit tests (sans-IO WireGuard core, allowed-IPs trie, I/O edge) and a bounded libFuzzer run
// of every wire decoder, driven from npm test so one command runs everything.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { gate } from './lib/netns.js';
import { packageRoot } from '../src/package-root.js';


const root = packageRoot();
const FUZZ_SECONDS = process.env['GRIDWIRE_FUZZ_SECONDS'] ?? '15';

function make(args: string[]): string {
  const r = spawnSync('make', ['--no-print-directory', '-j2', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, out.slice(-6000));
  return out;
}

/** Every harness run ends with "N passed, M failed"; all of them must say 0 failed. */
function assertAllPassed(t: { diagnostic(m: string): void }, out: string, runs: number): void {
  const lines = out.split('\n').filter((l) => /^\d+ passed, \d+ failed/.test(l));
  for (const l of lines) t.diagnostic(l);
  assert.equal(lines.length, runs, out.slice(-4000));
  for (const l of lines) assert.match(l, / 0 failed/);
}

test('native: WireGuard core unit tests (vectors, two-device scenarios, concurrency)', { timeout: 600_000 }, (t) => {
  assertAllPassed(t, make(['-C', 'native/tests']), 1);
});

test('native: allowed-IPs trie and TUN/UDP I/O', { timeout: 600_000 }, (t) => {
  assertAllPassed(t, make(['-f', 'native/tests/Makefile.io', `OUT=${join(root, 'native/tests/build/io')}`]), 2);
});

test('native: planetary link layer (preamble vectors, framing, timers, TCP/TLS, a real yggdrasil)', { timeout: 600_000 }, (t) => {
  const out = make(['-f', 'native/tests/planetary/Makefile.link', `OUT=${join(root, 'native/tests/build/planetary-link')}`]);
  assertAllPassed(t, out, 1);
  if (/^  skip: /m.test(out)) assert.notEqual(process.env['GRIDWIRE_REQUIRE_INTEROP'], '1', 'the real-yggdrasil link test was skipped');
});

test('native: planetary router (frame vectors, simulated topologies) and sessions/payload', { timeout: 600_000 }, (t) => {
  assertAllPassed(t, make(['-C', 'native/tests/planetary', '-f', 'Makefile.router']), 1);
  assertAllPassed(t, make(['-C', 'native/tests/planetary', '-f', 'Makefile.session']), 1);
});

test(`native: libFuzzer on every WireGuard wire decoder, ${FUZZ_SECONDS} s each`, { timeout: 900_000 }, (t) => {
  const clang = spawnSync('clang++', ['--version']);
  if (!gate(t, clang.status === 0 ? [] : ['clang++ with libFuzzer (apt-get install clang libclang-rt-14-dev)'])) return;
  const out = make(['-C', 'native/tests', 'fuzz', `FUZZ_TIME=${FUZZ_SECONDS}`]);
  const runs = [...out.matchAll(/stat::number_of_executed_units:\s*(\d+)/g)].map((m) => Number(m[1]));
  t.diagnostic(`executions per target: ${runs.join(', ')}`);
  assert.equal(runs.length, 4, out.slice(-4000));
  assert.doesNotMatch(out, /ERROR: (AddressSanitizer|libFuzzer)|runtime error:/);
});

test(`native: libFuzzer on the planetary decoders (link, frames, sessions), ${FUZZ_SECONDS} s each`, { timeout: 900_000 }, (t) => {
  const clang = spawnSync('clang++', ['--version']);
  if (!gate(t, clang.status === 0 ? [] : ['clang++ with libFuzzer (apt-get install clang libclang-rt-14-dev)'])) return;
  const fuzz = `FUZZ_TIME=${FUZZ_SECONDS}`;
  const out = [
    make(['-f', 'native/tests/planetary/Makefile.link', `OUT=${join(root, 'native/tests/build/planetary-link')}`, 'fuzz', fuzz]),
    make(['-C', 'native/tests/planetary', '-f', 'Makefile.router', 'fuzz', fuzz]),
    make(['-C', 'native/tests/planetary', '-f', 'Makefile.session', 'fuzz', fuzz]),
  ].join('\n');
  const runs = [...out.matchAll(/stat::number_of_executed_units:\s*(\d+)/g)].map((m) => Number(m[1]));
  t.diagnostic(`executions per target: ${runs.join(', ')}`);
  assert.equal(runs.length, 3, out.slice(-4000));
  assert.doesNotMatch(out, /ERROR: (AddressSanitizer|libFuzzer)|runtime error:/);
});
