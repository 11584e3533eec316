// The installed package's root folder, found from any compiled module (dist/, build/ts/src/, build/ts/test/):
// the native addon, the CLI and the shared specs beside the checkout are located from it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'gridwire') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('gridwire: cannot find the package root (package.json named gridwire)');
    dir = up;
  }
}
