/**
 * The anchor: a bare XState actor with one invoked callback that opens a link
 * through the same transport and forwards SENDs to it. What statewire adds
 * (backoff, outbox, stability, events, supervision) is measured against this.
 */
import { fromCallback, sendTo, setup } from 'xstate';
import type { Link, Payload, Transport } from '../machines/ports/transport.js';

const linkActor = fromCallback<{ type: 'SEND'; data: Payload }, { transport: Transport }>(({ input, sendBack, receive }) => {
  let link: Link | undefined;
  const ac = new AbortController();
  input.transport.connect({ signal: ac.signal }).then((l) => {
    link = l;
    sendBack({ type: 'OPEN' });
  });
  receive((e) => void link?.send(e.data));
  return () => {
    ac.abort();
    void link?.close();
  };
});

export const bareMachine = setup({
  types: { input: {} as { transport: Transport }, context: {} as { transport: Transport } },
  actors: { link: linkActor },
}).createMachine({
  context: ({ input }) => ({ transport: input.transport }),
  invoke: { id: 'link', src: 'link', input: ({ context }) => ({ transport: context.transport }) },
  initial: 'connecting',
  states: {
    connecting: { on: { OPEN: 'connected' } },
    connected: { on: { SEND: { actions: sendTo('link', ({ event }) => event) } } },
  },
});
