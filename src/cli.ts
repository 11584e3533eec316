#!/usr/bin/env node
// Entry point of the `gridwire` command. Each subcommand lives in its own module under cli/ and is
// loaded lazily, so `gridwire genkey` never pays for loading the data plane.
import { CliError, type Command } from './cli/command.js';

const commands: Record<string, () => Promise<{ default: Command }>> = {
  genkey: () => import('./cli/genkey.js'),
  pubkey: () => import('./cli/pubkey.js'),
  genpsk: () => import('./cli/genpsk.js'),
  wg: () => import('./cli/wg.js'),
  up: () => import('./cli/up.js'),
  down: () => import('./cli/down.js'),
  show: () => import('./cli/show.js'),
  planetary: () => import('./cli/planetary.js'),
  chain: () => import('./cli/chain.js'),
  bench: () => import('./cli/bench.js'),
  demo: () => import('./cli/demo.js'),
  keys: () => import('./cli/keys.js'),
  status: () => import('./cli/status.js'),
};

function usage(): string {
  return `usage: gridwire <command> [args]\n\ncommands: ${Object.keys(commands).join(', ')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`gridwire: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const mod = await load();
  return mod.default.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`gridwire: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`gridwire: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
