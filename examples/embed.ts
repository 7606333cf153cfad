/**
 * Embedding: `connectionMachine` invoked by your own XState machine, no
 * supervisor. The app sends a frame, reacts to the reply (`DATA`), then the
 * link is lost and every reconnect is refused: after `maxRetries` the
 * connection ends in `failed` and the app's `onDone` gets why, with the typed
 * error. Runs to completion by itself (well under a second).
 *
 *   node --import tsx examples/embed.ts
 */
import { assign, createActor, sendTo, setup, toPromise, waitFor } from 'xstate';
import { connectionMachine, inState, type ConnectionOutput } from '../actors/index.js';
import { mockTransport } from '../transports/mock/index.js';

const radio = mockTransport(); // any Transport: webSocketTransport(...), unixSocketTransport(...), ...

const app = setup({
  types: {
    context: {} as { outcome: ConnectionOutput | undefined },
    events: {} as { type: 'SAY'; text: string },
    children: {} as { radio: 'radio' },
  },
  actors: { radio: connectionMachine },
}).createMachine({
  id: 'app',
  context: { outcome: undefined },
  initial: 'online',
  states: {
    online: {
      invoke: {
        id: 'radio',
        src: 'radio',
        // A bare machine waits for CONNECT unless told to start at once.
        input: { id: 'radio', transport: radio, autoConnect: true, policy: { initialBackoffMs: 20, maxBackoffMs: 100, maxRetries: 3 } },
        // `failed` is the machine's final state: its output says why.
        onDone: { target: 'gaveUp', actions: assign({ outcome: ({ event }) => event.output }) },
      },
      on: {
        SAY: { actions: sendTo('radio', ({ event }) => ({ type: 'SEND' as const, data: event.text })) },
      },
    },
    gaveUp: { type: 'final' },
  },
});

const actor = createActor(app).start();
const conn = actor.getSnapshot().children.radio!;

// Emitted events: inbound data as DATA, structured events by their EVENT_* type.
conn.on('DATA', (e) => console.log(`radio says ${String(e.data)}`));
conn.on('EVENT_STATE_CHANGE', (e) => console.log(`radio ${e.data.from} -> ${e.data.to}${e.data.error ? ` (${e.data.error.message})` : ''}`));
conn.on('EVENT_MAX_RETRIES_EXCEEDED', (e) => console.log(`radio gave up after ${e.reconnectCount} retries`));

await waitFor(conn, (s) => inState(s, 'connected')); // `connected` sits inside `active`: never matches('connected')
actor.send({ type: 'SAY', text: 'FA;' });
console.log(`sent ${JSON.stringify(radio.written)}`);
radio.emit('FA00014074000;'); // the rig answers

radio.failNextConnects(100); // from now on every connect is refused
radio.drop('cable pulled');

await toPromise(actor); // the app ends in gaveUp
const { outcome } = actor.getSnapshot().context;
if (outcome) console.log(`connection failed: ${outcome.reason}, ${outcome.error?.name} ${outcome.error?.code}: ${outcome.error?.message} (${outcome.reconnectCount} retries)`);
