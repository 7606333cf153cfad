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
  return new AcceptedTransport(link, kind);
}

/** A class: a server makes one per accepted connection (issue 15: a closure and its scope each). */
class AcceptedTransport implements Transport {
  /** Until it is handed out: then it belongs to the connection. */
  #link: Link | undefined;

  constructor(
    link: Link,
    readonly kind: string,
  ) {
    this.#link = link;
  }

  connect({ signal }: ConnectOptions): Promise<Link> {
    if (signal?.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true }));
    const link = this.#link;
    if (!link) return Promise.reject(new ConnectionError('an accepted connection cannot be reopened', { kind: this.kind, code: 'ERR_NOT_REOPENABLE' }));
    this.#link = undefined;
    return Promise.resolve(link);
  }
}
