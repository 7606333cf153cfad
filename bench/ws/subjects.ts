/**
 * The three WebSocket servers the benches compare, each on an http server
 * of the caller's: raw `ws`, socket.io (websocket transport only, as in
 * bench/ws) and a `TaskLogHub` at `/logs` (a viewer names its task:
 * `/logs?task=<id>`).
 *
 * `connected()` is the number of open connections, kept by counting (no
 * scan per call); `onConnection` runs after each new one is counted (the
 * hub: once the socket is its task's viewer; the task's queued lines are
 * written right after). `close()` is
 * a graceful restart's close: raw `ws` sends every client 1001 and waits
 * (terminating what is left after 2 s, the hub's close timeout), socket.io
 * `io.close()`, the hub `hub.close()`.
 */
import type { Server as HttpServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server as IoServer, type Socket as IoSocket } from 'socket.io';
import { TaskLogHub, type TaskLogHubOptions } from '../../transports/websocket/index.js';

export const SUBJECTS = ['ws', 'socketio', 'hub'] as const;
export type SubjectKind = (typeof SUBJECTS)[number];

export interface ServedSubject {
  kind: SubjectKind;
  /** The URL path clients connect to. */
  path: string;
  wss?: WebSocketServer;
  io?: IoServer;
  hub?: TaskLogHub;
  connected(): number;
  close(): Promise<void>;
}

export interface SubjectOptions {
  /** Runs for each new connection, after it is counted (raw ws and socket.io: with it). */
  onConnection?: (connection?: WebSocket | IoSocket) => void;
  /** The hub's options. Default: the hub's defaults. */
  hub?: TaskLogHubOptions;
}

const CLOSE_TIMEOUT_MS = 2000;

export function serveSubject(kind: SubjectKind, http: HttpServer, options: SubjectOptions = {}): ServedSubject {
  const on = options.onConnection ?? (() => {});
  if (kind === 'ws') {
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => on(ws));
    return {
      kind,
      path: '/',
      wss,
      connected: () => wss.clients.size,
      async close() {
        for (const c of wss.clients) c.close(1001, 'server restarting');
        const deadline = Date.now() + CLOSE_TIMEOUT_MS;
        while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        for (const c of wss.clients) c.terminate();
        await new Promise((r) => wss.close(() => r(undefined)));
      },
    };
  }
  if (kind === 'socketio') {
    const io = new IoServer(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
    const sockets = io.of('/').sockets;
    io.on('connection', (s) => on(s));
    return { kind, path: '/', io, connected: () => sockets.size, close: () => io.close() };
  }
  const hub = new TaskLogHub(options.hub);
  hub.attach(http, { path: '/logs' });
  let viewers = 0;
  hub.events$.subscribe((e) => {
    if (e.type === 'connected') {
      viewers++;
      on();
    } else if (e.type === 'disconnected') viewers--;
  });
  return { kind, path: '/logs', hub, connected: () => viewers, close: () => hub.close() };
}
