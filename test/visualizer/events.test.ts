/**
 * The visualizer's `/events` WebSocket against what a page (or any peer) may
 * send: every message is validated, a bad one is answered with
 * `{ type: 'error', error }` and never thrown (issue 11, defect 2).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { createSupervisor } from '../../actors/supervisor.js';
import { connect } from 'node:net';
import { serveVisualizer, type VisualizerOptions } from '../../visualizer/server.js';
import { PAGE_BUFFER_LIMIT, PageOutlet } from '../../visualizer/page-server.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { spawnLines, tsxArgs } from '../helpers/spawn.js';
import { until } from '../helpers/net.js';

const test = suite('visualizer events');

interface Page {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  errors(): string[];
  closed: Promise<{ code: number; reason: string }>;
}

function openPage(url: string, options: { origin?: string } = {}): Promise<Page> {
  const ws = new WebSocket(url, options);
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
  const errors = () => messages.filter((m) => m.type === 'error').map((m) => String(m.error));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, errors, closed }));
    ws.once('error', reject);
  });
}

/** Each one is answered with an error; none may reach an actor or throw. */
const BAD: Array<string | Buffer> = [
  'null',
  '',
  'not json',
  '{"action": "connect", "id": "radio"',
  '[]',
  '["connect", "radio"]',
  '42',
  '"connect"',
  'true',
  '{}',
  '{"action":"connect"}',
  '{"id":"radio"}',
  '{"action":null,"id":"radio"}',
  '{"action":{"type":"CONNECT"},"id":"radio"}',
  '{"action":["connect"],"id":"radio"}',
  '{"action":"__proto__","id":"radio"}',
  '{"action":"constructor","id":"radio"}',
  '{"action":"toString","id":"radio"}',
  '{"action":"hasOwnProperty","id":"radio"}',
  '{"action":"valueOf","id":"radio"}',
  '{"action":"connect","id":"__proto__"}',
  '{"action":"connect","id":"constructor"}',
  '{"action":"connect","id":"toString"}',
  '{"action":"connect","id":"nobody"}',
  '{"action":"connect","id":42}',
  '{"action":"connect","id":null}',
  '{"action":"connect","id":{"toString":"radio"}}',
  `{"action":"connect","id":"${'x'.repeat(10_000)}"}`,
  '{"__proto__":{"action":"disconnect","id":"radio"}}',
  '{"constructor":{"prototype":{"action":"disconnect"}},"id":"radio"}',
  Buffer.from('{"action":"disconnect","id":"radio"}'), // a binary frame: the page sends text
];

test('events: every malformed message is answered with an error; the process lives on and still obeys a valid one', async () => {
  const server = spawnLines(process.execPath, tsxArgs('test/fixtures/visualizer-serve.ts'));
  try {
    const url = /visualizer at (http:\S+)/.exec(await server.waitFor(/visualizer at http/, 20_000))![1]!;
    const events = url.replace(/^http/, 'ws') + 'events';
    await server.waitFor(/^state radio connected$/);
    const page = await openPage(events);
    await until(() => page.messages.some((m) => m.type === 'hello'), 'hello');
    const before = server.lines.length;
    for (const bad of BAD) page.ws.send(bad);
    await until(() => page.errors().length === BAD.length || server.child.exitCode !== null, `${BAD.length} error replies`, 10_000);
    assert.is(server.child.exitCode, null, `the visualizer process died: ${server.stderr().slice(-500)}`);
    assert.is(page.errors().length, BAD.length);
    for (const e of page.errors()) assert.ok(e.length > 0 && e.length < 200, `a short error: ${e.slice(0, 300)}`);
    // Still answering: a new page gets its hello, and a valid action still works.
    const second = await openPage(events);
    await until(() => second.messages.some((m) => m.type === 'hello'), 'hello on a new page');
    page.ws.send(JSON.stringify({ action: 'tx-drop', id: 'radio' }));
    await server.waitFor(/^state radio tx_dropped$/);
    // stdout is one ordered pipe: had a bad message reached the actor (the binary DISCONNECT), its change would come first.
    assert.is(server.lines.slice(before).find((l) => l.startsWith('state ')), 'state radio tx_dropped', 'no bad message reached the actor');
    assert.is((await fetch(url + 'graph.json')).status, 200);
    assert.is(server.child.exitCode, null);
    page.ws.close();
    second.ws.close();
    await Promise.all([page.closed, second.closed]);
  } finally {
    await server.kill('SIGTERM');
  }
});

/** A visualizer in this process, on a supervisor with no children. */
async function serveHere(options: VisualizerOptions = {}) {
  const supervisor = createSupervisor({ id: 'viz-test' });
  const viz = await serveVisualizer(supervisor, { port: 0, ...options });
  return {
    viz,
    events: `ws://127.0.0.1:${viz.port}/events`,
    async close() {
      await viz.close();
      await supervisor.shutdown();
    },
  };
}

/** The close code `page` gets, waiting at most a few seconds (a test fails, never hangs). */
async function closeCode(page: Page): Promise<number> {
  let code: number | undefined;
  void page.closed.then((c) => (code = c.code));
  await until(() => code !== undefined, 'the page socket closed');
  return code!;
}

test('events: a frame over maxPayload (default 16 KiB) closes that page with 1009; the server goes on (issue 11, defect 5)', async () => {
  const s = await serveHere();
  try {
    const page = await openPage(s.events);
    await until(() => page.messages.some((m) => m.type === 'hello'), 'hello');
    page.ws.send(JSON.stringify({ action: 'connect', id: 'x'.repeat(16_384 - 28) })); // 16384 bytes: read, answered
    await until(() => page.errors().length === 1, 'an error for the unknown child');
    page.ws.send(JSON.stringify({ action: 'connect', id: 'x'.repeat(16_384 - 27) })); // 16385 bytes
    assert.is(await closeCode(page), 1009);
    const next = await openPage(s.events);
    await until(() => next.messages.some((m) => m.type === 'hello'), 'hello for the next page');
    next.ws.close();
    await next.closed;
  } finally {
    await s.close();
  }
});

test('events: options.maxPayload sets the limit', async () => {
  const s = await serveHere({ maxPayload: 64 });
  try {
    const page = await openPage(s.events);
    page.ws.send('x'.repeat(65));
    assert.is(await closeCode(page), 1009);
  } finally {
    await s.close();
  }
  const supervisor = createSupervisor({ id: 'bad-options' });
  try {
    await serveVisualizer(supervisor, { port: 0, maxPayload: -1 }).then(
      () => assert.unreachable('accepted maxPayload -1'),
      (e: Error) => assert.ok(e instanceof RangeError && /^options\.maxPayload must be an integer >= 1, got -1$/.test(e.message), e.message),
    );
  } finally {
    await supervisor.shutdown();
  }
});

/** The HTTP status that refused a handshake to `url` (fails when it opened). */
async function refusedWith(url: string, origin: string): Promise<number> {
  const outcome = await openPage(url, { origin }).then(
    (page) => {
      page.ws.terminate();
      return 'opened';
    },
    (e: Error) => e.message,
  );
  const status = /Unexpected server response: (\d+)/.exec(outcome);
  assert.ok(status, `${origin}: ${outcome}`);
  return Number(status![1]);
}

test('events: same-origin by default: the page served here and clients without Origin connect; another site\'s page gets 403 (issue 11, defect 6)', async () => {
  const s = await serveHere();
  try {
    assert.is(await refusedWith(s.events, 'https://evil.example'), 403);
    assert.is(await refusedWith(s.events, `http://evil.example:${s.viz.port}`), 403);
    assert.is(await refusedWith(s.events, 'null'), 403);
    for (const origin of [new URL(s.viz.url).origin, undefined]) {
      const page = await openPage(s.events, origin ? { origin } : {});
      await until(() => page.messages.some((m) => m.type === 'hello'), `hello for ${origin ?? 'no Origin'}`);
      page.ws.close();
      await page.closed;
    }
  } finally {
    await s.close();
  }
});

test('events: allowedOrigins lets listed pages in; a malformed entry is a TypeError', async () => {
  const s = await serveHere({ allowedOrigins: ['http://localhost:3000'] });
  try {
    const page = await openPage(s.events, { origin: 'http://localhost:3000' });
    await until(() => page.messages.some((m) => m.type === 'hello'), 'hello');
    page.ws.close();
    await page.closed;
    assert.is(await refusedWith(s.events, 'http://localhost:3001'), 403);
  } finally {
    await s.close();
  }
  const supervisor = createSupervisor({ id: 'bad-origins' });
  try {
    await serveVisualizer(supervisor, { port: 0, allowedOrigins: ['localhost:3000'] }).then(
      () => assert.unreachable('accepted a malformed origin'),
      (e: Error) => assert.ok(e instanceof TypeError && e.message.startsWith('options.allowedOrigins[0] must be an origin'), e.message),
    );
  } finally {
    await supervisor.shutdown();
  }
});

test('events: an event whose data JSON cannot hold (a BigInt, a cycle) reaches the page as near as JSON can; nothing throws from the batch timer', async () => {
  const supervisor = createSupervisor({ id: 'odd-data' });
  supervisor.startChild({ id: 'a', transport: mockTransport() });
  const viz = await serveVisualizer(supervisor, { port: 0, batchMs: 10 });
  try {
    const page = await openPage(`ws://127.0.0.1:${viz.port}/events`);
    await until(() => page.messages.some((m) => m.type === 'hello'), 'hello');
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    supervisor.connection('a').publish('EVENT_POWER_WARNING', { watts: 0n, loop } as never);
    const logged = () => page.messages.flatMap((m) => (m.type === 'batch' ? (m.log as Array<Record<string, any>>) : [])).find((e) => e.type === 'EVENT_POWER_WARNING');
    await until(() => logged() !== undefined, 'the odd event in a batch');
    assert.equal(logged()!.data, { watts: '0n', loop: { name: 'loop', self: '[Circular]' } });
    page.ws.close();
    await page.closed;
  } finally {
    await viz.close();
    await supervisor.shutdown();
  }
});

test('events: a request target URL cannot read (GET http://x:99999/) is a 400; the server goes on', async () => {
  const s = await serveHere();
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(s.viz.port, '127.0.0.1', () => socket.end('GET http://x:99999/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.is((await fetch(s.viz.url + 'graph.json')).status, 200);
  } finally {
    await s.close();
  }
});

test('events: a page that stops reading gets nothing past PAGE_BUFFER_LIMIT unread bytes, then, once it has read, the whole picture again', async () => {
  const sent: string[] = [];
  // The socket as far as the outlet reads it: its state, what it holds unread, send.
  const ws = { readyState: WebSocket.OPEN, bufferedAmount: 0, send: (text: string) => sent.push(text) };
  let pictures = 0;
  const outlet = new PageOutlet(ws as unknown as WebSocket, () => ({ type: 'hello', n: ++pictures }), 5);
  try {
    outlet.send({ type: 'batch', n: 1 });
    ws.bufferedAmount = PAGE_BUFFER_LIMIT + 1;
    outlet.send({ type: 'batch', n: 2 }); // over the limit: skipped, and so is everything after it
    ws.bufferedAmount = 0;
    outlet.send({ type: 'batch', n: 3 });
    assert.ok(outlet.behind);
    assert.equal(sent, ['{"type":"batch","n":1}']);
    await until(() => sent.length === 2, 'the picture once it has read');
    assert.equal(sent[1], '{"type":"hello","n":1}');
    assert.not.ok(outlet.behind);
    outlet.send({ type: 'batch', n: 4 });
    assert.is(sent[2], '{"type":"batch","n":4}');
  } finally {
    outlet.close();
  }
});

test.run();
