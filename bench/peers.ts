// Memory per idle WireGuard peer: one WireGuardDevice without a TUN (no root needed) gets up to 100,000
// peers (public key, endpoint, one /32 allowed IP, no traffic) through the embedding API, in batches; the
// process RSS is read after each step, with the JS heap collected first so the figure is the engine's.
// Target (issue item 4): ≤ 2 KiB per idle peer at 100,000 peers.
//   npx tsc -p tsconfig.test.json && node build/ts/bench/peers.js [--peers 100000] [--json]
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from '../src/native/binding.js';
import { generatePrivateKey } from '../src/keys/index.js';
import { rss } from '../src/bench/proc.js';
import { parsePrefix } from '../src/net/prefix.js';
import type { DeviceChange, PeerChange } from '../src/wireguard/uapi.js';
import { WireGuardDevice } from '../src/wireguard/device.js';

const TARGET_BYTES = 2048;
const BATCH = 1000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settled(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: rss('self'), heap: m.heapUsed + m.external + m.arrayBuffers };
}

/** One atomic change adding `count` peers: the UAPI `set` path, as `wg setconf` would send it. */
function batch(first: number, count: number): DeviceChange {
  const peers = Array.from({ length: count }, (_, j): PeerChange => {
    const i = first + j;
    return {
      publicKey: native.crypto.randomBytes(32),
      remove: false,
      updateOnly: false,
      endpoint: `192.0.2.${1 + (i % 250)}:51820`,
      replaceAllowedIps: true,
      addAllowedIps: [parsePrefix(`10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}/32`)!],
      removeAllowedIps: [],
    };
  });
  return { replacePeers: false, peers };
}

function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx ? sxy / sxx : 0;
}

function main(argv: string[]): void {
  const json = argv.includes('--json');
  const at = argv.indexOf('--peers');
  const total = at >= 0 ? Number(argv[at + 1]) : 100_000;
  if (!(Number.isInteger(total) && total >= BATCH)) throw new Error(`--peers must be an integer ≥ ${BATCH}`);
  const steps = [...new Set([BATCH, total / 100, total / 10, total / 4, total / 2, (3 * total) / 4, total].map((s) => Math.max(BATCH, Math.round(s / BATCH) * BATCH)))].sort((a, b) => a - b);

  const dev = WireGuardDevice.create({ privateKey: generatePrivateKey(), listenPort: 0 });
  const base = settled();
  const rows: Array<{ peers: number; rssBytes: number; jsBytes: number; rssPerPeer: number; secondsToAdd: number }> = [];
  const points: Array<[number, number]> = [[0, base.rss]];
  let added = 0;
  try {
    for (const step of steps) {
      const t0 = performance.now();
      for (; added < step; added += BATCH) dev.apply(batch(added, BATCH));
      const secondsToAdd = (performance.now() - t0) / 1000;
      const now = settled();
      rows.push({ peers: added, rssBytes: now.rss, jsBytes: now.heap - base.heap, rssPerPeer: (now.rss - base.rss) / added, secondsToAdd });
      points.push([added, now.rss]);
      if (!json) process.stderr.write(`${added} peers: RSS +${((now.rss - base.rss) / 2 ** 20).toFixed(1)} MiB\n`);
    }
    if (dev.peers().length !== total) throw new Error(`the device reports ${dev.peers().length} peers, not ${total}`);
  } finally {
    dev.close();
  }
  const last = rows[rows.length - 1]!;
  const result = {
    peers: total,
    baseRssBytes: base.rss,
    bytesPerPeer: last.rssPerPeer,
    slopeBytesPerPeer: slope(points),
    targetBytesPerPeer: TARGET_BYTES,
    met: last.rssPerPeer <= TARGET_BYTES,
    steps: rows,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
    `| peers | RSS MiB | RSS growth per peer (B) | JS heap growth (MiB) | s to add the step |`,
    `|------:|--------:|------------------------:|---------------------:|------------------:|`,
    ...rows.map((r) => `| ${r.peers} | ${(r.rssBytes / 2 ** 20).toFixed(1)} | ${r.rssPerPeer.toFixed(0)} | ${(r.jsBytes / 2 ** 20).toFixed(1)} | ${r.secondsToAdd.toFixed(2)} |`),
    '',
    `${total} idle peers: ${result.bytesPerPeer.toFixed(0)} B per peer of RSS growth (linear fit ${result.slopeBytesPerPeer.toFixed(0)} B); target ≤ ${TARGET_BYTES} B: ${result.met ? 'met' : 'NOT met'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2));
