// Where the keystore lives: GRIDWIRE_KEYSTORE, else /etc/gridwire for root (beside /etc/wireguard),
// else the user's config directory (XDG_CONFIG_HOME or ~/.config) under gridwire/.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultKeystoreDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  if (env['GRIDWIRE_KEYSTORE']) return env['GRIDWIRE_KEYSTORE'];
  if (uid === 0) return '/etc/gridwire';
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'gridwire');
}
