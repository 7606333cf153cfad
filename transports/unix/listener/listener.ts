/**
 * `unixSocketListener({ path, mode, supervisor? })`: the UNIX-socket server,
 * supervised. Each accepted connection becomes a `temporary`, non-reconnecting
 * child of `listener.supervisor` (yours when you pass one, so the visualizer
 * sees them beside your other connections); `accepted$` tells who.
 */
import type { Observable } from 'rxjs';
import { accept, createSupervisor, type AcceptedConnection, type Clock, type Logger, type Supervisor } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { checkMode, unixSocketServer } from '../unix.server.js';
import { checkSocketPath } from '../unix.transport.js';

export interface UnixSocketListenerOptions {
  path: string;
  /** File mode of the socket. Default 0o660 (owner and group). */
  mode?: number;
  /** Per connection: most bytes queued for a peer that does not read (see `unixSocketServer`). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Supervise accepted connections here. Default: a supervisor of the listener's own, shut down by `close()`. */
  supervisor?: Supervisor;
  /** Clock of the listener's own supervisor (ignored when `supervisor` is given: it has its clock). */
  clock?: Clock;
  logger?: Logger;
}

export type { AcceptedConnection };

export interface UnixSocketListener {
  readonly path: string;
  readonly supervisor: Supervisor;
  /** Every accepted connection, once its actor has started. */
  readonly accepted$: Observable<AcceptedConnection>;
  listen(): Promise<void>;
  /** Stop accepting, close every connection it accepted, remove the socket file. */
  close(): Promise<void>;
}

export function unixSocketListener(options: UnixSocketListenerOptions): UnixSocketListener {
  check.object(options, 'options', '{ path, mode? }');
  checkSocketPath(options.path);
  checkMode(options.mode);
  if (options.supervisor !== undefined) check.shape(options.supervisor, 'options.supervisor', { adopt: 'function' }, 'a Supervisor (createSupervisor())');
  const { path } = options;
  const owned = options.supervisor === undefined;
  const server = unixSocketServer({ path, mode: options.mode, maxBufferedBytes: options.maxBufferedBytes }); // checks its options first
  const supervisor = options.supervisor ?? createSupervisor({ id: `unix:${path}`, logger: options.logger, clock: options.clock });
  const acceptor = accept(server, supervisor, { id: (n) => `conn-${n}` });
  let closing: Promise<void> | undefined;
  return {
    path,
    supervisor,
    accepted$: acceptor.connections$,
    listen: () => server.listen(),
    close() {
      closing ??= (async () => {
        await acceptor.close();
        if (owned) await supervisor.shutdown();
      })();
      return closing;
    },
  };
}
