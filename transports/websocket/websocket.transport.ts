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
 * `url` and `headers` may be functions, called before each attempt (a fresh
 * token, a URL from service discovery): see `WebSocketTransportOptions.url`.
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
import * as check from '../../machines/ports/check.js';
import { realClock, type Clock } from '../../machines/ports/clock.js';
import { ConnectTimeoutError, ConnectionError, LinkClosedError } from '../../machines/ports/errors.js';
import { WebSocketHandshakeError } from './errors.js';
import type { ConnectOptions, Transport } from '../../machines/ports/transport.js';
import { DEFAULT_PING_INTERVAL_MS, DEFAULT_PONG_TIMEOUT_MS, wrapWebSocket, type WebSocketLink } from './link.js';

/** Context given to the `url` and `headers` functions: aborted when the attempt is given up. */
export interface WebSocketProviderContext {
  /** Aborted when the connect is given up (connect timeout, DISCONNECT, stop): pass it to `fetch` and the like. */
  signal: AbortSignal;
}

/** Returns the URL for the next connection attempt. */
export type WebSocketUrlProvider = (context: WebSocketProviderContext) => string | URL | Promise<string | URL>;

/** Returns the handshake headers for the next connection attempt. */
export type WebSocketHeadersProvider = (context: WebSocketProviderContext) => Record<string, string> | Promise<Record<string, string>>;

export interface WebSocketTransportOptions {
  /**
   * `ws://` or `wss://` URL, or a function returning one (sync or async),
   * called once per connection attempt, before the handshake.
   *
   * A function lets each reconnect use a fresh URL (a signed URL, a node from
   * service discovery). Each result is checked: one that is not a ws:// or
   * wss:// URL rejects that attempt with a `TypeError` naming `options.url()`.
   * A function that throws or rejects fails that attempt with a
   * `ConnectionError` whose `cause` is what it threw; the connection machine
   * retries per its policy. `connectTimeoutMs` covers the wait for it, and
   * `context.signal` is aborted when the attempt is given up.
   *
   * @example
   * ```ts
   * url: async ({ signal }) => (await (await fetch(discoveryUrl, { signal })).json()).feedUrl
   * ```
   */
  url: string | URL | WebSocketUrlProvider;
  /** Subprotocols to offer. */
  protocols?: string | string[];
  /**
   * Extra HTTP headers for the handshake (Authorization, ...), or a function
   * returning them (sync or async), called once per connection attempt, like
   * `url`: a token refreshed before each reconnect. Values must be strings; a
   * result that is not such an object rejects that attempt with a `TypeError`
   * naming `options.headers()`, and a function that throws or rejects fails
   * the attempt with a `ConnectionError` (cause: what it threw).
   *
   * @example
   * ```ts
   * headers: async () => ({ Authorization: `Bearer ${await tokens.fresh()}` })
   * ```
   */
  headers?: Record<string, string> | WebSocketHeadersProvider;
  /** The handshake must complete within this many ms (not counting the `url`/`headers` functions). Default: none (the machine's connectTimeoutMs applies). */
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

/**
 * The transport `webSocketTransport` returns. `url` is the URL of the latest
 * connection attempt (normalised, `URL.href`); with a static `options.url` it
 * is that URL from the start, with a function it is `undefined` until the
 * function first returned a valid URL.
 */
export type WebSocketTransport<U extends string | undefined = string | undefined> = Transport & { readonly kind: 'websocket'; readonly url: U };

export function webSocketTransport(options: WebSocketTransportOptions & { url: string | URL }): WebSocketTransport<string>;
export function webSocketTransport(options: WebSocketTransportOptions): WebSocketTransport;
export function webSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  check.object(options, 'options', '{ url, ... }');
  const urlOption = options.url;
  const urlProvider = typeof urlOption === 'function' ? urlOption : undefined;
  let lastHref: string | undefined = urlProvider ? undefined : parseWsUrl(urlOption, 'options.url');
  const { protocols, headers } = options;
  if (protocols !== undefined && typeof protocols !== 'string' && !(Array.isArray(protocols) && protocols.every((p) => typeof p === 'string'))) {
    throw new TypeError('options.protocols must be a string or an array of strings');
  }
  const headersProvider = typeof headers === 'function' ? headers : undefined;
  if (headers !== undefined && !headersProvider && !isHeaders(headers)) {
    throw new TypeError('options.headers must be an object of string values, or a function returning one');
  }
  if (options.tls !== undefined) check.object(options.tls, 'options.tls');
  check.duration(options.handshakeTimeoutMs, 'options.handshakeTimeoutMs', { allowZero: false });
  check.duration(options.pingIntervalMs, 'options.pingIntervalMs', { allowZero: true });
  check.duration(options.pongTimeoutMs, 'options.pongTimeoutMs', { allowZero: false });
  check.duration(options.closeTimeoutMs, 'options.closeTimeoutMs', { allowZero: false });
  if (options.maxPayload !== undefined) check.integer(options.maxPayload, 'options.maxPayload', { min: 1 });
  if (options.clock !== undefined) check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  const linkOptions = {
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    pongTimeoutMs: options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? 2000,
    clock: options.clock ?? realClock,
  };
  // Never hand `undefined` values to ws/tls (Node 20's tls.connect rejects some).
  const baseOptions: ClientOptions = {};
  if (options.handshakeTimeoutMs !== undefined) baseOptions.handshakeTimeout = options.handshakeTimeoutMs;
  if (options.maxPayload !== undefined) baseOptions.maxPayload = options.maxPayload;
  for (const [k, v] of Object.entries(options.tls ?? {})) if (v !== undefined) (baseOptions as Record<string, unknown>)[k] = v;
  const staticHeaders = headers && !headersProvider ? { ...(headers as Record<string, string>) } : undefined;

  /** This attempt's URL and headers: the static ones, or what the functions return now. */
  const target = async (signal: AbortSignal): Promise<{ href: string; headers: Record<string, string> | undefined }> => {
    const [url, hdrs] = await Promise.all([
      urlProvider ? callProvider(urlProvider, 'options.url()', signal) : lastHref!,
      headersProvider ? callProvider(headersProvider, 'options.headers()', signal) : staticHeaders,
    ]);
    const href = urlProvider ? parseWsUrl(url, 'options.url()') : (url as string);
    if (headersProvider && !isHeaders(hdrs)) {
      throw new TypeError(`options.headers() must return an object of string values, got ${describeHeaders(hdrs)}`);
    }
    return { href, headers: hdrs === undefined ? undefined : { ...(hdrs as Record<string, string>) } };
  };

  const open = (href: string, hdrs: Record<string, string> | undefined, signal: AbortSignal): Promise<WebSocketLink> =>
    new Promise<WebSocketLink>((resolve, reject) => {
      let settled = false;
      lastHref = href;
      const wsOptions: ClientOptions = hdrs ? { ...baseOptions, headers: hdrs } : baseOptions;
      const ws = protocols === undefined ? new WebSocket(href, wsOptions) : new WebSocket(href, protocols, wsOptions);
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        ws.removeAllListeners('open');
        ws.terminate();
        reject(error);
      };
      const onAbort = () => fail(aborted(signal));
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
        resolve(wrapWebSocket(ws, { ...linkOptions, url: href }));
      });
    });

  return {
    kind: 'websocket',
    get url() {
      return lastHref;
    },
    connect({ signal }: ConnectOptions): Promise<WebSocketLink> {
      if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('options.signal must be an AbortSignal'));
      if (signal.aborted) return Promise.reject(aborted(signal));
      if (!urlProvider && !headersProvider) return open(lastHref!, staticHeaders, signal);
      // An abort while a function is pending settles the attempt at once; the
      // function's late result is ignored and no socket is opened.
      return untilAborted(target(signal), signal).then(({ href, headers: hdrs }) =>
        signal.aborted ? Promise.reject(aborted(signal)) : open(href, hdrs, signal),
      );
    },
  };
}

/** `value` as a ws:// or wss:// URL's href, or a TypeError naming `name`. */
function parseWsUrl(value: unknown, name: string): string {
  let url: URL | undefined;
  if (typeof value === 'string' || value instanceof URL) {
    try {
      url = new URL(String(value));
    } catch {
      url = undefined;
    }
  }
  if (!url || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
    throw new TypeError(`${name} must ${name.endsWith('()') ? 'return' : 'be'} a ws:// or wss:// URL, got ${describe(value)}`);
  }
  return url.href;
}

function isHeaders(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** What is wrong with a headers value, without printing the values (they are often secrets). */
function describeHeaders(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === null ? 'null' : typeof value;
  if (Array.isArray(value)) return 'an array';
  const bad = Object.entries(value).find(([, v]) => typeof v !== 'string');
  return bad ? `${typeof bad[1]} at ${JSON.stringify(bad[0])}` : 'an object';
}

function describe(value: unknown): string {
  if (value instanceof URL) return JSON.stringify(value.href);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value) ?? typeof value;
    } catch {
      return typeof value;
    }
  }
  return `${typeof value} ${String(value)}`;
}

/** Call a user's `url`/`headers` function; what it throws or rejects with fails the attempt as a ConnectionError. */
async function callProvider<T>(fn: (context: WebSocketProviderContext) => T | Promise<T>, name: string, signal: AbortSignal): Promise<T> {
  try {
    return await fn({ signal });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new ConnectionError(`${name} failed: ${message}`, { kind: 'websocket', cause: e });
  }
}

function aborted(signal: AbortSignal): LinkClosedError {
  return new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason });
}

/** `promise`, or a canceled LinkClosedError as soon as `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
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
