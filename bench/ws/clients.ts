/**
 * The client side of the WebSocket benchmarks, in its own process: opens N
 * clients (raw `ws` or socket.io-client), reports `ready`, counts every
 * message, reports `done` when all N × expected have arrived.
 * IPC: parent sends { expect: number } after `ready` and waits for `armed`
 * before it broadcasts (on a loaded machine the IPC message can arrive after
 * the first frames, and resetting the count then would lose them: the run
 * never ended); `{ close: true }` to end.
 */
import { WebSocket } from 'ws';
import { io, type Socket } from 'socket.io-client';

const [kind, url, nArg] = process.argv.slice(2);
const N = Number(nArg);
let received = 0;
let expected = Infinity;
const onMessage = () => {
  if (++received === expected) process.send!({ done: true, received });
};
const closers: Array<() => void> = [];

async function openWs(i: number) {
  const ws = new WebSocket(kind === 'hub' ? `${url}?task=c${i}` : url, { perMessageDeflate: false });
  ws.on('message', onMessage);
  ws.on('error', (e) => console.error('client error', e.message));
  closers.push(() => ws.terminate());
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
}

async function openIo() {
  const s: Socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  s.on('m', onMessage);
  closers.push(() => s.disconnect());
  await new Promise((r, j) => {
    s.once('connect', () => r(undefined));
    s.once('connect_error', j);
  });
}

// Open in batches so the listen backlog is not overrun.
for (let i = 0; i < N; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, k) => (kind === 'socketio' ? openIo() : openWs(i + k))));
}
process.on('message', (m: { expect?: number; close?: boolean }) => {
  if (m.expect !== undefined) {
    expected = m.expect;
    received = 0;
    process.send!({ armed: true });
  }
  if (m.close) {
    for (const c of closers) c();
    process.disconnect();
  }
});
process.send!({ ready: true });
