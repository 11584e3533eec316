// The planetary engine's link transport against raw loopback clients, no namespaces: a peer that sends
// garbage right after connecting still gets the node's whole preamble before the close, as from yggdrasil
// 0.5.12 (its handshake writes the preamble, blocking, before it reads a byte).
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { generatePlanetaryConfig } from '../src/planetary/config.js';
import { PlanetaryNode } from '../src/planetary/node.js';
import { threadNames } from './lib/threads.js';

const ROUNDS = 40;
const GARBAGE = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

interface Outcome {
  received: Buffer;
  how: string;
}

// Connects, sends GARBAGE the moment the transport is up, and collects everything until the node closes.
function garbageClient(port: number, tls: boolean, host = '127.0.0.1'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = tls
      ? tlsConnect({ host, port, rejectUnauthorized: false }, () => socket.write(GARBAGE))
      : tcpConnect({ host, port }, () => socket.write(GARBAGE));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the node kept the connection open for 5 s after garbage (${Buffer.concat(chunks).length} bytes received)`));
    }, 5000);
    let how = 'end';
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => (how = e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), how });
    });
  });
}

/** The preamble's length per its own header (spec §3.3: "meta", u16be L, L bytes), or 0 if not one. */
function preambleLength(b: Buffer): number {
  if (b.length < 6 || b.subarray(0, 4).toString('latin1') !== 'meta') return 0;
  return 6 + b.readUInt16BE(4);
}

describe('a peer that sends garbage at once still receives the whole preamble', () => {
  let node: PlanetaryNode;
  let ports: number[];
  before(async () => {
    const config = { ...generatePlanetaryConfig(), IfName: 'none', AdminListen: 'none', MulticastInterfaces: [] };
    node = await PlanetaryNode.start({ ...config, Listen: ['tcp://127.0.0.1:0', 'tls://127.0.0.1:0'] }, { admin: false });
    ports = node.listenPorts();
  });
  after(() => node?.close());

  test('the engine names its loop thread (no TUN: no interface in the name)', () => {
    assert.ok(threadNames().includes('gw-planet'), threadNames().join(', '));
  });

  for (const [i, scheme] of ['tcp', 'tls'].entries()) {
    test(`${scheme}://, ${ROUNDS} connections`, async () => {
      const short: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const { received, how } = await garbageClient(ports[i]!, scheme === 'tls');
        const want = preambleLength(received);
        if (want !== 123 || received.length < want) short.push(`round ${round}: ${received.length} bytes (${how})`);
        else assert.ok(received.subarray(0, want).includes(Buffer.from(node.publicKey)), 'the preamble carries the node key');
      }
      assert.deepEqual(short, [], `connections closed without the whole 123-byte preamble:\n${short.join('\n')}`);
    });
  }
});

describe('a 0.0.0.0 listener is dual-stack, as yggdrasil\'s (Go listens on [::])', () => {
  let node: PlanetaryNode;
  before(async () => {
    const config = { ...generatePlanetaryConfig(), IfName: 'none', AdminListen: 'none', MulticastInterfaces: [] };
    node = await PlanetaryNode.start({ ...config, Listen: ['tcp://0.0.0.0:0', 'tls://0.0.0.0:0'] }, { admin: false });
  });
  after(() => node?.close());

  test('each listener reports its URI and the address it is bound to', () => {
    const ports = node.listenPorts();
    assert.deepEqual(node.listenerAddresses(), [
      { uri: 'tcp://0.0.0.0:0', address: `[::]:${ports[0]}` },
      { uri: 'tls://0.0.0.0:0', address: `[::]:${ports[1]}` },
    ]);
  });

  for (const [i, scheme] of ['tcp', 'tls'].entries()) {
    test(`${scheme}://0.0.0.0:0 takes IPv6 and IPv4 clients`, async () => {
      for (const host of ['::1', '127.0.0.1']) {
        const { received, how } = await garbageClient(node.listenPorts()[i]!, scheme === 'tls', host);
        assert.ok(preambleLength(received) === 123 && received.length >= 123, `${host}: ${received.length} bytes (${how})`);
      }
    });
  }
});
