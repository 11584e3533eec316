// `gridwire up <file.conf | ifname>`: wg-quick(8) up on a gridwire daemon. Starts `gridwire wg
// <ifname>`, configures it over its UAPI socket, then adds addresses, MTU and routes with ip(8).
// Any failure after the daemon started deletes the interface again, so nothing is left half up.
// `gridwire up [--keystore DIR] node.json` instead runs a whole node in the foreground (src/node/).
import { spawn } from 'node:child_process';
import { fstatSync, openSync, closeSync, readSync, unlinkSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { CliError, type Command } from './command.js';
import { catchStopSignals } from './stop-signals.js';
import { deleteInterface } from './down.js';
import { exec, run } from '../net/exec.js';
import { formatPrefix } from '../net/prefix.js';
import { confLocation, parseConf, toDeviceChange, type WgQuickConf } from '../wireguard/conf.js';
import { addRoute, family } from '../node/ip.js';
import type { DeviceChange } from '../wireguard/uapi.js';
import { uapiSet } from '../wireguard/uapi-client.js';
import { socketPath } from '../wireguard/uapi-server.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const DEFAULT_MTU = 1420;

/** The routes wg-quick would add, most specific first; full-tunnel prefixes need policy routing. */
function routesOf(conf: WgQuickConf): string[] {
  if (conf.interface.table === 'off') return [];
  const prefixes = conf.peers.flatMap((p) => p.allowedIps).sort((a, b) => b.bits - a.bits);
  const full = prefixes.find((p) => p.bits === 0);
  if (full && conf.interface.table === 'auto') {
    throw new Error(
      `AllowedIPs ${formatPrefix(full)} needs full-tunnel policy routing, which gridwire up does not support yet ` +
        '(use Table = off and route it yourself, or a numbered Table)',
    );
  }
  return [...new Set(prefixes.map(formatPrefix))];
}

/**
 * Runs `gridwire wg <ifname>`, which returns once the daemon is ready. The daemon inherits its
 * stderr; an unlinked temporary file stands in for ours so the daemon never holds our caller's
 * pipe open (or hits EPIPE on it) after we exit, while its startup messages are still relayed.
 */
async function startDaemon(ifname: string): Promise<void> {
  process.stderr.write(`[#] gridwire wg ${ifname}\n`);
  const logPath = join(tmpdir(), `gridwire-up-${process.pid}-${ifname}.log`);
  const log = openSync(logPath, 'wx+', 0o600);
  unlinkSync(logPath);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'wg', ifname], { stdio: ['ignore', 'ignore', log] });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const output = Buffer.alloc(fstatSync(log).size);
    readSync(log, output, 0, output.length, 0);
    process.stderr.write(output);
    if (code !== 0) throw new Error(`the daemon for ${ifname} did not start`);
  } finally {
    closeSync(log);
  }
}

async function configure(ifname: string, change: DeviceChange): Promise<void> {
  process.stderr.write(`[#] uapi set ${socketPath(ifname)}\n`);
  const errno = await uapiSet(ifname, change);
  if (errno !== 0) throw new Error(`unable to configure ${ifname}: ${getSystemErrorName(errno)} (errno ${errno})`);
}

/**
 * Runs `work` with SIGINT and SIGTERM turned into an abort of `signal`, as wg-quick traps them while it
 * brings an interface up: the step under way finishes, the next one throws, and the failure path
 * deletes the interface instead of the signal killing us and leaving it half up.
 */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stops = catchStopSignals('up');
  try {
    return await work(stops.signal);
  } finally {
    stops.release();
  }
}

async function bringUp(ifname: string, conf: WgQuickConf, change: DeviceChange, routes: string[], signal: AbortSignal): Promise<void> {
  await startDaemon(ifname);
  const step: typeof run = (argv) => {
    signal.throwIfAborted();
    return run(argv);
  };
  try {
    signal.throwIfAborted();
    await configure(ifname, change);
    for (const addr of conf.interface.addresses) await step(['ip', family(addr), 'address', 'add', addr, 'dev', ifname]);
    await step(['ip', 'link', 'set', 'mtu', String(conf.interface.mtu ?? DEFAULT_MTU), 'up', 'dev', ifname]);
    for (const prefix of routes) await addRoute(ifname, prefix, conf.interface.table, step);
    signal.throwIfAborted(); // a signal during the last step still takes the interface down
  } catch (err) {
    await deleteInterface(ifname).catch((e: Error) => process.stderr.write(`gridwire: up: cleanup: ${e.message}\n`));
    throw err;
  }
}

async function load(arg: string): Promise<{ ifname: string; conf: WgQuickConf }> {
  const { path, ifname } = confLocation(arg);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `'${path}' does not exist` : `cannot read '${path}': ${err.message}`);
  });
  // The file holds the private key; warn as wg-quick does when others can read it.
  if ((await stat(path)).mode & (await stat(dirname(path))).mode & 0o007) process.stderr.write(`Warning: '${path}' is world accessible\n`);
  return { ifname, conf: parseConf(text, path) };
}

const USAGE = 'usage: gridwire up <file.conf | interface>\n       gridwire up [--keystore DIR] <node.json>';

async function upNode(args: string[]): Promise<number> {
  const keystore = args[0] === '--keystore' ? args[1] : undefined;
  const path = args.at(-1)!;
  if (args.length !== (keystore === undefined ? 1 : 3) || !path.endsWith('.json')) throw new CliError(USAGE);
  const { runNodeFile } = await import('../node/run-file.js');
  const { NodeConfigError } = await import('../node/config.js');
  try {
    await runNodeFile(path, keystore === undefined ? {} : { keystore });
  } catch (err) {
    throw new CliError(`up: ${(err as Error).message}`, err instanceof NodeConfigError ? 2 : 1);
  }
  return 0;
}

const up: Command = {
  summary: 'bring up an interface from a wg-quick file, or a whole node from node.json',
  async run(args) {
    if (args.at(-1)?.endsWith('.json')) return upNode(args);
    if (args.length !== 1) throw new CliError(USAGE);
    try {
      const { ifname, conf } = await load(args[0]!);
      const routes = routesOf(conf);
      const change = await toDeviceChange(conf);
      const exists = await exec(['ip', 'link', 'show', 'dev', ifname]).then(() => true, () => false);
      if (exists) throw new Error(`'${ifname}' already exists`);
      await interruptible((signal) => bringUp(ifname, conf, change, routes, signal));
    } catch (err) {
      throw err instanceof CliError ? err : new CliError(`up: ${(err as Error).message}`, 1);
    }
    return 0;
  },
};

export default up;
