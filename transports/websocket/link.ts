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
import * as wsModule from 'ws';
import { WebSocket, type RawData } from 'ws';
import { realClock, type Clock } from '../../machines/ports/clock.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { PongTimeoutError } from './errors.js';
import { LinkCore, type LinkCoreOptions } from '../link-core.js';
import type { CloseInfo, Link, Payload, SharedMessage } from '../../machines/ports/transport.js';

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

/**
 * What the broadcast path (`sendShared`) uses of `ws` beyond its typed API
 * (ws 8: lib/sender.js, lib/websocket.js; the version is pinned in
 * package.json). Each piece is checked before use: without it the link sends
 * each message on its own, as `send` does.
 */
interface SenderStatic {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
}
interface WsInternals {
  _isServer?: boolean;
  _extensions?: Record<string, unknown>;
  _socket?: (NodeJS.WritableStream & { writable: boolean; writableLength: number; errored?: Error | null; encrypted?: boolean }) | null;
  _sender?: { _state?: number; _queue?: unknown[]; sendFrame?(list: Buffer[], cb?: (err?: Error | null) => void): void } | null;
}
const Sender = (wsModule as unknown as { Sender?: Partial<SenderStatic> }).Sender;
const frameData = typeof Sender?.frame === 'function' ? (Sender as SenderStatic).frame : undefined;
/** The `Sender` state in which it writes at once (not deflating, not reading a Blob): ws's `DEFAULT`. */
const SENDER_IDLE = 0;
const NOTHING = Buffer.alloc(0);
/** This module's key in a `SharedMessage`: the message as one WebSocket frame. */
const FRAME = Symbol('websocket frame');

/**
 * A broadcast message as the frame a server sends (FIN, unmasked, not
 * compressed): the same bytes for every client, so it is built once per
 * broadcast. The payload is not copied, as `ws.send` does not copy it.
 */
function frameOf(data: Payload): Buffer[] {
  const text = typeof data === 'string';
  const bytes = text ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return frameData!(bytes, { fin: true, opcode: text ? 1 : 2, mask: false, readOnly: false, rsv1: false });
}

/**
 * Whether this socket can take a frame built for every client: a server's
 * socket (a client masks each frame with a key of its own) that negotiated
 * no extension (permessage-deflate compresses per client, with the client's
 * own context), on a `ws` that has the pieces. Fixed once the socket is open.
 */
function canShareFrames(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  if (!frameData || w._isServer !== true || !w._extensions || !w._socket || typeof w._sender?.sendFrame !== 'function') return false;
  for (const _ in w._extensions) return false;
  return Array.isArray(w._sender._queue);
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
  /** A server socket without extensions: a broadcast's one prebuilt frame fits it (`sendShared`). */
  readonly #sharesFrames: boolean;
  readonly #tls: boolean;

  constructor(ws: WebSocket, options: WebSocketLinkOptions) {
    this.socket = ws;
    this.#sharesFrames = canShareFrames(ws);
    this.#tls = (ws as unknown as WsInternals)._socket?.encrypted === true;
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

  /** One broadcast's frame, shared by every idle server socket (issue 15: the broadcast data path). */
  sendShared(message: SharedMessage, slot: number): void {
    const ws = this.socket;
    const core = this.#core;
    // OPEN also means the link has neither ended (that is the 'close' event)
    // nor begun to close (`closeWith` calls `ws.close()`, which leaves OPEN
    // at once): one object fewer to read per client of a broadcast.
    if (ws.readyState !== WebSocket.OPEN) {
      message.settle(slot, new LinkClosedError('link is closed', { canceled: core.closing !== undefined }));
      return;
    }
    const { _sender: sender, _socket: socket } = ws as unknown as Required<WsInternals>;
    // The sender is idle: nothing of ours waits to be written (a message
    // being compressed, a Blob being read, a queue behind them), so writing
    // the frame straight to the socket keeps the order of sends. Otherwise
    // `ws.send` queues it.
    if (!this.#sharesFrames || sender!._state !== SENDER_IDLE) {
      core.write(message.data).then(
        () => message.settle(slot),
        (e: Error) => message.settle(slot, e),
      );
      return;
    }
    const frame = message.memo(FRAME, frameOf);
    if (!socket!.writable) {
      // Destroyed, failed or ending, and 'close' has not come yet: the write would fail.
      message.settle(slot, new LinkClosedError('link lost while sending', { canceled: false, cause: socket!.errored ?? undefined }));
      return;
    }
    if (this.#tls || socket!.writableLength > 0) {
      // TLS finishes every write later, and writes already waiting (a slow
      // reader) finish before this one: settled when it is written.
      core.trackShared(message, slot, (done) => sender!.sendFrame!(frame, done));
      return;
    }
    // No callback: the common case (the OS takes the frame at once) then
    // costs no tick and no allocation.
    sender!.sendFrame!(frame);
    const error = socket!.errored;
    if (error) {
      message.settle(slot, new LinkClosedError('link lost while sending', { canceled: false, cause: error }));
    } else if (socket!.writableLength === 0) {
      message.settle(slot); // all of it is with the OS: where `send` resolves
    } else {
      // The OS took part of it: an empty write after it says when the rest is written.
      core.trackShared(message, slot, (done) => socket!.write(NOTHING, done));
    }
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
