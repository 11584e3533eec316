// `gridwire chain twin|node|name`: one chain lookup, printed for people or as JSON. Backends are tried in
// the order given on the command line; with none given, the main network's grid proxy and then its
// TFChain RPC nodes.
import {
  ChainArgumentError,
  ChainNotFoundError,
  ChainResolver,
  ChainUnavailableError,
  FileBackend,
  GridProxyBackend,
  MAINNET,
  SubstrateBackend,
  type Answer,
  type ChainBackend,
  type NameRecord,
  type NodeInfo,
  type Provenance,
  type TwinRecord,
} from '../chain/index.js';
import { CliError, type Command } from './command.js';

const USAGE = `usage: gridwire chain <twin ID | node ID | name NAME> [options]

options:
  --grid-proxy URL   ask this grid proxy (repeatable)
  --substrate URL    ask this TFChain RPC node, ws(s):// or http(s):// (repeatable)
  --file PATH        answer from a local JSON registry (repeatable)
  --timeout SECONDS  per attempt (default 5)
  --json             print the answer and its provenance as JSON

Backends are tried in the order given; without any, the main network's public endpoints are used.
Exit status: 0 answered, 1 not found, 2 bad usage, 3 no backend could answer.
`;

const EXIT_NOT_FOUND = 1;
const EXIT_UNAVAILABLE = 3;

interface Parsed {
  readonly kind: 'twin' | 'node' | 'name';
  readonly target: string;
  readonly backends: ChainBackend[];
  readonly json: boolean;
  readonly timeoutMs: number;
}

function parseArgs(args: readonly string[]): Parsed | 'help' {
  const positional: string[] = [];
  const backends: ChainBackend[] = [];
  let json = false;
  let timeoutMs = 5_000;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    if (!arg.startsWith('--') || arg === '--') {
      if (arg !== '--') positional.push(arg);
      else positional.push(...args.slice(i + 1));
      if (arg === '--') break;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (name === '--json') {
      if (eq >= 0) throw new CliError(`chain: --json takes no value`);
      json = true;
      continue;
    }
    if (!['--grid-proxy', '--substrate', '--file', '--timeout'].includes(name)) throw new CliError(`chain: unknown option ${name}\n${USAGE}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '') throw new CliError(`chain: ${name} needs a value`);
    try {
      if (name === '--grid-proxy') backends.push(new GridProxyBackend(value));
      else if (name === '--substrate') backends.push(new SubstrateBackend(value));
      else if (name === '--file') backends.push(new FileBackend(value));
      else {
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new TypeError(`--timeout must be a positive number of seconds, got ${value}`);
        timeoutMs = Math.ceil(seconds * 1000);
      }
    } catch (err) {
      throw new CliError(`chain: ${(err as Error).message}`);
    }
  }
  const [kind, target, ...extra] = positional;
  if (kind !== 'twin' && kind !== 'node' && kind !== 'name') {
    throw new CliError(kind === undefined ? `chain: what to look up is missing\n${USAGE}` : `chain: unknown lookup '${kind}'\n${USAGE}`);
  }
  if (target === undefined) throw new CliError(`chain: ${kind} ${kind === 'name' ? 'NAME' : 'ID'} is missing`);
  if (extra.length) throw new CliError(`chain: unexpected argument '${extra[0]}'`);
  if (backends.length === 0) {
    backends.push(...MAINNET.gridProxy.map((u) => new GridProxyBackend(u)), ...MAINNET.substrate.map((u) => new SubstrateBackend(u)));
  }
  return { kind, target, backends, json, timeoutMs };
}

function parseId(text: string, what: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new CliError(`chain: ${what} must be a decimal number, got '${text}'`);
  return Number(text);
}

function source(p: Provenance): string {
  const when = new Date(p.fetchedAt).toISOString();
  const stale = p.staleBecause ? ` (stale: ${p.staleBecause})` : p.cached ? ' (cached)' : '';
  return `${p.backend} ${p.endpoint} at ${when}${stale}`;
}

function lines(rows: [string, string | undefined][]): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `  ${`${k}:`.padEnd(width + 1)} ${v}\n`).join('');
}

function formatTwin({ value: t, provenance }: Answer<TwinRecord>): string {
  return (
    `twin ${t.twinId}\n` +
    lines([
      ['account', t.accountId],
      ['account key', t.accountKey],
      ['relays', t.relays.length ? t.relays.join(' ') : 'none'],
      ['rmb public key', t.publicKey ?? 'none'],
      ['source', source(provenance)],
    ])
  );
}

function formatNode({ value: n, provenance }: Answer<NodeInfo>): string {
  const pc = n.publicConfig;
  const via = (ip?: string, gw?: string) => (ip ? `${ip}${gw ? ` via ${gw}` : ''}` : undefined);
  return (
    `node ${n.nodeId}\n` +
    lines([
      ['twin', String(n.twinId)],
      ['farm', String(n.farmId)],
      ['account', n.twin?.value.accountId],
      ['planetary address', n.planetary?.address],
      ['planetary subnet', n.planetary?.subnet],
      ['public ipv4', via(pc?.ipv4, pc?.gw4)],
      ['public ipv6', via(pc?.ipv6, pc?.gw6)],
      ['domain', pc?.domain],
      ['public config', pc ? undefined : 'none'],
      ['source', source(provenance)],
      ['twin source', n.twin ? source(n.twin.provenance) : undefined],
      ['twin lookup failed', n.twinError],
    ])
  );
}

function formatName({ value: c, provenance }: Answer<NameRecord>): string {
  return (
    `name ${c.name}\n` +
    lines([
      ['twin', String(c.twinId)],
      ['contract', `${c.contractId} (${c.state})`],
      ['source', source(provenance)],
    ])
  );
}

function toJson(kind: string, target: string | number, answer: Answer<unknown>): string {
  const replacer = (key: string, value: unknown): unknown => (key === 'fetchedAt' && typeof value === 'number' ? new Date(value).toISOString() : value);
  return `${JSON.stringify({ query: { kind, [kind === 'name' ? 'name' : 'id']: target }, ...answer }, replacer, 2)}\n`;
}

const command: Command = {
  summary: 'look up a twin, node or gateway name on the ThreeFold chain',
  async run(args) {
    const parsed = parseArgs(args);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    const { kind, target, backends, json, timeoutMs } = parsed;
    const resolver = new ChainResolver({ backends, timeoutMs });
    try {
      let text: string;
      if (kind === 'twin') {
        const id = parseId(target, 'twin id');
        const answer = await resolver.twin(id);
        text = json ? toJson(kind, id, answer) : formatTwin(answer);
      } else if (kind === 'node') {
        const id = parseId(target, 'node id');
        const answer = await resolver.node(id);
        text = json ? toJson(kind, id, answer) : formatNode(answer);
      } else {
        const answer = await resolver.name(target);
        text = json ? toJson(kind, target, answer) : formatName(answer);
      }
      process.stdout.write(text);
      return 0;
    } catch (err) {
      if (err instanceof ChainArgumentError) throw new CliError(`chain: ${err.message}`);
      if (err instanceof ChainNotFoundError) {
        process.stderr.write(`gridwire: chain: ${err.message}\n`);
        return EXIT_NOT_FOUND;
      }
      if (err instanceof ChainUnavailableError) {
        process.stderr.write(`gridwire: chain: cannot look up ${err.what}; every backend failed:\n`);
        for (const f of err.failures) process.stderr.write(`  ${f.backend}: ${f.kind}: ${f.message}\n`);
        return EXIT_UNAVAILABLE;
      }
      throw err;
    }
  },
};

export default command;
