/**
 * The agent's duplicate-tracking records are bounded (issue 11, defect 3):
 * a session is forgotten `sessionTtlMs` after its last connection closed (on
 * the injected clock) and at most `maxSessions` are kept. The store on its
 * own with a SimulatedClock; then 10,000 connections through a real agent in
 * a child process, its heap read after a full GC.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection } from 'node:net';
import { SimulatedClock } from 'xstate';
import { EdgeAgentServer, memorySeenStore, type EdgeEvent } from '../../../transports/unix/index.js';
import { SeenIds } from '../../../transports/unix/edge/seen-store.js';
import { until } from '../../helpers/net.js';
import { tempDir } from '../../helpers/unix.js';
import { agentChild } from './agent-child.js';

const test = suite('sessions');
const TEN_MIN = 10 * 60 * 1000;

const frame = (id: number) => `${JSON.stringify({ id, event_type: 'LoginFailed', severity: 'high', details: {}, timestamp: '2026-01-01T00:00:00Z' })}\n`;

test('sessions: a session is forgotten sessionTtlMs after its last connection closed, on the injected clock; a new connection in time keeps it', () => {
  const clock = new SimulatedClock();
  const store = memorySeenStore({ clock }); // default ttl: 10 min
  store.retain('a');
  assert.ok(store.add('a', 1));
  assert.not.ok(store.add('a', 1), 'a duplicate');
  store.release('a');
  clock.increment(TEN_MIN - 1);
  store.retain('a'); // the client is back in time
  assert.not.ok(store.add('a', 1), 'still remembered');
  store.release('a');
  clock.increment(TEN_MIN - 1);
  assert.is(store.size, 1);
  clock.increment(1);
  assert.is(store.size, 0, 'forgotten after the TTL');
  assert.ok(store.add('a', 1), 'a new record');
  store.close();
  assert.is(store.size, 0);
});

test('sessions: two connections of one session: the TTL starts when the last one closes', () => {
  const clock = new SimulatedClock();
  const store = memorySeenStore({ clock, ttlMs: 1000 });
  store.retain('s');
  store.retain('s');
  store.add('s', 1);
  store.release('s');
  clock.increment(5000);
  assert.is(store.size, 1, 'one connection is still open');
  store.release('s');
  clock.increment(1000);
  assert.is(store.size, 0);
  store.close();
});

test('sessions: at most maxSessions are kept, the least recently used goes first', () => {
  const store = memorySeenStore({ clock: new SimulatedClock(), maxSessions: 3 });
  for (const s of ['a', 'b', 'c']) store.add(s, 1);
  store.add('a', 2); // a is now the most recently used
  store.add('d', 1); // b goes
  assert.is(store.size, 3);
  assert.not.ok(store.add('a', 1), 'a remembered');
  assert.ok(store.add('b', 1), 'b was forgotten');
  store.close();
});

test('sessions: ttl 0 forgets at once, Infinity never; bad options are TypeErrors/RangeErrors naming them', () => {
  const clock = new SimulatedClock();
  const now = memorySeenStore({ clock, ttlMs: 0 });
  now.retain('x');
  now.add('x', 1);
  now.release('x');
  assert.is(now.size, 0);
  const never = memorySeenStore({ clock, ttlMs: Infinity });
  never.retain('x');
  never.add('x', 1);
  never.release('x');
  clock.increment(1e12);
  assert.is(never.size, 1);
  never.close();
  assert.throws(() => memorySeenStore({ ttlMs: -1 }), (e: Error) => e instanceof RangeError && /options\.ttlMs must be/.test(e.message));
  assert.throws(() => memorySeenStore({ maxSessions: 0 }), (e: Error) => e instanceof RangeError && /options\.maxSessions must be an integer >= 1/.test(e.message));
  assert.throws(() => new EdgeAgentServer({ path: '/tmp/x.sock', sessionTtlMs: NaN }), (e: Error) => e instanceof TypeError && /options\.ttlMs/.test(e.message));
  assert.throws(() => new EdgeAgentServer({ path: '/tmp/x.sock', seen: { add: () => true }, maxSessions: 5 }), (e: Error) => e instanceof TypeError && /options\.maxSessions configures the default store/.test(e.message));
  assert.throws(() => new EdgeAgentServer({ path: '/tmp/x.sock', seen: {} as never }), (e: Error) => e instanceof TypeError && /options\.seen must be a SeenStore/.test(e.message));
});

test('sessions: a record holds no id per event for a client numbering from 1 (it used to keep every id above a gap at 0), and at most 1024 out of order', () => {
  const ids = new SeenIds();
  for (let id = 1; id <= 10_000; id++) assert.ok(ids.add(id));
  assert.is(ids.above.size, 0);
  assert.not.ok(ids.add(5000), 'seen');
  const holes = new SeenIds();
  holes.add(1);
  for (let id = 3; id < 3000; id++) holes.add(id); // 2 never comes
  assert.ok(holes.above.size <= 1024, `${holes.above.size} held`);
  assert.not.ok(holes.add(2999));
});

test('sessions: ids below the first one seen are not taken as seen (after an agent restart a newer frame may arrive first); a loss before the fix', () => {
  const ids = new SeenIds();
  assert.ok(ids.add(1500), 'a frame that overtook the re-sent ones');
  for (let id = 1001; id < 1500; id++) assert.ok(ids.add(id), `id ${id} is new: it must be published`);
  assert.not.ok(ids.add(1200), 'and now seen');
  assert.not.ok(ids.add(1500));
});

test('sessions: a session line over 256 characters is nacked', async () => {
  const tmp = tempDir();
  const agent = new EdgeAgentServer({ path: tmp.path('a.sock') });
  const events: EdgeEvent[] = [];
  agent.events$.subscribe((e) => events.push(e));
  await agent.listen();
  const s = createConnection({ path: agent.path });
  let text = '';
  s.on('data', (d) => (text += d));
  s.write(`{"session":"${'x'.repeat(257)}"}\n${frame(1)}`);
  await until(() => text.split('\n').length === 3, 'two replies');
  assert.match(text, /^\{"nack":null,"error":"session must be a non-empty string of at most 256 characters"\}\n\{"ack":1\}\n$/);
  s.destroy();
  await agent.close();
  tmp.remove();
});

/** `n` connections, `concurrency` at a time, each with its own session: the session line and one event, its ack, then close. */
async function sessions(path: string, from: number, n: number, concurrency = 25): Promise<void> {
  let next = from;
  const one = (k: number) =>
    new Promise<void>((resolve, reject) => {
      const s = createConnection({ path });
      s.on('error', reject);
      s.on('data', (d) => {
        if (!String(d).includes('"ack":1')) return reject(new Error(`unexpected reply ${d}`));
        s.end();
      });
      s.on('close', () => resolve());
      s.write(`{"session":"client-${k}-${'s'.repeat(24)}"}\n${frame(1)}`);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < from + n) await one(next++);
    }),
  );
}

test('sessions: 10,000 clients, each with its own session, come and go through a real agent: once the TTL passed, its heap is back within 5 % of where it began (issue 11, defect 3)', async () => {
  const tmp = tempDir();
  const path = tmp.path('agent.sock');
  const agent = await agentChild(path, '--simulated-clock', '--quiet');
  // Warm up (code paths compiled, pools grown), then forget those sessions too.
  await sessions(path, 0, 500);
  await agent.advance(TEN_MIN);
  const before = await agent.heap();
  await sessions(path, 1000, 10_000);
  const held = await agent.heap();
  await agent.advance(TEN_MIN);
  const after = await agent.heap();
  assert.ok(held > before, 'the sessions were remembered until the TTL');
  assert.ok(after <= before * 1.05, `heap ${(before / 1e6).toFixed(2)} MB before, ${(held / 1e6).toFixed(2)} MB with 10,000 idle sessions, ${(after / 1e6).toFixed(2)} MB after the TTL`);
  assert.is(await agent.stop(), 0);
  tmp.remove();
});

test.run();
