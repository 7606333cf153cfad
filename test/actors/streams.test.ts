/** RxJS: actors and supervisors as observables, composed with operators. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bufferCount, filter, firstValueFrom, from, map, distinctUntilChanged, scan, take, toArray } from 'rxjs';
import { connectionEvents$, connectionState$, connectionData$ } from '../../actors/streams.js';
import { topState } from '../../machines/state.js';
import { startConnection } from '../helpers/connection.js';
import { startSupervisor } from '../helpers/supervisor.js';

const test = suite('streams');

test('rxjs: from(childRef) gives each new snapshot; the top-level state pipes through operators', async () => {
  const c = startConnection({ random: () => 0.5 });
  const states = firstValueFrom(
    from(c.actor).pipe(map((s) => topState(s)), distinctUntilChanged(), take(4), toArray()),
  );
  await c.send({ type: 'CONNECT' });
  c.mock.drop();
  await c.advance(0);
  await c.advance(100);
  assert.equal(await states, ['connecting', 'connected', 'reconnecting', 'connecting']);
  c.stop();
});

test('rxjs: connectionState$ and connectionEvents$ on one connection', async () => {
  const c = startConnection();
  const states: string[] = [];
  const sub = connectionState$(c.actor).subscribe((s) => states.push(s));
  const types = firstValueFrom(connectionEvents$(c.actor).pipe(map((e) => e.type), take(3), toArray()));
  const data = firstValueFrom(connectionData$(c.actor).pipe(map((e) => e.data), take(2), toArray()));
  await c.send({ type: 'CONNECT' });
  c.mock.emit('a');
  c.mock.emit('b');
  await c.send({ type: 'TX_DROP' });
  assert.equal(await types, ['EVENT_STATE_CHANGE', 'EVENT_STATE_CHANGE', 'EVENT_STATE_CHANGE']);
  assert.equal(await data, ['a', 'b']);
  assert.equal(states, ['disconnected', 'connecting', 'connected', 'tx_dropped', 'connected']);
  sub.unsubscribe();
  c.stop();
});

test('rxjs: supervisor.events$ composed: reconnect counts per connection', async () => {
  const s = startSupervisor();
  const counts = firstValueFrom(
    s.sup.events$.pipe(
      filter((e) => e.type === 'EVENT_RECONNECT_OK'),
      scan((acc, e) => ({ ...acc, [e.connectionId]: (acc[e.connectionId] ?? 0) + 1 }), {} as Record<string, number>),
      bufferCount(3),
      map((b) => b.at(-1)),
    ),
  );
  s.sup.startChild({ id: 'a', transport: s.transport('a'), random: () => 0.5 });
  s.sup.startChild({ id: 'b', transport: s.transport('b'), random: () => 0.5 });
  await s.flush();
  s.mocks.a!.drop();
  s.mocks.b!.drop();
  await s.advance(0);
  await s.advance(100);
  s.mocks.a!.drop();
  await s.advance(0);
  await s.advance(200);
  assert.equal(await counts, { a: 2, b: 1 });
  await s.sup.shutdown();
});

test('rxjs: from(supervisor.actor) completes when the supervisor shuts down', async () => {
  const s = startSupervisor();
  const done = firstValueFrom(from(s.sup.actor).pipe(toArray()));
  s.sup.startChild({ id: 'a', transport: s.transport('a') });
  await s.flush();
  await s.sup.shutdown();
  const snaps = await done;
  assert.is(snaps.at(-1)!.value, 'stopped');
});

test.run();
