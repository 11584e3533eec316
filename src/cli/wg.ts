// `gridwire wg [-f|--foreground] <ifname>`: a drop-in for `wireguard-go <ifname>`. Creates the TUN
// and the UAPI socket, then serves `wg` until SIGINT/SIGTERM or until the interface is deleted.
// Opt-in: --log-format/--log-level log peer events through pino, --metrics serves Prometheus metrics.
// Without -f (or WG_PROCESS_FOREGROUND=1) it re-runs itself in the background and returns once the
// child reports the interface ready, so `wg` can configure it the moment this command exits.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { CliError, type Command } from './command.js';
import { WireGuardDevice } from '../wireguard/device.js';
import { UapiServer } from '../wireguard/uapi-server.js';
import { checkLogFormat, checkLogLevel, createLogger, type LogFormat, type Logger } from '../observe/log.js';
import { isLoopback, parseMetricsAddress, serveMetrics, type MetricsServer } from '../observe/metrics.js';
import { logDeviceEvents } from '../observe/wg-events.js';
import { isInterfaceName } from '../wireguard/conf.js';

const READY_FD = 3;

const USAGE =
  'usage: gridwire wg [-f|--foreground] [--log-format json|text] [--log-level <level>] [--metrics [host:]port [--metrics-allow-remote]] <ifname>';

interface WgArgs {
  foreground: boolean;
  ifname: string;
  /** Set: events are logged in this format; unset: the two plain lines wireguard-go users expect. */
  logFormat?: LogFormat;
  logLevel: string;
  metrics?: { address: string; allowNonLoopback: boolean };
}

const VALUED = ['--log-format', '--log-level', '--metrics'];

function parseArgs(args: string[]): WgArgs {
  let foreground = process.env['WG_PROCESS_FOREGROUND'] === '1';
  const values: Record<string, string> = {};
  let allowRemote = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (a === '-f' || a === '--foreground') foreground = true;
    else if (a === '--metrics-allow-remote') allowRemote = true;
    else if (VALUED.includes(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new CliError(`wg: ${flag} needs a value\n${USAGE}`);
      values[flag] = value;
    } else if (a.startsWith('-')) throw new CliError(`wg: unknown option '${a}'\n${USAGE}`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new CliError(USAGE);
  const ifname = rest[0]!;
  if (!isInterfaceName(ifname)) throw new CliError(`wg: '${ifname}' is not a valid interface name`);
  try {
    // Checked here too, so a detaching `gridwire wg` reports it before going to the background.
    const address = values['--metrics'];
    const host = address === undefined ? undefined : parseMetricsAddress(address).host;
    if (host !== undefined && !allowRemote && !isLoopback(host)) {
      throw new Error(`--metrics ${host} is not a loopback address; add --metrics-allow-remote to expose peer metrics beyond this host`);
    }
    const metrics = address === undefined ? undefined : { address, allowNonLoopback: allowRemote };
    return {
      foreground,
      ifname,
      // --log-level alone asks for logs too, in the default format.
      ...((values['--log-format'] ?? values['--log-level']) !== undefined && { logFormat: checkLogFormat(values['--log-format'] ?? 'json') }),
      logLevel: checkLogLevel(values['--log-level'] ?? 'info'),
      ...(metrics && { metrics }),
    };
  } catch (err) {
    throw new CliError(`wg: ${(err as Error).message}`);
  }
}

async function detach(args: string[], { ifname, logFormat }: WgArgs): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'wg', '-f', ...args.filter((a) => a !== '-f' && a !== '--foreground')], {
    detached: true,
    // Like wireguard-go, the daemon keeps no hold on the caller's terminal or pipes unless LOG_LEVEL (or
    // --log-format/--log-level) asks for its output; otherwise `gridwire wg x 2>&1 | cat` would never see end-of-file.
    stdio: ['ignore', 'ignore', process.env['LOG_LEVEL'] || logFormat ? 'inherit' : 'ignore', 'pipe'],
    env: { ...process.env, GRIDWIRE_READY_FD: String(READY_FD) },
  });
  const ready = await new Promise<boolean>((resolve) => {
    child.stdio[READY_FD]!.once('data', () => resolve(true));
    child.once('exit', () => resolve(false));
  });
  if (!ready) throw new CliError(`wg: the daemon for ${ifname} failed to start`, 1);
  child.unref();
  (child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void }).destroy();
  process.stderr.write(`gridwire: ${ifname} running in the background (pid ${child.pid})\n`);
  return 0;
}

function signalReady(): void {
  if (process.env['GRIDWIRE_READY_FD'] !== String(READY_FD)) return;
  const s = createWriteStream('', { fd: READY_FD });
  s.end('ready\n');
}

async function startMetrics(a: WgArgs, device: WireGuardDevice, logger: Logger | undefined): Promise<MetricsServer | undefined> {
  if (!a.metrics) return undefined;
  const { server, url } = await serveMetrics(a.metrics.address, { allowNonLoopback: a.metrics.allowNonLoopback, ...(logger && { logger }) });
  server.addWireGuard(a.ifname, device);
  if (!logger) process.stderr.write(`gridwire: ${a.ifname} metrics at ${url}\n`);
  return server;
}

async function runForeground(a: WgArgs): Promise<number> {
  const { ifname } = a;
  const logger = a.logFormat ? createLogger({ level: a.logLevel, format: a.logFormat, name: 'gridwire-wg' }) : undefined;
  let device: WireGuardDevice;
  try {
    device = WireGuardDevice.create({ name: ifname });
  } catch (err) {
    throw new CliError(`wg: cannot create ${ifname}: ${(err as Error).message}`, 1);
  }
  const stopLogging = logger ? logDeviceEvents(device, logger, ifname) : () => undefined;
  let server: UapiServer;
  let metrics: MetricsServer | undefined;
  try {
    server = await UapiServer.listen(ifname, { get: () => device.state(), set: (c) => device.apply(c) });
    metrics = await startMetrics(a, device, logger).catch(async (err: Error) => {
      await server.close();
      throw err;
    });
  } catch (err) {
    stopLogging();
    device.close();
    throw new CliError(`wg: ${(err as Error).message}`, 1);
  }
  if (logger) logger.info({ interface: ifname, uapi: server.path }, 'interface up');
  else process.stderr.write(`gridwire: ${ifname} up, UAPI at ${server.path}\n`);
  signalReady();
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    device.once('interface-gone', () => resolve('interface deleted'));
  });
  if (logger) logger.info({ interface: ifname, reason }, 'shutting down');
  else process.stderr.write(`gridwire: ${ifname} shutting down (${reason})\n`);
  await metrics?.close();
  await server.close();
  stopLogging();
  device.close();
  return 0;
}

const wg: Command = {
  summary: 'run a WireGuard interface like wireguard-go, configured with wg(8)',
  async run(args) {
    const parsed = parseArgs(args);
    return parsed.foreground ? runForeground(parsed) : detach(args, parsed);
  },
};

export default wg;
