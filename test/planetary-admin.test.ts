// The planetary admin socket: byte-exact against the recorded yggdrasil 0.5.12 transcripts (fed by a fake
// PlanetaryState holding the same data), framing corner cases, and the real yggdrasilctl 0.5.12 run
// against it next to a real yggdrasil 0.5.12 node, comparing what yggdrasilctl prints for each.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../src/package-root.js';
import {
  startAdminServer,
  type AdminServer,
  type DebugRemoteRequest,
  type PlanetaryMulticastInterface,
  type PlanetaryPath,
  type PlanetaryPeer,
  type PlanetarySelf,
  type PlanetarySession,
  type PlanetaryState,
  type PlanetaryTreeEntry,
  type PlanetaryTun,
} from '../src/planetary/admin.js';
import { peerPath, requirePeer } from './lib/netns.js';

const VECTORS = join(packageRoot(), '..', 'shared', 'specs', 'yggdrasil-0.5-vectors');
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const KEY_A = '2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb';

type Json = Record<string, any>;

/** A PlanetaryState whose data is set from admin responses, so an answer can be compared with its source. */
class FakeState implements PlanetaryState {
  selfInfo: PlanetarySelf = { buildName: 'yggdrasil', buildVersion: '0.5.12', publicKey: unhex(KEY_A), routingEntries: 1 };
  peerList: PlanetaryPeer[] = [];
  treeList: PlanetaryTreeEntry[] = [];
  pathList: PlanetaryPath[] = [];
  sessionList: PlanetarySession[] = [];
  tunInfo: PlanetaryTun = { enabled: false };
  multicast: PlanetaryMulticastInterface[] = [];
  readonly configured = new Set<string>();
  readonly nodeInfos = new Map<string, unknown>();
  readonly debugAnswers = new Map<string, unknown>();

  self = () => this.selfInfo;
  peers = () => this.peerList;
  tree = () => this.treeList;
  paths = () => this.pathList;
  sessions = () => this.sessionList;
  tun = () => this.tunInfo;
  multicastInterfaces = () => this.multicast;

  addPeer(uri: string, intf: string): void {
    if (this.configured.has(`${uri} ${intf}`)) throw new Error('peer is already configured');
    this.configured.add(`${uri} ${intf}`);
  }

  removePeer(uri: string, intf: string): void {
    if (!this.configured.delete(`${uri} ${intf}`)) throw new Error('peer is not configured');
  }

  /** Unknown keys never answer, as an unreachable node doesn't. */
  nodeInfo(key: Uint8Array): Promise<unknown> {
    const info = this.nodeInfos.get(Buffer.from(key).toString('hex'));
    return info === undefined ? new Promise(() => {}) : Promise.resolve(info);
  }

  debugRemote(request: DebugRemoteRequest, key: Uint8Array): Promise<unknown> {
    const answer = this.debugAnswers.get(`${request} ${Buffer.from(key).toString('hex')}`);
    return answer === undefined ? new Promise(() => {}) : Promise.resolve(answer);
  }

  /** Takes over the data of a successful response to `request` (as yggdrasil sent it). */
  learn(request: string, args: Json, r: Json): void {
    const name = request.toLowerCase();
    if (name === 'getself') this.selfInfo = { buildName: r.build_name, buildVersion: r.build_version, publicKey: unhex(r.key), routingEntries: r.routing_entries };
    else if (name === 'getpeers') this.peerList = r.peers.map(peerFrom);
    else if (name === 'gettree') this.treeList = r.tree.map((t: Json) => ({ publicKey: unhex(t.key), parent: unhex(t.parent), sequence: t.sequence }));
    else if (name === 'getpaths') this.pathList = r.paths.map((p: Json) => ({ publicKey: unhex(p.key), path: p.path, sequence: p.sequence }));
    else if (name === 'getsessions') {
      this.sessionList = r.sessions.map((s: Json) => ({ publicKey: unhex(s.key), bytesReceived: s.bytes_recvd, bytesSent: s.bytes_sent, uptimeSeconds: s.uptime }));
    } else if (name === 'gettun') this.tunInfo = r.enabled ? { enabled: true, name: r.name, mtu: r.mtu } : { enabled: false };
    else if (name === 'getmulticastinterfaces') {
      this.multicast = r.multicast_interfaces.map((m: Json) => ({ name: m.name, address: m.address, beacon: m.beacon, listen: m.listen, hasPassword: m.password }));
    } else if (name === 'getnodeinfo') this.nodeInfos.set(args.key, r[args.key]);
    else if (name.startsWith('debug_remoteget')) {
      const kind = `get${name.slice('debug_remoteget'.length)}`.replace(/^get(.)/, (_, c: string) => `get${c.toUpperCase()}`);
      this.debugAnswers.set(`${kind} ${args.key}`, Object.values(r)[0]);
    }
  }
}

function peerFrom(p: Json): PlanetaryPeer {
  return {
    remote: p.remote ?? '',
    up: p.up,
    inbound: p.inbound,
    publicKey: p.key ? unhex(p.key) : undefined,
    port: p.port,
    priority: p.priority,
    cost: p.cost,
    bytesReceived: p.bytes_recvd ?? 0,
    bytesSent: p.bytes_sent ?? 0,
    rateReceived: p.rate_recvd ?? 0,
    rateSent: p.rate_sent ?? 0,
    uptimeSeconds: p.uptime ?? 0,
    latencyNs: p.latency ?? 0,
    lastError: p.last_error ? { message: p.last_error, agoNs: p.last_error_time } : undefined,
  };
}

/** Sends raw bytes, half-closes, and returns everything the server wrote before closing. */
function exchange(endpoint: string, raw: string, halfClose = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = endpoint.startsWith('unix://')
      ? connect(endpoint.slice('unix://'.length))
      : connect(Number(endpoint.split(':').pop()), '127.0.0.1');
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.write(raw, () => {
      if (halfClose) socket.end();
    });
  });
}

const transcripts: Array<{ request_raw: string; response_raw: string }> = readFileSync(join(VECTORS, 'admin-transcripts.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-admin-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function withServer(state: PlanetaryState, body: (server: AdminServer) => Promise<void>, listen?: string): Promise<void> {
  const server = await startAdminServer(listen ?? `unix://${join(dir, `s${Math.random().toString(36).slice(2)}.sock`)}`, state, { remoteTimeoutMs: 300 });
  assert.ok(server);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

describe('planetary admin socket: recorded yggdrasil 0.5.12 exchanges', () => {
  test(`all ${transcripts.length} transcript exchanges, byte for byte`, async () => {
    const state = new FakeState();
    await withServer(state, async (server) => {
      for (const { request_raw, response_raw } of transcripts) {
        const request = JSON.parse(request_raw);
        const expected = JSON.parse(response_raw);
        if (expected.status === 'success') state.learn(request.request, request.arguments ?? {}, expected.response);
        assert.equal(await exchange(server.endpoint, request_raw), response_raw, request_raw);
      }
    });
  });

  test('three requests on one keepalive connection', async () => {
    const { request_raw, response_raw } = JSON.parse(readFileSync(join(VECTORS, 'admin-keepalive-transcript.json'), 'utf8'));
    const state = new FakeState();
    state.selfInfo = { ...state.selfInfo, routingEntries: 2 };
    state.tunInfo = { enabled: true, name: 'ygg5a', mtu: 65535 };
    await withServer(state, async (server) => {
      assert.equal(await exchange(server.endpoint, request_raw, false), response_raw);
    });
  });
});

describe('planetary admin socket: framing as Go decodes it', () => {
  const cases: Array<[string, RegExp | string]> = [
    ['garbage\n', '{\n  "status": "error",\n  "error": "Failed to find request",\n  "request": {\n    "request": ""\n  },\n  "response": null\n}\n'],
    ['', /"error": "Failed to find request"/],
    ['{"request":5}', /"error": "Failed to unmarshal request",\n  "request": {\n    "request": ""\n  }/],
    ['[]', /"error": "Failed to unmarshal request"/],
    ['{"request":"getSelf","keepalive":"yes"}', /"error": "Failed to unmarshal request"/],
    ['null', /"error": "No request specified",\n  "request": {\n    "request": "",\n    "arguments": {}\n  }/],
    ['{"arguments":{}}', /"error": "No request specified"/],
    ['{"Request":"getTun","ARGUMENTS":{"b":1,"a":[2]}}', /"request": "getTun",\n    "arguments": {\n      "b": 1,\n      "a": \[\n        2\n      \]\n    }\n  },\n  "response": {\n    "enabled": false\n  }/],
    ['{"request":"getSelf","arguments":null}', /"arguments": null\n  },\n  "response": {\n    "build_name"/],
    ['{"request":"addPeer","arguments":{"uri":5}}', /"error": "json: cannot unmarshal number into Go struct field AddPeerRequest.uri of type string"/],
    ['{"request":"addPeer","arguments":{"uri":"quic://h:1"}}', /"error": "unable to parse peering URI: quic:\/\/ peering is not supported yet/],
    ['{"request":"getNodeInfo","arguments":{}}', /"error": "No remote public key supplied"/],
    ['{"request":"getNodeInfo","arguments":{"key":"zz"}}', /"error": "Failed to decode public key: encoding\/hex: invalid byte: U\+007A 'z'"/],
    ['{"request":"getNodeInfo","arguments":{"key":"abc"}}', /"error": "Failed to decode public key: encoding\/hex: odd length hex string"/],
    [`{"request":"getNodeInfo","arguments":{"key":"${'00'.repeat(32)}"}}`, /"error": "Timed out waiting for response"/],
    ['{"request":"debug_remoteGetSelf","arguments":{"key":"00"}}', /"error": "invalid public key length"/],
    [`{"request":"debug_remoteGetTree","arguments":{"key":"${'00'.repeat(32)}"}}`, /"error": "timeout"/],
    ['{"request":"LIST"}', /"request": "LIST",\n    "arguments": {}\n  },\n  "response": {\n    "list": \[/],
  ];
  for (const [raw, expected] of cases) {
    test(JSON.stringify(raw), async () => {
      await withServer(new FakeState(), async (server) => {
        const answer = await exchange(server.endpoint, raw);
        if (typeof expected === 'string') assert.equal(answer, expected);
        else assert.match(answer, expected);
      });
    });
  }

  test('a request nested thousands of levels deep is refused, and the server goes on answering', async () => {
    await withServer(new FakeState(), async (server) => {
      const deep = `{"request":"list","arguments":{"a":${'['.repeat(6000)}${']'.repeat(6000)}}}`;
      assert.match(await exchange(server.endpoint, deep), /"error": "Failed to find request"/);
      assert.match(await exchange(server.endpoint, '{"request":"getTun"}'), /"status": "success"/);
    });
  });

  test('a request split across writes, and a TCP endpoint', async () => {
    await withServer(
      new FakeState(),
      async (server) => {
        assert.match(server.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
        const answer = await new Promise<string>((resolve, reject) => {
          const socket = connect(Number(server.endpoint.split(':').pop()), '127.0.0.1');
          let out = '';
          socket.setEncoding('utf8');
          socket.on('data', (d: string) => (out += d));
          socket.on('end', () => resolve(out));
          socket.on('error', reject);
          socket.write('{"request":"ge');
          setTimeout(() => socket.write('tTun", "arguments": {}}\n'), 50);
        });
        assert.match(answer, /"status": "success"/);
      },
      'tcp://127.0.0.1:0',
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The real yggdrasilctl against the real yggdrasil and against this admin socket

const CTL_COMMANDS: string[][] = [
  ['list'],
  ['getSelf'],
  ['getPeers'],
  ['getTree'],
  ['getPaths'],
  ['getSessions'],
  ['getTun'],
  ['getMulticastInterfaces'],
  ['bogusCommand'],
  ['getNodeInfo'],
  ['getNodeInfo', 'key=zz'],
  ['removePeer', 'uri=tcp://127.0.0.1:1'],
  ['addPeer', 'uri=%%%'],
];

/** Asynchronous: the admin server under test runs in this process and must keep answering. */
function ctl(endpoint: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(peerPath('yggdrasilctl-0.5'), [`-endpoint=${endpoint}`, ...args], { timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('planetary admin socket: the real yggdrasilctl 0.5.12', () => {
  let node: ChildProcess | undefined;
  let realEndpoint = '';

  after(() => {
    node?.kill('SIGTERM');
  });

  test('prints the same for every command against gridwire as against yggdrasil 0.5.12', async (t) => {
    if (!requirePeer(t, ['yggdrasil-0.5', 'yggdrasilctl-0.5'])) return;
    const config = JSON.parse(readFileSync(join(VECTORS, 'configs', 'a.json'), 'utf8'));
    const sock = join(dir, 'real.sock');
    Object.assign(config, { IfName: 'none', Listen: [], MulticastInterfaces: [], AdminListen: `unix://${sock}` });
    writeFileSync(join(dir, 'real.json'), JSON.stringify(config));
    node = spawn(peerPath('yggdrasil-0.5'), ['-useconffile', join(dir, 'real.json'), '-logto', join(dir, 'real.log')], { stdio: 'ignore' });
    realEndpoint = `unix://${sock}`;
    // yggdrasilctl exits 0 even when it cannot connect, so look for the answer itself.
    await waitFor(async () => (await ctl(realEndpoint, ['-json', 'getSelf'])).stdout.includes('"key"'), 'yggdrasil admin socket');

    // Mirror the real node's state (the data yggdrasilctl shows) into the fake one.
    const state = new FakeState();
    for (const command of ['getSelf', 'getPeers', 'getTree', 'getPaths', 'getSessions', 'getTun', 'getMulticastInterfaces']) {
      state.learn(command, {}, JSON.parse((await ctl(realEndpoint, ['-json', command])).stdout));
    }
    await withServer(state, async (server) => {
      for (const args of CTL_COMMANDS) {
        for (const json of [[], ['-json']]) {
          const argv = [...json, ...args];
          const real = await ctl(realEndpoint, argv);
          const ours = await ctl(server.endpoint, argv);
          assert.equal(ours.stdout, real.stdout, `yggdrasilctl ${argv.join(' ')}: stdout`);
          assert.equal(ours.status, real.status, `yggdrasilctl ${argv.join(' ')}: exit code`);
          assert.equal(ours.stderr.replace(/^\S+ \S+ /gm, ''), real.stderr.replace(/^\S+ \S+ /gm, ''), `yggdrasilctl ${argv.join(' ')}: stderr`);
        }
      }
    });
  });

  test('shows gridwire\'s tables for peers, tree, paths and sessions (recorded two-node data)', async (t) => {
    if (!requirePeer(t, 'yggdrasilctl-0.5')) return;
    const state = new FakeState();
    for (const { request_raw, response_raw } of transcripts) {
      const request = JSON.parse(request_raw);
      const expected = JSON.parse(response_raw);
      if (expected.status === 'success') state.learn(request.request, request.arguments ?? {}, expected.response);
    }
    const B = '14c2ebc0d88203dee7ec9f1e067a2b109bd8874de62871ff420486bed143d652';
    await withServer(state, async (server) => {
      const expectations: Array<[string[], RegExp]> = [
        [['getPeers'], /^tcp:\/\/10\.97\.1\.2:45690\s+Up\s+In\s+203:b3d1:43f2:77df:c211:8136:e1f:985d\s/m],
        [['getTree'], new RegExp(`^${B}\\s+203:b3d1:43f2:77df:c211:8136:e1f:985d\\s+${B}\\s+1\\s`, 'm')],
        [['getPaths'], new RegExp(`^${B}\\s+203:b3d1:43f2:77df:c211:8136:e1f:985d\\s+\\[\\]\\s`, 'm')],
        [['getSessions'], new RegExp(`^${B}\\s+203:b3d1:43f2:77df:c211:8136:e1f:985d\\s`, 'm')],
        [['getTun'], /^TUN enabled:\s+true/m],
        [['getNodeInfo', `key=${B}`], /"buildversion": "0\.5\.12"/],
        [['addPeer', 'uri=tcp://10.0.0.9:1'], /^$/],
      ];
      for (const [args, pattern] of expectations) {
        const r = await ctl(server.endpoint, args);
        assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, pattern, args.join(' '));
      }
      const again = await ctl(server.endpoint, ['addPeer', 'uri=tcp://10.0.0.9:1']);
      assert.equal(again.stdout.trim(), 'Admin socket returned an error: peer is already configured');
      assert.equal(again.status, 1);
    });
  });
});
