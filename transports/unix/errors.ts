/**
 * Errors of the UNIX-socket transport, listener and edge protocol
 * (`statewire/unix`). They extend the core classes; their codes join the core
 * `ErrorCode` union.
 */
import { ConnectionError, StatewireError, type ErrorCode } from '../../machines/ports/errors.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** Nothing at the socket path (ENOENT). */
    ERR_SOCKET_NOT_FOUND: true;
    /** EACCES/EPERM opening the socket. */
    ERR_SOCKET_PERMISSION: true;
    /** Any other connect failure (ECONNREFUSED on a stale socket file, ENOTSOCK). */
    ERR_SOCKET_CONNECT: true;
    /** Sending on a closed connection. */
    ERR_SOCKET_NOT_CONNECTED: true;
    /** EPIPE/ECONNRESET while sending. */
    ERR_SOCKET_BROKEN_PIPE: true;
    /** The peer answered wrongly (no ack in time, a nack, an unparsable frame). */
    ERR_SOCKET_COMMUNICATION: true;
    /** The socket path is taken (a live socket, or not a socket at all). */
    ERR_ADDRESS_IN_USE: true;
    /** A newline-delimited frame over `maxFrameBytes`. */
    ERR_FRAME_TOO_LARGE: true;
    /** The peer does not read: more than `maxBufferedBytes` queued for it. */
    ERR_SOCKET_BUFFER_OVERFLOW: true;
  }
}

/**
 * A UNIX-socket failure. Every subclass carries the `socketPath` and the
 * original OS error as `cause`; `errno` is its code (ENOENT, EACCES, ...).
 */
export class UnixSocketError extends ConnectionError {
  override name = 'UnixSocketError';
  readonly socketPath: string;

  constructor(message: string, socketPath: string, code: ErrorCode, options: { cause?: unknown; connectionId?: string } = {}) {
    super(message, { kind: 'unix', code, cause: options.cause, connectionId: options.connectionId });
    this.socketPath = socketPath;
  }
}

/** Nothing at the socket path (ENOENT). */
export class SocketFileNotFoundError extends UnixSocketError {
  override name = 'SocketFileNotFoundError';
  constructor(socketPath: string, options: { cause?: unknown } = {}) {
    super(`no socket at ${socketPath} (is the agent running?)`, socketPath, 'ERR_SOCKET_NOT_FOUND', options);
  }
}

/** The caller may not open the socket (EACCES/EPERM). */
export class SocketPermissionDeniedError extends UnixSocketError {
  override name = 'SocketPermissionDeniedError';
  constructor(socketPath: string, options: { cause?: unknown } = {}) {
    super(`permission denied opening ${socketPath}`, socketPath, 'ERR_SOCKET_PERMISSION', options);
  }
}

/** The connect failed for another reason: ECONNREFUSED (a stale socket file, nobody listening), ENOTSOCK, ... */
export class SocketConnectionError extends UnixSocketError {
  override name = 'SocketConnectionError';
  constructor(socketPath: string, options: { cause?: unknown; message?: string } = {}) {
    const errno = (options.cause as { code?: string } | undefined)?.code;
    super(options.message ?? `cannot connect to ${socketPath}${errno ? ` (${errno})` : ''}`, socketPath, 'ERR_SOCKET_CONNECT', options);
  }
}

/** Sending on a connection that is closed (or was never opened). */
export class SocketNotConnectedError extends UnixSocketError {
  override name = 'SocketNotConnectedError';
  constructor(socketPath: string, options: { cause?: unknown; message?: string } = {}) {
    super(options.message ?? `not connected to ${socketPath}`, socketPath, 'ERR_SOCKET_NOT_CONNECTED', options);
  }
}

/** The peer went away while we were sending (EPIPE/ECONNRESET). */
export class SocketBrokenPipeError extends UnixSocketError {
  override name = 'SocketBrokenPipeError';
  constructor(socketPath: string, options: { cause?: unknown; message?: string } = {}) {
    super(options.message ?? `broken pipe on ${socketPath}: the peer closed the connection`, socketPath, 'ERR_SOCKET_BROKEN_PIPE', options);
  }
}

/** The peer answered wrongly: no ack in time, a nack, or an ack frame that does not parse. */
export class SocketCommunicationError extends UnixSocketError {
  override name = 'SocketCommunicationError';
  /** The event id concerned, when there is one. */
  readonly eventId: number | undefined;
  constructor(socketPath: string, message: string, options: { cause?: unknown; eventId?: number } = {}) {
    super(message, socketPath, 'ERR_SOCKET_COMMUNICATION', options);
    this.eventId = options.eventId;
  }
}

/**
 * The peer does not read what we send: more than `maxBufferedBytes` were
 * queued for it, so the connection was closed (what the link reports in
 * `closed`, and the rejection of the sends in flight, as their `cause`).
 */
export class SocketBufferOverflowError extends UnixSocketError {
  override name = 'SocketBufferOverflowError';
  /** The limit (`maxBufferedBytes`), bytes. */
  readonly limit: number;
  /** Bytes queued for the peer when the connection was closed. */
  readonly buffered: number;
  constructor(socketPath: string, buffered: number, limit: number) {
    super(`closed the connection on ${socketPath}: the peer is not reading (${buffered} bytes queued, over the ${limit}-byte limit)`, socketPath, 'ERR_SOCKET_BUFFER_OVERFLOW');
    this.limit = limit;
    this.buffered = buffered;
  }
}

/** Something live already listens at the path, or the path is not a socket (never deleted). */
export class AddressInUseError extends UnixSocketError {
  override name = 'AddressInUseError';
  constructor(socketPath: string, reason: string, options: { cause?: unknown } = {}) {
    super(`cannot listen on ${socketPath}: ${reason}`, socketPath, 'ERR_ADDRESS_IN_USE', options);
  }
}


/** A newline-delimited frame longer than the limit (`maxFrameBytes`). */
export class FrameTooLargeError extends StatewireError {
  override name = 'FrameTooLargeError';
  /** The limit, bytes. */
  readonly limit: number;
  /** The frame's size so far, bytes (at least this). */
  readonly size: number;

  constructor(limit: number, size: number) {
    super(`frame of at least ${size} bytes exceeds the ${limit}-byte limit`, 'ERR_FRAME_TOO_LARGE');
    this.limit = limit;
    this.size = size;
  }
}
