/**
 * `unixSocketTransport({ path })`: a client connection to a UNIX-domain
 * stream socket. Inbound data arrives as `Uint8Array` chunks (framing is the
 * caller's: see EdgeClient for newline-delimited JSON).
 *
 * Connect failures are typed, each with `socketPath` and the OS `cause`:
 * ENOENT → `SocketFileNotFoundError`, EACCES/EPERM → `SocketPermissionDeniedError`,
 * anything else (ECONNREFUSED: a stale socket file) → `SocketConnectionError`.
 */
import { createConnection } from 'node:net';
import * as check from '../../machines/ports/check.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { SocketBrokenPipeError, SocketBufferOverflowError, SocketConnectionError, SocketFileNotFoundError, SocketPermissionDeniedError, type UnixSocketError } from './errors.js';
import { checkMaxBufferedBytes, wrapSocket, type StreamLinkOptions } from '../stream/link.js';

export { checkMaxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES } from '../stream/link.js';
import type { ConnectOptions, Link, Transport } from '../../machines/ports/transport.js';

export interface UnixSocketTransportOptions {
  /** Path of the socket file. */
  path: string;
  /**
   * Most bytes queued for the peer before the connection is closed with a
   * `SocketBufferOverflowError` (the peer is not reading). Default 8 MiB.
   */
  maxBufferedBytes?: number;
}

/** The typed error for an OS error on `socketPath` while connecting. */
export function connectError(error: Error & { code?: string }, socketPath: string): UnixSocketError {
  switch (error.code) {
    case 'ENOENT':
      return new SocketFileNotFoundError(socketPath, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new SocketPermissionDeniedError(socketPath, { cause: error });
    default:
      return new SocketConnectionError(socketPath, { cause: error });
  }
}

/** The typed error for an OS error on an open connection. */
export function streamError(error: Error & { code?: string }, socketPath: string): Error {
  if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return new SocketBrokenPipeError(socketPath, { cause: error });
  return new SocketConnectionError(socketPath, { cause: error, message: `connection to ${socketPath} failed: ${error.message}` });
}

/** The stream-link options of a UNIX socket at `socketPath`: typed errors, the write-buffer cap. */
export function unixLinkOptions(socketPath: string, maxBufferedBytes: number): StreamLinkOptions {
  return {
    toError: (e) => streamError(e, socketPath),
    maxBufferedBytes,
    overflowError: ({ buffered, limit }) => new SocketBufferOverflowError(socketPath, buffered, limit),
  };
}

export function checkSocketPath(path: unknown, name = 'options.path'): asserts path is string {
  const bytes = Buffer.byteLength(check.nonEmptyString(path, name));
  if (bytes > 107) throw new RangeError(`${name} must be at most 107 bytes (the UNIX socket path limit), got ${bytes}`);
}

export function unixSocketTransport(options: UnixSocketTransportOptions): Transport & { readonly path: string } {
  check.object(options, 'options', '{ path, maxBufferedBytes? }');
  checkSocketPath(options.path);
  const path = options.path;
  const linkOptions = unixLinkOptions(path, checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes'));
  return {
    kind: 'unix',
    path,
    connect({ signal }: ConnectOptions): Promise<Link> {
      if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('options.signal must be an AbortSignal'));
      if (signal.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true }));
      return new Promise<Link>((resolve, reject) => {
        const socket = createConnection({ path });
        const onAbort = () => {
          socket.destroy();
          reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('error', (e: Error & { code?: string }) => {
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          reject(connectError(e, path));
        });
        socket.once('connect', () => {
          signal.removeEventListener('abort', onAbort);
          socket.removeAllListeners('error');
          resolve(wrapSocket(socket, linkOptions));
        });
      });
    },
  };
}
