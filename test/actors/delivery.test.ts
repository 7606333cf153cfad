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

test('delivery: a frame whose build throws passes its slot on (no stall)', async () => {
  const { s, delivery, frame, outcome } = await setup({ inFlightLimit: 1 });
  const a = outcome(delivery.deliver(frame));
  const b = delivery.deliver(() => {
    throw new RangeError('frame too large');
  });
  const c = outcome(delivery.deliver(frame));
  await s.flush();
  delivery.ack(1);
  await b.then(() => assert.unreachable(), (e) => assert.instance(e, RangeError));
  await s.flush();
  delivery.ack(3); // id 2 went to the frame that was never built
  assert.equal(await Promise.all([a, c]), ['acked', 'acked']);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: slots go to callers in call order (a woken waiter is not overtaken)', async () => {
  const { s, delivery } = await setup({ inFlightLimit: 1 });
  const built: string[] = [];
  const named = (name: string) => (id: number) => (built.push(`${name}#${id}`), `${id};`);
  const first = delivery.deliver(named('first'));
  const second = delivery.deliver(named('second'));
  await s.flush();
  delivery.ack(1); // frees the slot: it belongs to "second"
  const third = delivery.deliver(named('third')); // called now, synchronously: must wait its turn
  await s.flush();
  delivery.ack(2);
  await s.flush();
  delivery.ack(3);
  await Promise.all([first, second, third]);
  assert.equal(built, ['first#1', 'second#2', 'third#3']);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: after a reconnect the resent frame goes out before a newer one made during the outage', async () => {
  const { s, mock, delivery, outcome } = await setup();
  const one = outcome(delivery.deliver((id) => `one${id};`));
  await s.flush();
  mock.drop();
  await s.flush();
  const two = outcome(delivery.deliver((id) => `two${id};`)); // made while reconnecting
  await s.advance(200);
  await s.flush();
  assert.equal(mock.written, ['one1;', 'one1;two2;']);
  delivery.ack(1);
  delivery.ack(2);
  assert.equal(await Promise.all([one, two]), ['acked', 'acked']);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: an outage is not an ack timeout: timers stop while down and restart on the resend', async () => {
  const { s, mock, delivery, frame, outcome } = await setup({ maxRetries: 20 });
  const p = outcome(delivery.deliver(frame));
  await s.flush();
  mock.failNextConnects(3); // down for about 1.5 s of backoff: past ackTimeoutMs
  mock.drop();
  await s.flush();
  let down = 0;
  while (mock.written.length < 2 && down < 10_000) {
    await s.advance(100);
    await s.flush();
    down += 100;
  }
  assert.ok(down > 1000, `down ${down} ms: longer than ackTimeoutMs`);
  assert.is(delivery.inFlight, 1, 'still waiting, not timed out');
  assert.equal(mock.written, ['1;', '1;']);
  delivery.ack(1);
  assert.is(await p, 'acked');
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: a permanent child that fails and is restarted by the supervisor keeps delivering', async () => {
  const s = (await import('../helpers/supervisor.js')).startSupervisor();
  s.sup.startChild({ id: 'p', transport: s.transport('p'), policy: { maxRetries: 0 } });
  const delivery = new AckedDelivery({ connection: s.sup.connection('p'), clock: s.clock, errors, ackTimeoutMs: 1000 });
  await s.flush();
  const inFlight = delivery.deliver((id) => `${id};`).then(() => 'acked', (e: TestError) => e.kind);
  await s.flush();
  s.mocks.p!.drop(); // maxRetries 0: failed, then restarted
  await s.flush();
  await s.advance(1000);
  await s.flush();
  assert.is(await inFlight, 'closed', 'what was in flight when it failed is rejected');
  const after = delivery.deliver((id) => `${id};`);
  await s.flush();
  delivery.ack(2);
  await after;
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: ackRange settles the frames of a range that were written, and nothing above the last id given out (issue 15)', async () => {
  const { s, mock, delivery, frame, outcome } = await setup({ inFlightLimit: 4 });
  const ps = Array.from({ length: 6 }, () => outcome(delivery.deliver(frame)));
  await s.flush();
  assert.equal(mock.written, ['1;2;3;4;']);
  delivery.nack(2, new TestError('nack', 'refused'));
  // 1..4 freed: 5 and 6 are made in this turn, unwritten: the same range must not settle them.
  assert.is(delivery.ackRange(1, Number.MAX_SAFE_INTEGER), 3, 'ids 1, 3 and 4 were waiting');
  assert.is(delivery.inFlight, 2);
  assert.is(delivery.ack(5), false, 'not written yet: the peer cannot have it');
  await s.flush();
  assert.equal(mock.written, ['1;2;3;4;', '5;6;']);
  assert.is(delivery.ackRange(5, 6), 2);
  assert.equal(await Promise.all(ps), ['acked', 'nack', 'acked', 'acked', 'acked', 'acked']);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: deliver(build, arg) hands arg to build once the frame has its id', async () => {
  const { s, mock, delivery } = await setup({ inFlightLimit: 1 });
  const build = (id: number, word: string) => `${word}${id};`;
  const ps = [delivery.deliver(build, 'a'), delivery.deliver(build, 'b')];
  await s.flush();
  delivery.ack(1);
  await s.flush();
  delivery.ack(2);
  await Promise.all(ps);
  assert.equal(mock.written, ['a1;', 'b2;']);
  await delivery.close();
  await s.sup.shutdown();
});

test('delivery: maxWaiting bounds the callers waiting for a slot; one more is refused at once with errors.full (issue 16)', async () => {
  const { s, mock, delivery: unused } = await setup();
  await unused.close();
  const connection = s.sup.connection('peer');
  const full = (n: number) => new TestError('full', `${n} already wait`);
  const delivery = new AckedDelivery({ connection, clock: s.clock, errors: { ...errors, full }, inFlightLimit: 2, maxWaiting: 1, ackTimeoutMs: 1000 });
  const outcome = (p: Promise<void>) => p.then(() => 'acked', (e: TestError) => e.kind);
  const ps = [1, 2, 3, 4].map(() => outcome(delivery.deliver((id) => `${id};`)));
  assert.is(await ps[3], 'full', 'two in flight, one waiting: the fourth is refused at once');
  await s.flush();
  assert.equal(mock.written, ['1;2;']);
  delivery.ack(1);
  await s.flush();
  const fifth = outcome(delivery.deliver((id) => `${id};`)); // the waiter took the freed slot: room to wait again
  delivery.ack(2);
  await s.flush();
  delivery.ack(3);
  await s.flush();
  delivery.ack(4);
  assert.equal(await Promise.all([...ps.slice(0, 3), fifth]), ['acked', 'acked', 'acked', 'acked']);
  assert.throws(() => new AckedDelivery({ connection, clock: s.clock, errors, maxWaiting: 10 }), (e: Error) => e instanceof TypeError && /options\.errors\.full/.test(e.message));
  assert.throws(() => new AckedDelivery({ connection, clock: s.clock, errors: { ...errors, full }, maxWaiting: -1 }), (e: Error) => e instanceof RangeError && /options\.maxWaiting/.test(e.message));
  await delivery.close();
  await s.sup.shutdown();
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
