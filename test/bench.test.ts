// `gridwire bench` end to end through the built CLI: the JSON shape and positive figures of a short
// gridwire-only run (root), that the run leaves no namespace behind, and the no-root --no-tun path.
// These check the harness, not the engine's speed: the targets are benchmarks, not timed tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../src/package-root.js';
import type { BenchReport } from '../src/bench/report.js';
import { requireRoot } from './lib/netns.js';

const CLI = join(packageRoot(), 'dist', 'cli.js');

interface BenchRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs the CLI's bench; `interrupt` sees stderr as it grows and may return a signal to send. */
function bench(args: string[], interrupt?: (stderr: string) => NodeJS.Signals | undefined): Promise<BenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      const signal = sent ? undefined : interrupt?.(stderr);
      if (signal) sent = child.kill(signal);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid! }));
  });
}

/** The bench's namespaces, engine processes and UAPI sockets still present after its process `pid` ended. */
function leftBehind(pid: number): string[] {
  const tag = `gb${pid.toString(36)}`;
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`gw-${pid}-`));
  const sockets = readdirSync('/var/run/wireguard', { withFileTypes: true }).map((e) => e.name).filter((n) => n.startsWith(tag));
  const procs = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(tag));
  return [...namespaces, ...sockets, ...procs];
}

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} is positive: ${String(v)}`);

test('gridwire bench --only gridwire-wg --duration 1 --repeat 2 --json: one full row of positive medians, nothing left behind', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const r = await bench(['--only', 'gridwire-wg', '--duration', '1', '--repeat', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.equal(report.tool, 'gridwire bench');
  assert.equal(report.mode, 'netns');
  positive(report.machine.cores, 'machine.cores');
  assert.deepEqual(report.scenarios.map((s) => [s.id, s.status]), [['veth', 'ok'], ['null-relay', 'ok'], ['null-relay-tcp', 'ok'], ['tun-bridge', 'ok'], ['gridwire-wg', 'ok']]);
  for (const floor of report.scenarios.slice(1, 4).map((s) => s.metrics!)) {
    positive(floor.p50Ms, 'null relay p50Ms');
    assert.ok(floor.p50Ms! > report.scenarios[0]!.metrics!.p50Ms!, 'a ping through a null relay or the TUN bridge takes longer than over the bare veth');
    assert.equal(floor.tcp1Forward, null, 'a floor is measured for latency only');
  }
  const wgLatency = report.targets.find((x) => x.goal.includes('WireGuard added latency'))!;
  assert.equal(wgLatency.floorMs, report.scenarios[1]!.metrics!.addedP50Ms, 'the latency target names its floor');
  assert.equal(wgLatency.tunFloorMs, report.scenarios[3]!.metrics!.addedP50Ms, 'and the floor of any TUN-based tunnel');
  const m = report.scenarios[4]!.metrics!;
  for (const key of ['tcp1Forward', 'tcp1Reverse', 'tcp4Forward', 'tcp4Reverse', 'udp64Pps', 'p50Ms', 'p99Ms', 'cpuPerGbit', 'machineCpuPerGbit', 'peakRssMiB', 'handshakesPerSecond', 'handshakesPerCore'] as const) {
    positive(m[key], key);
  }
  for (const key of ['addedP50Ms', 'addedP99Ms'] as const) assert.equal(typeof m[key], 'number', `${key} is measured`);
  const rounds = report.scenarios[4]!.samples!;
  assert.equal(rounds.length, 2, 'one sample per round');
  const tcp = rounds.map((x) => x!.tcp1Forward!).sort((x, y) => x - y);
  assert.equal(m.tcp1Forward, (tcp[0]! + tcp[1]!) / 2, 'the figure is the median of the rounds');
  assert.deepEqual(report.scenarios[4]!.spread!.tcp1Forward, tcp, 'the spread is the smallest and largest round');
  assert.ok(report.ratios.some((x) => x.scenario === 'gridwire-wg' && x.anchor === 'veth' && x.metric === 'tcp1Forward' && x.ratio > 0), 'a ratio to the veth ceiling');
  assert.ok(report.targets.length > 0 && report.targets.every((x) => 'met' in x), 'targets listed');
  assert.match(r.stderr, /\[\s*\d+\/\d+ /, 'progress on stderr');
  assert.deepEqual(leftBehind(r.pid), [], 'the bench removed its namespaces, engines and UAPI sockets');
});

test('gridwire bench: a SIGTERM while the engines run takes down its namespaces, engines and UAPI sockets', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const r = await bench(['--only', 'gridwire-wg', '--duration', '1', '--repeat', '1'], (stderr) => (/gridwire ↔ itself: TCP 1 stream/.test(stderr) ? 'SIGTERM' : undefined));
  assert.equal(r.signal, 'SIGTERM', `the bench dies of the signal: code ${r.code}\n${r.stderr.slice(-400)}`);
  assert.deepEqual(leftBehind(r.pid), [], 'nothing of the run is left');
});

test('gridwire bench --no-tun --json: two engines in one process, without root', { timeout: 60_000 }, async () => {
  const r = await bench(['--no-tun', '--duration', '0.5', '--repeat', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.equal(report.mode, 'no-tun');
  assert.equal(report.dataPlane?.length, 4);
  for (const row of report.dataPlane!) {
    positive(row.completedPerSecond, `${row.measurement}: completed/s`);
    positive(row.perEngineCore, `${row.measurement}: per engine core`);
  }
});

test('gridwire bench: bad options are refused with exit code 2', async () => {
  for (const args of [['--only', 'nope'], ['--duration', '0'], ['--repeat', '0'], ['--repeat', '1.5'], ['--frobnicate'], ['--no-tun', '--only', 'veth'], ['--no-tun', '--mechanisms']]) {
    const r = await bench(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^gridwire: bench: /, args.join(' '));
  }
});
