/**
 * EdgeClient and EdgeAgentServer over real UNIX sockets in a temp dir:
 * pipelining, validation, acks matched by id, nacks, timeouts, framing,
 * backpressure, reconnect without duplicates.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection, type Socket } from 'node:net';
import { SocketCommunicationError, SocketNotConnectedError } from '../../../transports/unix/errors.js';
import { EdgeAgentServer, EdgeClient, Severity, withEdgeClient, type EdgeConfig, type EdgeEvent } from '../../../transports/unix/index.js';
import { sleep, until } from '../../helpers/net.js';
import { rawUnixServer, tempDir } from '../../helpers/unix.js';

const test = suite('edge');

async function startAgent(options: { maxFrameBytes?: number } = {}) {
  const tmp = tempDir();
  const path = tmp.path('edge.sock');
  const agent = new EdgeAgentServer({ path, ...options });
  const events: EdgeEvent[] = [];
  agent.events$.subscribe((e) => events.push(e));
  await agent.listen();
  return {
    tmp,
    path,
    agent,
    events,
    async close() {
      await agent.close();
      tmp.remove();
    },
  };
}

/** A raw client: writes lines, collects reply lines. */
async function rawClient(path: string) {
  const s: Socket = createConnection({ path });
  await new Promise((r) => s.once('connect', r));
  const replies: Array<Record<string, unknown>> = [];
  let buf = '';
  let closed = false;
  s.on('data', (d) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts) replies.push(JSON.parse(p));
  });
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  return { s, replies, isClosed: () => closed, write: (text: string) => s.write(text) };
}

/** An EdgeClient connected to a raw UNIX server: the test plays the agent by hand. */
async function clientOnRawPeer(config: Omit<EdgeConfig, 'path'> = {}) {
  const tmp = tempDir();
  const path = tmp.path('raw.sock');
  const raw = await rawUnixServer(path);
  const conn = await EdgeClient.open({ path: path, ...config });
  const peer = await raw.next();
  let text = '';
  peer.on('data', (d) => (text += d.toString()));
  return {
    path,
    conn,
    peer,
    /** Everything the client wrote so far. */
    written: () => text,
    async close() {
      await conn.close();
      await raw.close();
      tmp.remove();
    },
  };
}

const frame = (id: number, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ id, event_type: 'LoginFailed', severity: 'high', details: { user: 'root' }, timestamp: new Date().toISOString(), ...extra })}\n`;

test('10,000 pipelined events: every one acked, received once, in order of ids', async () => {
  const a = await startAgent();
  await using conn = await EdgeClient.open({ path: a.path });
  let maxInFlight = 0;
  const sends = Array.from({ length: 10_000 }, (_, i) => {
    const p = conn.sendEvent('PortScan', i % 2 ? Severity.LOW : 'critical', { seq: i, ports: [22, 80, 443] });
    maxInFlight = Math.max(maxInFlight, conn.inFlight);
    return p;
  });
  await Promise.all(sends);
  assert.is(a.events.length, 10_000);
  assert.equal(a.events.map((e) => e.id), Array.from({ length: 10_000 }, (_, i) => i + 1));
  assert.equal(a.events[1]!.details, { seq: 1, ports: [22, 80, 443] });
  assert.is(a.events[0]!.severity, 'critical');
  assert.ok(maxInFlight <= 256, `in flight stayed within the limit (${maxInFlight})`);
  assert.ok(maxInFlight > 1, 'events were pipelined');
  await conn.close();
  await a.close();
});

test('sendEvent validates before anything is sent: TypeErrors name the path', async () => {
  const a = await startAgent();
  const conn = await EdgeClient.open({ path: a.path });
  const bad = async (args: [string, string, unknown], re: RegExp) => {
    const e = await conn.sendEvent(...(args as [string, Severity, Record<string, unknown>])).then(() => undefined, (x: unknown) => x);
    assert.instance(e, TypeError, String(args[0]));
    assert.match((e as Error).message, re);
  };
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  await bad(['loginFailed', 'high', {}], /eventType must be PascalCase/);
  await bad(['Login-Failed', 'high', {}], /eventType/);
  await bad(['LoginFailed', 'severe', {}], /severity must be one of info, low, medium, high, critical/);
  await bad(['LoginFailed', 'HIGH', {}], /severity/);
  await bad(['LoginFailed', 'high', [] as never], /payload must be a plain object/);
  await bad(['LoginFailed', 'high', { readings: [1, 2, 3, NaN] }], /payload\.readings\[3\] must be a finite number/);
  await bad(['LoginFailed', 'high', cyclic], /payload\.self is a circular reference/);
  await bad(['LoginFailed', 'high', { n: 10n }], /payload\.n is a BigInt/);
  await bad(['LoginFailed', 'high', { f: () => 1 }], /payload\.f is a function/);
  await bad(['LoginFailed', 'high', { s: Symbol('x') }], /payload\.s is a symbol/);
  await bad(['LoginFailed', 'high', { u: undefined }], /payload\.u is undefined/);
  await bad(['LoginFailed', 'high', { when: new Date() }], /payload\.when must be a plain object/);
  await bad(['LoginFailed', 'high', { 'a b': { x: Infinity } }], /payload\["a b"\]\.x must be a finite number/);
  assert.is(a.events.length, 0, 'nothing reached the agent');
  await conn.sendEvent('LoginFailed', Severity.INFO, { ok: true, nested: { list: [null, 'x', 1.5] } });
  assert.is(a.events.length, 1);
  await conn.close();
  await a.close();
});

test('malformed frames from a raw client get nacks and the connection stays open', async () => {
  const a = await startAgent();
  const c = await rawClient(a.path);
  c.write('this is not json\n');
  c.write(frame(1, { severity: 'urgent' }));
  c.write(frame(2, { event_type: 'lower_case' }));
  c.write(`${JSON.stringify({ id: 3, event_type: 'X', severity: 'low', timestamp: 'yesterday', details: {} })}\n`);
  c.write(`${JSON.stringify({ event_type: 'X', severity: 'low' })}\n`);
  c.write(frame(4, { details: 'text' }));
  c.write(frame(5));
  await until(() => c.replies.length === 7, '7 replies');
  assert.equal(c.replies.map((r) => ('ack' in r ? `ack ${r.ack}` : `nack ${r.nack}`)), ['nack null', 'nack 1', 'nack 2', 'nack 3', 'nack null', 'nack 4', 'ack 5']);
  assert.match(String(c.replies[1]!.error), /severity/);
  assert.match(String(c.replies[3]!.error), /timestamp/);
  assert.not.ok(c.isClosed());
  assert.equal(a.events.map((e) => e.id), [5]);
  c.s.destroy();
  await a.close();
});

test('a frame whose bytes are not UTF-8 is refused (nack naming it), never published with U+FFFD in it; a real U+FFFD passes', async () => {
  const a = await startAgent();
  const c = await rawClient(a.path);
  const bytes = (id: number, raw: number[]) =>
    Buffer.concat([Buffer.from(`{"id":${id},"event_type":"X","severity":"low","timestamp":"2026-11-30T00:00:00Z","details":{"user":"`), Buffer.from(raw), Buffer.from('"}}\n')]);
  c.s.write(bytes(1, [0xc3, 0x28])); // an invalid 2-byte sequence
  c.s.write(bytes(2, [0xef, 0xbf, 0xbd])); // U+FFFD itself, correctly encoded
  c.s.write(Buffer.concat([bytes(3, [0xff]).subarray(0, 50)])); // split: the bad byte arrives in the next chunk…
  await new Promise((r) => setTimeout(r, 20));
  c.s.write(bytes(3, [0xff]).subarray(50));
  await until(() => c.replies.length === 3, '3 replies');
  assert.equal(c.replies.map((r) => ('ack' in r ? `ack ${r.ack}` : `nack ${r.nack} ${r.error}`)), ['nack 1 frame is not valid UTF-8', 'ack 2', 'nack 3 frame is not valid UTF-8']);
  assert.equal(a.events.map((e) => e.id), [2]);
  c.s.destroy();
  await a.close();
});

test('an oversized frame closes that connection (reason logged); others carry on', async () => {
  const tmp = tempDir();
  const path = tmp.path('edge.sock');
  const logged: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void logged.push(m) };
  const agent = new EdgeAgentServer({ path, maxFrameBytes: 1024, logger });
  await agent.listen();
  const big = await rawClient(path);
  const ok = await rawClient(path);
  big.write(frame(1, { details: { blob: 'x'.repeat(2000) } }));
  await until(() => big.isClosed(), 'the oversized connection closed');
  assert.match(logged.join('\n'), /exceeds the 1024-byte limit/);
  ok.write(frame(1));
  await until(() => ok.replies.length === 1, 'the other connection still works');
  ok.s.destroy();
  await agent.close();
  tmp.remove();
});

test('acks may come in any order; a nack rejects that event only (SocketCommunicationError)', async () => {
  const { path, conn, peer, written, close } = await clientOnRawPeer();
  const p1 = conn.sendEvent('A', 'low', {});
  const p2 = conn.sendEvent('B', 'low', {}).then(() => 'ok', (e: unknown) => e);
  const p3 = conn.sendEvent('C', 'low', {});
  await until(() => written().split('\n').length >= 6, 'hello + 3 frames');
  const lines = written().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.slice(0, 2), [{ session: conn.sessionId }, { features: ['ack-ranges'] }]);
  assert.equal(lines.slice(2).map((l) => l.id), [1, 2, 3]);
  peer.write('{"ack":3}\n{"nack":2,"error":"quota exceeded"}\n{"ack":1}\n');
  await p1;
  await p3;
  const e = (await p2) as SocketCommunicationError;
  assert.instance(e, SocketCommunicationError);
  assert.is(e.eventId, 2);
  assert.match(e.message, /quota exceeded/);
  assert.is(e.socketPath, path);
  await close();
});

test('no ack within ackTimeoutMs, or an ack frame that does not parse: SocketCommunicationError', async () => {
  const { conn, peer, close } = await clientOnRawPeer({ ackTimeoutMs: 100 });
  const timedOut = await conn.sendEvent('Silence', 'info', {}).then(() => undefined, (e: unknown) => e);
  assert.instance(timedOut, SocketCommunicationError);
  assert.match((timedOut as Error).message, /no ack for event 1 within 100 ms/);
  const garbled = conn.sendEvent('Garbled', 'info', {}).then(() => undefined, (e: unknown) => e);
  await sleep(20);
  peer.write('{"ack": 2\n');
  const e = await garbled;
  assert.instance(e, SocketCommunicationError);
  assert.match((e as Error).message, /does not parse/);
  await close();
});

test('inFlightLimit applies backpressure: sendEvent waits for a slot', async () => {
  const { conn, peer, written, close } = await clientOnRawPeer({ inFlightLimit: 4 });
  const sends = Array.from({ length: 10 }, (_, i) => conn.sendEvent('E', 'low', { i }));
  await sleep(50);
  const ids = () => written().trim().split('\n').slice(2).map((l) => JSON.parse(l).id as number);
  assert.equal(ids(), [1, 2, 3, 4], 'only 4 written');
  assert.is(conn.inFlight, 4);
  peer.write('{"ack":1}\n{"ack":2}\n');
  await until(() => ids().length === 6, 'two more written');
  peer.write([3, 4, 5, 6, 7, 8, 9, 10].map((i) => `{"ack":${i}}\n`).join(''));
  await until(() => ids().length === 10, 'all written');
  peer.write('{"ack":7}\n{"ack":8}\n{"ack":9}\n{"ack":10}\n');
  await Promise.all(sends);
  await close();
});

test('a dropped connection: unacked events are re-sent after the reconnect, acked again, published once', async () => {
  const a = await startAgent();
  const conn = await EdgeClient.open({ path: a.path, policy: { initialBackoffMs: 10, jitter: 0 } });
  // The agent drops the client's connection while it is reading a batch: acks for the rest are lost.
  let dropped = false;
  a.events.length = 0;
  const sub = a.agent.events$.subscribe((e) => {
    if (e.id === 300 && !dropped) {
      dropped = true;
      const [child] = a.agent.listener.supervisor.whichChildren();
      void a.agent.listener.supervisor.stopChild(child!.id);
    }
  });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => conn.sendEvent('Burst', 'medium', { i })));
  assert.ok(dropped);
  const ids = a.events.map((e) => e.id).sort((x, y) => x - y);
  assert.equal(ids, Array.from({ length: 1000 }, (_, i) => i + 1), 'each event published exactly once');
  sub.unsubscribe();
  await conn.close();
  await a.close();
});

test('await using, withEdgeClient, STATEWIRE_EDGE_SOCKET; sending after close is SocketNotConnectedError', async () => {
  const a = await startAgent();
  const before = process.env.STATEWIRE_EDGE_SOCKET;
  process.env.STATEWIRE_EDGE_SOCKET = a.path;
  try {
    const result = await withEdgeClient({}, async (conn) => {
      assert.is(conn.path, a.path);
      await conn.sendEvent('FromEnv', 'info', {});
      return 'done';
    });
    assert.is(result, 'done');
    let outside: EdgeClient;
    {
      await using conn = await EdgeClient.open();
      outside = conn;
      await conn.sendEvent('Scoped', 'low', {});
    }
    const e = await outside.sendEvent('Late', 'low', {}).then(() => undefined, (x: unknown) => x);
    assert.instance(e, SocketNotConnectedError);
    assert.is((e as SocketNotConnectedError).socketPath, a.path);
    assert.equal(a.events.map((x) => x.event_type), ['FromEnv', 'Scoped']);
  } finally {
    if (before === undefined) delete process.env.STATEWIRE_EDGE_SOCKET;
    else process.env.STATEWIRE_EDGE_SOCKET = before;
  }
  await EdgeClient.open({ ackTimeoutMs: 0 }).then(() => assert.unreachable(), (e) => assert.instance(e, RangeError));
  await EdgeClient.open({ path: '' }).then(() => assert.unreachable(), (e) => assert.instance(e, TypeError));
  await EdgeClient.open({ inFlightLimit: 0 }).then(() => assert.unreachable(), (e) => assert.instance(e, RangeError));
  await a.close();
});

test('logging goes through the framework logger: attempts and successes (info), errors (error), preparation and acks (debug)', async () => {
  const a = await startAgent();
  const logs: Array<[string, string]> = [];
  const logger = {
    debug: (m: string) => void logs.push(['debug', m]),
    info: (m: string) => void logs.push(['info', m]),
    warn: (m: string) => void logs.push(['warn', m]),
    error: (m: string) => void logs.push(['error', m]),
  };
  const conn = await EdgeClient.open({ path: a.path, logger });
  await conn.sendEvent('Logged', 'low', {});
  await conn.sendEvent('Logged', 'low', { bad: true }).catch(() => {});
  await conn.close();
  await EdgeClient.open({ path: a.tmp.path('missing.sock'), logger }).catch(() => {});
  const has = (level: string, re: RegExp) => assert.ok(logs.some(([l, m]) => l === level && re.test(m)), `${level} ${re}`);
  has('info', /connecting to/);
  has('info', /connected to/);
  has('debug', /prepared event 1/);
  has('debug', /event 1 acked/);
  has('error', /connect to .*missing\.sock failed/);
  await a.close();
});

test.run();
