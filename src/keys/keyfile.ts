// Files that hold secrets, with the permission warnings of wireguard-tools.
import { fstatSync } from 'node:fs';
import { open } from 'node:fs/promises';

export type Warn = (message: string) => void;

const toStderr: Warn = (message) => {
  process.stderr.write(`${message}\n`);
};

// wg and wg-quick only complain about access by "other"; a group-readable key (say root:systemd-network
// 0640) is a common deliberate setup.
export const WORLD_ACCESS = 0o007;

/** Writes a private key file with mode 0600, tightening an existing file before the secret lands. */
export async function writePrivateKeyFile(path: string, data: string | Uint8Array): Promise<void> {
  const file = await open(path, 'w', 0o600);
  try {
    // open()'s mode applies only to a file it creates; an existing file keeps whatever it had.
    await file.chmod(0o600);
    await file.writeFile(data);
  } finally {
    await file.close();
  }
}

/** Reads a private key file; warns as wg-quick does (same text) when others can access it. */
export async function readPrivateKeyFile(path: string, warn: Warn = toStderr): Promise<string> {
  const file = await open(path, 'r');
  try {
    // fstat of the opened file, so the mode checked is the mode of the file read.
    if ((await file.stat()).mode & WORLD_ACCESS) warn(`Warning: \`${path}' is world accessible`);
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/**
 * `wg genkey` and `wg genpsk` warn, with this exact text, when standard output is a regular file
 * that others can access (the umask let a key land in a world-readable file). The key is still written.
 */
export function warnIfWorldAccessibleOutput(fd = 1, warn: Warn = toStderr): void {
  let stats;
  try {
    stats = fstatSync(fd);
  } catch {
    return;
  }
  if (stats.isFile() && stats.mode & WORLD_ACCESS) {
    warn('Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.');
  }
}
