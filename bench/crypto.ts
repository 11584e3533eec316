// Crypto micro-benchmarks: the native addon against @noble and node:crypto for ChaCha20-Poly1305 at
// packet sizes, X25519, and a WireGuard handshake's worth of primitives; plus aeadLoop, the data-plane
// figure without a JS call per packet. Prints a table with ratios and writes
// bench/results/crypto-<date>.json with the machine it ran on.
//
// Timed by hand rather than with benny: Benchmark.js spends about two seconds calibrating each case even
// with maxTime 0.5 s, which would take the 30-odd cases here well past a minute.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { nc, nobleKdf, nobleMac16, packageRoot } from '../test/lib/crypto-helpers.js';

const SAMPLES = 5;
const SAMPLE_MS = Number(process.env.GRIDWIRE_BENCH_SAMPLE_MS ?? 120);
const SIZES = [64, 1420, 65535];
const TARGET = { size: 1420, ratio: 5 };

interface Measurement {
  opsPerSec: number;
  /** Half the spread of the samples around the median, as a fraction of it. */
  spread: number;
  samples: number;
}

// Results feed a checksum that is printed, so no call can be optimised away as dead code.
let sink = 0;
const use = (b: Uint8Array) => {
  sink = (sink + b[0]! + b.length) | 0;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function summarize(rates: number[]): Measurement {
  const m = median(rates);
  return { opsPerSec: m, spread: (Math.max(...rates) - Math.min(...rates)) / 2 / m, samples: rates.length };
}

/** Calls fn in batches sized to SAMPLE_MS after a warm-up, and reports the median rate. */
function measure(fn: () => void): Measurement {
  // The first calls run in the interpreter; give the JIT a full sample's time before calibrating.
  for (const t0 = performance.now(); performance.now() - t0 < SAMPLE_MS; ) fn();
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= SAMPLE_MS / 4) {
      batch = Math.max(1, Math.round((batch * SAMPLE_MS) / dt));
      break;
    }
    batch *= 2;
  }
  const rates: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    rates.push((batch * 1000) / (performance.now() - t0));
  }
  return summarize(rates);
}

/** aeadLoop times itself in native code; only the iteration count is calibrated here. */
function measureAeadLoop(key: Uint8Array, size: number, open: 0 | 1): Measurement {
  let iterations = 16;
  for (;;) {
    const ns = nc.aeadLoop(key, size, iterations, open);
    if (ns >= (SAMPLE_MS * 1e6) / 4) {
      iterations = Math.max(1, Math.round((iterations * SAMPLE_MS * 1e6) / ns));
      break;
    }
    iterations *= 2;
  }
  const rates: number[] = [];
  for (let s = 0; s < SAMPLES; s++) rates.push((iterations * 1e9) / nc.aeadLoop(key, size, iterations, open));
  return summarize(rates);
}

type Impl = 'native' | 'noble' | 'node' | 'native aeadLoop';
interface Row {
  group: string;
  operation: string;
  size?: number;
  unit: 'Gbit/s' | 'ops/s';
  results: Partial<Record<Impl, Measurement & { value: number }>>;
}

const rows: Row[] = [];
function record(row: Omit<Row, 'results'>, impl: Impl, m: Measurement): void {
  let r = rows.find((x) => x.group === row.group && x.operation === row.operation && x.size === row.size);
  if (!r) rows.push((r = { ...row, results: {} }));
  const value = row.unit === 'Gbit/s' ? (m.opsPerSec * row.size! * 8) / 1e9 : m.opsPerSec;
  r.results[impl] = { ...m, value };
  const spread = `±${(m.spread * 100).toFixed(0)}%`;
  process.stderr.write(`  ${row.operation}${row.size ? ` ${row.size} B` : ''} ${impl}: ${fmt(value)} ${row.unit} ${spread}\n`);
}

function fmt(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

// ---------------------------------------------------------------------------------------------------
// ChaCha20-Poly1305

function benchAead(): void {
  const key = nc.randomBytes(32);
  const nonce = nc.randomBytes(12);
  const empty = new Uint8Array(0);
  for (const size of SIZES) {
    process.stderr.write(`ChaCha20-Poly1305, ${size} bytes\n`);
    const pt = nc.randomBytes(size);
    const sealed = nc.chachaSeal(key, nonce, empty, pt);
    const ct = sealed.subarray(0, size);
    const tag = sealed.subarray(size);
    const seal = { group: 'ChaCha20-Poly1305', operation: 'seal', size, unit: 'Gbit/s' } as const;
    const open = { ...seal, operation: 'open' } as const;

    record(seal, 'native', measure(() => use(nc.chachaSeal(key, nonce, empty, pt))));
    record(seal, 'noble', measure(() => use(chacha20poly1305(key, nonce).encrypt(pt))));
    record(
      seal,
      'node',
      measure(() => {
        const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        use(c.update(pt));
        c.final();
        use(c.getAuthTag());
      }),
    );
    record(seal, 'native aeadLoop', measureAeadLoop(key, size, 0));

    record(open, 'native', measure(() => use(nc.chachaOpen(key, nonce, empty, sealed))));
    record(open, 'noble', measure(() => use(chacha20poly1305(key, nonce).decrypt(sealed))));
    record(
      open,
      'node',
      measure(() => {
        const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        d.setAuthTag(tag);
        use(d.update(ct));
        d.final();
      }),
    );
    record(open, 'native aeadLoop', measureAeadLoop(key, size, 1));
  }
}

// ---------------------------------------------------------------------------------------------------
// X25519 and a handshake's worth of work

/** node:crypto wants KeyObjects; building them from raw bytes goes through a PKCS#8/SPKI DER prefix. */
function x25519KeyObjects(priv: Uint8Array, pub: Uint8Array): { privateKey: KeyObject; publicKey: KeyObject } {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), priv]);
  const spki = Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), pub]);
  return {
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
  };
}

function benchX25519(): void {
  process.stderr.write('X25519\n');
  const a = nc.randomBytes(32);
  const bPub = nc.x25519Public(nc.randomBytes(32));
  const keys = x25519KeyObjects(a, bPub);
  const shared = nc.x25519(a, bPub);
  if (Buffer.compare(diffieHellman(keys), shared) !== 0) {
    throw new Error('node:crypto X25519 disagrees with the addon: the KeyObject import is wrong');
  }
  const dh = { group: 'X25519', operation: 'shared secret (DH)', unit: 'ops/s' } as const;
  record(dh, 'native', measure(() => use(nc.x25519(a, bPub))));
  record(dh, 'noble', measure(() => use(x25519.getSharedSecret(a, bPub))));
  // node:crypto gets KeyObjects built once, as a caller holding long-lived keys would; the addon takes raw
  // bytes and imports both keys on every call.
  record(dh, 'node', measure(() => use(diffieHellman(keys))));
  const pub = { group: 'X25519', operation: 'public key (keygen)', unit: 'ops/s' } as const;
  record(pub, 'native', measure(() => use(nc.x25519Public(a))));
  record(pub, 'noble', measure(() => use(x25519.getPublicKey(a))));
}

/**
 * What one WireGuard handshake (initiation + response) costs in primitives, from fixed keys: 2 ephemeral
 * public keys, the 4 DHs (es, ss, ee, se), the 8 KDFs (4×KDF1, 3×KDF2, 1×KDF3), 3 AEAD seals (static
 * key 32 B, timestamp 12 B, empty), 6 transcript hashes over 64 bytes and the 2 mac1s (116 and 60 bytes).
 */
const HANDSHAKE_MIX = { keygen: 2, dh: 4, kdf1: 4, kdf2: 3, kdf3: 1, aeadSeal: 3, hash: 6, mac1: 2 };

interface Primitives {
  pub(priv: Uint8Array): Uint8Array;
  dh(priv: Uint8Array, pub: Uint8Array): Uint8Array;
  kdf(ck: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[];
  seal(key: Uint8Array, ad: Uint8Array, pt: Uint8Array): Uint8Array;
  hash(data: Uint8Array): Uint8Array;
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
}

interface HandshakeKeys {
  si: Uint8Array;
  ei: Uint8Array;
  er: Uint8Array;
  SI: Uint8Array;
  SR: Uint8Array;
}

function handshake(p: Primitives, k: HandshakeKeys): void {
  const h64 = new Uint8Array(64);
  const Ei = p.pub(k.ei);
  const Er = p.pub(k.er);
  let ck = p.kdf(h64.subarray(0, 32), Ei, 1)[0]!;
  let h = p.hash(h64);
  let [c2, key] = p.kdf(ck, p.dh(k.ei, k.SR), 2) as [Uint8Array, Uint8Array];
  use(p.seal(key, h, k.SI));
  h = p.hash(h64);
  [ck, key] = p.kdf(c2, p.dh(k.si, k.SR), 2) as [Uint8Array, Uint8Array];
  use(p.seal(key, h, new Uint8Array(12)));
  h = p.hash(h64);
  use(p.mac(h, new Uint8Array(116)));
  ck = p.kdf(ck, Er, 1)[0]!;
  h = p.hash(h64);
  ck = p.kdf(ck, p.dh(k.er, Ei), 1)[0]!;
  ck = p.kdf(ck, p.dh(k.er, k.SI), 1)[0]!;
  const [c7, , kEmpty] = p.kdf(ck, h64.subarray(0, 32), 3) as [Uint8Array, Uint8Array, Uint8Array];
  h = p.hash(h64);
  use(p.seal(kEmpty, h, new Uint8Array(0)));
  h = p.hash(h64);
  use(p.mac(h, new Uint8Array(60)));
  for (const t of p.kdf(c7, new Uint8Array(0), 2)) use(t);
}

function benchHandshake(): void {
  process.stderr.write('Handshake-sized set of operations\n');
  const [si, sr, ei, er] = [0, 1, 2, 3].map(() => nc.randomBytes(32)) as [Buffer, Buffer, Buffer, Buffer];
  const keys: HandshakeKeys = { si, ei, er, SI: nc.x25519Public(si), SR: nc.x25519Public(sr) };
  const zero12 = new Uint8Array(12);
  const native: Primitives = {
    pub: nc.x25519Public,
    dh: nc.x25519,
    kdf: nc.kdf,
    seal: (key, ad, pt) => nc.chachaSeal(key, zero12, ad, pt),
    hash: nc.blake2s,
    mac: nc.blake2sMac,
  };
  const noble: Primitives = {
    pub: x25519.getPublicKey,
    dh: x25519.getSharedSecret,
    kdf: nobleKdf,
    seal: (key, ad, pt) => chacha20poly1305(key, zero12, ad).encrypt(pt),
    hash: (d) => blake2s(d),
    mac: nobleMac16,
  };
  const row = { group: 'Handshake', operation: 'handshake-sized sets', unit: 'ops/s' } as const;
  record(row, 'native', measure(() => handshake(native, keys)));
  record(row, 'noble', measure(() => handshake(noble, keys)));
}

// ---------------------------------------------------------------------------------------------------

function ratio(a?: { value: number }, b?: { value: number }): string {
  return a && b ? `${(a.value / b.value).toFixed(1)}×` : '–';
}

function table(): string {
  const head = ['case', 'unit', 'native', '@noble', 'node:crypto', 'native aeadLoop'];
  head.push('native/@noble', 'native/node', 'aeadLoop/@noble');
  const body = rows.map((r) => {
    const v = (i: Impl) => (r.results[i] ? fmt(r.results[i]!.value) : '–');
    return [
      `${r.group} ${r.operation}${r.size ? ` ${r.size} B` : ''}`,
      r.unit,
      v('native'),
      v('noble'),
      v('node'),
      v('native aeadLoop'),
      ratio(r.results.native, r.results.noble),
      ratio(r.results.native, r.results.node),
      ratio(r.results['native aeadLoop'], r.results.noble),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  // Markdown: the case column left-aligned, numbers right-aligned.
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...body.map(line)].join('\n');
}

function main(): void {
  const started = new Date();
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    nproc: os.availableParallelism(),
    node: process.version,
    openssl: process.versions.openssl,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  const { cpu, nproc, node, openssl, loadavgAtStart } = machine;
  process.stderr.write(`gridwire crypto bench: ${cpu}, ${nproc} CPUs, node ${node}, OpenSSL ${openssl}, load ${loadavgAtStart.join(' ')}\n`);
  const t0 = performance.now();
  benchAead();
  benchX25519();
  benchHandshake();
  const seconds = (performance.now() - t0) / 1000;

  // Both directions must meet the target, so the weaker one is what counts.
  const achieved = Math.min(
    ...rows
      .filter((r) => r.group === 'ChaCha20-Poly1305' && r.size === TARGET.size)
      .map((r) => r.results.native!.value / r.results.noble!.value),
  );
  const pass = achieved >= TARGET.ratio;
  const verdict =
    `acceptance: native ChaCha20-Poly1305 at ${TARGET.size} B = ${achieved.toFixed(1)}× @noble, lower of seal/open ` +
    `(target ≥ ${TARGET.ratio}×): ${pass ? 'PASS' : 'FAIL'}`;

  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `crypto-${started.toISOString().slice(0, 10)}.json`);
  const json = {
    date: started.toISOString(),
    machine: { ...machine, loadavgAtEnd: os.loadavg().map((x) => Number(x.toFixed(2))) },
    method: { samples: SAMPLES, sampleMs: SAMPLE_MS, statistic: 'median of samples; spread = (max - min) / 2 / median' },
    handshakeMix: HANDSHAKE_MIX,
    acceptance: { ...TARGET, achieved, pass },
    durationSeconds: seconds,
    rows: rows.map((r) => {
      const over = (a: Impl, b: Impl) => (r.results[a] && r.results[b] ? r.results[a]!.value / r.results[b]!.value : null);
      return {
        ...r,
        ratios: {
          nativeOverNoble: over('native', 'noble'),
          nativeOverNode: over('native', 'node'),
          aeadLoopOverNoble: over('native aeadLoop', 'noble'),
        },
      };
    }),
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');

  console.log(table());
  console.log(`\n${verdict}`);
  console.log(`${seconds.toFixed(1)} s; results in ${file} (checksum ${sink})`);
}

main();
