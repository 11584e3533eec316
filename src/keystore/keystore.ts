// Named private keys in one directory (0700), one file per key (0600): `<name>.wg` for WireGuard,
// `<name>.planetary` for planetary identities. Every write goes to a fresh temporary file that is then
// linked or renamed into place, so a reader sees the old key or the new one, never half a key; rotate
// keeps the key it replaces as `<name>.prev`. A name is one key: create refuses a name taken by either type,
// and a name found as both files (made by hand) is listed once per file with its type, warned about, and
// refused by load and rotate, which could only guess which one was meant.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFormatError } from '../keys/index.js';
import { WORLD_ACCESS } from '../keys/keyfile.js';
import { KeystoreError } from './errors.js';
import { CODECS, KEY_TYPES, type KeyType } from './key-types.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const PREV = '.prev';
// As wg-quick: others must never read a private key (WORLD_ACCESS); group access is a deliberate setup
// worth a warning.
const GROUP_ACCESS = 0o070;

export interface StoredKey {
  readonly name: string;
  readonly type: KeyType;
  readonly publicKey: string;
  /** Planetary keys: the 200::/7 address. */
  readonly address?: string;
}

export interface LoadedKey extends StoredKey {
  /** The caller owns these bytes and should zero them when done. */
  readonly privateKey: Uint8Array;
}

export type Warn = (message: string) => void;

/** A key reference: a name, or a name with `.prev` for the key the last rotation replaced. */
export function checkKeyName(ref: string, { allowPrev = false } = {}): void {
  const base = allowPrev && ref.endsWith(PREV) ? ref.slice(0, -PREV.length) : ref;
  if (!NAME.test(base)) {
    throw new KeystoreError(
      `invalid key name ${JSON.stringify(ref)}: use 1-64 letters, digits, '-' or '_', starting with a letter or digit`,
      'input',
    );
  }
}

const modeText = (mode: number) => `0${(mode & 0o777).toString(8)}`;

export class Keystore {
  constructor(
    readonly dir: string,
    private readonly warn: Warn = (m) => process.stderr.write(`${m}\n`),
  ) {}

  /** All key files, previous ones included, sorted by name, each with the type its extension gives. */
  async list(): Promise<StoredKey[]> {
    const entries = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw new KeystoreError(`cannot read keystore ${this.dir}: ${err.code ?? err.message}`, 'state');
    });
    await this.checkDir();
    const typesByRef = new Map<string, KeyType[]>();
    for (const type of KEY_TYPES) {
      for (const file of entries.filter((f) => f.endsWith(CODECS[type].extension))) {
        const ref = file.slice(0, -CODECS[type].extension.length);
        if (isRef(ref)) typesByRef.set(ref, [...(typesByRef.get(ref) ?? []), type]);
      }
    }
    const keys: StoredKey[] = [];
    for (const ref of [...typesByRef.keys()].sort()) {
      const types = typesByRef.get(ref)!;
      if (types.length > 1) this.warn(`Warning: ${this.ambiguous(ref, types).message}`);
      for (const type of types) {
        try {
          const { privateKey, ...stored } = await this.read(ref, type);
          privateKey.fill(0);
          keys.push(stored);
        } catch (err) {
          // One bad file must not hide the others; it is named, and refused again when used.
          if (!(err instanceof KeystoreError)) throw err;
          this.warn(`Warning: ${err.message}`);
        }
      }
    }
    return keys;
  }

  /** Generates and stores a new key; refuses to replace an existing one. */
  async create(name: string, type: KeyType): Promise<StoredKey> {
    checkKeyName(name);
    await this.ensureDir();
    const existing = await this.typesOf(name);
    if (existing.length) throw new KeystoreError(`key '${name}' already exists (${existing.join(' and ')}); use rotate to replace it`, 'input');
    const privateKey = CODECS[type].generate();
    try {
      const tmp = await this.writeTemp(CODECS[type].format(privateKey));
      try {
        // link() fails if the name was taken meanwhile, where rename() would silently replace it.
        await link(tmp, this.path(name, type));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeystoreError(`key '${name}' already exists`, 'input');
        this.writeFailed(err as NodeJS.ErrnoException);
      } finally {
        await rm(tmp, { force: true });
      }
      return describe(name, type, privateKey);
    } finally {
      privateKey.fill(0);
    }
  }

  /** Replaces a key with a new one of the same type, keeping the old one as `<name>.prev`. */
  async rotate(name: string): Promise<StoredKey & { previous: StoredKey }> {
    checkKeyName(name);
    const old = await this.load(name);
    const fresh = CODECS[old.type].generate();
    try {
      // The current key stays in place until the very last step: a crash anywhere leaves a usable key.
      const prevTmp = await this.writeTemp(CODECS[old.type].format(old.privateKey));
      await this.moveIntoPlace(prevTmp, this.path(name + PREV, old.type));
      await this.moveIntoPlace(await this.writeTemp(CODECS[old.type].format(fresh)), this.path(name, old.type));
      const { privateKey: _, ...previous } = old;
      return { ...describe(name, old.type, fresh), previous: { ...previous, name: name + PREV } };
    } finally {
      old.privateKey.fill(0);
      fresh.fill(0);
    }
  }

  /** Reads one key (a name or `<name>.prev`), refusing a file others can read. */
  async load(ref: string): Promise<LoadedKey> {
    checkKeyName(ref, { allowPrev: true });
    await this.checkDir();
    const types = await this.typesOf(ref);
    if (types.length === 0) throw new KeystoreError(`no key named '${ref}' in ${this.dir}`, 'input');
    if (types.length > 1) throw this.ambiguous(ref, types);
    return this.read(ref, types[0]!);
  }

  private async read(ref: string, type: KeyType): Promise<LoadedKey> {
    const path = this.path(ref, type);
    // O_NONBLOCK: opening a FIFO placed here would otherwise block until some writer opened it.
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
      throw new KeystoreError(`cannot open ${path}: ${err.code === 'ELOOP' ? 'it is a symbolic link' : (err.code ?? err.message)}`, 'state');
    });
    let text: string;
    try {
      const info = await file.stat();
      if (!info.isFile()) throw new KeystoreError(`${path} is not a regular file`, 'state');
      const { mode } = info;
      if (mode & WORLD_ACCESS) {
        throw new KeystoreError(`${path} is world accessible (mode ${modeText(mode)}); refusing to use it: chmod 600 ${path}`, 'state');
      }
      if (mode & GROUP_ACCESS) this.warn(`Warning: \`${path}' is group accessible (mode ${modeText(mode)})`);
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
    let privateKey: Uint8Array;
    try {
      privateKey = CODECS[type].parse(text);
    } catch (err) {
      if (err instanceof KeyFormatError) throw new KeystoreError(`${path}: ${err.message}`, 'state');
      throw err;
    }
    return { ...describe(ref, type, privateKey), privateKey };
  }

  private path(ref: string, type: KeyType): string {
    return join(this.dir, ref + CODECS[type].extension);
  }

  private async typesOf(ref: string): Promise<KeyType[]> {
    const found: KeyType[] = [];
    for (const type of KEY_TYPES) {
      if (await lstat(this.path(ref, type)).then(() => true, () => false)) found.push(type);
    }
    return found;
  }

  private ambiguous(ref: string, types: readonly KeyType[]): KeystoreError {
    return new KeystoreError(`key '${ref}' is stored twice, as ${types.map((t) => this.path(ref, t)).join(' and ')}; remove or rename one`, 'state');
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      throw new KeystoreError(`cannot create keystore ${this.dir}: ${err.code ?? err.message}`, 'state');
    });
    await this.checkDir();
  }

  private async checkDir(): Promise<void> {
    const info = await stat(this.dir).catch(() => undefined);
    if (info && !info.isDirectory()) throw new KeystoreError(`keystore ${this.dir} is not a directory`, 'state');
    if (info && info.mode & 0o077) this.warn(`Warning: keystore \`${this.dir}' is accessible by others (mode ${modeText(info.mode)}); chmod 700 it`);
  }

  /** The one-line error for a failed write to the keystore (full disk, read-only, not ours). */
  private readonly writeFailed = (err: NodeJS.ErrnoException): never => {
    throw new KeystoreError(`cannot write to keystore ${this.dir}: ${err.code ?? err.message}`, 'state');
  };

  /** Renames a temporary key file over `dest`; on failure the temporary file (a private key) goes too. */
  private async moveIntoPlace(tmp: string, dest: string): Promise<void> {
    await rename(tmp, dest).catch(async (err: NodeJS.ErrnoException) => {
      await rm(tmp, { force: true });
      this.writeFailed(err);
    });
  }

  /** A new 0600 file holding the key text, synced to disk before anyone renames it into place. */
  private async writeTemp(text: string): Promise<string> {
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const file = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch(this.writeFailed);
    try {
      await file.chmod(0o600);
      await file.writeFile(`${text}\n`);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(tmp, { force: true });
      this.writeFailed(err as NodeJS.ErrnoException);
    }
    await file.close();
    return tmp;
  }
}

function isRef(ref: string): boolean {
  try {
    checkKeyName(ref, { allowPrev: true });
    return true;
  } catch {
    return false;
  }
}

function describe(name: string, type: KeyType, privateKey: Uint8Array): StoredKey {
  const codec = CODECS[type];
  return { name, type, publicKey: codec.publicKey(privateKey), ...(codec.address && { address: codec.address(privateKey) }) };
}

