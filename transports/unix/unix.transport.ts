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
import { SocketBrokenPipeError, SocketConnectionError, SocketFileNotFoundError, SocketPermissionDeniedError, type UnixSocketError } from './errors.js';
import { wrapSocket } from '../stream/link.js';
import type { ConnectOptions, Link, Transport } from '../../machines/ports/transport.js';

export interface UnixSocketTransportOptions {
  /** Path of the socket file. */
  path: string;
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

export function checkSocketPath(path: unknown, name = 'options.path'): asserts path is string {
  const bytes = Buffer.byteLength(check.nonEmptyString(path, name));
  if (bytes > 107) throw new RangeError(`${name} must be at most 107 bytes (the UNIX socket path limit), got ${bytes}`);
}

export function unixSocketTransport(options: UnixSocketTransportOptions): Transport & { readonly path: string } {
  check.object(options, 'options', '{ path }');
  checkSocketPath(options.path);
  const path = options.path;
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
          resolve(wrapSocket(socket, { toError: (e) => streamError(e, path) }));
        });
      });
    },
  };
}
