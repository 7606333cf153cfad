/**
 * `unixSocketServer({ path, mode })`: the UNIX-socket `Listener` (the server
 * side of the transport). Each accepted connection is a `Link`; supervising
 * them is `accept()`'s job (see `unixSocketListener` for both together).
 *
 * Before listening, a socket file left at `path` is removed only when it is a
 * socket and nobody answers on it. A live socket is an `AddressInUseError`;
 * anything that is not a socket (a regular file, a directory) is never
 * deleted and is an `AddressInUseError` too.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { Subject } from 'rxjs';
import * as check from '../../machines/ports/check.js';
import { ClosedError } from '../../machines/ports/errors.js';
import type { Accepted, Listener } from '../../machines/ports/transport.js';
import { checkMaxBufferedBytes, wrapSocket } from '../stream/link.js';
import { AddressInUseError } from './errors.js';
import { checkSocketPath, unixLinkOptions } from './unix.transport.js';

export interface UnixSocketServerOptions {
  /** Path of the socket file. */
  path: string;
  /** File mode of the socket. Default 0o660 (owner and group). */
  mode?: number;
  /**
   * Per connection: most bytes queued for a peer that does not read before
   * its connection is closed with a `SocketBufferOverflowError`. Default
   * 8 MiB. (Below it, a connection whose replies are not drained stops being
   * read until they are.)
   */
  maxBufferedBytes?: number;
}

/** Is something answering on the socket at `path`? */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Make `path` free for a new socket, or explain why it cannot be. */
export async function claimSocketPath(path: string): Promise<void> {
  const stat = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!stat) return;
  if (!stat.isSocket()) throw new AddressInUseError(path, 'the path exists and is not a socket (left untouched)');
  if (await answers(path)) throw new AddressInUseError(path, 'another process is listening on it');
  await unlink(path); // a stale socket: its server is gone
}

export function checkMode(mode: unknown, name = 'options.mode'): number {
  const m = mode ?? 0o660;
  if (!Number.isInteger(m) || (m as number) < 0 || (m as number) > 0o777) throw new RangeError(`${name} must be a file mode within 0..0o777, got ${String(mode)}`);
  return m as number;
}

export function unixSocketServer(options: UnixSocketServerOptions): Listener & { readonly path: string } {
  check.object(options, 'options', '{ path, mode?, maxBufferedBytes? }');
  checkSocketPath(options.path);
  const { path } = options;
  const mode = checkMode(options.mode);
  const linkOptions = unixLinkOptions(path, checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes'));
  const accepted = new Subject<Accepted>();
  let server: Server | undefined;
  let closing: Promise<void> | undefined;

  return {
    kind: 'unix',
    path,
    accepted$: accepted.asObservable(),
    async listen() {
      if (closing) throw new ClosedError('listener', `listener on ${path} is closed`, 'ERR_LISTENER_CLOSED');
      if (server) throw new ClosedError('listener', `already listening on ${path}`, 'ERR_ALREADY_LISTENING');
      const srv = createServer((socket) => {
        if (closing) return void socket.destroy();
        accepted.next({ link: wrapSocket(socket, linkOptions), remote: path });
      });
      server = srv;
      await claimSocketPath(path);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (e: NodeJS.ErrnoException) =>
          reject(e.code === 'EADDRINUSE' ? new AddressInUseError(path, 'another process took the path', { cause: e }) : e),
        );
        srv.listen(path, () => resolve());
      });
      await chmod(path, mode);
    },
    close() {
      // net.Server's close callback runs once every accepted socket has closed too.
      closing ??= new Promise<void>((resolve) => {
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }).then(() => accepted.complete());
      return closing;
    },
  };
}
