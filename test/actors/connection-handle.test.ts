/** supervisor.connection(id) and supervisor.adopt(link): one child followed through a handle. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { accept } from '../../actors/acceptor.js';
import { handleLink } from '../../actors/handle-link.js';
import { connectedOutcome } from '../../actors/connection-handle.js';
import { ClosedError, LinkClosedError, UnknownConnectionError } from '../../machines/ports/errors.js';
import type { Link, Listener } from '../../machines/ports/transport.js';
import type { ConnectionLogEvent, ConnectionState } from '../../machines/events.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { startSupervisor } from '../helpers/supervisor.js';

const test = suite('connection handle');

test('handle: state$ starts with the current state and follows this child only', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  s.sup.startChild({ id: 'b', transport: s.transport('b') });
  const a = s.sup.connection('a');
  assert.is(s.sup.connection('a'), a, 'the same handle each time');
  const states: ConnectionState[] = [];
  const events: ConnectionLogEvent[] = [];
  a.state$.subscribe((st) => states.push(st));
  a.events$.subscribe((e) => events.push(e));
  await s.flush();
  s.mocks.b!.drop();
  s.mocks.a!.drop();
  await s.flush();
  await s.advance(200);
  assert.equal(states, ['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
  assert.ok(events.length > 0 && events.every((e) => e.connectionId === 'a'), 'only a’s events');
  assert.is(a.state, 'connected');
  assert.is(a.kind, 'mock');
  await s.sup.shutdown();
});

test('handle: data$ and send go to this child; lastError explains the last failure', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  const a = s.sup.connection('a');
  const got: unknown[] = [];
  a.data$.subscribe((d) => got.push(d));
  await s.flush();
  s.mocks.a!.emit('hello');
  await a.send('out');
  assert.equal(got, ['hello']);
  assert.equal(s.mocks.a!.written, ['out']);
  s.mocks.a!.failNextConnects(1);
  s.mocks.a!.drop('gone');
  await s.flush();
  await s.advance(200);
  await s.flush();
  assert.match(String((a.lastError as Error).message), /ECONNREFUSED/);
  await s.sup.shutdown();
});

test('handle: follows its child across a restart; closed resolves only when it leaves', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'p', transport: s.transport('p'), policy: { maxRetries: 0 } });
  const p = s.sup.connection('p');
  const states: ConnectionState[] = [];
  p.state$.subscribe((st) => states.push(st));
  let closed = false;
  void p.closed.then(() => (closed = true));
  await s.flush();
  s.mocks.p!.drop(); // maxRetries 0: failed, then restarted by the supervisor
  await s.flush();
  await s.advance(110); // the first restart connects after 100 ms ±10 % (restartBackoff, issue 11)
  await s.flush();
  assert.ok(states.includes('failed'), states.join());
  assert.is(states[states.length - 1], 'connected', 'the restarted child is followed');
  assert.not.ok(closed);
  const stopping = p.stop();
  await stopping;
  const exit = await p.closed;
  assert.is(exit.reason, 'stopped');
  assert.throws(() => s.sup.connection('p'), (e: Error) => e instanceof UnknownConnectionError);
  await s.sup.shutdown();
});

test('handle: command() drives the connection (TX_DROP takes the fast path)', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'r', transport: s.transport('r') });
  const r = s.sup.connection('r');
  const types: string[] = [];
  r.events$.subscribe((e) => types.push(e.type));
  await s.flush();
  r.command('TX_DROP');
  await s.flush();
  assert.ok(types.includes('EVENT_TX_DROP_DETECTED'));
  assert.is(r.state, 'connected');
  assert.throws(() => r.command('NOPE' as never), (e: Error) => e instanceof TypeError && /type/.test(e.message));
  await s.sup.shutdown();
});

test('handle: shutdown ends every handle with reason shutdown and completes its streams', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  const a = s.sup.connection('a');
  let completed = 0;
  a.events$.subscribe({ complete: () => completed++ });
  a.data$.subscribe({ complete: () => completed++ });
  a.state$.subscribe({ complete: () => completed++ });
  await s.flush();
  await s.sup.shutdown();
  assert.is((await a.closed).reason, 'shutdown');
  assert.is(completed, 3);
});

test('adopt: an accepted link is a temporary child that never reconnects and is forgotten when it ends', async () => {
  const s = startSupervisor();
  const server = mockTransport({ kind: 'unix' });
  const link = await server.connect({ signal: new AbortController().signal });
  const h = s.sup.adopt(link, { id: 'conn-1', kind: 'unix' });
  const got: unknown[] = [];
  h.data$.subscribe((d) => got.push(d));
  await s.flush();
  assert.is(h.state, 'connected');
  assert.equal(s.sup.whichChildren().map((c) => [c.id, c.kind, c.restart]), [['conn-1', 'unix', 'temporary']]);
  server.emit('ping');
  await h.send('pong');
  assert.equal(got, ['ping']);
  assert.equal(server.written, ['pong']);
  let lastStates: Record<string, ConnectionState> = {};
  s.sup.state$.subscribe((m) => (lastStates = m));
  server.drop('peer went away');
  await s.flush();
  await s.advance(1000);
  const exit = await h.closed;
  assert.is(exit.reason, 'normal');
  assert.equal(s.sup.whichChildren(), []);
  assert.equal(lastStates, {}, 'state$ no longer lists it');
  assert.is(server.connects, 1, 'never reopened');
  await s.sup.shutdown();
});

test('handle: a gone child’s handle never sends to a new child that took its id', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  const old = s.sup.connection('a');
  await s.flush();
  await old.stop();
  s.sup.startChild({ id: 'a', transport: s.transport('a2') });
  await s.flush();
  await old.send('meant for the old child').then(() => assert.unreachable('sent'), (e) => assert.instance(e, UnknownConnectionError));
  assert.equal(s.mocks.a2!.written, []);
  assert.is.not(s.sup.connection('a'), old, 'the new child has its own handle');
  await s.sup.shutdown();
});

test('adopt: after shutdown the accepted link is closed, not leaked', async () => {
  const s = startSupervisor();
  await s.sup.shutdown();
  const link = await mockTransport().connect({ signal: new AbortController().signal });
  assert.throws(() => s.sup.adopt(link, { id: 'late', kind: 'unix' }), (e: Error) => e instanceof ClosedError);
  const info = await link.closed;
  assert.ok(info.initiatedLocally);
});

test('accept: two listeners on one supervisor proposing the same ids both keep their connections', async () => {
  const s = startSupervisor();
  const fake = (kind: string) => {
    const accepted$ = new Subject<{ link: Link }>();
    const listener: Listener = { kind, accepted$, listen: async () => {}, close: async () => accepted$.complete() };
    return { listener, accepted$ };
  };
  const a = fake('unix');
  const b = fake('unix');
  const ids: string[] = [];
  const acceptA = accept(a.listener, s.sup, { id: (n) => `conn-${n}` });
  const acceptB = accept(b.listener, s.sup, { id: (n) => `conn-${n}` });
  acceptA.connections$.subscribe((c) => ids.push(c.id));
  acceptB.connections$.subscribe((c) => ids.push(c.id));
  const la = await mockTransport().connect({ signal: new AbortController().signal });
  const lb = await mockTransport().connect({ signal: new AbortController().signal });
  a.accepted$.next({ link: la });
  b.accepted$.next({ link: lb });
  await s.flush();
  assert.equal(ids, ['conn-1', 'conn-1~2']);
  assert.equal(s.sup.whichChildren().map((c) => c.state), ['connected', 'connected']);
  await acceptA.close();
  await acceptB.close();
  assert.equal(s.sup.whichChildren(), []);
  await s.sup.shutdown();
});

test('handle: stop twice (or stopChild during a stop) waits for the one stop; the link is closed when both resolve', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  const a = s.sup.connection('a');
  await s.flush();
  s.mocks.a!.holdSends(); // nothing to do with closing; keep the mock otherwise ordinary
  const first = a.stop();
  const second = a.stop();
  const third = s.sup.stopChild('a');
  await Promise.all([first, second, third]);
  assert.is(s.mocks.a!.openLinks, 0, 'closed by the time every stop resolved');
  assert.is((await a.closed).reason, 'stopped');
  await s.sup.shutdown();
});

test('handle: when the supervisor gives up, the offender’s handle ends failed with its error; the others shutdown', async () => {
  const s = startSupervisor({ maxRestarts: 0 });
  s.sup.startChild({ id: 'bad', transport: s.transport('bad'), policy: { maxRetries: 0 } });
  s.sup.startChild({ id: 'good', transport: s.transport('good') });
  const bad = s.sup.connection('bad');
  const good = s.sup.connection('good');
  await s.flush();
  s.mocks.bad!.failNextConnects(5);
  s.mocks.bad!.drop('gone');
  await s.flush();
  await s.advance(100);
  await s.flush();
  const exit = await bad.closed;
  assert.is(exit.reason, 'failed');
  assert.ok(exit.error instanceof Error, `the offender's error: ${String(exit.error)}`);
  assert.is((await good.closed).reason, 'shutdown');
});

test('handle.publish: a facade\'s own event reaches the handle\'s and the supervisor\'s events$, stamped like the machine\'s', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  const a = s.sup.connection('a');
  await s.flush();
  const mine: ConnectionLogEvent[] = [];
  const all: ConnectionLogEvent[] = [];
  a.events$.subscribe((e) => mine.push(e));
  s.sup.events$.subscribe((e) => all.push(e));
  await s.advance(10);
  a.publish('EVENT_CONNECTION_STABLE', {});
  const published = mine.filter((e) => e.type === 'EVENT_CONNECTION_STABLE');
  assert.is(published.length, 1);
  const last = published[0]!;
  assert.equal({ ...last, timestamp: 0 }, { type: 'EVENT_CONNECTION_STABLE', connectionId: 'a', timestamp: 0, state: 'connected', reconnectCount: 0, data: {} });
  assert.is(last.timestamp, s.clock.now(), 'the actor clock\'s time');
  assert.is(all.at(-1), last, 'the same event on the supervisor\'s events$');
  assert.throws(() => a.publish('' as never, {} as never), (e: unknown) => e instanceof TypeError && /type/.test((e as Error).message));
  assert.throws(() => a.publish('STATE' as never, {} as never), (e: unknown) => e instanceof RangeError && /EVENT_/.test((e as Error).message));
  await a.stop();
  a.publish('EVENT_CONNECTION_STABLE', {});
  assert.is(all.filter((e) => e.type === 'EVENT_CONNECTION_STABLE').length, 1, 'a gone child publishes nothing');
  await s.sup.shutdown();
});

test('handleLink: a Link view of the handle across reconnects; volatile sends refused while down; closed once the child is gone', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  const link = handleLink(s.sup.connection('a'));
  const got: unknown[] = [];
  link.incoming$.subscribe((d) => got.push(d));
  await s.flush();
  await link.send('one');
  s.mocks.a!.emit('in-1');
  s.mocks.a!.failNextConnects(1);
  s.mocks.a!.drop('gone');
  await s.flush();
  await link.send('while-down').then(() => assert.unreachable('a volatile send while down is refused'), (e: Error) => assert.instance(e, Error));
  for (let i = 0; i < 20 && s.sup.connection('a').state !== 'connected'; i++) await s.advance(500);
  assert.is(s.sup.connection('a').state, 'connected');
  s.mocks.a!.emit('in-2');
  await link.send('two');
  assert.equal(got, ['in-1', 'in-2'], 'data from both links');
  assert.equal(s.mocks.a!.written, ['one', 'two'], 'the refused send never reached a link');
  let ended = false;
  void link.closed.then(() => (ended = true));
  await s.flush();
  assert.is(ended, false, 'a reconnect does not end it');
  await link.close();
  assert.equal(await link.closed, { initiatedLocally: true });
  await link.send('late').then(() => assert.unreachable(), (e: Error) => assert.instance(e, LinkClosedError));
  assert.throws(() => handleLink({} as never), (e: unknown) => e instanceof TypeError && /handle/.test((e as Error).message));
  await s.sup.shutdown();
});

test('connectedOutcome: at once when connected, the next connect with next: true, failed and gone otherwise', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a'), policy: { maxRetries: 0 }, restart: 'temporary' });
  const a = s.sup.connection('a');
  const first = connectedOutcome(a);
  await s.flush();
  assert.is(await first, 'connected');
  assert.is(await connectedOutcome(a), 'connected', 'at once');
  let again: string | undefined;
  void connectedOutcome(a, { next: true }).then((o) => (again = o));
  await s.flush();
  assert.is(again, undefined, 'next: true waits for a new connect');
  s.mocks.a!.failNextConnects(1);
  s.mocks.a!.drop('gone');
  await s.flush();
  await s.advance(500);
  await s.flush();
  assert.is(again, 'failed', 'maxRetries 0: the retry fails for good');
  assert.is(await connectedOutcome(a), 'gone', 'the child left');
  await s.sup.shutdown();
});

test('adopt: bad arguments are TypeErrors naming the argument', async () => {
  const s = startSupervisor();
  assert.throws(() => s.sup.adopt({} as never, { id: 'x', kind: 'unix' }), (e: Error) => e instanceof TypeError && /link/.test(e.message));
  const link = await mockTransport().connect({ signal: new AbortController().signal });
  assert.throws(() => s.sup.adopt(link, { id: 'x', kind: '' }), (e: Error) => e instanceof TypeError && /options\.kind/.test(e.message));
  assert.throws(() => s.sup.adopt(link, null as never), (e: Error) => e instanceof TypeError && /options/.test(e.message));
  await link.close();
  await s.sup.shutdown();
});

test.run();
