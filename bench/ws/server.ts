/**
 * The server side of the WebSocket benchmarks: one subject per process.
 *
 *   server.ts <subject> broadcast <clients> <broadcasts>
 *   server.ts <subject> heap <clients>
 *
 * Subjects (each sends the same 1 KB text message):
 * - `ws`: raw `ws`, `c.send(message)` with the string (each socket encodes it; kept for bench:compare);
 * - `ws-buffer`: raw `ws`, `c.send(buf, { binary: false })` with the message encoded once;
 * - `ws-frame`: raw `ws`, the message framed once (`Sender.frame`) and that
 *   frame written to each socket (`ws._sender.sendFrame`): the least work a
 *   `ws` server can do per client;
 * - `socketio`: `io.emit`, websocket transport only, no compression (socket.io encodes once per emit);
 * - `hub`: `TaskLogHub.broadcast`.
 *
 * broadcast: a warm-up run, then 3 timed runs of B broadcasts to N clients
 * (in a separate process), each timed until the clients have received all
 * N × B; one JSON line with the median run, every run, and the CPU time this
 * process used per message while timed. heap: heap bytes per connected
 * client (after GC), N clients.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as wsModule from 'ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server as IoServer } from 'socket.io';
import { TaskLogHub } from '../../transports/websocket/index.js';

type Subject = 'ws' | 'ws-buffer' | 'ws-frame' | 'socketio' | 'hub';
const [kind, mode, nArg, bArg] = process.argv.slice(2) as [Subject, 'broadcast' | 'heap', string, string];
if (!['ws', 'ws-buffer', 'ws-frame', 'socketio', 'hub'].includes(kind)) throw new TypeError(`unknown subject ${kind}`);
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
if (kind.startsWith('ws')) {
  const wss = new WebSocketServer({ server: http });
  const buf = Buffer.from(message);
  const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
  const frame = Sender.frame(buf, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
  type Raw = WebSocket & { _sender: { sendFrame(list: Buffer[]): void } };
  const text = { binary: false };
  broadcast =
    kind === 'ws'
      ? () => {
          for (const c of wss.clients) c.send(message);
        }
      : kind === 'ws-buffer'
        ? () => {
            for (const c of wss.clients) c.send(buf, text);
          }
        : () => {
            for (const c of wss.clients) if (c.readyState === 1) (c as Raw)._sender.sendFrame(frame);
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
  const run = async () => {
    const armed = next('armed');
    clients.send({ expect: N * B });
    await armed;
    const done = next('done');
    const start = performance.now();
    let busy = 0;
    for (let i = 0; i < B; i++) {
      const b0 = performance.now();
      broadcast();
      busy += performance.now() - b0;
      await tick(); // let I/O run between broadcasts, as a live server would
    }
    await done;
    return { rate: ((N * B) / (performance.now() - start)) * 1000, busy };
  };
  await run(); // warm-up: JIT, socket buffers
  const cpu0 = process.cpuUsage();
  const runs: Array<{ rate: number; busy: number }> = [];
  for (let r = 0; r < 3; r++) runs.push(await run());
  const cpu = process.cpuUsage(cpu0);
  const rates = runs.map((r) => r.rate).sort((a, b) => a - b);
  result = {
    figure: 'ws-broadcast',
    subject: kind,
    clients: N,
    broadcasts: B,
    messagesPerSecond: Math.round(rates[1]!),
    runs: rates.map(Math.round),
    syncMsPerBroadcast: +(runs.reduce((t, r) => t + r.busy, 0) / (3 * B)).toFixed(2),
    cpuUsPerMessage: +((cpu.user + cpu.system) / (3 * N * B)).toFixed(3),
    userUsPerMessage: +(cpu.user / (3 * N * B)).toFixed(3),
    systemUsPerMessage: +(cpu.system / (3 * N * B)).toFixed(3),
  };
}
clients.send({ close: true });
await new Promise((r) => clients.once('exit', r));
console.log(JSON.stringify(result));
http.closeAllConnections();
await close();
if (http.listening) http.close();
