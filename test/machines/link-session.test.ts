/**
 * Lighter connections (issue 15): the stock transport runs inside the
 * connection actor as a `LinkSession`, not as a second actor; a `transport`
 * actor given with `provide()` still runs as the child `link`. Either way
 * the link is closed whenever the connection actor ends.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createActor, fromCallback, setup, SimulatedClock, spawnChild, stopChild } from 'xstate';
import { createSupervisor, silentLogger } from '../../actors/supervisor.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { defaultPolicy, resolvePolicy } from '../../machines/policy.js';
import type { LinkCommand } from '../../machines/events.js';
import { LinkSession } from '../../machines/link-session.js';
import type { ConnectOptions, Transport } from '../../machines/ports/transport.js';
import type { TransportActorInput } from '../../machines/transport.actor.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { recordCoverage } from '../helpers/coverage.js';
import { startConnection } from '../helpers/connection.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const test = suite('link session');

test('light: a connection is one actor: the stock transport runs inside it, in provide() variants too (issue 15)', async () => {
  const a = startConnection();
  await a.send({ type: 'CONNECT' });
  assert.is(a.state(), 'connected');
  assert.equal(Object.keys(a.actor.getSnapshot().children), [], 'no transport actor');
  await a.send({ type: 'SEND', data: 'hello' });
  assert.equal(a.mock.written, ['hello']);
  const b = startConnection({}, connectionMachine.provide({ delays: { backoff: 1 } }));
  await b.send({ type: 'CONNECT' });
  assert.is(b.state(), 'connected');
  assert.equal(Object.keys(b.actor.getSnapshot().children), []);
  b.stop();
  await flush();
  assert.is(b.mock.openLinks, 0, 'a variant closes its link on stop too');
  a.stop();
});

test("light: the connect's AbortSignal is let go once the link is open (issue 15)", async () => {
  const mock = mockTransport();
  let signal: WeakRef<AbortSignal> | undefined;
  const watched: Transport = {
    kind: 'mock',
    connect(o: ConnectOptions) {
      signal = new WeakRef(o.signal);
      return mock.connect(o);
    },
  };
  const c = startConnection({ transport: watched });
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connected');
  await flush();
  gc();
  assert.is(signal!.deref(), undefined, 'an open link keeps no AbortController');
  // Still closed on stop, without it.
  c.stop();
  await flush();
  assert.is(mock.openLinks, 0);
});

/** A `transport` actor of one's own: a LinkSession as a child, counting its attempts; `crashOnSend` throws on LINK_SEND. */
function ownTransportActor(attempts: number[], crashOnSend = false) {
  return fromCallback<LinkCommand, TransportActorInput>(({ input, sendBack, receive }) => {
    attempts.push(input.gen);
    const session = new LinkSession(input, sendBack);
    receive((cmd) => {
      if (cmd.type === 'LINK_SEND' && crashOnSend) throw new Error('transport actor crashed');
      if (cmd.type === 'LINK_SEND') session.send(cmd.data, cmd.ticket);
      else session.closeAndReport();
    });
    return () => session.stop();
  });
}

test('light: a transport actor given with provide() runs as the child `link`', async () => {
  const attempts: number[] = [];
  const c = startConnection({}, connectionMachine.provide({ actors: { transport: ownTransportActor(attempts) } }));
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connected');
  assert.ok(c.actor.getSnapshot().children.link, 'the child `link`');
  await c.send({ type: 'SEND', data: 'via the child' });
  assert.equal(c.mock.written, ['via the child']);
  await c.send({ type: 'DISCONNECT' });
  assert.is(c.state(), 'disconnected');
  assert.is(c.mock.openLinks, 0);
  await c.send({ type: 'CONNECT' });
  assert.equal(attempts, [1, 2]);
  c.stop();
  await flush();
  assert.is(c.mock.openLinks, 0);
});

test('light: a provided transport actor that crashes loses the link (xstate.error.actor.link)', async () => {
  const c = startConnection({ random: () => 0.5 }, connectionMachine.provide({ actors: { transport: ownTransportActor([], true) } }));
  await c.send({ type: 'CONNECT' });
  await c.send({ type: 'SEND', data: 'x' });
  assert.is(c.actor.getSnapshot().status, 'active');
  assert.is(c.state(), 'reconnecting');
  assert.match(String((c.actor.getSnapshot().context.lastError as Error).message), /crashed/);
  c.stop();
});

test('light: a connection that ends in error (an action of its own throws) closes its link (issue 15)', async () => {
  const c = startConnection({}, connectionMachine.provide({ actions: { emitData: () => { throw new Error('handler threw'); } } }));
  await c.send({ type: 'CONNECT' });
  assert.is(c.mock.openLinks, 1);
  c.mock.emit('boom');
  await flush();
  assert.is(c.actor.getSnapshot().status, 'error');
  assert.is(c.errors.length, 1);
  assert.is(c.mock.openLinks, 0, 'nothing else would ever close it');
});

test('light: a spawned connection closes its link when its parent stops it or stops', async () => {
  const mocks = [mockTransport(), mockTransport()];
  const parent = setup({ actors: { conn: connectionMachine } }).createMachine({
    entry: [0, 1].map((i) => spawnChild('conn', { id: `c${i}`, input: { id: `c${i}`, transport: mocks[i]!, autoConnect: true } })),
    on: { DROP_FIRST: { actions: stopChild('c0') } },
  });
  const actor = createActor(parent, { clock: new SimulatedClock(), inspect: recordCoverage }).start();
  await flush();
  assert.equal(mocks.map((m) => m.openLinks), [1, 1]);
  actor.send({ type: 'DROP_FIRST' });
  await flush();
  assert.equal(mocks.map((m) => m.openLinks), [0, 1]);
  actor.stop();
  await flush();
  assert.equal(mocks.map((m) => m.openLinks), [0, 0]);
});

test('light: connections share their policy object: the defaults, one per adopting supervisor, a frozen one given (issue 15)', async () => {
  const a = startConnection();
  const b = startConnection({ policy: { maxRetries: 3 } });
  assert.is(a.actor.getSnapshot().context.policy, defaultPolicy);
  assert.is.not(b.actor.getSnapshot().context.policy, defaultPolicy);
  assert.is(b.actor.getSnapshot().context.policy.maxRetries, 3);
  a.stop();
  b.stop();
  const frozen = Object.freeze(resolvePolicy({ stableAfterMs: 100 }));
  assert.is(resolvePolicy(frozen), frozen, 'a frozen complete policy is used as it is');
  assert.throws(() => resolvePolicy(Object.freeze({ ...frozen, factor: 0.5 }), 'p'), (e: Error) => e instanceof RangeError && /p\.factor/.test(e.message), 'and still checked');
  assert.throws(() => resolvePolicy(Object.freeze({ ...frozen, extra: 1 }) as never, 'p'), (e: Error) => e instanceof TypeError && /p\.extra/.test(e.message));

  const sup = createSupervisor({ logger: silentLogger });
  const peers = [mockTransport(), mockTransport()];
  const ids = ['x', 'y'];
  for (const [i, peer] of peers.entries()) sup.adopt(await peer.connect({ signal: new AbortController().signal }), { id: ids[i]!, kind: 'mock' });
  const [x, y] = ids.map((id) => sup.child(id)!.getSnapshot().context.policy);
  assert.is(x, y, 'adopted children share one policy');
  assert.is(x!.reconnect, false);
  await sup.shutdown();
});

test.run();
