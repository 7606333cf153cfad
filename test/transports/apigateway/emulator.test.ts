/**
 * The API Gateway emulator, through the real AWS SDK client and real `ws`
 * clients (and raw sockets where the frames themselves are the point).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as tcpConnect, type Socket } from 'node:net';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { SimulatedClock } from 'xstate';
import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket } from 'ws';
import { createApiGatewayEmulator, type EmulatorDisconnect, type EmulatorMessage } from '../../../transports/apigateway/emulator.js';
import { ListenError } from '../../../machines/ports/errors.js';
import { until } from '../../helpers/net.js';
import { rejection, startRig, type Rig } from './helpers.js';

const test = suite('apigateway emulator');
let rig: Rig | undefined;
test.after.each(async () => {
  await rig?.close();
  rig = undefined;
});

const post = (r: Rig, id: string, data: string | Uint8Array) => r.sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: typeof data === 'string' ? Buffer.from(data) : data }));

/** A raw WebSocket handshake on `port`, then every frame header the server sends: { fin, opcode, length }. */
async function rawClient(port: number) {
  const socket: Socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  const frames: Array<{ fin: boolean; opcode: number; length: number }> = [];
  let buf = Buffer.alloc(0);
  let upgraded = false;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      upgraded = true;
      buf = buf.subarray(end + 4);
    }
    for (;;) {
      if (buf.length < 2) return;
      let length = buf[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buf.length < 10) return;
        length = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + length) return;
      frames.push({ fin: (buf[0]! & 0x80) !== 0, opcode: buf[0]! & 0x0f, length });
      buf = buf.subarray(at + length);
    }
  });
  await new Promise<void>((r) => socket.once('connect', r));
  socket.write(
    ['GET /prod HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'),
  );
  return { socket, frames, upgraded: () => upgraded };
}

/** One raw HTTP exchange: what the server wrote back before it closed or `ms` passed. */
function rawHttp(port: number, text: string | Buffer, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d) => {
      got += d.toString();
      if (/\r\n\r\n/.test(got)) setTimeout(done, 20);
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(text);
  });
}

test('emulator: url and endpoint on loopback; POST delivers text to the client, non-UTF-8 bytes as binary', async () => {
  rig = await startRig();
  assert.match(rig.emulator.url, /^ws:\/\/127\.0\.0\.1:\d+\/prod$/);
  assert.match(rig.emulator.endpoint, /^http:\/\/127\.0\.0\.1:\d+\/prod$/);
  const c = await rig.connect();
  assert.match(c.connectionId, /^[A-Za-z0-9]{15}=$/);
  const out = await post(rig, c.connectionId, '{"hello":"world"}');
  assert.is(out.$metadata.httpStatusCode, 200);
  await post(rig, c.connectionId, new Uint8Array([0xff, 0xfe, 0x00]));
  await until(() => c.messages.length === 2, 'two messages');
  assert.equal(c.messages.map((m) => [m.data.toString('hex'), m.isBinary]), [
    [Buffer.from('{"hello":"world"}').toString('hex'), false],
    ['fffe00', true],
  ]);
});

test('emulator: a 40 KB message goes out as a 32 KB frame and a continuation; a ws client sees one message', async () => {
  rig = await startRig();
  const c = await rig.connect();
  const text = 'é'.repeat(20_000); // 40,000 bytes, a 2-byte character cut at the frame edge
  await post(rig, c.connectionId, text);
  await until(() => c.messages.length === 1, 'the message');
  assert.is(c.messages[0]!.data.toString('utf8'), text);
  assert.is(c.messages[0]!.isBinary, false);

  const raw = await rawClient(rig.emulator.port);
  await until(() => raw.upgraded() && rig!.emulator.connections().length === 2, 'the raw client connected');
  const rawId = rig.emulator.connections().find((x) => x.connectionId !== c.connectionId)!.connectionId;
  await post(rig, rawId, text);
  await until(() => raw.frames.length === 2, 'two frames');
  assert.equal(raw.frames, [
    { fin: false, opcode: 1, length: 32 * 1024 },
    { fin: true, opcode: 0, length: 40_000 - 32 * 1024 },
  ]);
  raw.socket.destroy();
});

test('emulator: exactly 128 KB is delivered (4 frames, one message); one byte more is 413 PayloadTooLargeException', async () => {
  rig = await startRig();
  const c = await rig.connect();
  const max = new Uint8Array(128 * 1024).fill(0x61);
  await post(rig, c.connectionId, max);
  await until(() => c.messages.length === 1, 'the message');
  assert.is(c.messages[0]!.data.length, 128 * 1024);
  const err = await rejection(post(rig, c.connectionId, new Uint8Array(128 * 1024 + 1)));
  assert.instance(err, PayloadTooLargeException);
  assert.is((err as PayloadTooLargeException).$metadata.httpStatusCode, 413);
  // The connection and the HTTP connection are both still fine.
  await post(rig, c.connectionId, 'after');
  await until(() => c.messages.length === 2, 'the next message');
});

test('emulator: 410 GoneException for an unknown id and for a client that disconnected (POST, GET, DELETE)', async () => {
  rig = await startRig();
  for (const cmd of [new PostToConnectionCommand({ ConnectionId: 'nobodyHere12345=', Data: Buffer.from('x') }), new GetConnectionCommand({ ConnectionId: 'nobodyHere12345=' }), new DeleteConnectionCommand({ ConnectionId: 'nobodyHere12345=' })]) {
    const err = await rejection(rig.sdk.send(cmd as PostToConnectionCommand));
    assert.instance(err, GoneException);
    assert.is((err as GoneException).$metadata.httpStatusCode, 410);
  }
  const c = await rig.connect();
  const gone = new Promise<EmulatorDisconnect>((r) => rig!.emulator.on('disconnect', r));
  c.ws.close(1000, 'bye');
  assert.equal(await gone, { connectionId: c.connectionId, statusCode: 1000, reason: 'bye', cause: 'client' });
  assert.instance(await rejection(post(rig, c.connectionId, 'late')), GoneException);
  assert.equal(rig.emulator.connections(), []);
});

test('emulator: GET answers ConnectedAt, Identity { SourceIp, UserAgent } and LastActiveAt (the last message from the client)', async () => {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2025, 0, 1));
  rig = await startRig({ clock });
  const c = await rig.connect({ headers: { 'user-agent': 'test-agent/1.0' } });
  clock.increment(60_000);
  const seen = new Promise<EmulatorMessage>((r) => rig!.emulator.on('message', r));
  c.ws.send('hi');
  await seen;
  clock.increment(5_000);
  await post(rig, c.connectionId, 'a push does not count as activity');
  const info = await rig.sdk.send(new GetConnectionCommand({ ConnectionId: c.connectionId }));
  assert.equal(info.ConnectedAt, new Date(Date.UTC(2025, 0, 1)));
  assert.equal(info.LastActiveAt, new Date(Date.UTC(2025, 0, 1) + 60_000));
  assert.equal(info.Identity, { SourceIp: '127.0.0.1', UserAgent: 'test-agent/1.0' });
  assert.equal(rig.emulator.connections(), [
    { connectionId: c.connectionId, connectedAt: Date.UTC(2025, 0, 1), lastActiveAt: Date.UTC(2025, 0, 1) + 60_000, sourceIp: '127.0.0.1', userAgent: 'test-agent/1.0' },
  ]);
});

test('emulator: DELETE answers 204 and closes the client (1000); $disconnect runs; a second DELETE is 410', async () => {
  const disconnected: EmulatorDisconnect[] = [];
  rig = await startRig({ onDisconnect: (e) => void disconnected.push(e) });
  const c = await rig.connect();
  const out = await rig.sdk.send(new DeleteConnectionCommand({ ConnectionId: c.connectionId }));
  assert.is(out.$metadata.httpStatusCode, 204);
  assert.is((await c.closed).code, 1000);
  await until(() => disconnected.length === 1, '$disconnect');
  assert.equal(disconnected, [{ connectionId: c.connectionId, statusCode: 1000, reason: '', cause: 'deleted' }]);
  assert.instance(await rejection(rig.sdk.send(new DeleteConnectionCommand({ ConnectionId: c.connectionId }))), GoneException);
});

test('emulator: the token bucket answers 429 LimitExceededException past the burst, and refills on the clock', async () => {
  const clock = new SimulatedClock();
  rig = await startRig({ clock, rateLimit: { rps: 2, burst: 3 } });
  const c = await rig.connect();
  const burst = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => post(rig!, c.connectionId, `m${i}`)));
  assert.is(burst.filter((r) => r.status === 'fulfilled').length, 3);
  const throttled = burst.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.is(throttled.length, 7);
  for (const r of throttled) {
    assert.instance(r.reason, LimitExceededException);
    assert.is((r.reason as LimitExceededException).$metadata.httpStatusCode, 429);
  }
  clock.increment(500); // one token back
  await post(rig, c.connectionId, 'one more');
  assert.instance(await rejection(rig.sdk.send(new GetConnectionCommand({ ConnectionId: c.connectionId }))), LimitExceededException);
});

test('emulator: idle timeout on the clock: 10 minutes without a message from the client closes it (1001 Going away); pushes do not count', async () => {
  const clock = new SimulatedClock();
  const ended: EmulatorDisconnect[] = [];
  rig = await startRig({ clock, onDisconnect: (e) => void ended.push(e) });
  const talker = await rig.connect();
  const silent = await rig.connect();
  clock.increment(5 * 60_000);
  await post(rig, silent.connectionId, 'a push');
  clock.increment(4 * 60_000);
  const seen = new Promise<EmulatorMessage>((r) => rig!.emulator.on('message', r));
  talker.ws.send('still here'); // at 9 min
  await seen;
  clock.increment(60_000); // 10 min: the silent one goes
  assert.equal(await silent.closed, { code: 1001, reason: 'Going away' });
  assert.equal(rig.emulator.connections().map((x) => x.connectionId), [talker.connectionId]);
  clock.increment(9 * 60_000 - 1); // 19 min - 1 ms: 10 min - 1 ms since its message
  assert.equal(rig.emulator.connections().map((x) => x.connectionId), [talker.connectionId]);
  clock.increment(1);
  assert.equal(await talker.closed, { code: 1001, reason: 'Going away' });
  await until(() => ended.length === 2, 'both $disconnect');
  assert.equal(ended.map((e) => e.cause), ['idle-timeout', 'idle-timeout']);
  assert.instance(await rejection(post(rig, talker.connectionId, 'late')), GoneException);
});

test('emulator: no connection outlives 2 hours, even a busy one (1001 Going away); both limits are configurable', async () => {
  const clock = new SimulatedClock();
  rig = await startRig({ clock });
  const c = await rig.connect();
  for (let minutes = 5; minutes < 120; minutes += 5) {
    clock.increment(5 * 60_000);
    const seen = new Promise<EmulatorMessage>((r) => rig!.emulator.on('message', r));
    c.ws.send('keepalive');
    await seen;
  }
  clock.increment(5 * 60_000 - 1);
  assert.is(rig.emulator.connections().length, 1, 'open at 2 h - 1 ms');
  const ended = new Promise<EmulatorDisconnect>((r) => rig!.emulator.on('disconnect', r));
  clock.increment(1);
  assert.equal(await c.closed, { code: 1001, reason: 'Going away' });
  assert.is((await ended).cause, 'max-duration');
  await rig.close();

  rig = await startRig({ clock, idleTimeoutMs: 1000, maxConnectionMs: 60_000 });
  const short = await rig.connect();
  clock.increment(1000);
  assert.is((await short.closed).code, 1001);
});

test('emulator: garbage is answered 4xx and the emulator keeps serving', async () => {
  const errors: unknown[] = [];
  rig = await startRig({ onError: (e) => void errors.push(e) });
  const { port } = rig.emulator;
  assert.match(await rawHttp(port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
  assert.match(await rawHttp(port, Buffer.from([0, 1, 2, 0xff, 13, 10, 13, 10])), /^HTTP\/1\.1 400/);
  const other = await fetch(`http://127.0.0.1:${port}/prod/somewhere`, { method: 'POST', body: 'x' });
  assert.is(other.status, 403);
  assert.is(other.headers.get('x-amzn-errortype'), 'ForbiddenException');
  assert.equal(await other.json(), { message: 'Forbidden' });
  assert.is((await fetch(`http://127.0.0.1:${port}/prod/@connections/abc`, { method: 'PUT', body: 'x' })).status, 403);
  assert.is((await fetch(`http://127.0.0.1:${port}/prod/@connections/`)).status, 403);
  const badId = await fetch(`http://127.0.0.1:${port}/prod/@connections/%ZZ`);
  assert.is(badId.status, 400);
  assert.is(badId.headers.get('x-amzn-errortype'), 'BadRequestException');
  // A body far over the limit: 413 and the HTTP connection closed, without reading it all.
  const huge = await new Promise<{ status?: number; type?: string | string[] }>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/prod/@connections/abc', method: 'POST', headers: { 'content-length': String(8 * 1024 * 1024) } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode, type: res.headers['x-amzn-errortype'] });
    });
    req.on('error', () => resolve({}));
    req.write(Buffer.alloc(4 * 1024 * 1024));
  });
  assert.equal(huge, { status: 413, type: 'PayloadTooLargeException' });
  assert.match(await rawHttp(port, 'GET /prod HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n'), /^HTTP\/1\.1 400/);
  assert.is((await fetch(`http://127.0.0.1:${port}/prod/@connections/a/b`, { method: 'POST' })).status, 403);
  const c = await rig.connect();
  await post(rig, c.connectionId, 'still serving');
  await until(() => c.messages.length === 1, 'the message');
  assert.equal(errors, []);
});

test('emulator: $connect may refuse (false, a throw, a rejection: HTTP 403) and sees the path, query and headers; $default gets every message', async () => {
  const errors: unknown[] = [];
  const messages: EmulatorMessage[] = [];
  const records = new Map<string, string>();
  rig = await startRig({
    onConnect: async (req) => {
      if (req.query.token === 'throw') throw new Error('hook failed');
      if (req.query.token !== 'ok') return false;
      await new Promise((r) => setTimeout(r, 5));
      records.set(req.connectionId, `${req.path} ${String(req.headers['x-tenant'])}`);
    },
    onMessage: (m) => {
      messages.push(m);
      if (m.data === 'boom') throw new Error('handler failed');
    },
    onError: (e) => void errors.push(e),
  });
  const refusedWith = (path: string) =>
    new Promise<number | undefined>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${rig!.emulator.port}${path}`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode);
        ws.terminate();
      });
      ws.on('error', () => resolve(undefined));
      ws.on('open', () => resolve(101));
    });
  assert.is(await refusedWith('/prod?token=no'), 403);
  assert.is(await refusedWith('/prod?token=throw'), 403);
  assert.is((errors[0] as Error).message, 'hook failed');
  const c = await rig.connect({ path: '/dev?token=ok', headers: { 'x-tenant': 'acme' } });
  assert.is(records.get(c.connectionId), '/dev acme', 'the record is stored before the client is open');
  c.ws.send('boom');
  c.ws.send(Buffer.from([1, 2, 3]));
  await until(() => messages.length === 2, 'two messages');
  assert.equal(messages, [
    { connectionId: c.connectionId, data: 'boom', isBinary: false },
    { connectionId: c.connectionId, data: new Uint8Array([1, 2, 3]), isBinary: true },
  ]);
  assert.is((errors[1] as Error).message, 'handler failed');
  assert.is(rig.emulator.connections().length, 1, 'a failing handler does not end the connection');
});

test('emulator: a client message over 128 KB closes the client (1009)', async () => {
  rig = await startRig();
  const c = await rig.connect();
  c.ws.send(Buffer.alloc(128 * 1024 + 1));
  assert.is((await c.closed).code, 1009);
  await until(() => rig!.emulator.connections().length === 0, 'the connection gone');
});

test('emulator: close() says Going away to every client, releases the port, and is idempotent', async () => {
  rig = await startRig();
  const a = await rig.connect();
  const b = await rig.connect();
  const closing = rig.emulator.close();
  assert.is(rig.emulator.close(), closing);
  await closing;
  assert.equal(await a.closed, { code: 1001, reason: 'Going away' });
  assert.equal(await b.closed, { code: 1001, reason: 'Going away' });
  const refused = await fetch(`${rig.emulator.endpoint}/@connections/x`).then(() => 'answered', () => 'refused');
  assert.is(refused, 'refused');
});

test('emulator: bad options are TypeErrors/RangeErrors naming the option; a port in use is a ListenError', async () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ port: -1 }, /options\.port/],
    [{ port: 1.5 }, /options\.port/],
    [{ host: '' }, /options\.host/],
    [{ stage: 'a/b' }, /options\.stage/],
    [{ idleTimeoutMs: 0 }, /options\.idleTimeoutMs/],
    [{ maxConnectionMs: NaN }, /options\.maxConnectionMs/],
    [{ rateLimit: { rps: 0, burst: 1 } }, /options\.rateLimit\.rps/],
    [{ rateLimit: { rps: 1, burst: 0 } }, /options\.rateLimit\.burst/],
    [{ maxPayload: 0 }, /options\.maxPayload/],
    [{ onConnect: 'yes' }, /options\.onConnect/],
    [{ clock: {} }, /options\.clock/],
  ];
  for (const [options, message] of bad) {
    const err = await rejection(createApiGatewayEmulator(options as never));
    assert.ok(err instanceof TypeError || err instanceof RangeError, String(err));
    assert.match((err as Error).message, message);
  }
  rig = await startRig();
  const err = await rejection(createApiGatewayEmulator({ port: rig.emulator.port }));
  assert.instance(err, ListenError);
  assert.is((err as ListenError).errno, 'EADDRINUSE');
  assert.throws(() => rig!.emulator.on('nope' as never, () => {}), TypeError);
});

test.run();
