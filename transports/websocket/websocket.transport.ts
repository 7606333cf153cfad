/**
 * `webSocketTransport(options)`: a WebSocket client (the `ws` package) as a
 * statewire transport. One `connect()` is one opening handshake; the
 * connection machine owns retries.
 *
 * Handshake failures are typed:
 * - answered with an HTTP status (401, 403, 404, ...): `WebSocketHandshakeError`
 *   with `statusCode` (401/403 are `permanent`: two in a row end in `failed`);
 * - nobody listening: `ConnectionError` code `ERR_CONNECTION_REFUSED`, `errno` ECONNREFUSED;
 * - no handshake answer within `handshakeTimeoutMs`: `ConnectTimeoutError`;
 * - anything else: `ConnectionError` with the cause.
 *
 * @example
 * ```ts
 * const sup = createSupervisor();
 * sup.startChild({ id: 'feed', transport: webSocketTransport({ url: 'wss://example.org/feed' }) });
 * sup.data$.subscribe(({ connectionId, data }) => console.log(connectionId, data));
 * ```
 */
import type { ClientOptions } from 'ws';
import { WebSocket } from 'ws';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import { realClock, type Clock } from '../../machines/ports/clock.js';
import { ConnectTimeoutError, ConnectionError, LinkClosedError } from '../../machines/ports/errors.js';
import { WebSocketHandshakeError } from './errors.js';
import type { ConnectOptions, Transport } from '../../machines/ports/transport.js';
import { DEFAULT_PING_INTERVAL_MS, DEFAULT_PONG_TIMEOUT_MS, checkMs, wrapWebSocket, type WebSocketLink } from './link.js';

export interface WebSocketTransportOptions {
  /** `ws://` or `wss://` URL. */
  url: string | URL;
  /** Subprotocols to offer. */
  protocols?: string | string[];
  /** Extra HTTP headers for the handshake (Authorization, ...). */
  headers?: Record<string, string>;
  /** The handshake must complete within this many ms. Default: none (the machine's connectTimeoutMs applies). */
  handshakeTimeoutMs?: number;
  /** Largest inbound message, bytes. Default 100 MiB (ws's default). */
  maxPayload?: number;
  /** Ping period, ms; 0 turns pings off. Default 25000. */
  pingIntervalMs?: number;
  /** No pong within this many ms after a ping: the link is lost. Default 20000. */
  pongTimeoutMs?: number;
  /** TLS options for `wss://` (ca, cert, key, rejectUnauthorized, servername, ...). */
  tls?: SecureContextOptions & { rejectUnauthorized?: boolean; servername?: string };
  /** How long `close()` waits for the peer's close frame, ms. Default 2000. */
  closeTimeoutMs?: number;
  /** Clock for the ping and close timers. Default real time. */
  clock?: Clock;
}

export function webSocketTransport(options: WebSocketTransportOptions): Transport & { readonly url: string } {
  if (!options || typeof options !== 'object') throw new TypeError('options must be an object { url, ... }');
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch {
    throw new TypeError(`options.url must be a ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`options.url must be a ws:// or wss:// URL, got ${JSON.stringify(String(options.url))}`);
  }
  const { protocols, headers } = options;
  if (protocols !== undefined && typeof protocols !== 'string' && !(Array.isArray(protocols) && protocols.every((p) => typeof p === 'string'))) {
    throw new TypeError('options.protocols must be a string or an array of strings');
  }
  if (headers !== undefined && (headers === null || typeof headers !== 'object' || Object.values(headers).some((v) => typeof v !== 'string'))) {
    throw new TypeError('options.headers must be an object of string values');
  }
  if (options.tls !== undefined && (options.tls === null || typeof options.tls !== 'object')) throw new TypeError('options.tls must be an object');
  checkMs(options.handshakeTimeoutMs, 'handshakeTimeoutMs', false);
  checkMs(options.pingIntervalMs, 'pingIntervalMs', true);
  checkMs(options.pongTimeoutMs, 'pongTimeoutMs', false);
  checkMs(options.closeTimeoutMs, 'closeTimeoutMs', false);
  if (options.maxPayload !== undefined && (!Number.isInteger(options.maxPayload) || options.maxPayload <= 0)) {
    throw new RangeError(`options.maxPayload must be an integer > 0, got ${options.maxPayload}`);
  }
  const href = url.href;
  const linkOptions = {
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    pongTimeoutMs: options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? 2000,
    clock: options.clock ?? realClock,
    url: href,
  };
  // Never hand `undefined` values to ws/tls (Node 20's tls.connect rejects some).
  const wsOptions: ClientOptions = {};
  if (headers) wsOptions.headers = { ...headers };
  if (options.handshakeTimeoutMs !== undefined) wsOptions.handshakeTimeout = options.handshakeTimeoutMs;
  if (options.maxPayload !== undefined) wsOptions.maxPayload = options.maxPayload;
  for (const [k, v] of Object.entries(options.tls ?? {})) if (v !== undefined) (wsOptions as Record<string, unknown>)[k] = v;

  return {
    kind: 'websocket',
    url: href,
    connect({ signal }: ConnectOptions): Promise<WebSocketLink> {
      if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('options.signal must be an AbortSignal'));
      if (signal.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true }));
      return new Promise<WebSocketLink>((resolve, reject) => {
        let settled = false;
        const ws = protocols === undefined ? new WebSocket(href, wsOptions) : new WebSocket(href, protocols, wsOptions);
        const fail = (error: Error) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          ws.removeAllListeners('open');
          ws.terminate();
          reject(error);
        };
        const onAbort = () => fail(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        ws.on('error', (e: Error & { code?: string }) => fail(translate(e, href, options.handshakeTimeoutMs)));
        ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
          res.resume();
          req.destroy();
          fail(new WebSocketHandshakeError(res.statusCode ?? 0, { url: href, statusMessage: res.statusMessage }));
        });
        ws.once('open', () => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          ws.removeAllListeners('error');
          ws.removeAllListeners('unexpected-response');
          resolve(wrapWebSocket(ws, linkOptions));
        });
      });
    },
  };
}

function translate(e: Error & { code?: string }, url: string, handshakeTimeoutMs: number | undefined): Error {
  if (/handshake has timed out/i.test(e.message)) {
    const err = new ConnectTimeoutError(handshakeTimeoutMs ?? 0, { kind: 'websocket' });
    Object.defineProperty(err, 'cause', { value: e });
    return err;
  }
  const code = e.code === 'ECONNREFUSED' ? 'ERR_CONNECTION_REFUSED' : 'ERR_CONNECTION';
  return new ConnectionError(`WebSocket connect to ${url} failed: ${e.message}`, { kind: 'websocket', cause: e, code });
}
