/**
 * The server side, supervised: every link a `Listener` accepts becomes a
 * `temporary`, non-reconnecting child of a supervisor (`supervisor.adopt`).
 * One piece for every server we run (UNIX listener, TaskLogHub, and the API
 * Gateway `$connect` and TCP listeners to come), so each accepted
 * connection shows in the supervisor's `events$`, `state$` and the visualizer.
 */
import { Observable, Subject } from 'rxjs';
import * as check from '../machines/ports/check.js';
import { DuplicateIdError } from '../machines/ports/errors.js';
import { checkListener, type Accepted, type Link, type Listener } from '../machines/ports/transport.js';
import type { OutboxOptions } from '../machines/outbox.js';
import type { ConnectionHandle } from './connection-handle.js';
import type { Supervisor } from './supervisor.js';


export interface AcceptOptions {
  /** Child id for the n-th accepted link (from 1). Default `${kind}-${n}`. */
  id?: (n: number, accepted: Accepted) => string;
  /** Each accepted connection's outbox. */
  outbox?: OutboxOptions;
  /** How long closing one accepted connection may take, ms. Default 5000. */
  shutdownMs?: number;
}

/** An accepted, supervised connection. */
export interface AcceptedConnection {
  /** The child id under the supervisor. */
  id: string;
  /** The link itself (for what only the transport knows: a close code, the socket). */
  link: Link;
  /** The peer, when the listener knows it. */
  remote?: string;
  /** The supervised connection. */
  connection: ConnectionHandle;
}

export interface Acceptor {
  /** Every accepted connection, once its actor has started. Completes after `close()`. */
  readonly connections$: Observable<AcceptedConnection>;
  /** Stop accepting, stop every connection this acceptor adopted (not the supervisor's others), release the address. */
  close(): Promise<void>;
}

/**
 * Adopt every link `listener` accepts into `supervisor`. Subscribe to
 * `connections$` before calling `listener.listen()`.
 */
export function accept(listener: Listener, supervisor: Supervisor, options: AcceptOptions = {}): Acceptor {
  checkListener(listener, 'listener');
  check.shape(supervisor, 'supervisor', { adopt: 'function' }, 'a Supervisor (createSupervisor())');
  check.object(options, 'options');
  if (options.id !== undefined) check.func(options.id, 'options.id', '(n, accepted) => string');
  const connections = new Subject<AcceptedConnection>();
  const live = new Map<string, ConnectionHandle>();
  let n = 0;
  let closing: Promise<void> | undefined;
  const sub = listener.accepted$.subscribe((accepted) => {
    if (closing) return void accepted.link.close();
    const id = options.id ? options.id(++n, accepted) : `${listener.kind}-${++n}`;
    let connection: ConnectionHandle | undefined;
    let childId = id;
    // Two acceptors on one supervisor may propose the same id: take the next free one.
    for (let k = 2; !connection; k++) {
      try {
        connection = supervisor.adopt(accepted.link, {
          id: childId,
          kind: listener.kind,
          ...(options.outbox ? { outbox: options.outbox } : {}),
          ...(options.shutdownMs !== undefined ? { shutdownMs: options.shutdownMs } : {}),
        });
      } catch (error) {
        if (error instanceof DuplicateIdError) {
          childId = `${id}~${k}`;
          continue;
        }
        // The supervisor is shut down: nobody will own this link (adopt closed it).
        return;
      }
    }
    const adopted = connection;
    const idTaken = childId;
    live.set(idTaken, adopted);
    void adopted.closed.then(() => live.delete(idTaken));
    connections.next({ id: idTaken, link: accepted.link, connection: adopted, ...(accepted.remote !== undefined ? { remote: accepted.remote } : {}) });
  });
  return {
    connections$: connections.asObservable(),
    close() {
      closing ??= (async () => {
        const released = listener.close();
        await Promise.all([...live.values()].map((c) => c.stop().catch(() => {})));
        await released;
        sub.unsubscribe();
        connections.complete();
      })();
      return closing;
    },
  };
}
