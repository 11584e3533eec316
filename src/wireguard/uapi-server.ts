// The UAPI socket at /var/run/wireguard/<ifname>.sock, where `wg` finds userspace interfaces. Speaks
// the request/response loop of uapi.ts; what a request does is up to the handler (the device).
import { mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { uapiProbe } from './uapi-client.js';
import { EINVAL, ENOANO, formatGet, parseSet, UapiError, type DeviceChange, type DeviceState } from './uapi.js';

export const SOCKET_DIR = process.env['WG_SOCKET_DIR'] ?? '/var/run/wireguard';

export interface UapiHandler {
  get(): DeviceState | Promise<DeviceState>;
  /** Applies a whole validated change or throws (UapiError for a specific errno) having changed nothing. */
  set(change: DeviceChange): void | Promise<void>;
}

export function socketPath(ifname: string, dir = SOCKET_DIR): string {
  return join(dir, `${ifname}.sock`);
}

function errnoOf(err: unknown): number {
  return err instanceof UapiError ? err.errno : ENOANO;
}

/** Serves one connection: any number of requests until EOF, an unknown request, or a bad get. */
async function serve(socket: Socket, handler: UapiHandler): Promise<void> {
  const lines = createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    return r.done ? undefined : (r.value as string);
  };
  for (;;) {
    const first = await next();
    if (first === 'get=1') {
      if ((await next()) !== '') {
        socket.end(`errno=${EINVAL}\n\n`);
        return;
      }
      let reply: string;
      try {
        reply = formatGet(await handler.get());
      } catch (err) {
        reply = `errno=${errnoOf(err)}\n\n`;
      }
      socket.write(reply);
    } else if (first === 'set=1') {
      const body: string[] = [];
      let line: string | undefined;
      while ((line = await next()) !== undefined && line !== '') body.push(line);
      let errno = 0;
      try {
        await handler.set(parseSet(body));
      } catch (err) {
        errno = errnoOf(err);
      }
      socket.write(`errno=${errno}\n\n`);
      if (line === undefined) break;
    } else {
      // An unknown first line (or the probe's immediate close): hang up without a reply, as wireguard-go.
      break;
    }
  }
  socket.end();
}

export class UapiServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async listen(ifname: string, handler: UapiHandler): Promise<UapiServer> {
    const path = socketPath(ifname);
    mkdirSync(SOCKET_DIR, { recursive: true, mode: 0o755 });
    if (await uapiProbe(ifname)) throw new Error(`${path} is in use: is another daemon running for ${ifname}?`);
    try {
      unlinkSync(path);
    } catch {
      // No stale socket to remove.
    }
    // Half-open: a client may end its side right after a set (EOF instead of a blank line) and still
    // wait for the errno reply.
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => socket.destroy());
      serve(socket, handler).catch(() => socket.destroy());
    });
    // The socket grants full control of the interface: create it unreadable to others, as wireguard-go.
    const umask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    return new UapiServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}
