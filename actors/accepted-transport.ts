/**
 * A transport over a link a server already accepted: what `supervisor.adopt`
 * runs an accepted connection on. In a file of its own so that the supervisor
 * (which uses it) and the acceptor (which uses the supervisor) do not import
 * each other (test/layers.test.ts: no cycles).
 */
import { ConnectionError, LinkClosedError } from '../machines/ports/errors.js';
import type { ConnectOptions, Link, Transport } from '../machines/ports/transport.js';

/**
 * A transport whose one link is a connection a server already accepted.
 * Server-side connection actors run with `reconnect: false`, so `connect()`
 * is called once; a second call rejects (an accepted socket cannot be reopened).
 */
export function acceptedTransport(link: Link, kind: string): Transport {
  let used = false;
  return {
    kind,
    connect({ signal }: ConnectOptions): Promise<Link> {
      if (signal?.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true }));
      if (used) return Promise.reject(new ConnectionError('an accepted connection cannot be reopened', { kind, code: 'ERR_NOT_REOPENABLE' }));
      used = true;
      return Promise.resolve(link);
    },
  };
}
