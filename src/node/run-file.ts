// `gridwire up node.json`: load and check the file, run the node in the foreground until SIGINT,
// SIGTERM or one of its interfaces disappears, then take everything down again.
import { dirname, resolve } from 'node:path';
import { defaultKeystoreDir, Keystore } from '../keystore/index.js';
import { readPrivateKeyFile } from '../keys/keyfile.js';
import { parseNodeConfig } from './config.js';
import { startObserveHooks } from './observe-hooks.js';
import { NodeRunner } from './runner.js';

export interface RunFileOptions {
  /** --keystore: wins over the file's `keystore` and the default. */
  readonly keystore?: string;
}

export async function runNodeFile(path: string, options: RunFileOptions = {}): Promise<void> {
  // The file may hold private keys inline: read as a key file, with wg-quick's warning when others can
  // read it (logged once the logger exists).
  const warnings: string[] = [];
  const text = await readPrivateKeyFile(path, (m) => warnings.push(m)).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `'${path}' does not exist` : `cannot read '${path}': ${err.message}`);
  });
  const config = parseNodeConfig(text, path);
  const baseDir = dirname(resolve(path));
  const hooks = await startObserveHooks(config);
  for (const message of warnings) hooks.log.warn({ file: path }, message);
  const storeDir = options.keystore ?? (config.keystore !== undefined ? resolve(baseDir, config.keystore) : defaultKeystoreDir());
  const keystore = new Keystore(storeDir, (message) => hooks.log.warn({ keystore: storeDir }, message));
  const runner = await NodeRunner.start(config, { baseDir, keystore, hooks }).catch(async (err: Error) => {
    await hooks.close();
    throw err;
  });
  const reason = await new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
    runner.once('gone', done);
  });
  hooks.log.info({ reason }, 'shutting down');
  await runner.stop();
  await hooks.close();
}
