/**
 * `handleLink(handle)`: a supervised connection seen as one long-lived
 * `Link`, so a protocol client written against `Link` (the CAT client, a
 * request/response codec) runs on a connection that reconnects under it.
 *
 * - `send` goes through the supervisor (`handle.send`). By default it is
 *   volatile: while the connection is down a send is refused at once (a
 *   typed `ConnectionError`) instead of waiting in the outbox, because a
 *   protocol's request is stale by the time the link is back. `volatile:
 *   false` queues instead.
 * - `incoming$` is the handle's `data$`: every link's data in arrival order,
 *   across reconnects.
 * - `closed` resolves when the child leaves the supervisor for good (not on
 *   each reconnect); `close()` stops and removes the child.
 */
import { LinkClosedError } from '../machines/ports/errors.js';
import * as check from '../machines/ports/check.js';
import type { CloseInfo, Link, Payload } from '../machines/ports/transport.js';
import type { ConnectionHandle } from './connection-handle.js';

export interface HandleLinkOptions {
  /** Refuse sends while the connection is down instead of queueing them. Default true. */
  volatile?: boolean;
}

export function handleLink(handle: ConnectionHandle, options: HandleLinkOptions = {}): Link {
  check.hasMethods(handle, 'handle', ['send', 'stop'], '(supervisor.connection(id))');
  check.object(options, 'options');
  const volatile = options.volatile === undefined ? true : check.boolean(options.volatile, 'options.volatile');
  let ended = false;
  const closed: Promise<CloseInfo> = handle.closed.then((exit) => {
    ended = true;
    return exit.reason === 'stopped' || exit.reason === 'normal' || exit.reason === 'shutdown'
      ? { initiatedLocally: true }
      : { initiatedLocally: false, ...(exit.error !== undefined ? { error: exit.error } : {}) };
  });
  return {
    send(data: Payload) {
      if (ended) return Promise.reject(new LinkClosedError(`connection ${handle.id} is gone`, { canceled: false }));
      return handle.send(data, { volatile });
    },
    close: () => handle.stop(),
    incoming$: handle.data$,
    closed,
  };
}
