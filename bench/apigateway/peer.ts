/**
 * The other side of the API Gateway broadcast bench, each in its own process:
 *   peer.ts emulator <n>      `createApiGatewayEmulator()` (no rate limit: the bench measures sending, not throttling);
 *                             prints `{ endpoint, url }`, then `{ idsFile }` once n clients are connected
 *   peer.ts clients <url> <n> n real `ws` clients of the emulator, counting messages; prints `{ connected }`,
 *                             and `{ received }` on SIGTERM
 *   peer.ts bare              a bare HTTP server answering every request 200 at once (no WebSocket behind):
 *                             what the SDK alone costs; prints `{ endpoint }`
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createApiGatewayEmulator } from '../../transports/apigateway/emulator.js';

const [role, ...args] = process.argv.slice(2);
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

if (role === 'emulator') {
  const n = Number(args[0]);
  const emulator = await createApiGatewayEmulator({ rateLimit: false });
  let connected = 0;
  emulator.on('connect', () => {
    if (++connected === n) {
      const idsFile = join(tmpdir(), `statewire-apigw-bench-${process.pid}.json`);
      writeFileSync(idsFile, JSON.stringify(emulator.connections().map((c) => c.connectionId)));
      say({ idsFile });
    }
  });
  say({ endpoint: emulator.endpoint, url: emulator.url });
  process.once('SIGTERM', () => void emulator.close().then(() => process.exit(0)));
} else if (role === 'clients') {
  const [url, nArg] = args as [string, string];
  const n = Number(nArg);
  let received = 0;
  let open = 0;
  const sockets: WebSocket[] = [];
  // A few at a time: the emulator's accept queue is not what is measured.
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, () => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        ws.on('message', () => received++);
        ws.on('error', () => {});
        return new Promise<void>((resolve) => ws.once('open', () => (open++, resolve())));
      }),
    );
  }
  say({ connected: open });
  const alive = setInterval(() => {}, 1 << 30); // until told to stop, whatever the emulator does
  process.once('SIGTERM', () => {
    say({ received });
    for (const ws of sockets) ws.terminate();
    clearInterval(alive);
    process.exit(0);
  });
} else if (role === 'bare') {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  say({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod` });
  process.once('SIGTERM', () => process.exit(0));
} else {
  throw new TypeError('usage: peer.ts emulator <n> | clients <url> <n> | bare');
}
