// Network namespaces for gridwire's labs (tests, `gridwire demo`, `gridwire bench`): private namespaces
// joined by veth pairs, processes started inside them, and cleanup that is guaranteed to run. Everything
// created here is named gw-<pid>-<lab>-<name> so that parallel runs never collide and leftovers can be
// attributed to a dead pid.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Env = Record<string, string | undefined>;

let labSupportCache: string[] | undefined;

/** What keeps this process from running a Lab: not root, no /dev/net/tun, no `ip netns`. Cached. */
export function labSupportProblems(): string[] {
  if (labSupportCache) return labSupportCache;
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    problems.push('/dev/net/tun is not available');
  }
  if (problems.length === 0) {
    // Only a real add/del proves namespaces work (a container may lack CAP_SYS_ADMIN or a writable /run).
    const probe = `gw-${process.pid}-probe`;
    try {
      execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    } catch (err) {
      problems.push(`'ip netns' does not work here (${firstLine(err)})`);
    }
  }
  labSupportCache = problems;
  return problems;
}

/** Gate for tests that need root, TUN and network namespaces. */

// ---------------------------------------------------------------------------------------------------
// Reference peers (installed by test/peers/install.sh)

const peers = {
  'yggdrasil-0.5': (d: string) => join(d, 'bin/yggdrasil'),
  'yggdrasilctl-0.5': (d: string) => join(d, 'bin/yggdrasilctl'),
  // Debian bookworm installs yggdrasil into /usr/sbin.
  'yggdrasil-0.4': () => '/usr/sbin/yggdrasil',
  'yggdrasilctl-0.4': () => '/usr/sbin/yggdrasilctl',
  'wireguard-go-new': (d: string) => join(d, 'bin/wireguard-go'),
  'wireguard-go-old': () => '/usr/bin/wireguard-go',
  wg: () => '/usr/bin/wg',
  iperf3: () => '/usr/bin/iperf3',
  ping: () => '/usr/bin/ping',
  tcpdump: () => '/usr/bin/tcpdump',
  // The python3 on PATH may be another interpreter (pyenv); Debian's PyNaCl belongs to this one.
  python3: () => '/usr/bin/python3',
} satisfies Record<string, (peersDir: string) => string>;

export type PeerName = keyof typeof peers;

/** Absolute path of a reference peer binary; GRIDWIRE_PEERS_DIR overrides /opt/gridwire-peers. */
export function peerPath(name: PeerName, env: Env = process.env): string {
  const resolve = Object.hasOwn(peers, name) ? peers[name] : undefined;
  if (!resolve) throw new Error(`unknown peer '${String(name)}'; known: ${Object.keys(peers).join(', ')}`);
  return resolve(env.GRIDWIRE_PEERS_DIR || '/opt/gridwire-peers');
}

// ---------------------------------------------------------------------------------------------------
// Polling

/**
 * Polls `condition` until it returns a truthy value (which is returned) or `timeoutMs` passes.
 * The interval grows from 10 ms to 100 ms: fast when things are quick, cheap when they're not.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs: number,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError ? ` (last error: ${firstLine(lastError)})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 100);
  }
}

// ---------------------------------------------------------------------------------------------------
// Processes

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: Env;
  cwd?: string;
  /** 'pipe' to write to `child.stdin`. */
  stdin?: 'ignore' | 'pipe';
}

/** A process started by a Lab, in its own process group. */
export class LabProcess {
  readonly pid: number;
  stdout = '';
  stderr = '';
  /** Set once the process has exited and its output is complete. */
  result: ExecResult | undefined;
  /** Resolves once the process has exited and its stdout/stderr have closed. */
  readonly exited: Promise<ExecResult>;
  // The process itself is gone; its pipes may still be held open by a daemon it left behind.
  private readonly gone: Promise<ExecResult>;
  private hasExited = false;

  constructor(
    readonly child: ChildProcess,
    readonly argv: readonly string[],
  ) {
    // Without a listener a spawn failure would be an uncaught 'error' event.
    child.on('error', (err) => (this.stderr += `spawn error: ${err.message}\n`));
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.gone = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.hasExited = true;
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.result = { code, signal, stdout: this.stdout, stderr: this.stderr };
        resolve(this.result);
      });
    });
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** Resolves with the match once stdout+stderr matches `re`; rejects on timeout or exit without a match. */
  async waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const match = (): RegExpMatchArray | null => this.stdout.match(re) ?? this.stderr.match(re);
    const found = match();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.child.stdout?.off('data', check);
        this.child.stderr?.off('data', check);
        fn();
      };
      const check = (): void => {
        const m = match();
        if (m) done(() => resolve(m));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} from ${this.describe()}`))),
        timeoutMs,
      );
      this.child.stdout?.on('data', check);
      this.child.stderr?.on('data', check);
      void this.exited.then((r) => {
        const m = match();
        if (m) done(() => resolve(m));
        else done(() => reject(new Error(`${this.describe()} exited (code ${r.code}, signal ${r.signal}) before printing ${re}`)));
      });
    });
  }

  /**
   * SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once the process is gone
   * (not waiting for its pipes, which a daemon outside the group may hold; Lab.cleanup() gets those).
   */
  async kill(graceMs = 2000): Promise<ExecResult> {
    if (this.running) signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    try {
      return await this.gone;
    } finally {
      clearTimeout(timer);
    }
  }

  describe(): string {
    const tail = (s: string): string => s.slice(-800).trimEnd();
    return `'${this.argv.join(' ')}' (pid ${this.pid})\n--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

// ---------------------------------------------------------------------------------------------------
// The lab

export interface LinkEnd {
  /** Interface name inside the namespace (max 15 chars); defaults to `to-<other namespace>`. */
  ifname?: string;
  /** CIDR addresses, IPv4 and/or IPv6 (IPv6 is added with nodad so it is usable at once). */
  addrs?: readonly string[];
}

const liveLabs = new Set<Lab>();
let labCounter = 0;
let handlersInstalled = false;

export class Lab {
  /** Prefix of every namespace this lab creates. */
  readonly prefix: string;
  private readonly namespaces = new Set<string>();
  private readonly procs = new Set<LabProcess>();
  private closing: Promise<void> | undefined;

  /** `prefix` overrides the default gw-<pid>-<n>- (e.g. for a demo kept running after its process). */
  constructor(prefix?: string) {
    this.prefix = prefix ?? `gw-${process.pid}-${++labCounter}-`;
    liveLabs.add(this);
    installLastResortHandlers();
  }

  /** The real namespace name for a lab-local name, for use with `ip -n` or in messages. */
  ns(name: string): string {
    const full = this.prefix + name;
    if (!this.namespaces.has(full)) throw new Error(`no namespace '${name}' in this lab`);
    return full;
  }

  /** The namespace's file, for a process that joins it with setns(2) (where `ip netns add` puts it). */
  nsPath(name: string): string {
    return `/var/run/netns/${this.ns(name)}`;
  }

  /** Creates a namespace with lo up; returns its real name. */
  async addNamespace(name: string): Promise<string> {
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/i.test(name)) throw new Error(`bad namespace name '${name}'`);
    const full = this.prefix + name;
    if (this.namespaces.has(full)) throw new Error(`namespace '${name}' already exists`);
    this.assertOpen();
    await ip(['netns', 'add', full]);
    this.namespaces.add(full);
    await ip(['-n', full, 'link', 'set', 'lo', 'up']);
    return full;
  }

  /**
   * Joins namespaces `a` and `b` with a veth pair, addresses both ends and waits until both are up.
   * The pair is created directly inside the namespaces, so nothing ever appears in the host's.
   */
  async link(a: string, b: string, ends: { a?: LinkEnd; b?: LinkEnd } = {}): Promise<{ a: string; b: string }> {
    const nsA = this.ns(a);
    const nsB = this.ns(b);
    const ifA = ends.a?.ifname ?? `to-${b}`.slice(0, 15);
    const ifB = ends.b?.ifname ?? `to-${a}`.slice(0, 15);
    await ip(['link', 'add', 'name', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    await this.setAddress(a, ifA, ends.a?.addrs ?? []);
    await this.setAddress(b, ifB, ends.b?.addrs ?? []);
    await Promise.all([this.waitLinkUp(a, ifA), this.waitLinkUp(b, ifB)]);
    return { a: ifA, b: ifB };
  }

  /** Replaces the addresses of `ifname` in namespace `name` and sets it up (readdressing for roaming). */
  async setAddress(name: string, ifname: string, addrs: string | readonly string[]): Promise<void> {
    const ns = this.ns(name);
    await ip(['-n', ns, 'addr', 'flush', 'dev', ifname, 'scope', 'global']);
    for (const addr of typeof addrs === 'string' ? [addrs] : addrs) {
      if (!addr.includes('/')) throw new Error(`address '${addr}' needs a prefix length`);
      await ip(['-n', ns, 'addr', 'add', addr, 'dev', ifname, ...(addr.includes(':') ? ['nodad'] : [])]);
    }
    await ip(['-n', ns, 'link', 'set', ifname, 'up']);
  }

  /** Moves an interface to another namespace of this lab (it arrives down and without addresses). */
  async moveInterface(from: string, ifname: string, to: string): Promise<void> {
    await ip(['-n', this.ns(from), 'link', 'set', ifname, 'netns', this.ns(to)]);
  }

  /** Starts `argv` inside namespace `name` in a new process group; cleanup() kills it. */
  spawn(name: string, argv: readonly string[], opts: SpawnOptions = {}): LabProcess {
    const ns = this.ns(name);
    this.assertOpen();
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('empty argv');
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      detached: true, // own process group: kill() reaches the whole tree, and nothing else
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
    });
    const proc = new LabProcess(child, argv);
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Runs `argv` inside namespace `name` to completion; a timeout kills it and rejects. */
  async exec(name: string, argv: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<ExecResult> {
    const proc = this.spawn(name, argv, opts);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void proc.kill(0);
    }, timeoutMs);
    const result = await proc.exited;
    clearTimeout(timer);
    if (timedOut) throw new Error(`timed out after ${timeoutMs} ms: ${proc.describe()}`);
    return result;
  }

  /** Polls until `condition` is truthy; see the module-level waitFor. */
  waitFor<T>(condition: () => T | Promise<T>, timeoutMs: number, what?: string): Promise<NonNullable<T>> {
    return waitFor(condition, timeoutMs, what);
  }

  /**
   * Kills the process groups this lab started, then anything still inside its namespaces (a daemon that
   * left its group, e.g. wireguard-go without -f), then deletes the namespaces. Idempotent.
   */
  cleanup(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private async teardown(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([...this.procs].map((p) => p.kill()));
    for (const ns of [...this.namespaces]) {
      try {
        killPids(await ip(['netns', 'pids', ns]));
        await ip(['netns', 'del', ns]);
        this.namespaces.delete(ns);
      } catch (err) {
        errors.push(err);
      }
    }
    // A namespace that failed to go stays listed, so the exit handler tries once more.
    if (this.namespaces.size === 0) liveLabs.delete(this);
    if (errors.length) {
      throw new AggregateError(errors, `lab ${this.prefix}* cleanup failed: ${errors.map(firstLine).join('; ')}`);
    }
  }

  /**
   * Synchronous cleanup for a dying process, where promises no longer run. Also finishes an async
   * cleanup() that was cut short (e.g. by a test timeout ending the process).
   */
  cleanupSync(): void {
    this.closing ??= Promise.resolve();
    for (const p of this.procs) if (p.running) signalGroup(p.pid, 'SIGKILL');
    for (const ns of this.namespaces) {
      try {
        killPids(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: 'pipe' }));
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
      } catch {
        // Best effort: the process is exiting anyway.
      }
    }
    this.namespaces.clear();
    liveLabs.delete(this);
  }

  /** Hands the namespaces and processes over to the caller: this lab will not clean them up. */
  release(): string[] {
    const names = [...this.namespaces];
    this.namespaces.clear();
    this.procs.clear();
    liveLabs.delete(this);
    this.closing ??= Promise.resolve();
    return names;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`lab ${this.prefix}* was already cleaned up`);
  }

  private async waitLinkUp(name: string, ifname: string): Promise<void> {
    const ns = this.ns(name);
    await waitFor(
      async () => {
        const [info] = JSON.parse(await ip(['-j', '-n', ns, 'link', 'show', 'dev', ifname])) as { operstate?: string }[];
        return info?.operstate === 'UP';
      },
      5000,
      `${ifname} in ${ns} to come up`,
    );
  }
}

/**
 * Runs `body` with a fresh Lab and cleans it up afterwards, whether the body returns or throws.
 * t.after() covers the case where the body never settles (test timeout or cancellation).
 */
export async function removeStaleNamespaces(): Promise<string[]> {
  return removeNamespaces((name) => {
    const m = /^gw-(\d+)-/.exec(name);
    return m !== null && !pidAlive(Number(m[1]));
  });
}

/** Kills what runs inside, then deletes, every namespace whose name `select` picks. */
export async function removeNamespaces(select: (name: string) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const line of (await ip(['netns', 'list'])).split('\n')) {
    const name = line.split(' ')[0];
    if (!name || !select(name)) continue;
    killPids(await ip(['netns', 'pids', name]));
    await ip(['netns', 'del', name]);
    removed.push(name);
  }
  return removed;
}

/** True while `pid` runs. Zombies count as dead: orphans wait for PID 1 to reap them (seconds, here). */
export function pidAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILLs the pids in `ip netns pids` output: whatever still runs inside a namespace being removed. */
function killPids(list: string): void {
  for (const pid of list.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
}

function installLastResortHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const cleanAll = (): void => {
    for (const lab of [...liveLabs]) lab.cleanupSync();
  };
  process.on('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanAll();
      // Die of the same signal, as if no handler had been installed.
      process.kill(process.pid, sig);
    });
  }
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`ip ${args.join(' ')} failed (exit ${code}): ${err.trim()}`));
    });
  });
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const text = e?.stderr?.toString().trim() || e?.message || String(err);
  return text.split('\n')[0] ?? text;
}

