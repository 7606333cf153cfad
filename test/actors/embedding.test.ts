/** Embedding: a parent machine written as a user would, with invoke and spawnChild. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, createActor, sendTo, setup, spawnChild, SimulatedClock, type ActorRefFrom } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { inState } from '../../machines/state.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { recordCoverage } from '../helpers/coverage.js';

const test = suite('embedding');

test('embedding: invoke connectionMachine, drive it to connected and back', async () => {
  const mock = mockTransport();
  const app = setup({
    types: { context: {} as { lastState: string } },
    actors: { radio: connectionMachine },
  }).createMachine({
    context: { lastState: 'none' },
    initial: 'online',
    states: {
      online: {
        invoke: { id: 'radio', src: 'radio', input: { id: 'radio', transport: mock, autoConnect: true } },
        on: {
          GO_OFFLINE: { actions: sendTo('radio', { type: 'DISCONNECT' }) },
          GO_ONLINE: { actions: sendTo('radio', { type: 'CONNECT' }) },
          SAY: { actions: sendTo('radio', ({ event }) => ({ type: 'SEND' as const, data: (event as unknown as { text: string }).text })) },
        },
      },
    },
  });
  const actor = createActor(app, { clock: new SimulatedClock(), inspect: recordCoverage }).start();
  await flush();
  const radio = actor.getSnapshot().children.radio as ActorRefFrom<typeof connectionMachine>;
  // `connected` sits inside the `active` group: match it as a nested state value.
  assert.ok(radio.getSnapshot().matches({ active: 'connected' }));
  actor.send({ type: 'SAY', text: 'CQ CQ' } as never);
  await flush();
  assert.equal(mock.written, ['CQ CQ']);
  actor.send({ type: 'GO_OFFLINE' });
  await flush();
  assert.ok(radio.getSnapshot().matches('disconnected'));
  actor.send({ type: 'GO_ONLINE' });
  await flush();
  assert.ok(radio.getSnapshot().matches({ active: 'connected' }));
  assert.ok(inState(radio.getSnapshot(), 'connected'));
  actor.stop();
  await flush();
  assert.is(mock.openLinks, 0, 'stopping the parent closed the link');
});

test('embedding: spawnChild many connections and react to their emitted events', async () => {
  const mocks = [mockTransport(), mockTransport()];
  const parent = setup({
    types: { context: {} as { up: number } },
    actors: { conn: connectionMachine },
  }).createMachine({
    context: { up: 0 },
    entry: [
      spawnChild('conn', { id: 'c0', input: { id: 'c0', transport: mocks[0]!, autoConnect: true } }),
      spawnChild('conn', { id: 'c1', input: { id: 'c1', transport: mocks[1]!, autoConnect: true } }),
    ],
    on: { UP: { actions: assign({ up: ({ context }) => context.up + 1 }) } },
  });
  const actor = createActor(parent, { inspect: recordCoverage }).start();
  for (const id of ['c0', 'c1']) {
    const child = actor.getSnapshot().children[id]!;
    child.on('EVENT_STATE_CHANGE', (e) => {
      if (e.data.to === 'connected') actor.send({ type: 'UP' });
    });
  }
  await flush();
  assert.is(actor.getSnapshot().context.up, 2);
  actor.stop();
  await flush();
  assert.ok(mocks.every((m) => m.openLinks === 0));
});

test.run();
