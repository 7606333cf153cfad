/**
 * The far side of the tcp bench, in its own process: a TLS server on
 * 127.0.0.1 port 0 (certificates from `<certDir>`), one connection at a time.
 *   peer.ts <certDir> echo             writes back every byte it reads
 *   peer.ts <certDir> sink <block>     reads; writes one byte 'k' each time another <block> bytes arrived
 *   peer.ts <certDir> source <block>   writes <block> bytes each time it reads a byte (64 KiB writes, paced by 'drain')
 * Prints "listening <port>" once it listens.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';

const [dir, mode, blockArg] = process.argv.slice(2) as [string, 'echo' | 'sink' | 'source', string | undefined];
const block = Number(blockArg ?? 0);
const server = createServer({ cert: readFileSync(join(dir, 'server.pem')), key: readFileSync(join(dir, 'server.key')) }, (socket: TLSSocket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  if (mode === 'echo') {
    socket.pipe(socket);
  } else if (mode === 'sink') {
    let got = 0;
    socket.on('data', (d: Buffer) => {
      got += d.length;
      while (got >= block) {
        got -= block;
        socket.write('k');
      }
    });
  } else {
    const chunk = Buffer.alloc(64 * 1024, 7);
    let owed = 0;
    let writing = false;
    const pump = async () => {
      if (writing) return;
      writing = true;
      while (owed > 0) {
        const n = Math.min(owed, chunk.length);
        owed -= n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await new Promise((r) => socket.once('drain', r));
      }
      writing = false;
    };
    socket.on('data', (d: Buffer) => {
      owed += d.length * block;
      void pump();
    });
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => process.exit(0));
