// `gridwire keys [--keystore DIR] list | create <name> [--type wireguard|planetary] | rotate <name> |
// show <name> [--private]`: the keystore from the command line. Public keys only, unless `show --private`.
import { CliError, type Command } from './command.js';
import { defaultKeystoreDir, isKeyType, Keystore, KeystoreError, KEY_TYPES, type KeyType, type StoredKey } from '../keystore/index.js';
import { CODECS } from '../keystore/key-types.js';

const USAGE =
  'usage: gridwire keys [--keystore DIR] list\n' +
  '       gridwire keys [--keystore DIR] create <name> [--type wireguard|planetary]\n' +
  '       gridwire keys [--keystore DIR] rotate <name>\n' +
  '       gridwire keys [--keystore DIR] show <name> [--private]';

interface Args {
  dir: string;
  action: string;
  name?: string;
  type: KeyType;
  showPrivate: boolean;
}

function parse(args: string[]): Args {
  const out: Args = { dir: defaultKeystoreDir(), action: '', type: 'wireguard', showPrivate: false };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new CliError(`keys: ${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--keystore') out.dir = value();
    else if (a === '--type') {
      const t = value();
      if (!isKeyType(t)) throw new CliError(`keys: unknown key type '${t}' (expected ${KEY_TYPES.join(' or ')})`);
      out.type = t;
    } else if (a === '--private') out.showPrivate = true;
    else if (a.startsWith('-')) throw new CliError(`keys: unknown option '${a}'\n${USAGE}`);
    else positional.push(a);
  }
  const [action, name, ...extra] = positional;
  const wantsName = action === 'create' || action === 'rotate' || action === 'show';
  if (!action || !['list', 'create', 'rotate', 'show'].includes(action) || extra.length || wantsName !== (name !== undefined)) {
    throw new CliError(USAGE);
  }
  if (out.showPrivate && action !== 'show') throw new CliError(`keys: --private only goes with show\n${USAGE}`);
  return { ...out, action, ...(name !== undefined && { name }) };
}

const line = (k: StoredKey) => [k.name, k.type, k.publicKey, k.address ?? ''].join('\t').trimEnd();

async function act(store: Keystore, a: Args): Promise<string> {
  switch (a.action) {
    case 'list':
      return (await store.list()).map((k) => `${line(k)}\n`).join('');
    case 'create': {
      const k = await store.create(a.name!, a.type);
      return `${k.publicKey}\n`;
    }
    case 'rotate': {
      const k = await store.rotate(a.name!);
      process.stderr.write(`gridwire: ${a.name} rotated; the previous key is kept as ${k.previous.name}\n`);
      return `${k.publicKey}\n`;
    }
    default: {
      const k = await store.load(a.name!);
      try {
        const fields = [`name: ${k.name}`, `type: ${k.type}`, `public key: ${k.publicKey}`];
        if (k.address) fields.push(`address: ${k.address}`);
        if (a.showPrivate) fields.push(`private key: ${CODECS[k.type].format(k.privateKey)}`);
        return `${fields.join('\n')}\n`;
      } finally {
        k.privateKey.fill(0);
      }
    }
  }
}

const keys: Command = {
  summary: 'list, create, rotate and show the keys in the keystore',
  async run(args) {
    const a = parse(args);
    try {
      process.stdout.write(await act(new Keystore(a.dir), a));
    } catch (err) {
      if (err instanceof KeystoreError) throw new CliError(`keys: ${err.message}`, err.kind === 'input' ? 2 : 1);
      throw err;
    }
    return 0;
  },
};

export default keys;
