/**
 * webSocketTransport with real `ws` servers on loopback: typed handshake
 * failures, and the transport under the connection machine (server restarts,
 * silent peers, peers that stop answering pings, 401s).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createSupervisor } from '../../../actors/supervisor.js';
import { createActor } from 'xstate';
import { connectionMachine } from '../../../machines/connection.machine.js';
import { ConnectTimeoutError, ConnectionError, ConnectionFailedError, LinkClosedError } from '../../../machines/ports/errors.js';
import { WebSocketHandshakeError } from '../../../transports/websocket/errors.js';
import type { ConnectionLogEvent } from '../../../machines/events.js';
import { webSocketTransport } from '../../../transports/websocket/websocket.transport.js';
import { closeWss, freePort, sleep, startSilentServer, startWsServer, until } from '../../helpers/net.js';

const test = suite('websocket client');
const never = () => new AbortController().signal;
const fast = { initialBackoffMs: 20, maxBackoffMs: 100, jitter: 0 };

/** An HTTP server that answers every upgrade with `status`. */
async function rejectingServer(status: number) {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  let upgrades = 0;
  http.on('upgrade', (req, socket) => {
    upgrades++;
    socket.end(`HTTP/1.1 ${status} Nope\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope`);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    upgrades: () => upgrades,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await closeWss(wss);
    },
  };
}

test('options are validated, naming the option', () => {
  assert.throws(() => webSocketTransport({ url: 'http://x' }), (e: Error) => e instanceof TypeError && /options\.url/.test(e.message));
  assert.throws(() => webSocketTransport({ url: 'not a url' }), (e: Error) => e instanceof TypeError && /options\.url/.test(e.message));
  assert.throws(() => webSocketTransport({ url: 'ws://x', pingIntervalMs: -1 }), (e: Error) => e instanceof RangeError && /pingIntervalMs/.test(e.message));
  assert.throws(() => webSocketTransport({ url: 'ws://x', pongTimeoutMs: 0 }), (e: Error) => e instanceof RangeError && /pongTimeoutMs/.test(e.message));
  assert.throws(() => webSocketTransport({ url: 'ws://x', maxPayload: 1.5 }), (e: Error) => e instanceof RangeError && /maxPayload/.test(e.message));
  assert.throws(() => webSocketTransport({ url: 'ws://x', headers: { a: 1 as never } }), (e: Error) => e instanceof TypeError && /headers/.test(e.message));
  assert.throws(() => webSocketTransport(undefined as never), TypeError);
});

for (const status of [401, 403, 404]) {
  test(`handshake answered ${status}: WebSocketHandshakeError with statusCode ${status}`, async () => {
    const server = await rejectingServer(status);
    const err = await webSocketTransport({ url: server.url }).connect({ signal: never() }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, WebSocketHandshakeError);
    const e = err as WebSocketHandshakeError;
    assert.is(e.statusCode, status);
    assert.is(e.code, 'ERR_WS_HANDSHAKE');
    assert.is(e.permanent, status !== 404);
    await server.close();
  });
}

test('refused: ConnectionError ERR_CONNECTION_REFUSED with the OS cause', async () => {
  const err = (await webSocketTransport({ url: `ws://127.0.0.1:${await freePort()}` })
    .connect({ signal: never() })
    .then(() => undefined, (e: unknown) => e)) as ConnectionError;
  assert.instance(err, ConnectionError);
  assert.is(err.code, 'ERR_CONNECTION_REFUSED');
  assert.is(err.errno, 'ECONNREFUSED');
});

test('headers and protocols reach the server', async () => {
  const server = await startWsServer({ handleProtocols: (set) => (set.has('logs.v1') ? 'logs.v1' : false) });
  let auth: string | undefined;
  server.wss.on('connection', (_ws, req) => (auth = req.headers.authorization));
  const link = await webSocketTransport({ url: server.url, headers: { Authorization: 'Bearer t0k' }, protocols: ['logs.v1'] }).connect({ signal: never() });
  assert.is(auth, 'Bearer t0k');
  assert.is((link as unknown as { socket: { protocol: string } }).socket.protocol, 'logs.v1');
  await link.close();
  await server.close();
});

test('a peer that accepts TCP and never answers the handshake: ConnectTimeoutError after handshakeTimeoutMs', async () => {
  const silent = await startSilentServer();
  const t0 = Date.now();
  const err = await webSocketTransport({ url: `ws://127.0.0.1:${silent.port}`, handshakeTimeoutMs: 100 })
    .connect({ signal: never() })
    .then(() => undefined, (e: unknown) => e);
  assert.instance(err, ConnectTimeoutError);
  assert.is((err as ConnectTimeoutError).timeoutMs, 100);
  assert.ok(Date.now() - t0 >= 90);
  await silent.close();
});

test('close code and reason from the peer reach CloseInfo', async () => {
  const server = await startWsServer();
  const link = await webSocketTransport({ url: server.url }).connect({ signal: never() });
  (await server.nextSocket()).close(4001, 'task finished');
  const info = await link.closed;
  assert.equal([info.initiatedLocally, info.code, info.reason], [false, 4001, 'task finished']);
  await server.close();
});

/** A supervisor on real time with one websocket child; events recorded. */
function supervise(url: string, extra: Parameters<typeof webSocketTransport>[0] extends infer O ? Partial<O> : never = {}, policy = {}) {
  const sup = createSupervisor();
  const events: ConnectionLogEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  const ref = sup.startChild({ id: 'ws', transport: webSocketTransport({ url, ...extra }), restart: 'temporary', policy: { ...fast, ...policy } });
  const state = () => sup.whichChildren().find((c) => c.id === 'ws')?.state;
  return { sup, ref, events, state };
}

test('machine: reconnects after the server restarts on the same port, then delivers', async () => {
  let server = await startWsServer();
  const port = server.port;
  const s = supervise(server.url);
  await until(() => s.state() === 'connected', 'connected');
  await server.close();
  await until(() => s.state() === 'reconnecting' || s.state() === 'connecting', 'lost the link');
  server = await startWsServer({}, port);
  await until(() => s.state() === 'connected', 'connected again', 5000);
  const peer = await server.nextSocket();
  const got = new Promise<string>((r) => peer.once('message', (d) => r(d.toString())));
  await s.sup.send('ws', 'after restart');
  assert.is(await got, 'after restart');
  assert.ok(s.events.some((e) => e.type === 'EVENT_RECONNECT_OK'));
  await s.sup.shutdown();
  await server.close();
});

test('machine: a silent peer (TCP accepted, no handshake) is a timed-out attempt, then retried', async () => {
  const silent = await startSilentServer();
  const s = supervise(`ws://127.0.0.1:${silent.port}`, {}, { connectTimeoutMs: 100, maxRetries: 1 });
  await until(() => s.events.some((e) => e.type === 'EVENT_MAX_RETRIES_EXCEEDED'), 'failed');
  const failures = s.events.filter((e) => e.type === 'EVENT_RECONNECT_FAILED');
  assert.is(failures.length, 2, 'the first attempt and one retry');
  assert.is(failures[0]!.data.error?.code, 'ERR_CONNECT_TIMEOUT');
  await until(() => silent.sockets.every((x) => x.destroyed), 'the client sockets released');
  await s.sup.shutdown();
  await silent.close();
});

test('machine: a peer that stops answering pings is detected (ERR_PONG_TIMEOUT) and the link is retried', async () => {
  const server = await startWsServer({ autoPong: false });
  const s = supervise(server.url, { pingIntervalMs: 50, pongTimeoutMs: 50 }, { maxRetries: Infinity });
  await until(() => s.state() === 'connected', 'connected');
  await until(() => s.events.some((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'reconnecting'), 'pong timeout', 2000);
  const change = s.events.filter((e) => e.type === 'EVENT_STATE_CHANGE').find((e) => e.data.to === 'reconnecting')!;
  assert.is(change.data.error?.code, 'ERR_PONG_TIMEOUT');
  await s.sup.shutdown();
  await server.close();
});

test('machine: pings answered keep the link up', async () => {
  const server = await startWsServer();
  const s = supervise(server.url, { pingIntervalMs: 20, pongTimeoutMs: 40 });
  await until(() => s.state() === 'connected', 'connected');
  await new Promise((r) => setTimeout(r, 300));
  assert.is(s.state(), 'connected');
  assert.not.ok(s.events.some((e) => e.type === 'EVENT_RECONNECT_START'));
  await s.sup.shutdown();
  await server.close();
});

test('machine: 401 is not retried forever: failed after 2 identical rejections, with the reason', async () => {
  const server = await rejectingServer(401);
  const sup = createSupervisor();
  const events: ConnectionLogEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  const sent = sup.startChild({ id: 'ws', transport: webSocketTransport({ url: server.url }), restart: 'temporary', policy: fast });
  const queued = sup.send('ws', 'never sent').then(() => undefined, (e: unknown) => e);
  await until(() => events.some((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'failed'), 'failed');
  assert.is(server.upgrades(), 2);
  const change = events.filter((e) => e.type === 'EVENT_STATE_CHANGE').find((e) => e.data.to === 'failed')!;
  assert.match(String(change.data.error?.message), /HTTP 401/);
  assert.instance(await queued, ConnectionFailedError, 'the queued message is rejected, not lost');
  void sent;
  await sup.shutdown();
  await server.close();
});

// Issue 10, item 9: a URL, headers or token refreshed before each reconnect.

test('url/headers functions: accepted as options, checked for their type; url is undefined until the first attempt', () => {
  const t = webSocketTransport({ url: () => 'ws://127.0.0.1:1', headers: () => ({}) });
  assert.is(t.url, undefined);
  assert.is(webSocketTransport({ url: new URL('ws://127.0.0.1:1/feed') }).url, 'ws://127.0.0.1:1/feed', 'a static url is there from the start');
  assert.throws(() => webSocketTransport({ url: 'ws://x', headers: 5 as never }), (e: Error) => e instanceof TypeError && /options\.headers/.test(e.message));
  assert.throws(() => webSocketTransport({ url: 42 as never }), (e: Error) => e instanceof TypeError && /options\.url/.test(e.message));
});

test('url function: a result that is not a ws:// URL rejects the attempt with a TypeError naming options.url()', async () => {
  for (const bad of ['http://127.0.0.1:1', 'nope', 7]) {
    const err = await webSocketTransport({ url: () => bad as string }).connect({ signal: never() }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, TypeError);
    assert.match((err as Error).message, /^options\.url\(\) must return a ws:\/\/ or wss:\/\/ URL, got /);
  }
});

test('headers function: a result that is not an object of strings rejects with a TypeError naming options.headers(), without the values', async () => {
  const url = `ws://127.0.0.1:${await freePort()}`;
  const err = await webSocketTransport({ url, headers: () => ({ Authorization: 12345 }) as never }).connect({ signal: never() }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, TypeError);
  assert.match((err as Error).message, /options\.headers\(\) must return an object of string values, got number at "Authorization"/);
  assert.not.match((err as Error).message, /12345/);
});

test('url/headers functions: called once per attempt, with the attempt signal; sync and async results', async () => {
  const server = await startWsServer();
  const auth: Array<string | undefined> = [];
  server.wss.on('connection', (_ws, req) => auth.push(req.headers.authorization));
  const signals: AbortSignal[] = [];
  let n = 0;
  const t = webSocketTransport({
    url: ({ signal }) => (signals.push(signal), server.url),
    headers: async () => ({ Authorization: `Bearer t${++n}` }),
  });
  const ac = new AbortController();
  const first = await t.connect({ signal: ac.signal });
  const second = await t.connect({ signal: never() });
  assert.equal(auth, ['Bearer t1', 'Bearer t2']);
  assert.is(signals.length, 2);
  assert.is(signals[0], ac.signal);
  assert.is(t.url, `${server.url}/`);
  await first.close();
  await second.close();
  await server.close();
});

test('url function: a throw fails that attempt with a ConnectionError whose cause is what it threw; the next attempt calls it again', async () => {
  const server = await startWsServer();
  const boom = new Error('discovery unavailable');
  let calls = 0;
  const t = webSocketTransport({ url: () => (calls++ === 0 ? Promise.reject(boom) : server.url) });
  const err = (await t.connect({ signal: never() }).then(() => undefined, (e: unknown) => e)) as ConnectionError;
  assert.instance(err, ConnectionError);
  assert.is(err.cause, boom);
  assert.is(err.code, 'ERR_CONNECTION');
  assert.match(err.message, /options\.url\(\) failed: discovery unavailable/);
  const link = await t.connect({ signal: never() });
  assert.is(calls, 2);
  await link.close();
  await server.close();
});

test('url/headers functions: an abort while one is pending rejects with a canceled LinkClosedError and opens no socket', async () => {
  const server = await startWsServer();
  let connections = 0;
  server.wss.on('connection', () => connections++);
  let release!: (url: string) => void;
  let seen: AbortSignal | undefined;
  const t = webSocketTransport({
    url: ({ signal }) => {
      seen = signal;
      return new Promise<string>((r) => (release = r));
    },
  });
  const ac = new AbortController();
  const pending = t.connect({ signal: ac.signal }).then(() => undefined, (e: unknown) => e);
  await until(() => seen !== undefined, 'the url function called');
  ac.abort();
  const err = await pending;
  assert.instance(err, LinkClosedError);
  assert.is((err as LinkClosedError).canceled, true);
  assert.is(seen!.aborted, true, 'the function saw the abort');
  release(server.url); // a late answer is ignored
  await sleep(50);
  assert.is(t.url, undefined, 'no attempt was made with the late URL');
  assert.is(connections, 0);
  await server.close();

  // The same for a headers function, and for a function that throws after the abort.
  const ac2 = new AbortController();
  const t2 = webSocketTransport({ url: server.url, headers: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('late')))) });
  const p2 = t2.connect({ signal: ac2.signal }).then(() => undefined, (e: unknown) => e);
  ac2.abort();
  assert.is(((await p2) as LinkClosedError).canceled, true);
});

test('machine: a token refreshed before each attempt: the first is answered 401, the retry with the new token connects', async () => {
  const auth: Array<string | undefined> = [];
  const server = await startWsServer({
    verifyClient: (info, done) => {
      auth.push(info.req.headers.authorization);
      done(info.req.headers.authorization === 'Bearer fresh-2', 401, 'Unauthorized');
    },
  });
  let n = 0;
  const s = supervise(server.url, { headers: async () => ({ Authorization: `Bearer fresh-${++n}` }) });
  await until(() => s.state() === 'connected', 'connected');
  assert.equal(auth, ['Bearer fresh-1', 'Bearer fresh-2']);
  const failed = s.events.find((e) => e.type === 'EVENT_RECONNECT_FAILED');
  assert.match((failed?.data.error as { message: string }).message, /HTTP 401/);
  assert.ok(s.events.some((e) => e.type === 'EVENT_RECONNECT_OK'));
  await s.sup.shutdown();
  await server.close();
});

test('machine: a url function that gives another port on the second call: refused, then connected there', async () => {
  const server = await startWsServer();
  const dead = `ws://127.0.0.1:${await freePort()}`;
  let calls = 0;
  const transport = webSocketTransport({ url: () => (calls++ === 0 ? dead : new URL(server.url)) });
  const sup = createSupervisor();
  const events: ConnectionLogEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  sup.startChild({ id: 'ws', transport, restart: 'temporary', policy: fast });
  await until(() => sup.whichChildren()[0]?.state === 'connected', 'connected');
  assert.is(calls, 2);
  assert.is(transport.url, `${server.url}/`, 'transport.url is the URL of the latest attempt');
  const failed = events.find((e) => e.type === 'EVENT_RECONNECT_FAILED');
  assert.is((failed?.data.error as { code: string }).code, 'ERR_CONNECTION_REFUSED');
  await sup.shutdown();
  await server.close();
});

test('machine: a headers function that throws once fails that attempt only; the retry connects', async () => {
  const server = await startWsServer();
  let calls = 0;
  const s = supervise(server.url, {
    headers: () => {
      if (calls++ === 0) throw new Error('token service down');
      return { Authorization: 'Bearer ok' };
    },
  });
  await until(() => s.state() === 'connected', 'connected');
  const failed = s.events.find((e) => e.type === 'EVENT_RECONNECT_FAILED');
  assert.equal(failed?.data.error, { name: 'ConnectionError', code: 'ERR_CONNECTION', message: 'options.headers() failed: token service down' });
  await s.sup.shutdown();
  await server.close();
});

test('machine: a server that speaks first (a welcome on connection): the frame reaches the supervisor and a bare machine (issue 11)', async () => {
  const server = await startWsServer();
  server.wss.on('connection', (ws) => {
    ws.send('welcome');
    ws.send('snapshot');
  });
  const sup = createSupervisor();
  const seen: unknown[] = [];
  sup.data$.subscribe((d) => seen.push(d.data));
  sup.startChild({ id: 'feed', transport: webSocketTransport({ url: server.url, pingIntervalMs: 0 }) });
  const bare = createActor(connectionMachine, { input: { id: 'bare', transport: webSocketTransport({ url: server.url, pingIntervalMs: 0 }), autoConnect: true } });
  const bareSeen: unknown[] = [];
  bare.on('DATA', (e) => bareSeen.push(e.data));
  bare.start();
  await until(() => seen.length >= 2 && bareSeen.length >= 2, 'both greetings at both');
  assert.equal(seen, ['welcome', 'snapshot']);
  assert.equal(bareSeen, ['welcome', 'snapshot']);
  bare.send({ type: 'DISCONNECT' });
  await until(() => bare.getSnapshot().matches({ disconnected: 'idle' }), 'bare closed');
  bare.stop();
  await sup.shutdown();
  await server.close();
});

test.run();
