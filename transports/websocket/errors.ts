/**
 * Errors of the WebSocket transport and the TaskLogHub (`statewire/websocket`).
 * They extend the core classes; their codes join the core `ErrorCode` union.
 */
import { ClosedError, ConnectionError } from '../../machines/ports/errors.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** The opening handshake was answered with an HTTP status other than 101. */
    ERR_WS_HANDSHAKE: true;
    /** No pong (or any frame) within `pongTimeoutMs` of a ping: the peer is gone. */
    ERR_PONG_TIMEOUT: true;
    /** A socket handed to the hub was not open. */
    ERR_SOCKET_NOT_OPEN: true;
    /** The task log hub was used after `close()`. */
    ERR_HUB_CLOSED: true;
  }
}

/**
 * A WebSocket opening handshake was answered with an HTTP status other than
 * 101 (401, 403, 404, ...). 401 and 403 are `permanent`.
 */
export class WebSocketHandshakeError extends ConnectionError {
  override name = 'WebSocketHandshakeError';
  /** The HTTP status the server answered with. */
  readonly statusCode: number;

  constructor(statusCode: number, options: { connectionId?: string; url?: string; statusMessage?: string } = {}) {
    super(`WebSocket handshake rejected: HTTP ${statusCode}${options.statusMessage ? ` ${options.statusMessage}` : ''}${options.url ? ` (${options.url})` : ''}`, {
      connectionId: options.connectionId,
      kind: 'websocket',
      code: 'ERR_WS_HANDSHAKE',
      permanent: statusCode === 401 || statusCode === 403,
    });
    this.statusCode = statusCode;
  }
}

/** No pong (or any other frame) within `pongTimeoutMs` of a ping: the peer is gone (a half-open TCP connection). */
export class PongTimeoutError extends ConnectionError {
  override name = 'PongTimeoutError';
  readonly pongTimeoutMs: number;

  constructor(pongTimeoutMs: number, options: { connectionId?: string; url?: string } = {}) {
    super(`no pong within ${pongTimeoutMs} ms: the peer is gone${options.url ? ` (${options.url})` : ''}`, {
      connectionId: options.connectionId,
      kind: 'websocket',
      code: 'ERR_PONG_TIMEOUT',
    });
    this.pongTimeoutMs = pongTimeoutMs;
  }
}

/** A socket given to `TaskLogHub.connect` was not open. */
export class SocketNotOpenError extends ConnectionError {
  override name = 'SocketNotOpenError';
  constructor() {
    super('socket is not open', { kind: 'websocket', code: 'ERR_SOCKET_NOT_OPEN' });
  }
}

/** The task log hub was used after `close()`. */
export class HubClosedError extends ClosedError {
  override name = 'HubClosedError';
  constructor(what: string) {
    super('task log hub', `cannot ${what}: the task log hub is closed`, 'ERR_HUB_CLOSED');
  }
}
