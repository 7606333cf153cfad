/** The outbox: order, the three overflow policies, volatile messages, nothing silent. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectionFailedError, MessageDroppedError, OutboxOverflowError } from '../../machines/ports/errors.js';
import { enqueue, resolveOutbox } from '../../machines/outbox.js';
import type { SendTicket } from '../../machines/events.js';
import { startConnection } from '../helpers/connection.js';

const test = suite('outbox');

function ticket() {
  const t = { settled: undefined as undefined | 'ok' | Error };
  const tk: SendTicket = { resolve: () => (t.settled = 'ok'), reject: (e) => (t.settled = e) };
  return Object.assign(t, { tk });
}

test('outbox: sends while disconnected are flushed in order on connect, before newer sends', async () => {
  const c = startConnection();
  const tickets = ['a', 'b', 'c'].map((data) => {
    const t = ticket();
    c.actor.send({ type: 'SEND', data, ticket: t.tk });
    return t;
  });
  assert.is(c.actor.getSnapshot().context.outbox.length, 3);
  c.actor.send({ type: 'CONNECT' });
  c.actor.send({ type: 'SEND', data: 'd' }); // while connecting: queued behind a, b, c
  await c.advance(0);
  c.actor.send({ type: 'SEND', data: 'e' });
  await c.advance(0);
  assert.equal(c.mock.written, ['a', 'b', 'c', 'd', 'e']);
  assert.ok(tickets.every((t) => t.settled === 'ok'), 'every sender told it went out');
  assert.is(c.actor.getSnapshot().context.outbox.length, 0);
  c.stop();
});

test('outbox: sends during reconnecting wait and go out after the reconnect, in order', async () => {
  const c = startConnection({ random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  c.actor.send({ type: 'SEND', data: '1' });
  c.mock.drop();
  await c.advance(0);
  for (const d of ['2', '3', '4']) c.actor.send({ type: 'SEND', data: d });
  assert.equal(c.mock.written, ['1']);
  await c.advance(100);
  assert.is(c.state(), 'connected');
  assert.equal(c.mock.written, ['1', '2', '3', '4']);
  c.stop();
});

test('outbox: drop-oldest (default) drops the head, tells its sender, emits EVENT_OUTBOX_OVERFLOW', async () => {
  const c = startConnection({ outbox: { limit: 3 } });
  const ts = ['a', 'b', 'c', 'd', 'e'].map((data) => {
    const t = ticket();
    c.actor.send({ type: 'SEND', data, ticket: t.tk });
    return t;
  });
  assert.instance(ts[0]!.settled, OutboxOverflowError);
  assert.instance(ts[1]!.settled, OutboxOverflowError);
  assert.is((ts[0]!.settled as OutboxOverflowError).overflow, 'drop-oldest');
  assert.is((ts[0]!.settled as OutboxOverflowError).code, 'ERR_OUTBOX_OVERFLOW');
  assert.is(c.types().filter((t) => t === 'EVENT_OUTBOX_OVERFLOW').length, 2);
  await c.send({ type: 'CONNECT' });
  assert.equal(c.mock.written, ['c', 'd', 'e']);
  c.stop();
});

test('outbox: drop-newest drops the newest queued message and keeps the new one', async () => {
  const c = startConnection({ outbox: { limit: 3, overflow: 'drop-newest' } });
  const ts = ['a', 'b', 'c', 'd', 'e'].map((data) => {
    const t = ticket();
    c.actor.send({ type: 'SEND', data, ticket: t.tk });
    return t;
  });
  assert.instance(ts[2]!.settled, OutboxOverflowError, 'c was the newest queued when d came');
  assert.instance(ts[3]!.settled, OutboxOverflowError);
  await c.send({ type: 'CONNECT' });
  assert.equal(c.mock.written, ['a', 'b', 'e']);
  assert.is(ts[4]!.settled, 'ok');
  c.stop();
});

test('outbox: reject refuses the new message and leaves the queue alone', async () => {
  const c = startConnection({ outbox: { limit: 2, overflow: 'reject' } });
  const ts = ['a', 'b', 'c'].map((data) => {
    const t = ticket();
    c.actor.send({ type: 'SEND', data, ticket: t.tk });
    return t;
  });
  assert.instance(ts[2]!.settled, OutboxOverflowError);
  const ev = c.emitted.find((e) => e.type === 'EVENT_OUTBOX_OVERFLOW')!;
  assert.equal(ev.data, { limit: 2, overflow: 'reject', droppedNew: true });
  await c.send({ type: 'CONNECT' });
  assert.equal(c.mock.written, ['a', 'b']);
  c.stop();
});

test('outbox: volatile sends are dropped (and their sender told) while not connected', async () => {
  const c = startConnection();
  const t = ticket();
  c.actor.send({ type: 'SEND', data: 'reading 1', volatile: true, ticket: t.tk });
  assert.instance(t.settled, MessageDroppedError);
  assert.is((t.settled as MessageDroppedError).reason, 'volatile');
  assert.ok(c.types().includes('EVENT_MESSAGE_DROPPED'));
  await c.send({ type: 'CONNECT' });
  assert.equal(c.mock.written, [], 'a stale reading is not replayed');
  const live = ticket();
  c.actor.send({ type: 'SEND', data: 'reading 2', volatile: true, ticket: live.tk });
  await c.advance(0);
  assert.equal(c.mock.written, ['reading 2'], 'volatile sends go out when connected');
  assert.is(live.settled, 'ok');
  c.stop();
});

test('outbox: entering failed rejects every queued message with ConnectionFailedError', async () => {
  const c = startConnection({ policy: { maxRetries: 1 } });
  c.mock.failNextConnects(10);
  await c.send({ type: 'CONNECT' });
  const t = ticket();
  c.actor.send({ type: 'SEND', data: 'x', ticket: t.tk });
  await c.advance(1000);
  assert.is(c.state(), 'failed');
  assert.instance(t.settled, ConnectionFailedError);
  const drop = c.emitted.find((e) => e.type === 'EVENT_MESSAGE_DROPPED')!;
  assert.equal(drop.data, { reason: 'failed', count: 1 });
});

test('outbox: limit 0 queues nothing, every offline send is an overflow', async () => {
  const c = startConnection({ outbox: { limit: 0 } });
  const t = ticket();
  c.actor.send({ type: 'SEND', data: 'x', ticket: t.tk });
  assert.instance(t.settled, OutboxOverflowError);
  c.stop();
});

test('outbox: in-flight sends on a deliberate close reject as canceled', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  c.mock.holdSends();
  const t = ticket();
  c.actor.send({ type: 'SEND', data: 'x', ticket: t.tk });
  await c.send({ type: 'DISCONNECT' });
  assert.is((t.settled as { canceled?: boolean }).canceled, true);
  c.stop();
});

test('outbox: pure enqueue and option validation', () => {
  const o = { limit: 2, overflow: 'drop-oldest' as const };
  assert.equal(enqueue([1, 2], 3, o), { queue: [2, 3], dropped: 1 });
  assert.equal(enqueue([1, 2], 3, { ...o, overflow: 'drop-newest' }), { queue: [1, 3], dropped: 2 });
  assert.equal(enqueue([1, 2], 3, { ...o, overflow: 'reject' }), { queue: [1, 2], dropped: 3 });
  assert.equal(enqueue([1], 3, o), { queue: [1, 3], dropped: undefined });
  assert.throws(() => resolveOutbox({ limit: -1 }), (e: Error) => e instanceof RangeError && /outbox\.limit/.test(e.message));
  assert.throws(() => resolveOutbox({ overflow: 'drop-random' as never }), (e: Error) => e instanceof TypeError && /drop-oldest, drop-newest, reject/.test(e.message));
});

test.run();
