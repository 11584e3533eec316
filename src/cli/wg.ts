// `gridwire wg [-f|--foreground] <ifname>`: a drop-in for `wireguard-go <ifname>`. Creates the TUN
// and the UAPI socket, then serves `wg` until SIGINT/SIGTERM or until the interface is deleted.
// Without -f (or WG_PROCESS_FOREGROUND=1) it re-runs itself in the background and returns once the
// child reports the interface ready, so `wg` can configure it the moment this command exits.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { CliError, type Command } from './command.js';
import { WireGuardDevice } from '../wireguard/device.js';
import { UapiServer } from '../wireguard/uapi-server.js';

const READY_FD = 3;
const IFNAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

function parseArgs(args: string[]): { foreground: boolean; ifname: string } {
  let foreground = process.env['WG_PROCESS_FOREGROUND'] === '1';
  const rest: string[] = [];
  for (const a of args) {
    if (a === '-f' || a === '--foreground') foreground = true;
    else if (a.startsWith('-')) throw new CliError(`wg: unknown option '${a}'\nusage: gridwire wg [-f|--foreground] <ifname>`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new CliError('usage: gridwire wg [-f|--foreground] <ifname>');
  const ifname = rest[0]!;
  if (!IFNAME.test(ifname)) throw new CliError(`wg: '${ifname}' is not a valid interface name`);
  return { foreground, ifname };
}

async function detach(args: string[], ifname: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'wg', '-f', ...args.filter((a) => a !== '-f' && a !== '--foreground')], {
    detached: true,
    // Like wireguard-go, the daemon keeps no hold on the caller's terminal or pipes unless LOG_LEVEL asks
    // for its output; otherwise `gridwire wg x 2>&1 | cat` would never see end-of-file.
    stdio: ['ignore', 'ignore', process.env['LOG_LEVEL'] ? 'inherit' : 'ignore', 'pipe'],
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

async function runForeground(ifname: string): Promise<number> {
  let device: WireGuardDevice;
  try {
    device = WireGuardDevice.create({ name: ifname });
  } catch (err) {
    throw new CliError(`wg: cannot create ${ifname}: ${(err as Error).message}`, 1);
  }
  const server = await UapiServer.listen(ifname, { get: () => device.state(), set: (c) => device.apply(c) }).catch((err: Error) => {
    device.close();
    throw new CliError(`wg: ${err.message}`, 1);
  });
  process.stderr.write(`gridwire: ${ifname} up, UAPI at ${server.path}\n`);
  signalReady();
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    device.once('interface-gone', () => resolve('interface deleted'));
  });
  process.stderr.write(`gridwire: ${ifname} shutting down (${reason})\n`);
  await server.close();
  device.close();
  return 0;
}

const wg: Command = {
  summary: 'run a WireGuard interface like wireguard-go, configured with wg(8)',
  async run(args) {
    const { foreground, ifname } = parseArgs(args);
    return foreground ? runForeground(ifname) : detach(args, ifname);
  },
};

export default wg;
