// A handshake-initiation flood against one responder (handshakes per second), sent over UDP by a
// synthetic WireGuard initiator (noise.ts). Runs in-process, or as a script inside a namespace:
//   node flood.js handshakes <host> <port> <responder public hex> <seed hex> <keys> <seconds>
// which prints one JSON line (FloodResult).
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { native } from '../native/binding.js';
import { createInitiation, initiatorIdentity, MSG_COOKIE_REPLY, MSG_RESPONSE } from './noise.js';

export interface FloodResult {
  sent: number;
  /** Handshake responses. */
  answered: number;
  /** Cookie replies: the responder considered itself under load. */
  cookies: number;
  seconds: number;
}

/** Initiator keys derived from a seed, so the harness and a flood process in a namespace agree on them. */
export function floodKeys(seed: Uint8Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => native.crypto.blake2s(Buffer.concat([seed, Buffer.from(String(i))])));
}

async function udpSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.connect(port, host);
  await once(socket, 'connect');
  return socket;
}

// Outstanding initiations stay below the responders' "under load" threshold (128 queued, wireguard-go
// and gridwire alike), so what is measured is the handshake, not the cookie path or the rate limiter.
const WINDOW = 32;
// Both implementations refuse a peer's initiations closer than 20 ms apart (flood protection).
const PER_KEY_GAP_MS = 25;
const LOST_AFTER_MS = 250;

/**
 * Sends initiations from `keys` (each configured as a peer on the responder) for `seconds`, at most
 * WINDOW unanswered at a time, and counts the responses.
 */
export async function handshakeFlood(host: string, port: number, responderPublic: Uint8Array, keys: Uint8Array[], seconds: number): Promise<FloodResult> {
  const ids = keys.map((k) => initiatorIdentity(k, responderPublic));
  const lastUse = new Float64Array(ids.length).fill(-Infinity);
  const outstanding = new Map<number, number>();
  const socket = await udpSocket(host, port);
  const r: FloodResult = { sent: 0, answered: 0, cookies: 0, seconds: 0 };
  let next = 0;
  let index = 1;
  const start = performance.now();
  const end = start + seconds * 1000;
  const pump = (): void => {
    const now = performance.now();
    while (outstanding.size < WINDOW && now < end) {
      const i = next;
      if (now - lastUse[i]! < PER_KEY_GAP_MS) break;
      next = (next + 1) % ids.length;
      lastUse[i] = now;
      const senderIndex = index++ >>> 0;
      socket.send(createInitiation(ids[i]!, senderIndex));
      outstanding.set(senderIndex, now);
      r.sent++;
    }
  };
  socket.on('message', (msg: Buffer) => {
    if (msg.length < 12) return;
    const type = msg[0];
    const receiver = msg.readUInt32LE(type === MSG_RESPONSE ? 8 : 4);
    if (!outstanding.delete(receiver)) return;
    if (type === MSG_RESPONSE && performance.now() < end) r.answered++;
    else if (type === MSG_COOKIE_REPLY) r.cookies++;
    pump();
  });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [i, t] of outstanding) if (now - t > LOST_AFTER_MS) outstanding.delete(i);
    pump();
  }, 20);
  pump();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  r.seconds = (performance.now() - start) / 1000;
  clearInterval(sweep);
  socket.close();
  return r;
}

async function main(argv: string[]): Promise<void> {
  const [mode, host, port, pub, seed, count, seconds] = argv;
  if (mode !== 'handshakes' || !host || !port || !pub || !seed || !count || !seconds) {
    process.stderr.write('usage: flood handshakes <host> <port> <responder public hex> <seed hex> <keys> <seconds>\n');
    process.exitCode = 2;
    return;
  }
  const keys = floodKeys(Buffer.from(seed, 'hex'), Number(count));
  const r = await handshakeFlood(host, Number(port), Buffer.from(pub, 'hex'), keys, Number(seconds));
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void main(process.argv.slice(2));
