// `-user user[:group]`: the daemon drops root once the TUN, listeners and admin socket are open, as
// yggdrasil 0.5.12 does — supplementary groups reduced to the one group, then the group, then the user.
// Names are looked up through NSS (getent); a number is taken as an id, as Go's os/user tries first.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Credentials {
  uid: number;
  gid: number;
}

// One passwd or group entry's fields, or undefined when NSS knows no such name or number.
async function getent(database: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  if (key === '' || key.includes(':')) return undefined;
  try {
    const { stdout } = await run('getent', [database, key], { timeout: 10_000 });
    return stdout.split('\n')[0]!.split(':');
  } catch (err) {
    if ((err as { code?: unknown }).code === 2) return undefined; // getent: key not found
    throw err;
  }
}

/** The uid and gid `spec` (`user` or `user:group`, names or numbers) stands for; throws naming what is unknown. */
export async function lookupCredentials(spec: string): Promise<Credentials> {
  const cut = spec.indexOf(':');
  const [user, group] = cut < 0 ? [spec, ''] : [spec.slice(0, cut), spec.slice(cut + 1)];
  const pw = await getent('passwd', user);
  if (!pw) throw new Error(`unknown user ${user}`);
  const uid = Number(pw[2]);
  let gid = Number(pw[3]);
  if (group !== '') {
    const gr = await getent('group', group);
    if (!gr) throw new Error(`unknown group ${group}`);
    gid = Number(gr[2]);
  }
  return { uid, gid };
}

/**
 * Becomes `c` for good. glibc applies each call to every thread of the process (its setxid broadcast), so
 * the engine's own threads lose root too.
 */
export function dropPrivileges(c: Credentials): void {
  process.setgroups!([c.gid]);
  process.setgid!(c.gid);
  process.setuid!(c.uid);
}
