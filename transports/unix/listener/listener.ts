/**
 * `unixSocketListener({ path, mode })`: the server side. Each accepted
 * connection becomes a supervised connection actor (`reconnect: false`,
 * restart `temporary`) under `listener.supervisor`; `accepted$` tells who.
 *
 * Before listening, a socket file left at `path` is removed only when it is a
 * socket and nobody answers on it. A live socket is an `AddressInUseError`;
 * anything that is not a socket (a regular file, a directory) is never
 * deleted and is an `AddressInUseError` too.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { createSupervisor, type Logger, type Supervisor } from '../../../actors/supervisor.js';
import type { Clock } from '../../../machines/ports/clock.js';
import { ClosedError } from '../../../machines/ports/errors.js';
import { AddressInUseError } from '../errors.js';
import { acceptedTransport } from '../../../actors/acceptor.js';
import { wrapSocket } from '../../stream/link.js';
import type { Link } from '../../../machines/ports/transport.js';
import { checkSocketPath, streamError } from '../unix.transport.js';

export interface UnixSocketListenerOptions {
  path: string;
  /** File mode of the socket. Default 0o660 (owner and group). */
  mode?: number;
  logger?: Logger;
  clock?: Clock;
}

export interface AcceptedConnection {
  /** The child id under `listener.supervisor`. */
  id: string;
  link: Link;
}

export interface UnixSocketListener {
  readonly path: string;
  readonly supervisor: Supervisor;
  /** Every accepted connection, once its actor has started. */
  readonly accepted$: Observable<AcceptedConnection>;
  listen(): Promise<void>;
  /** Stop accepting, close every connection, remove the socket file. */
  close(): Promise<void>;
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

export function unixSocketListener(options: UnixSocketListenerOptions): UnixSocketListener {
  if (!options || typeof options !== 'object') throw new TypeError('options must be an object { path, mode? }');
  checkSocketPath(options.path);
  const { path } = options;
  const mode = options.mode ?? 0o660;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RangeError(`options.mode must be a file mode within 0..0o777, got ${String(options.mode)}`);
  const supervisor = createSupervisor({ id: `unix:${path}`, logger: options.logger, clock: options.clock });
  const accepted = new Subject<AcceptedConnection>();
  let server: Server | undefined;
  let closing: Promise<void> | undefined;
  let n = 0;

  return {
    path,
    supervisor,
    accepted$: accepted.asObservable(),
    async listen() {
      if (closing) throw new ClosedError('listener', `listener on ${path} is closed`, 'ERR_LISTENER_CLOSED');
      if (server) throw new ClosedError('listener', `already listening on ${path}`, 'ERR_ALREADY_LISTENING');
      await claimSocketPath(path);
      const srv = createServer((socket) => {
        if (closing) return void socket.destroy();
        const link = wrapSocket(socket, { toError: (e) => streamError(e, path) });
        const id = `conn-${++n}`;
        supervisor.startChild({ id, transport: acceptedTransport(link, 'unix'), restart: 'temporary', policy: { reconnect: false } });
        accepted.next({ id, link });
      });
      server = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (e: NodeJS.ErrnoException) =>
          reject(e.code === 'EADDRINUSE' ? new AddressInUseError(path, 'another process took the path', { cause: e }) : e),
        );
        srv.listen(path, () => resolve());
      });
      await chmod(path, mode);
    },
    close() {
      closing ??= (async () => {
        const srv = server;
        // Stop accepting first; the server's close completes once every connection is gone.
        const stopped = srv ? new Promise<void>((r) => srv.close(() => r())) : Promise.resolve();
        await supervisor.shutdown();
        await stopped;
        accepted.complete();
      })();
      return closing;
    },
  };
}
