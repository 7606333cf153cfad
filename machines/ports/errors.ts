/**
 * Core errors: the ones the machines, the supervisor and every transport
 * share. Each transport folder owns its own errors (`transports/<kind>/errors.ts`),
 * extending these classes and adding its codes to `ErrorCodes` below; the root
 * entry exports only these.
 *
 * Each class has:
 * - `name`: the class name (survives minification, shows in stack traces);
 * - `code`: a stable machine-readable string (`ERR_*`) from the closed
 *   `ErrorCode` union, safe to switch on;
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

/**
 * Every error code, as the keys of one interface. A transport adds its own
 * codes by declaration merging, in its own `errors.ts`, without editing this file:
 *
 * ```ts
 * declare module '../../machines/ports/errors.js' {
 *   interface ErrorCodes { ERR_SERIAL_LOCKED: true }
 * }
 * ```
 * Codes are never made up where an error is thrown: the constructor takes an
 * `ErrorCode`, so an unregistered one does not type-check.
 */
export interface ErrorCodes {
  /** A link could not be opened or broke (generic). */
  ERR_CONNECTION: true;
  /** Nobody listens at the address (ECONNREFUSED). */
  ERR_CONNECTION_REFUSED: true;
  /** `connectTimeoutMs` (or a transport's handshake timeout) elapsed. */
  ERR_CONNECT_TIMEOUT: true;
  /** No inbound data for `staleAfterMs`: the link is treated as lost. */
  ERR_LINK_STALE: true;
  /** A server-side (accepted) link cannot be opened a second time. */
  ERR_NOT_REOPENABLE: true;
  /** The peer or the network closed the link with work in flight. */
  ERR_LINK_CLOSED: true;
  /** We closed the link with work in flight: the work was cancelled. */
  ERR_LINK_CANCELED: true;
  ERR_MESSAGE_DROPPED: true;
  ERR_OUTBOX_OVERFLOW: true;
  ERR_UNKNOWN_CONNECTION: true;
  ERR_CONNECTION_FAILED: true;
  ERR_SUPERVISOR_FAILED: true;
  /** A child id is already in use under this supervisor. */
  ERR_DUPLICATE_ID: true;
  /** The supervisor is shut down (or failed) and takes no new work. */
  ERR_SUPERVISOR_STOPPED: true;
  /** A listener was used after `close()`. */
  ERR_LISTENER_CLOSED: true;
  /** `listen()` on a listener that already listens. */
  ERR_ALREADY_LISTENING: true;
  /** A server could not bind its address (a bad host, a port in use, no permission). */
  ERR_LISTEN: true;
}

/** The closed list of statewire error codes (core and every transport's). */
export type ErrorCode = keyof ErrorCodes;

/** Base class: `code` and `cause` on every statewire error. */
export class StatewireError extends Error {
  override name = 'StatewireError';
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True for any error defined in this file. */
export function isStatewireError(err: unknown): err is StatewireError {
  return err instanceof StatewireError;
}

/** A plain, serializable description of an error, for event data and the visualizer. */
export interface ErrorDescription {
  name: string;
  /** The error's `code` when it has a string one: an `ErrorCode`, or an OS code such as `'ECONNREFUSED'`. */
  code?: string;
  message: string;
}

/** `error` as an `ErrorDescription` (undefined for undefined). */
export function describeError(error: unknown): ErrorDescription | undefined {
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
    options: { connectionId?: string; kind?: string; cause?: unknown; code?: ErrorCode; permanent?: boolean } = {},
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

/** No inbound data for `staleAfterMs`: the connection machine treats the link as lost. */
export class StaleLinkError extends ConnectionError {
  override name = 'StaleLinkError';
  readonly staleAfterMs: number;

  constructor(staleAfterMs: number, options: { connectionId?: string; kind?: string } = {}) {
    super(`no data for ${staleAfterMs} ms: link is stale`, { ...options, code: 'ERR_LINK_STALE' });
    this.staleAfterMs = staleAfterMs;
  }
}

/**
 * Something was used after it was closed or shut down (a listener, a hub, a
 * supervisor), or in a state that does not allow it (listening twice).
 * `resource` names what: `'listener'`, `'task log hub'`, `'supervisor "edge"'`.
 */
export class ClosedError extends StatewireError {
  override name = 'ClosedError';
  readonly resource: string;

  constructor(resource: string, message: string, code: ErrorCode) {
    super(message, code);
    this.resource = resource;
  }
}

/** A server could not listen: `address` is what it tried, `cause` the OS error (EADDRINUSE, EACCES, EAI_AGAIN, ...). */
export class ListenError extends StatewireError {
  override name = 'ListenError';
  readonly address: string;
  readonly errno: string | undefined;

  constructor(address: string, options: { cause?: unknown } = {}) {
    const errno = (options.cause as { code?: unknown } | undefined)?.code;
    super(`cannot listen on ${address.length > 80 ? `${address.slice(0, 80)}…` : address}${typeof errno === 'string' ? ` (${errno})` : ''}`, 'ERR_LISTEN', options);
    this.address = address;
    this.errno = typeof errno === 'string' ? errno : undefined;
  }
}

/** A child id that is already in use under the supervisor. */
export class DuplicateIdError extends StatewireError {
  override name = 'DuplicateIdError';
  readonly connectionId: string;

  constructor(connectionId: string) {
    super(`a child with id "${connectionId}" already exists`, 'ERR_DUPLICATE_ID');
    this.connectionId = connectionId;
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

  constructor(connectionId: string, reason: DropReason, message?: string, code: ErrorCode = 'ERR_MESSAGE_DROPPED') {
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
