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
import * as wsModule from 'ws';
import { WebSocket, type RawData } from 'ws';
import { realClock, type Clock } from '../../machines/ports/clock.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { PongTimeoutError } from './errors.js';
import { LinkCore } from '../link-core.js';
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

/** How a link takes a broadcast's frame: not at all (`send`), written at once, or written and settled by callback (TLS). */
const NO_SHARING = 0;
const SHARING = 1;
const SHARING_TLS = 2;
const CORE = Symbol('core');
const SHARING_MODE = Symbol('sharing');

/** What `sendSharedFrame` reads of its link: its own fields, so it is one function for every link, not a closure each. */
interface SharingLink {
  readonly socket: WebSocket;
  readonly [CORE]: LinkCore;
  readonly [SHARING_MODE]: number;
}

/**
 * `Link.sendShared` of every WebSocket link (called as a method of the
 * link): one function on the link's own fields instead of a closure per
 * link, so a broadcast reads one object fewer per client, and a viewer costs
 * a closure less.
 */
function sendSharedFrame(this: SharingLink, message: SharedMessage, slot: number): void {
  const ws = this.socket;
  // OPEN also means the link has neither ended (that is the 'close' event)
  // nor begun to close (`closeWith` calls `ws.close()`, which leaves OPEN
  // at once): the link's core is not read on the way.
  if (ws.readyState !== WebSocket.OPEN) {
    message.settle(slot, new LinkClosedError('link is closed', { canceled: this[CORE].closing !== undefined }));
    return;
  }
  const { _sender: sender, _socket: socket } = ws as unknown as Required<WsInternals>;
  const sharing = this[SHARING_MODE];
  // The sender is idle: nothing of ours waits to be written (a message
  // being compressed, a Blob being read), so writing the frame straight to
  // the socket keeps the order of sends. Otherwise `ws.send` queues it behind.
  // (ws queues only while it is not idle, and empties its queue the moment
  // it is idle again, synchronously: an idle sender has an empty queue.)
  if (sharing === NO_SHARING || sender!._state !== SENDER_IDLE) {
    this[CORE].write(message.data).then(
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
  if (sharing === SHARING_TLS || socket!.writableLength > 0) {
    // TLS finishes every write later, and writes already waiting (a slow
    // reader) finish before this one: settled when it is written.
    this[CORE].trackShared(message, slot, (done) => sender!.sendFrame!(frame, done));
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
    this[CORE].trackShared(message, slot, (done) => socket!.write(NOTHING, done));
  }
}

export function wrapWebSocket(ws: WebSocket, options: WebSocketLinkOptions): WebSocketLink {
  const clock = options.clock ?? realClock;
  const core = new LinkCore({
    write: (data, done) => {
      const text = typeof data === 'string';
      ws.send(text ? textBytes(data) : data, text ? TEXT : BINARY, done);
    },
    writeError: (err) => new LinkClosedError('link lost while sending', { canceled: false, cause: err }),
  });
  const sharing = !canShareFrames(ws) ? NO_SHARING : (ws as unknown as WsInternals)._socket?.encrypted === true ? SHARING_TLS : SHARING;
  let endError: unknown;
  let pingTimer: unknown;
  let pongTimer: unknown;
  let killTimer: unknown;

  const stopTimers = () => {
    if (pingTimer !== undefined) clock.clearTimeout(pingTimer);
    if (pongTimer !== undefined) clock.clearTimeout(pongTimer);
    if (killTimer !== undefined) clock.clearTimeout(killTimer);
    pingTimer = pongTimer = killTimer = undefined;
  };

  const alive = () => {
    if (pongTimer !== undefined) {
      clock.clearTimeout(pongTimer);
      pongTimer = undefined;
    }
  };

  const schedulePing = () => {
    if (!(options.pingIntervalMs > 0) || core.ended) return;
    pingTimer = clock.setTimeout(() => {
      pingTimer = undefined;
      if (core.ended || ws.readyState !== WebSocket.OPEN) return;
      if (pongTimer === undefined) {
        pongTimer = clock.setTimeout(() => {
          pongTimer = undefined;
          endError = new PongTimeoutError(options.pongTimeoutMs, options.url ? { url: options.url } : {});
          ws.terminate();
        }, options.pongTimeoutMs);
      }
      try {
        ws.ping();
      } catch {
        // The socket is closing: 'close' follows.
      }
      schedulePing();
    }, options.pingIntervalMs);
  };

  const onMessage = (data: RawData, isBinary: boolean) => {
    alive();
    if (core.ended) return;
    if (!isBinary) core.incoming.next(data.toString());
    else if (Array.isArray(data)) core.incoming.next(new Uint8Array(Buffer.concat(data)));
    else core.incoming.next(new Uint8Array(data as ArrayBuffer | Buffer));
  };

  const onClose = (code: number, reason: Buffer) => {
    stopTimers();
    ws.off('message', onMessage);
    ws.off('pong', alive);
    const local = core.closing !== undefined;
    const info: Omit<CloseInfo, 'initiatedLocally'> = { code };
    const text = reason.toString();
    if (text) info.reason = text;
    if (endError !== undefined) info.error = endError;
    else if (!local) info.error = new LinkClosedError(`WebSocket closed by the peer (${code}${text ? ` ${text}` : ''})`, { canceled: false, closeCode: code });
    core.end(info, (canceled) =>
      new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', { canceled, closeCode: code, cause: endError }),
    );
  };

  ws.on('message', onMessage);
  ws.on('pong', alive);
  ws.on('close', onClose);
  // Errors always end in 'close'; remember the first as the reason.
  ws.on('error', (e) => {
    endError ??= e;
  });
  if (ws.readyState !== WebSocket.OPEN) {
    // Closed between 'open' and wrapping: report it as lost.
    queueMicrotask(() => {
      if (!core.ended) onClose(1006, Buffer.alloc(0));
    });
  }
  schedulePing();

  const closeWith = (code: number, reason?: string): Promise<void> =>
    core.close(() => {
      try {
        ws.close(code, reason);
      } catch {
        ws.terminate();
      }
      killTimer = clock.setTimeout(() => ws.terminate(), options.closeTimeoutMs);
    });

  const link: WebSocketLink & SharingLink = {
    socket: ws,
    incoming$: core.incoming.asObservable(),
    closed: core.closed,
    send(data: Payload): Promise<void> {
      if (core.ended || core.closing || ws.readyState !== WebSocket.OPEN) {
        return Promise.reject(new LinkClosedError('link is closed', { canceled: core.closing !== undefined }));
      }
      return core.write(data);
    },
    [CORE]: core,
    [SHARING_MODE]: sharing,
    sendShared: sendSharedFrame,
    close: () => closeWith(options.closeCode ?? 1000, options.closeReason),
    closeWith,
  };
  return link;
}
