/** Embedding: a parent machine written as a user would, with invoke and spawnChild. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, createActor, sendTo, setup, spawnChild, SimulatedClock, toPromise, type ActorRefFrom } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionOutput } from '../../machines/events.js';
import { ConnectionError } from '../../machines/ports/errors.js';
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

test('embedding: a parent invoking connectionMachine gets the failure reason and the typed error in onDone (issue 10)', async () => {
  const mock = mockTransport();
  mock.failNextConnects(100); // every connect is refused
  const app = setup({
    types: { context: {} as { outcome: ConnectionOutput | undefined } },
    actors: { radio: connectionMachine },
  }).createMachine({
    context: { outcome: undefined },
    initial: 'online',
    states: {
      online: {
        invoke: {
          id: 'radio',
          src: 'radio',
          input: { id: 'radio', transport: mock, autoConnect: true, policy: { maxRetries: 3 }, random: () => 0.5 },
          // `event.output` is typed: no cast.
          onDone: { target: 'offline', actions: assign({ outcome: ({ event }) => event.output }) },
        },
      },
      offline: { type: 'final' },
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(app, { clock, inspect: recordCoverage }).start();
  for (let i = 0; i < 10 && actor.getSnapshot().value === 'online'; i++) {
    clock.increment(10_000);
    await flush();
  }
  assert.is(actor.getSnapshot().value, 'offline');
  const out = actor.getSnapshot().context.outcome!;
  assert.is(out.id, 'radio');
  assert.is(out.reason, 'retries_exhausted');
  assert.is(out.reconnectCount, 3);
  assert.instance(out.error, ConnectionError);
  assert.is(out.error?.code, 'ERR_CONNECTION');
  assert.is((out.error as ConnectionError).errno, 'ECONNREFUSED');
  assert.is(mock.connects, 4, 'the first attempt and 3 retries');
  assert.is(mock.openLinks, 0);
});

test('embedding: a spawned connection that fails permanently: xstate.done.actor.<id> and toPromise carry the output (issue 10)', async () => {
  const mock = mockTransport();
  const denied = () => new ConnectionError('handshake answered HTTP 401', { permanent: true });
  mock.failNextConnects(1, denied());
  mock.failNextConnects(1, denied());
  const parent = setup({
    types: { context: {} as { outputs: ConnectionOutput[] } },
    actors: { conn: connectionMachine },
  }).createMachine({
    context: { outputs: [] },
    entry: spawnChild('conn', { id: 'feed', input: { id: 'feed', transport: mock, autoConnect: true, random: () => 0.5 } }),
    on: {
      'xstate.done.actor.feed': {
        actions: assign({ outputs: ({ context, event }) => [...context.outputs, (event as unknown as { output: ConnectionOutput }).output] }),
      },
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(parent, { clock, inspect: recordCoverage }).start();
  const feed = actor.getSnapshot().children.feed as ActorRefFrom<typeof connectionMachine>;
  const done = toPromise(feed);
  await flush();
  clock.increment(1000);
  await flush();
  const out = await done;
  assert.equal(actor.getSnapshot().context.outputs, [out]);
  assert.is(out.reason, 'permanent_failure');
  assert.is(out.id, 'feed');
  assert.is(out.reconnectCount, 1);
  if (out.reason === 'permanent_failure') {
    // Narrowed on `reason`: the error is a ConnectionError, never undefined.
    assert.ok(out.error.permanent);
    assert.match(out.error.message, /HTTP 401/);
  }
  assert.is(mock.connects, 2, 'the same permanent failure twice ends it (maxPermanentFailures 2)');
  actor.stop();
});

test.run();
