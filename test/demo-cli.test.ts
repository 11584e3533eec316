// `gridwire demo` argument errors: each names the argument and its problem, and nothing is started.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../src/package-root.js';

const CLI = join(packageRoot(), 'dist', 'cli.js');

test('demo: a bad or missing --duration is named as such, before anything is set up', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--duration'], /^gridwire: demo: --duration needs a whole number of seconds\n/],
    [['--duration', 'abc'], /^gridwire: demo: --duration needs a whole number of seconds, not 'abc'\n/],
    [['--duration', '-1'], /^gridwire: demo: --duration needs a whole number of seconds, not '-1'\n/],
    [['--duration', '3000000'], /^gridwire: demo: --duration is at most 3600 seconds, not 3000000\n/],
    [['--bogus'], /^gridwire: demo: unknown argument '--bogus'\n/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [CLI, 'demo', ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '', 'nothing started');
  }
});
