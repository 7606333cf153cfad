/**
 * The transport actor: a `LinkSession` (machines/link-session.ts) as an XState
 * child actor, one per connection attempt. It reports LINK_OPEN, LINK_DATA,
 * LINK_LOST, ... tagged with its attempt number `gen`, and performs sends.
 *
 * `connectionMachine` runs its stock transport without it, inside the
 * connection actor (a second actor per connection cost more than the rest of
 * the connection, issue 15); a machine given its own `transport` actor with
 * `provide()` spawns that one as the child `link`, and this is the shape such
 * an actor has: input `TransportActorInput`, commands `LinkCommand`, reports
 * `LinkReport`.
 *
 * It lives in machines/ (not actors/) because it touches no Node API, only
 * the `Transport` contract. Teardown is in the cleanup function, because
 * XState v5 runs no exit actions when an actor is stopped: stopping this
 * actor aborts a pending connect and closes an open link.
 */
import { fromCallback } from 'xstate';
import type { LinkCommand } from './events.js';
import { LinkSession, type LinkSessionInput } from './link-session.js';

export type TransportActorInput = LinkSessionInput;

export const transportActor = fromCallback<LinkCommand, TransportActorInput>(({ input, sendBack, receive }) => {
  const session = new LinkSession(input, sendBack);
  receive((cmd) => {
    if (cmd.type === 'LINK_SEND') session.send(cmd.data, cmd.ticket);
    else if (cmd.type === 'LINK_CLOSE') session.closeAndReport();
  });
  return () => session.stop();
});
