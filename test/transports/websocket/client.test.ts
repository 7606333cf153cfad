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
import { ConnectTimeoutError, ConnectionError, ConnectionFailedError } from '../../../machines/ports/errors.js';
import { WebSocketHandshakeError } from '../../../transports/websocket/errors.js';
import type { ConnectionLogEvent } from '../../../machines/events.js';
import { webSocketTransport } from '../../../transports/websocket/websocket.transport.js';
import { closeWss, freePort, startSilentServer, startWsServer, until } from '../../helpers/net.js';

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

test.run();
