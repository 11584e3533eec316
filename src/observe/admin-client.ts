// The client side of the yggdrasil admin socket (what yggdrasilctl sends): one JSON request per
// connection, answered by one JSON object and the server closing the connection.
import { connect, type Socket } from 'node:net';
import { parseAdminListen } from '../planetary/admin.js';

export class AdminClientError extends Error {
  constructor(
    message: string,
    /** The socket error code (ECONNREFUSED, ENOENT, ...) when the connection itself failed. */
    readonly code?: string,
  ) {
    super(message);
  }
}

function open(endpoint: string): Socket {
  let parsed;
  try {
    parsed = parseAdminListen(endpoint);
  } catch (err) {
    throw new AdminClientError((err as Error).message);
  }
  if (!parsed) throw new AdminClientError(`'${endpoint}' is not an admin endpoint (unix:///path or tcp://host:port)`);
  return parsed.kind === 'unix' ? connect(parsed.path) : connect(parsed.port, parsed.host);
}

/** Sends `{"request": name}` and returns the `response` object; an `error` status throws its text. */
export function adminRequest(endpoint: string, request: string, timeoutMs = 3000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = open(endpoint);
    let text = '';
    const fail = (err: AdminClientError) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new AdminClientError(`${endpoint}: no answer to ${request} within ${timeoutMs} ms`)));
    socket.on('error', (err: NodeJS.ErrnoException) => fail(new AdminClientError(`${endpoint}: ${err.message}`, err.code)));
    socket.on('connect', () => socket.write(JSON.stringify({ request, keepalive: false })));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => {
      let answer: { status?: string; error?: string; response?: Record<string, unknown> };
      try {
        answer = JSON.parse(text);
      } catch {
        return fail(new AdminClientError(`${endpoint}: ${request} answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`));
      }
      if (answer.status !== 'success') return fail(new AdminClientError(`${endpoint}: ${request}: ${answer.error ?? 'failed'}`));
      socket.destroy();
      resolve(answer.response ?? {});
    });
  });
}
