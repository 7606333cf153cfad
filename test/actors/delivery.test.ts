/** AckedDelivery: pipelined frames acked by id, on the SimulatedClock, over a mock connection. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AckedDelivery, type DeliveryErrors } from '../../actors/delivery.js';
import { startSupervisor } from '../helpers/supervisor.js';

const test = suite('delivery');

class TestError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}
const errors: DeliveryErrors = {
  ackTimeout: (id, ms) => new TestError('timeout', `no ack for ${id} within ${ms} ms`),
  sendFailed: (id) => new TestError('send', `send of ${id} failed`),
  linkLost: (id) => new TestError('lost', `link lost with ${id} unacked`),
  closed: (reason) => new TestError('closed', `closed: ${reason}`),
};

async function setup(options: { resend?: boolean; inFlightLimit?: number; maxRetries?: number } = {}) {
  const s = startSupervisor();
  s.sup.startChild({ id: 'peer', transport: s.transport('peer'), restart: 'temporary', policy: { maxRetries: options.maxRetries ?? 5, reconnect: options.resend !== false } });
  const connection = s.sup.connection('peer');
  const delivery = new AckedDelivery({
    connection,
    clock: s.clock,
    errors,
    ackTimeoutMs: 1000,
    ...(options.resend !== undefined ? { resend: options.resend } : {}),
    ...(options.inFlightLimit ? { inFlightLimit: options.inFlightLimit } : {}),
  });
  await s.flush();
  const frame = (id: number) => `${id};`;
  const outcome = (p: Promise<void>) => p.then(() => 'acked', (e: TestError) => e.kind);
  return { s, mock: s.mocks.peer!, delivery, frame, outcome };
}

test('delivery: frames of one turn go out as one send; acks in any order settle their own frame', async () => {
  const { s, mock, delivery, frame, outcome } = await setup();
  const ps = [1, 2, 3].map(() => outcome(delivery.deliver(frame)));
  await s.flush();
  assert.equal(mock.written, ['1;2;3;'], 'one send for the turn');
  assert.is(delivery.inFlight, 3);
  delivery.ack(3);
  delivery.nack(1, new TestError('nack', 'refused'));
  delivery.ack(2);
  assert.equal(await Promise.all(ps), ['nack', 'acked', 'acked']);
  assert.is(delivery.ack(2), false, 'a second ack finds nothing');
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: no ack within ackTimeoutMs (on the clock) rejects with the facade’s timeout error', async () => {
  const { s, delivery, frame, outcome } = await setup();
  const p = outcome(delivery.deliver(frame));
  await s.flush();
  await s.advance(999);
  assert.is(delivery.inFlight, 1, 'not yet');
  await s.advance(1);
  assert.is(await p, 'timeout');
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: inFlightLimit makes the next frame wait for a slot, in order', async () => {
  const { s, mock, delivery, frame } = await setup({ inFlightLimit: 2 });
  const order: number[] = [];
  const ps = [1, 2, 3, 4].map((n) => delivery.deliver(frame).then(() => order.push(n)));
  await s.flush();
  assert.equal(mock.written, ['1;2;']);
  delivery.ack(1);
  await s.flush();
  assert.equal(mock.written, ['1;2;', '3;']);
  delivery.ack(2);
  delivery.ack(3);
  await s.flush();
  delivery.ack(4);
  await Promise.all(ps);
  assert.equal(order, [1, 2, 3, 4]);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: after a reconnect the unacked frames are sent again, in id order, once', async () => {
  const { s, mock, delivery, frame, outcome } = await setup();
  const ps = [1, 2, 3].map(() => outcome(delivery.deliver(frame)));
  await s.flush();
  delivery.ack(2);
  mock.drop('agent restarted');
  await s.flush();
  await s.advance(200); // backoff
  await s.flush();
  assert.equal(mock.written, ['1;2;3;', '1;3;']);
  delivery.ack(1);
  delivery.ack(3);
  assert.equal(await Promise.all(ps), ['acked', 'acked', 'acked']);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: a send that fails is sent again after the reconnect', async () => {
  const { s, mock, delivery, frame, outcome } = await setup();
  mock.failNextSends(1);
  const p = outcome(delivery.deliver(frame));
  await s.flush();
  await s.advance(200);
  await s.flush();
  assert.equal(mock.written, ['1;']);
  delivery.ack(1);
  assert.is(await p, 'acked');
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: without resend a lost link fails what is in flight and later frames at once', async () => {
  const { s, mock, delivery, frame, outcome } = await setup({ resend: false });
  const p = outcome(delivery.deliver(frame));
  await s.flush();
  mock.drop();
  await s.flush();
  assert.is(await p, 'lost');
  assert.is(await outcome(delivery.deliver(frame)), 'closed');
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: a connection that gives up rejects everything pending; close drains on the clock', async () => {
  const { s, mock, delivery, frame, outcome } = await setup({ maxRetries: 0 });
  const p = outcome(delivery.deliver(frame));
  await s.flush();
  mock.drop();
  await s.flush();
  assert.is(await p, 'closed');
  await s.sup.shutdown();

  const b = await setup();
  const q = b.outcome(b.delivery.deliver(b.frame));
  await b.s.flush();
  let closed = false;
  const closing = b.delivery.close().then(() => (closed = true));
  await b.s.flush();
  assert.not.ok(closed, 'waits for the frame in flight');
  assert.is(await b.outcome(b.delivery.deliver(b.frame)), 'closed', 'takes no new frames');
  await b.s.advance(1000);
  await closing;
  assert.is(await q, 'timeout');
  await b.s.sup.shutdown();
});

test('delivery: bad options are TypeError/RangeError naming the option', async () => {
  const { s, delivery } = await setup();
  const connection = s.sup.connection('peer');
  assert.throws(() => new AckedDelivery({ connection: {} as never, clock: s.clock, errors }), (e: Error) => e instanceof TypeError && /options\.connection/.test(e.message));
  assert.throws(() => new AckedDelivery({ connection, clock: s.clock, errors, ackTimeoutMs: 0 }), (e: Error) => e instanceof RangeError && /options\.ackTimeoutMs/.test(e.message));
  assert.throws(() => new AckedDelivery({ connection, clock: s.clock, errors, inFlightLimit: 1.5 }), (e: Error) => e instanceof RangeError && /options\.inFlightLimit/.test(e.message));
  await delivery.close();
  await s.sup.shutdown();
});

test.run();
