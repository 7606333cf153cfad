/**
 * The supervision tree at scale (issue 15). Children are made with
 * `createActor(machine, { parent: supervisor })`, not spawned: XState copies a
 * parent's `children` map on every spawn and stop, so n spawned children cost
 * O(n²). Every promise of the supervisor must hold for children made this
 * way: strategies in start order, intensity, reverse-order shutdown, one
 * actor system (`systemId`), events$, inspection$ and the visualizer, the
 * data path. Times are measured in bench/ (`npm run bench -- scale`), never here.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, fromCallback, setup, toPromise, type AnyActorRef, type InspectionEvent } from 'xstate';
import { silentLogger } from '../../actors/supervisor.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { inState, topState } from '../../machines/state.js';
import { toWire } from '../../visualizer/server.js';
import { startSupervisor } from '../helpers/supervisor.js';

const test = suite('supervisor tree');
const failNow = { maxRetries: 0 };
const FIRST_RESTART_MS = 110;
const range = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const parentOf = (ref: AnyActorRef) => (ref as unknown as { _parent?: AnyActorRef })._parent;

test('supervisor tree: 1,000 children are the supervisor\'s (parent, system), not entries of XState\'s copied children map (issue 15)', async () => {
  const s = startSupervisor();
  const ids = range(1000);
  for (const id of ids) s.sup.startChild({ id, transport: s.transport(id) });
  await s.flush();
  assert.equal(Object.keys(s.sup.actor.getSnapshot().children), [], 'XState copies this map per spawn: it stays empty');
  assert.equal(s.sup.whichChildren().map((c) => c.id), ids, 'start order');
  for (const id of ids) {
    const ref = s.sup.child(id)!;
    assert.is(parentOf(ref), s.sup.actor);
    assert.is(ref.system, s.sup.actor.system);
    assert.ok(inState(ref.getSnapshot(), 'connected'));
  }
  await s.sup.shutdown();
  assert.equal(s.closes, [...ids].reverse(), 'shut down in reverse start order');
  assert.ok(Object.values(s.mocks).every((m) => m.openLinks === 0));
});

test('supervisor tree: systemId lookups work in every child, and a restarted child\'s new actor takes the old one\'s systemIds', async () => {
  // A child that registers a helper under a systemId named after it.
  const withHelper = setup({
    types: { input: {} as { id: string }, context: {} as { id: string } },
    actors: { helper: fromCallback(() => () => {}) },
  }).createMachine({
    context: ({ input }) => ({ id: input.id }),
    entry: assign(({ context, spawn }) => {
      spawn('helper', { id: 'helper', systemId: `helper-${context.id}` });
      return {};
    }),
    initial: 'disconnected',
    states: { disconnected: { initial: 'idle', states: { idle: {} } } },
  });
  const s = startSupervisor();
  for (const id of range(300)) s.sup.startChild({ id, transport: s.transport(id), machine: withHelper, autoConnect: false });
  const { system } = s.sup.actor;
  const helperOf = (id: string) => s.sup.child(id)!.getSnapshot().children.helper;
  assert.ok(range(300).every((id) => system.get(`helper-${id}`) === helperOf(id) && helperOf(id)));
  const old = system.get('helper-c7');
  s.sup.restartChild('c7');
  assert.ok(system.get('helper-c7') && system.get('helper-c7') !== old, 'the new actor\'s helper');
  assert.is(system.get('helper-c7'), helperOf('c7'));
  await s.sup.stopChild('c7');
  assert.is(system.get('helper-c7'), undefined, 'gone with its child');
  assert.is(system.get('helper-c8'), helperOf('c8'));
  await s.sup.shutdown();
  assert.is(system.get('helper-c8'), undefined);
});

test('supervisor tree: rest_for_one restarts the rest in start order, after children left and others joined', async () => {
  const s = startSupervisor({ strategy: 'rest_for_one' });
  for (const id of range(60)) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.flush();
  await s.sup.stopChild('c55');
  for (const id of ['late1', 'late2']) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.flush();
  const order = [...range(60).filter((id) => id !== 'c55'), 'late1', 'late2'];
  assert.equal(s.sup.whichChildren().map((c) => c.id), order);
  const before = new Map(order.map((id) => [id, s.sup.child(id)]));
  const started: string[] = [];
  s.sup.actor.on('CHILD_STARTED', (e) => started.push(e.id));
  s.closes.length = 0;
  s.mocks.c50!.drop();
  await s.flush();
  await s.flush();
  const rest = order.slice(order.indexOf('c50'));
  assert.equal(s.closes, ['c50', ...rest.slice(1).reverse()], 'the offender lost its link, the rest were stopped last-started first');
  assert.equal(started, rest, 'restarted in start order');
  for (const id of order) assert.is(s.sup.child(id) === before.get(id), !rest.includes(id), id);
  await s.advance(FIRST_RESTART_MS);
  assert.ok(order.every((id) => topState(s.sup.child(id)!.getSnapshot()) === 'connected'));
  await s.sup.shutdown();
});

test('supervisor tree: one_for_all stops every child last-started first and restarts all in start order', async () => {
  const s = startSupervisor({ strategy: 'one_for_all' });
  for (const id of range(40)) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.sup.stopChild('c3');
  s.sup.startChild({ id: 'c3', transport: s.transport('c3'), policy: failNow }); // back, now last
  await s.flush();
  const order = [...range(40).filter((id) => id !== 'c3'), 'c3'];
  const started: string[] = [];
  s.sup.actor.on('CHILD_STARTED', (e) => started.push(e.id));
  s.closes.length = 0;
  s.mocks.c20!.drop();
  await s.flush();
  await s.flush();
  assert.equal(s.closes, ['c20', ...[...order].reverse().filter((id) => id !== 'c20')]);
  assert.equal(started, order);
  const connects: string[] = [];
  for (const id of order) s.sup.connection(id).events$.subscribe((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'connecting' && connects.push(id));
  await s.advance(FIRST_RESTART_MS);
  assert.equal(connects, order, 'connected after the offender\'s backoff, in start order');
  await s.sup.shutdown();
});

test('supervisor tree: restart intensity counts restarts of any child; past it, every child stops last-started first', async () => {
  const s = startSupervisor({ maxRestarts: 3, periodMs: 5000, logger: silentLogger });
  const ids = range(100);
  for (const id of ids) s.sup.startChild({ id, transport: s.transport(id), policy: failNow });
  await s.flush();
  const done = toPromise(s.sup.actor);
  for (const id of ['c10', 'c90', 'c42']) {
    s.mocks[id]!.drop();
    await s.flush();
    await s.flush();
    await s.advance(FIRST_RESTART_MS);
  }
  assert.is(s.sup.actor.getSnapshot().value, 'running', 'three restarts in the window: within the intensity');
  s.closes.length = 0;
  s.mocks.c5!.drop();
  await s.flush();
  await s.flush();
  const report = (await done) as { offender: { id: string }; restarts: number };
  assert.is(report.offender.id, 'c5');
  assert.is(report.restarts, 3);
  assert.equal(s.closes, ['c5', ...[...ids].reverse().filter((id) => id !== 'c5')]);
  assert.is(s.events.at(-1)!.type, 'EVENT_SUPERVISOR_FAILED');
  assert.ok(Object.values(s.mocks).every((m) => m.openLinks === 0));
  await s.sup.shutdown();
});

test('supervisor tree: a supervisor actor stopped from outside (actor.stop()) stops every child and ends every handle', async () => {
  const s = startSupervisor();
  const ids = range(50);
  for (const id of ids) s.sup.startChild({ id, transport: s.transport(id) });
  s.sup.startChild({ id: 'waiting', transport: s.transport('waiting'), autoConnect: false });
  const queued = s.sup.send('waiting', 'never sent').catch((e: Error) => e.name);
  await s.flush();
  const handles = ids.map((id) => s.sup.connection(id));
  s.sup.actor.stop();
  await s.flush();
  assert.ok(Object.values(s.mocks).every((m) => m.openLinks === 0), 'every link closed');
  assert.ok(ids.every((id) => s.sup.child(id)!.getSnapshot().status === 'stopped'));
  assert.equal((await Promise.all(handles.map((h) => h.closed))).map((e) => e.reason), ids.map(() => 'shutdown'));
  assert.is(await queued, 'MessageDroppedError', 'its queued sender was told');
});

test('supervisor tree: events$, inspection$ and the visualizer see every child, and no actor but the supervisor and the children', async () => {
  const s = startSupervisor();
  const seen: InspectionEvent[] = [];
  const sub = s.sup.inspection$.subscribe((e) => seen.push(e));
  const ids = range(200);
  for (const id of ids) s.sup.startChild({ id, transport: s.transport(id) });
  await s.flush();
  const connected = new Set(s.events.filter((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'connected').map((e) => e.connectionId));
  assert.is(connected.size, 200, 'events$');
  const created = seen.filter((e) => e.type === '@xstate.actor').map((e) => e.actorRef as AnyActorRef);
  const kinds = new Set(created.map((ref) => (ref === s.sup.actor ? 'supervisor' : ids.includes(ref.id) ? 'connection' : ref.id)));
  assert.equal([...kinds].sort(), ['connection'], 'the children only (each runs its link inside itself): nothing in between');
  for (const e of seen) {
    if (e.type === '@xstate.event' && e.event.type === 'xstate.init' && ids.includes((e.actorRef as AnyActorRef).id)) assert.is(e.sourceRef, s.sup.actor, 'started by the supervisor');
  }
  // What the visualizer's page gets: the supervisor's children in start order, a connection snapshot each.
  const wire = toWire({ type: '@xstate.snapshot', actorRef: s.sup.actor, snapshot: s.sup.actor.getSnapshot(), event: { type: 'x' }, rootId: '' } as unknown as InspectionEvent)!;
  assert.equal((wire.context as { children: Array<{ id: string }> }).children.map((c) => c.id), ids);
  const drawn = new Set(seen.map(toWire).filter((w) => w?.machine === 'connection' && w.state === 'connected').map((w) => w!.actorId));
  assert.is(drawn.size, 200);
  sub.unsubscribe();
  await s.sup.shutdown();
});

test('supervisor tree: the data path (direct sends, direct inbound data) works for every child', async () => {
  const s = startSupervisor();
  const events: string[] = [];
  const sub = s.sup.inspection$.subscribe((e) => {
    if (e.type === '@xstate.event' && (e.event.type === 'SEND' || e.event.type === 'LINK_DATA')) events.push(e.event.type);
  });
  const ids = range(200);
  for (const id of ids) s.sup.startChild({ id, transport: s.transport(id) });
  await s.flush();
  const result = await s.sup.broadcast('all');
  assert.equal(result.delivered, ids);
  await s.sup.send('c199', 'one');
  assert.equal(s.mocks.c199!.written, ['all', 'one']);
  const inbound: string[] = [];
  for (const id of ids) s.sup.connection(id).data$.subscribe((d) => inbound.push(`${id}:${String(d)}`));
  for (const id of ids) s.mocks[id]!.emit('hi');
  assert.equal(inbound, ids.map((id) => `${id}:hi`));
  assert.equal(events, [], 'no SEND or LINK_DATA event: straight to the link, straight to the readers');
  sub.unsubscribe();
  await s.sup.shutdown();
});

test('supervisor tree: a child\'s exit reaches the machine as CHILD_DONE or CHILD_ERROR, whatever its id (XState caches transitions per event type, for good)', async () => {
  const crashing = connectionMachine.provide({
    actions: {
      flushOutbox: () => {
        throw new Error('boom');
      },
    },
  });
  const s = startSupervisor({ maxRestarts: 100 });
  const read: string[] = [];
  const sub = s.sup.inspection$.subscribe((e) => {
    if (e.type === '@xstate.microstep' && e.actorRef === s.sup.actor) read.push(e.event.type);
  });
  s.sup.startChild({ id: 'fails-7f3a', transport: s.transport('fails-7f3a'), policy: failNow, restart: 'temporary' });
  s.sup.startChild({ id: 'crashes-9c1e', transport: s.transport('crashes-9c1e'), machine: crashing, restart: 'temporary' });
  await s.flush();
  s.mocks['fails-7f3a']!.drop();
  await s.flush();
  await new Promise((r) => setTimeout(r, 10)); // XState reports a crash's error on a timer
  assert.ok(read.includes('CHILD_DONE') && read.includes('CHILD_ERROR'), read.join(', '));
  assert.equal(read.filter((t) => t.startsWith('xstate.done.actor') || t.startsWith('xstate.error.actor')), []);
  assert.equal(s.sup.whichChildren(), [], 'both exits were handled: temporary children removed');
  sub.unsubscribe();
  await s.sup.shutdown();
});

test.run();
