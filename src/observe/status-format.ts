// `gridwire status` as a person reads it: one aligned table per kind of thing, times and sizes worded as
// `wg show` words them (its own functions, without the colour codes).
import { ago, bytes, prettyTime, stripColour as plain } from '../wireguard/show-format.js';
import type { StatusReport } from './status.js';

const size = (n: number) => plain(bytes(Math.round(n)));
const duration = (seconds: number) => (seconds >= 1 ? plain(prettyTime(Math.floor(seconds))) : 'just now');

/** A long key as its first characters, enough to tell peers apart at a glance. */
export const shortKey = (key: string | null, n = 10) => (!key ? '(none)' : key.length > n + 1 ? `${key.slice(0, n)}…` : key);

/** Left-aligned columns two spaces apart, indented; a header row first. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd()).join('\n');
}

function section(title: string, body: string): string {
  return `${title}\n${body}\n`;
}

export function formatStatus(report: StatusReport): string {
  const now = Math.floor(report.time);
  const out: string[] = [];
  if (report.wireguard.length) {
    out.push(
      section('WireGuard interfaces', table(['INTERFACE', 'PUBLIC KEY', 'LISTEN PORT', 'PEERS'], report.wireguard.map((i) => [i.name, i.publicKey ?? '(no key)', String(i.listenPort), String(i.peers.length)]))),
    );
    const peers = report.wireguard.flatMap((i) =>
      i.peers.map((p) => [
        i.name,
        shortKey(p.publicKey),
        p.endpoint ?? '(none)',
        p.allowedIps.join(', ') || '(none)',
        p.latestHandshake === null ? 'never' : plain(ago(Math.floor(p.latestHandshake), now)),
        `${size(p.rxBytes)} / ${size(p.txBytes)}`,
      ]),
    );
    if (peers.length) out.push(section('WireGuard peers', table(['INTERFACE', 'PEER', 'ENDPOINT', 'ALLOWED IPS', 'LATEST HANDSHAKE', 'RX / TX'], peers)));
  }
  for (const node of report.planetary) {
    const position = node.tree
      ? [
          ['tree root', node.tree.root === node.key ? `${node.tree.root} (this node)` : node.tree.root],
          ['parent', node.tree.parent === node.key ? '(none: this node is the root)' : `${node.tree.parent} (depth ${node.tree.depth})`],
        ]
      : [['tree', 'not in the tree yet']];
    const self = [['address', node.address], ['subnet', node.subnet], ['public key', node.key], ...position, ['routing entries', String(node.routingEntries)], ['build', node.build]];
    out.push(section(`Planetary node (${node.endpoint})`, self.map(([k, v]) => `  ${k!.padEnd(16)}${v}`).join('\n')));
    if (node.peers.length) {
      const rows = node.peers.map((p) => [
        p.remote || '(inbound)',
        p.up ? 'up' : p.lastError ? `down: ${p.lastError}` : 'down',
        p.inbound ? 'in' : 'out',
        shortKey(p.key, 16),
        p.up ? duration(p.uptimeSeconds) : '',
        `${size(p.rxBytes)} / ${size(p.txBytes)}`,
      ]);
      out.push(section('Planetary peers', table(['URI', 'STATE', 'DIR', 'KEY', 'UPTIME', 'RX / TX'], rows)));
    }
    if (node.sessions.length) {
      const rows = node.sessions.map((s) => [s.address, shortKey(s.key, 16), duration(s.uptimeSeconds), `${size(s.rxBytes)} / ${size(s.txBytes)}`]);
      out.push(section('Planetary sessions', table(['ADDRESS', 'KEY', 'UPTIME', 'RX / TX'], rows)));
    }
  }
  if (report.problems.length) out.push(section('Problems', report.problems.map((p) => `  ${p.source}: ${p.message}`).join('\n')));
  if (!report.wireguard.length && !report.planetary.length) out.unshift('Nothing is running: no WireGuard UAPI socket answers and no planetary admin socket was found.\n');
  return out.join('\n');
}
