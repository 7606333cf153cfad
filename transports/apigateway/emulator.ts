/**
 * A local API Gateway WebSocket API, for development and tests (no AWS
 * needed): `createApiGatewayEmulator()` serves, on one loopback port,
 *
 * - the WebSocket side: real clients connect to `url` (any path: the stage),
 *   and get a connection id like API Gateway's (`'Jk3mQ9xZpL2vR0a='`);
 * - the management API (`endpoint`): `@connections/{id}` POST, GET and
 *   DELETE, answered exactly as API Gateway answers the AWS SDK
 *   (`emulator-api.ts`: 410 `GoneException`, 413, 429 from a token bucket,
 *   403 for any other path), so `ApiGatewayManagementApiClient` talks to it
 *   unchanged. Any SigV4 signature is accepted.
 *
 * Like API Gateway, it splits a message over 32 KB into continuation frames
 * of 32 KB (the client still sees one message), refuses messages over
 * 128 KB both ways (a client's: close 1009), and closes a connection (1001
 * `Going away`) after 10 minutes without a message from its client, and
 * after 2 hours in any case; both limits run on the injected `clock`. Text
 * that is valid UTF-8 goes out as a text message, other bytes as binary.
 *
 * The routes `$connect`, `$disconnect` and `$default` are the `onConnect`,
 * `onDisconnect` and `onMessage` options: where a Lambda would store or drop
 * the connection record. `onConnect` may refuse a client (return false or
 * throw: the handshake is answered 403), as a `$connect` Lambda can.
 *
 * @example
 * ```ts
 * const emulator = await createApiGatewayEmulator({ onConnect: ({ connectionId }) => store.put(...) });
 * const client = new ApiGatewayManagementApiClient({ endpoint: emulator.endpoint, region: 'us-east-1',
 *   credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
 * // a browser: new WebSocket(emulator.url)
 * await emulator.close();
 * ```
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import * as check from '../../machines/ports/check.js';
import { nowOf, realClock, type Clock } from '../../machines/ports/clock.js';
import { ListenError } from '../../machines/ports/errors.js';
import { managementApi, type ManagementBackend } from './emulator-api.js';
import { ACCOUNT_BURST, ACCOUNT_RPS, FRAME_BYTES, IDLE_TIMEOUT_MS, MAX_CONNECTION_MS, MAX_PAYLOAD_BYTES } from './limits.js';
import { TokenBucket } from './token-bucket.js';

/** A client connecting, as the `$connect` route sees it. */
export interface EmulatorConnectRequest {
  connectionId: string;
  /** The request path (the stage and anything after it), without the query. */
  path: string;
  /** The query string's parameters (the last value of a repeated one). */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  sourceIp: string;
  userAgent: string;
}

/** One connected client, as `connections()` and the `connect` event give it. Times are ms on the emulator's clock. */
export interface EmulatorConnection {
  connectionId: string;
  connectedAt: number;
  /** The last message from the client (pushes to it do not count). */
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
}

/** Why a connection ended. */
export type EmulatorDisconnectCause = 'client' | 'deleted' | 'idle-timeout' | 'max-duration' | 'emulator-closed';

/** A connection that ended (`$disconnect`). */
export interface EmulatorDisconnect {
  connectionId: string;
  /** The WebSocket close code (1001 for the timeouts, 1000 for a DELETE, the client's own, 1006 when the socket just dropped). */
  statusCode: number;
  reason: string;
  cause: EmulatorDisconnectCause;
}

/** A message from a client (`$default`): text as a string, binary as bytes. */
export interface EmulatorMessage {
  connectionId: string;
  data: string | Uint8Array;
  isBinary: boolean;
}

/** The events `on()` takes. */
export interface ApiGatewayEmulatorEvents {
  connect: EmulatorConnection;
  disconnect: EmulatorDisconnect;
  message: EmulatorMessage;
}

export interface ApiGatewayEmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to bind. Default `'127.0.0.1'` (loopback only: the emulator checks no credentials). */
  host?: string;
  /** The stage in `url` and `endpoint`. Default `'prod'`. Any stage is accepted on requests. */
  stage?: string;
  /** Timers (idle, max duration) and times (`connectedAt`, the token bucket). Default real time; XState's `SimulatedClock` in tests. */
  clock?: Clock;
  /** Close a connection with no message from its client for this long, ms. Default 600000 (10 minutes). */
  idleTimeoutMs?: number;
  /** Close every connection this long after it opened, ms. Default 7200000 (2 hours). */
  maxConnectionMs?: number;
  /**
   * The `@connections` request rate: a token bucket, `burst` requests at
   * once, refilled at `rps` a second; past it, 429. Default the account
   * limit, `{ rps: 10000, burst: 5000 }`; `false` turns it off.
   */
  rateLimit?: { rps: number; burst: number } | false;
  /** Largest message, bytes, both ways. Default 131072 (128 KB). */
  maxPayload?: number;
  /** Frame size for messages to clients, bytes. Default 32768 (32 KB). */
  frameBytes?: number;
  /** `$connect`: return false (or throw, or reject) to refuse the client (HTTP 403). */
  onConnect?: (request: EmulatorConnectRequest) => void | boolean | Promise<void | boolean>;
  /** `$disconnect`, after the socket closed. */
  onDisconnect?: (event: EmulatorDisconnect) => void | Promise<void>;
  /** `$default`: every message from a client. */
  onMessage?: (message: EmulatorMessage) => void | Promise<void>;
  /** Told when a route or a listener threw. Default: ignored (the emulator never crashes on a hook). */
  onError?: (err: unknown) => void;
}

export interface ApiGatewayEmulator {
  /** Where WebSocket clients connect: `ws://127.0.0.1:PORT/prod`. */
  readonly url: string;
  /** The management API, for the SDK's `endpoint`: `http://127.0.0.1:PORT/prod`. */
  readonly endpoint: string;
  readonly port: number;
  /** The open connections, oldest first. */
  connections(): EmulatorConnection[];
  /** Listen to connects, disconnects and client messages; returns a function that stops listening. */
  on<E extends keyof ApiGatewayEmulatorEvents>(event: E, listener: (event: ApiGatewayEmulatorEvents[E]) => void): () => void;
  /** Close every client (1001 `Going away`) and the server. Idempotent; resolves when the port is released. */
  close(): Promise<void>;
}

interface Client extends EmulatorConnection {
  ws: WebSocket;
  cause?: EmulatorDisconnectCause;
  idleTimer?: unknown;
  maxTimer?: unknown;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const GOING_AWAY = 'Going away';
/** How long `close()` lets clients answer the close frame before cutting them off, ms (real time: this is I/O). */
const CLOSE_GRACE_MS = 1000;

/** 15 characters and `=`: the shape of API Gateway's ids. */
function newId(taken: Map<string, Client>): string {
  for (;;) {
    let id = '';
    for (let i = 0; i < 15; i++) id += ALPHABET[randomInt(ALPHABET.length)];
    id += '=';
    if (!taken.has(id)) return id;
  }
}

function checkOptions(o: ApiGatewayEmulatorOptions) {
  check.object(o, 'options');
  const port = check.integer(o.port ?? 0, 'options.port', { min: 0, max: 65535 });
  const host = check.nonEmptyString(o.host ?? '127.0.0.1', 'options.host');
  const stage = check.nonEmptyString(o.stage ?? 'prod', 'options.stage');
  if (!/^[A-Za-z0-9_-]+$/.test(stage)) throw new TypeError(`options.stage must be letters, digits, _ or -, got ${check.describe(stage)}`);
  if (o.clock !== undefined) check.hasMethods(o.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  const idleTimeoutMs = check.duration(o.idleTimeoutMs, 'options.idleTimeoutMs', { allowZero: false }) ?? IDLE_TIMEOUT_MS;
  const maxConnectionMs = check.duration(o.maxConnectionMs, 'options.maxConnectionMs', { allowZero: false }) ?? MAX_CONNECTION_MS;
  const rate = o.rateLimit ?? { rps: ACCOUNT_RPS, burst: ACCOUNT_BURST };
  if (rate !== false) {
    check.object(rate, 'options.rateLimit', '{ rps, burst } or false');
    check.finiteNumber(rate.rps, 'options.rateLimit.rps', { min: 0, exclusiveMin: true });
    check.integer(rate.burst, 'options.rateLimit.burst', { min: 1 });
  }
  const maxPayload = check.integer(o.maxPayload ?? MAX_PAYLOAD_BYTES, 'options.maxPayload', { min: 1, max: 64 * 1024 * 1024 });
  const frameBytes = check.integer(o.frameBytes ?? FRAME_BYTES, 'options.frameBytes', { min: 1 });
  for (const hook of ['onConnect', 'onDisconnect', 'onMessage', 'onError'] as const) if (o[hook] !== undefined) check.func(o[hook], `options.${hook}`);
  return { port, host, stage, idleTimeoutMs, maxConnectionMs, rate, maxPayload, frameBytes };
}

/** Start an emulator; resolves once it listens. A port in use or a bad host rejects with a `ListenError`. */
export async function createApiGatewayEmulator(options: ApiGatewayEmulatorOptions = {}): Promise<ApiGatewayEmulator> {
  const o = checkOptions(options);
  const clock = options.clock ?? realClock;
  const now = () => nowOf(clock);
  const bucket = o.rate === false ? undefined : new TokenBucket(o.rate.rps, o.rate.burst, now);
  const clients = new Map<string, Client>();
  const listeners: { [E in keyof ApiGatewayEmulatorEvents]: Set<(e: ApiGatewayEmulatorEvents[E]) => void> } = {
    connect: new Set(),
    disconnect: new Set(),
    message: new Set(),
  };
  const onError = (err: unknown) => {
    try {
      options.onError?.(err);
    } catch {
      /* the error reporter itself failed: nothing left to tell */
    }
  };
  /** Call a hook or listener; what it throws or rejects with goes to onError. */
  const guarded = <T>(fn: ((arg: T) => unknown) | undefined, arg: T) => {
    if (!fn) return;
    try {
      const r = fn(arg);
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, onError);
    } catch (err) {
      onError(err);
    }
  };
  const emit = <E extends keyof ApiGatewayEmulatorEvents>(event: E, data: ApiGatewayEmulatorEvents[E]) => {
    for (const l of [...listeners[event]]) guarded(l as (e: ApiGatewayEmulatorEvents[E]) => void, data);
  };
  const snapshot = (c: Client): EmulatorConnection => ({
    connectionId: c.connectionId, connectedAt: c.connectedAt, lastActiveAt: c.lastActiveAt, sourceIp: c.sourceIp, userAgent: c.userAgent,
  });

  /** Forget the client now (later requests get 410) and close its socket. */
  const drop = (c: Client, cause: EmulatorDisconnectCause, code: number, reason: string) => {
    if (clients.get(c.connectionId) !== c) return;
    clients.delete(c.connectionId);
    c.cause = cause;
    clock.clearTimeout(c.idleTimer);
    clock.clearTimeout(c.maxTimer);
    try {
      c.ws.close(code, reason);
    } catch {
      c.ws.terminate();
    }
  };

  const armIdle = (c: Client, ms: number) => {
    c.idleTimer = clock.setTimeout(() => {
      // Re-armed for the rest of the window, rather than on every message.
      const quiet = now() - c.lastActiveAt;
      if (quiet >= o.idleTimeoutMs) drop(c, 'idle-timeout', 1001, GOING_AWAY);
      else armIdle(c, o.idleTimeoutMs - quiet);
    }, ms);
  };

  const backend: ManagementBackend = {
    maxPayload: o.maxPayload,
    maxRequestBytes: Math.max(1024 * 1024, 2 * o.maxPayload),
    admit: () => bucket?.tryTake() ?? true,
    info: (id) => clients.get(id),
    delete(id) {
      const c = clients.get(id);
      if (!c) return false;
      drop(c, 'deleted', 1000, '');
      return true;
    },
    post(id, body, done) {
      const c = clients.get(id);
      if (!c || c.ws.readyState !== WebSocket.OPEN) return done(false);
      const binary = !isUtf8(body);
      const callback = (err?: Error | null) => done(!err);
      // One message, several frames: fragments are written back to back, so no other message can come between them.
      if (body.length <= o.frameBytes) return c.ws.send(body, { binary, fin: true }, callback);
      for (let at = 0; at < body.length; at += o.frameBytes) {
        const last = at + o.frameBytes >= body.length;
        c.ws.send(body.subarray(at, at + o.frameBytes), { binary, fin: last }, last ? callback : undefined);
      }
    },
  };

  const server = createServer(managementApi(backend));
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxPayload, perMessageDeflate: false, clientTracking: false });
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  const accept = (ws: WebSocket, request: EmulatorConnectRequest) => {
    const at = now();
    const { connectionId, sourceIp, userAgent } = request;
    const c: Client = { connectionId, connectedAt: at, lastActiveAt: at, sourceIp, userAgent, ws };
    clients.set(c.connectionId, c);
    ws.on('error', () => {}); // a bad frame, a reset: 'close' follows
    ws.on('message', (data: RawData, isBinary: boolean) => {
      c.lastActiveAt = now();
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const message: EmulatorMessage = { connectionId: c.connectionId, data: isBinary ? new Uint8Array(bytes) : bytes.toString('utf8'), isBinary };
      guarded(options.onMessage, message);
      emit('message', message);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      const cause = c.cause ?? 'client';
      if (clients.get(c.connectionId) === c) {
        clients.delete(c.connectionId);
        clock.clearTimeout(c.idleTimer);
        clock.clearTimeout(c.maxTimer);
      }
      const event: EmulatorDisconnect = { connectionId: c.connectionId, statusCode: code, reason: reason.toString(), cause };
      guarded(options.onDisconnect, event);
      emit('disconnect', event);
    });
    armIdle(c, o.idleTimeoutMs);
    c.maxTimer = clock.setTimeout(() => drop(c, 'max-duration', 1001, GOING_AWAY), o.maxConnectionMs);
    emit('connect', snapshot(c));
  };

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    if (closing) return void socket.destroy();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://emulator');
    } catch {
      return void socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    const request: EmulatorConnectRequest = {
      connectionId: newId(clients),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      sourceIp: req.socket.remoteAddress ?? '',
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '',
    };
    const refuse = () => {
      if (socket.writable) socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    };
    const upgrade = (verdict: unknown) => {
      if (verdict === false || closing) return refuse();
      wss.handleUpgrade(req, socket, head, (ws) => (closing ? ws.terminate() : accept(ws, request)));
    };
    let verdict: unknown;
    try {
      verdict = options.onConnect?.(request);
    } catch (err) {
      onError(err);
      return refuse();
    }
    if (verdict && typeof (verdict as Promise<unknown>).then === 'function') {
      (verdict as Promise<unknown>).then(upgrade, (err: unknown) => {
        onError(err);
        refuse();
      });
    } else upgrade(verdict);
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(new ListenError(`${o.host}:${o.port}`, { cause: err }));
    server.once('error', failed);
    server.listen(o.port, o.host, () => {
      server.off('error', failed);
      server.on('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;

  return {
    url: `ws://${hostPart}:${port}/${o.stage}`,
    endpoint: `http://${hostPart}:${port}/${o.stage}`,
    port,
    connections: () => [...clients.values()].map(snapshot),
    on(event, listener) {
      check.oneOf(event, 'event', Object.keys(listeners));
      check.func(listener, 'listener');
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => void set.delete(listener);
    },
    close() {
      closing ??= (async () => {
        const open = [...clients.values()].map((c) => c.ws);
        for (const c of [...clients.values()]) drop(c, 'emulator-closed', 1001, GOING_AWAY);
        await new Promise<void>((resolve) => {
          let left = open.filter((ws) => ws.readyState !== WebSocket.CLOSED).length;
          if (left === 0) return resolve();
          const timer = setTimeout(() => {
            for (const ws of open) ws.terminate();
          }, CLOSE_GRACE_MS);
          for (const ws of open) {
            if (ws.readyState === WebSocket.CLOSED) continue;
            ws.once('close', () => {
              if (--left === 0) {
                clearTimeout(timer);
                resolve();
              }
            });
          }
        });
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
          for (const s of sockets) s.destroy();
        });
      })();
      return closing;
    },
  };
}
