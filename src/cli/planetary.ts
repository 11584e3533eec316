// `gridwire planetary`: a drop-in for the yggdrasil 0.5.12 daemon's command line. Flags are parsed the
// way Go's flag package does (-x or --x, -x=v or -x v, stops at the first non-flag), and the modes are
// tried in yggdrasil's order, so scripts written for yggdrasil get the same output and exit codes.
import { addressForKey, planetaryPublicKey, subnetForKey } from '../keys/index.js';
import { packageRoot } from '../package-root.js';
import {
  exportPemPrivateKey,
  formatPlanetaryConfig,
  generatePlanetaryConfig,
  loadPlanetaryConfigFile,
  parsePlanetaryConfig,
  decodeConfigText,
  validatePlanetaryConfig,
  unsupportedTransportWarnings,
  PlanetaryConfigError,
  type LoadedPlanetaryConfig,
  type PlanetaryConfig,
} from '../planetary/config.js';
import { openSync, readFileSync, writeSync } from 'node:fs';
import { dropPrivileges, lookupCredentials, type Credentials } from '../planetary/privileges.js';
import type { PlanetaryLinkEvent, PlanetaryListener, PlanetaryNode } from '../planetary/node.js';
import type { PlanetaryTun } from '../planetary/admin.js';
import { parsePeerUri } from '../planetary/uri.js';
import { CliError, type Command } from './command.js';
import { catchStopSignals, onAbort, type StopSignals } from './stop-signals.js';

interface FlagSpec {
  readonly name: string;
  /** Go's placeholder type name for valued flags; absent for booleans. */
  readonly value?: 'string';
  readonly dflt?: string;
  readonly usage: string;
}

const WITH_CONFIG = 'use in combination with either -useconf or -useconffile, outputs your';

// Sorted by name, as Go's PrintDefaults lists them.
const FLAGS: readonly FlagSpec[] = [
  { name: 'address', usage: `${WITH_CONFIG} IPv6 address` },
  { name: 'autoconf', usage: 'automatic mode (dynamic IP, peer with IPv6 neighbors)' },
  { name: 'exportkey', usage: `${WITH_CONFIG} private key in PEM format` },
  { name: 'genconf', usage: 'print a new config to stdout' },
  { name: 'json', usage: 'print configuration from -genconf or -normaliseconf as JSON instead of HJSON' },
  { name: 'loglevel', value: 'string', dflt: 'info', usage: 'loglevel to enable' },
  { name: 'logto', value: 'string', dflt: 'stdout', usage: 'file path to log to, "syslog" or "stdout"' },
  { name: 'normaliseconf', usage: `${WITH_CONFIG} configuration normalised` },
  { name: 'publickey', usage: `${WITH_CONFIG} public key` },
  { name: 'subnet', usage: `${WITH_CONFIG} IPv6 subnet` },
  { name: 'useconf', usage: 'read HJSON/JSON config from stdin' },
  { name: 'useconffile', value: 'string', dflt: '', usage: 'read HJSON/JSON config from specified file path' },
  { name: 'user', value: 'string', dflt: '', usage: 'user (and, optionally, group) to set UID/GID to' },
  { name: 'version', usage: 'prints the version of this build' },
];

type Flags = Record<string, string | boolean>;

/** Where and how much a running node logs (-loglevel, -logto). */
export interface PlanetaryLogOptions {
  /** error | warn | info | debug | trace, lower-cased. */
  readonly logLevel: string;
  /** `stdout`, `syslog` or a file path to append to. */
  readonly logTo: string;
}

const PROGRAM = 'gridwire planetary';

function printDefaults(): string {
  return FLAGS.map((f) => {
    const dflt = f.value && f.dflt ? ` (default ${JSON.stringify(f.dflt)})` : '';
    return `  -${f.name}${f.value ? ` ${f.value}` : ''}\n    \t${f.usage}${dflt}\n`;
  }).join('');
}

class FlagError extends Error {}

/** Go's flag.Parse: returns the flags set (defaults filled in), or throws FlagError with Go's message. */
export function parsePlanetaryFlags(args: readonly string[]): Flags {
  const flags: Flags = Object.fromEntries(FLAGS.map((f) => [f.name, f.value ? f.dflt! : false]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.length < 2 || arg[0] !== '-') break;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = FLAGS.find((f) => f.name === name);
    if (!spec && (name === 'h' || name === 'help')) throw new HelpRequested();
    if (!spec) throw new FlagError(`flag provided but not defined: -${name}`);
    if (!spec.value) flags[name] = parseBool(eq < 0 ? 'true' : body.slice(eq + 1), name);
    else if (eq >= 0) flags[name] = body.slice(eq + 1);
    else if (i + 1 < args.length) flags[name] = args[++i]!;
    else throw new FlagError(`flag needs an argument: -${name}`);
  }
  return flags;
}

class HelpRequested extends Error {}

function parseBool(text: string, name: string): boolean {
  // strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new FlagError(`invalid boolean value ${JSON.stringify(text)} for -${name}: parse error`);
}

function packageVersion(): string {
  return JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')).version as string;
}

function out(text: string): void {
  process.stdout.write(text);
}

async function loadConfig(flags: Flags, stdin: () => Promise<Uint8Array>): Promise<LoadedPlanetaryConfig> {
  const source = flags.useconf ? 'from stdin' : (flags.useconffile as string);
  try {
    if (flags.useconf) return parsePlanetaryConfig(decodeConfigText(await stdin()));
    return loadPlanetaryConfigFile(flags.useconffile as string);
  } catch (err) {
    if (err instanceof PlanetaryConfigError) throw new CliError(`planetary: bad config ${source}: ${err.message}`, 2);
    throw err;
  }
}

function warn(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`${PROGRAM}: warning: ${w}\n`);
}

/** The query modes that print something about the config and exit; undefined when none was asked for. */
function query(flags: Flags, loaded: LoadedPlanetaryConfig): string | undefined {
  const { config } = loaded;
  const publicKey = planetaryPublicKey(config.PrivateKey);
  if (flags.address) return `${addressForKey(publicKey)}\n`;
  if (flags.subnet) return `${subnetForKey(publicKey)}\n`;
  if (flags.publickey) return `${Buffer.from(publicKey).toString('hex')}\n`;
  if (flags.normaliseconf) {
    warn(loaded.warnings);
    return `${formatPlanetaryConfig({ ...config, AdminListen: '' }, flags.json ? 'json' : 'hjson', loaded.nulls)}\n`;
  }
  // fmt.Println of a PEM block that already ends in a newline.
  if (flags.exportkey) return `${exportPemPrivateKey(config.PrivateKey)}\n`;
  return undefined;
}

/** What node.ts's startPlanetaryNode resolves to, as far as the command needs it. */
interface RunningNode {
  readonly publicKey: Uint8Array;
  readonly address: string;
  readonly subnet: string;
  readonly adminEndpoint: string | undefined;
  listenerAddresses(): PlanetaryListener[];
  tun(): PlanetaryTun;
  once(event: 'interface-gone', listener: () => void): unknown;
  close(): Promise<void>;
}

type StartNode = (config: PlanetaryConfig, options: { onLink: (event: PlanetaryLinkEvent, detail: string) => void }) => Promise<RunningNode>;

// Loaded on demand: the flags that only read or write configs never load the native engine.
async function loadNodeStarter(): Promise<StartNode> {
  return (await import('../planetary/node.js')).startPlanetaryNode;
}

const LEVELS = ['error', 'warn', 'info', 'debug', 'trace'];

// Opened at start, as yggdrasil does: after -user drops root it might no longer be. Like yggdrasil, a
// file that cannot be opened leaves the log on stdout (we also say why, on stderr).
function openLog(path: string): number | undefined {
  try {
    return openSync(path, 'a');
  } catch (err) {
    process.stderr.write(`gridwire: planetary: -logto ${path}: ${(err as Error).message}; logging to stdout\n`);
    return undefined;
  }
}

interface NodeLog {
  /** What yggdrasil logs at info level: dropped when -loglevel is error or warn. */
  readonly info: (line: string) => void;
  /** What yggdrasil prints at any level (who the node is). */
  readonly always: (line: string) => void;
  /** Shown with -loglevel debug or trace. */
  readonly debug: (line: string) => void;
}

/** yggdrasil's log, in its format (`2006/01/02 15:04:05 text`), where -logto points. */
function startupLog(options: PlanetaryLogOptions): NodeLog {
  const level = LEVELS.includes(options.logLevel) ? options.logLevel : 'info';
  const fd = options.logTo === 'stdout' || options.logTo === 'syslog' ? undefined : openLog(options.logTo);
  const write = (text: string) => {
    if (fd === undefined) process.stdout.write(text);
    else writeSync(fd, text);
  };
  const always = (line: string) => {
    const d = new Date();
    const p = (n: number) => String(n).padStart(2, '0');
    write(`${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${line}\n`);
  };
  const from = (least: string) => (LEVELS.indexOf(level) < LEVELS.indexOf(least) ? () => {} : always);
  return { always, info: from('info'), debug: from('debug') };
}

/** yggdrasil's line for each listener ("TLS listener started on [::1]:7000"), in the engine's order. */
function listenerLines(node: RunningNode, verb: 'started' | 'stopped'): string[] {
  return node.listenerAddresses().map(({ uri, address }) => `${parsePeerUri(uri).scheme.toUpperCase()} listener ${verb} on ${address}`);
}

/** yggdrasil's lines about a started node: its admin socket, listeners and TUN. */
function startedLines(node: RunningNode): string[] {
  const admin = node.adminEndpoint;
  const tun = node.tun();
  return [
    ...(admin ? [admin.startsWith('unix://') ? `UNIX admin socket listening on ${admin.slice(7)}` : `TCP admin socket listening on ${admin.slice(6)}`] : []),
    ...listenerLines(node, 'started'),
    ...(tun.enabled ? [`Interface name: ${tun.name}`, `Interface IPv6: ${node.address}/7`, `Interface MTU: ${tun.mtu}`] : []),
  ];
}

/** Runs until SIGINT/SIGTERM (exit 0) or until the TUN interface disappears (exit 1), logging the stop as yggdrasil does. */
function untilStopped(node: RunningNode, signals: StopSignals, closeMetrics: () => Promise<void>, log: (line: string) => void): Promise<number> {
  const stopped = listenerLines(node, 'stopped');
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (code: number) => () => {
      if (stopping) return;
      stopping = true;
      log('Stopping...');
      void Promise.all([closeMetrics(), node.close()]).then(() => {
        stopped.forEach(log);
        log('Stopped');
        resolve(code);
      });
    };
    onAbort(signals.signal, stop(0));
    node.once('interface-gone', stop(1));
  });
}

async function runNode(flags: Flags, loaded: LoadedPlanetaryConfig): Promise<number> {
  warn([...loaded.warnings, ...unsupportedTransportWarnings(loaded.config)]);
  try {
    validatePlanetaryConfig(loaded.config);
  } catch (err) {
    if (err instanceof PlanetaryConfigError) throw new CliError(`planetary: bad config: ${err.message}`, 2);
    throw err;
  }
  // Looked up before anything starts: a bad -user fails without touching the network (yggdrasil panics,
  // also exit 2, only after starting).
  const credentials = flags.user ? await userCredentials(flags.user as string) : undefined;
  const start = await loadNodeStarter();
  const options: PlanetaryLogOptions = { logLevel: (flags.loglevel as string).toLowerCase(), logTo: flags.logto as string };
  const log = startupLog(options);
  // Links may come up while the node starts: logged after who we are, as yggdrasil orders them.
  const early: Array<() => void> = [];
  let started = false;
  const linkLog = (event: PlanetaryLinkEvent, detail: string) => {
    const write = () => (event === 'link-failed' ? log.debug(`Link failed: ${detail}`) : log.info(`${event === 'peer-up' ? 'Connected' : 'Disconnected'} ${detail}`));
    if (started) write();
    else early.push(write);
  };
  const signals = catchStopSignals('planetary'); // caught from before the node starts
  try {
    const node = await start(loaded.config, { onLink: linkLog });
    const closeMetrics = await serveAndDropPrivileges(node, credentials, flags.user as string);
    if (signals.signal.aborted) {
      // Signalled while starting: down again, the admin socket file removed, before logging anything.
      await Promise.all([closeMetrics(), node.close()]);
      return 0;
    }
    // Stoppable before anything is logged: a script that signals on seeing these lines gets a clean exit.
    const stopped = untilStopped(node, signals, closeMetrics, log.info);
    log.info(`Build name: gridwire`);
    log.info(`Build version: ${packageVersion()}`);
    log.always(`Your public key is ${Buffer.from(node.publicKey).toString('hex')}`);
    log.always(`Your IPv6 address is ${node.address}`);
    log.always(`Your IPv6 subnet is ${node.subnet}`);
    startedLines(node).forEach(log.info);
    started = true;
    early.forEach((write) => write());
    return await stopped;
  } finally {
    signals.release();
  }
}

/** The started node's metrics server (when asked for), then -user's privileges dropped; closes the node on failure. */
async function serveAndDropPrivileges(node: RunningNode, credentials: Credentials | undefined, user: string): Promise<() => Promise<void>> {
  const closeMetrics = await serveNodeMetrics(node).catch(async (err: Error) => {
    await node.close();
    throw new CliError(`planetary: GRIDWIRE_METRICS: ${err.message}`, 2);
  });
  if (!credentials) return closeMetrics;
  try {
    dropPrivileges(credentials);
  } catch (err) {
    await Promise.all([closeMetrics(), node.close()]);
    throw new CliError(`planetary: -user ${user}: ${(err as Error).message}`, 2);
  }
  return closeMetrics;
}

// Opt-in through the environment rather than a flag, so that the flags and -h stay yggdrasil's. Served
// before -user drops root, so a privileged port works.
async function serveNodeMetrics(node: RunningNode): Promise<() => Promise<void>> {
  const address = process.env['GRIDWIRE_METRICS'];
  if (!address) return async () => {};
  const { serveMetrics } = await import('../observe/metrics.js');
  const { server, url } = await serveMetrics(address);
  server.setPlanetary(node as PlanetaryNode);
  process.stderr.write(`gridwire: planetary: metrics at ${url}\n`);
  return () => server.close();
}

async function userCredentials(spec: string): Promise<Credentials> {
  try {
    return await lookupCredentials(spec);
  } catch (err) {
    throw new CliError(`planetary: -user ${spec}: ${(err as Error).message}`, 2);
  }
}

function usageError(message: string): number {
  process.stderr.write(`${message}\nUsage of ${PROGRAM}:\n${printDefaults()}`);
  return 2;
}

/** The command, with stdin injectable for tests. */
export async function runPlanetary(args: readonly string[], stdin: () => Promise<Uint8Array> = readAllStdin): Promise<number> {
  let flags: Flags;
  try {
    flags = parsePlanetaryFlags(args);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stderr.write(`Usage of ${PROGRAM}:\n${printDefaults()}`);
      return 0;
    }
    if (err instanceof FlagError) return usageError(err.message);
    throw err;
  }
  if (flags.version) {
    out(`Build name: gridwire\nBuild version: ${packageVersion()}\n`);
    return 0;
  }
  let loaded: LoadedPlanetaryConfig;
  if (flags.autoconf) loaded = { config: generatePlanetaryConfig(), warnings: [], nulls: new Set() };
  else if (flags.useconf || flags.useconffile !== '') loaded = await loadConfig(flags, stdin);
  else if (flags.genconf) {
    out(`${formatPlanetaryConfig({ ...generatePlanetaryConfig(), AdminListen: '' }, flags.json ? 'json' : 'hjson')}\n`);
    return 0;
  } else {
    out('Usage:\n');
    process.stderr.write(printDefaults());
    if (flags.address || flags.subnet) out('\nError: You need to specify some config data using -useconf or -useconffile.\n');
    return 0;
  }
  const answer = query(flags, loaded);
  if (answer !== undefined) {
    out(answer);
    return 0;
  }
  return runNode(flags, loaded);
}

// Bytes, not command.ts's readStdin text: a UTF-16 config is recognised by its byte order mark.
async function readAllStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const command: Command = {
  summary: 'run or configure a Yggdrasil 0.5 node (the yggdrasil daemon\'s flags: -genconf, -useconffile, -address, …)',
  run: (args) => runPlanetary(args),
};

export default command;
