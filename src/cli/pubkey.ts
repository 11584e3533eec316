import { encodeKey, KeyFormatError, parseKeyText, publicKey } from '../keys/index.js';
import { CliError, readStdin, type Command } from './command.js';

const pubkey: Command = {
  summary: 'read a WireGuard private key on stdin, print its public key (like wg pubkey)',
  async run(args) {
    if (args.length > 0) throw new CliError('usage: gridwire pubkey < private-key (takes no arguments)');
    let key: Uint8Array;
    try {
      key = parseKeyText(await readStdin());
    } catch (err) {
      if (err instanceof KeyFormatError) throw new CliError(`private key on standard input: ${err.message}`);
      throw err;
    }
    process.stdout.write(`${encodeKey(publicKey(key))}\n`);
    return 0;
  },
};

export default pubkey;
