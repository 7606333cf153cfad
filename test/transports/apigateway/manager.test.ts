/**
 * ApiGatewayManager, the pure parts: a fake SDK client (the SDK's own
 * exception classes) and a counting MemoryConnectionStore on a SimulatedClock.
 * The same behaviours through the real SDK and the emulator are in
 * manager-sdk.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import { seededRandom } from '../../../actors/index.js';
import { ApiGatewayError, ConnectionGoneError, PayloadTooLargeError, RateLimitedError, isConnectionGone } from '../../../transports/apigateway/errors.js';
import { BroadcastError, ManagerClosedError } from '../../../transports/apigateway/manager/errors.js';
import { ApiGatewayManager } from '../../../transports/apigateway/manager/manager.js';
import type { ApiGatewayManagerOptions } from '../../../transports/apigateway/manager/options.js';
import { CountingStore, FakeClient, advance, record, settle, type Answer } from '../../helpers/apigw-fake.js';

const test = suite('apigateway manager');

function setup(answer: (id: string, n: number) => Answer = () => 'ok', options: ApiGatewayManagerOptions = {}) {
  const clock = new SimulatedClock();
  const client = new FakeClient(clock, answer);
  const store = new CountingStore(clock);
  const manager = new ApiGatewayManager({ client, store, clock, maxRequestsPerSecond: Infinity, random: seededRandom(7), ...options });
  return { clock, client, store, manager };
}

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

test('send: the message is JSON-encoded once into one PostToConnection; bytes go as they are', async () => {
  const { client, manager } = setup();
  await manager.send('c1', { type: 'hello', n: 1 });
  await manager.send('c1', 'text');
  await manager.send('c1', new TextEncoder().encode('{"raw":true}'));
  assert.equal(
    client.calls.map((c) => [c.id, c.body]),
    [
      ['c1', '{"type":"hello","n":1}'],
      ['c1', '"text"'],
      ['c1', '{"raw":true}'],
    ],
  );
  assert.is(manager.metricsSnapshot().sent, 3);
  await manager.shutdown();
});

test('send: bad input is a TypeError naming connectionId or message, and nothing is sent', async () => {
  const { client, manager } = setup();
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const cases: Array<[string, unknown, RegExp]> = [
    ['', {}, /^connectionId must be a non-empty string/],
    [42 as unknown as string, {}, /^connectionId must be a non-empty string, got 42/],
    ['c1', cycle, /^message must be JSON-serialisable: .*circular/i],
    ['c1', { n: 1n }, /^message must be JSON-serialisable: .*BigInt/],
    ['c1', undefined, /^message must be JSON-serialisable, got undefined/],
    ['c1', () => 1, /^message must be JSON-serialisable, got a function/],
  ];
  for (const [id, message, re] of cases) {
    const err = await rejection(manager.send(id, message));
    assert.instance(err, TypeError);
    assert.match(err.message, re);
  }
  assert.is(client.calls.length, 0);
  await manager.shutdown();
});

test('send: a message over 128 KB is refused with PayloadTooLargeError before any request', async () => {
  const { client, manager } = setup();
  const err = await rejection(manager.send('c1', { pad: 'x'.repeat(128 * 1024) }));
  assert.instance(err, PayloadTooLargeError);
  assert.is((err as PayloadTooLargeError).limit, 131072);
  assert.ok((err as PayloadTooLargeError).bytes > 131072);
  assert.is((err as PayloadTooLargeError).code, 'ERR_APIGW_PAYLOAD_TOO_LARGE');
  await manager.send('c1', new Uint8Array(131072)); // exactly the limit goes
  const bc = await rejection(manager.broadcast(['a', 'b'], new Uint8Array(131073)));
  assert.instance(bc, PayloadTooLargeError);
  assert.is((bc as PayloadTooLargeError).apiConnectionId, '*');
  assert.is(client.calls.length, 1, 'only the one at the limit was sent');
  assert.is(manager.metricsSnapshot().errors.tooLarge, 2);
  await manager.shutdown();
});

test('send: a 413 from the service is a PayloadTooLargeError with the SDK error as cause', async () => {
  const { manager } = setup(() => 'tooLarge');
  const err = await rejection(manager.send('c1', { a: 1 }));
  assert.instance(err, PayloadTooLargeError);
  assert.is((err.cause as Error).name, 'PayloadTooLargeException');
  await manager.shutdown();
});

test('send: 410 rejects with ConnectionGoneError and removes the record once, however many sends see it', async () => {
  const { store, manager } = setup((id) => (id === 'gone' ? 'gone' : 'ok'));
  await store.inner.put(record('gone'));
  await store.inner.put(record('live'));
  store.hold = true; // the removal is still running while more sends see the 410
  const errs = await Promise.all([1, 2, 3].map(() => rejection(manager.send('gone', { n: 1 }))));
  for (const err of errs) {
    assert.instance(err, ConnectionGoneError);
    assert.ok(isConnectionGone(err));
    assert.is((err as ConnectionGoneError).apiConnectionId, 'gone');
    assert.is((err as ConnectionGoneError).code, 'ERR_APIGW_GONE');
  }
  assert.is(store.held, 1, 'one removal, not awaited by the sends');
  store.release();
  await settle();
  await rejection(manager.send('gone', { n: 2 }));
  await settle();
  assert.equal(store.deleted, ['gone']);
  assert.is(await store.inner.get('gone'), undefined);
  assert.ok(await store.inner.get('live'));
  const m = manager.metricsSnapshot();
  assert.is(m.errors.gone, 4);
  assert.is(m.removed, 1);
  await manager.shutdown();
});

test('send: a failed removal is counted and tried again on the next 410', async () => {
  const { store, manager } = setup(() => 'gone');
  store.fail.delete = new Error('table is down');
  await rejection(manager.send('g', 1));
  await settle();
  assert.is(manager.metricsSnapshot().errors.store, 1);
  assert.equal(manager.metricsSnapshot().lastStoreError, { name: 'Error', message: 'table is down' });
  delete store.fail.delete;
  await rejection(manager.send('g', 1));
  await manager.shutdown();
  assert.equal(store.deleted, ['g', 'g']);
});

test('send: 429 is retried with backoff on the clock, then succeeds', async () => {
  const { clock, client, manager } = setup((_id, n) => (n < 2 ? 'throttled' : 'ok'));
  let done = false;
  const p = manager.send('c1', { a: 1 }).then(() => (done = true));
  await settle();
  assert.is(client.calls.length, 1);
  await advance(clock, 10_000, 10);
  await p;
  assert.ok(done);
  assert.is(client.calls.length, 3);
  assert.ok(client.calls[1]!.at > client.calls[0]!.at || client.calls[2]!.at > client.calls[1]!.at, 'the retries waited on the clock');
  assert.is(manager.metricsSnapshot().retries, 2);
  assert.is(manager.metricsSnapshot().sent, 1);
  await manager.shutdown();
});

test('send: 429 through every retry rejects with RateLimitedError counting the tries', async () => {
  const { clock, client, manager } = setup(() => 'throttled', { retry: { maxRetries: 2, initialBackoffMs: 10, maxBackoffMs: 100 } });
  const p = rejection(manager.send('c1', 1));
  await advance(clock, 1000, 10);
  const err = await p;
  assert.instance(err, RateLimitedError);
  assert.is((err as RateLimitedError).attempts, 3);
  assert.is(client.calls.length, 3);
  assert.is(manager.metricsSnapshot().errors.throttled, 1);
  await manager.shutdown();
});

test('send: other failures are ApiGatewayErrors: 403 permanent ERR_APIGW_FORBIDDEN, 500 ERR_APIGW_REQUEST', async () => {
  const { manager } = setup((id) => (id === 'f' ? 'forbidden' : 'server'));
  const f = (await rejection(manager.send('f', 1))) as ApiGatewayError;
  assert.instance(f, ApiGatewayError);
  assert.is(f.code, 'ERR_APIGW_FORBIDDEN');
  assert.is(f.permanent, true);
  assert.is(f.status, 403);
  const s = (await rejection(manager.send('s', 1))) as ApiGatewayError;
  assert.is(s.code, 'ERR_APIGW_REQUEST');
  assert.is(s.status, 500);
  assert.match(s.message, /request for s failed \(HTTP 500 InternalServerError\): Internal server error/);
  assert.is(manager.metricsSnapshot().errors.other, 2);
  await manager.shutdown();
});

test('broadcast: never more than concurrency requests in flight; every id sent once', async () => {
  const { client, manager } = setup(() => 'hold');
  const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
  const p = manager.broadcast(ids, { type: 'news' }, { concurrency: 7 });
  for (let round = 0; client.calls.length < ids.length || client.held > 0; round++) {
    await settle();
    assert.ok(client.held <= 7, `round ${round}: ${client.held} in flight`);
    client.release(3);
  }
  assert.equal(await p, { total: 100, sent: 100 });
  assert.is(client.maxInFlight, 7);
  assert.equal(client.calls.map((c) => c.id).sort(), [...ids].sort());
  assert.ok(client.calls.every((c) => c.body === '{"type":"news"}'));
  await manager.shutdown();
});

test('broadcast: the default concurrency is 50', async () => {
  const { client, manager } = setup(() => 'hold');
  const p = manager.broadcast(Array.from({ length: 120 }, (_, i) => `c${i}`), 1);
  await settle();
  assert.is(client.held, 50);
  while (client.held > 0) {
    client.release();
    await settle();
  }
  await p;
  assert.is(client.maxInFlight, 50);
  await manager.shutdown();
});

test('broadcast: the request rate never goes above maxRequestsPerSecond (token bucket on the clock)', async () => {
  const { clock, client, manager } = setup(() => 'ok', { maxRequestsPerSecond: 100 });
  const ids = Array.from({ length: 350 }, (_, i) => `c${i}`);
  const p = manager.broadcast(ids, 1);
  await advance(clock, 5000, 5);
  assert.equal(await p, { total: 350, sent: 350 });
  const at = client.calls.map((c) => c.at);
  // Burst: 1 % of a second's worth (1 request here) on top of the rate.
  for (let i = 0; i < at.length; i++) {
    const inWindow = at.filter((t) => t >= at[i]! && t < at[i]! + 1000).length;
    assert.ok(inWindow <= 101, `${inWindow} requests in the second from ${at[i]} ms`);
  }
  assert.ok(at.at(-1)! >= 3400, 'the rate was held, not just the burst');
  await manager.shutdown();
});

test('broadcast: failures are collected in a BroadcastError after every id was tried; gone ones are removed', async () => {
  const answers: Record<string, Answer> = { g1: 'gone', g2: 'gone', f: 'forbidden', s: 'server' };
  const { store, manager } = setup((id) => answers[id] ?? 'ok');
  const ids = ['a', 'g1', 'b', 'f', 'g2', 's', 'c'];
  for (const id of ids) await store.inner.put(record(id));
  const err = (await rejection(manager.broadcast(ids, { x: 1 }, { concurrency: 3 }))) as BroadcastError;
  assert.instance(err, BroadcastError);
  assert.is(err.code, 'ERR_APIGW_BROADCAST');
  assert.is(err.total, 7);
  assert.is(err.sent, 3);
  assert.is(err.failed, 4);
  assert.is(err.gone, 2);
  assert.equal([...err.errors.keys()].sort(), ['f', 'g1', 'g2', 's']);
  assert.instance(err.errors.get('g1'), ConnectionGoneError);
  assert.is(err.errors.get('f')!.code, 'ERR_APIGW_FORBIDDEN');
  assert.is(err.errors.get('s')!.code, 'ERR_APIGW_REQUEST');
  assert.match(err.message, /4 of 7 sends of a broadcast failed \(2 gone, 2 other\)/);
  await manager.shutdown(); // waits for the removals
  assert.equal(store.deleted.sort(), ['g1', 'g2']);
  assert.equal((await store.inner.list()).map((r) => r.connectionId).sort(), ['a', 'b', 'c', 'f', 's']);
  const m = manager.metricsSnapshot();
  assert.is(m.broadcasts, 1);
  assert.is(m.removed, 2);
  assert.is(m.sent, 3);
});

test('broadcast: concurrency 0, NaN, 1.5 or "5" and bad ids are refused, naming what was wrong; no ids sends nothing', async () => {
  const { client, manager } = setup();
  for (const [concurrency, type] of [[0, RangeError], [-1, RangeError], [1.5, RangeError], [NaN, TypeError], ['5', TypeError], [Infinity, RangeError]] as const) {
    const err = await rejection(manager.broadcast(['a'], 1, { concurrency: concurrency as number }));
    assert.instance(err, type);
    assert.match(err.message, /^options\.concurrency must be an integer >= 1/);
  }
  assert.throws(() => new ApiGatewayManager({ client, concurrency: 0 }), /^options\.concurrency must be an integer >= 1, got 0/);
  assert.match((await rejection(manager.broadcast('abc' as unknown as string[], 1))).message, /^ids\[0\]|^ids must be/);
  assert.match((await rejection(manager.broadcast(null as unknown as string[], 1))).message, /^ids must be an array/);
  assert.match((await rejection(manager.broadcast(['a', 'b', ''], 1))).message, /^ids\[2\] must be a non-empty string, got ""/);
  assert.match((await rejection(manager.broadcast(['a'], 10n))).message, /^message must be JSON-serialisable/);
  assert.equal(await manager.broadcast([], { a: 1 }), { total: 0, sent: 0 });
  assert.equal(await manager.broadcast(new Set(['x', 'y']), 1), { total: 2, sent: 2 }, 'any iterable');
  assert.is(client.calls.length, 2);
  await manager.shutdown();
});

test('broadcastTo: every connection of a room or a tag, from the store', async () => {
  const { client, store, manager } = setup();
  await store.inner.put(record('a', { room: 'lobby', tags: ['user:1'] }));
  await store.inner.put(record('b', { room: 'lobby' }));
  await store.inner.put(record('c', { room: 'other', tags: ['user:1'] }));
  assert.equal(await manager.broadcastTo({ room: 'lobby' }, { hi: 1 }), { total: 2, sent: 2 });
  assert.equal(await manager.broadcastTo({ tag: 'user:1' }, { hi: 2 }), { total: 2, sent: 2 });
  assert.equal(client.calls.map((c) => `${c.id}${c.body}`).sort(), ['a{"hi":1}', 'a{"hi":2}', 'b{"hi":1}', 'c{"hi":2}']);
  assert.match((await rejection(manager.broadcastTo({ room: '' }, 1))).message, /^filter\.room must be a non-empty string/);
  assert.match((await rejection(manager.broadcastTo({ room: 'lobby' }, 1n))).message, /^message must be JSON-serialisable/);
  assert.is(store.count.list, 2, 'a bad message is refused before the store is asked');
  await manager.shutdown();
});

test('isActive: a store lookup trusted for 30 s; concurrent lookups share one; a 410 makes it inactive at once', async () => {
  const { clock, store, manager } = setup();
  await store.inner.put(record('a'));
  assert.equal(await Promise.all([manager.isActive('a'), manager.isActive('a')]), [true, true]);
  assert.is(store.count.get, 1, 'one lookup for both');
  assert.is(await manager.isActive('nobody'), false);
  await store.inner.delete('a');
  await advance(clock, 29_999);
  assert.is(await manager.isActive('a'), true, 'still cached');
  assert.is(store.count.get, 2);
  await advance(clock, 1);
  assert.is(await manager.isActive('a'), false, 'looked up again after 30 s');
  assert.is(store.count.get, 3);
  await manager.shutdown();
});

test('isActive: a 410 seen by a send invalidates the cached answer', async () => {
  const { client, store, manager } = setup();
  await store.inner.put(record('a'));
  assert.is(await manager.isActive('a'), true);
  client.answer = () => 'gone';
  await rejection(manager.send('a', 1));
  assert.is(await manager.isActive('a'), false);
  assert.is(store.count.get, 1, 'answered from the invalidated entry, not the store');
  await manager.shutdown();
});

test('isActive: activeCacheMs 0 asks the store every time; a record past expiresAt is inactive; bad id is a TypeError', async () => {
  const { clock, store, manager } = setup(undefined, { activeCacheMs: 0 });
  await store.inner.put(record('a'));
  await store.inner.put(record('old', { expiresAt: 10 }));
  await manager.isActive('a');
  await manager.isActive('a');
  assert.is(store.count.get, 2);
  assert.is(await manager.isActive('old'), true);
  await advance(clock, 10_000);
  assert.is(await manager.isActive('old'), false);
  assert.match((await rejection(manager.isActive(''))).message, /^connectionId must be a non-empty string/);
  await manager.shutdown();
});

test('progressReporter: report sends the seed’s progress payload; bad percentage or ids are refused', async () => {
  const { client, manager } = setup();
  const reporter = manager.progressReporter('c1', 'req-9');
  await reporter.report(42.5, 'halfway');
  await reporter.report(100);
  assert.equal(
    client.calls.map((c) => JSON.parse(c.body)),
    [
      { type: 'progress', request_id: 'req-9', percentage: 42.5, message: 'halfway' },
      { type: 'progress', request_id: 'req-9', percentage: 100, message: '' },
    ],
  );
  const low = await rejection(reporter.report(-1, 'x'));
  assert.instance(low, RangeError);
  assert.match(low.message, /^percentage must be a finite number within 0\.\.100, got -1/);
  assert.instance(await rejection(reporter.report(101)), RangeError);
  assert.instance(await rejection(reporter.report(NaN)), TypeError);
  assert.match((await rejection(reporter.report(5, 7 as unknown as string))).message, /^message must be a string, got 7/);
  assert.throws(() => manager.progressReporter('c1', ''), /^requestId must be a non-empty string/);
  assert.throws(() => manager.progressReporter('', 'r'), /^connectionId must be a non-empty string/);
  assert.is(client.calls.length, 2);
  await manager.shutdown();
});

test('updateLastPing: in the background at the clock’s time; a store failure is counted, never thrown', async () => {
  const { clock, store, manager } = setup();
  await store.inner.put(record('a'));
  await advance(clock, 1234);
  assert.is(manager.updateLastPing('a'), undefined);
  await settle();
  assert.is((await store.inner.get('a'))!.lastPingAt, 1234);
  store.fail.updateLastPing = new Error('throttled by DynamoDB');
  manager.updateLastPing('a');
  await settle();
  const m = manager.metricsSnapshot();
  assert.is(m.errors.store, 1);
  assert.equal(m.lastStoreError, { name: 'Error', message: 'throttled by DynamoDB' });
  assert.throws(() => manager.updateLastPing(''), /^connectionId must be a non-empty string/);
  await manager.shutdown();
});

test('shutdown: waits for sends in flight and background store calls; afterwards every call is refused with ManagerClosedError', async () => {
  const { client, store, manager } = setup((id) => (id === 'gone' ? 'gone' : 'hold'));
  await store.inner.put(record('gone'));
  store.hold = true;
  const sent = manager.send('a', 1);
  const gone = rejection(manager.send('gone', 1));
  await settle();
  manager.updateLastPing('a');
  let finished = false;
  const closing = manager.shutdown().then(() => (finished = true));
  assert.is(manager.shutdown(), manager.shutdown(), 'the same promise');
  await settle();
  assert.instance(await gone, ConnectionGoneError);
  assert.is(finished, false, 'a send is in flight');
  client.release();
  await sent;
  await settle();
  assert.is(finished, false, 'the removal and the ping are still running');
  assert.is(store.held, 2);
  store.release();
  await closing;
  assert.is(await store.inner.get('gone'), undefined);
  for (const p of [manager.send('a', 1), manager.broadcast(['a'], 1), manager.isActive('a')]) {
    const err = await rejection(p);
    assert.instance(err, ManagerClosedError);
    assert.is((err as ManagerClosedError).code, 'ERR_APIGW_CLOSED');
  }
  assert.throws(() => manager.updateLastPing('a'), (e: unknown) => e instanceof ManagerClosedError);
});

test('shutdown: a broadcast in flight finishes first', async () => {
  const { client, manager } = setup(() => 'hold');
  const p = manager.broadcast(['a', 'b', 'c'], 1, { concurrency: 1 });
  await settle();
  const closing = manager.shutdown();
  for (let i = 0; i < 3; i++) {
    client.release();
    await settle();
  }
  assert.equal(await p, { total: 3, sent: 3 });
  await closing;
  assert.is(client.calls.length, 3);
});

test('options: no client, no endpoint and no WEBSOCKET_ENDPOINT is a TypeError naming options.endpoint; others are named too', () => {
  assert.throws(() => new ApiGatewayManager({ env: {} }), (e: unknown) => e instanceof TypeError && /^options\.endpoint must be the API Gateway management endpoint/.test(e.message));
  assert.throws(() => new ApiGatewayManager({ env: {}, endpoint: 'not a url' }), /^options\.endpoint must be a URL/);
  assert.throws(() => new ApiGatewayManager({ env: { WEBSOCKET_ENDPOINT: 'ftp://x' } }), /^WEBSOCKET_ENDPOINT must be an https:\/\/ \(or http:\/\/\) URL/);
  assert.throws(() => new ApiGatewayManager({ env: {}, endpoint: 'http://127.0.0.1:1/dev' }), /^options\.region must be an AWS region/);
  assert.throws(() => new ApiGatewayManager({ client: {} as never }), /^options\.client must have send/);
  assert.throws(() => new ApiGatewayManager({ client: { send: async () => ({}) }, maxRequestsPerSecond: 0 }), /^options\.maxRequestsPerSecond must be a number > 0/);
  assert.throws(() => new ApiGatewayManager({ client: { send: async () => ({}) }, activeCacheMs: -1 }), /^options\.activeCacheMs must be a finite number within 0\.\./);
  assert.throws(() => new ApiGatewayManager({ client: { send: async () => ({}) }, store: {} as never }), /^options\.store must have get and put/);
  assert.throws(() => new ApiGatewayManager(null as never), /^options must be an object/);
});

test('metrics: send latency p50/p99 from the clock, errors by kind, in a fixed-size histogram', async () => {
  const { clock, client, manager } = setup((id) => (id.startsWith('g') ? 'gone' : 'ok'));
  client.delayMs = 10;
  const p = rejection(manager.broadcast(['a', 'b', 'g1', 'c'], 1));
  await advance(clock, 10);
  await p;
  client.delayMs = 200;
  const slow = manager.send('d', 1);
  await advance(clock, 200);
  await slow;
  const m = manager.metricsSnapshot();
  assert.is(m.sent, 4);
  assert.equal(m.errors, { gone: 1, tooLarge: 0, throttled: 0, other: 0, store: 0 });
  assert.equal(m.sendLatencyMs, { count: 5, p50: 10, p99: 200, max: 200 });
  assert.equal(m.broadcastLatencyMs, { count: 1, p50: 10, p99: 10, max: 10 });
  assert.is(m.broadcasts, 1);
  assert.is(m.inFlight, 0);
  await manager.shutdown();
});

test('metrics$: a snapshot on subscribe, one per interval in which something happened, a last one on shutdown', async () => {
  const { clock, manager } = setup(undefined, { metricsIntervalMs: 1000 });
  const seen: number[] = [];
  let completed = false;
  manager.metrics$.subscribe({ next: (m) => seen.push(m.sent), complete: () => (completed = true) });
  await manager.send('a', 1);
  await manager.send('b', 1);
  await advance(clock, 1000);
  await advance(clock, 1000); // nothing happened: no emission
  await manager.send('c', 1);
  await advance(clock, 1000);
  await manager.shutdown();
  assert.equal(seen, [0, 2, 3, 3]);
  assert.ok(completed);
  const late: number[] = [];
  manager.metrics$.subscribe((m) => late.push(m.sent));
  assert.equal(late, [3], 'after shutdown: the last snapshot, then complete');
});

test.run();
