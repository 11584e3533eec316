// The bench's result: one JSON document (`--json`) and the tables printed from it. Figures are medians
// over the rounds; ratios all read "×N better for the row" (throughput ÷ anchor, anchor ÷ CPU or
// memory), each naming its anchor, and are the median of the per-round ratios.
import { cpus, release, totalmem } from 'node:os';
import type { DataPlaneRow } from './notun.js';

export type MetricKey =
  | 'tcp1Forward'
  | 'tcp1Reverse'
  | 'tcp4Forward'
  | 'tcp4Reverse'
  | 'udp64Pps'
  | 'addedP50Ms'
  | 'addedP99Ms'
  | 'cpuPerGbit'
  | 'peakRssMiB'
  | 'handshakesPerCore';

/** null: not applicable to the row or not measured; the row's `notes` say why. */
export type Metrics = Record<MetricKey, number | null> & {
  p50Ms: number | null;
  p99Ms: number | null;
  /** Machine-wide busy CPU seconds per Gbit over the 1-stream a→b run (includes iperf3 and the kernel). */
  machineCpuPerGbit: number | null;
  retransmits: number | null;
  udp64LossPercent: number | null;
  handshakesPerSecond: number | null;
  handshakeCookies: number | null;
};

export interface ScenarioResult {
  id: string;
  label: string;
  kind: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  anchors: string[];
  /** Medians over the rounds that completed. */
  metrics: Metrics | null;
  /** One entry per round, null where the round failed. */
  samples?: Array<Metrics | null>;
  /** Smallest and largest value over the rounds, per metric measured in more than one. */
  spread?: Partial<Record<MetricKey, [number, number]>>;
  notes: string[];
}

export interface Ratio {
  scenario: string;
  anchor: string;
  metric: MetricKey;
  ratio: number;
}

export interface Target {
  goal: string;
  value: number | null;
  /** Latency targets: the null relay's added p50 on the same transport in the same run (the floor). */
  floorMs?: number;
  /** Latency targets: what one process joining the two TUNs adds in the same run (the floor of any TUN-based tunnel). */
  tunFloorMs?: number;
  threshold: number;
  comparison: '>=' | '<=';
  met: boolean | null;
  basis: string;
}

export interface BenchReport {
  tool: 'gridwire bench';
  mode: 'netns' | 'no-tun';
  date: string;
  machine: { cpu: string; cores: number; kernel: string; node: string; memoryGiB: number; load1Before: number; load1After: number };
  settings: Record<string, unknown>;
  scenarios: ScenarioResult[];
  ratios: Ratio[];
  targets: Target[];
  /** --no-tun only: the in-process data-plane figures. */
  dataPlane?: DataPlaneRow[];
}

interface Column {
  key: MetricKey;
  header: string;
  better: 'higher' | 'lower';
  format: (v: number) => string;
  /** Taken as a ratio against anchors (latency is compared as an absolute difference instead). */
  ratio: boolean;
}

const gbps = (v: number) => v.toFixed(2);
export const COLUMNS: readonly Column[] = [
  { key: 'tcp1Forward', header: 'TCP×1 a→b', better: 'higher', format: gbps, ratio: true },
  { key: 'tcp1Reverse', header: 'TCP×1 b→a', better: 'higher', format: gbps, ratio: true },
  { key: 'tcp4Forward', header: 'TCP×4 a→b', better: 'higher', format: gbps, ratio: true },
  { key: 'tcp4Reverse', header: 'TCP×4 b→a', better: 'higher', format: gbps, ratio: true },
  { key: 'udp64Pps', header: 'UDP64 kpps', better: 'higher', format: (v) => (v / 1000).toFixed(0), ratio: true },
  { key: 'addedP50Ms', header: '+p50 ms', better: 'lower', format: (v) => v.toFixed(3), ratio: false },
  { key: 'addedP99Ms', header: '+p99 ms', better: 'lower', format: (v) => v.toFixed(3), ratio: false },
  { key: 'cpuPerGbit', header: 'CPU s/Gbit', better: 'lower', format: (v) => v.toFixed(2), ratio: true },
  { key: 'peakRssMiB', header: 'RSS MiB', better: 'lower', format: (v) => v.toFixed(0), ratio: true },
  { key: 'handshakesPerCore', header: 'HS/s/core', better: 'higher', format: (v) => v.toFixed(0), ratio: true },
];

const TCP_KEYS: MetricKey[] = ['tcp1Forward', 'tcp1Reverse', 'tcp4Forward', 'tcp4Reverse'];

/** The GRIDWIRE_* engine switches this run was started with, as the report's settings show them. */
export function engineSwitches(): string {
  return Object.entries(process.env).filter(([k]) => k.startsWith('GRIDWIRE_')).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults';
}

export function machineInfo(load1Before: number, load1After: number): BenchReport['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    load1Before,
    load1After,
  };
}

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
};

/** Sets the medians, the spread and the status of a result from its per-round samples. */
export function summarize(r: ScenarioResult): void {
  const rounds = (r.samples ?? []).filter((m): m is Metrics => m !== null);
  if (!rounds.length) {
    if (r.status === 'ok') Object.assign(r, { status: 'failed', reason: r.notes.find((n) => n.includes('failed')) ?? 'no round completed' });
    return;
  }
  const metrics: Record<string, number | null> = {};
  const spread: Partial<Record<MetricKey, [number, number]>> = {};
  for (const key of Object.keys(rounds[0]!) as Array<keyof Metrics>) {
    const xs = rounds.map((m) => m[key]).filter((v): v is number => v !== null);
    metrics[key] = xs.length ? median(xs) : null;
    if (xs.length > 1 && COLUMNS.some((c) => c.key === key)) spread[key as MetricKey] = [Math.min(...xs), Math.max(...xs)];
  }
  r.metrics = metrics as Metrics;
  r.spread = spread;
}

/** Per metric and anchor: the median of the ratios of the rounds in which both were measured. */
export function ratios(results: ScenarioResult[]): Ratio[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const rounds = (r: ScenarioResult) => r.samples ?? [r.metrics];
  const out: Ratio[] = [];
  for (const r of results) {
    if (!r.metrics) continue;
    for (const anchorId of [...r.anchors, ...(r.kind !== 'veth' ? ['veth'] : [])]) {
      const anchor = byId.get(anchorId);
      if (!anchor?.metrics) continue;
      const theirs = rounds(anchor);
      for (const col of COLUMNS) {
        if (!col.ratio) continue;
        const each = rounds(r).flatMap((m, i) => {
          const [a, b] = [m?.[col.key] ?? null, theirs[i]?.[col.key] ?? null];
          return a === null || b === null || a <= 0 || b <= 0 ? [] : [col.better === 'higher' ? a / b : b / a];
        });
        if (each.length) out.push({ scenario: r.id, anchor: anchorId, metric: col.key, ratio: median(each) });
      }
    }
  }
  return out;
}

const geomean = (xs: number[]) => (xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : null);

/** The issue's targets, evaluated on this run (same machine, same run). */
export function targets(results: ScenarioResult[], rs: Ratio[]): Target[] {
  const tcpRatio = (scenario: string, anchor: string) =>
    geomean(rs.filter((r) => r.scenario === scenario && r.anchor === anchor && TCP_KEYS.includes(r.metric)).map((r) => r.ratio));
  const metric = (id: string, key: MetricKey) => results.find((r) => r.id === id)?.metrics?.[key] ?? null;
  const hs = rs.find((r) => r.scenario === 'gridwire-wg' && r.anchor === 'wggo-new' && r.metric === 'handshakesPerCore')?.ratio ?? null;
  const t = (goal: string, value: number | null, comparison: '>=' | '<=', threshold: number, basis: string): Target => ({
    goal,
    value,
    threshold,
    comparison,
    met: value === null ? null : comparison === '>=' ? value >= threshold : value <= threshold,
    basis,
  });
  const tcpBasis = 'geometric mean of the four TCP ratios (1 and 4 streams, both directions)';
  const over = 'ping p50 through the tunnel minus ping p50 over the veth';
  const tunFloor = metric('tun-bridge', 'addedP50Ms');
  const latency = (goal: string, id: string, floorId: string, transport: string): Target => {
    const floor = metric(floorId, 'addedP50Ms');
    const basis = [over];
    if (floor !== null) basis.push(`floorMs: what the null relay over ${transport} (no cipher) adds in this run`);
    if (tunFloor !== null) basis.push('tunFloorMs: what one process joining the two TUNs (no outer path, no cipher) adds in this run');
    return {
      ...t(goal, metric(id, 'addedP50Ms'), '<=', 0.1, basis.join('; ')),
      ...(floor !== null && { floorMs: floor }),
      ...(tunFloor !== null && { tunFloorMs: tunFloor }),
    };
  };
  return [
    t('gridwire↔gridwire WireGuard TCP vs wireguard-go 0.0.20231211↔itself', tcpRatio('gridwire-wg', 'wggo-new'), '>=', 1.5, tcpBasis),
    t('gridwire↔wireguard-go TCP vs wireguard-go↔wireguard-go (0.0.20231211)', tcpRatio('gridwire-wggo', 'wggo-new'), '>=', 1, tcpBasis),
    t('planetary gridwire↔gridwire TCP vs yggdrasil 0.5.12↔itself', tcpRatio('gridwire-planetary', 'yggdrasil'), '>=', 2, tcpBasis),
    latency('gridwire WireGuard added latency p50 over the raw veth (ms)', 'gridwire-wg', 'null-relay', 'UDP'),
    latency('gridwire planetary added latency p50 over the raw veth (ms)', 'gridwire-planetary', 'null-relay-tcp', 'TCP'),
    t('WireGuard handshakes/s per core vs wireguard-go 0.0.20231211', hs, '>=', 2, 'responses per CPU-second of the responder process'),
  ];
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => [...(row[i] ?? '')].length)));
  return cells
    .map((row, j) => {
      const line = `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
      return j === 0 ? `${line}\n|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|` : line;
    })
    .join('\n');
}

export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `# gridwire bench, ${report.date}`,
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; load average ${m.load1Before.toFixed(2)} before, ${m.load1After.toFixed(2)} after`,
    `settings: ${Object.entries(report.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`,
    '',
  ];
  if (report.dataPlane) {
    const n = (v: number | null, digits = 0) => (v === null ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
    lines.push('The engine alone, in this process (per engine core = completed ÷ CPU seconds of the engine threads):', '');
    lines.push(
      pad([
        ['measurement', 'offered/s', 'completed/s', 'engine CPU s', 'per engine core/s', 'Gbit/s per core'],
        ...report.dataPlane.map((r) => [r.measurement, n(r.offeredPerSecond), n(r.completedPerSecond), n(r.engineCpuSeconds, 2), n(r.perEngineCore), n(r.gbpsPerEngineCore, 2)]),
      ]),
      '',
    );
  }
  const ok = report.scenarios.filter((s) => s.metrics);
  if (ok.length) {
    lines.push('Absolute figures (TCP in Gbit/s; latency added over the raw veth):', '');
    lines.push(pad([['pair', ...COLUMNS.map((c) => c.header)], ...ok.map((s) => [s.label, ...COLUMNS.map((c) => fmt(c, s.metrics![c.key]))])]));
    lines.push('');
  }
  const spread = ok.filter((s) => s.spread && Object.keys(s.spread).length);
  if (spread.length) {
    lines.push('Spread over the rounds (smallest–largest; the figures above are the medians):', '');
    const range = (c: Column, s: ScenarioResult) => {
      const r = s.spread?.[c.key];
      return r ? `${c.format(r[0])}–${c.format(r[1])}` : '–';
    };
    lines.push(pad([['pair', ...COLUMNS.map((c) => c.header)], ...spread.map((s) => [s.label, ...COLUMNS.map((c) => range(c, s))])]), '');
  }
  const byId = new Map(report.scenarios.map((s) => [s.id, s]));
  const pairs = [...new Set(report.ratios.map((r) => `${r.scenario}\0${r.anchor}`))];
  const ratioCols = COLUMNS.filter((c) => c.ratio);
  if (pairs.length) {
    lines.push('Ratios (×N better for the pair than its anchor; veth is the ceiling, so ÷veth is the fraction of it):', '');
    const rows = pairs.map((p) => {
      const [scenario, anchor] = p.split('\0') as [string, string];
      return [
        `${byId.get(scenario)!.label} ÷ ${byId.get(anchor)!.label}`,
        ...ratioCols.map((c) => {
          const r = report.ratios.find((x) => x.scenario === scenario && x.anchor === anchor && x.metric === c.key);
          return r ? `${r.ratio.toFixed(2)}×` : '–';
        }),
      ];
    });
    lines.push(pad([['pair ÷ anchor', ...ratioCols.map((c) => c.header)], ...rows]), '');
  }
  if (report.targets.some((t) => t.value !== null)) {
    lines.push('Targets:', '');
    const rows = report.targets.map((t) => [
      t.goal,
      t.value === null ? 'n/a' : t.value.toFixed(t.comparison === '<=' ? 3 : 2),
      `${t.comparison} ${t.threshold}`,
      t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met',
    ]);
    lines.push(pad([['target', 'value', 'goal', 'result'], ...rows]), '');
    for (const t of report.targets)
      if (t.floorMs !== undefined && t.value !== null) {
        const floor = `${t.goal}: a null relay (no cipher, the floor of a userspace tunnel) adds ${t.floorMs.toFixed(3)} ms in this run`;
        // A difference of two noisy medians can come out at or below zero: no ratio then.
        lines.push(t.floorMs > 0 ? `${floor}; this is ${(t.value / t.floorMs).toFixed(2)}× it` : `${floor} (no ratio)`);
      }
    const tunFloor = report.targets.find((t) => t.tunFloorMs !== undefined)?.tunFloorMs;
    if (tunFloor !== undefined)
      lines.push(`Any tunnel that takes its packets from a TUN: one process joining the two TUNs directly (no outer path, no cipher) adds ${tunFloor.toFixed(3)} ms in this run`);
  }
  for (const s of report.scenarios) {
    if (s.status !== 'ok') lines.push(`${s.label}: ${s.status}: ${s.reason}`);
    for (const n of s.notes) lines.push(`${s.label}: ${n}`);
  }
  return `${lines.join('\n')}\n`;
}

function fmt(c: Column, v: number | null): string {
  return v === null ? '–' : c.format(v);
}
