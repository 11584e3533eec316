// `gridwire status [--json] [--admin <endpoint>]...`: what runs on this host — WireGuard interfaces
// (every UAPI socket), their peers, and planetary nodes (admin sockets, yggdrasil's by default) with
// their tree position, peers and sessions. Exit 0 when something answered, 1 when nothing runs (so
// scripts can test for it); dead sockets are listed as problems either way.
import { CliError, type Command } from './command.js';
import { parseAdminListen } from '../planetary/admin.js';
import { formatStatus } from '../observe/status-format.js';
import { gatherStatus } from '../observe/status.js';

const USAGE = 'usage: gridwire status [--json] [--admin unix:///path|tcp://host:port]...';

function parseArgs(args: string[]): { json: boolean; admins: string[] } {
  let json = false;
  const admins: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--admin' || a.startsWith('--admin=')) {
      const value = a === '--admin' ? args[++i] : a.slice('--admin='.length);
      if (!value) throw new CliError(`status: --admin needs an endpoint\n${USAGE}`);
      try {
        if (!parseAdminListen(value)) throw new Error(`'${value}' names no endpoint`);
      } catch (err) {
        throw new CliError(`status: --admin: ${(err as Error).message}\n${USAGE}`);
      }
      admins.push(value);
    } else throw new CliError(`status: unknown argument '${a}'\n${USAGE}`);
  }
  return { json, admins };
}

const status: Command = {
  summary: 'show running WireGuard interfaces and planetary nodes: peers, handshakes, tree position, traffic',
  async run(args) {
    const { json, admins } = parseArgs(args);
    const report = await gatherStatus({ admins });
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return report.wireguard.length || report.planetary.length ? 0 : 1;
  },
};

export default status;
