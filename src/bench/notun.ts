// `gridwire bench --no-tun`: the data plane alone, no root needed. One engine without a TUN listens on
// loopback UDP; this process is its peer, a synthetic WireGuard initiator (noise.ts) that handshakes
// with it and then sends sealed transport packets, or floods it with initiations. An engine without a
// TUN has no transmit path (its tx loop reads the TUN), so the engine's receive side is what is measured:
// decrypt, replay check, allowed-IPs source check, counted delivery. The synthetic peer runs on the
// JavaScript thread and is usually the bottleneck, so the figures that matter are per engine core: work
// done ÷ CPU seconds of the engine's threads (every thread of this process but the main one).
import { native } from '../native/binding.js';
import { generatePrivateKey, publicKey } from '../keys/index.js';
import { WireGuardDevice } from '../wireguard/device.js';
import { floodKeys, handshakeFlood, syntheticPeer, transportFlood } from './flood.js';
import { loadAverage, nonMainThreadCpuSeconds } from './proc.js';
import { Progress } from './progress.js';
import { machineInfo, type BenchReport } from './report.js';

export interface DataPlaneRow {
  measurement: string;
  /** What the synthetic peer sent per second. */
  offeredPerSecond: number | null;
  /** What the engine completed per second: packets delivered, or handshake responses. */
  completedPerSecond: number;
  engineCpuSeconds: number;
  /** completed ÷ engine CPU seconds. */
  perEngineCore: number;
  /** For packet rows: inner-packet Gbit/s one engine core sustains at this rate. */
  gbpsPerEngineCore: number | null;
}

const SRC = '10.0.0.1';
const DST = '10.0.0.2';
const FLOOD_KEYS = 512;
const settle = () => new Promise((r) => setTimeout(r, 150));

export async function runNoTun(seconds: number): Promise<BenchReport> {
  const load1Before = loadAverage();
  const progress = new Progress(4);
  const key = generatePrivateKey();
  const engine = WireGuardDevice.create({ privateKey: generatePrivateKey(), listenPort: 0, peers: [{ publicKey: publicKey(key), allowedIps: [`${SRC}/32`] }] });
  const rows: DataPlaneRow[] = [];
  try {
    const responderPublic = Buffer.from(engine.publicKey!, 'base64');
    const port = engine.listenPort;
    const peer = await syntheticPeer('127.0.0.1', port, responderPublic, key);
    try {
      for (const payload of [64, 1392]) {
        progress.step('no-tun', `${payload}-byte UDP payloads through the engine's receive path`);
        const delivered = () => engine.counters()['delivered_without_tun'] ?? 0;
        const [n0, cpu0] = [delivered(), nonMainThreadCpuSeconds()];
        const sent = await transportFlood(peer, SRC, DST, payload, seconds);
        await settle();
        const [n, cpu] = [delivered() - n0, nonMainThreadCpuSeconds() - cpu0];
        if (n === 0) throw new Error(`the engine delivered none of ${sent.sent} packets: ${JSON.stringify(engine.counters())}`);
        const perCore = n / cpu;
        rows.push({
          measurement: `receive ${payload + 28}-byte IPv4/UDP packets`,
          offeredPerSecond: sent.sent / sent.seconds,
          completedPerSecond: n / sent.seconds,
          engineCpuSeconds: cpu,
          perEngineCore: perCore,
          gbpsPerEngineCore: (perCore * (payload + 28) * 8) / 1e9,
        });
      }
    } finally {
      peer.socket.close();
    }
    progress.step('no-tun', `handshakes: initiation flood from ${FLOOD_KEYS} peers`);
    const keys = floodKeys(native.crypto.randomBytes(16), FLOOD_KEYS);
    engine.apply({ replacePeers: false, peers: keys.map((k) => ({ publicKey: publicKey(k), remove: false, updateOnly: false, replaceAllowedIps: false, addAllowedIps: [], removeAllowedIps: [] })) });
    const cpu0 = nonMainThreadCpuSeconds();
    const h = await handshakeFlood('127.0.0.1', port, responderPublic, keys, seconds);
    const cpu = nonMainThreadCpuSeconds() - cpu0;
    rows.push({
      measurement: 'handshake responses (initiation consumed, response created)',
      offeredPerSecond: h.sent / h.seconds,
      completedPerSecond: h.answered / h.seconds,
      engineCpuSeconds: cpu,
      perEngineCore: h.answered / cpu,
      gbpsPerEngineCore: null,
    });
  } finally {
    engine.close();
  }
  progress.step('no-tun', 'ChaCha20-Poly1305 alone (the crypto ceiling)');
  const iterations = 200_000;
  const ns = native.crypto.aeadLoop(native.crypto.randomBytes(32), 1420, iterations, 1);
  rows.push({
    measurement: 'ChaCha20-Poly1305 open of 1420 bytes, no I/O',
    offeredPerSecond: null,
    completedPerSecond: (iterations * 1e9) / ns,
    engineCpuSeconds: ns / 1e9,
    perEngineCore: (iterations * 1e9) / ns,
    gbpsPerEngineCore: (iterations * 1420 * 8) / ns,
  });
  progress.finish();
  return {
    tool: 'gridwire bench',
    mode: 'no-tun',
    date: new Date().toISOString(),
    machine: machineInfo(load1Before, loadAverage()),
    settings: { duration: `${seconds} s per measurement`, transport: 'loopback UDP, one engine without a TUN, synthetic peer in this process' },
    scenarios: [],
    ratios: [],
    targets: [],
    dataPlane: rows,
  };
}
