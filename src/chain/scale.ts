// SCALE, the codec of Substrate storage values. The reader is strict the way parity-scale-codec is
// (canonical compact integers, booleans 0/1, known enum tags, bounded vectors) and adds one check of its
// own: a value must use every byte, because a layout that drifted from the runtime's shows up as
// trailing or missing bytes long before it shows up as an implausible field.
import { bytesToHex } from '@noble/hashes/utils.js';

export class ScaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaleError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ScaleReader {
  private at = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** Names the value in error messages, e.g. `Twins(7)`. */
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(field: string, problem: string): never {
    throw new ScaleError(`${this.what}: ${field}: ${problem} at byte ${this.at} of ${this.bytes.length}`);
  }

  private take(n: number, field: string): number {
    if (this.at + n > this.bytes.length) this.fail(field, `value truncated (${n} bytes needed)`);
    const start = this.at;
    this.at += n;
    return start;
  }

  u8(field: string): number {
    return this.bytes[this.take(1, field)]!;
  }
  u16(field: string): number {
    return this.view.getUint16(this.take(2, field), true);
  }
  u32(field: string): number {
    return this.view.getUint32(this.take(4, field), true);
  }
  u64(field: string): bigint {
    return this.view.getBigUint64(this.take(8, field), true);
  }

  /** A u64 that is used as an id and must fit a JS number. */
  u64Number(field: string): number {
    const value = this.u64(field);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(field, `${value} is too large`);
    return Number(value);
  }

  bool(field: string): boolean {
    const b = this.u8(field);
    if (b > 1) this.fail(field, `boolean byte is ${b}`);
    return b === 1;
  }

  compact(field: string): bigint {
    const b0 = this.u8(field);
    switch (b0 & 3) {
      case 0:
        return BigInt(b0 >> 2);
      case 1: {
        this.at--;
        const v = this.u16(field) >> 2;
        if (v < 1 << 6) this.fail(field, 'non-canonical compact integer');
        return BigInt(v);
      }
      case 2: {
        this.at--;
        const v = this.u32(field) >>> 2;
        if (v < 1 << 14) this.fail(field, 'non-canonical compact integer');
        return BigInt(v);
      }
      default: {
        const n = (b0 >> 2) + 4;
        let v = 0n;
        const start = this.take(n, field);
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[start + i]!);
        if (v < 1n << 30n || v >> BigInt(8 * (n - 1)) === 0n) this.fail(field, 'non-canonical compact integer');
        return v;
      }
    }
  }

  /** A compact length prefix, checked against the bound and against the bytes left. */
  length(field: string, max: number): number {
    const n = this.compact(field);
    if (n > BigInt(max)) this.fail(field, `length ${n} exceeds the bound ${max}`);
    if (n > BigInt(this.bytes.length - this.at)) this.fail(field, `length ${n} runs past the end`);
    return Number(n);
  }

  fixed(n: number, field: string): Uint8Array {
    const start = this.take(n, field);
    return this.bytes.slice(start, start + n);
  }

  /** Vec<u8> / BoundedVec<u8, max>. */
  vecU8(field: string, max = Number.MAX_SAFE_INTEGER): Uint8Array {
    return this.fixed(this.length(field, max), field);
  }

  /** A Vec<u8> the chain fills with text. */
  text(field: string, max?: number): string {
    const bytes = this.vecU8(field, max);
    try {
      return utf8.decode(bytes);
    } catch {
      this.fail(field, 'not UTF-8');
    }
  }

  option<T>(field: string, read: () => T): T | undefined {
    const tag = this.u8(field);
    if (tag > 1) this.fail(field, `option tag is ${tag}`);
    return tag === 1 ? read() : undefined;
  }

  vec<T>(field: string, read: (index: number) => T, max = Number.MAX_SAFE_INTEGER): T[] {
    const n = this.length(field, max);
    return Array.from({ length: n }, (_, i) => read(i));
  }

  /** An enum's variant index, which must be below `variants`. */
  variant(field: string, variants: number): number {
    const tag = this.u8(field);
    if (tag >= variants) this.fail(field, `unknown variant ${tag}`);
    return tag;
  }

  /** Asserts the whole value was consumed. */
  end(): void {
    if (this.at !== this.bytes.length) {
      throw new ScaleError(`${this.what}: ${this.bytes.length - this.at} unexpected trailing bytes after byte ${this.at}`);
    }
  }
}

/** Builds SCALE values: storage map keys here, and chain fixtures in tests. */
export class ScaleWriter {
  private readonly parts: Uint8Array[] = [];

  raw(bytes: Uint8Array): this {
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }

  private int(value: bigint | number, size: number): this {
    let v = BigInt(value);
    if (v < 0n || v >> BigInt(8 * size) !== 0n) throw new RangeError(`${value} does not fit in ${size} bytes`);
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++, v >>= 8n) out[i] = Number(v & 0xffn);
    return this.raw(out);
  }

  u8(value: number): this {
    return this.int(value, 1);
  }
  u16(value: number): this {
    return this.int(value, 2);
  }
  u32(value: number): this {
    return this.int(value, 4);
  }
  u64(value: bigint | number): this {
    return this.int(value, 8);
  }
  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  compact(value: bigint | number): this {
    const v = BigInt(value);
    if (v < 0n) throw new RangeError('compact integers are unsigned');
    if (v < 1n << 6n) return this.int(v << 2n, 1);
    if (v < 1n << 14n) return this.int((v << 2n) | 1n, 2);
    if (v < 1n << 30n) return this.int((v << 2n) | 2n, 4);
    let n = 0;
    for (let x = v; x > 0n; x >>= 8n) n++;
    this.u8(((n - 4) << 2) | 3);
    return this.int(v, n);
  }

  vecU8(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    return this.compact(bytes.length).raw(bytes);
  }

  option<T>(value: T | undefined, write: (w: this, v: T) => void): this {
    if (value === undefined) return this.u8(0);
    this.u8(1);
    write(this, value);
    return this;
  }

  vec<T>(items: readonly T[], write: (w: this, v: T) => void): this {
    this.compact(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  hex(): string {
    return `0x${bytesToHex(this.bytes())}`;
  }
}
