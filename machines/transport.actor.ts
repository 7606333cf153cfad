/**
 * The transport actor: one per connection attempt. It opens a link through the
 * injected `Transport`, reports what happens to it (LINK_OPEN, LINK_DATA,
 * LINK_LOST, ...) tagged with its attempt number `gen`, and performs sends.
 *
 * It lives in machines/ (not actors/) because the connection machine needs a
 * default implementation to be usable with a bare `spawnChild(connectionMachine)`;
 * it touches no Node API, only the `Transport` contract.
 *
 * Teardown is in the cleanup function, because XState v5 runs no exit actions
 * when an actor is stopped: stopping this actor aborts a pending connect and
 * closes an open link.
 */
import { fromCallback } from 'xstate';
import { LinkClosedError } from './ports/errors.js';
import type { Link, Transport } from './ports/transport.js';
import type { LinkCommand, LinkReport } from './events.js';
import type { LinkRegistry } from './link-registry.js';

export interface TransportActorInput {
  transport: Transport;
  gen: number;
  connectionId: string;
  /** Told when the link opens and when it closes or ends (see `LinkRegistry`). */
  links?: LinkRegistry;
}

export const transportActor = fromCallback<LinkCommand, TransportActorInput>(({ input, sendBack, receive }) => {
  const { transport, gen, connectionId, links } = input;
  const abort = new AbortController();
  let link: Link | undefined;
  let registered = false;
  const unregister = () => {
    if (!registered) return;
    registered = false;
    links?.closed(connectionId, gen);
  };
  let stopped = false;
  let closing: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  const report = (e: LinkReport) => {
    if (!stopped) sendBack(e);
  };

  const onOpen = (opened: Link) => {
    if (stopped || closing) {
      // We gave up while the transport was finishing: release what it opened.
      void opened.close().catch(() => {});
      return;
    }
    link = opened;
    // Registered before it is reported, so the link is known by the time the
    // machine is `connected` (a subscriber may send from that very snapshot).
    if (links) {
      registered = true;
      links.opened(connectionId, gen, opened);
    }
    report({ type: 'LINK_OPEN', gen, link: opened });
    try {
      // The registry may take a chunk straight to its readers (the inbound data path); otherwise it is an event.
      const take = links?.data;
      const sub = opened.incoming$.subscribe({
        next: take
          ? (data) => {
              if (stopped || !take.call(links, connectionId, gen, data)) report({ type: 'LINK_DATA', gen, data });
            }
          : (data) => report({ type: 'LINK_DATA', gen, data }),
      });
      unsubscribe = () => sub.unsubscribe();
    } catch (error) {
      report({ type: 'LINK_LOST', gen, error });
      return;
    }
    opened.closed.then(
      (info) => {
        unregister();
        if (!info.initiatedLocally) report({ type: 'LINK_LOST', gen, error: info.error ?? info });
      },
      (error) => {
        unregister();
        report({ type: 'LINK_LOST', gen, error });
      },
    );
  };

  try {
    transport.connect({ signal: abort.signal }).then(onOpen, (error) => {
      if (!closing) report({ type: 'LINK_FAILED', gen, error });
    });
  } catch (error) {
    // A transport that throws instead of rejecting still only fails this attempt.
    queueMicrotask(() => report({ type: 'LINK_FAILED', gen, error }));
  }

  const close = (): Promise<void> => {
    if (!closing) {
      abort.abort(new LinkClosedError('connection closed', { canceled: true, connectionId }));
      unsubscribe?.();
      unregister();
      closing = link ? link.close().catch(() => {}) : Promise.resolve();
    }
    return closing;
  };

  receive((cmd) => {
    if (cmd.type === 'LINK_SEND') {
      const { ticket } = cmd;
      if (!link || closing) {
        ticket?.reject(new LinkClosedError('link is not open', { canceled: !!closing, connectionId }));
        return;
      }
      // A failed send means the link is lost; the transport resolves `closed`
      // for that, so only the sender needs telling here.
      link.send(cmd.data).then(ticket?.resolve, ticket?.reject ?? (() => {}));
    } else if (cmd.type === 'LINK_CLOSE') {
      void close().then(() => report({ type: 'LINK_CLOSED', gen }));
    }
  });

  return () => {
    void close();
    stopped = true;
  };
});
