/**
 * Coalesced acks, negotiated (issue 15): a client that sends
 * `{"features":["ack-ranges"]}` gets runs of acks as `{"acks":[first,last]}`;
 * every peer that predates the line still works both ways. Real UNIX sockets
 * in a temp dir; raw sockets play the old peers.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection, type Socket } from 'node:net';
import { SimulatedClock } from 'xstate';
import { SocketCommunicationError } from '../../../transports/unix/errors.js';
import { EdgeAgentServer, EdgeClient, type EdgeConfig, type EdgeEvent } from '../../../transports/unix/index.js';
import { parseAgentReply, parseEventFrame } from '../../../transports/unix/edge/edge-protocol.js';
import { until } from '../../helpers/net.js';
import { rawUnixServer, tempDir } from '../../helpers/unix.js';

const test = suite('ack ranges');

const frame = (id: number, details: Record<string, unknown> = { n: id }) =>
  `${JSON.stringify({ id, event_type: 'PortScan', severity: 'low', details, timestamp: '2026-11-30T12:00:00.000Z' })}\n`;

async function startAgent() {
  const tmp = tempDir();
  const path = tmp.path('edge.sock');
  const agent = new EdgeAgentServer({ path });
  const events: EdgeEvent[] = [];
  agent.events$.subscribe((e) => events.push(e));
  await agent.listen();
  return {
    path,
    agent,
    events,
    async close() {
      await agent.close();
      tmp.remove();
    },
  };
}

/** A raw client of the agent: writes text, collects reply lines (parsed). */
async function rawClient(path: string) {
  const s: Socket = createConnection({ path });
  await new Promise((r) => s.once('connect', r));
  s.on('error', () => {});
  const replies: Array<Record<string, unknown>> = [];
  let buf = '';
  s.on('data', (d) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts) replies.push(JSON.parse(p));
  });
  return { s, replies };
}

/** Ids a list of replies acks (`ack` and `acks` ranges), in order. */
const ackedIds = (replies: Array<Record<string, unknown>>) =>
  replies.flatMap((r) => {
    if (typeof r.ack === 'number') return [r.ack];
    if (Array.isArray(r.acks)) {
      const [first, last] = r.acks as [number, number];
      return Array.from({ length: last - first + 1 }, (_, i) => first + i);
    }
    return [];
  });

/** An EdgeClient on a raw UNIX server: the test plays an agent (old or new) by hand. */
async function clientOnRawPeer(config: Omit<EdgeConfig, 'path'> = {}) {
  const tmp = tempDir();
  const path = tmp.path('raw.sock');
  const raw = await rawUnixServer(path);
  const conn = await EdgeClient.open({ path, ...config });
  const peer = await raw.next();
  let text = '';
  peer.on('data', (d) => (text += d.toString()));
  const lines = () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    conn,
    peer,
    /** Everything the client wrote so far. */
    text: () => text,
    lines,
    /** Ids of the event frames written so far. */
    ids: () => lines().filter((l) => typeof l.id === 'number').map((l) => l.id as number),
    async close() {
      await conn.close();
      await raw.close();
      tmp.remove();
    },
  };
}

test('ack ranges: the agent acks a client that asked with one {"acks":[first,last]} per run, a nack splitting a run', async () => {
  const a = await startAgent();
  const c = await rawClient(a.path);
  const bad = frame(4).replace('"low"', '"apocalyptic"');
  c.s.write(`{"session":"s-1"}\n{"features":["ack-ranges","something-newer"]}\n${frame(1)}${frame(2)}${frame(3)}${bad}${frame(5)}${frame(6)}`);
  await until(() => ackedIds(c.replies).length === 5, '5 acks');
  assert.equal(c.replies.map((r) => ('acks' in r ? `acks ${String(r.acks)}` : 'ack' in r ? `ack ${r.ack}` : `nack ${r.nack}`)), ['acks 1,3', 'nack 4', 'acks 5,6']);
  assert.equal(a.events.map((e) => e.id), [1, 2, 3, 5, 6]);
  c.s.destroy();
  await a.close();
});

test('ack ranges: 1,000 events from EdgeClient are acked in far fewer frames, each acked once, published once', async () => {
  const a = await startAgent();
  await using conn = await EdgeClient.open({ path: a.path });
  // Count the agent's replies on the wire: what the client's socket reads.
  let replyLines = 0;
  conn.connection.data$.subscribe((chunk) => {
    for (const b of typeof chunk === 'string' ? Buffer.from(chunk) : chunk) if (b === 10) replyLines++;
  });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => conn.sendEvent('PortScan', 'low', { i })));
  assert.equal(a.events.map((e) => e.id), Array.from({ length: 1000 }, (_, i) => i + 1));
  assert.ok(replyLines > 0 && replyLines <= 1000 / 16, `${replyLines} reply frames for 1,000 events`);
  assert.is(conn.inFlight, 0);
  await conn.close();
  await a.close();
});

test('ack ranges: a client that does not ask (an old client) is acked one by one', async () => {
  const a = await startAgent();
  const c = await rawClient(a.path);
  c.s.write(`{"session":"old"}\n${Array.from({ length: 300 }, (_, i) => frame(i + 1)).join('')}`);
  await until(() => c.replies.length === 300, '300 acks');
  assert.ok(c.replies.every((r, i) => Object.keys(r).length === 1 && r.ack === i + 1), 'each {"ack":id}, in order');
  c.s.destroy();
  await a.close();
});

test('ack ranges: one coalesced ack from the peer settles every event it covers, and only those', async () => {
  const p = await clientOnRawPeer();
  const sends = Array.from({ length: 50 }, (_, i) => p.conn.sendEvent('PortScan', 'low', { i }));
  await until(() => p.ids().length === 50, '50 frames written');
  assert.equal(p.lines()[1], { features: ['ack-ranges'] });
  const settled: number[] = [];
  sends.forEach((s, i) => void s.then(() => settled.push(i + 1)));
  p.peer.write('{"acks":[1,40]}\n');
  await until(() => settled.length === 40, '40 settled');
  assert.is(p.conn.inFlight, 10);
  assert.equal([...settled].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
  p.peer.write('{"ack":41}\n{"acks":[42,50]}\n');
  await Promise.all(sends);
  await p.close();
});

test('ack ranges: an old-style agent (nacks the features line, acks one by one) still works', async () => {
  const p = await clientOnRawPeer();
  const sends = Array.from({ length: 20 }, (_, i) => p.conn.sendEvent('PortScan', 'low', { i }));
  await until(() => p.ids().length === 20, '20 frames written');
  // What an agent before issue 15 answers to the features line (the first reply), then each event.
  p.peer.write('{"nack":null,"error":"id must be an unsigned integer"}\n');
  for (let id = 20; id >= 1; id--) p.peer.write(`{"ack":${id}}\n`);
  await Promise.all(sends);
  assert.is(p.conn.inFlight, 0);
  await p.close();
});

test('ack ranges: a nack without an id after the first reply still fails what is in flight (the stream cannot be trusted)', async () => {
  const p = await clientOnRawPeer();
  const one = p.conn.sendEvent('PortScan', 'low', {});
  const two = p.conn.sendEvent('PortScan', 'low', {}).then(() => undefined, (e: unknown) => e);
  await until(() => p.ids().length === 2, '2 frames written');
  p.peer.write('{"ack":1}\n{"nack":null,"error":"frame is not valid JSON"}\n');
  await one;
  const e = await two;
  assert.instance(e, SocketCommunicationError);
  assert.match((e as Error).message, /refused a frame without naming it/);
  await p.close();
});

test('ack ranges: a range wider than anything sent, or an ack ahead of the frame, settles only what was written', async () => {
  const p = await clientOnRawPeer({ inFlightLimit: 2 });
  const sends = Array.from({ length: 4 }, (_, i) => p.conn.sendEvent('PortScan', 'low', { i }));
  await until(() => p.ids().length === 2, '2 frames written');
  // Acking 1..2 frees two slots: frames 3 and 4 are made at once, in this chunk's turn; neither the rest
  // of the range nor acks later in the chunk may settle them (the peer cannot have seen them).
  p.peer.write('{"acks":[1,9007199254740991]}\n{"ack":3}\n{"acks":[4,4]}\n');
  await Promise.all(sends.slice(0, 2));
  await until(() => p.ids().length === 4, 'frames 3 and 4 written');
  assert.is(p.conn.inFlight, 2, 'frames 3 and 4 still wait for their own ack');
  p.peer.write('{"acks":[3,4]}\n');
  await Promise.all(sends);
  await p.close();
});

test('ack ranges: EdgeClient writes exactly what JSON.stringify would, and stamps one millisecond with one timestamp', async () => {
  const clock = new SimulatedClock();
  clock.set(Date.parse('2026-11-30T12:00:00.000Z'));
  const p = await clientOnRawPeer({ clock });
  const tricky = { q: 'a"b\\c\n\u2028', u: 'é😀', n: [0, -1.5, 1e21], z: null, t: true, o: { '': 1, 'ä b': [] } };
  const sends = [p.conn.sendEvent('A', 'info', tricky), p.conn.sendEvent('B', 'critical', {})];
  clock.increment(1);
  sends.push(p.conn.sendEvent('C', 'medium', { x: 1 }));
  await until(() => p.ids().length === 3, '3 frames written');
  const lines = p.text().trim().split('\n').slice(2);
  const [a, b, c] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(Object.keys(a!), ['id', 'event_type', 'severity', 'details', 'timestamp']);
  assert.equal(a!.details, tricky);
  assert.is(a!.timestamp, '2026-11-30T12:00:00.000Z');
  assert.is(b!.timestamp, a!.timestamp);
  assert.is(c!.timestamp, '2026-11-30T12:00:00.001Z');
  // Byte for byte: each line on the wire is JSON.stringify of the event it carries.
  for (const line of lines) assert.is(line, JSON.stringify(JSON.parse(line)));
  p.peer.write('{"acks":[1,3]}\n');
  await Promise.all(sends);
  await p.close();
});

test('ack ranges: the frame parsers (features line, a number JSON makes infinite, replies)', () => {
  assert.equal(parseEventFrame('{"features":["ack-ranges"]}'), { features: ['ack-ranges'] });
  assert.equal(parseEventFrame('{"features":[1]}'), { error: 'features must be an array of at most 64 strings of at most 64 characters', id: null });
  assert.ok('error' in parseEventFrame('{"features":[],"x":1}'), 'a features line has that one key');
  const inf = parseEventFrame('{"id":3,"event_type":"A","severity":"low","details":{"deep":[{"x":1e999}]},"timestamp":"2026-11-30T12:00:00Z"}');
  assert.equal(inf, { error: 'details.deep[0].x must be a finite number, got Infinity', id: 3 });
  // The timestamp memo skips Date.parse only for the very string that parsed before.
  const memo = { timestamp: '' };
  assert.ok('event' in parseEventFrame(frame(1).trim(), memo));
  assert.is(memo.timestamp, '2026-11-30T12:00:00.000Z');
  assert.equal(parseEventFrame(frame(2).trim().replace('2026-11-30T12:00:00.000Z', '2026-13-45T99:00:00Z'), memo), { error: 'timestamp must be an ISO 8601 string', id: 2 });
  assert.equal(parseEventFrame(frame(3).trim().replace('"timestamp"', '"x":0,"timestamp"'), memo), { error: 'unknown field(s): x', id: 3 });
  assert.equal(parseAgentReply('{"ack":42}'), { ack: 42 });
  assert.equal(parseAgentReply('{"ack":1.5}'), { ack: 1.5 });
  assert.equal(parseAgentReply('{ "ack": 7 }'), { ack: 7 });
  assert.equal(parseAgentReply('{"acks":[3,9]}'), { acks: [3, 9] });
  assert.equal(parseAgentReply('{"nack":null,"error":"x"}'), { nack: null, error: 'x' });
  assert.equal(parseAgentReply('{"nack":5}'), { nack: 5, error: 'no reason given' });
  assert.throws(() => parseAgentReply('{"acks":[9,3]}'), TypeError);
  assert.throws(() => parseAgentReply('{"ack":'), SyntaxError);
  assert.throws(() => parseAgentReply('[1]'), TypeError);
});

test.run();
