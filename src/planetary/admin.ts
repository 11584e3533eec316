// The admin socket of yggdrasil 0.5.12 (spec §8), byte for byte as yggdrasilctl expects it: a stream of
// JSON requests, each answered by Go's two-space indented JSON and a newline; the connection closes
// after the answer unless the request said `"keepalive": true`. The node feeds it through PlanetaryState.
import { chmodSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { addressForKey, subnetForKey } from '../keys/index.js';
import { goJson, goStruct, MAX_NESTING, nesting, type GoStruct, type GoValue } from './hjson.js';
import { parsePeerUri } from './uri.js';

// ---------------------------------------------------------------------------------------------------
// What the node provides

export interface PlanetarySelf {
  readonly buildName: string;
  readonly buildVersion: string;
  readonly publicKey: Uint8Array;
  /** Entries in the routing table (tree infos known). */
  readonly routingEntries: number;
}

export interface PlanetaryPeer {
  /** The peer's URI without query, or the inbound `tcp://ip:port`; '' omits it (yggdrasil does for some). */
  readonly remote: string;
  readonly up: boolean;
  readonly inbound: boolean;
  /** Undefined while the link is down or before its handshake. */
  readonly publicKey: Uint8Array | undefined;
  /** Our port number for this peer in the tree (0 while down). */
  readonly port: number;
  readonly priority: number;
  readonly cost: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** Bytes per second. */
  readonly rateReceived: number;
  readonly rateSent: number;
  readonly uptimeSeconds: number;
  /** Round-trip time in nanoseconds; 0 when unknown. */
  readonly latencyNs: number;
  /** The last dial/link error, and how long ago it happened in nanoseconds. */
  readonly lastError?: { readonly message: string; readonly agoNs: number };
}

export interface PlanetaryTreeEntry {
  readonly publicKey: Uint8Array;
  readonly parent: Uint8Array;
  readonly sequence: number;
}

export interface PlanetaryPath {
  readonly publicKey: Uint8Array;
  /** Ports from the root down. */
  readonly path: readonly number[];
  readonly sequence: number;
}

export interface PlanetarySession {
  readonly publicKey: Uint8Array;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly uptimeSeconds: number;
}

export type PlanetaryTun = { readonly enabled: false } | { readonly enabled: true; readonly name: string; readonly mtu: number };

export interface PlanetaryMulticastInterface {
  readonly name: string;
  /** The beacon's TLS listener, e.g. `[fe80::1%eth0]:41234` ('' when not beaconing). */
  readonly address: string;
  readonly beacon: boolean;
  readonly listen: boolean;
  readonly hasPassword: boolean;
}

export type DebugRemoteRequest = 'getSelf' | 'getPeers' | 'getTree';

/**
 * The running node as the admin socket sees it. Mutating and remote calls may be async; their errors'
 * messages are sent to the client as they are (yggdrasil's wording: `peer is already configured`,
 * `peer is not configured`).
 */
export interface PlanetaryState {
  self(): PlanetarySelf;
  peers(): readonly PlanetaryPeer[];
  tree(): readonly PlanetaryTreeEntry[];
  paths(): readonly PlanetaryPath[];
  sessions(): readonly PlanetarySession[];
  tun(): PlanetaryTun;
  multicastInterfaces(): readonly PlanetaryMulticastInterface[];
  /** `uri` has passed parsePeerUri; `sourceInterface` is '' for none. */
  addPeer(uri: string, sourceInterface: string): void | Promise<void>;
  removePeer(uri: string, sourceInterface: string): void | Promise<void>;
  /** The remote node's NodeInfo object; the admin socket gives up after its timeout. */
  nodeInfo(publicKey: Uint8Array): Promise<unknown>;
  /**
   * debug_remoteGet*: the remote's answer, `{key, routing_entries}` for getSelf (routing_entries as a
   * string, as yggdrasil sends it) or `{keys: [hex…]}` for getPeers/getTree.
   */
  debugRemote(request: DebugRemoteRequest, publicKey: Uint8Array): Promise<unknown>;
}

// ---------------------------------------------------------------------------------------------------
// Requests

/** An error answered to the client with this exact text. */
export class AdminError extends Error {}

interface Request {
  readonly name: string;
  /** The `arguments` value as sent (echoed back); `{}` when absent. */
  readonly rawArguments: GoValue;
  readonly keepAlive: boolean;
}

interface Handler {
  readonly description: string;
  readonly fields?: readonly string[];
  run(args: Record<string, unknown>): GoValue | Promise<GoValue>;
}

export interface AdminOptions {
  /** How long getNodeInfo and debug_remote* wait for the remote (yggdrasil: 6 s). */
  readonly remoteTimeoutMs?: number;
}

const REMOTE_TIMEOUT_MS = 6000;

function hex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

function byKey<T extends { readonly publicKey: Uint8Array }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
}

/** Go's hex.DecodeString errors, which yggdrasil passes on verbatim. */
function decodeHex(text: string): Uint8Array {
  const bad = /[^0-9a-fA-F]/.exec(text);
  if (bad) {
    const cp = bad[0].codePointAt(0)!;
    throw new AdminError(`encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${JSON.stringify(bad[0]).replace(/^"|"$/g, "'")}`);
  }
  if (text.length % 2) throw new AdminError('encoding/hex: odd length hex string');
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** Go's json field matching: case-insensitive, the last matching key wins. */
function goField(object: object, name: string): unknown {
  let found: unknown;
  for (const [k, v] of Object.entries(object)) if (k.toLowerCase() === name) found = v;
  return found;
}

/** A string argument as Go's json.Unmarshal into the handler's request struct would take it. */
function stringArg(args: Record<string, unknown>, name: string, struct: string): string {
  const value = goField(args, name);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    const kind = typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'bool' : Array.isArray(value) ? 'array' : 'object';
    throw new AdminError(`json: cannot unmarshal ${kind} into Go struct field ${struct}.${name} of type string`);
  }
  return value;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AdminError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Turns parsed JSON from the wire into writer values: objects keep their order (an echo, not a Go map). */
function asEcho(value: unknown): GoValue {
  if (Array.isArray(value)) return value.map(asEcho);
  if (typeof value === 'object' && value !== null) return new Map(Object.entries(value).map(([k, v]) => [k, asEcho(v)]));
  return value as GoValue;
}

function peerStruct(p: PlanetaryPeer): GoStruct {
  return goStruct([
    ['remote', p.remote || undefined],
    ['up', p.up],
    ['inbound', p.inbound],
    ['address', p.publicKey ? addressForKey(p.publicKey) : undefined],
    ['key', p.publicKey ? hex(p.publicKey) : ''],
    ['port', p.port],
    ['priority', p.priority],
    ['cost', p.cost],
    ['bytes_recvd', p.bytesReceived || undefined],
    ['bytes_sent', p.bytesSent || undefined],
    ['rate_recvd', p.rateReceived || undefined],
    ['rate_sent', p.rateSent || undefined],
    ['uptime', p.uptimeSeconds || undefined],
    ['latency', p.latencyNs || undefined],
    ['last_error_time', p.lastError?.agoNs || undefined],
    ['last_error', p.lastError?.message || undefined],
  ]);
}

/** yggdrasil's order: outbound first, then by key, priority, cost, and the longest-lived first. */
function comparePeers(a: PlanetaryPeer, b: PlanetaryPeer): number {
  const keyOf = (p: PlanetaryPeer) => (p.publicKey ? hex(p.publicKey) : '');
  return (
    Number(a.inbound) - Number(b.inbound) ||
    (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0) ||
    a.priority - b.priority ||
    a.cost - b.cost ||
    b.uptimeSeconds - a.uptimeSeconds
  );
}

function keyArg(args: Record<string, unknown>, struct: string): Uint8Array {
  return decodeHex(stringArg(args, 'key', struct));
}

function handlers(state: PlanetaryState, options: AdminOptions): Record<string, Handler> {
  const timeoutMs = options.remoteTimeoutMs ?? REMOTE_TIMEOUT_MS;
  const debugRemote = (request: DebugRemoteRequest): Handler => ({
    description: 'Debug use only',
    fields: ['key'],
    async run(args) {
      const key = keyArg(args, `DebugRemote${request.slice(3)}Request`);
      if (key.length !== 32) throw new AdminError('invalid public key length');
      const answer = await withTimeout(state.debugRemote(request, key), timeoutMs, 'timeout');
      return new Map([[addressForKey(key), answer as GoValue]]);
    },
  });
  const peerChange = (verb: 'add' | 'remove'): Handler => ({
    description: verb === 'add' ? 'Add a peer to the peer list' : 'Remove a peer from the peer list',
    fields: ['uri', 'interface'],
    async run(args) {
      const struct = verb === 'add' ? 'AddPeerRequest' : 'RemovePeerRequest';
      const uri = stringArg(args, 'uri', struct);
      const intf = stringArg(args, 'interface', struct);
      try {
        parsePeerUri(uri);
      } catch (err) {
        throw new AdminError(`unable to parse peering URI: ${(err as Error).message}`);
      }
      await (verb === 'add' ? state.addPeer(uri, intf) : state.removePeer(uri, intf));
      return new Map();
    },
  });
  return {
    addpeer: peerChange('add'),
    removepeer: peerChange('remove'),
    debug_remotegetpeers: debugRemote('getPeers'),
    debug_remotegetself: debugRemote('getSelf'),
    debug_remotegettree: debugRemote('getTree'),
    getmulticastinterfaces: {
      description: 'Show which interfaces multicast is enabled on',
      run: () =>
        goStruct([
          [
            'multicast_interfaces',
            state.multicastInterfaces().map((m) =>
              goStruct([
                ['name', m.name],
                ['address', m.address],
                ['beacon', m.beacon],
                ['listen', m.listen],
                ['password', m.hasPassword],
              ]),
            ),
          ],
        ]),
    },
    getnodeinfo: {
      description: 'Request nodeinfo from a remote node by its public key',
      fields: ['key'],
      async run(args) {
        const text = stringArg(args, 'key', 'GetNodeInfoRequest');
        if (text === '') throw new AdminError('No remote public key supplied');
        let key: Uint8Array;
        try {
          key = decodeHex(text);
        } catch (err) {
          throw new AdminError(`Failed to decode public key: ${(err as Error).message}`);
        }
        if (key.length !== 32) throw new AdminError('invalid public key length');
        const info = await withTimeout(state.nodeInfo(key), timeoutMs, 'Timed out waiting for response');
        // The remote's NodeInfo is decoded into a Go map, so its keys come back sorted.
        return new Map([[hex(key), info as GoValue]]);
      },
    },
    getpaths: {
      description: 'Show established paths through this node',
      run: () =>
        goStruct([
          [
            'paths',
            byKey(state.paths()).map((p) =>
              goStruct([
                ['address', addressForKey(p.publicKey)],
                ['key', hex(p.publicKey)],
                ['path', [...p.path]],
                ['sequence', p.sequence],
              ]),
            ),
          ],
        ]),
    },
    getpeers: {
      description: 'Show directly connected peers',
      run: () => goStruct([['peers', [...state.peers()].sort(comparePeers).map(peerStruct)]]),
    },
    getself: {
      description: 'Show details about this node',
      run: () => {
        const self = state.self();
        return goStruct([
          ['build_name', self.buildName],
          ['build_version', self.buildVersion],
          ['key', hex(self.publicKey)],
          ['address', addressForKey(self.publicKey)],
          ['routing_entries', self.routingEntries],
          ['subnet', subnetForKey(self.publicKey)],
        ]);
      },
    },
    getsessions: {
      description: 'Show established traffic sessions with remote nodes',
      run: () =>
        goStruct([
          [
            'sessions',
            byKey(state.sessions()).map((s) =>
              goStruct([
                ['address', addressForKey(s.publicKey)],
                ['key', hex(s.publicKey)],
                ['bytes_recvd', s.bytesReceived],
                ['bytes_sent', s.bytesSent],
                ['uptime', s.uptimeSeconds],
              ]),
            ),
          ],
        ]),
    },
    gettree: {
      description: 'Show known Tree entries',
      run: () =>
        goStruct([
          [
            'tree',
            byKey(state.tree()).map((t) =>
              goStruct([
                ['address', addressForKey(t.publicKey)],
                ['key', hex(t.publicKey)],
                ['parent', hex(t.parent)],
                ['sequence', t.sequence],
              ]),
            ),
          ],
        ]),
    },
    gettun: {
      description: "Show information about the node's TUN interface",
      run: () => {
        const tun = state.tun();
        return tun.enabled
          ? goStruct([
              ['enabled', true],
              ['name', tun.name],
              ['mtu', tun.mtu],
            ])
          : goStruct([['enabled', false]]);
      },
    },
  };
}

function listHandler(table: Record<string, Handler>): Handler {
  return {
    description: 'List available commands',
    run: () =>
      goStruct([
        [
          'list',
          Object.keys(table)
            .sort()
            .map((command) =>
              goStruct([
                ['command', command],
                ['description', table[command]!.description],
                ['fields', table[command]!.fields ? [...table[command]!.fields!] : undefined],
              ]),
            ),
        ],
      ]),
  };
}

/** Go's json.Unmarshal into yggdrasil's request struct: field names match case-insensitively. */
function decodeRequest(value: unknown): Request | AdminError {
  const unmarshal = new AdminError('Failed to unmarshal request');
  if (value === null) return { name: '', rawArguments: new Map(), keepAlive: false };
  if (typeof value !== 'object' || Array.isArray(value)) return unmarshal;
  const name = goField(value, 'request') ?? '';
  const keepAlive = goField(value, 'keepalive') ?? false;
  const args = goField(value, 'arguments');
  if (typeof name !== 'string' || typeof keepAlive !== 'boolean') return unmarshal;
  return { name, rawArguments: args === undefined ? new Map() : asEcho(args), keepAlive };
}

/** The admin protocol without the socket: one request value in, the response text out. */
export class AdminDispatcher {
  private readonly table: Record<string, Handler>;

  constructor(state: PlanetaryState, options: AdminOptions = {}) {
    this.table = handlers(state, options);
    // Registered last but listed like any other command, itself included.
    this.table.list = listHandler(this.table);
  }

  /** Answers one decoded request value (undefined: the stream had no valid JSON value). */
  async answer(value: unknown | undefined): Promise<{ text: string; keepAlive: boolean }> {
    if (value === undefined) return { text: respond(undefined, new AdminError('Failed to find request')), keepAlive: false };
    const request = decodeRequest(value);
    if (request instanceof AdminError) return { text: respond(undefined, request), keepAlive: false };
    return { text: respond(request, await this.run(request)), keepAlive: request.keepAlive };
  }

  private async run(request: Request): Promise<GoValue | AdminError> {
    if (request.name === '') return new AdminError('No request specified');
    const name = request.name.toLowerCase();
    const handler = this.table[name];
    if (!handler) return new AdminError(`Unknown action '${name}', try 'list' for help`);
    const args = request.rawArguments instanceof Map ? Object.fromEntries(request.rawArguments) : {};
    try {
      return await handler.run(args);
    } catch (err) {
      return err instanceof AdminError ? err : new AdminError((err as Error).message ?? String(err));
    }
  }
}

function respond(request: Request | undefined, result: GoValue | AdminError): string {
  const echo = goStruct([
    ['request', request?.name ?? ''],
    ['arguments', request?.rawArguments],
    ['keepalive', request?.keepAlive || undefined],
  ]);
  const failed = result instanceof AdminError;
  return `${goJson(
    goStruct([
      ['status', failed ? 'error' : 'success'],
      ['error', failed ? result.message : undefined],
      ['request', echo],
      ['response', failed ? null : result],
    ]),
  )}\n`;
}

// ---------------------------------------------------------------------------------------------------
// The request stream

type Scan = { value: unknown; rest: string } | 'incomplete' | 'invalid';

const JSON_START = /[{["\-0-9tfn]/;

/** Splits the first JSON value off a stream buffer, as Go's json.Decoder reads one value at a time. */
export function scanJsonValue(buffer: string, ended: boolean): Scan {
  const start = buffer.search(/\S/);
  if (start < 0) return ended ? 'invalid' : 'incomplete';
  if (!JSON_START.test(buffer[start]!)) return 'invalid';
  const end = valueEnd(buffer, start, ended);
  if (end === undefined) return ended ? 'invalid' : 'incomplete';
  let value: unknown;
  try {
    value = JSON.parse(buffer.slice(start, end));
  } catch {
    return 'invalid';
  }
  // Echoing a request back recurses once per level: a deep enough one would overflow the stack.
  return nesting(value) > MAX_NESTING ? 'invalid' : { value, rest: buffer.slice(end) };
}

function valueEnd(s: string, start: number, ended: boolean): number | undefined {
  const open = s[start]!;
  if (open !== '{' && open !== '[' && open !== '"') {
    // A bare number or literal is only complete once something follows it, or the stream ends.
    const m = /[\s,\]}{["]/.exec(s.slice(start));
    return m ? start + m.index : ended ? s.length : undefined;
  }
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      i = stringEnd(s, i);
      if (i < 0) return undefined;
      if (depth === 0) return i + 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  return undefined;
}

function stringEnd(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

function serveConnection(socket: Socket, dispatcher: AdminDispatcher): void {
  let buffer = '';
  let ended = false;
  let busy = false;
  let finished = false;
  const pump = async (): Promise<void> => {
    if (busy || finished) return;
    busy = true;
    try {
      for (;;) {
        const scan = scanJsonValue(buffer, ended);
        if (scan === 'incomplete') return;
        if (scan !== 'invalid') buffer = scan.rest;
        const { text, keepAlive } = await dispatcher.answer(scan === 'invalid' ? undefined : scan.value);
        if (socket.destroyed) return;
        socket.write(text);
        if (!keepAlive || scan === 'invalid') {
          finished = true;
          socket.end();
          return;
        }
      }
    } finally {
      busy = false;
    }
  };
  // Whatever goes wrong with one connection ends that connection, never the node.
  const serve = () => pump().catch(() => socket.destroy());
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    void serve();
  });
  socket.on('end', () => {
    ended = true;
    void serve();
  });
  socket.on('error', () => socket.destroy());
}

// ---------------------------------------------------------------------------------------------------
// The listener

export type AdminEndpoint = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** AdminListen as yggdrasil reads it: `unix:///path`, `tcp://host:port`, or a bare `host:port`. */
export function parseAdminListen(listen: string): AdminEndpoint | undefined {
  if (listen === 'none' || listen === '') return undefined;
  if (listen.startsWith('unix://')) return { kind: 'unix', path: listen.slice('unix://'.length) };
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/[\]]*):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new AdminError(`invalid AdminListen '${listen}'`);
  return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(m[2]) };
}

export interface AdminServer {
  /** Where it listens, as yggdrasilctl's -endpoint takes it (tcp:// with the bound port). */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** A stale socket file from a crashed node is removed; one a live node answers on is an error. */
async function clearStaleSocket(path: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new AdminError(`admin socket ${path} is already in use`);
  try {
    unlinkSync(path);
  } catch {
    // Nothing there: fine.
  }
}

function listen(server: Server, endpoint: AdminEndpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (endpoint.kind === 'unix') server.listen(endpoint.path, done);
    else server.listen(endpoint.port, endpoint.host, done);
  });
}

/** Starts the admin socket on `listen` (an AdminListen value); undefined for `none`. */
export async function startAdminServer(listenOn: string, state: PlanetaryState, options: AdminOptions = {}): Promise<AdminServer | undefined> {
  const endpoint = parseAdminListen(listenOn);
  if (!endpoint) return undefined;
  const dispatcher = new AdminDispatcher(state, options);
  const sockets = new Set<Socket>();
  // Half-open: clients (and yggdrasil's own tests) may shut down their side right after the request.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, dispatcher);
  });
  if (endpoint.kind === 'unix') await clearStaleSocket(endpoint.path);
  await listen(server, endpoint);
  if (endpoint.kind === 'unix') chmodSync(endpoint.path, 0o660);
  const bound = server.address();
  const url =
    endpoint.kind === 'unix'
      ? `unix://${endpoint.path}`
      : `tcp://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${typeof bound === 'object' && bound ? bound.port : endpoint.port}`;
  return {
    endpoint: url,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
