// `gridwire down <file.conf | ifname>`: deletes the interface. The daemon exits when its TUN is
// deleted and removes its UAPI socket; routes and addresses go with the interface.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, type Command } from './command.js';
import { run } from '../net/exec.js';
import { confLocation } from '../wireguard/conf.js';
import { socketPath } from '../wireguard/uapi-server.js';
import { uapiProbe } from '../wireguard/uapi-client.js';

const EXIT_WAIT_MS = 5000;

/** Deletes the interface and waits (bounded) for its daemon to remove the UAPI socket. */
export async function deleteInterface(ifname: string): Promise<void> {
  await run(['ip', 'link', 'delete', 'dev', ifname]);
  const path = socketPath(ifname);
  for (const deadline = Date.now() + EXIT_WAIT_MS; existsSync(path); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`${ifname} was deleted but its daemon still holds ${path} after ${EXIT_WAIT_MS} ms`);
  }
}

function ifnameOf(args: string[]): string {
  if (args.length !== 1) throw new CliError('usage: gridwire down <file.conf | interface>');
  try {
    return confLocation(args[0]!).ifname;
  } catch (err) {
    throw new CliError(`down: ${(err as Error).message}`);
  }
}

const down: Command = {
  summary: 'delete an interface brought up with `gridwire up`',
  async run(args) {
    const ifname = ifnameOf(args);
    if (!(await uapiProbe(ifname))) throw new CliError(`down: '${ifname}' is not a userspace WireGuard interface (no daemon at ${socketPath(ifname)})`, 1);
    await deleteInterface(ifname).catch((err: Error) => {
      throw new CliError(`down: ${err.message}`, 1);
    });
    return 0;
  },
};

export default down;
