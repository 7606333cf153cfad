/**
 * Errors of the serial transport (`statewire/serial`). They extend the core
 * `ConnectionError`; their codes join the core `ErrorCode` union.
 *
 * serialport's errors carry no `code`: the bindings put the OS error in the
 * message ("Error: No such file or directory, cannot open /dev/ttyUSB0",
 * "Error Resource temporarily unavailable Cannot lock port"). `serialError`
 * reads the errno out of the code or the message once, at the boundary, and
 * picks the class; nothing above it parses messages.
 */
import { ConnectionError, type ErrorCode } from '../../machines/ports/errors.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** No serial port at the path (ENOENT; with `SerialPortMock`, a port never created). */
    ERR_SERIAL_NOT_FOUND: true;
    /** The caller may not open the port (EACCES/EPERM: not in the `dialout` group?). */
    ERR_SERIAL_PERMISSION: true;
    /** Another process holds the port ("Cannot lock port", EBUSY). */
    ERR_SERIAL_LOCKED: true;
    /** An I/O error on an open port (EIO, EBADF, ENXIO): the device or the peer is gone. */
    ERR_SERIAL_IO: true;
    /** Any other open failure: the path is not a serial port (ENOTTY), a setting the port refuses. */
    ERR_SERIAL_OPEN: true;
  }
}

/**
 * A serial-port failure. Every subclass carries the port's `path`, the
 * original serialport error as `cause` and its OS error code as `errno`
 * (ENOENT, EACCES, EIO, ...), read from the code or the message.
 */
export class SerialPortError extends ConnectionError {
  override name = 'SerialPortError';
  /** The port's path (`/dev/ttyUSB0`). */
  readonly path: string;
  /** The OS error code behind it, when one could be read: `'ENOENT'`, `'EIO'`, ... */
  override readonly errno: string | undefined;

  constructor(message: string, path: string, code: ErrorCode, options: { cause?: unknown; errno?: string; permanent?: boolean } = {}) {
    super(message, { kind: 'serial', code, cause: options.cause, permanent: options.permanent });
    this.path = path;
    this.errno = options.errno ?? errnoOf(options.cause);
  }
}

/** No serial port at the path (ENOENT). A USB adapter may come back: not permanent. */
export class SerialPortNotFoundError extends SerialPortError {
  override name = 'SerialPortNotFoundError';
  constructor(path: string, options: { cause?: unknown; errno?: string } = {}) {
    super(`no serial port at ${path} (is the device plugged in?)`, path, 'ERR_SERIAL_NOT_FOUND', options);
  }
}

/** The caller may not open the port (EACCES/EPERM). */
export class SerialPermissionDeniedError extends SerialPortError {
  override name = 'SerialPermissionDeniedError';
  constructor(path: string, options: { cause?: unknown; errno?: string } = {}) {
    super(`permission denied opening ${path} (is the user in the dialout group?)`, path, 'ERR_SERIAL_PERMISSION', options);
  }
}

/** Another process holds the port: serialport's exclusive lock failed ("Cannot lock port"), or EBUSY. */
export class SerialPortLockedError extends SerialPortError {
  override name = 'SerialPortLockedError';
  constructor(path: string, options: { cause?: unknown; errno?: string } = {}) {
    super(`${path} is in use by another process (cannot lock the port)`, path, 'ERR_SERIAL_LOCKED', options);
  }
}

/** An I/O error on an open port (EIO on a write or a read, EBADF/ENXIO on a read): the device or the peer went away. */
export class SerialIOError extends SerialPortError {
  override name = 'SerialIOError';
  constructor(path: string, options: { cause?: unknown; errno?: string } = {}) {
    const errno = options.errno ?? errnoOf(options.cause);
    super(`I/O error on ${path}${errno ? ` (${errno})` : ''}: the device or its peer is gone`, path, 'ERR_SERIAL_IO', { ...options, errno });
  }
}

/**
 * Any other open failure. ENOTTY (the path is a file, not a serial port) is
 * `permanent`: retrying cannot make it one.
 */
export class SerialOpenError extends SerialPortError {
  override name = 'SerialOpenError';
  constructor(path: string, options: { cause?: unknown; errno?: string } = {}) {
    const errno = options.errno ?? errnoOf(options.cause);
    const reason = errno === 'ENOTTY' ? 'not a serial port' : ((options.cause as Error | undefined)?.message ?? 'unknown error');
    super(`cannot open ${path}: ${reason}`, path, 'ERR_SERIAL_OPEN', { ...options, errno, permanent: errno === 'ENOTTY' });
  }
}

/** What serialport's messages say, for the errno they do not carry. */
const PHRASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/no such file|does not exist/i, 'ENOENT'],
  [/permission denied/i, 'EACCES'],
  [/operation not permitted/i, 'EPERM'],
  [/device or resource busy/i, 'EBUSY'],
  [/resource temporarily unavailable/i, 'EAGAIN'],
  [/inappropriate ioctl/i, 'ENOTTY'],
  [/i\/o error|input\/output error/i, 'EIO'],
  [/bad file descriptor/i, 'EBADF'],
  [/no such device/i, 'ENXIO'],
];

/** The OS error code of a serialport error: its `code`, an `EXXX` in its message, or one its wording implies. */
export function errnoOf(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  if (typeof message !== 'string') return undefined;
  const named = /\b(E[A-Z]{2,})\b/.exec(message);
  if (named) return named[1];
  return PHRASES.find(([pattern]) => pattern.test(message))?.[1];
}

/** The typed error for a failure opening the port at `path`. */
export function openError(error: unknown, path: string): SerialPortError {
  const errno = errnoOf(error);
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && /cannot lock port/i.test(message)) return new SerialPortLockedError(path, { cause: error, errno });
  switch (errno) {
    case 'ENOENT':
      return new SerialPortNotFoundError(path, { cause: error, errno });
    case 'EACCES':
    case 'EPERM':
      return new SerialPermissionDeniedError(path, { cause: error, errno });
    case 'EBUSY':
      return new SerialPortLockedError(path, { cause: error, errno });
    case 'EIO':
      return new SerialIOError(path, { cause: error, errno });
    default:
      return new SerialOpenError(path, { cause: error, errno });
  }
}

/** The typed error for a failure on the open port at `path` (a write, a read, a disconnect). */
export function linkError(error: unknown, path: string): SerialPortError {
  return new SerialIOError(path, { cause: error });
}
