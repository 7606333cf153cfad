/**
 * `createListener({ host, port, tls })`: the TCP/TLS server, supervised (the
 * seed's listener). Each accepted connection is a `temporary`,
 * non-reconnecting child of `listener.supervisor` (yours when you pass one,
 * so the visualizer shows them beside your clients); `connections$` tells
 * who arrived, `broadcast` sends to every live one, and `close()` is graceful:
 * stop accepting, close every connection, resolve when all are gone.
 *
 * @example
 * ```ts
 * const listener = await createListener({ port: 7000, tls: { cert, key } });
 * listener.connections$.subscribe(({ id, connection }) => connection.data$.subscribe((d) => connection.send(d)));
 * await listener.broadcast('hello everyone\n');
 * await listener.close();
 * ```
 */
import type { Observable } from 'rxjs';
import { accept, createSupervisor, type AcceptedConnection, type Clock, type ConnectionHandle, type Logger, type Supervisor } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import type { Payload } from '../../../machines/ports/transport.js';
import { tcpServer, type TcpServerOptions } from '../tcp.server.js';

export interface TcpListenerOptions extends TcpServerOptions {
  /** Supervise accepted connections here. Default: a supervisor of the listener's own, shut down by `close()`. */
  supervisor?: Supervisor;
  /** Clock of the listener's own supervisor (ignored when `supervisor` is given). */
  clock?: Clock;
  logger?: Logger;
}

export type { AcceptedConnection };

/** What `broadcast` did: how many live connections took the message, and who failed. */
export interface TcpBroadcastResult {
  sent: number;
  failed: Array<{ id: string; error: unknown }>;
}

export interface TcpListener {
  readonly supervisor: Supervisor;
  readonly host: string;
  /** The bound port (the free one picked for port 0). */
  readonly port: number;
  readonly secure: boolean;
  /** Every accepted connection, once its actor has started. Completes after `close()`. */
  readonly connections$: Observable<AcceptedConnection>;
  /** The accepted connections still open. */
  connections(): ConnectionHandle[];
  /** Send `data` to every open accepted connection, in parallel; never rejects (failures are listed). */
  broadcast(data: Payload): Promise<TcpBroadcastResult>;
  /** Stop accepting, close every accepted connection, release the port; resolves when all are gone. Idempotent. */
  close(): Promise<void>;
}

/** Listen (resolves once bound; rejects with a `ListenError` when the port is taken) and supervise what is accepted. */
export async function createListener(options: TcpListenerOptions = {}): Promise<TcpListener> {
  check.object(options, 'options', '{ host?, port?, tls?, supervisor? }');
  if (options.supervisor !== undefined) check.shape(options.supervisor, 'options.supervisor', { adopt: 'function' }, 'a Supervisor (createSupervisor())');
  const server = tcpServer(options); // checks its options first
  const owned = options.supervisor === undefined;
  const supervisor = options.supervisor ?? createSupervisor({ id: `${server.kind}-listener`, logger: options.logger, clock: options.clock });
  const acceptor = accept(server, supervisor, { id: (n) => `${server.kind}-conn-${n}` });
  const live = new Map<string, ConnectionHandle>();
  const sub = acceptor.connections$.subscribe(({ id, connection }) => {
    live.set(id, connection);
    void connection.closed.then(() => live.delete(id));
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await acceptor.close();
      sub.unsubscribe();
      if (owned) await supervisor.shutdown();
    })();
    return closing;
  };
  try {
    await server.listen();
  } catch (error) {
    await close();
    throw error;
  }
  const address = server.address()!;
  return {
    supervisor,
    host: address.address,
    port: address.port,
    secure: server.secure,
    connections$: acceptor.connections$,
    connections: () => [...live.values()],
    async broadcast(data) {
      const targets = [...live.entries()];
      const failed: TcpBroadcastResult['failed'] = [];
      await Promise.all(targets.map(([id, c]) => c.send(data).catch((error: unknown) => void failed.push({ id, error }))));
      return { sent: targets.length - failed.length, failed };
    },
    close,
  };
}
