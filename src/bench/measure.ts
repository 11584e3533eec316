// The measurements of one tunnel, a in namespace a sending to b: iperf3 TCP and UDP, ping, and the
// engines' CPU over a run from /proc. The same commands for every scenario, veth included.
import type { Lab } from '../netns/lab.js';
import { cpuSeconds, machineBusySeconds } from './proc.js';

export interface TcpResult {
  gbps: number;
  retransmits: number;
  /** CPU seconds of the engine processes (both ends) over the run; 0 for veth. */
  engineCpu: number;
  /** Busy CPU seconds of the whole machine over the run (iperf3 and the kernel included). */
  machineCpu: number;
  gigabits: number;
}

export interface UdpResult {
  /** Datagrams that arrived, per second. */
  pps: number;
  lossPercent: number;
}

export interface PingResult {
  p50Ms: number;
  p99Ms: number;
  count: number;
}

/** One iperf3 run from a to b with a one-shot server in b; CPU is sampled around the client only. */
async function iperf(lab: Lab, dst: string, args: string[], seconds: number, pids: number[]): Promise<{ json: any; engineCpu: number; machineCpu: number }> {
  const server = lab.spawn('b', ['iperf3', '-s', '-1', '-B', dst, '--forceflush']);
  await server.waitForOutput(/Server listening/, 5000);
  const cpu0 = cpuSeconds(pids);
  const busy0 = machineBusySeconds();
  const r = await lab.exec('a', ['iperf3', '-c', dst, '-t', String(seconds), '-J', ...args], { timeoutMs: seconds * 1000 + 20_000 });
  const engineCpu = cpuSeconds(pids) - cpu0;
  const machineCpu = machineBusySeconds() - busy0;
  await server.kill();
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`iperf3 ${args.join(' ')} to ${dst} printed no JSON: ${r.stderr.trim() || r.stdout.slice(0, 200)}`);
  }
  if (json.error) throw new Error(`iperf3 ${args.join(' ')} to ${dst}: ${json.error}`);
  return { json, engineCpu, machineCpu };
}

export async function tcp(lab: Lab, dst: string, opts: { streams: number; reverse: boolean; seconds: number; pids: number[] }): Promise<TcpResult> {
  const args = [...(opts.streams > 1 ? ['-P', String(opts.streams)] : []), ...(opts.reverse ? ['-R'] : [])];
  const { json, engineCpu, machineCpu } = await iperf(lab, dst, args, opts.seconds, opts.pids);
  const received = json.end.sum_received;
  return {
    gbps: received.bits_per_second / 1e9,
    retransmits: json.end.sum_sent.retransmits ?? 0,
    engineCpu,
    machineCpu,
    gigabits: (received.bytes * 8) / 1e9,
  };
}

/** 64-byte UDP payloads, unlimited rate; iperf3 is single-threaded, so the veth row is the tool's ceiling. */
export async function udp64(lab: Lab, dst: string, seconds: number): Promise<UdpResult> {
  const { json } = await iperf(lab, dst, ['-u', '-b', '0', '-l', '64'], seconds, []);
  const sum = json.end.sum;
  const arrived = sum.packets - sum.lost_packets;
  return { pps: arrived / sum.seconds, lossPercent: sum.lost_percent };
}

/** Round trips of `count` pings 5 ms apart (root allows intervals under 200 ms). */
export async function ping(lab: Lab, dst: string, count: number): Promise<PingResult> {
  const r = await lab.exec('a', ['ping', '-n', '-c', String(count), '-i', '0.005', '-W', '1', dst], { timeoutMs: count * 10 + 10_000 });
  const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
  if (rtts.length === 0) throw new Error(`ping ${dst}: no replies\n${r.stdout.slice(-300)}${r.stderr}`);
  const pct = (q: number) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]!;
  return { p50Ms: pct(0.5), p99Ms: pct(0.99), count: rtts.length };
}
