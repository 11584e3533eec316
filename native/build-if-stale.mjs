// npm's install script. `npx gridwire` in a fresh clone links the package into npx's cache and runs its
// install script a second time, which rebuilt an addon just built by `npm install` (a minute on 2 cores).
// The build is skipped only when the addon exists, was built by this script for this Node and these
// settings, and is newer than every source; anything else rebuilds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'gridwire.node');
const stampFile = join(root, 'build', 'gridwire-build-stamp');
const stamp = JSON.stringify({ node: process.version, modules: process.versions.modules, sanitize: process.env.GRIDWIRE_SANITIZE ?? '' });

// native/tests holds the C++ tests and their own build outputs, none of which go into the addon.
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(root, 'native', 'tests')) newest = Math.max(newest, newestSource(path));
    } else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate() {
  if (!existsSync(addon) || !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) return false;
  const sources = Math.max(newestSource(join(root, 'native')), statSync(join(root, 'binding.gyp')).mtimeMs);
  return statSync(addon).mtimeMs > sources;
}

if (upToDate()) {
  console.log('gridwire: native addon is up to date, not rebuilt');
} else {
  const built = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
  if (built.error) console.error(`gridwire: cannot run node-gyp: ${built.error.message}`);
  if (built.status !== 0) process.exit(built.status ?? 1);
  writeFileSync(stampFile, stamp);
}
