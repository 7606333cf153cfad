/**
 * TaskLogHub with real `ws` viewers on 127.0.0.1:0: queueing, the 100 → 50
 * rule, ordering under concurrency, nothing lost when a viewer dies, replace
 * on a second viewer, disconnect, events, broadcast and close.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { MessageDroppedError } from '../../../machines/ports/errors.js';
import { TaskLogHub, type TaskLogHubEvent, type TaskLogHubOptions, type TaskLogMessage } from '../../../transports/websocket/task-logs/task-log-hub.js';
import { closeWss, sleep, until } from '../../helpers/net.js';
import { createSupervisor } from '../../../actors/supervisor.js';
import { mockTransport } from '../../../transports/mock/mock.transport.js';

const test = suite('task log hub');
test.before.each((ctx) => { if (process.env.TRACE) console.log('>>', (ctx as any).__test__); });

interface Viewer {
  ws: WebSocket;
  messages: TaskLogMessage[];
  closed: Promise<{ code: number; reason: string }>;
  seqs(): number[];
}

function viewer(url: string): Promise<Viewer> {
  const ws = new WebSocket(url);
  const messages: TaskLogMessage[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed, seqs: () => messages.map((m) => m.seq) }));
    ws.once('error', reject);
  });
}

async function startHub(options: TaskLogHubOptions = {}) {
  const http: Server = createServer((_req, res) => res.end('not here'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hub = new TaskLogHub({ pingIntervalMs: 0, ...options });
  hub.attach(http, { path: '/logs' });
  const events: TaskLogHubEvent[] = [];
  hub.events$.subscribe((e) => events.push(e));
  const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/logs`;
  return {
    hub,
    events,
    http,
    url: (task: string, extra = '') => `${base}?task=${encodeURIComponent(task)}${extra}`,
    base,
    async close() {
      await hub.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** How `v` was closed, waiting at most a few seconds (a test fails, never hangs). */
async function closedWith(v: Viewer): Promise<{ code: number; reason: string }> {
  let info: { code: number; reason: string } | undefined;
  void v.closed.then((c) => (info = c));
  await until(() => info !== undefined, 'the viewer closed');
  return info!;
}
const closeCode = async (v: Viewer) => (await closedWith(v)).code;

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('queue before connect, then flush in order on connect; the queue is cleared', async () => {
  const h = await startHub();
  for (let i = 1; i <= 5; i++) assert.is(await h.hub.sendLog('t1', 'info', `step ${i}`, { progress: i * 20, finished: i === 5 }), 'queued');
  assert.is(h.hub.queuedCount('t1'), 5);
  assert.not.ok(h.hub.isConnected('t1'));
  const v = await viewer(h.url('t1'));
  await until(() => v.messages.length === 5, '5 messages');
  assert.equal(v.messages.map((m) => m.message), ['step 1', 'step 2', 'step 3', 'step 4', 'step 5']);
  const m = v.messages[4]!;
  assert.equal(Object.keys(m).sort(), ['finished', 'level', 'message', 'progress', 'seq', 'taskId', 'timestamp', 'type']);
  assert.equal([m.type, m.taskId, m.level, m.progress, m.finished], ['log', 't1', 'info', 100, true]);
  assert.ok(!Number.isNaN(Date.parse(m.timestamp)) && m.timestamp.endsWith('Z'), 'ISO 8601');
  assert.ok(h.hub.isConnected('t1'));
  assert.is(h.hub.queuedCount('t1'), 0);
  assert.is(await h.hub.sendLog('t1', 'debug', 'live'), 'sent');
  await until(() => v.messages.length === 6, 'the live message');
  const types = h.events.map((e) => e.type);
  assert.ok(types.indexOf('connected') < types.indexOf('flushed'));
  assert.equal(h.events.find((e) => e.type === 'flushed'), { type: 'flushed', taskId: 't1', count: 5 });
  v.ws.close();
  await h.close();
});

test('the 100 → 50 rule, exactly: 100 are kept, the 101st leaves the newest 50 and a dropped event', async () => {
  const h = await startHub();
  for (let i = 1; i <= 100; i++) await h.hub.sendLog('t', 'info', `m${i}`);
  assert.is(h.hub.queuedCount('t'), 100);
  assert.not.ok(h.events.some((e) => e.type === 'dropped'));
  await h.hub.sendLog('t', 'info', 'm101');
  assert.is(h.hub.queuedCount('t'), 50);
  assert.equal(h.events.filter((e) => e.type === 'dropped'), [{ type: 'dropped', taskId: 't', count: 51, reason: 'overflow' }]);
  const v = await viewer(h.url('t'));
  await until(() => v.messages.length === 50, '50 messages');
  assert.equal(v.seqs(), range(52, 101));
  await sleep(20);
  assert.is(v.messages.length, 50, 'nothing else arrives');
  v.ws.close();
  await h.close();
});

test('1,000 concurrent sendLog calls arrive in call order (viewer connecting half way)', async () => {
  const h = await startHub();
  const calls: Array<Promise<unknown>> = [];
  for (let i = 1; i <= 40; i++) calls.push(h.hub.sendLog('c', 'info', `early ${i}`));
  const pv = viewer(h.url('c'));
  for (let i = 41; i <= 1000; i++) {
    calls.push(h.hub.sendLog('c', i % 2 ? 'info' : 'debug', `m${i}`, { progress: i / 10 }));
    // Up to 100 wait in the queue (no overflow); the viewer's flush takes the task's lock in between.
    if (i === 100) {
      await pv;
      await until(() => h.hub.isConnected('c'), 'viewer adopted');
    }
  }
  const results = await Promise.all(calls);
  assert.ok(results.includes('sent') && results.includes('queued'));
  const v = await pv;
  await until(() => v.messages.length === 1000, '1000 messages', 10000);
  assert.equal(v.seqs(), range(1, 1000));
  assert.is(v.messages[999]!.progress, 100);
  v.ws.close();
  await h.close();
});

test('a viewer destroyed mid-stream loses nothing: the rest arrives, once, on reconnect with lastSeq', async () => {
  const h = await startHub();
  const v1 = await viewer(h.url('job'));
  const N = 180; // at most 80 wait in the queue: below the overflow rule
  let killed = false;
  const sending = (async () => {
    for (let i = 1; i <= N; i++) {
      await h.hub.sendLog('job', 'info', `line ${i}`, { progress: (i / N) * 100 });
      if (i % 10 === 0) await sleep(1); // a live task: logs over time
      if (!killed && v1.messages.length >= 100) {
        killed = true;
        v1.ws.terminate();
      }
    }
  })();
  await sending;
  assert.ok(killed);
  await until(() => !h.hub.isConnected('job'), 'the dead viewer removed');
  const seen = v1.seqs();
  assert.equal(seen, range(1, seen.length), 'the first viewer saw a gap-free prefix');
  assert.ok(h.hub.queuedCount('job') > 0, 'later lines were queued');
  const v2 = await viewer(h.url('job', `&lastSeq=${seen.at(-1)}`));
  await until(() => seen.length + v2.messages.length >= N, 'the rest', 10000);
  assert.equal([...seen, ...v2.seqs()], range(1, N), 'every line exactly once, in order');
  assert.ok(h.events.some((e) => e.type === 'disconnected' && e.taskId === 'job'));
  v2.ws.close();
  await h.close();
});

test('a failed send closes the viewer at once and puts the message back at the front of the queue', async () => {
  const http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const wss = new WebSocketServer({ server: http });
  const serverSide: WebSocket[] = [];
  wss.on('connection', (ws) => serverSide.push(ws));
  const hub = new TaskLogHub({ pingIntervalMs: 0 });
  hub.attach(wss); // default task id: the last path segment
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/tasks/t9`;
  await hub.sendLog('t9', 'info', 'queued first');
  const v1 = await viewer(url);
  await until(() => v1.messages.length === 1 && hub.isConnected('t9'), 'flush');
  // Break the server side of the socket under the hub: the next write fails.
  (serverSide[0] as unknown as { _socket: { destroy(): void } })._socket.destroy();
  assert.is(await hub.sendLog('t9', 'error', 'fails, goes back'), 'queued');
  assert.not.ok(hub.isConnected('t9'), 'no stuck connection');
  assert.is(await hub.sendLog('t9', 'info', 'after'), 'queued');
  assert.equal(hub.queuedCount('t9'), 2);
  const v2 = await viewer(url);
  await until(() => v2.messages.length === 2, 'both');
  assert.equal(v2.messages.map((m) => m.message), ['fails, goes back', 'after']);
  assert.equal(v2.seqs(), [2, 3]);
  v2.ws.close();
  await hub.close();
  wss.close();
  await new Promise<void>((r) => http.close(() => r()));
});

test('a second viewer for a task replaces the first (close code 4000)', async () => {
  const h = await startHub();
  const v1 = await viewer(h.url('dup'));
  await until(() => h.hub.isConnected('dup'), 'first viewer');
  const v2 = await viewer(h.url('dup'));
  assert.equal(await v1.closed, { code: 4000, reason: 'replaced by a newer viewer' });
  await h.hub.sendLog('dup', 'info', 'to the newest');
  await until(() => v2.messages.length === 1, 'message at the second viewer');
  assert.is(v1.messages.length, 0);
  assert.ok(h.events.some((e) => e.type === 'disconnected' && e.reason === 'replaced'));
  assert.is(h.hub.supervisor.whichChildren().length, 1, 'one actor per task');
  v2.ws.close();
  await h.close();
});

test('disconnect(taskId) closes the socket with 1000 and clears the queue; pending sends are told', async () => {
  const h = await startHub();
  await h.hub.sendLog('d', 'info', 'a');
  await h.hub.sendLog('d', 'info', 'b');
  await h.hub.disconnect('d');
  assert.is(h.hub.queuedCount('d'), 0);
  const v = await viewer(h.url('d'));
  await until(() => h.hub.isConnected('d'), 'viewer');
  await sleep(20);
  assert.is(v.messages.length, 0, 'the cleared queue is not sent');
  const p = h.hub.sendLog('d', 'info', 'in flight').then((r) => r, (e: unknown) => e);
  await h.hub.disconnect('d');
  const outcome = await p;
  assert.ok(outcome === 'sent' || outcome instanceof MessageDroppedError, String(outcome));
  assert.equal((await v.closed).code, 1000);
  assert.not.ok(h.hub.isConnected('d'));
  await h.close();
});

test('a viewer that closes its tab is removed, and later logs queue again', async () => {
  const h = await startHub();
  const v = await viewer(h.url('tab'));
  await until(() => h.hub.isConnected('tab'), 'viewer');
  v.ws.close(1001);
  await until(() => !h.hub.isConnected('tab'), 'viewer removed');
  assert.is(await h.hub.sendLog('tab', 'info', 'later'), 'queued');
  assert.is(h.hub.supervisor.whichChildren().length, 0, 'the temporary child is gone');
  await h.close();
});

test('hub.connect adopts a socket upgraded elsewhere; broadcast reaches every viewer', async () => {
  const hub = new TaskLogHub({ pingIntervalMs: 0 });
  const wss = new WebSocketServer({ noServer: true });
  const http = createServer();
  http.on('upgrade', (req, socket, head) => {
    // An express/fastify-style upgrade handler that hands the socket over.
    wss.handleUpgrade(req, socket, head, (ws) => void hub.connect(ws, String(req.headers['x-task'])));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const open = (task: string) =>
    new Promise<Viewer>((resolve) => {
      const ws = new WebSocket(url, { headers: { 'x-task': task } });
      const messages: TaskLogMessage[] = [];
      ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
      ws.once('open', () => resolve({ ws, messages, closed, seqs: () => [] }));
    });
  const a = await open('a');
  const b = await open('b');
  await until(() => hub.isConnected('a') && hub.isConnected('b'), 'both adopted');
  const result = await hub.broadcast({ type: 'notice', text: 'maintenance at noon' });
  assert.is(result.delivered.length, 2);
  await until(() => a.messages.length === 1 && b.messages.length === 1, 'broadcast');
  assert.equal(a.messages[0], { type: 'notice', text: 'maintenance at noon' } as never);
  await hub.close();
  assert.equal((await a.closed).code, 1001, 'close() says going away');
  await b.closed;
  wss.close();
  await new Promise<void>((r) => http.close(() => r()));
});

test('broadcast goes to the current viewers only: not to a replaced one, nor to one that left (issue 15)', async () => {
  const h = await startHub();
  const first = await viewer(h.url('t1'));
  const other = await viewer(h.url('t2'));
  await until(() => h.hub.isConnected('t1') && h.hub.isConnected('t2'), 'both connected');
  const second = await viewer(h.url('t1')); // replaces `first`
  assert.is(await closeCode(first), 4000);
  other.ws.close();
  await until(() => !h.hub.isConnected('t2'), 't2 left');
  const result = await h.hub.broadcast({ notice: 'now' });
  assert.equal(result, { delivered: ['t1#3'], queued: [], failed: [] });
  await until(() => second.messages.length === 1, 'the current viewer got it');
  assert.equal(second.messages, [{ notice: 'now' }] as never);
  await h.close();
});

test('bad input: clear TypeError/RangeError before anything is queued', async () => {
  const h = await startHub();
  const rejects = async (p: Promise<unknown>, type: Function, re: RegExp) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    assert.instance(e, type);
    assert.match((e as Error).message, re);
  };
  await rejects(h.hub.sendLog('t', 'verbose' as never, 'x'), TypeError, /debug, info, warning, error, critical/);
  await rejects(h.hub.sendLog('t', 'info', 'x', { progress: 101 }), RangeError, /progress/);
  await rejects(h.hub.sendLog('t', 'info', 'x', { progress: -1 }), RangeError, /progress/);
  // NaN is not a number's right kind (check.ts): a TypeError, as everywhere else.
  await rejects(h.hub.sendLog('t', 'info', 'x', { progress: NaN }), TypeError, /^options\.progress must be a finite number within 0\.\.100, got NaN$/);
  await rejects(h.hub.sendLog('t', 'info', 'x', { progress: Infinity }), RangeError, /progress/);
  await rejects(h.hub.sendLog('', 'info', 'x'), TypeError, /^taskId must be a non-empty string, got ""$/);
  await rejects(h.hub.sendLog(42 as never, 'info', 'x'), TypeError, /^taskId must be a non-empty string, got 42$/);
  await rejects(h.hub.sendLog('t', 'info', 'x', { finished: 'yes' } as never), TypeError, /^options\.finished must be a boolean, got "yes"$/);
  await rejects(h.hub.sendLog('t', 'info', 'x', null as never), TypeError, /^options must be an object/);
  await rejects(h.hub.sendLog('t', 'info', { toJSON() { throw new Error('no'); } } as never), TypeError, /message/);
  assert.is(h.hub.queuedCount('t'), 0, 'nothing was queued');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => h.hub.broadcast(cyclic), (e: Error) => e instanceof TypeError && /JSON/.test(e.message));
  assert.throws(() => h.hub.broadcast(() => 1), (e: Error) => e instanceof TypeError && /JSON/.test(e.message));
  assert.throws(() => h.hub.isConnected(''), TypeError);
  assert.throws(() => new TaskLogHub({ maxQueued: 0 }), RangeError);
  assert.throws(() => new TaskLogHub({ keepOnOverflow: 200 }), RangeError);
  const named = (fn: () => unknown, type: Function, re: RegExp) =>
    assert.throws(fn, (e: Error) => e instanceof type && re.test(e.message), String(re));
  named(() => new TaskLogHub({ maxQueued: 1.5 }), RangeError, /^options\.maxQueued must be an integer >= 1, got 1\.5$/);
  named(() => new TaskLogHub({ pingIntervalMs: -1 }), RangeError, /^options\.pingIntervalMs must be a finite number within 0\.\.2147483647, got -1$/);
  named(() => new TaskLogHub({ pongTimeoutMs: 0 }), RangeError, /^options\.pongTimeoutMs must be a finite number > 0 and <= 2147483647, got 0$/);
  named(() => new TaskLogHub({ pongTimeoutMs: '5' as never }), TypeError, /^options\.pongTimeoutMs must be a finite number > 0 and <= 2147483647, got "5"$/);
  named(() => new TaskLogHub({ supervisor: {} as never }), TypeError, /^options\.supervisor must be a Supervisor/);
  named(() => new TaskLogHub({ clock: { setTimeout() {} } as never }), TypeError, /^options\.clock must have setTimeout and clearTimeout/);
  named(() => new TaskLogHub(null as never), TypeError, /^options must be an object/);
  named(() => h.hub.attach({} as never), TypeError, /^server must be an http\(s\)\.Server or a ws WebSocketServer$/);
  named(() => h.hub.attach(h.http, { taskIdFrom: 1 as never }), TypeError, /^options\.taskIdFrom must be a function/);
  const notOpen = new WebSocket('ws://127.0.0.1:1');
  notOpen.on('error', () => {});
  await rejects(h.hub.connect(notOpen, 't', { lastSeq: -1 }), RangeError, /^options\.lastSeq must be an integer >= 0, got -1$/);
  await rejects(h.hub.connect(notOpen, 't'), Error, /socket is not open/);
  notOpen.terminate();
  assert.throws(() => h.hub.attach(h.http, { path: 'logs' }), (e: Error) => /options\.path/.test(e.message));
  await h.close();
  await rejects(h.hub.sendLog('t', 'info', 'x'), Error, /closed/);
});

test('an upgrade without a task id is refused with 1008', async () => {
  const h = await startHub();
  const ws = new WebSocket(h.base + '/');
  ws.on('error', () => {});
  const code = await new Promise<number>((r) => ws.on('close', (c) => r(c)));
  assert.is(code, 1008);
  await h.close();
});

test('hub: a viewer frame over maxPayload (default 4096 bytes) closes that viewer with 1009; the hub and other viewers go on (issue 11, defect 5)', async () => {
  const h = await startHub();
  const inbound: string[] = [];
  const sub = h.hub.supervisor.data$.subscribe((e) => inbound.push(String(e.data)));
  const other = await viewer(h.url('other'));
  const big = await viewer(h.url('big'));
  await until(() => h.hub.isConnected('other') && h.hub.isConnected('big'), 'both viewers');
  big.ws.send('x'.repeat(4096)); // exactly the limit: taken
  await until(() => inbound.length === 1, 'the 4096-byte frame');
  big.ws.send('y'.repeat(4097));
  assert.is(await closeCode(big), 1009);
  await until(() => !h.hub.isConnected('big'), 'the viewer removed');
  assert.is(inbound.length, 1, 'the big frame never reached the supervisor');
  assert.is(await h.hub.sendLog('other', 'info', 'still here'), 'sent');
  await until(() => other.messages.length === 1, 'the other viewer still served');
  const again = await viewer(h.url('big'));
  await until(() => h.hub.isConnected('big'), 'a new viewer for the task');
  sub.unsubscribe();
  other.ws.close();
  again.ws.close();
  await h.close();
});

test('hub: options.maxPayload sets the limit for the server attach() makes', async () => {
  const h = await startHub({ maxPayload: 100 });
  const v = await viewer(h.url('t'));
  await until(() => h.hub.isConnected('t'), 'viewer');
  v.ws.send('z'.repeat(101));
  assert.is(await closeCode(v), 1009);
  assert.throws(() => new TaskLogHub({ maxPayload: 0 }), (e: Error) => e instanceof RangeError && /^options\.maxPayload must be an integer >= 1, got 0$/.test(e.message));
  await h.close();
});

/** Open `url` as a viewer would: the viewer, or the HTTP status that refused the handshake. */
function handshake(url: string, options: { origin?: string; headers?: Record<string, string> } = {}): Promise<Viewer | number> {
  const ws = new WebSocket(url, options);
  const messages: TaskLogMessage[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed, seqs: () => messages.map((m) => m.seq) }));
    ws.once('error', (e) => {
      const status = /Unexpected server response: (\d+)/.exec(e.message);
      if (status) resolve(Number(status[1]));
      else reject(e);
    });
  });
}

test('hub: same-origin by default: a page on the hub\'s host and clients without Origin are viewers; another site\'s page gets 403 (issue 11, defect 6)', async () => {
  const h = await startHub();
  await h.hub.sendLog('secret', 'info', 'payroll imported');
  const host = new URL(h.base).host;
  assert.is(await handshake(h.url('secret'), { origin: 'https://evil.example' }), 403);
  assert.is(await handshake(h.url('secret'), { origin: `http://evil.example:${new URL(h.base).port}` }), 403, 'same port, other host');
  assert.is(await handshake(h.url('secret'), { origin: `http://localhost:${new URL(h.base).port}` }), 403, 'another name for the host is another origin');
  assert.is(await handshake(h.url('secret'), { origin: 'null' }), 403);
  assert.is(await handshake(h.url('secret'), { origin: 'not a url' }), 403);
  assert.not.ok(h.hub.isConnected('secret'));
  assert.is(h.hub.queuedCount('secret'), 1, 'nothing was read');
  // A browser-like page served by the same host.
  const page = await handshake(h.url('secret'), { origin: `http://${host}` });
  assert.type(page, 'object');
  await until(() => (page as Viewer).messages.length === 1, 'the queued line');
  (page as Viewer).ws.close();
  await until(() => !h.hub.isConnected('secret'), 'page gone');
  const node = await handshake(h.url('secret'));
  assert.type(node, 'object', 'no Origin: not a browser');
  (node as Viewer).ws.close();
  await h.close();
});

test('hub: allowedOrigins lets listed pages in, exactly as browsers send them; a malformed entry is a TypeError', async () => {
  const h = await startHub({ allowedOrigins: ['http://localhost:3000', 'https://app.example'] });
  for (const origin of ['http://localhost:3000', 'https://app.example']) {
    const v = await handshake(h.url('t'), { origin });
    assert.type(v, 'object', origin);
    (v as Viewer).ws.close();
    await (v as Viewer).closed;
  }
  assert.is(await handshake(h.url('t'), { origin: 'http://localhost:3001' }), 403);
  assert.is(await handshake(h.url('t'), { origin: 'http://app.example' }), 403, 'the scheme is part of a listed origin');
  for (const bad of ['http://localhost:3000/', 'localhost:3000', 'http://a.example/path', 42, 'null']) {
    assert.throws(
      () => new TaskLogHub({ allowedOrigins: [bad as string] }),
      (e: Error) => e instanceof TypeError && e.message.startsWith('options.allowedOrigins[0] must be an origin such as "http://localhost:3000"'),
      String(bad),
    );
  }
  assert.throws(() => new TaskLogHub({ allowedOrigins: 'http://localhost:3000' as never }), (e: Error) => e instanceof TypeError && /^options\.allowedOrigins must be an array/.test(e.message));
  await h.close();
});

test('hub: authorize(req) runs after the origin check; false, a rejection or a throw is HTTP 401, never a crash', async () => {
  const seen: Array<string | undefined> = [];
  const h = await startHub({
    allowedOrigins: ['http://localhost:3000'],
    authorize: async (req: IncomingMessage) => {
      const token = req.headers.authorization;
      seen.push(token);
      if (token === 'Bearer throw') throw new Error('token store down');
      if (token === 'Bearer reject') return Promise.reject(new Error('nope'));
      if (token === 'Bearer truthy') return 'yes' as never;
      return token === 'Bearer good';
    },
  });
  const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
  assert.is(await handshake(h.url('t')), 401, 'no token');
  assert.is(await handshake(h.url('t'), auth('bad')), 401);
  assert.is(await handshake(h.url('t'), auth('throw')), 401);
  assert.is(await handshake(h.url('t'), auth('reject')), 401);
  assert.is(await handshake(h.url('t'), auth('truthy')), 401, 'only true admits');
  assert.is(await handshake(h.url('t'), { origin: 'https://evil.example', ...auth('good') }), 403);
  assert.is(seen.length, 5, 'a refused origin never reaches authorize');
  const v = await handshake(h.url('t'), { origin: 'http://localhost:3000', ...auth('good') });
  assert.type(v, 'object');
  await until(() => h.hub.isConnected('t'), 'the authorized viewer');
  assert.is(await h.hub.sendLog('t', 'info', 'hello'), 'sent');
  (v as Viewer).ws.close();
  assert.throws(() => new TaskLogHub({ authorize: true as never }), (e: Error) => e instanceof TypeError && /^options\.authorize must be a function/.test(e.message));
  await h.close();
});

test('hub: on your own WebSocketServer a refused viewer is closed with 1008 (origin, then authorize)', async () => {
  const http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const wss = new WebSocketServer({ server: http });
  const hub = new TaskLogHub({ pingIntervalMs: 0, authorize: (req) => req.headers['x-token'] === 'ok' });
  hub.attach(wss);
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/tasks/own`;
  const evil = (await handshake(url, { origin: 'https://evil.example', headers: { 'x-token': 'ok' } })) as Viewer;
  assert.equal(await closedWith(evil), { code: 1008, reason: 'origin not allowed' });
  const anon = (await handshake(url)) as Viewer;
  assert.equal(await closedWith(anon), { code: 1008, reason: 'unauthorized' });
  assert.not.ok(hub.isConnected('own'));
  const ok = (await handshake(url, { headers: { 'x-token': 'ok' } })) as Viewer;
  await until(() => hub.isConnected('own'), 'the authorized viewer');
  ok.ws.close();
  await hub.close();
  await closeWss(wss);
  await new Promise<void>((r) => http.close(() => r()));
});

test('hub: under a supervisor you pass, viewers are its children; a viewer that leaves is forgotten; close() leaves your supervisor running', async () => {
  const supervisor = createSupervisor({ id: 'app' });
  const h = await startHub({ supervisor });
  assert.is(h.hub.supervisor, supervisor);
  const v = await viewer(h.url('t1'));
  await until(() => h.hub.isConnected("t1"), "viewer connected");
  assert.equal(supervisor.whichChildren().map((c) => [c.id, c.kind, c.restart, c.state]), [['t1#1', 'websocket', 'temporary', 'connected']]);
  // Another connection of the app on the same supervisor: the hub's broadcast is for viewers only.
  const radio = mockTransport();
  supervisor.startChild({ id: 'radio', transport: radio });
  await until(() => supervisor.connection('radio').state === 'connected', 'radio connected');
  const result = await h.hub.broadcast({ notice: 'viewers only' });
  assert.equal(result.delivered, ['t1#1']);
  assert.equal(radio.written, []);
  await supervisor.stopChild('radio');
  v.ws.close();
  await until(() => !h.hub.isConnected("t1"), "viewer gone");
  await until(() => supervisor.whichChildren().length === 0, "no children");
  assert.ok(h.events.some((e) => e.type === 'disconnected' && e.reason === 'closed'));
  await h.close();
  assert.is(supervisor.actor.getSnapshot().status, 'active', 'the hub did not shut down a supervisor it does not own');
  await supervisor.shutdown();
});

test.run();
