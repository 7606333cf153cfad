/**
 * One server process of the `redis` bench group (issue 16), forked by
 * bench/redis/broadcast.ts:
 *
 *   server.ts <hub|socketio> <redisUrl>
 *
 * - hub: a TaskLogHub with `redisHubAdapter` at `/logs` (a viewer names its
 *   task: `/logs?task=t<i>`);
 * - socketio: socket.io (websocket transport only, as in bench/ws) with
 *   `@socket.io/redis-adapter` (two ioredis clients); a client joins the room
 *   named by its `task` query.
 * IPC: sends `{port}` once listening. `{produce:{tasks,lines,from}}`: lines
 * `from..from+lines-1` to each task t0..t<tasks-1>, one round of all tasks
 * per turn (yielding to I/O between rounds, as a live server would), not
 * waiting on each: the hub's `sendLog`, socket.io's
 * `io.to(task).emit('log', line)`; answers `{produced, failed}` once every
 * line was handed on (the hub: every `sendLog` settled). `{cpu:true}` →
 * `{cpuMs}` (user + system since start). `{close:true}`: close and exit.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Server as IoServer } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { TaskLogHub, redisHubAdapter } from '../../transports/websocket/index.js';
import { exitWithParent } from '../ipc.js';

const [subject, redisUrl] = process.argv.slice(2) as ['hub' | 'socketio', string];
exitWithParent();
const tick = () => new Promise((r) => setImmediate(r));
const text = 'x'.repeat(64);

const http = createServer();
let send: (task: string, seq: number) => Promise<unknown> | undefined;
let close: () => Promise<void>;
if (subject === 'hub') {
  const hub = new TaskLogHub({ pingIntervalMs: 0, adapter: redisHubAdapter({ url: redisUrl, maxPending: 1_000_000 }) });
  hub.attach(http, { path: '/logs' });
  send = (task, seq) => hub.sendLog(task, 'info', `line ${seq} ${text}`, { progress: seq % 101 });
  close = () => hub.close();
  // Both Redis connections up before the port is told.
  await new Promise<void>((resolve) => {
    const sub = hub.supervisor.state$.subscribe((states) => {
      if (states['redis:commands'] === 'connected' && states['redis:subscriber'] === 'connected') {
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      }
    });
  });
} else {
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  const io = new IoServer(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false, adapter: createAdapter(pub, sub) });
  io.on('connection', (socket) => {
    const task = socket.handshake.query.task;
    if (typeof task === 'string') void socket.join(task);
  });
  send = (task, seq) => {
    io.to(task).emit('log', { type: 'log', taskId: task, timestamp: new Date().toISOString(), level: 'info', message: `line ${seq} ${text}`, progress: seq % 101, finished: false, seq });
    return undefined;
  };
  close = async () => {
    await new Promise<void>((r) => io.close(() => r()));
    pub.disconnect();
    sub.disconnect();
  };
  await Promise.all([pub.ping(), sub.ping()]);
}
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
process.send!({ port: (http.address() as AddressInfo).port });

process.on('message', (m: { produce?: { tasks: number; lines: number; from: number }; cpu?: boolean; close?: boolean }) => {
  if (m.produce) {
    const { tasks, lines, from } = m.produce;
    void (async () => {
      const pending: Array<Promise<unknown>> = [];
      for (let seq = from; seq < from + lines; seq++) {
        for (let t = 0; t < tasks; t++) {
          const p = send(`t${t}`, seq);
          if (p) pending.push(p);
        }
        await tick();
      }
      const settled = await Promise.allSettled(pending);
      process.send!({ produced: tasks * lines, failed: settled.filter((s) => s.status === 'rejected').length });
    })();
  }
  if (m.cpu) {
    const u = process.cpuUsage();
    process.send!({ cpuMs: (u.user + u.system) / 1000 });
  }
  if (m.close) {
    void (async () => {
      http.closeAllConnections();
      await close();
      http.close();
      process.exit(0);
    })();
  }
});
