/**
 * A transport whose one link is a connection a server already accepted.
 * Server-side connection actors run with `reconnect: false`, so `connect()`
 * is called once; a second call rejects (an accepted socket cannot be reopened).
 */
import { ConnectionError, LinkClosedError } from '../machines/ports/errors.js';
import type { ConnectOptions, Link, Transport } from '../machines/ports/transport.js';

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
