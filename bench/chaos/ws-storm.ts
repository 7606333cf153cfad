/**
 * Scenario "ws": WebSocket clients and TaskLogHub viewers through the chaos
 * proxy under random cuts, stalls, slow spells and refusals.
 *
 * - Clients: `webSocketTransport` children of one supervisor, each sending
 *   numbered frames with `AckedDelivery` (re-sent after a reconnect) to a
 *   plain `ws` server that acks every frame it reads. A frame whose promise
 *   resolved was acked by the server, so the server must have it: lost =
 *   acked and never read. Re-sends the server already had are duplicates
 *   (at-least-once), counted.
 * - Viewers: real `ws` clients of a TaskLogHub, one per task, that reconnect
 *   with `?lastSeq=<last seq seen>` whenever their socket ends (or goes quiet:
 *   they ping and give up on a missing pong). Every line the hub accepted
 *   (`sendLog` resolved) must reach the viewer once, in `seq` order, except
 *   lines the hub said it dropped (`dropped` events).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { AckedDelivery, createSupervisor, type ConnectionHandle } from '../../actors/index.js';
import { TaskLogHub, webSocketTransport, type TaskLogMessage } from '../../transports/websocket/index.js';
import { ChaosProxy } from './proxy.js';
import {
  CrashCounter,
  MemoryPeak,
  between,
  describe,
  invariant,
  leakedSince,
  random,
  resources,
  sleep,
  subSeed,
  tally,
  waitFor,
  type Random,
  type Row,
  type ScenarioOptions,
  type ScenarioResult,
} from './lib.js';

class DeliveryError extends Error {
  override name = 'DeliveryError';
}

/** The ack server: reads newline-separated frames `{"c":client,"id":n}`, answers `a:<id>,<id>...`. */
function ackServer() {
  const seen = new Map<number, Set<number>>();
  const stats = { frames: 0, duplicates: 0, outOfOrder: 0 };
  const maxSeen = new Map<number, number>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const ids: number[] = [];
      for (const line of data.toString().split('\n')) {
        if (!line) continue;
        const { c, id } = JSON.parse(line) as { c: number; id: number };
        stats.frames++;
        let set = seen.get(c);
        if (!set) seen.set(c, (set = new Set()));
        if (set.has(id)) stats.duplicates++;
        else {
          if (id < (maxSeen.get(c) ?? 0)) stats.outOfOrder++;
          set.add(id);
          maxSeen.set(c, Math.max(id, maxSeen.get(c) ?? 0));
        }
        ids.push(id);
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(`a:${ids.join(',')}`);
    });
  });
  return { wss, seen, stats, ready: new Promise<void>((r) => wss.once('listening', () => r())) };
}

/** A TaskLogHub viewer that always comes back, with `?lastSeq=` the last seq it saw (0 for none). */
class Viewer {
  readonly seqs = new Set<number>();
  last = 0;
  duplicates = 0;
  outOfOrder = 0;
  connects = 0;
  readonly closes: Record<string, number> = {};
  #ws: WebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  #stopped = false;
  constructor(
    readonly base: string,
    readonly task: string,
    readonly rand: Random,
  ) {}

  start() {
    if (this.#stopped) return;
    // Every reconnect says what it saw, `lastSeq=0` included: lines the hub wrote to a first
    // connection that died before they arrived are replayed only to a viewer that asks.
    const resume = this.connects > 0 ? `&lastSeq=${this.last}` : '';
    this.connects++;
    const ws = new WebSocket(`${this.base}?task=${encodeURIComponent(this.task)}${resume}`);
    this.#ws = ws;
    let waitingPong = 0;
    ws.on('open', () => {
      // Our own liveness: a stalled path never says it is dead.
      this.#ping = setInterval(() => {
        if (waitingPong && Date.now() - waitingPong > 600) return ws.terminate();
        if (!waitingPong) {
          waitingPong = Date.now();
          ws.ping();
        }
      }, 150);
    });
    ws.on('pong', () => (waitingPong = 0));
    ws.on('message', (data) => {
      waitingPong = 0;
      const m = JSON.parse(data.toString()) as TaskLogMessage;
      if (this.seqs.has(m.seq)) this.duplicates++;
      else {
        if (m.seq < this.last) this.outOfOrder++;
        this.seqs.add(m.seq);
      }
      this.last = Math.max(this.last, m.seq);
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      tally(this.closes, String(code));
      clearInterval(this.#ping);
      if (this.#ws === ws && !this.#stopped) this.#timer = setTimeout(() => this.start(), between(this.rand, 20, 120));
    });
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ping);
    this.#ws?.terminate();
  }
}

export async function run({ seed, quick }: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  // Frames and lines go out every 5-25 ms (1-3 at a time for clients): about 1.5 s of traffic quick, 15 s full.
  const clients = quick ? 6 : 40;
  const perClient = quick ? 150 : 2000;
  const tasks = quick ? 4 : 20;
  const perTask = quick ? 100 : 1000;
  const before = resources();
  const crashes = new CrashCounter();
  const peak = new MemoryPeak();
  const figures: Record<string, number | string> = {};
  const findings: string[] = [];

  // --- WebSocket clients -> proxy A -> ack server
  const server = ackServer();
  await server.ready;
  const proxyA = await ChaosProxy.start({ target: { port: (server.wss.address() as AddressInfo).port }, random: random(subSeed(seed, 'proxyA')) });
  const sup = createSupervisor({ id: 'chaos-ws', maxRestarts: 1000 });
  const sent = { frames: 0, acked: 0, failed: 0 };
  const failures: Record<string, number> = {};
  const acked = new Map<number, Set<number>>();
  const pending = new Set<Promise<void>>();
  const deliveries: AckedDelivery[] = [];
  for (let c = 0; c < clients; c++) {
    const id = `c${c}`;
    sup.startChild({
      id,
      transport: webSocketTransport({ url: `ws://127.0.0.1:${proxyA.port}/`, pingIntervalMs: 200, pongTimeoutMs: 400, handshakeTimeoutMs: 1000, closeTimeoutMs: 300 }),
      policy: { initialBackoffMs: 20, maxBackoffMs: 250, maxRetries: Infinity, connectTimeoutMs: 1500, stableAfterMs: 1000 },
    });
    const connection: ConnectionHandle = sup.connection(id);
    const delivery = new AckedDelivery({
      connection,
      clock: sup.clock,
      ackTimeoutMs: 4000,
      inFlightLimit: 16,
      errors: {
        ackTimeout: (n, ms) => new DeliveryError(`no ack for ${n} within ${ms} ms`),
        sendFailed: (n) => new DeliveryError(`send of ${n} failed`),
        linkLost: (n) => new DeliveryError(`link lost with ${n} in flight`),
        closed: (reason) => new DeliveryError(`delivery closed (${reason})`),
      },
    });
    deliveries.push(delivery);
    connection.data$.subscribe((data) => {
      const text = typeof data === 'string' ? data : Buffer.from(data).toString();
      if (text.startsWith('a:')) for (const n of text.slice(2).split(',')) delivery.ack(Number(n));
    });
    acked.set(c, new Set());
  }
  const clientLoops = deliveries.map(async (delivery, c) => {
    const r = random(subSeed(seed, `client${c}`));
    for (let k = 0; k < perClient; ) {
      const burst = Math.min(between(r, 1, 3), perClient - k);
      for (let b = 0; b < burst; b++, k++) {
        sent.frames++;
        let frameId = 0;
        const p = delivery
          .deliver((n) => {
            frameId = n;
            return `${JSON.stringify({ c, id: n })}\n`;
          })
          .then(
            () => {
              sent.acked++;
              acked.get(c)!.add(frameId);
            },
            (e: unknown) => {
              sent.failed++;
              tally(failures, describe(e).replace(/\d+/g, 'N'));
            },
          );
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      await sleep(between(r, 5, 25));
    }
  });

  // --- TaskLogHub viewers -> proxy B -> hub
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hub = new TaskLogHub({ pingIntervalMs: 200, pongTimeoutMs: 400 });
  hub.attach(http, { path: '/logs' });
  const dropped: Record<string, number> = {};
  hub.events$.subscribe((e) => {
    if (e.type === 'dropped') tally(dropped, e.taskId, e.count);
  });
  const proxyB = await ChaosProxy.start({ target: { port: (http.address() as AddressInfo).port }, random: random(subSeed(seed, 'proxyB')) });
  const viewers = Array.from({ length: tasks }, (_, t) => new Viewer(`ws://127.0.0.1:${proxyB.port}/logs`, `task-${t}`, random(subSeed(seed, `viewer${t}`))));
  for (const v of viewers) v.start();
  const accepted: Record<string, number> = {};
  const logResults: Record<string, number> = {};
  const logLoops = viewers.map(async (v, t) => {
    const r = random(subSeed(seed, `task${t}`));
    for (let k = 1; k <= perTask; k++) {
      try {
        tally(logResults, await hub.sendLog(v.task, 'info', `line ${k}`, { progress: Math.round((k / perTask) * 100), finished: k === perTask }));
        tally(accepted, v.task);
      } catch (e) {
        tally(logResults, `rejected ${describe(e)}`);
      }
      await sleep(between(r, 5, 25));
    }
  });

  // --- Faults while both run
  const plan = { gapMs: (quick ? [40, 160] : [100, 400]) as [number, number], durationMs: [100, 700] as [number, number] };
  proxyA.run(plan);
  proxyB.run(plan);
  await Promise.all([...clientLoops, ...logLoops]);
  await Promise.all([proxyA.calm(), proxyB.calm()]);
  figures['faults (clients proxy)'] = JSON.stringify(proxyA.faultCounts());
  figures['faults (viewers proxy)'] = JSON.stringify(proxyB.faultCounts());

  // Calm: everything in flight settles, every viewer catches up.
  const settled = await waitFor(() => pending.size === 0, 15_000);
  const caughtUp = await waitFor(() => viewers.every((v) => v.seqs.size + (dropped[v.task] ?? 0) >= (accepted[v.task] ?? 0)), 10_000);

  // --- Count
  let received = 0;
  let lost = 0;
  for (const [c, ids] of acked) {
    const got = server.seen.get(c) ?? new Set<number>();
    received += got.size;
    for (const id of ids) if (!got.has(id)) lost++;
  }
  let hubSent = 0;
  let hubReceived = 0;
  let hubLost = 0;
  let hubDup = 0;
  let hubOrder = 0;
  let hubDropped = 0;
  const viewerCloses: Record<string, number> = {};
  const missingLines: string[] = [];
  for (const v of viewers) {
    const total = accepted[v.task] ?? 0;
    hubSent += total;
    hubReceived += v.seqs.size;
    hubDup += v.duplicates;
    hubOrder += v.outOfOrder;
    hubDropped += dropped[v.task] ?? 0;
    hubLost += Math.max(0, total - v.seqs.size - (dropped[v.task] ?? 0));
    const missing = [];
    for (let n = 1; n <= total; n++) if (!v.seqs.has(n)) missing.push(n);
    if (missing.length) missingLines.push(`${v.task}: ${missing.slice(0, 12).join(',')}${missing.length > 12 ? '…' : ''} (viewer last saw ${v.last}, ${v.connects} connects)`);
    for (const [code, n] of Object.entries(v.closes)) tally(viewerCloses, code, n);
  }
  figures['client frames acked'] = sent.acked;
  figures['client frames failed (sender told)'] = sent.failed;
  figures['client failures'] = JSON.stringify(failures);
  figures['frames read out of order by the ack server'] = server.stats.outOfOrder;
  figures['client restarts'] = sup.whichChildren().reduce((s, c) => s + c.restarts, 0);
  figures['hub sendLog results'] = JSON.stringify(logResults);
  figures['hub lines dropped (told)'] = hubDropped;
  figures['viewer connects'] = viewers.reduce((s, v) => s + v.connects, 0);
  figures['viewer close codes'] = JSON.stringify(viewerCloses);
  if (missingLines.length) figures['lines missing, by task'] = missingLines.join('; ');
  figures['proxy connections'] = proxyA.stats.accepted + proxyB.stats.accepted;
  figures['proxy refused'] = proxyA.stats.refused + proxyB.stats.refused;

  // --- Shut down and look for what is left
  for (const v of viewers) v.stop();
  await sup.shutdown();
  for (const d of deliveries) await d.close(0);
  await hub.close();
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
  for (const c of server.wss.clients) c.terminate();
  await new Promise<void>((r) => server.wss.close(() => r()));
  await Promise.all([proxyA.close(), proxyB.close()]);
  const mem = peak.stop();
  const leaked = await leakedSince(before, 1000);
  crashes.stop();
  if (server.stats.outOfOrder) findings.push(`${server.stats.outOfOrder} client frames reached the server out of id order (re-sends after a reconnect interleave with frames from the outbox; at-least-once does not promise order)`);

  const rows: Row[] = [
    { part: 'WebSocket clients (AckedDelivery)', sent: sent.frames, received, duplicates: server.stats.duplicates, lost, crashes: crashes.count, leakedHandles: leaked.length, peakRssMb: mem.rssMb, peakHeapMb: mem.heapMb },
    { part: 'TaskLogHub viewers (?lastSeq=)', sent: hubSent, received: hubReceived, duplicates: hubDup, lost: hubLost, crashes: crashes.count, leakedHandles: leaked.length, peakRssMb: mem.rssMb, peakHeapMb: mem.heapMb },
  ];
  const invariants = [
    invariant('clients: every acked frame reached the server', lost === 0, `${lost} of ${sent.acked} acked frames never read`),
    invariant('clients: every send settled (acked or told)', settled, `${pending.size} deliveries still pending after the calm`),
    invariant('viewers: every accepted line arrived', hubLost === 0 && caughtUp, `${hubLost} of ${hubSent} lines missing (${hubDropped} dropped with notice)`),
    invariant('viewers: exactly once', hubDup === 0, `${hubDup} duplicate lines`),
    invariant('viewers: in seq order per task', hubOrder === 0, `${hubOrder} lines out of order`),
    invariant('no crash', crashes.count === 0, crashes.errors.slice(0, 3).join('; ') || '0'),
    invariant('no handle left after shutdown', leaked.length === 0, leaked.join(', ') || 'none'),
  ];
  return {
    scenario: 'ws',
    seed,
    quick,
    durationMs: Date.now() - started,
    summary: `ws: ${clients} clients sent ${sent.frames} (${sent.acked} acked, ${lost} lost, ${server.stats.duplicates} dup); ${tasks} viewers got ${hubReceived}/${hubSent} lines (${hubLost} lost, ${hubDup} dup, ${hubOrder} out of order); faults ${proxyA.stats.faults.length + proxyB.stats.faults.length}; crashes ${crashes.count}; leaked ${leaked.length}`,
    rows,
    invariants,
    figures,
    findings,
  };
}
