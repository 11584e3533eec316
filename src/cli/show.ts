// `gridwire show [<ifname> | all | interfaces]`: wg(8)'s `show` for userspace interfaces, read from
// their UAPI sockets and printed byte for byte as wireguard-tools 1.0.20210914 prints it, colours
// (and WG_COLOR_MODE, WG_HIDE_KEYS) included. Kernel interfaces are not listed.
import { CliError, type Command } from './command.js';
import { encodeKey, publicKey } from '../keys/index.js';
import type { DeviceState, PeerState } from '../wireguard/uapi.js';
import { uapiGet, uapiInterfaces } from '../wireguard/uapi-client.js';
import { BOLD, CYAN, GREEN, RESET, YELLOW, ago, bytes, prettyTime, stripColour } from '../wireguard/show-format.js';

const hidden = (key: Uint8Array) => (process.env['WG_HIDE_KEYS'] === 'never' ? encodeKey(key) : '(hidden)');

/** wg sorts by latest handshake, newest first, peers that never completed one last. */
function byHandshake(a: PeerState, b: PeerState): number {
  const never = (p: PeerState) => !p.lastHandshakeSec && !p.lastHandshakeNsec;
  if (never(a) !== never(b)) return never(a) ? 1 : -1;
  return b.lastHandshakeSec - a.lastHandshakeSec || b.lastHandshakeNsec - a.lastHandshakeNsec;
}

/** One interface as `wg show` prints it, with colour codes; `now` in whole seconds. */
export function prettyPrint(name: string, dev: DeviceState, now: number): string {
  let out = `${RESET}${GREEN}${BOLD}interface${RESET}: ${GREEN}${name}${RESET}\n`;
  const field = (label: string, value: string) => (out += `  ${BOLD}${label}${RESET}: ${value}\n`);
  if (dev.privateKey) {
    field('public key', encodeKey(publicKey(dev.privateKey)));
    field('private key', hidden(dev.privateKey));
  }
  if (dev.listenPort) field('listening port', String(dev.listenPort));
  if (dev.fwmark) field('fwmark', `0x${dev.fwmark.toString(16)}`);
  const peers = [...dev.peers].sort(byHandshake);
  if (peers.length) out += '\n';
  out += peers
    .map((p) => {
      let s = `${YELLOW}${BOLD}peer${RESET}: ${YELLOW}${encodeKey(p.publicKey)}${RESET}\n`;
      const line = (label: string, value: string) => (s += `  ${BOLD}${label}${RESET}: ${value}\n`);
      if (p.presharedKey) line('preshared key', hidden(p.presharedKey));
      if (p.endpoint) line('endpoint', p.endpoint);
      line('allowed ips', p.allowedIps.map((a) => a.replace('/', `${CYAN}/${RESET}`)).join(', ') || '(none)');
      if (p.lastHandshakeSec) line('latest handshake', ago(p.lastHandshakeSec, now));
      if (BigInt(p.rxBytes) || BigInt(p.txBytes)) line('transfer', `${bytes(p.rxBytes)} received, ${bytes(p.txBytes)} sent`);
      if (p.persistentKeepalive) line('persistent keepalive', `every ${prettyTime(p.persistentKeepalive)}`);
      return s;
    })
    .join('\n');
  return out;
}

/** Colours as wg decides: WG_COLOR_MODE=always|never, otherwise only on a terminal. */
function colour(text: string): string {
  const mode = process.env['WG_COLOR_MODE'];
  const on = mode === 'always' || (mode !== 'never' && process.stdout.isTTY === true);
  return on ? text : stripColour(text);
}

async function get(ifname: string): Promise<DeviceState> {
  try {
    return await uapiGet(ifname);
  } catch (err) {
    throw new CliError(`show: unable to access interface ${ifname}: ${(err as Error).message}`, 1);
  }
}

const now = () => Math.floor(Date.now() / 1000);

const show: Command = {
  summary: 'show userspace WireGuard interfaces as `wg show` does',
  async run(args) {
    if (args.length > 1) throw new CliError('usage: gridwire show [<interface> | all | interfaces]');
    const [what = 'all'] = args;
    if (what === 'interfaces') {
      const names = await uapiInterfaces();
      process.stdout.write(names.length ? `${names.join(' ')}\n` : '');
    } else if (what === 'all') {
      const blocks: string[] = [];
      for (const name of await uapiInterfaces()) {
        // An interface can vanish between listing and reading; wg reports it and goes on.
        const dev = await uapiGet(name).catch((err: Error) => void process.stderr.write(`gridwire: show: unable to access interface ${name}: ${err.message}\n`));
        if (dev) blocks.push(prettyPrint(name, dev, now()));
      }
      process.stdout.write(colour(blocks.join('\n')));
    } else {
      process.stdout.write(colour(prettyPrint(what, await get(what), now())));
    }
    return 0;
  },
};

export default show;
