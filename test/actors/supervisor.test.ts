/** The supervisor: OTP strategies, restart types, intensity, shutdown, send and broadcast. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InboundSubject } from '../../transports/link-core.js';
import { toPromise } from 'xstate';
import type { Payload, Transport } from '../../machines/ports/transport.js';
import {
  ClosedError,
  ConnectionFailedError,
  DuplicateIdError,
  MessageDroppedError,
  OutboxOverflowError,
  SupervisorFailedError,
  UnknownConnectionError,
} from '../../machines/ports/errors.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { inState, topState } from '../../machines/state.js';
import { silentLogger } from '../../actors/supervisor.js';
import { startSupervisor } from '../helpers/supervisor.js';

const test = suite('supervisor');
const failNow = { maxRetries: 0 }; // a lost link ends in `failed` at once
/** The first restart of a child connects after 100 ms ±10 % (the default `restartBackoff`, issue 11). */
const FIRST_RESTART_MS = 110;

test('supervisor: startChild connects, whichChildren lists it, duplicates throw', async () => {
  const s = startSupervisor();
  const ref = s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  assert.ok(inState(ref.getSnapshot(), 'connected'));
  assert.equal(s.sup.whichChildren(), [{ id: 'a', kind: 'mock', state: 'connected', restart: 'permanent', restarts: 0 }]);
  assert.is(s.sup.child('a'), ref);
  assert.throws(
    () => s.sup.startChild({ id: 'a', transport: s.transport('a2') }),
    (e: Error) => e instanceof DuplicateIdError && e.code === 'ERR_DUPLICATE_ID' && e.connectionId === 'a' && /already exists/.test(e.message),
  );
  s.sup.startChild({ id: 'b', transport: s.transport('b'), autoConnect: false });
  await s.flush();
  assert.is(s.sup.whichChildren()[1]!.state, 'disconnected');
  await s.sup.shutdown();
});

test('supervisor: startChild, restartChild and adopt after shutdown throw ClosedError ERR_SUPERVISOR_STOPPED (issue 10)', async () => {
  const s = startSupervisor({ id: 'edge' });
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  await s.sup.shutdown();
  const stopped = (e: Error) =>
    e instanceof ClosedError && e.code === 'ERR_SUPERVISOR_STOPPED' && e.resource === 'supervisor "edge"' && /is shut down/.test(e.message);
  assert.throws(() => s.sup.startChild({ id: 'b', transport: s.transport('b') }), stopped);
  const mock = s.transport('c');
  const link = await mock.connect({ signal: new AbortController().signal });
  assert.throws(() => s.sup.adopt(link, { id: 'c', kind: 'mock' }), stopped);
  await link.close();
  // The supervisor's state is checked before the id: the answer is "shut down", not "unknown connection".
  assert.throws(() => s.sup.restartChild('a'), stopped);
});

test('supervisor: bad arguments are TypeError/RangeError naming the argument', async () => {
  const s = startSupervisor();
  assert.throws(() => s.sup.startChild({ id: '', transport: s.transport('x') }), (e: Error) => e instanceof TypeError && /id/.test(e.message));
  assert.throws(() => s.sup.startChild({ id: 'x', transport: {} as never }), (e: Error) => e instanceof TypeError && /spec\.transport/.test(e.message));
  assert.throws(() => s.sup.startChild({ id: 'x', transport: s.transport('x'), restart: 'sometimes' as never }), (e: Error) => /spec\.restart/.test(e.message));
  assert.throws(() => s.sup.startChild({ id: 'x', transport: s.transport('x'), policy: { maxRetries: -1 } }), (e: Error) => e instanceof RangeError && /spec\.policy\.maxRetries/.test(e.message));
  assert.throws(() => s.sup.startChild({ id: 'x', transport: s.transport('x'), shutdownMs: 0 }), (e: Error) => e instanceof RangeError && /spec\.shutdownMs/.test(e.message));
  await s.sup.send('x', 42 as never).then(() => assert.unreachable(), (e) => assert.instance(e, TypeError));
  assert.throws(() => startSupervisor({ strategy: 'one_for_some' as never }), (e: Error) => /options\.strategy/.test(e.message));
  assert.throws(() => startSupervisor({ maxRestarts: 1.5 }), (e: Error) => e instanceof RangeError && /options\.maxRestarts/.test(e.message));
  assert.throws(() => s.sup.shutdown({ timeoutMs: Infinity }), (e: Error) => e instanceof RangeError && /options\.timeoutMs must be a finite number > 0/.test(e.message));
  assert.equal(s.sup.whichChildren(), [], 'nothing was started by the bad calls');
  await s.sup.shutdown();
});

test('supervisor: send resolves when the link accepted the data; typed rejections', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  await s.sup.send('a', 'hello');
  assert.equal(s.mocks.a!.written, ['hello']);
  await s.sup.send('nope', 'x').then(() => assert.unreachable(), (e) => assert.instance(e, UnknownConnectionError));
  s.sup.startChild({ id: 'b', transport: s.transport('b'), autoConnect: false, outbox: { limit: 1, overflow: 'reject' } });
  const queued = s.sup.send('b', 'one');
  await s.sup.send('b', 'two').then(() => assert.unreachable(), (e) => assert.instance(e, OutboxOverflowError));
  await s.sup.send('b', 'v', { volatile: true }).then(() => assert.unreachable(), (e) => assert.instance(e, MessageDroppedError));
  s.sup.child('b')!.send({ type: 'CONNECT' });
  await queued;
  assert.equal(s.mocks.b!.written, ['one']);
  await s.sup.shutdown();
});

test('supervisor: the data path keeps order across queued, direct and broadcast sends; a custom machine still gets SEND events', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a'), autoConnect: false });
  const early = [s.sup.send('a', '1'), s.sup.send('a', '2')]; // queued in the outbox
  s.sup.child('a')!.send({ type: 'CONNECT' });
  const later = [s.sup.send('a', '3'), s.sup.broadcast('4'), s.sup.send('a', '5')];
  await Promise.all([...early, ...later]);
  assert.equal(s.mocks.a!.written, ['1', '2', '3', '4', '5']);
  // A machine whose SEND does something else is never bypassed.
  const seen: string[] = [];
  const custom = connectionMachine.provide({
    actions: { forward: ({ event }) => void seen.push(String((event as { data?: unknown }).data)) },
  });
  s.sup.startChild({ id: 'c', transport: s.transport('c'), machine: custom });
  await s.flush();
  void s.sup.send('c', 'via the machine');
  await s.flush();
  assert.equal(seen, ['via the machine']);
  assert.equal(s.mocks.c!.written, []);
  await s.sup.shutdown();
});

test('supervisor: broadcast writes to every connected child before it returns, so a send made right after comes after it, whichever child is first (issue 15)', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'q', transport: s.transport('q'), autoConnect: false }); // first in start order, and queued
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  const sent = [s.sup.broadcast('1'), s.sup.send('a', '2'), s.sup.send('q', '2')];
  s.sup.child('q')!.send({ type: 'CONNECT' });
  const [result] = await Promise.all(sent);
  assert.equal(s.mocks.a!.written, ['1', '2']);
  assert.equal(s.mocks.q!.written, ['1', '2']);
  assert.equal(result, { delivered: ['a'], queued: ['q'], failed: [] });
  await s.sup.shutdown();
});

test('supervisor: the data path writes to the current attempt\'s link without a SEND event, also after a restart (issue 10)', async () => {
  const s = startSupervisor();
  const events: string[] = [];
  const sub = s.sup.inspection$.subscribe((e) => {
    if (e.type === '@xstate.event' && e.event.type === 'SEND') events.push(String((e.event as { data?: unknown }).data));
  });
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  await s.sup.send('a', 'one');
  const first = s.mocks.a!.link;
  s.sup.restartChild('a'); // a new actor, whose attempts count from 1 again
  await s.flush();
  assert.is.not(s.mocks.a!.link, first);
  await s.sup.send('a', 'two');
  assert.equal((await s.sup.broadcast('three')).delivered, ['a']);
  assert.equal(s.mocks.a!.written, ['one', 'two', 'three']);
  assert.equal(events, [], 'written straight to the link');
  // Not connected (a fast path under way): the event path.
  s.mocks.a!.hangNextConnects(1);
  s.sup.child('a')!.send({ type: 'TX_DROP' });
  const queued = s.sup.send('a', 'four').catch((e: unknown) => e);
  assert.equal(events, ['four']);
  // A broadcast found 'a' on the data path before ('three'); its state has changed since, so it is asked again.
  assert.equal(await s.sup.broadcast('five'), { delivered: [], queued: ['a'], failed: [] });
  assert.equal(events, ['four', 'five']);
  assert.equal(s.mocks.a!.written, ['one', 'two', 'three']);
  sub.unsubscribe();
  await s.sup.shutdown();
  assert.instance(await queued, MessageDroppedError);
});

test('supervisor: inbound data skips the machine while connected, reaches every reader in order, and still feeds the stale check (issue 14)', async () => {
  const s = startSupervisor();
  const linkData: string[] = [];
  const sub = s.sup.inspection$.subscribe((e) => {
    if (e.type === '@xstate.event' && e.event.type === 'LINK_DATA') linkData.push(String((e.event as { data?: unknown }).data));
  });
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  const viaHandle: string[] = [];
  const viaSupervisor: string[] = [];
  const viaRef: string[] = [];
  s.sup.connection('a').data$.subscribe((d) => viaHandle.push(String(d)));
  s.sup.data$.subscribe((e) => viaSupervisor.push(`${e.connectionId}:${String(e.data)}`));
  const ref = s.sup.child('a')!;
  ref.on('DATA', (e: { data: unknown }) => viaRef.push(String(e.data)));
  for (const d of ['1', '2', '3']) s.mocks.a!.emit(d);
  assert.equal(viaHandle, ['1', '2', '3']);
  assert.equal(viaRef, ['1', '2', '3'], 'emitted on the child itself, as the machine would');
  assert.equal(viaSupervisor, ['a:1', 'a:2', 'a:3']);
  assert.equal(linkData, [], 'no LINK_DATA event per chunk');

  // What a link read before the machine was `connected` is held (InboundSubject) and comes first, in order.
  const incoming = new InboundSubject<Payload>();
  const echo: Transport = {
    kind: 'echo',
    connect: async () => ({
      incoming$: incoming.observable,
      closed: new Promise<never>(() => {}),
      send: async (data: Payload) => incoming.next(`echo ${String(data)}`),
      close: async () => {},
    }),
  };
  s.sup.startChild({ id: 'e', transport: echo, autoConnect: false });
  const order: string[] = [];
  s.sup.connection('e').data$.subscribe((d) => order.push(String(d)));
  void s.sup.send('e', 'queued'); // flushed on LINK_OPEN, echoed before the link is read
  s.sup.child('e')!.send({ type: 'CONNECT' });
  await s.flush();
  incoming.next('later');
  assert.equal(order, ['echo queued', 'later']);
  assert.equal(linkData, []);

  // With a stale-link check, every chunk goes through the machine and resets its timer.
  s.sup.startChild({ id: 'b', transport: s.transport('b'), policy: { staleAfterMs: 1000 } });
  await s.flush();
  linkData.length = 0;
  await s.advance(800);
  s.mocks.b!.emit('alive');
  await s.advance(800);
  assert.equal(linkData, ['alive']);
  assert.is(topState(s.sup.child('b')!.getSnapshot()), 'connected', 'the chunk reset the stale timer');
  await s.advance(400);
  assert.is.not(topState(s.sup.child('b')!.getSnapshot()), 'connected', 'stale once nothing came for 1000 ms');
  sub.unsubscribe();
  await s.sup.shutdown();
});

test('supervisor: a message queued on a child that fails rejects with ConnectionFailedError', async () => {
  const s = startSupervisor();
  const t = s.transport('a');
  t.failNextConnects(5);
  s.sup.startChild({ id: 'a', transport: t, restart: 'temporary', policy: { maxRetries: 1 } });
  await s.flush();
  const p = s.sup.send('a', 'x').then(() => 'sent', (e: unknown) => e);
  await s.advance(1000);
  assert.instance(await p, ConnectionFailedError);
  await s.sup.shutdown();
});

test('supervisor: one_for_one restarts only the child that failed', async () => {
  const s = startSupervisor();
  const a = s.sup.startChild({ id: 'a', transport: s.transport('a'), policy: failNow });
  const b = s.sup.startChild({ id: 'b', transport: s.transport('b') });
  await s.flush();
  s.mocks.a!.drop();
  await s.flush();
  await s.flush();
  const a2 = s.sup.child('a')!;
  assert.is.not(a2, a, 'a new actor for a');
  assert.is(s.sup.child('b'), b, 'b untouched');
  assert.ok(inState(a2.getSnapshot(), 'disconnected'), 'waits for its restart backoff');
  await s.advance(FIRST_RESTART_MS);
  assert.ok(inState(a2.getSnapshot(), 'connected'));
  assert.equal(s.sup.whichChildren().map((c) => [c.id, c.restarts]), [['a', 1], ['b', 0]]);
  await s.sup.shutdown();
});

test('supervisor: one_for_all stops all in reverse start order and restarts all in start order', async () => {
  const s = startSupervisor({ strategy: 'one_for_all' });
  for (const id of ['a', 'b', 'c']) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.flush();
  const before = ['a', 'b', 'c'].map((id) => s.sup.child(id));
  const started: string[] = [];
  s.sup.actor.on('CHILD_STARTED', (e) => started.push(e.id));
  s.mocks.b!.drop();
  await s.flush();
  await s.flush();
  assert.equal(s.closes, ['b', 'c', 'a'], 'b lost its link first, then c and a were stopped in reverse order');
  assert.equal(started, ['a', 'b', 'c']);
  ['a', 'b', 'c'].forEach((id, i) => assert.is.not(s.sup.child(id), before[i]));
  const connects: string[] = [];
  for (const id of ['a', 'b', 'c']) s.sup.connection(id).events$.subscribe((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'connecting' && connects.push(id));
  await s.advance(FIRST_RESTART_MS);
  assert.equal(connects, ['a', 'b', 'c'], 'all connect after the offender\'s backoff, in start order');
  assert.ok(['a', 'b', 'c'].every((id) => topState(s.sup.child(id)!.getSnapshot()) === 'connected'));
  await s.sup.shutdown();
});

test('supervisor: rest_for_one restarts the child and those started after it', async () => {
  const s = startSupervisor({ strategy: 'rest_for_one' });
  for (const id of ['a', 'b', 'c', 'd']) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.flush();
  const before = Object.fromEntries(['a', 'b', 'c', 'd'].map((id) => [id, s.sup.child(id)]));
  s.mocks.b!.drop();
  await s.flush();
  await s.flush();
  assert.equal(s.closes, ['b', 'd', 'c']);
  assert.is(s.sup.child('a'), before.a);
  for (const id of ['b', 'c', 'd']) assert.is.not(s.sup.child(id), before[id]);
  assert.equal(s.sup.whichChildren().map((c) => c.restarts), [0, 1, 1, 1]);
  await s.sup.shutdown();
});

test('supervisor: permanent restarts after a normal exit (DISCONNECT), transient does not', async () => {
  const s = startSupervisor();
  const p = s.sup.startChild({ id: 'p', transport: s.transport('p') });
  const t = s.sup.startChild({ id: 't', transport: s.transport('t'), restart: 'transient' });
  await s.flush();
  p.send({ type: 'DISCONNECT' });
  t.send({ type: 'DISCONNECT' });
  await s.advance(FIRST_RESTART_MS);
  assert.is.not(s.sup.child('p'), p, 'permanent: restarted');
  assert.ok(inState(s.sup.child('p')!.getSnapshot(), 'connected'));
  assert.is(s.sup.child('t'), t, 'transient: same actor');
  assert.is(s.sup.whichChildren().find((c) => c.id === 't')!.state, 'disconnected');
  await s.sup.shutdown();
});

test('supervisor: transient restarts after failed; temporary is removed', async () => {
  const s = startSupervisor();
  const t = s.sup.startChild({ id: 't', transport: s.transport('t'), restart: 'transient', policy: failNow });
  s.sup.startChild({ id: 'x', transport: s.transport('x'), restart: 'temporary', policy: failNow });
  await s.flush();
  s.mocks.t!.drop();
  s.mocks.x!.drop();
  await s.flush();
  await s.flush();
  assert.is.not(s.sup.child('t'), t);
  assert.is(s.sup.child('x'), undefined, 'temporary child removed');
  assert.equal(s.sup.whichChildren().map((c) => c.id), ['t']);
  await s.sup.shutdown();
});

test('supervisor: temporary server-side link (reconnect: false) is removed when the peer closes', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'peer-1', transport: s.transport('peer-1'), restart: 'temporary', policy: { reconnect: false } });
  await s.flush();
  s.mocks['peer-1']!.drop('peer closed');
  await s.flush();
  assert.equal(s.sup.whichChildren(), []);
  await s.sup.shutdown();
});

test('supervisor: more than maxRestarts in periodMs escalates: children stopped in reverse, report', async () => {
  const s = startSupervisor({ id: 'radio-sup', maxRestarts: 3, periodMs: 5000, logger: silentLogger });
  for (const id of ['a', 'b', 'c']) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.flush();
  const done = toPromise(s.sup.actor);
  for (let i = 0; i < 4; i++) {
    await s.advance(1000);
    s.mocks.b!.drop();
    await s.flush();
    await s.flush();
  }
  assert.is(s.sup.actor.getSnapshot().value, 'failed');
  const report = await done;
  assert.equal(report, {
    supervisor: 'radio-sup',
    errorContext: 'child_terminated',
    reason: 'reached_max_restart_intensity',
    offender: { id: 'b', kind: 'mock', exit: 'failed', error: (report as { offender: { error: unknown } }).offender.error },
    restarts: 3,
  });
  assert.equal(s.closes.slice(-2), ['c', 'a'], 'remaining children stopped in reverse start order');
  assert.is(s.sup.report, report);
  await s.sup.send('a', 'x').then(() => assert.unreachable(), (e) => assert.instance(e, SupervisorFailedError));
  assert.throws(() => s.sup.startChild({ id: 'z', transport: s.transport('z') }), (e: Error) => e instanceof SupervisorFailedError);
  assert.ok(Object.values(s.mocks).every((m) => m.openLinks === 0), 'every link closed');
  await s.sup.shutdown();
});

test('supervisor: the window slides: restarts spread out over time never escalate', async () => {
  const s = startSupervisor({ maxRestarts: 3, periodMs: 5000 });
  // Stable after 500 ms connected, so each restart's backoff starts over (100 ms).
  s.sup.startChild({ id: 'a', transport: s.transport('a'), policy: { ...failNow, stableAfterMs: 500 } });
  await s.flush();
  for (let i = 0; i < 10; i++) {
    // 2 s per round: at most 3 restarts fall in any 5 s window. Reconnected
    // within the first 200 ms (its restart backoff), stable 500 ms later.
    await s.advance(200);
    await s.advance(1800);
    assert.ok(inState(s.sup.child('a')!.getSnapshot(), 'connected'));
    s.mocks.a!.drop();
    await s.flush();
    await s.flush();
  }
  assert.is(s.sup.actor.getSnapshot().value, 'running');
  assert.is(s.sup.whichChildren()[0]!.restarts, 10);
  await s.sup.shutdown();
});

test('supervisor: a child that throws inside an action crashes only itself and is restarted', async () => {
  let throws = 1;
  const flaky = connectionMachine.provide({
    actions: {
      flushOutbox: () => {
        if (throws-- > 0) throw new Error('boom in an action');
      },
    },
  });
  const s = startSupervisor();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  const a = s.sup.startChild({ id: 'a', transport: s.transport('a'), machine: flaky });
  s.sup.startChild({ id: 'b', transport: s.transport('b') });
  await s.flush();
  await new Promise((r) => setTimeout(r, 10)); // XState reports unhandled errors on a timer
  process.off('uncaughtException', onUncaught);
  assert.equal(uncaught, []);
  assert.is(a.getSnapshot().status, 'error');
  assert.is(s.sup.actor.getSnapshot().status, 'active');
  const a2 = s.sup.child('a')!;
  assert.is.not(a2, a);
  await s.advance(FIRST_RESTART_MS);
  assert.ok(inState(a2.getSnapshot(), 'connected'));
  assert.ok(inState(s.sup.child('b')!.getSnapshot(), 'connected'));
  await s.sup.shutdown();
});

test('supervisor: shutdown stops children in reverse start order, closing every link', async () => {
  const s = startSupervisor();
  for (const id of ['a', 'b', 'c']) s.sup.startChild({ id, transport: s.transport(id) });
  await s.flush();
  const states: string[] = [];
  s.sup.state$.subscribe((m) => states.push(JSON.stringify(m)));
  await s.sup.shutdown();
  assert.equal(s.closes, ['c', 'b', 'a']);
  assert.ok(Object.values(s.mocks).every((m) => m.openLinks === 0));
  assert.is(s.sup.actor.getSnapshot().status, 'done');
  assert.equal(s.sup.whichChildren(), []);
  assert.is(states.at(-1), '{}');
  await s.sup.shutdown(); // idempotent
});

test('supervisor: shutdown rejects queued messages as stopped', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a'), autoConnect: false });
  const p = s.sup.send('a', 'never sent').then(() => 'sent', (e: unknown) => e);
  await s.sup.shutdown();
  assert.is(((await p) as MessageDroppedError).reason, 'stopped');
});

test('supervisor: stopChild closes the link and does not restart', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  s.sup.startChild({ id: 'b', transport: s.transport('b') });
  await s.flush();
  await s.sup.stopChild('a');
  assert.equal(s.sup.whichChildren().map((c) => c.id), ['b']);
  assert.is(s.mocks.a!.openLinks, 0);
  await s.flush();
  assert.is(s.mocks.a!.connects, 1, 'not restarted');
  await s.sup.stopChild('zzz').then(() => assert.unreachable(), (e) => assert.instance(e, UnknownConnectionError));
  await s.sup.shutdown();
});

test('supervisor: restartChild gives a fresh actor', async () => {
  const s = startSupervisor();
  const a = s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  const a2 = s.sup.restartChild('a');
  assert.is.not(a2, a);
  await s.flush();
  assert.ok(inState(a2.getSnapshot(), 'connected'));
  assert.is(s.mocks.a!.openLinks, 1);
  assert.throws(() => s.sup.restartChild('nope'), (e: Error) => e instanceof UnknownConnectionError);
  await s.sup.shutdown();
});

test('supervisor: broadcast reports delivered, queued and failed', async () => {
  const s = startSupervisor();
  for (const id of ['a', 'b']) s.sup.startChild({ id, transport: s.transport(id) });
  s.sup.startChild({ id: 'c', transport: s.transport('c'), autoConnect: false });
  s.sup.startChild({ id: 'd', transport: s.transport('d'), autoConnect: false, outbox: { limit: 0 } });
  await s.flush();
  s.mocks.b!.failNextSends(1);
  const r = await s.sup.broadcast('hi');
  assert.equal(r.delivered, ['a']);
  assert.equal(r.queued, ['c']);
  const failed = Object.fromEntries(r.failed.map((f) => [f.id, f.error]));
  assert.equal(Object.keys(failed).sort(), ['b', 'd']);
  assert.instance(failed.d, OutboxOverflowError);
  assert.is(failed.b!.name, 'LinkClosedError');
  const only = await s.sup.broadcast('x', { ids: ['a', 'ghost'] });
  assert.equal(only.delivered, ['a']);
  assert.instance(only.failed[0]!.error, UnknownConnectionError);
  const filtered = await s.sup.broadcast('y', { filter: (c) => c.state === 'connected' });
  assert.equal(filtered.delivered.sort(), ['a']);
  const vol = await s.sup.broadcast('v', { volatile: true, ids: ['c'] });
  assert.instance(vol.failed[0]!.error, MessageDroppedError);
  await s.sup.shutdown();
});

test('supervisor: broadcast by ids: a child named twice gets it once, a child being stopped or never started fails as unknown (issue 15)', async () => {
  const s = startSupervisor();
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  s.sup.startChild({ id: 'b', transport: s.transport('b') });
  s.sup.startChild({ id: 'c', transport: s.transport('c'), autoConnect: false });
  await s.flush();
  const stopping = s.sup.stopChild('b'); // its actor is closing its link: no longer one of the children
  const r = await s.sup.broadcast('x', { ids: ['a', 'c', 'a', 'ghost', 'c', 'b', 'ghost'] });
  assert.equal(r.delivered, ['a']);
  assert.equal(r.queued, ['c']);
  assert.equal(r.failed.map((f) => [f.id, f.error.constructor.name]), [['ghost', 'UnknownConnectionError'], ['b', 'UnknownConnectionError']]);
  assert.equal(s.mocks.a!.written, ['x']);
  assert.equal(s.mocks.b!.written, []);
  await stopping;
  s.sup.child('c')!.send({ type: 'CONNECT' });
  await s.flush();
  assert.equal(s.mocks.c!.written, ['x'], 'queued once');
  await s.sup.shutdown();
});

test('supervisor: events$ merges every child, state$ follows their states', async () => {
  const s = startSupervisor();
  const seen: Array<Record<string, string>> = [];
  s.sup.state$.subscribe((m) => seen.push(m));
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  s.sup.startChild({ id: 'b', transport: s.transport('b') });
  await s.flush();
  assert.equal(seen.at(-1), { a: 'connected', b: 'connected' });
  assert.ok(s.events.some((e) => e.connectionId === 'a') && s.events.some((e) => e.connectionId === 'b'));
  // Regression: a child's first event (emitted as it starts) reaches events$ too.
  assert.equal(s.events.find((e) => e.connectionId === 'a')!.data, { from: 'disconnected', to: 'connecting' });
  s.mocks.a!.drop();
  await s.flush();
  assert.equal(seen.at(-1), { a: 'reconnecting', b: 'connected' });
  await s.sup.shutdown();
});

test('supervisor: child ids like constructor or __proto__ are ordinary ids (the registries have no prototype)', async () => {
  const s = startSupervisor();
  assert.is(s.sup.child('constructor'), undefined);
  for (const id of ['constructor', '__proto__', 'toString']) s.sup.startChild({ id, transport: s.transport(id) });
  await s.flush();
  assert.equal(s.sup.whichChildren().map((c) => [c.id, c.state]), [['constructor', 'connected'], ['__proto__', 'connected'], ['toString', 'connected']]);
  await s.sup.send('__proto__', 'x');
  assert.equal(s.mocks['__proto__']!.written, ['x']);
  await s.sup.stopChild('__proto__');
  assert.equal(s.sup.whichChildren().map((c) => c.id), ['constructor', 'toString']);
  await s.sup.shutdown();
});

test('supervisor: durations a timer cannot hold (over 2^31-1 ms) are RangeErrors', () => {
  const s = startSupervisor();
  assert.throws(() => s.sup.startChild({ id: 'x', transport: s.transport('x'), shutdownMs: 2 ** 31 }), (e: Error) => e instanceof RangeError && /spec\.shutdownMs/.test(e.message));
  assert.throws(() => s.sup.startChild({ id: 'x', transport: s.transport('x'), policy: { stableAfterMs: 2 ** 31 } }), (e: Error) => e instanceof RangeError && /stableAfterMs/.test(e.message));
  return s.sup.shutdown();
});

test.run();
