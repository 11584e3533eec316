// gridwire's own throughput probe, so the demo needs no iperf3: `sink <addr> <port>` accepts one TCP
// connection and reports what arrived; `source <addr> <port> <seconds>` sends as fast as it can.
// Each half runs as its own process inside a namespace.
import { connect, createServer } from 'node:net';

const CHUNK = Buffer.alloc(128 * 1024, 0x5a);

function sink(host: string, port: number): void {
  const server = createServer((socket) => {
    let bytes = 0;
    let first = 0;
    socket.on('data', (d: Buffer) => {
      if (!first) first = performance.now();
      bytes += d.length;
    });
    socket.on('end', () => {
      const seconds = (performance.now() - first) / 1000;
      process.stdout.write(`${JSON.stringify({ bytes, seconds })}\n`);
      socket.end();
      server.close();
    });
  });
  server.listen(port, host, () => process.stdout.write('listening\n'));
}

function source(host: string, port: number, seconds: number): void {
  const socket = connect(port, host, () => {
    const end = performance.now() + seconds * 1000;
    const pump = (): void => {
      while (performance.now() < end) if (!socket.write(CHUNK)) return void socket.once('drain', pump);
      socket.end();
    };
    pump();
  });
  socket.on('error', (err) => {
    process.stderr.write(`source: ${err.message}\n`);
    process.exitCode = 1;
  });
}

const [mode, host, port, seconds] = process.argv.slice(2);
if (mode === 'sink' && host && port) sink(host, Number(port));
else if (mode === 'source' && host && port) source(host, Number(port), Number(seconds ?? 3));
else {
  process.stderr.write('usage: throughput sink <addr> <port> | source <addr> <port> <seconds>\n');
  process.exitCode = 2;
}
