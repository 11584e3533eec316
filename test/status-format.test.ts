// The pure parts of `gridwire status`: the tree position worked out from gettree, and the text layout
// of a crafted report (alignment, wording of times and sizes, the nothing-running message).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus, shortKey, table } from '../src/observe/status-format.js';
import { treePosition, type StatusReport } from '../src/observe/status.js';

test('status: tree position follows parents to the root and survives a tree still converging', () => {
  const tree = [
    { key: 'r', parent: 'r' },
    { key: 'p', parent: 'r' },
    { key: 's', parent: 'p' },
  ];
  assert.deepEqual(treePosition(tree, 's'), { root: 'r', parent: 'p', depth: 2 });
  assert.deepEqual(treePosition(tree, 'r'), { root: 'r', parent: 'r', depth: 0 });
  assert.equal(treePosition(tree, 'x'), null, 'not in the tree');
  assert.equal(treePosition([{ key: 's', parent: 'q' }], 's'), null, 'a parent not known yet');
  assert.equal(treePosition([{ key: 'a', parent: 'b' }, { key: 'b', parent: 'a' }], 'a'), null, 'a loop');
});

test('status: table columns line up; keys are shortened', () => {
  assert.equal(table(['A', 'LONGER'], [['xxxx', 'y'], ['z', '']]), '  A     LONGER\n  xxxx  y\n  z');
  assert.equal(shortKey('0123456789abcdef'), '0123456789…');
  assert.equal(shortKey('short'), 'short');
  assert.equal(shortKey(null), '(none)');
});

test('status: a crafted report, worded as wg words times and sizes', () => {
  const report: StatusReport = {
    time: 1_000_000,
    wireguard: [
      {
        name: 'wg0',
        publicKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        listenPort: 51820,
        peers: [
          { publicKey: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=', endpoint: '192.0.2.1:51820', allowedIps: ['10.0.0.2/32'], latestHandshake: 1_000_000 - 63, rxBytes: 1536, txBytes: 100, persistentKeepalive: 0 },
          { publicKey: 'CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=', endpoint: null, allowedIps: [], latestHandshake: null, rxBytes: 0, txBytes: 0, persistentKeepalive: 0 },
        ],
      },
    ],
    planetary: [
      {
        endpoint: 'unix:///run/y.sock',
        address: '200::1',
        subnet: '300::/64',
        key: 'aa',
        build: 'gridwire 0.1.0',
        routingEntries: 3,
        tree: { root: 'rr', parent: 'pp', depth: 2 },
        peers: [{ remote: 'tcp://192.0.2.9:1', up: false, inbound: false, key: '', address: '', rxBytes: 0, txBytes: 0, uptimeSeconds: 0, lastError: 'connection refused' }],
        sessions: [{ address: '200::2', key: 'bb', rxBytes: 3 * 1024 * 1024, txBytes: 5, uptimeSeconds: 3661 }],
      },
    ],
    problems: [{ source: '/var/run/wireguard/old.sock', message: 'dead socket: no daemon answers on it (connection refused)' }],
  };
  assert.equal(
    formatStatus(report),
    [
      'WireGuard interfaces',
      '  INTERFACE  PUBLIC KEY                                    LISTEN PORT  PEERS',
      '  wg0        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=  51820        2',
      '',
      'WireGuard peers',
      '  INTERFACE  PEER         ENDPOINT         ALLOWED IPS  LATEST HANDSHAKE         RX / TX',
      '  wg0        BBBBBBBBBB…  192.0.2.1:51820  10.0.0.2/32  1 minute, 3 seconds ago  1.50 KiB / 100 B',
      '  wg0        CCCCCCCCCC…  (none)           (none)       never                    0 B / 0 B',
      '',
      'Planetary node (unix:///run/y.sock)',
      '  address         200::1',
      '  subnet          300::/64',
      '  public key      aa',
      '  tree root       rr',
      '  parent          pp (depth 2)',
      '  routing entries 3',
      '  build           gridwire 0.1.0',
      '',
      'Planetary peers',
      '  URI                STATE                     DIR  KEY     UPTIME  RX / TX',
      '  tcp://192.0.2.9:1  down: connection refused  out  (none)          0 B / 0 B',
      '',
      'Planetary sessions',
      '  ADDRESS  KEY  UPTIME                      RX / TX',
      '  200::2   bb   1 hour, 1 minute, 1 second  3.00 MiB / 5 B',
      '',
      'Problems',
      '  /var/run/wireguard/old.sock: dead socket: no daemon answers on it (connection refused)',
      '',
    ].join('\n'),
  );
  assert.match(formatStatus({ time: 0, wireguard: [], planetary: [], problems: [] }), /^Nothing is running: /);
});
