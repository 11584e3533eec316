// The grid proxy REST API (tfgrid-sdk-go grid-proxy): indexed, quick, and possibly behind the chain by
// the indexer's delay. Not-found has two forms there: an empty list for the filtered list endpoints,
// and 404 {"error": "... not found"} for /nodes/{id}; a 404 without that JSON body is the router's and
// means a wrong URL, so it is a failure, not an answer.
import { BackendError, malformed } from './errors.js';
import { excerpt, httpRequest, parseJson } from './http.js';
import { asArray, nameFromJson, nodeFromJson, publicIpFromJson, twinFromJson } from './records.js';
import type { ChainBackend, NameRecord, NodeRecord, PublicIp, TwinRecord } from './types.js';

const PAGE_SIZE = 500;
/** /gateways is paged; this bounds the walk if a proxy ignores `page` and repeats itself. */
const MAX_PAGES = 50;

export class GridProxyBackend implements ChainBackend {
  readonly kind = 'grid-proxy';
  readonly endpoint: string;

  constructor(baseUrl: string) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new TypeError(`grid proxy URL is not a URL: ${baseUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`grid proxy URL must be http(s): ${baseUrl}`);
    this.endpoint = url.href.replace(/\/+$/, '');
  }

  /** GET and parse; undefined for the proxy's JSON 404. */
  private async get(path: string, signal: AbortSignal): Promise<unknown> {
    const { status, text } = await httpRequest(`${this.endpoint}${path}`, { headers: { accept: 'application/json' } }, signal);
    if (status === 404) {
      const body = safeJson(text);
      if (typeof body === 'object' && body !== null && /not found/i.test(String((body as { error?: unknown }).error))) {
        return undefined;
      }
    }
    if (status < 200 || status > 299) throw new BackendError('http', `GET ${path}: HTTP ${status} ${excerpt(text)}`.trim());
    return parseJson(text, `GET ${path}`);
  }

  private async list(path: string, signal: AbortSignal): Promise<unknown[]> {
    const body = await this.get(path, signal);
    if (body === undefined) return [];
    return asArray(body, `GET ${path}`);
  }

  async twin(twinId: number, signal: AbortSignal): Promise<TwinRecord | undefined> {
    const path = `/twins?twin_id=${twinId}`;
    const twins = (await this.list(path, signal)).map((t, i) => twinFromJson(t, `GET ${path} [${i}]`));
    return only(twins.filter((t) => t.twinId === twinId), twins.length, path);
  }

  async node(nodeId: number, signal: AbortSignal): Promise<NodeRecord | undefined> {
    const path = `/nodes/${nodeId}`;
    const body = await this.get(path, signal);
    if (body === undefined) return undefined;
    const node = nodeFromJson(body, `GET ${path}`);
    if (node.nodeId !== nodeId) throw malformed(`GET ${path} answered for node ${node.nodeId}`);
    return node;
  }

  async nodeIdOfTwin(twinId: number, signal: AbortSignal): Promise<number | undefined> {
    const path = `/nodes?twin_id=${twinId}`;
    const nodes = (await this.list(path, signal)).map((n, i) => nodeFromJson(n, `GET ${path} [${i}]`));
    return only(nodes.filter((n) => n.twinId === twinId), nodes.length, path)?.nodeId;
  }

  async name(name: string, signal: AbortSignal): Promise<NameRecord | undefined> {
    const path = `/contracts?type=name&name=${encodeURIComponent(name)}&state=Created&state=GracePeriod`;
    const contracts = (await this.list(path, signal)).map((c, i) => nameFromJson(c, `GET ${path} [${i}]`));
    const active = contracts.filter((c): c is NameRecord => c !== undefined);
    if (active.some((c) => c.name !== name)) throw malformed(`GET ${path} answered with other names' contracts`);
    // Deleted contracts of the name may be listed; only the active ones count.
    return only(active, 0, path);
  }

  async farmPublicIps(farmId: number, signal: AbortSignal): Promise<readonly PublicIp[]> {
    const path = `/public_ips?farm_ids=${farmId}&size=${PAGE_SIZE}`;
    const ips = (await this.list(path, signal)).map((p, i) => publicIpFromJson(p, `GET ${path} [${i}]`));
    if (ips.some((ip) => ip.farmId !== farmId)) throw malformed(`GET ${path} answered with another farm's IPs`);
    return ips;
  }

  async gateways(signal: AbortSignal): Promise<readonly NodeRecord[]> {
    const all = new Map<number, NodeRecord>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const path = `/gateways?page=${page}&size=${PAGE_SIZE}`;
      const nodes = (await this.list(path, signal)).map((n, i) => nodeFromJson(n, `GET ${path} [${i}]`));
      const before = all.size;
      for (const node of nodes) all.set(node.nodeId, node);
      if (nodes.length < PAGE_SIZE || all.size === before) break;
    }
    return [...all.values()];
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The single matching record. A list that had entries but none matching means the proxy ignored the
 * filter (an old or misconfigured proxy): that is a malformed answer, not "not found".
 */
function only<T>(matches: T[], listed: number, path: string): T | undefined {
  if (matches.length > 1) throw malformed(`GET ${path} matched ${matches.length} records, expected one`);
  if (matches.length === 0 && listed > 0) throw malformed(`GET ${path} answered ${listed} records, none matching the filter`);
  return matches[0];
}
