/**
 * One open `ws` WebSocket as a `Link` (transports/transport.ts): used by the
 * client transport for the sockets it opens and by `TaskLogHub` for sockets a
 * server accepted. Text frames arrive as strings, binary frames as Uint8Array.
 *
 * Liveness: when `pingIntervalMs` > 0 a ping goes out every `pingIntervalMs`;
 * no pong (or any other frame) within `pongTimeoutMs` of a ping means the
 * peer is gone (a half-open TCP connection): the socket is terminated and the
 * link is lost with an `ERR_PONG_TIMEOUT` ConnectionError.
 */
import type { Observable } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import { realClock, type Clock } from '../../machines/ports/clock.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { PongTimeoutError } from './errors.js';
import { LinkCore, type LinkCoreOptions } from '../link-core.js';
import type { CloseInfo, Link, Payload } from '../../machines/ports/transport.js';

/** Liveness defaults shared by the client transport and the hub's viewer sockets. */
export const DEFAULT_PING_INTERVAL_MS = 25_000;
export const DEFAULT_PONG_TIMEOUT_MS = 20_000;

export interface WebSocketLinkOptions {
  /** Ping period, ms; 0 turns pings off. */
  pingIntervalMs: number;
  /** How long after a ping the peer has to answer, ms. */
  pongTimeoutMs: number;
  /** How long `close()` waits for the peer's close frame before terminating, ms. */
  closeTimeoutMs: number;
  /** Close code `close()` sends. Default 1000. */
  closeCode?: number;
  closeReason?: string;
  clock?: Clock;
  /** Shown in errors. */
  url?: string;
}

export interface WebSocketLink extends Link {
  /** Close with a specific code and reason (`close()` uses 1000). Same guarantees as `close()`. */
  closeWith(code: number, reason?: string): Promise<void>;
  /** The underlying socket (read-only use: state, protocol, bufferedAmount). */
  readonly socket: WebSocket;
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

// Broadcasts hand the same string to many links: encode it once, not once per
// socket (ws would write the string and have each socket encode it).
let lastText: string | undefined;
let lastBytes: Buffer | undefined;
function textBytes(text: string): Buffer | string {
  if (text.length < 256) return text;
  if (text !== lastText) {
    lastText = text;
    lastBytes = Buffer.from(text, 'utf8');
  }
  return lastBytes!;
}

export function wrapWebSocket(ws: WebSocket, options: WebSocketLinkOptions): WebSocketLink {
  return new WsLink(ws, options);
}

/**
 * A class, so what a server holds per socket is fields (issue 15: closures
 * per socket, and the property stores `keepNames` gives each under tsx, were
 * a fifth of a TaskLogHub viewer). `send`, `close` and `closeWith` are
 * methods: call them on the link.
 */
class WsLink implements WebSocketLink, LinkCoreOptions {
  readonly socket: WebSocket;
  readonly incoming$: Observable<Payload>;
  readonly closed: Promise<CloseInfo>;
  readonly #core: LinkCore;
  readonly #options: WebSocketLinkOptions;
  #endError: unknown;
  #pingTimer: unknown;
  #pongTimer: unknown;
  #killTimer: unknown;
  // The socket's listeners ('message' and 'pong' are removed on close). Bound
  // in the constructor: a field's arrow would get a property store of its own
  // from tsx's `keepNames`.
  readonly #onMessage: (data: RawData, isBinary: boolean) => void;
  readonly #onPong: (() => void) | undefined;

  constructor(ws: WebSocket, options: WebSocketLinkOptions) {
    this.socket = ws;
    this.#options = options;
    this.#core = new LinkCore(this);
    this.incoming$ = this.#core.incoming.asObservable();
    this.closed = this.#core.closed;
    this.#onMessage = this.#message.bind(this);
    ws.on('message', this.#onMessage);
    // Only a ping expects a pong: without pings, no listener.
    if (options.pingIntervalMs > 0) ws.on('pong', (this.#onPong = this.#alive.bind(this)));
    ws.on('close', this.#ended.bind(this));
    ws.on('error', this.#error.bind(this));
    if (ws.readyState !== WebSocket.OPEN) {
      // Closed between 'open' and wrapping: report it as lost.
      queueMicrotask(() => {
        if (!this.#core.ended) this.#ended(1006, Buffer.alloc(0));
      });
    }
    this.#schedulePing();
  }

  send(data: Payload): Promise<void> {
    const core = this.#core;
    if (core.ended || core.closing || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new LinkClosedError('link is closed', { canceled: core.closing !== undefined }));
    }
    return core.write(data);
  }

  close(): Promise<void> {
    return this.closeWith(this.#options.closeCode ?? 1000, this.#options.closeReason);
  }

  closeWith(code: number, reason?: string): Promise<void> {
    return this.#core.close(() => {
      const ws = this.socket;
      try {
        ws.close(code, reason);
      } catch {
        ws.terminate();
      }
      this.#killTimer = this.#clock.setTimeout(() => ws.terminate(), this.#options.closeTimeoutMs);
    });
  }

  /** @internal LinkCore's writer. */
  write(data: Payload, done: (err?: Error | null) => void): void {
    const text = typeof data === 'string';
    this.socket.send(text ? textBytes(data) : data, text ? TEXT : BINARY, done);
  }

  /** @internal LinkCore's writer. */
  writeError(err: Error): Error {
    return new LinkClosedError('link lost while sending', { canceled: false, cause: err });
  }

  get #clock(): Clock {
    return this.#options.clock ?? realClock;
  }

  #stopTimers(): void {
    const clock = this.#clock;
    if (this.#pingTimer !== undefined) clock.clearTimeout(this.#pingTimer);
    if (this.#pongTimer !== undefined) clock.clearTimeout(this.#pongTimer);
    if (this.#killTimer !== undefined) clock.clearTimeout(this.#killTimer);
    this.#pingTimer = this.#pongTimer = this.#killTimer = undefined;
  }

  #alive(): void {
    if (this.#pongTimer !== undefined) {
      this.#clock.clearTimeout(this.#pongTimer);
      this.#pongTimer = undefined;
    }
  }

  #schedulePing(): void {
    const { pingIntervalMs, pongTimeoutMs } = this.#options;
    if (!(pingIntervalMs > 0) || this.#core.ended) return;
    this.#pingTimer = this.#clock.setTimeout(() => {
      this.#pingTimer = undefined;
      const ws = this.socket;
      if (this.#core.ended || ws.readyState !== WebSocket.OPEN) return;
      if (this.#pongTimer === undefined) {
        this.#pongTimer = this.#clock.setTimeout(() => {
          this.#pongTimer = undefined;
          this.#endError = new PongTimeoutError(pongTimeoutMs, this.#options.url ? { url: this.#options.url } : {});
          ws.terminate();
        }, pongTimeoutMs);
      }
      try {
        ws.ping();
      } catch {
        // The socket is closing: 'close' follows.
      }
      this.#schedulePing();
    }, pingIntervalMs);
  }

  #message(data: RawData, isBinary: boolean): void {
    this.#alive();
    const core = this.#core;
    if (core.ended) return;
    if (!isBinary) core.incoming.next(data.toString());
    else if (Array.isArray(data)) core.incoming.next(new Uint8Array(Buffer.concat(data)));
    else core.incoming.next(new Uint8Array(data as ArrayBuffer | Buffer));
  }

  /** Errors always end in 'close'; the first is remembered as the reason. */
  #error(e: Error): void {
    this.#endError ??= e;
  }

  #ended(code: number, reason: Buffer): void {
    this.#stopTimers();
    const ws = this.socket;
    ws.off('message', this.#onMessage);
    if (this.#onPong) ws.off('pong', this.#onPong);
    const core = this.#core;
    const local = core.closing !== undefined;
    const endError = this.#endError;
    const info: Omit<CloseInfo, 'initiatedLocally'> = { code };
    const text = reason.toString();
    if (text) info.reason = text;
    if (endError !== undefined) info.error = endError;
    else if (!local) info.error = new LinkClosedError(`WebSocket closed by the peer (${code}${text ? ` ${text}` : ''})`, { canceled: false, closeCode: code });
    core.end(info, (canceled) =>
      new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', { canceled, closeCode: code, cause: endError }),
    );
  }
}
