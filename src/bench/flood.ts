// Traffic the bench generates itself over UDP, as a synthetic WireGuard initiator (noise.ts): a
// handshake-initiation flood against one responder (handshakes per second), and a transport-packet
// flood for the no-TUN data-plane bench. Runs in-process, or as a script inside a namespace:
//   node flood.js handshakes <host> <port> <responder public hex> <seed hex> <keys> <seconds>
// which prints one JSON line (FloodResult).
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { native } from '../native/binding.js';
import {
  consumeResponse,
  createInitiation,
  initiatorIdentity,
  ipv4Udp,
  MSG_COOKIE_REPLY,
  MSG_RESPONSE,
  sealTransport,
  type PendingHandshake,
  type TransportKeys,
} from './noise.js';

export interface FloodResult {
  sent: number;
  /** Handshake responses (handshake flood) or transport packets (transport flood). */
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
      socket.send(createInitiation(ids[i]!, senderIndex).message);
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

/** A completed handshake with the responder and a socket to send transport packets on. */
export interface SyntheticPeer {
  keys: TransportKeys;
  socket: Socket;
  counter: bigint;
}

export async function syntheticPeer(host: string, port: number, responderPublic: Uint8Array, key: Uint8Array): Promise<SyntheticPeer> {
  const socket = await udpSocket(host, port);
  const { message, pending } = createInitiation(initiatorIdentity(key, responderPublic), 1);
  const reply = once(socket, 'message') as Promise<[Buffer]>;
  socket.send(message);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no handshake response from the engine')), 3000).unref());
  const [response] = await Promise.race([reply, timeout]);
  return { keys: consumeResponse(pending as PendingHandshake, response), socket, counter: 0n };
}

// Sealing costs this thread about as much as sending, so packets are sealed before the clock starts,
// up to this many bytes of them.
const POOL_BYTES = 160 * 2 ** 20;

/**
 * Sends IPv4/UDP packets of `payload` bytes from `src` to `dst` through `peer` for `seconds` (or until
 * the pre-sealed pool runs out), as fast as this thread can. Yields to the event loop every batch so
 * sends drain.
 */
export async function transportFlood(peer: SyntheticPeer, src: string, dst: string, payload: number, seconds: number): Promise<FloodResult> {
  const inner = ipv4Udp(src, dst, payload);
  const pool = Array.from({ length: Math.min(seconds * 400_000, Math.floor(POOL_BYTES / (inner.length + 48))) }, () =>
    sealTransport(peer.keys, peer.counter++, inner),
  );
  const r: FloodResult = { sent: 0, answered: 0, cookies: 0, seconds: 0 };
  const start = performance.now();
  const end = start + seconds * 1000;
  while (r.sent < pool.length && performance.now() < end) {
    for (const stop = Math.min(pool.length, r.sent + 64); r.sent < stop; r.sent++) peer.socket.send(pool[r.sent]!);
    await new Promise((resolve) => setImmediate(resolve));
  }
  r.seconds = (performance.now() - start) / 1000;
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
