/**
 * Every error statewire throws or rejects with lives in this file.
 *
 * Each class has:
 * - `name`: the class name (survives minification, shows in stack traces);
 * - `code`: a stable machine-readable string (`ERR_*`), safe to switch on;
 * - `cause`: the original error (an OS error, a vendor SDK error), when there is one;
 * - typed context fields: which connection, which socket path, which limit.
 *
 * Transports translate what the OS or a vendor SDK throws into these classes at
 * the boundary (ECONNREFUSED becomes a `ConnectionError` with the original as
 * `cause`). Bad arguments from a caller are plain `TypeError` / `RangeError`,
 * never one of these: they are programming errors, not runtime conditions.
 *
 * @example
 * ```ts
 * try { await supervisor.send('radio', frame) }
 * catch (err) {
 *   if (err instanceof OutboxOverflowError) metrics.dropped(err.connectionId)
 *   else if (isStatewireError(err) && err.code === 'ERR_CONNECTION_FAILED') alert(err)
 * }
 * ```
 */

/** Base class: `code` and `cause` on every statewire error. */
export class StatewireError extends Error {
  override name = 'StatewireError';
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True for any error defined in this file. */
export function isStatewireError(err: unknown): err is StatewireError {
  return err instanceof StatewireError;
}

/** A plain, serializable description of an error, for event data and the visualizer. */
export function describeError(error: unknown): { name: string; code?: string; message: string } | undefined {
  if (error === undefined) return undefined;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * A link could not be opened, or broke. `cause` holds the OS or SDK error
 * (ECONNREFUSED, ENOENT, ...), `errno` its code when it had one.
 */
export class ConnectionError extends StatewireError {
  override name = 'ConnectionError';
  /** The connection (child id) this happened on, when known. */
  readonly connectionId: string | undefined;
  /** The transport kind (`'mock'`, `'websocket'`, `'unix'`, ...). */
  readonly kind: string | undefined;
  /** The OS error code of the cause (`'ECONNREFUSED'`), when there was one. */
  readonly errno: string | undefined;
  /**
   * True when retrying cannot help by itself (the peer rejected our
   * credentials). The connection machine goes to `failed` after
   * `policy.maxPermanentFailures` identical permanent failures in a row.
   */
  readonly permanent: boolean;

  constructor(
    message: string,
    options: { connectionId?: string; kind?: string; cause?: unknown; code?: string; permanent?: boolean } = {},
  ) {
    super(message, options.code ?? 'ERR_CONNECTION', { cause: options.cause });
    this.connectionId = options.connectionId;
    this.kind = options.kind;
    this.permanent = options.permanent === true;
    const c = options.cause as { code?: unknown } | undefined;
    this.errno = c && typeof c.code === 'string' ? c.code : undefined;
  }
}

/** `connectTimeoutMs` elapsed before the transport opened the link. */
export class ConnectTimeoutError extends ConnectionError {
  override name = 'ConnectTimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options: { connectionId?: string; kind?: string } = {}) {
    super(`connect timed out after ${timeoutMs} ms`, { ...options, code: 'ERR_CONNECT_TIMEOUT' });
    this.timeoutMs = timeoutMs;
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

/**
 * A UNIX-socket failure. Every subclass carries the `socketPath` and the
 * original OS error as `cause`; `errno` is its code (ENOENT, EACCES, ...).
 */
export class SocketError extends ConnectionError {
  override name = 'SocketError';
  readonly socketPath: string;

  constructor(message: string, socketPath: string, code: string, options: { cause?: unknown; connectionId?: string } = {}) {
    super(message, { kind: 'unix', code, cause: options.cause, connectionId: options.connectionId });
    this.socketPath = socketPath;
  }
}

/** Nothing at the socket path (ENOENT). */
export class SocketFileNotFoundError extends SocketError {
  override name = 'SocketFileNotFoundError';
  constructor(socketPath: string, options: { cause?: unknown } = {}) {
    super(`no socket at ${socketPath} (is the agent running?)`, socketPath, 'ERR_SOCKET_NOT_FOUND', options);
  }
}

/** The caller may not open the socket (EACCES/EPERM). */
export class SocketPermissionDeniedError extends SocketError {
  override name = 'SocketPermissionDeniedError';
  constructor(socketPath: string, options: { cause?: unknown } = {}) {
    super(`permission denied opening ${socketPath}`, socketPath, 'ERR_SOCKET_PERMISSION', options);
  }
}

/** The connect failed for another reason: ECONNREFUSED (a stale socket file, nobody listening), ENOTSOCK, ... */
export class SocketConnectionError extends SocketError {
  override name = 'SocketConnectionError';
  constructor(socketPath: string, options: { cause?: unknown; message?: string } = {}) {
    const errno = (options.cause as { code?: string } | undefined)?.code;
    super(options.message ?? `cannot connect to ${socketPath}${errno ? ` (${errno})` : ''}`, socketPath, 'ERR_SOCKET_CONNECT', options);
  }
}

/** Sending on a connection that is closed (or was never opened). */
export class SocketNotConnectedError extends SocketError {
  override name = 'SocketNotConnectedError';
  constructor(socketPath: string, options: { cause?: unknown; message?: string } = {}) {
    super(options.message ?? `not connected to ${socketPath}`, socketPath, 'ERR_SOCKET_NOT_CONNECTED', options);
  }
}

/** The peer went away while we were sending (EPIPE/ECONNRESET). */
export class SocketBrokenPipeError extends SocketError {
  override name = 'SocketBrokenPipeError';
  constructor(socketPath: string, options: { cause?: unknown; message?: string } = {}) {
    super(options.message ?? `broken pipe on ${socketPath}: the peer closed the connection`, socketPath, 'ERR_SOCKET_BROKEN_PIPE', options);
  }
}

/** The peer answered wrongly: no ack in time, a nack, or an ack frame that does not parse. */
export class SocketCommunicationError extends SocketError {
  override name = 'SocketCommunicationError';
  /** The event id concerned, when there is one. */
  readonly eventId: number | undefined;
  constructor(socketPath: string, message: string, options: { cause?: unknown; eventId?: number } = {}) {
    super(message, socketPath, 'ERR_SOCKET_COMMUNICATION', options);
    this.eventId = options.eventId;
  }
}

/** Something live already listens at the path, or the path is not a socket (never deleted). */
export class AddressInUseError extends SocketError {
  override name = 'AddressInUseError';
  constructor(socketPath: string, reason: string, options: { cause?: unknown } = {}) {
    super(`cannot listen on ${socketPath}: ${reason}`, socketPath, 'ERR_ADDRESS_IN_USE', options);
  }
}

/**
 * The link closed while work was in flight (a send, a connect).
 *
 * `canceled` is true when the close was deliberate (our own `close()`, a
 * DISCONNECT, an aborted connect): the work was cancelled, nothing is broken.
 * It is false when the peer or the network closed the link.
 */
export class LinkClosedError extends StatewireError {
  override name = 'LinkClosedError';
  readonly canceled: boolean;
  readonly connectionId: string | undefined;
  /** Close code reported by the transport (a WebSocket close code, an errno), if any. */
  readonly closeCode: number | string | undefined;

  constructor(
    message: string,
    options: { canceled: boolean; connectionId?: string; closeCode?: number | string; cause?: unknown },
  ) {
    super(message, options.canceled ? 'ERR_LINK_CANCELED' : 'ERR_LINK_CLOSED', { cause: options.cause });
    this.canceled = options.canceled;
    this.connectionId = options.connectionId;
    this.closeCode = options.closeCode;
  }
}

/** Why a message was not delivered. */
export type DropReason = 'volatile' | 'overflow' | 'failed' | 'stopped';

/**
 * A message was dropped before it reached a link. The sender always learns of
 * it (this rejection) and `events$` carries an `EVENT_MESSAGE_DROPPED`.
 * - `volatile`: a volatile send while not connected (stale readings are not replayed);
 * - `overflow`: see `OutboxOverflowError`;
 * - `failed`: the connection ended in `failed` with the message still queued;
 * - `stopped`: the connection was stopped (stopChild, shutdown) with the message queued.
 */
export class MessageDroppedError extends StatewireError {
  override name = 'MessageDroppedError';
  readonly connectionId: string;
  readonly reason: DropReason;

  constructor(connectionId: string, reason: DropReason, message?: string, code = 'ERR_MESSAGE_DROPPED') {
    super(message ?? `message to "${connectionId}" dropped (${reason})`, code);
    this.connectionId = connectionId;
    this.reason = reason;
  }
}

/**
 * The outbox was full (`outbox.limit`) and the overflow policy dropped this
 * message: the oldest queued one (`drop-oldest`), the new one (`drop-newest`),
 * or refused the new one (`reject`).
 */
export class OutboxOverflowError extends MessageDroppedError {
  override name = 'OutboxOverflowError';
  readonly limit: number;
  readonly overflow: 'drop-oldest' | 'drop-newest' | 'reject';

  constructor(connectionId: string, limit: number, overflow: 'drop-oldest' | 'drop-newest' | 'reject') {
    super(
      connectionId,
      'overflow',
      `outbox of "${connectionId}" is full (limit ${limit}, policy ${overflow})`,
      'ERR_OUTBOX_OVERFLOW',
    );
    this.limit = limit;
    this.overflow = overflow;
  }
}

/** No child with this id is running under the supervisor. */
export class UnknownConnectionError extends StatewireError {
  override name = 'UnknownConnectionError';
  readonly connectionId: string;

  constructor(connectionId: string) {
    super(`no connection with id "${connectionId}"`, 'ERR_UNKNOWN_CONNECTION');
    this.connectionId = connectionId;
  }
}

/** The connection gave up (`failed`: retries exhausted) and will not send. */
export class ConnectionFailedError extends StatewireError {
  override name = 'ConnectionFailedError';
  readonly connectionId: string;
  readonly reconnectCount: number;

  constructor(connectionId: string, reconnectCount: number, options?: { cause?: unknown }) {
    super(`connection "${connectionId}" failed after ${reconnectCount} retries`, 'ERR_CONNECTION_FAILED', options);
    this.connectionId = connectionId;
    this.reconnectCount = reconnectCount;
  }
}

/** Why a supervisor gave up: OTP's supervisor report. */
export interface SupervisorReport {
  /** The supervisor's id. */
  supervisor: string;
  /** What it was doing: `'child_terminated'` (restart intensity exceeded) or `'shutdown'`. */
  errorContext: 'child_terminated' | 'shutdown';
  /** `'reached_max_restart_intensity'` or the shutdown reason. */
  reason: string;
  /** The child whose exit tipped it over. */
  offender: { id: string; kind: string; exit: string; error?: unknown };
  /** Restarts counted in the window when it gave up. */
  restarts: number;
}

/** The supervisor exceeded its restart intensity and stopped every child. */
export class SupervisorFailedError extends StatewireError {
  override name = 'SupervisorFailedError';
  readonly report: SupervisorReport;

  constructor(report: SupervisorReport) {
    super(
      `supervisor "${report.supervisor}" failed: ${report.reason} (offender "${report.offender.id}")`,
      'ERR_SUPERVISOR_FAILED',
      { cause: report.offender.error },
    );
    this.report = report;
  }
}
