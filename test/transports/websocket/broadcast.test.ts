/**
 * Broadcast over real `ws` sockets on 127.0.0.1:0 (issue 15 §3): a server's
 * links share one frame per broadcast (`Link.sendShared`), each recipient's
 * outcome is still told (delivered, queued, failed), sends before and after
 * keep their order, and the sockets that cannot share a frame (compression,
 * a client's masking) or are busy get the message their own way.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from 'ws';
import { createSupervisor, silentLogger, type Supervisor } from '../../../actors/supervisor.js';
import { LinkClosedError, UnknownConnectionError } from '../../../machines/ports/errors.js';
import { wrapWebSocket, type WebSocketLink } from '../../../transports/websocket/link.js';
import { webSocketTransport } from '../../../transports/websocket/websocket.transport.js';
import { mockTransport } from '../../../transports/mock/mock.transport.js';
import { startWsServer, until } from '../../helpers/net.js';
import { makeTestPki } from '../../helpers/tls.js';

const test = suite('websocket broadcast');

interface Client {
  ws: WebSocket;
  got: Array<{ data: string; binary: boolean }>;
  texts(): string[];
}

interface Viewer {
  id: string;
  link: WebSocketLink;
  /** The server side's TCP socket (its `bytesWritten`). */
  raw: Socket;
  client: Client;
  /** Every frame list written through `ws._sender.sendFrame`: the shared path. */
  frames: unknown[];
}

/**
 * A server whose accepted sockets are adopted by a supervisor, as TaskLogHub
 * does; `open()` connects one more real client and waits until its child is
 * connected.
 */
async function startHub(options: { deflate?: PerMessageDeflateOptions; tls?: { cert: string; key: string; ca: string } } = {}) {
  const http = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }) : createHttpServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const wss = new WebSocketServer({ server: http, perMessageDeflate: options.deflate ?? false });
  const sup = createSupervisor({ logger: silentLogger });
  const accepted: Array<(v: { ws: WebSocket; raw: Socket }) => void> = [];
  wss.on('connection', (ws, req) => accepted.shift()!({ ws, raw: req.socket }));
  const url = `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const viewers: Viewer[] = [];
  let n = 0;
  return {
    sup,
    viewers,
    async open(clientOptions: { deflate?: boolean } = {}): Promise<Viewer> {
      const server = new Promise<{ ws: WebSocket; raw: Socket }>((r) => accepted.push(r));
      const ws = new WebSocket(url, { perMessageDeflate: clientOptions.deflate === true, ...(options.tls ? { ca: options.tls.ca } : {}) });
      const got: Client['got'] = [];
      ws.on('message', (data, binary) => got.push({ data: binary ? Buffer.from(data as Buffer).toString('hex') : String(data), binary }));
      ws.on('error', () => {});
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const taken = await server;
      taken.ws.on('error', () => {});
      const frames: unknown[] = [];
      const sender = (taken.ws as unknown as { _sender: { sendFrame(list: unknown, cb?: unknown): void } })._sender;
      const sendFrame = sender.sendFrame.bind(sender);
      sender.sendFrame = (list, cb) => {
        frames.push(list);
        sendFrame(list, cb);
      };
      const link = wrapWebSocket(taken.ws, { pingIntervalMs: 0, pongTimeoutMs: 1000, closeTimeoutMs: 500 });
      const id = `v${++n}`;
      sup.adopt(link, { id, kind: 'websocket' });
      await until(() => sup.whichChildren().find((c) => c.id === id)?.state === 'connected', `${id} connected`);
      const viewer = { id, link, raw: taken.raw, client: { ws, got, texts: () => got.map((m) => m.data) }, frames };
      viewers.push(viewer);
      return viewer;
    },
    async close() {
      await sup.shutdown();
      for (const v of viewers) v.client.ws.terminate();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

type Hub = Awaited<ReturnType<typeof startHub>>;
/** A test on a hub that is closed whatever happens (a failed assertion must not leave sockets open). */
function hubTest(name: string, options: Parameters<typeof startHub>[0], body: (h: Hub) => Promise<void>) {
  test(name, async () => {
    const h = await startHub(options);
    try {
      await body(h);
    } finally {
      await h.close();
    }
  });
}

const sorted = (xs: string[]) => [...xs].sort();
const failedIds = (r: { failed: Array<{ id: string }> }) => sorted(r.failed.map((f) => f.id));

hubTest('broadcast: text and binary reach every client once, as text or binary, from one frame written to each socket', {}, async (h) => {
  const vs = [await h.open(), await h.open(), await h.open()];
  const text = await h.sup.broadcast('x'.repeat(1024));
  assert.equal(sorted(text.delivered), ['v1', 'v2', 'v3']);
  assert.equal([text.queued, text.failed], [[], []]);
  const bytes = new Uint8Array([0, 1, 2, 254, 255]);
  const binary = await h.sup.broadcast(bytes.subarray(1, 4)); // a view: only its bytes go out
  assert.equal(sorted(binary.delivered), ['v1', 'v2', 'v3']);
  const empty = await h.sup.broadcast('');
  assert.is(empty.delivered.length, 3);
  await until(() => vs.every((v) => v.client.got.length === 3), 'three messages each');
  for (const v of vs) assert.equal(v.client.got, [{ data: 'x'.repeat(1024), binary: false }, { data: '0102fe', binary: true }, { data: '', binary: false }]);
  // One frame per broadcast, the same list handed to every socket.
  for (let i = 0; i < 3; i++) {
    assert.is(vs[1]!.frames[i], vs[0]!.frames[i]);
    assert.is(vs[2]!.frames[i], vs[0]!.frames[i]);
  }
  assert.is.not(vs[0]!.frames[0], vs[0]!.frames[1]);
});

hubTest('broadcast: sends before and after keep their order, on idle, compressing and backed-up sockets', { deflate: { threshold: 0 } }, async (h) => {
  const plain = await h.open();
  const deflating = await h.open({ deflate: true });
  const slow = await h.open();
  const blob = await h.open();
  // `slow` reads nothing for now: its socket backs up (writes wait in Node).
  slow.client.ws.pause();
  const big = 'b'.repeat(1 << 20);
  const backlog: Array<Promise<void>> = [];
  while (slow.link.socket.bufferedAmount === 0) backlog.push(h.sup.send(slow.id, big));
  const sends: Array<Promise<unknown>> = [];
  for (const v of [plain, deflating, slow]) sends.push(h.sup.send(v.id, `before ${v.id}`));
  // `deflating` is compressing 'before' (zlib works off the thread): its sender is busy.
  // So is `blob`'s, reading a Blob written on its socket (ws's own queue, with no compression).
  blob.link.socket.send(new Blob([`before ${blob.id}`]));
  const all = [plain, deflating, slow, blob];
  const result = h.sup.broadcast('all');
  for (const v of all) sends.push(h.sup.send(v.id, `after ${v.id}`));
  slow.client.ws.resume();
  await Promise.all([...sends, ...backlog]);
  assert.equal(sorted((await result).delivered), ['v1', 'v2', 'v3', 'v4']);
  const tail = (v: Viewer) => v.client.texts().filter((t) => t !== big);
  await until(() => all.every((v) => tail(v).length === 3), 'three messages each');
  assert.is(blob.client.got[0]!.binary, true, 'a Blob goes out as binary');
  blob.client.got[0] = { data: Buffer.from(blob.client.got[0]!.data, 'hex').toString(), binary: false };
  for (const v of all) assert.equal(tail(v), [`before ${v.id}`, 'all', `after ${v.id}`], v.id);
  assert.is(slow.client.texts().filter((t) => t === big).length, backlog.length, 'the backlog came first, whole');
});

hubTest('broadcast: a client that compresses gets the message compressed, its own way, not the shared frame', { deflate: { threshold: 0 } }, async (h) => {
  const plain = await h.open();
  const deflate = await h.open({ deflate: true });
  const message = 'a'.repeat(64 * 1024);
  const before = [plain.raw.bytesWritten, deflate.raw.bytesWritten];
  const result = await h.sup.broadcast(message);
  assert.equal(sorted(result.delivered), ['v1', 'v2']);
  await until(() => plain.client.got.length === 1 && deflate.client.got.length === 1, 'both');
  assert.equal([plain.client.texts(), deflate.client.texts()], [[message], [message]]);
  assert.ok(plain.raw.bytesWritten - before[0]! >= message.length, 'the plain client got the uncompressed frame');
  assert.ok(deflate.raw.bytesWritten - before[1]! < message.length / 10, 'the compressing client got it compressed');
  assert.is(plain.frames.length, 1);
  assert.ok(!deflate.frames.includes(plain.frames[0]), 'the shared frame never went to the compressing client');
});

hubTest('broadcast: every recipient is told: links that close or break mid-broadcast fail, a child not connected queues, an unknown id fails', {}, async (h) => {
  const [a, closing, broken, d] = [await h.open(), await h.open(), await h.open(), await h.open()];
  const mock = mockTransport();
  h.sup.startChild({ id: 'later', transport: mock, autoConnect: false });
  // The filter runs once per child, in start order, before that child is written to:
  // while it looks at the first one, the second link is closed and the third's socket destroyed.
  const result = await h.sup.broadcast('news', {
    ids: [a.id, closing.id, broken.id, d.id, 'later', 'ghost'],
    filter: (child) => {
      if (child.id === a.id) {
        void closing.link.close();
        broken.raw.destroy();
      }
      return true;
    },
  });
  assert.equal(sorted(result.delivered), [a.id, d.id]);
  assert.equal(result.queued, ['later']);
  assert.equal(failedIds(result), sorted([closing.id, broken.id, 'ghost']));
  const why = Object.fromEntries(result.failed.map((f) => [f.id, f.error]));
  assert.instance(why[closing.id], LinkClosedError);
  assert.ok((why[closing.id] as LinkClosedError).canceled, 'closed by us: canceled');
  assert.instance(why[broken.id], LinkClosedError);
  assert.not.ok((why[broken.id] as LinkClosedError).canceled, 'lost: not canceled');
  assert.instance(why.ghost, UnknownConnectionError);
  await until(() => a.client.got.length === 1 && d.client.got.length === 1, 'the others got it');
  h.sup.child('later')!.send({ type: 'CONNECT' });
  await until(() => mock.written.length === 1, 'the queued one is written once connected');
  assert.equal(mock.written, ['news']);
});

hubTest('broadcast: a write the OS has not finished is settled when it is: delivered once the client reads, failed when the client goes away', {}, async (h) => {
  const reads = await h.open();
  const leaves = await h.open();
  for (const v of [reads, leaves]) v.client.ws.pause();
  // Bigger than any loopback socket buffer: the OS takes part of it now, the rest later.
  const message = Buffer.alloc(48 << 20, 7);
  const result = h.sup.broadcast(message);
  assert.ok(reads.link.socket.bufferedAmount > 0 && leaves.link.socket.bufferedAmount > 0, 'both writes are unfinished');
  assert.is(reads.frames.length, 1, 'written from the shared frame all the same');
  leaves.client.ws.terminate();
  reads.client.ws.resume();
  const r = await result;
  assert.equal(r.delivered, [reads.id]);
  assert.equal(failedIds(r), [leaves.id]);
  assert.instance(r.failed[0]!.error, LinkClosedError);
  await until(() => reads.client.got.length === 1, 'the reader got it');
  assert.is(reads.client.got[0]!.data.length, 2 * message.length, 'whole (hex)');
});

const pki = makeTestPki();
test.after(() => pki.remove());

hubTest(
  'broadcast: over TLS the shared frame is written and settled when each write is done',
  { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert } },
  async (h) => {
    const vs = [await h.open(), await h.open()];
    const result = await h.sup.broadcast('secret');
    assert.equal(sorted(result.delivered), ['v1', 'v2']);
    await until(() => vs.every((v) => v.client.got.length === 1), 'both');
    assert.equal(vs.map((v) => v.client.texts()), [['secret'], ['secret']]);
    assert.is(vs[1]!.frames[0], vs[0]!.frames[0]);
  },
);

hubTest('broadcast: a client link (each frame masked with its own key) and a server link in one broadcast', {}, async (h) => {
  const server = await startWsServer();
  try {
    const viewer = await h.open();
    h.sup.startChild({ id: 'out', transport: webSocketTransport({ url: server.url }) });
    const peer = await server.nextSocket();
    const heard: string[] = [];
    peer.on('message', (d) => heard.push(String(d)));
    await until(() => h.sup.whichChildren().find((c) => c.id === 'out')?.state === 'connected', 'the client child connected');
    const result = await h.sup.broadcast('to both');
    assert.equal(sorted(result.delivered), ['out', viewer.id]);
    await until(() => heard.length === 1 && viewer.client.got.length === 1, 'both');
    assert.equal([heard, viewer.client.texts()], [['to both'], ['to both']]);
  } finally {
    await h.sup.shutdown();
    await server.close();
  }
});

test.run();
