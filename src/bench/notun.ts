// `gridwire bench --no-tun`: the data plane alone, no root needed. Two engines without a TUN in this
// process, peered over loopback UDP: engine a's transmit path is fed synthetic IPv4/UDP packets by its
// bench injector (native, on a worker thread: allowed-IPs, encryption, sendmmsg, as its TUN reader
// would), and engine b receives them (recvmmsg, decryption, replay and source checks, counted
// delivery). Then b alone answers an initiation flood from a synthetic initiator on the JavaScript
// thread (noise.ts). Figures per engine core: work done ÷ CPU seconds of every thread of this process
// but the main one (both engines and the injector).
import { native, type NativeWgEngine } from '../native/binding.js';
import { generatePrivateKey, publicKey } from '../keys/index.js';
import { floodKeys, handshakeFlood } from './flood.js';
import { loadAverage, nonMainThreadCpuSeconds } from './proc.js';
import { Progress } from './progress.js';
import { engineSwitches, machineInfo, type BenchReport } from './report.js';

export interface DataPlaneRow {
  measurement: string;
  /** What was offered per second: packets injected at a, or initiations sent. */
  offeredPerSecond: number | null;
  /** What the receiving engine completed per second: packets delivered, or handshake responses. */
  completedPerSecond: number;
  engineCpuSeconds: number;
  /** completed ÷ engine CPU seconds. */
  perEngineCore: number;
  /** For packet rows: inner-packet Gbit/s one engine core sustains at this rate. */
  gbpsPerEngineCore: number | null;
  /** Smallest and largest completed/s over the rounds (the row holds the round with the median). */
  spread?: [number, number];
}

const SRC = Uint8Array.of(10, 0, 0, 1);
const DST = Uint8Array.of(10, 0, 0, 2);
const FLOOD_KEYS = 512;
const MTU = 1420;
const SETTLE_MS = 150;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

/** An engine without a TUN on an ephemeral loopback port, with `peers` configured. */
function engine(privateKey: Uint8Array, peers: Parameters<NativeWgEngine['configure']>[0]['peers'] = []): NativeWgEngine {
  const e = new native.WgEngine({ mtu: MTU, onEvent: () => undefined });
  e.configure({ privateKey, listenPort: 0, replacePeers: false, peers });
  return e;
}

const peer = (key: Uint8Array, port: number, own: Uint8Array) => ({
  publicKey: publicKey(key),
  remove: false,
  updateOnly: false,
  endpoint: `127.0.0.1:${port}`,
  replaceAllowedIps: true,
  addAllowedIps: [{ address: own, bits: 32 }],
  removeAllowedIps: [],
});

/** a injects into its transmit path for `seconds`; b counts what it delivers. */
async function transmitReceive(payload: number, seconds: number): Promise<DataPlaneRow> {
  const keys = { a: generatePrivateKey(), b: generatePrivateKey() };
  const b = engine(keys.b);
  const a = engine(keys.a, [peer(keys.b, b.listenPort(), DST)]);
  try {
    b.configure({ replacePeers: false, peers: [peer(keys.a, a.listenPort(), SRC)] });
    const delivered = () => b.counters()['delivered_without_tun'] ?? 0;
    // The first packets wait for the handshake: run until b delivers before measuring.
    for (let i = 0; delivered() === 0; i++) {
      if (i === 50) throw new Error(`engine b delivered nothing: a ${JSON.stringify(a.counters())}, b ${JSON.stringify(b.counters())}`);
      await a.inject(SRC, DST, payload, 0.02);
      await settle();
    }
    const [n0, cpu0, t0] = [delivered(), nonMainThreadCpuSeconds(), performance.now()];
    const sent = await a.inject(SRC, DST, payload, seconds);
    await settle();
    const [n, cpu, elapsed] = [delivered() - n0, nonMainThreadCpuSeconds() - cpu0, (performance.now() - t0 - SETTLE_MS) / 1000];
    const perCore = n / cpu;
    return {
      measurement: `a → b, ${payload + 28}-byte IPv4/UDP packets (encrypt, loopback UDP, decrypt)`,
      offeredPerSecond: sent.packets / seconds,
      completedPerSecond: n / elapsed,
      engineCpuSeconds: cpu,
      perEngineCore: perCore,
      gbpsPerEngineCore: (perCore * (payload + 28) * 8) / 1e9,
    };
  } finally {
    a.close();
    b.close();
  }
}

async function handshakes(seconds: number): Promise<DataPlaneRow> {
  const keys = floodKeys(native.crypto.randomBytes(16), FLOOD_KEYS);
  const responderKey = generatePrivateKey();
  const b = engine(responderKey, keys.map((k) => ({ publicKey: publicKey(k), remove: false, updateOnly: false, replaceAllowedIps: false, addAllowedIps: [], removeAllowedIps: [] })));
  try {
    const cpu0 = nonMainThreadCpuSeconds();
    const h = await handshakeFlood('127.0.0.1', b.listenPort(), publicKey(responderKey), keys, seconds);
    const cpu = nonMainThreadCpuSeconds() - cpu0;
    return {
      measurement: `handshake responses to an initiation flood from ${FLOOD_KEYS} peers`,
      offeredPerSecond: h.sent / h.seconds,
      completedPerSecond: h.answered / h.seconds,
      engineCpuSeconds: cpu,
      perEngineCore: h.answered / cpu,
      gbpsPerEngineCore: null,
    };
  } finally {
    b.close();
  }
}

function aeadCeiling(): DataPlaneRow {
  const iterations = 200_000;
  const ns = native.crypto.aeadLoop(native.crypto.randomBytes(32), 1420, iterations, 1);
  return {
    measurement: 'ChaCha20-Poly1305 open of 1420 bytes, no I/O (the crypto ceiling)',
    offeredPerSecond: null,
    completedPerSecond: (iterations * 1e9) / ns,
    engineCpuSeconds: ns / 1e9,
    perEngineCore: (iterations * 1e9) / ns,
    gbpsPerEngineCore: (iterations * 1420 * 8) / ns,
  };
}

/** The round whose per-core figure is the median, with the spread of completed/s over the rounds. */
function medianRow(rounds: DataPlaneRow[]): DataPlaneRow {
  const sorted = [...rounds].sort((x, y) => x.perEngineCore - y.perEngineCore);
  const done = rounds.map((r) => r.completedPerSecond);
  return { ...sorted[(sorted.length - 1) >> 1]!, ...(rounds.length > 1 && { spread: [Math.min(...done), Math.max(...done)] as [number, number] }) };
}

export async function runNoTun(seconds: number, repeat = 1): Promise<BenchReport> {
  const load1Before = loadAverage();
  const measurements: Array<[string, () => Promise<DataPlaneRow> | DataPlaneRow]> = [
    ['64-byte payloads, engine a → engine b', () => transmitReceive(64, seconds)],
    [`${MTU - 28}-byte payloads, engine a → engine b`, () => transmitReceive(MTU - 28, seconds)],
    [`handshakes: initiation flood from ${FLOOD_KEYS} peers`, () => handshakes(seconds)],
    ['ChaCha20-Poly1305 alone', aeadCeiling],
  ];
  const progress = new Progress(repeat * measurements.length);
  const rounds: DataPlaneRow[][] = measurements.map(() => []);
  for (let round = 1; round <= repeat; round++) {
    for (const [i, [what, run]] of measurements.entries()) {
      progress.step(repeat > 1 ? `round ${round}/${repeat} no-tun` : 'no-tun', what);
      rounds[i]!.push(await run());
    }
  }
  progress.finish();
  return {
    tool: 'gridwire bench',
    mode: 'no-tun',
    date: new Date().toISOString(),
    machine: machineInfo(load1Before, loadAverage()),
    settings: {
      duration: `${seconds} s per measurement`,
      rounds: `${repeat} (each row is the round with the median per-core figure)`,
      transport: 'loopback UDP between two engines without a TUN in this process; a synthetic initiator for handshakes',
      'engine switches': engineSwitches(),
    },
    scenarios: [],
    ratios: [],
    targets: [],
    dataPlane: rounds.map(medianRow),
  };
}
