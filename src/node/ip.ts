// The ip(8) steps that put an interface on the host: addresses, MTU and up, routes.
import { exec } from '../net/exec.js';
import type { Table } from '../wireguard/conf.js';

export const family = (addr: string) => (addr.includes(':') ? '-6' : '-4');

/** Adds a route unless the table is off; in the main table, a covering route on the device is enough. */
export async function addRoute(ifname: string, prefix: string, table: Table, run: (argv: string[]) => Promise<string>): Promise<void> {
  if (table === 'off') return;
  const ip = ['ip', family(prefix), 'route'];
  if (typeof table === 'number') return void (await run([...ip, 'add', prefix, 'dev', ifname, 'table', String(table)]));
  // A covering route on the device already exists for prefixes inside an Address's subnet.
  if ((await exec([...ip, 'show', 'dev', ifname, 'match', prefix])).trim()) return;
  await run([...ip, 'add', prefix, 'dev', ifname]);
}

export async function interfaceExists(ifname: string): Promise<boolean> {
  return exec(['ip', 'link', 'show', 'dev', ifname]).then(() => true, () => false);
}
