// HTTP for the REST and JSON-RPC backends: node's fetch, with every failure mapped to a BackendError kind
// so the resolver can report it and move on. A caller's own abort is rethrown untouched: it is not the
// endpoint's fault and must stop the whole lookup.
import { BackendError, malformed } from './errors.js';

/** Far above any real answer (a full /gateways page is ~1 MB); stops a broken server from filling memory. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface HttpResult {
  readonly status: number;
  readonly text: string;
}

export async function httpRequest(url: string, init: RequestInit, signal: AbortSignal): Promise<HttpResult> {
  try {
    const res = await fetch(url, { ...init, signal, redirect: 'follow' });
    return { status: res.status, text: await readCapped(res) };
  } catch (err) {
    if (err instanceof BackendError) throw err;
    if (signal.aborted) {
      if ((signal.reason as Error | undefined)?.name === 'TimeoutError') throw new BackendError('timeout', 'timed out');
      throw signal.reason;
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new BackendError('network', cause?.code ?? cause?.message ?? (err as Error).message);
  }
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw malformed(`response larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(`${what} is not valid JSON`);
  }
}

/** A short quote of a server's error text for messages. */
export function excerpt(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}
