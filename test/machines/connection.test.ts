/**
 * The connection statechart, row by row (ARCHITECTURE.md's table), under
 * SimulatedClock and the mock transport.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectTimeoutError, ConnectionError, LinkClosedError } from '../../machines/ports/errors.js';
import { WebSocketHandshakeError } from '../../transports/websocket/errors.js';
import { seededRandom, backoffDelay } from '../../machines/backoff.js';
import { LogEvent, ConnectionState } from '../../machines/events.js';
import { defaultPolicy } from '../../machines/policy.js';
import { inState, topState } from '../../machines/state.js';
import { startConnection } from '../helpers/connection.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import type { Link, Transport } from '../../machines/ports/transport.js';

const test = suite('connection');

test('names: LogEvent and ConnectionState carry the seed names', () => {
  assert.is(LogEvent.RECONNECT_START, 'EVENT_RECONNECT_START');
  assert.not.ok('POWER_CRITICAL' in LogEvent, 'power events belong to the serial transport, not the generic machine');
  assert.is(ConnectionState.TX_DROPPED, 'tx_dropped');
  assert.equal(Object.values(ConnectionState).sort(), ['connected', 'connecting', 'disconnected', 'failed', 'reconnecting', 'tx_dropped']);
});

test('defaults: the seed policy', () => {
  assert.equal(
    { ...defaultPolicy },
    {
      initialBackoffMs: 100, maxBackoffMs: 10000, factor: 2, jitter: 0.1, jitterMode: 'relative', maxRetries: 10, connectTimeoutMs: 3000,
      fastPathTimeoutMs: 500, stableAfterMs: 5000, staleAfterMs: 0, maxPermanentFailures: 2, reconnect: true,
    },
  );
});

test('disconnected --CONNECT--> connecting --link opened--> connected', async () => {
  const c = startConnection();
  assert.is(c.state(), 'disconnected');
  c.actor.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connecting');
  await c.advance(0);
  assert.is(c.state(), 'connected');
  // Three ways to ask; `connected` sits inside the `active` group.
  assert.ok(c.actor.getSnapshot().matches({ active: 'connected' }));
  assert.ok(inState(c.actor.getSnapshot(), 'connected'));
  assert.is(topState(c.actor.getSnapshot()), 'connected');
  assert.equal(c.types(), ['EVENT_STATE_CHANGE', 'EVENT_STATE_CHANGE'], 'no RECONNECT_OK on a first connect');
  const [first] = c.emitted;
  assert.equal(
    { ...first, timestamp: 0 },
    { type: 'EVENT_STATE_CHANGE', connectionId: 'c1', timestamp: 0, state: 'connecting', reconnectCount: 0, data: { from: 'disconnected', to: 'connecting' } },
  );
  c.stop();
});

test('autoConnect: true connects at start, default false stays disconnected', async () => {
  const a = startConnection({ autoConnect: true });
  await a.advance(0);
  assert.is(a.state(), 'connected');
  const b = startConnection();
  await b.advance(0);
  assert.is(b.state(), 'disconnected');
  assert.is(b.mock.connects, 0);
  a.stop();
  b.stop();
});

test('connecting --open failed--> reconnecting --backoff elapsed--> connecting (EVENT_RECONNECT_START)', async () => {
  const c = startConnection({ random: () => 0.5 });
  c.mock.failNextConnects(1);
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'reconnecting');
  assert.ok(c.types().includes('EVENT_RECONNECT_FAILED'));
  assert.instance(c.actor.getSnapshot().context.lastError, ConnectionError);
  await c.advance(99);
  assert.is(c.state(), 'reconnecting', 'still waiting at 99 ms');
  await c.advance(1);
  assert.is(c.state(), 'connected', 'retried at 100 ms and connected');
  const types = c.types();
  assert.ok(types.indexOf('EVENT_RECONNECT_START') < types.indexOf('EVENT_RECONNECT_OK'));
  assert.is(c.mock.connects, 2);
  c.stop();
});

test('connecting --connectTimeoutMs--> reconnecting with a ConnectTimeoutError', async () => {
  const c = startConnection({ policy: { connectTimeoutMs: 50 } });
  c.mock.hangNextConnects(1);
  await c.send({ type: 'CONNECT' });
  await c.advance(49);
  assert.is(c.state(), 'connecting');
  await c.advance(1);
  assert.is(c.state(), 'reconnecting');
  const err = c.actor.getSnapshot().context.lastError;
  assert.instance(err, ConnectTimeoutError);
  assert.is((err as ConnectTimeoutError).timeoutMs, 50);
  assert.is((err as ConnectTimeoutError).code, 'ERR_CONNECT_TIMEOUT');
  c.stop();
});

test('reconnecting --attempts > maxRetries--> failed: 10 failed retries with the seed defaults', async () => {
  const c = startConnection({ random: seededRandom(3) });
  c.mock.failNextConnects(100);
  await c.send({ type: 'CONNECT' });
  // Walk the clock forward in 10 ms steps, recording when each retry starts.
  const starts: number[] = [];
  c.actor.on('EVENT_RECONNECT_START', () => starts.push(c.clock.now()));
  let prev = 0;
  while (c.state() !== 'failed' && c.clock.now() < 200_000) await c.advance(10);
  assert.is(c.state(), 'failed');
  assert.is(c.actor.getSnapshot().status, 'done', 'failed is final');
  assert.is(starts.length, 10, '10 retries');
  assert.is(c.mock.connects, 11, 'the first attempt and 10 retries');
  const t = c.types();
  assert.is(t.filter((x) => x === 'EVENT_RECONNECT_FAILED').length, 11);
  assert.is(t.filter((x) => x === 'EVENT_MAX_RETRIES_EXCEEDED').length, 1);
  // Delays grow 100, 200, ... capped at 10 s, each within ±10 % (10 ms clock steps).
  const gaps = starts.map((s) => { const g = s - prev; prev = s; return g; });
  gaps.forEach((g, i) => {
    const base = Math.min(100 * 2 ** i, 10000);
    assert.ok(g >= base * 0.9 - 10 && g <= base * 1.1 + 10, `retry ${i + 1}: gap ${g} vs base ${base}`);
  });
});

test('reconnecting --2 identical permanent failures (HTTP 401)--> failed, with the reason', async () => {
  const c = startConnection({ random: () => 0.5 });
  c.mock.failNextConnects(5, new WebSocketHandshakeError(401));
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'reconnecting', 'the first 401 is retried');
  await c.advance(100);
  assert.is(c.state(), 'failed', 'the second identical 401 ends it');
  assert.is(c.mock.connects, 2);
  const err = c.actor.getSnapshot().context.lastError as WebSocketHandshakeError;
  assert.is(err.statusCode, 401);
  assert.ok(err.permanent);
  const change = c.emitted.filter((e) => e.type === 'EVENT_STATE_CHANGE').find((e) => e.data.to === 'failed');
  assert.match(String(change?.data.error?.message), /HTTP 401/);
});

test('permanent failures: a different one, a timeout or a success in between restarts the count', async () => {
  const c = startConnection({ random: () => 0.5, policy: { connectTimeoutMs: 50 } });
  c.mock.failNextConnects(1, new WebSocketHandshakeError(401));
  c.mock.hangNextConnects(1);
  await c.send({ type: 'CONNECT' });
  await c.advance(100); // retry 1 hangs
  await c.advance(50); // ...and times out
  assert.is(c.state(), 'reconnecting');
  c.mock.failNextConnects(1, new WebSocketHandshakeError(401));
  await c.advance(200);
  assert.is(c.state(), 'reconnecting', '401, timeout, 401 is not two in a row');
  c.mock.failNextConnects(1, new WebSocketHandshakeError(403));
  await c.advance(400);
  assert.is(c.state(), 'reconnecting', '401 then 403 are not identical');
  await c.advance(800);
  assert.is(c.state(), 'connected');
  c.mock.drop();
  await c.advance(0);
  c.mock.failNextConnects(1, new WebSocketHandshakeError(403));
  await c.advance(2000);
  assert.is(c.state(), 'reconnecting', 'a success in between restarts the count');
  c.stop();
});

test('permanent failures: a link refused right after it opens counts, until a link is stable (issue 14: TLS 1.3 client certificate)', async () => {
  const refused = () => new WebSocketHandshakeError(401);
  const c = startConnection({ random: () => 0.5, policy: { stableAfterMs: 1000 } });
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connected');
  c.mock.drop(refused());
  await c.advance(0);
  assert.is(c.state(), 'reconnecting', 'the first refusal is retried');
  await c.advance(100);
  assert.is(c.state(), 'connected');
  c.mock.drop(refused());
  await c.advance(0);
  assert.is(c.state(), 'failed', 'the second identical refusal ends it');
  const done = c.actor.getSnapshot().output as { reason: string; error: unknown };
  assert.is(done.reason, 'permanent_failure');
  assert.instance(done.error, WebSocketHandshakeError);

  // A stable link in between forgets the first one.
  const d = startConnection({ random: () => 0.5, policy: { stableAfterMs: 1000 } });
  await d.send({ type: 'CONNECT' });
  d.mock.drop(refused());
  await d.advance(0);
  await d.advance(100);
  assert.is(d.state(), 'connected');
  await d.advance(1000); // stable
  d.mock.drop(refused());
  await d.advance(0);
  assert.is(d.state(), 'reconnecting');
  d.stop();
});

test('permanent failures: a 404 is not permanent and is retried until maxRetries', async () => {
  const c = startConnection({ random: () => 0.5, policy: { maxRetries: 3 } });
  c.mock.failNextConnects(10, new WebSocketHandshakeError(404));
  await c.send({ type: 'CONNECT' });
  while (c.state() !== 'failed' && c.clock.now() < 100_000) await c.advance(10);
  assert.is(c.mock.connects, 4);
  assert.ok(c.types().includes('EVENT_MAX_RETRIES_EXCEEDED'));
});

test('reconnecting: exact delays follow backoffDelay with the same seeded random', async () => {
  const policy = { initialBackoffMs: 100, factor: 3, maxBackoffMs: 2000, maxRetries: 5 };
  const c = startConnection({ random: seededRandom(11), policy });
  const expected = (() => { const r = seededRandom(11); return [1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...defaultPolicy, ...policy }, r)); })();
  c.mock.failNextConnects(100);
  await c.send({ type: 'CONNECT' });
  for (const delay of expected) {
    const before = c.mock.connects;
    await c.advance(delay - 1);
    assert.is(c.mock.connects, before, `no retry before ${delay} ms`);
    await c.advance(1);
    assert.is(c.mock.connects, before + 1, `retry exactly at ${delay} ms`);
  }
  assert.is(c.state(), 'failed');
});

test('reconnecting: decorrelated jitter draws each delay from the one before, and starts over when stable (issue 11)', async () => {
  const policy = { jitterMode: 'decorrelated' as const, maxRetries: 6, stableAfterMs: 1000 };
  const c = startConnection({ random: seededRandom(11), policy });
  const r = seededRandom(11);
  const expected: number[] = [];
  for (let n = 1, previous: number | undefined; n <= 5; n++) expected.push((previous = backoffDelay(n, { ...defaultPolicy, ...policy }, r, previous)));
  c.mock.failNextConnects(5);
  await c.send({ type: 'CONNECT' });
  for (const delay of expected) {
    const before = c.mock.connects;
    await c.advance(delay - 1);
    assert.is(c.mock.connects, before, `no retry before ${delay} ms`);
    await c.advance(1);
    assert.is(c.mock.connects, before + 1, `retry exactly at ${delay} ms`);
  }
  assert.is(c.state(), 'connected');
  await c.advance(1000); // stable: the next delay is drawn from initialBackoffMs again
  c.mock.drop();
  await c.advance(0);
  assert.is(c.actor.getSnapshot().context.backoffMs, backoffDelay(1, { ...defaultPolicy, ...policy }, r, undefined));
  c.stop();
});

test('connected --link lost--> reconnecting --> connected (EVENT_RECONNECT_OK)', async () => {
  const c = startConnection({ random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  c.mock.drop('peer went away');
  await c.advance(0);
  assert.is(c.state(), 'reconnecting');
  await c.advance(100);
  assert.is(c.state(), 'connected');
  const ok = c.emitted.find((e) => e.type === 'EVENT_RECONNECT_OK');
  assert.ok(ok);
  assert.is(ok!.reconnectCount, 1);
  assert.is(ok!.data.fastPath, false);
  c.stop();
});

test('connected --link lost--> disconnected when policy.reconnect is false', async () => {
  const c = startConnection({ policy: { reconnect: false } });
  await c.send({ type: 'CONNECT' });
  c.mock.drop();
  await c.advance(0);
  assert.is(c.state(), 'disconnected');
  await c.advance(60_000);
  assert.is(c.mock.connects, 1, 'never retried');
  const change = c.emitted.filter((e) => e.type === 'EVENT_STATE_CHANGE').at(-1)!;
  assert.equal(change.data.error?.name, 'LinkClosedError');
  c.stop();
});

test('connected --a send fails (broken pipe)--> reconnecting', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  c.mock.failNextSends(1);
  let rejected: Error | undefined;
  c.actor.send({ type: 'SEND', data: 'x', ticket: { resolve() {}, reject: (e) => (rejected = e) } });
  await c.advance(0);
  assert.is(c.state(), 'reconnecting');
  assert.ok(rejected, 'the sender was told');
  c.stop();
});

test('connected --stableAfterMs--> EVENT_CONNECTION_STABLE and the retry count resets', async () => {
  const c = startConnection({ random: () => 0.5 });
  c.mock.failNextConnects(3);
  await c.send({ type: 'CONNECT' });
  await c.advance(100);
  await c.advance(200);
  await c.advance(400);
  assert.is(c.state(), 'connected');
  assert.is(c.actor.getSnapshot().context.reconnectCount, 3);
  await c.advance(4999);
  assert.not.ok(c.types().includes('EVENT_CONNECTION_STABLE'));
  await c.advance(1);
  assert.ok(c.types().includes('EVENT_CONNECTION_STABLE'));
  assert.is(c.actor.getSnapshot().context.reconnectCount, 0);
  // After the reset the next loss starts again from the first delay.
  c.mock.drop();
  await c.advance(0);
  await c.advance(99);
  assert.is(c.state(), 'reconnecting');
  await c.advance(1);
  assert.is(c.state(), 'connected');
  c.stop();
});

test('connected: a link lost before stableAfterMs keeps the count (flapping backs off)', async () => {
  const c = startConnection({ random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  for (const delay of [100, 200, 400]) {
    c.mock.drop();
    await c.advance(0);
    await c.advance(delay - 1);
    assert.is(c.state(), 'reconnecting');
    await c.advance(1);
    assert.is(c.state(), 'connected');
  }
  assert.is(c.actor.getSnapshot().context.reconnectCount, 3);
  c.stop();
});

test('stale: no data for staleAfterMs means the link is lost; data keeps it alive', async () => {
  const c = startConnection({ policy: { staleAfterMs: 1000 } });
  await c.send({ type: 'CONNECT' });
  for (let i = 0; i < 5; i++) {
    await c.advance(900);
    c.mock.emit(`reading ${i}`); // inbound data counts
  }
  await c.advance(900);
  c.actor.send({ type: 'DATA_RECEIVED' }); // so does the seed's update_last_data_time
  await c.advance(900);
  assert.is(c.state(), 'connected');
  await c.advance(100);
  assert.is(c.state(), 'reconnecting');
  assert.is((c.actor.getSnapshot().context.lastError as ConnectionError).code, 'ERR_LINK_STALE');
  assert.is(c.emitted.filter((e) => e.type === 'DATA').length, 5);
  c.stop();
});

test('stale: off by default (no data for an hour is fine)', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  await c.advance(3_600_000);
  assert.is(c.state(), 'connected');
  c.stop();
});

for (const from of ['connecting', 'connected', 'reconnecting'] as const) {
  test(`${from} --TX_DROP--> tx_dropped --link reopened--> connected, no backoff`, async () => {
    const c = startConnection({ random: () => 0.5 });
    if (from === 'connecting') c.mock.hangNextConnects(1);
    if (from === 'reconnecting') c.mock.failNextConnects(1);
    await c.send({ type: 'CONNECT' });
    if (from === 'connected') assert.is(c.state(), 'connected');
    assert.is(c.state(), from);
    const connects = c.mock.connects;
    c.actor.send({ type: 'TX_DROP' });
    assert.is(c.state(), 'tx_dropped');
    await c.advance(0);
    assert.is(c.state(), 'connected', 'reconnected with no delay');
    assert.is(c.mock.connects, connects + 1);
    const t = c.types();
    assert.ok(t.includes('EVENT_TX_DROP_DETECTED') && t.includes('EVENT_FAST_PATH_ACTIVE'));
    const ok = c.emitted.find((e) => e.type === 'EVENT_RECONNECT_OK');
    assert.is(ok?.data.fastPath, true);
    assert.is(c.mock.openLinks, 1, 'the old link was closed');
    c.stop();
  });
}

test('tx_dropped --fast path fails--> reconnecting, normal backoff from there', async () => {
  const c = startConnection({ random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  c.mock.failNextConnects(1);
  await c.send({ type: 'TX_DROP' });
  assert.is(c.state(), 'reconnecting');
  await c.advance(99);
  assert.is(c.state(), 'reconnecting', 'backoff applies after a failed fast path');
  await c.advance(1);
  assert.is(c.state(), 'connected');
  c.stop();
});

test('tx_dropped --fastPathTimeoutMs--> reconnecting', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  c.mock.hangNextConnects(1);
  await c.send({ type: 'TX_DROP' });
  await c.advance(499);
  assert.is(c.state(), 'tx_dropped');
  await c.advance(1);
  assert.is(c.state(), 'reconnecting');
  assert.instance(c.actor.getSnapshot().context.lastError, ConnectTimeoutError);
  c.stop();
});

test('tx_dropped --TX_DROP again--> restarts the fast path', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  c.mock.hangNextConnects(1);
  await c.send({ type: 'TX_DROP' });
  await c.advance(400);
  await c.send({ type: 'TX_DROP' });
  assert.is(c.state(), 'connected');
  assert.is(c.types().filter((t) => t === 'EVENT_TX_DROP_DETECTED').length, 2);
  c.stop();
});

test('RECONNECT {fastPath: true} from connected, connecting, tx_dropped goes through tx_dropped', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  await c.send({ type: 'RECONNECT', fastPath: true });
  assert.is(c.state(), 'connected');
  assert.is(c.types().filter((t) => t === 'EVENT_FAST_PATH_ACTIVE').length, 1);
  c.mock.hangNextConnects(2);
  await c.send({ type: 'RECONNECT', fastPath: true });
  assert.is(c.state(), 'tx_dropped');
  await c.send({ type: 'RECONNECT', fastPath: true });
  assert.is(c.state(), 'tx_dropped');
  assert.is(c.types().filter((t) => t === 'EVENT_FAST_PATH_ACTIVE').length, 3);
  await c.advance(500);
  assert.is(c.state(), 'reconnecting');
  await c.send({ type: 'RECONNECT', fastPath: true });
  assert.is(c.state(), 'connected', 'from reconnecting too');
  c.mock.hangNextConnects(1);
  c.actor.send({ type: 'DISCONNECT' });
  c.actor.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connecting');
  await c.send({ type: 'RECONNECT', fastPath: true });
  assert.is(c.state(), 'connected', 'from connecting');
  c.stop();
});

test('RECONNECT without fastPath goes through reconnecting with backoff', async () => {
  const c = startConnection({ random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  await c.send({ type: 'RECONNECT' });
  assert.is(c.state(), 'reconnecting');
  assert.is(c.mock.openLinks, 0, 'the link was closed');
  await c.advance(100);
  assert.is(c.state(), 'connected');
  c.mock.hangNextConnects(1);
  await c.send({ type: 'TX_DROP' });
  await c.send({ type: 'RECONNECT' });
  assert.is(c.state(), 'reconnecting', 'from tx_dropped');
  c.mock.hangNextConnects(1);
  await c.advance(10_000);
  assert.is(c.state(), 'connecting');
  await c.send({ type: 'RECONNECT' });
  assert.is(c.state(), 'reconnecting', 'from connecting');
  c.stop();
});

test('reconnecting --CONNECT--> connecting at once (skips the wait)', async () => {
  const c = startConnection();
  c.mock.failNextConnects(1);
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'reconnecting');
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connected');
  c.stop();
});

test('reconnecting --TX_DROP--> tx_dropped', async () => {
  const c = startConnection();
  c.mock.failNextConnects(1);
  await c.send({ type: 'CONNECT' });
  await c.send({ type: 'TX_DROP' });
  assert.is(c.state(), 'connected');
  assert.ok(c.types().includes('EVENT_TX_DROP_DETECTED'));
  c.stop();
});

for (const from of ['connecting', 'connected', 'reconnecting', 'tx_dropped'] as const) {
  test(`${from} --DISCONNECT--> disconnected, link closed, no retry`, async () => {
    const c = startConnection();
    if (from === 'connecting') c.mock.hangNextConnects(1);
    if (from === 'reconnecting') c.mock.failNextConnects(1);
    await c.send({ type: 'CONNECT' });
    if (from === 'tx_dropped') {
      c.mock.hangNextConnects(1);
      await c.send({ type: 'TX_DROP' });
    }
    assert.is(c.state(), from);
    await c.send({ type: 'DISCONNECT' });
    assert.is(c.state(), 'disconnected');
    assert.ok(c.actor.getSnapshot().matches({ disconnected: 'idle' }), 'the close completed');
    assert.is(c.mock.openLinks, 0);
    const connects = c.mock.connects;
    await c.advance(60_000);
    assert.is(c.mock.connects, connects, 'no retry after DISCONNECT');
    await c.send({ type: 'CONNECT' });
    assert.is(c.state(), 'connected', 'and it can connect again');
    c.stop();
  });
}

test('events from an old link are ignored once a newer attempt exists', async () => {
  const c = startConnection();
  await c.send({ type: 'CONNECT' });
  const old = c.mock.link!;
  await c.send({ type: 'TX_DROP' });
  assert.is(c.state(), 'connected');
  // The stale link's reports carry gen 1; the machine is on gen 2 now.
  c.actor.send({ type: 'LINK_LOST', gen: 1, error: new Error('late') });
  c.actor.send({ type: 'LINK_OPEN', gen: 1, link: old });
  await c.advance(0);
  assert.is(c.state(), 'connected');
  assert.is(c.actor.getSnapshot().context.gen, 2);
  c.stop();
});

test('a transport that throws in connect() is a failed attempt, not a crash', async () => {
  const c = startConnection({ random: () => 0.5 });
  c.mock.throwOnConnect(true);
  await c.send({ type: 'CONNECT' });
  assert.is(c.actor.getSnapshot().status, 'active');
  assert.is(c.state(), 'reconnecting');
  c.mock.throwOnConnect(false);
  await c.advance(100);
  assert.is(c.state(), 'connected');
  c.stop();
});

test('a link whose send throws (a broken contract) is lost, and the sender is told (issue 15)', async () => {
  const mock = mockTransport();
  const broken: Transport = {
    kind: 'broken',
    async connect(o) {
      const link = await mock.connect(o);
      return { ...link, send: () => { throw new Error('send threw synchronously'); } } as Link;
    },
  };
  const c = startConnection({ transport: broken, random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  let told: unknown;
  await c.send({ type: 'SEND', data: 'x', ticket: { resolve() {}, reject: (e) => (told = e) } });
  assert.is(c.actor.getSnapshot().status, 'active');
  assert.is(c.state(), 'reconnecting');
  assert.match(String((c.actor.getSnapshot().context.lastError as Error).message), /send threw/);
  assert.instance(told, LinkClosedError, 'the sender learns its message did not go out');
  assert.match(String((told as Error).message), /send threw/);
  assert.is(mock.openLinks, 0, 'the broken link was closed');
  c.stop();
});

test('stopping the actor closes the link and aborts a pending connect', async () => {
  const a = startConnection();
  await a.send({ type: 'CONNECT' });
  assert.is(a.mock.openLinks, 1);
  a.stop();
  await a.advance(0);
  assert.is(a.mock.openLinks, 0);
  const b = startConnection();
  b.mock.hangNextConnects(1);
  await b.send({ type: 'CONNECT' });
  b.stop();
  await b.advance(0);
  assert.is(b.mock.opened, 0);
});

test('timestamps come from the actor clock', async () => {
  const c = startConnection();
  c.clock.set(1_700_000_000_000);
  await c.send({ type: 'CONNECT' });
  assert.ok(c.emitted.every((e) => e.timestamp === 1_700_000_000_000));
  c.stop();
});

test('input: bad input puts the actor in error with a clear message', () => {
  const c = startConnection({ id: '' });
  const snap = c.actor.getSnapshot();
  assert.is(snap.status, 'error');
  assert.match(String((snap as { error?: Error }).error?.message), /input\.id/);
  const d = startConnection({ policy: { factor: 0.5 } });
  assert.match(String((d.actor.getSnapshot() as { error?: Error }).error?.message), /input\.policy\.factor/);
});

test.run();
