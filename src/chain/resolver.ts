// The chain resolver: one question, several backends tried in order (and the list walked more than once,
// as zos and rmb-rs do with their chain URLs), each attempt under its own timeout. Answers are cached
// per record with a TTL; when every backend fails, an expired answer is served for a while longer,
// marked stale. Only answers that passed a backend's validation are ever stored, and "not found" is
// never cached: it is an answer worth re-asking.
import { setTimeout as sleep } from 'node:timers/promises';
import { hexToBytes } from '@noble/hashes/utils.js';
import { addressForKey, subnetForKey } from '../keys/index.js';
import { BackendError, ChainArgumentError, ChainNotFoundError, ChainUnavailableError, type Failure } from './errors.js';
import type {
  Answer,
  ChainBackend,
  NameRecord,
  NodeInfo,
  NodeRecord,
  PlanetaryAddress,
  Provenance,
  PublicIp,
  TwinRecord,
} from './types.js';

export interface ResolverOptions {
  /** Tried in this order. */
  readonly backends: readonly ChainBackend[];
  /** How long an answer is served from cache without asking again (default 10 min, as the TS SDK). */
  readonly ttlMs?: number;
  /** How long past its TTL an answer may still be served when every backend fails (default 24 h). */
  readonly maxStaleMs?: number;
  /** Per attempt (default 5 s). */
  readonly timeoutMs?: number;
  /** How many times the backend list is walked before giving up (default 2). */
  readonly rounds?: number;
  /** Pause between walks (default 250 ms). */
  readonly retryDelayMs?: number;
  /** Cache bound; the least recently stored entries go first (default 10 000). */
  readonly maxEntries?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface LookupOptions {
  readonly signal?: AbortSignal;
  /** Skip the cache (the answer still refreshes it). */
  readonly fresh?: boolean;
}

interface Entry {
  readonly answer: Answer<unknown>;
  readonly storedAt: number;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

export class ChainResolver {
  private readonly backends: readonly ChainBackend[];
  private readonly ttlMs: number;
  private readonly maxStaleMs: number;
  private readonly timeoutMs: number;
  private readonly rounds: number;
  private readonly retryDelayMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Entry>();

  constructor(options: ResolverOptions) {
    this.backends = [...options.backends];
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.maxStaleMs = options.maxStaleMs ?? 24 * 3600_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.rounds = Math.max(1, options.rounds ?? 2);
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Twin → account (SS58 and key), relays, RMB public key. */
  twin(twinId: number, options: LookupOptions = {}): Promise<Answer<TwinRecord>> {
    checkId(twinId, 'twin id');
    return this.lookup(`twin:${twinId}`, `twin ${twinId}`, (b, s) => b.twin(twinId, s), options);
  }

  /** Node → twin, farm, public config, and the planetary address derived from its twin's key. */
  async node(nodeId: number, options: LookupOptions = {}): Promise<Answer<NodeInfo>> {
    checkId(nodeId, 'node id');
    const node = await this.lookup(`node:${nodeId}`, `node ${nodeId}`, (b, s) => b.node(nodeId, s), options);
    let twin: Answer<TwinRecord> | undefined;
    let twinError: string | undefined;
    try {
      twin = await this.twin(node.value.twinId, options);
    } catch (err) {
      if (!(err instanceof ChainNotFoundError || err instanceof ChainUnavailableError)) throw err;
      twinError = err.message;
    }
    const value: NodeInfo = {
      ...node.value,
      ...(twin ? { twin, planetary: planetaryAddress(twin.value.accountKey) } : { twinError }),
    };
    return { value, provenance: node.provenance };
  }

  /** Name (gateway name contract) → owning twin. */
  name(name: string, options: LookupOptions = {}): Promise<Answer<NameRecord>> {
    if (!NAME_PATTERN.test(name)) throw new ChainArgumentError(`name ${JSON.stringify(name)} is not a gateway name ([A-Za-z0-9_-]+)`);
    return this.lookup(`name:${name}`, `name ${JSON.stringify(name)}`, (b, s) => b.name(name, s), options);
  }

  /** Twin → the node it is the identity of, for node twins. */
  nodeIdOfTwin(twinId: number, options: LookupOptions = {}): Promise<Answer<number>> {
    checkId(twinId, 'twin id');
    return this.lookup(`node-of-twin:${twinId}`, `node of twin ${twinId}`, (b, s) => b.nodeIdOfTwin(twinId, s), options);
  }

  farmPublicIps(farmId: number, options: LookupOptions = {}): Promise<Answer<readonly PublicIp[]>> {
    checkId(farmId, 'farm id');
    return this.lookup(`farm-ips:${farmId}`, `farm ${farmId}`, (b, s) => b.farmPublicIps(farmId, s), options);
  }

  gateways(options: LookupOptions = {}): Promise<Answer<readonly NodeRecord[]>> {
    return this.lookup('gateways', 'gateway nodes', (b, s) => b.gateways(s), options);
  }

  /** Drops cached answers, e.g. on a TwinUpdated event: `invalidate('twin', 7)`; all of them without arguments. */
  invalidate(kind?: 'twin' | 'node' | 'name' | 'node-of-twin' | 'farm-ips' | 'gateways', key?: number | string): void {
    if (kind === undefined) this.cache.clear();
    else if (key === undefined) {
      for (const k of [...this.cache.keys()]) if (k === kind || k.startsWith(`${kind}:`)) this.cache.delete(k);
    } else this.cache.delete(`${kind}:${key}`);
  }

  private async lookup<T>(
    key: string,
    what: string,
    call: (backend: ChainBackend, signal: AbortSignal) => Promise<T | undefined>,
    options: LookupOptions,
  ): Promise<Answer<T>> {
    const cached = this.cache.get(key) as (Entry & { answer: Answer<T> }) | undefined;
    if (cached && !options.fresh && this.now() - cached.storedAt < this.ttlMs) {
      return { value: cached.answer.value, provenance: { ...cached.answer.provenance, cached: true } };
    }
    const failures: Failure[] = [];
    const unsupported = new Set<ChainBackend>();
    for (let round = 0; round < this.rounds && unsupported.size < this.backends.length; round++) {
      if (round > 0) await sleep(this.retryDelayMs, undefined, options.signal ? { signal: options.signal } : {});
      for (const backend of this.backends) {
        if (unsupported.has(backend)) continue;
        options.signal?.throwIfAborted();
        let value: T | undefined;
        try {
          value = await this.attempt(backend, call, options.signal);
        } catch (err) {
          if (options.signal?.aborted) throw options.signal.reason;
          const failure = describeFailure(backend, err);
          failures.push(failure);
          if (failure.kind === 'unsupported') unsupported.add(backend);
          continue;
        }
        const source = `${backend.kind} ${backend.endpoint}`;
        if (value === undefined) {
          this.cache.delete(key);
          throw new ChainNotFoundError(what, source);
        }
        const provenance: Provenance = { backend: backend.kind, endpoint: backend.endpoint, fetchedAt: this.now(), cached: false };
        this.store(key, { value, provenance });
        return { value, provenance };
      }
    }
    if (cached && this.now() - cached.storedAt < this.ttlMs + this.maxStaleMs) {
      const why = failures.map((f) => `${f.backend}: ${f.message}`).join('; ');
      return { value: cached.answer.value, provenance: { ...cached.answer.provenance, cached: true, staleBecause: why } };
    }
    throw new ChainUnavailableError(what, failures);
  }

  /** One backend call under the per-attempt timeout, which also holds for a backend that ignores its signal. */
  private attempt<T>(
    backend: ChainBackend,
    call: (backend: ChainBackend, signal: AbortSignal) => Promise<T | undefined>,
    caller: AbortSignal | undefined,
  ): Promise<T | undefined> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
    return new Promise<T | undefined>((resolve, reject) => {
      const onAbort = (): void =>
        reject(timeout.aborted ? new BackendError('timeout', `timed out after ${this.timeoutMs} ms`) : signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      call(backend, signal)
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private store(key: string, answer: Answer<unknown>): void {
    this.cache.delete(key);
    this.cache.set(key, { answer, storedAt: this.now() });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new ChainArgumentError(`${what} must be an integer from 1 to 4294967295, got ${id}`);
}

function describeFailure(backend: ChainBackend, err: unknown): Failure {
  const where = `${backend.kind} ${backend.endpoint}`;
  if (err instanceof BackendError) return { backend: where, kind: err.kind, message: err.message };
  // A bug in a backend must not take the caller down, but must not pass for a server fault either.
  return { backend: where, kind: 'internal', message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}

/** The node's Yggdrasil address and /64: zos registers its twin with its ed25519 identity as account key. */
export function planetaryAddress(accountKeyHex: string): PlanetaryAddress {
  const key = hexToBytes(accountKeyHex.replace(/^0x/, ''));
  return { address: addressForKey(key), subnet: subnetForKey(key) };
}
