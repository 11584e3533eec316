// The 23 protocol checks of shared/specs/wireguard-vectors/live_interop.py: an independent Python peer
// written from the spec drives `gridwire wg -f` in namespaces of its own (handshake vectors, replay,
// cookies under load, roaming, keepalive timing, UAPI counters).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gate, peerPath, requirePeer, requireRoot } from './lib/netns.js';
import { packageRoot } from '../src/package-root.js';


test('wireguard spec: live_interop.py passes against gridwire wg -f', { timeout: 240_000 }, async (t) => {
  if (!requireRoot(t) || !requirePeer(t, ['python3', 'wg'])) return;
  const root = packageRoot();
  const script = join(root, '..', 'shared', 'specs', 'wireguard-vectors', 'live_interop.py');
  if (!gate(t, existsSync(script) ? [] : [`the spec harness ${script}`])) return;
  const daemon = `${process.execPath} ${join(root, 'dist', 'cli.js')} wg -f`;
  const child = spawn(peerPath('python3'), [script, 'all'], {
    env: { ...process.env, WGSPEC_DAEMON: daemon, WGSPEC_STATE: `/tmp/gw-wgspec-${process.pid}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const results = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const r of results) if ('check' in r) t.diagnostic(`${r['ok'] ? 'ok  ' : 'FAIL'} ${String(r['check'])}`);
  const summary = results.find((r) => 'summary' in r)?.['summary'] as { passed: number; total: number } | undefined;
  assert.ok(summary, `no summary from the harness (exit ${code}): ${err.slice(-2000)}`);
  assert.equal(summary.total, 23);
  assert.equal(summary.passed, summary.total, results.filter((r) => r['ok'] === false).map((r) => JSON.stringify(r)).join('\n'));
});
