/**
 * Viewer clients of the `redis` bench group, in a process of their own:
 *
 *   viewers.ts <hub|socketio> <port> <first task> <count>
 *
 * Opens one viewer per task t<first>..t<first+count-1> (the hub: a `ws`
 * viewer of `/logs?task=t<i>`; socket.io: a socket.io-client in room
 * t<i>), sends `{ready}`, then counts every line. IPC: `{expect:n}` starts
 * a count from 0 (answered `{counting}`) and sends `{done, at}` (`at`: `Date.now()`) when n have
 * arrived; `{close:true}` closes every viewer and exits.
 */
import { WebSocket } from 'ws';
import { io, type Socket } from 'socket.io-client';
import { exitWithParent } from '../ipc.js';

const [subject, port, firstArg, countArg] = process.argv.slice(2) as ['hub' | 'socketio', string, string, string];
exitWithParent();
const first = Number(firstArg);
const count = Number(countArg);
let received = 0;
let expected = Infinity;
const onLine = () => {
  if (++received === expected) process.send!({ done: true, at: Date.now() });
};
const closers: Array<() => void> = [];

function openHub(task: string): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/logs?task=${task}`, { perMessageDeflate: false });
  ws.on('message', onLine);
  ws.on('error', (e) => console.error('viewer error', e.message));
  closers.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function openIo(task: string): Promise<void> {
  const s: Socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false, query: { task } });
  s.on('log', onLine);
  closers.push(() => s.disconnect());
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
}

// In batches, so the listen backlog is not overrun.
for (let i = 0; i < count; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => (subject === 'hub' ? openHub : openIo)(`t${first + i + k}`)));
}
process.on('message', (m: { expect?: number; close?: boolean }) => {
  if (m.expect !== undefined) {
    received = 0;
    expected = m.expect;
    process.send!({ counting: true });
  }
  if (m.close) {
    for (const c of closers) c();
    process.exit(0);
  }
});
process.send!({ ready: true });
