// One `gridwire bench` run with namespaces: shared setup (namespaces a and b, one veth pair), then
// rounds; each round takes a fresh veth ping baseline and runs every scenario in turn: bring the pair
// up, measure, take it down. A scenario that cannot run or fails is recorded with its reason and the
// run goes on; the Lab removes everything at the end, on an error, and on SIGINT/SIGTERM.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publicKey } from '../keys/index.js';
import { Lab } from '../netns/lab.js';
import { uapiSet } from '../wireguard/uapi-client.js';
import { floodKeys, type FloodResult } from './flood.js';
import { ping, tcp, udp64 } from './measure.js';
import { cpuSeconds, loadAverage, peakRss } from './proc.js';
import { Progress } from './progress.js';
import { engineSwitches, machineInfo, ratios, summarize, targets, type BenchReport, type Metrics, type ScenarioResult } from './report.js';
import { SCENARIOS, underlay, WG_MTU, type Scenario, type Tunnel } from './scenarios.js';

const UAPI_DIR = '/var/run/wireguard';
const readdirSafe = (d: string) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};
const FLOOD = join(dirname(fileURLToPath(import.meta.url)), 'flood.js');
// Enough initiator identities that the per-peer 20 ms flood guard never binds below ~20k handshakes/s.
const FLOOD_KEYS = 512;

export interface NetnsOptions {
  only?: string[];
  /** Adds the gridwire variants with one mechanism switched off (what each one buys). */
  mechanisms?: boolean;
  seconds: number;
  /** Rounds: every selected pair is measured once per round, interleaved, so load drift hits all alike. */
  repeat: number;
}

const VETH_NOTE = 'no engine: CPU per Gbit and RSS do not apply; the machine-wide CPU per Gbit is in the JSON';
const FLOOR_NOTE = 'latency only: with no cipher, no protocol and one packet per syscall its other figures would describe nothing gridwire does';

const TCP_RUNS = [
  { key: 'tcp1Forward', streams: 1, reverse: false, what: 'TCP 1 stream a→b' },
  { key: 'tcp1Reverse', streams: 1, reverse: true, what: 'TCP 1 stream b→a' },
  { key: 'tcp4Forward', streams: 4, reverse: false, what: 'TCP 4 streams a→b' },
  { key: 'tcp4Reverse', streams: 4, reverse: true, what: 'TCP 4 streams b→a' },
] as const;

const stepsOf = (s: Scenario) => (s.kind === 'floor' ? 2 : 1 + TCP_RUNS.length + 2 + (s.handshakes ? 1 : 0));

/**
 * The scenarios to run, in run order: the default set, or those `only` names, plus the mechanism
 * variants when asked. The veth ceiling always runs, since every ratio states it, and so do the
 * floors (the null relays and the TUN bridge) every added latency is read against.
 */
export function selectScenarios(only: string[] | undefined, mechanisms = false): Scenario[] {
  const known = SCENARIOS.map((s) => s.id).join(', ');
  if (only?.length === 0) throw new Error(`no scenario named; known: ${known}`);
  const unknown = (only ?? []).filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${known}`);
  const wanted = (s: Scenario) => s.kind === 'veth' || s.kind === 'floor' || (only ? only.includes(s.id) : !s.variant) || (mechanisms && s.variant);
  return SCENARIOS.filter(wanted);
}

export async function runNetns(opts: NetnsOptions): Promise<BenchReport> {
  const scenarios = selectScenarios(opts.only, opts.mechanisms);
  const load1Before = loadAverage();
  const pingCount = Math.max(100, Math.round(opts.seconds * 150));
  const results: ScenarioResult[] = scenarios.map((s) => ({ id: s.id, label: s.label, kind: s.kind, status: 'ok', anchors: s.anchors, metrics: null, samples: [], notes: [] }));
  const runnable = scenarios.filter((s, i) => {
    const missing = s.missing();
    if (missing.length) Object.assign(results[i]!, { status: 'skipped', reason: missing.join('; ') });
    return !missing.length;
  });
  const progress = new Progress(opts.repeat * (1 + runnable.reduce((n, s) => n + stepsOf(s), 0)));
  for (const r of results) if (r.status === 'skipped') progress.note(`skipping ${r.label}: ${r.reason}`);
  const tag = `gb${process.pid.toString(36)}`;
  // The Lab SIGKILLs the daemons on a signal, so they cannot remove their UAPI sockets (which live
  // outside the namespaces); registered before the Lab's own handlers so that it runs before them.
  const removeSockets = () => {
    for (const f of readdirSafe(UAPI_DIR)) if (f.startsWith(tag)) rmSync(join(UAPI_DIR, f), { force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, removeSockets);
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'gridwire-bench-'));
  try {
    for (let round = 1; round <= opts.repeat; round++) {
      const scope = (label: string) => (opts.repeat > 1 ? `round ${round}/${opts.repeat} ${label}` : label);
      progress.step(scope('setup'), round === 1 ? 'namespaces, veth pair, veth ping baseline' : 'veth ping baseline');
      if (round === 1) await underlay(lab);
      const baseline = await ping(lab, '10.213.0.2', pingCount);
      for (const s of runnable) {
        const index = scenarios.indexOf(s);
        const result = results[index]!;
        let done = 0;
        const step = (what: string) => (done++, progress.step(scope(s.label), what));
        let tunnel: Tunnel | undefined;
        try {
          step('bringing the pair up');
          tunnel = await s.up({ lab, dir, tag }, index);
          result.samples!.push(await measureScenario(lab, s, tunnel, { ...opts, pingCount, baseline, result, step }));
        } catch (err) {
          result.samples!.push(null);
          result.notes.push(`round ${round} failed: ${(err as Error).message.split('\n')[0]}`);
          progress.skip(stepsOf(s) - done);
          progress.note(`${s.label} failed in round ${round}: ${(err as Error).message}`);
        } finally {
          await tunnel?.down();
        }
      }
    }
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
    removeSockets();
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, removeSockets);
  }
  progress.finish();
  for (const r of results) summarize(r);
  const rs = ratios(results);
  return {
    tool: 'gridwire bench',
    mode: 'netns',
    date: new Date().toISOString(),
    machine: machineInfo(load1Before, loadAverage()),
    settings: {
      duration: `${opts.seconds} s per measurement`,
      rounds: `${opts.repeat} (figures are medians over the rounds; ratios are medians of per-round ratios)`,
      'tunnel MTU': `WireGuard ${WG_MTU}, planetary 65535 (yggdrasil's default)`,
      pings: `${pingCount} at 5 ms`,
      'engine switches': engineSwitches(),
    },
    scenarios: results,
    ratios: rs,
    targets: targets(results, rs),
  };
}

interface MeasureContext extends NetnsOptions {
  pingCount: number;
  baseline: { p50Ms: number; p99Ms: number };
  result: ScenarioResult;
  step(what: string): void;
}

// Every figure, unmeasured; a literal, so a new metric that is not listed here fails to compile.
const BLANK: { [K in keyof Metrics]: null } = {
  tcp1Forward: null, tcp1Reverse: null, tcp4Forward: null, tcp4Reverse: null, udp64Pps: null, addedP50Ms: null, addedP99Ms: null,
  cpuPerGbit: null, peakRssMiB: null, handshakesPerCore: null, p50Ms: null, p99Ms: null, machineCpuPerGbit: null, retransmits: null,
  udp64LossPercent: null, handshakesPerSecond: null, handshakeCookies: null,
};

async function latency(lab: Lab, s: Scenario, t: Tunnel, ctx: MeasureContext): Promise<Partial<Metrics>> {
  ctx.step(`latency: ${ctx.pingCount} pings`);
  const p = s.kind === 'veth' ? ctx.baseline : await ping(lab, t.dst, ctx.pingCount);
  return { p50Ms: p.p50Ms, p99Ms: p.p99Ms, addedP50Ms: p.p50Ms - ctx.baseline.p50Ms, addedP99Ms: p.p99Ms - ctx.baseline.p99Ms };
}

function noteOnce(result: ScenarioResult, note: string): void {
  if (!result.notes.includes(note)) result.notes.push(note);
}

async function measureScenario(lab: Lab, s: Scenario, t: Tunnel, ctx: MeasureContext): Promise<Metrics> {
  if (s.kind === 'floor') {
    noteOnce(ctx.result, FLOOR_NOTE);
    return { ...BLANK, ...(await latency(lab, s, t, ctx)) };
  }
  const m: Partial<Metrics> = {};
  for (const run of TCP_RUNS) {
    ctx.step(run.what);
    const r = await tcp(lab, t.dst, { streams: run.streams, reverse: run.reverse, seconds: ctx.seconds, pids: t.pids });
    m[run.key] = r.gbps;
    if (run.key === 'tcp1Forward') {
      m.retransmits = r.retransmits;
      m.cpuPerGbit = t.pids.length ? r.engineCpu / r.gigabits : null;
      m.machineCpuPerGbit = r.machineCpu / r.gigabits;
    }
  }
  ctx.step('UDP 64-byte payloads, unlimited rate');
  const u = await udp64(lab, t.dst, ctx.seconds);
  m.udp64Pps = u.pps;
  m.udp64LossPercent = u.lossPercent;
  Object.assign(m, await latency(lab, s, t, ctx));
  m.peakRssMiB = t.pids.length ? Math.max(...t.pids.map((pid) => peakRss(pid))) / 2 ** 20 : null;
  if (s.kind === 'veth') noteOnce(ctx.result, VETH_NOTE);
  if (s.handshakes && t.responder) {
    ctx.step(`handshakes: initiation flood from ${FLOOD_KEYS} peers`);
    const h = await handshakes(lab, t, ctx.seconds);
    Object.assign(m, { handshakesPerSecond: h.answered / h.seconds, handshakesPerCore: h.cpu > 0 ? h.answered / h.cpu : null, handshakeCookies: h.cookies });
  }
  return { ...BLANK, ...m };
}

/** Configures FLOOD_KEYS peers on b, floods it with initiations from a, and takes b's CPU over the flood. */
async function handshakes(lab: Lab, t: Tunnel, seconds: number): Promise<FloodResult & { cpu: number }> {
  const r = t.responder!;
  const seed = Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256)));
  const peers = floodKeys(seed, FLOOD_KEYS).map((k) => ({
    publicKey: publicKey(k),
    remove: false,
    updateOnly: false,
    replaceAllowedIps: false,
    addAllowedIps: [],
    removeAllowedIps: [],
  }));
  const errno = await uapiSet(r.ifname, { replacePeers: false, peers });
  if (errno !== 0) throw new Error(`adding the flood peers to ${r.ifname} failed (errno ${errno})`);
  const pid = t.pids[t.pids.length - 1]!;
  const cpu0 = cpuSeconds([pid]);
  const argv = [process.execPath, FLOOD, 'handshakes', r.host, String(r.port), Buffer.from(r.publicKey).toString('hex'), seed.toString('hex'), String(FLOOD_KEYS), String(seconds)];
  const out = await lab.exec('a', argv, { timeoutMs: seconds * 1000 + 20_000 });
  const cpu = cpuSeconds([pid]) - cpu0;
  if (out.code !== 0) throw new Error(`handshake flood failed: ${out.stderr.trim()}`);
  return { ...(JSON.parse(out.stdout) as FloodResult), cpu };
}
