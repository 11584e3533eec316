// What one Poly1305 tag costs through each route poly1305() can take (native/crypto/poly1305.h), by
// message size, with warm and cold caches: the figures behind its choice of route. Timed in native code
// (nc.poly1305Cost), since OpenSSL's exported core exists only inside the node binary. Cold means a
// buffer written between calls: 2 MiB pushes code and data out of L1/L2 (as a packet's other work
// might), 64 MiB out of every cache and the TLBs (a lone packet after idle). Prints a markdown table of
// medians and 90th percentiles in nanoseconds, each route's median also as a ratio to the portable
// code's in the same run. Run: npm run build:test && node build/ts/bench/poly1305.js
import os from 'node:os';
import { nc } from '../test/lib/crypto-helpers.js';

const SIZES = [32, 64, 128, 256, 511, 512, 1024, 1500, 16384, 65536];
const STATES = [
  { name: 'warm', evict: 0, samples: 300, calls: 64 },
  { name: 'L2 cold', evict: 2 << 20, samples: 300, calls: 1 },
  { name: 'cold', evict: 64 << 20, samples: 90, calls: 1 },
];
const ROUTES = [
  { name: 'portable', id: 1 },
  { name: 'exported', id: 2 },
  { name: 'EVP_MAC', id: 3 },
  { name: 'clock', id: 4 },
] as const;
const ROUNDS = 3; // the routes take turns, so a burst of load falls on all of them

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

const [cpu, load] = [os.cpus()[0]?.model ?? 'unknown', os.loadavg().map((x) => x.toFixed(1)).join(' ')];
console.log(`Poly1305 ns per tag: ${cpu}, ${os.availableParallelism()} CPUs, node ${process.version}, load ${load}\n`);
console.log(`| size | caches | ${ROUTES.map((r) => `${r.name} median (p90)`).join(' | ')} | exported / portable | EVP_MAC / portable |`);
console.log(`|---:|:---|${ROUTES.map(() => '---:').join('|')}|---:|---:|`);
for (const st of STATES) {
  for (const size of SIZES) {
    const ns = ROUTES.map((): number[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      ROUTES.forEach((r, i) => ns[i]!.push(...nc.poly1305Cost(r.id, size, st.evict, Math.ceil(st.samples / ROUNDS), st.calls)));
    }
    const med = ns.map((x) => quantile(x, 0.5));
    const cells = ns.map((x, i) => `${med[i]!.toFixed(0)} (${quantile(x, 0.9).toFixed(0)})`);
    console.log(`| ${size} | ${st.name} | ${cells.join(' | ')} | ${(med[1]! / med[0]!).toFixed(2)} | ${(med[2]! / med[0]!).toFixed(2)} |`);
  }
}
console.log(`\nload at end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
