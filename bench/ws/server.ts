/**
 * The server side of the WebSocket benchmarks: one subject per process.
 *
 *   server.ts <ws|socketio|hub> broadcast <clients> <broadcasts>
 *   server.ts <ws|socketio|hub> heap <clients>
 *
 * broadcast: B broadcasts of a 1 KB message to N clients (in a separate
 * process), timed until the clients have received all N × B; one JSON line.
 * heap: heap bytes per connected client (after GC), N clients.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { Server as IoServer } from 'socket.io';
import { TaskLogHub } from '../../transports/websocket/index.js';

const [kind, mode, nArg, bArg] = process.argv.slice(2) as ['ws' | 'socketio' | 'hub', 'broadcast' | 'heap', string, string];
const N = Number(nArg);
const B = Number(bArg ?? 0);
const message = 'x'.repeat(1024);
const gc = () => {
  for (let i = 0; i < 4; i++) (globalThis as { gc?: () => void }).gc?.();
};
const tick = () => new Promise((r) => setImmediate(r));

const http = createServer();
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const port = (http.address() as AddressInfo).port;
gc();
const heapBefore = process.memoryUsage().heapUsed;

let broadcast: () => unknown;
let connected: () => number;
let close: () => Promise<void>;
let url = `ws://127.0.0.1:${port}`;
if (kind === 'ws') {
  const wss = new WebSocketServer({ server: http });
  broadcast = () => {
    for (const c of wss.clients) c.send(message);
  };
  connected = () => wss.clients.size;
  close = () => new Promise((r) => wss.close(() => r()));
} else if (kind === 'socketio') {
  const io = new IoServer(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
  broadcast = () => io.emit('m', message);
  connected = () => io.engine.clientsCount;
  close = () => new Promise((r) => io.close(() => r()));
} else {
  const hub = new TaskLogHub({ pingIntervalMs: 0 });
  hub.attach(http, { path: '/logs' });
  url += '/logs';
  broadcast = () => hub.broadcast(message);
  connected = () => hub.supervisor.whichChildren().filter((c) => c.state === 'connected').length;
  close = () => hub.close();
}

const clients = fork(fileURLToPath(new URL('./clients.ts', import.meta.url)), [kind, url, String(N)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const next = (key: string) => new Promise<Record<string, unknown>>((r) => {
  const on = (m: Record<string, unknown>) => {
    if (key in m) {
      clients.off('message', on);
      r(m);
    }
  };
  clients.on('message', on);
});
const t0 = performance.now();
await next('ready');
while (connected() < N) await tick();
const startMs = Math.round(performance.now() - t0);

let result: Record<string, unknown>;
if (mode === 'heap') {
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const bytes = process.memoryUsage().heapUsed - heapBefore;
  if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
  result = { figure: 'ws-heap', subject: kind, clients: N, bytesPerClient: Math.round(bytes / N), startMs };
} else {
  const runs: number[] = [];
  let busy = 0;
  for (let r = 0; r < 3; r++) {
    const done = next('done');
    clients.send({ expect: N * B });
    await tick();
    const start = performance.now();
    for (let i = 0; i < B; i++) {
      const b0 = performance.now();
      broadcast();
      busy += performance.now() - b0;
      await tick(); // let I/O run between broadcasts, as a live server would
    }
    await done;
    runs.push(((N * B) / (performance.now() - start)) * 1000);
  }
  runs.sort((a, b) => a - b);
  result = { figure: 'ws-broadcast', subject: kind, clients: N, broadcasts: B, messagesPerSecond: Math.round(runs[1]!), runs: runs.map(Math.round), syncMsPerBroadcast: +(busy / (3 * B)).toFixed(2), cpuMs: Math.round(process.cpuUsage().user / 1000) };
}
clients.send({ close: true });
await new Promise((r) => clients.once('exit', r));
console.log(JSON.stringify(result));
http.closeAllConnections();
await close();
if (http.listening) http.close();
