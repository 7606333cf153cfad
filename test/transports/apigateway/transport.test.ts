/**
 * `apiGatewayTransport` through the real SDK client against the emulator
 * (and, for the answers the emulator never gives the SDK, 403 and 500, a
 * plain HTTP server speaking the same error format).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatedClock } from 'xstate';
import { ForbiddenException, GoneException, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { apiGatewayTransport } from '../../../transports/apigateway/apigateway.transport.js';
import { ApiGatewayError, apiGatewayError, ConnectionGoneError, isConnectionGone, PayloadTooLargeError, RateLimitedError } from '../../../transports/apigateway/errors.js';
import { createSupervisor, silentLogger } from '../../../actors/index.js';
import { LinkClosedError } from '../../../machines/ports/errors.js';
import { sleep, until } from '../../helpers/net.js';
import { credentials, rejection, startRig, type Rig } from './helpers.js';

const test = suite('apigateway transport');
let rig: Rig | undefined;
const cleanup: Array<() => unknown> = [];
test.after.each(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  await rig?.close();
  rig = undefined;
});

const signal = () => new AbortController().signal;

/** The SDK client, with every call's command and HTTP status logged (`PostToConnection:429`). */
function logged(sdk: ApiGatewayManagementApiClient) {
  const log: string[] = [];
  const client = {
    async send(command: { constructor: { name: string } }, options?: unknown) {
      const name = command.constructor.name.replace(/Command$/, '');
      try {
        const out = await (sdk.send as (c: unknown, o?: unknown) => Promise<{ $metadata: { httpStatusCode?: number } }>)(command, options);
        log.push(`${name}:${out.$metadata.httpStatusCode}`);
        return out;
      } catch (e) {
        log.push(`${name}:${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? (e as Error).name}`);
        throw e;
      }
    },
  } as unknown as ApiGatewayManagementApiClient;
  return { client, log };
}

/** A plain HTTP server answering GET 200 and POST with `status` in API Gateway's error format. */
async function fakeApi(answer: { get: number; post: number; type: string }): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    const status = req.method === 'GET' ? answer.get : answer.post;
    if (status === 200) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ connectedAt: new Date().toISOString(), identity: { sourceIp: '127.0.0.1', userAgent: 'x' }, lastActiveAt: new Date().toISOString() }));
    }
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': answer.type });
    res.end(JSON.stringify({ message: `${answer.type} from the fake` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

test('transport: connect checks the connection (GetConnection); sends are PostToConnection, strings and bytes, in call order', async () => {
  rig = await startRig();
  const c = await rig.connect();
  const { client, log } = logged(rig.sdk);
  const transport = apiGatewayTransport({ connectionId: c.connectionId, client });
  assert.is(transport.kind, 'apigateway');
  const link = await transport.connect({ signal: signal() });
  cleanup.push(() => link.close());
  assert.is(link.connectionId, c.connectionId);
  await Promise.all([link.send('one'), link.send(new TextEncoder().encode('two')), link.send('three')]);
  await until(() => c.messages.length === 3, 'three messages');
  assert.equal(c.messages.map((m) => m.data.toString()), ['one', 'two', 'three']);
  assert.equal(log, ['GetConnection:200', 'PostToConnection:200', 'PostToConnection:200', 'PostToConnection:200']);
});

test('transport: a message over 128 KB is refused before any request (PayloadTooLargeError); the link stays up', async () => {
  rig = await startRig();
  const c = await rig.connect();
  const { client, log } = logged(rig.sdk);
  const link = await apiGatewayTransport({ connectionId: c.connectionId, client }).connect({ signal: signal() });
  cleanup.push(() => link.close());
  const err = await rejection(link.send('é'.repeat(64 * 1024 + 1))); // 131,074 bytes in 65,537 characters
  assert.instance(err, PayloadTooLargeError);
  assert.equal([(err as PayloadTooLargeError).bytes, (err as PayloadTooLargeError).limit, (err as PayloadTooLargeError).code], [131_074, 131_072, 'ERR_APIGW_PAYLOAD_TOO_LARGE']);
  assert.equal(log, ['GetConnection:200'], 'no request for it');
  await link.send(new Uint8Array(128 * 1024));
  await until(() => c.messages.length === 1, 'a 128 KB message');
  assert.is(c.messages[0]!.data.length, 128 * 1024);
});

test('transport: connecting to a gone connection rejects with ConnectionGoneError: permanent, 410, the SDK GoneException as cause', async () => {
  rig = await startRig();
  const err = await rejection(apiGatewayTransport({ connectionId: 'neverConnected1=', client: rig.sdk }).connect({ signal: signal() }));
  assert.instance(err, ConnectionGoneError);
  const gone = err as ConnectionGoneError;
  assert.equal([gone.code, gone.status, gone.permanent, gone.apiConnectionId, gone.kind], ['ERR_APIGW_GONE', 410, true, 'neverConnected1=', 'apigateway']);
  assert.instance(gone.cause, GoneException);
  assert.ok(isConnectionGone(gone) && isConnectionGone(gone.cause));
});

test('transport: a 410 on send ends the link as a remote close (closed: not local, 410, ConnectionGoneError); queued and later sends reject the same way', async () => {
  rig = await startRig();
  const c = await rig.connect();
  const link = await apiGatewayTransport({ connectionId: c.connectionId, client: rig.sdk }).connect({ signal: signal() });
  let completed = false;
  link.incoming$.subscribe({ complete: () => (completed = true) });
  c.ws.close();
  await until(() => rig!.emulator.connections().length === 0, 'the client gone');
  const sends = ['a', 'b', 'c'].map((m) => rejection(link.send(m)));
  for (const err of await Promise.all(sends)) assert.instance(err, ConnectionGoneError);
  const info = await link.closed;
  assert.is(info.initiatedLocally, false);
  assert.is(info.code, 410);
  assert.instance(info.error, ConnectionGoneError);
  assert.ok(completed, 'incoming$ completed');
  assert.instance(await rejection(link.send('late')), ConnectionGoneError);
  await link.close(); // idempotent after a remote end, never rejects
});

test('transport: 429 is retried with backoff on the clock, then delivered in order', async () => {
  const clock = new SimulatedClock();
  rig = await startRig({ clock, rateLimit: { rps: 1, burst: 2 } });
  const c = await rig.connect();
  const { client, log } = logged(rig.sdk);
  const link = await apiGatewayTransport({ connectionId: c.connectionId, client, clock, random: () => 0.5 }).connect({ signal: signal() });
  cleanup.push(() => link.close());
  await link.send('first'); // the bucket's second token
  let settled = false;
  const rest = Promise.all([link.send('second'), link.send('third')]).finally(() => (settled = true));
  await until(() => log.includes('PostToConnection:429'), 'a 429');
  while (!settled) {
    clock.increment(1000); // past the retry delay, and one token back
    await sleep(5);
  }
  await rest;
  await until(() => c.messages.length === 3, 'three messages');
  assert.equal(c.messages.map((m) => m.data.toString()), ['first', 'second', 'third']);
  clock.increment(1000); // a token for DeleteConnection: close() runs on this clock too
  await link.close();
  assert.is((await link.closed).code, 204);
});

test('transport: 429 through every try rejects RateLimitedError (attempts); the link stays up', async () => {
  const clock = new SimulatedClock();
  rig = await startRig({ clock, rateLimit: { rps: 0.01, burst: 2 } });
  const c = await rig.connect();
  const { client, log } = logged(rig.sdk);
  const link = await apiGatewayTransport({ connectionId: c.connectionId, client, clock, retry: { attempts: 3, initialDelayMs: 100 } }).connect({ signal: signal() });
  cleanup.push(() => link.close());
  await link.send('ok');
  let outcome: unknown;
  void link.send('throttled').then(() => (outcome = 'sent'), (e: unknown) => (outcome = e));
  while (outcome === undefined) {
    clock.increment(100);
    await sleep(5);
  }
  assert.instance(outcome, RateLimitedError);
  assert.equal([(outcome as RateLimitedError).attempts, (outcome as RateLimitedError).code, (outcome as RateLimitedError).status], [3, 'ERR_APIGW_LIMIT_EXCEEDED', 429]);
  assert.equal(log.filter((l) => l === 'PostToConnection:429').length, 3);
  clock.increment(100_000); // a token back (and under the 10-minute idle timeout)
  await link.send('later');
  await until(() => c.messages.length === 2, 'two messages');
  clock.increment(100_000);
  await link.close();
  assert.is((await link.closed).code, 204);
});

test('transport: close() cancels a send waiting to retry; a throttled DeleteConnection is retried and given up after closeTimeoutMs', async () => {
  const clock = new SimulatedClock();
  rig = await startRig({ clock, rateLimit: { rps: 0.01, burst: 2 } });
  const c = await rig.connect();
  const { client, log } = logged(rig.sdk);
  const link = await apiGatewayTransport({ connectionId: c.connectionId, client, clock }).connect({ signal: signal() });
  await link.send('ok');
  const waiting = rejection(link.send('throttled'));
  await until(() => log.includes('PostToConnection:429'), 'a 429');
  const closing = link.close();
  const err = await waiting;
  assert.instance(err, LinkClosedError);
  assert.is((err as LinkClosedError).canceled, true);
  await until(() => log.includes('DeleteConnection:429'), 'DeleteConnection throttled');
  clock.increment(2000);
  await closing;
  const info = await link.closed;
  assert.is(info.initiatedLocally, true);
  assert.match(String(info.error), /DeleteConnection took over 2000 ms/);
  assert.is(rig.emulator.connections().length, 1, 'the client is still connected');
});

test('transport: close() is DeleteConnection: the client is disconnected, closed is local; deleteOnClose: false keeps the client; a gone one closes fine', async () => {
  rig = await startRig();
  const a = await rig.connect();
  const link = await apiGatewayTransport({ connectionId: a.connectionId, client: rig.sdk }).connect({ signal: signal() });
  const closing = link.close();
  assert.is(link.close(), closing);
  await closing;
  assert.equal(await link.closed, { initiatedLocally: true, code: 204, reason: 'DeleteConnection' });
  assert.is((await a.closed).code, 1000);
  assert.instance(await rejection(link.send('x')), LinkClosedError);

  const b = await rig.connect();
  const kept = await apiGatewayTransport({ connectionId: b.connectionId, client: rig.sdk, deleteOnClose: false }).connect({ signal: signal() });
  await kept.close();
  assert.is((await kept.closed).initiatedLocally, true);
  assert.equal(rig.emulator.connections().map((x) => x.connectionId), [b.connectionId], 'still connected');

  const link2 = await apiGatewayTransport({ connectionId: b.connectionId, client: rig.sdk }).connect({ signal: signal() });
  b.ws.close();
  await until(() => rig!.emulator.connections().length === 0, 'b gone');
  await link2.close();
  assert.equal(await link2.closed, { initiatedLocally: true, code: 410, reason: 'DeleteConnection: already gone' });
});

test('transport: 403 ends the link with a permanent ERR_APIGW_FORBIDDEN, a 500 as lost with ERR_APIGW_REQUEST; connect answers 403 and 429 in one try', async () => {
  const answer = { get: 200, post: 403, type: 'ForbiddenException' };
  const api = await fakeApi(answer);
  cleanup.push(() => api.close());
  const transport = apiGatewayTransport({ connectionId: 'abc=', endpoint: api.endpoint, credentials, region: 'eu-west-1' });
  cleanup.push(() => transport.client.destroy());
  const link = await transport.connect({ signal: signal() });
  const err = await rejection(link.send('x'));
  assert.instance(err, ApiGatewayError);
  assert.equal([(err as ApiGatewayError).code, (err as ApiGatewayError).permanent, (err as ApiGatewayError).status], ['ERR_APIGW_FORBIDDEN', true, 403]);
  assert.instance((err as ApiGatewayError).cause, ForbiddenException);
  const info = await link.closed;
  assert.equal([info.initiatedLocally, info.error], [false, err]);

  answer.post = 500;
  answer.type = 'InternalServerErrorException';
  const link2 = await transport.connect({ signal: signal() });
  const err2 = await rejection(link2.send('x'));
  assert.equal([(err2 as ApiGatewayError).code, (err2 as ApiGatewayError).permanent, (err2 as ApiGatewayError).status], ['ERR_APIGW_REQUEST', false, 500]);
  assert.is((await link2.closed).initiatedLocally, false);

  answer.get = 403;
  answer.type = 'ForbiddenException';
  const refused = await rejection(transport.connect({ signal: signal() }));
  assert.equal([(refused as ApiGatewayError).code, (refused as ApiGatewayError).permanent], ['ERR_APIGW_FORBIDDEN', true]);
  answer.get = 429;
  answer.type = 'LimitExceededException';
  const throttled = await rejection(transport.connect({ signal: signal() }));
  assert.instance(throttled, RateLimitedError);
  assert.is((throttled as RateLimitedError).attempts, 1);
});

test('transport: apiGatewayError translates SDK shapes once; an ApiGatewayError passes through', () => {
  const meta = (status: number, name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  assert.instance(apiGatewayError(meta(410, 'GoneException'), 'a'), ConnectionGoneError);
  const big = apiGatewayError(meta(413, 'PayloadTooLargeException'), 'a', { bytes: 200_000 });
  assert.instance(big, PayloadTooLargeError);
  assert.is((big as PayloadTooLargeError).bytes, 200_000);
  assert.match(apiGatewayError(meta(413, 'PayloadTooLargeException'), 'a').message, /a message is over/);
  assert.is((apiGatewayError(meta(429, 'LimitExceededException'), 'a', { attempts: 4 }) as RateLimitedError).attempts, 4);
  assert.is(apiGatewayError(meta(403, 'ForbiddenException'), 'a').code, 'ERR_APIGW_FORBIDDEN');
  const net = apiGatewayError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'a');
  assert.equal([net.code, net.errno, net.status], ['ERR_APIGW_REQUEST', 'ECONNREFUSED', undefined]);
  const same = new ConnectionGoneError('a');
  assert.is(apiGatewayError(same, 'a'), same);
});

test('transport: bad options are TypeErrors/RangeErrors naming the option; a bad payload rejects', async () => {
  rig = await startRig();
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ connectionId: '', client: rig.sdk }, /options\.connectionId/],
    [{ connectionId: 'a' }, /options\.client or options\.endpoint/],
    [{ connectionId: 'a', client: rig.sdk, endpoint: 'http://x' }, /options\.endpoint/],
    [{ connectionId: 'a', client: rig.sdk, region: 'eu-west-1' }, /options\.region/],
    [{ connectionId: 'a', endpoint: 'ftp://x' }, /options\.endpoint/],
    [{ connectionId: 'a', endpoint: 'not a url' }, /options\.endpoint/],
    [{ connectionId: 'a', client: {} }, /options\.client/],
    [{ connectionId: 'a', client: rig.sdk, retry: { attempts: 0 } }, /options\.retry\.attempts/],
    [{ connectionId: 'a', client: rig.sdk, checkIntervalMs: -1 }, /options\.checkIntervalMs/],
    [{ connectionId: 'a', client: rig.sdk, deleteOnClose: 'yes' }, /options\.deleteOnClose/],
  ];
  for (const [options, message] of bad) {
    const err = await rejection(Promise.resolve().then(() => apiGatewayTransport(options as never)));
    assert.ok(err instanceof TypeError || err instanceof RangeError, String(err));
    assert.match((err as Error).message, message);
  }
  const c = await rig.connect();
  const link = await apiGatewayTransport({ connectionId: c.connectionId, client: rig.sdk }).connect({ signal: signal() });
  cleanup.push(() => link.close());
  assert.instance(await rejection(link.send(42 as never)), TypeError);
});

test('transport: under a supervisor, a client that left ends its child failed (permanent), not restarted, siblings untouched', async () => {
  rig = await startRig();
  const a = await rig.connect();
  const b = await rig.connect();
  const sup = createSupervisor({ logger: silentLogger });
  cleanup.push(() => sup.shutdown());
  const policy = { initialBackoffMs: 10, maxBackoffMs: 20 };
  sup.startChild({ id: 'a', transport: apiGatewayTransport({ connectionId: a.connectionId, client: rig.sdk }), policy });
  sup.startChild({ id: 'b', transport: apiGatewayTransport({ connectionId: b.connectionId, client: rig.sdk }), policy });
  await until(() => sup.whichChildren().every((ch) => ch.state === 'connected'), 'both connected');
  await sup.send('a', 'hello a');
  await until(() => a.messages.length === 1, 'a got it');
  a.ws.close();
  await until(() => rig!.emulator.connections().length === 1, 'a gone');
  assert.instance(await rejection(sup.send('a', 'to nobody')), ConnectionGoneError);
  await until(() => sup.whichChildren().find((ch) => ch.id === 'a')?.state === 'failed', 'a failed');
  assert.instance(sup.connection('a').lastError, ConnectionGoneError);
  assert.equal(sup.whichChildren().map((ch) => [ch.id, ch.state, ch.restarts]), [['a', 'failed', 0], ['b', 'connected', 0]]);
  assert.is(sup.report, undefined);
  await sup.send('b', 'hello b');
  await until(() => b.messages.length === 1, 'b got it');
});

test.run();
