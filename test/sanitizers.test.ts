// Runs the native-heavy part of the suite once more against the ASan+UBSan build of the addon
// (GRIDWIRE_SANITIZE=1), so memory errors and undefined behaviour in the data plane fail the run.
// The variant is built in a scratch copy so the regular build in build/ stays as it is.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/package-root.js';

const here = dirname(fileURLToPath(import.meta.url));


// The files whose tests drive the native code hardest; the live spec harness and the multicast test run
// their daemons and nodes with the sanitized addon too, since child processes inherit the environment.
const SUITES = ['crypto-vectors', 'crypto-differential', 'uapi', 'wg-device', 'wg-spec-live', 'planetary-multicast'];

test('the native suites pass under ASan+UBSan', { timeout: 900_000 }, async (t) => {
  if (process.env['GRIDWIRE_SKIP_SANITIZERS'] === '1') {
    t.skip('GRIDWIRE_SKIP_SANITIZERS=1');
    return;
  }
  const root = packageRoot();
  const scratch = mkdtempSync(join(tmpdir(), 'gridwire-asan-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  for (const item of ['native', 'binding.gyp', 'package.json']) cpSync(join(root, item), join(scratch, item), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
  const started = Date.now();
  // Node's own headers, as npm passes them to the regular build (never a download).
  const nodedir = process.env['npm_config_nodedir'] ?? dirname(dirname(process.execPath));
  const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  execFileSync(process.execPath, [gyp, 'rebuild', '-j', '2', `--nodedir=${nodedir}`], {
    cwd: scratch,
    env: { ...process.env, GRIDWIRE_SANITIZE: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.diagnostic(`sanitizer build: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const libasan = execFileSync('gcc', ['-print-file-name=libasan.so']).toString().trim();
  const files = SUITES.map((s) => join(here, `${s}.test.js`));
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1', ...files], {
    env: {
      // Without this the nested runner sees it is inside a test file and silently runs nothing.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')),
      GRIDWIRE_ADDON: join(scratch, 'build', 'Release', 'gridwire.node'),
      LD_PRELOAD: libasan,
      // Node itself is not instrumented and keeps memory until exit: leak reports would be noise.
      ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
      GRIDWIRE_DIFF_N: '2000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
  t.diagnostic(`under ASan+UBSan: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
  assert.ok(count('pass') >= SUITES.length, `the sanitized run reported no passing tests:\n${out.slice(-4000)}`);
  // The whole run is kept for reading; the failure message carries only what failed.
  const log = join(tmpdir(), `gridwire-sanitizers-${process.pid}.log`);
  writeFileSync(log, out);
  const failures = out.split('\n').filter((l) => /not ok|ERROR: AddressSanitizer|runtime error:|SUMMARY:|^\s+error:/.test(l));
  const why = `${failures.slice(0, 40).join('\n')}\n(full output: ${log})`;
  assert.doesNotMatch(out, /ERROR: AddressSanitizer|runtime error:/, why);
  assert.equal(code, 0, why);
});
