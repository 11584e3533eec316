import { encodeKey, generatePrivateKey, warnIfWorldAccessibleOutput } from '../keys/index.js';
import { CliError, type Command } from './command.js';

/** A command that prints one fresh base64 key and a newline, exactly as `wg genkey|genpsk` does. */
export function keyGeneratingCommand(name: string, summary: string, generate: () => Uint8Array): Command {
  return {
    summary,
    async run(args) {
      if (args.length > 0) throw new CliError(`usage: gridwire ${name} (takes no arguments)`);
      warnIfWorldAccessibleOutput();
      process.stdout.write(`${encodeKey(generate())}\n`);
      return 0;
    },
  };
}

export default keyGeneratingCommand('genkey', 'print a new WireGuard private key (like wg genkey)', generatePrivateKey);
