/**
 * How `TaskLogHub.attach` turns upgrade requests into viewers: which path,
 * which task, and who may be a viewer at all (README, "Who may be a viewer").
 *
 * - On an http(s) server the hub makes its own `WebSocketServer` (with the
 *   hub's `maxPayload`) and checks each upgrade before the handshake
 *   completes: another site's page is answered 403, a request `authorize`
 *   refuses 401 (issue 11, defect 6).
 * - On a `WebSocketServer` of yours the handshake is already done: a refused
 *   viewer is closed with 1008, and the frame limit is your server's.
 * - An upgrade with no task id is closed with 1008 ("task id missing").
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import * as check from '../../../machines/ports/check.js';
import { originAllowed } from '../origin.js';

export interface AttachOptions {
  /** Only upgrades to this path (or below it) are viewers. Default: every upgrade. */
  path?: string;
  /** The task id of an upgrade request. Default: `?task=` in the URL, else the last path segment. */
  taskIdFrom?: (req: IncomingMessage) => string | undefined;
}

/** Who may be a viewer, from the hub's options (already checked). */
export interface ViewerGate {
  maxPayload: number;
  allowedOrigins: readonly string[];
  authorize: ((req: IncomingMessage) => boolean | Promise<boolean>) | undefined;
}

/** Why an upgrade request may not be a viewer: the HTTP status to answer and the close reason. */
interface Refusal {
  status: 401 | 403;
  reason: string;
}

/** The task id in a URL: `?task=` first, else the last non-empty path segment. */
export function defaultTaskIdFrom(req: IncomingMessage, path?: string): string | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const q = url.searchParams.get('task');
  if (q) return q;
  // Segments below the attach path only: `/logs` itself names no task.
  const below = path && url.pathname.startsWith(path) ? url.pathname.slice(path.length) : url.pathname;
  const last = below.split('/').filter(Boolean).pop();
  return last ? decodeURIComponent(last) : undefined;
}

/** Whether `req` may be a viewer: undefined, or why not. Never rejects: a throwing `authorize` is a refusal. */
async function admit(req: IncomingMessage, gate: ViewerGate): Promise<Refusal | undefined> {
  if (!originAllowed(req, gate.allowedOrigins)) return { status: 403, reason: 'origin not allowed' };
  if (gate.authorize === undefined) return undefined;
  let ok: unknown = false;
  try {
    ok = await gate.authorize(req);
  } catch {
    ok = false;
  }
  return ok === true ? undefined : { status: 401, reason: 'unauthorized' };
}

/**
 * Accept viewers on `server`, handing each admitted socket to `connect`.
 * Returns a function that stops accepting.
 */
export function attachViewers(
  server: HttpServer | HttpsServer | WebSocketServer,
  options: AttachOptions,
  gate: ViewerGate,
  connect: (ws: WebSocket, taskId: string, options: { lastSeq?: number }) => Promise<void>,
): () => void {
  check.shape(server, 'server', { on: 'function' }, 'an http(s).Server or a ws WebSocketServer');
  check.object(options, 'options');
  const { path, taskIdFrom = (req: IncomingMessage) => defaultTaskIdFrom(req, path) } = options;
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) throw new TypeError(`options.path must start with "/", got ${check.describe(path)}`);
  check.func(taskIdFrom, 'options.taskIdFrom', '(req) => string');
  const matches = (req: IncomingMessage) => {
    if (path === undefined) return true;
    const p = new URL(req.url ?? '/', 'http://localhost').pathname;
    return p === path || p.startsWith(path.endsWith('/') ? path : `${path}/`);
  };
  const adopt = (ws: WebSocket, req: IncomingMessage) => {
    let taskId: string | undefined;
    try {
      taskId = taskIdFrom(req);
    } catch {
      taskId = undefined;
    }
    if (typeof taskId !== 'string' || taskId === '') {
      ws.close(1008, 'task id missing');
      return;
    }
    const lastSeq = Number(new URL(req.url ?? '/', 'http://localhost').searchParams.get('lastSeq') ?? NaN);
    connect(ws, taskId, Number.isInteger(lastSeq) && lastSeq >= 0 ? { lastSeq } : {}).catch(() => ws.terminate());
  };

  if (server instanceof WebSocketServer) {
    // Your server already completed the handshake: a refused viewer is closed with 1008 (policy violation).
    const onConnection = (ws: WebSocket, req: IncomingMessage) => {
      if (!matches(req)) return;
      void admit(req, gate)
        .then((refusal) => (refusal ? ws.close(1008, refusal.reason) : adopt(ws, req)))
        .catch(() => ws.terminate());
    };
    server.on('connection', onConnection);
    return () => server.off('connection', onConnection);
  }
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: gate.maxPayload,
    // Before the handshake completes: ws answers a refusal with its HTTP status (and guards the socket meanwhile).
    verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, status?: number, reason?: string) => void) =>
      void admit(req, gate).then((refusal) => (refusal ? done(false, refusal.status, refusal.reason) : done(true))),
  });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!matches(req)) {
      // Someone else may handle it; if nobody does, say so instead of hanging.
      if ((server as HttpServer).listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => adopt(ws, req));
  };
  (server as HttpServer).on('upgrade', onUpgrade);
  return () => {
    (server as HttpServer).off('upgrade', onUpgrade);
    wss.close();
  };
}
