/**
 * Reconnect storms and dead-peer detection (issue 11, defect 9), with real
 * WebSocket clients and a ws server on 127.0.0.1, each in processes of their
 * own (the server's and the clients' event loops are apart). One JSON line per run.
 *
 *   storm.ts storm <relative|full|decorrelated> <clients> <downMs> [processes]
 *     `clients` `webSocketTransport` children (one supervisor per client
 *     process, `processes` of them, default 4) connected to a raw ws server.
 *     The server is SIGKILLed; a new server process listens on the same port
 *     `downMs` later. Accepts (TCP) are counted per 100 ms window from the
 *     moment it listens; `peakPct` is the busiest window as a % of the clients.
 *
 *   storm.ts detect <kill|frames|hub|listener|freeze> <clients> [processes]
 *     How long the clients take to notice that the server went away
 *     (EVENT_STATE_CHANGE connected → reconnecting), per way of going away:
 *     kill: SIGKILL; frames: a ws server sends every client a close frame
 *     (1001) and exits; hub: TaskLogHub.close() (a statewire server's
 *     graceful close); listener: `wss.close()` + `http.close()` and nothing
 *     else; freeze: SIGSTOP (a silent peer), clients pinging every 1 s with a
 *     1 s pong timeout.
 *
 *   storm.ts model <relative|full|decorrelated> <clients> <downMs>
 *     The same storm with no I/O and no CPU limit: every client loses its link
 *     at 0 and retries on `backoffDelay` (the function the connection machine
 *     uses, seeded); the first attempt at or after `downMs` is accepted. What
 *     the jitter alone does.
 *
 * Internal roles, driven over IPC:
 *   storm.ts server <ws|hub> <port>
 *   storm.ts clients <url> <count> <first> <jitterMode> <pingIntervalMs> <pongTimeoutMs>
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { backoffDelay, createSupervisor, defaultPolicy, seededRandom, silentLogger, type JitterMode } from '../actors/index.js';
import { TaskLogHub, webSocketTransport } from '../transports/websocket/index.js';
import { exitWithParent, forkTsx, type Message, type Proc } from './ipc.js';
import { windowsOf } from './stats.js';

/** Wall-clock ms with sub-ms precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const [role, ...args] = process.argv.slice(2);

type ServerKind = 'ws' | 'hub';

/** The server process: listens when told, records every TCP accept, goes away when told. */
async function server(kind: ServerKind, port: number) {
  const http = createServer();
  const accepts: number[] = [];
  http.on('connection', () => accepts.push(now()));
  let wss: WebSocketServer | undefined;
  let hub: TaskLogHub | undefined;
  if (kind === 'ws') wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  else {
    hub = new TaskLogHub({ pingIntervalMs: 0 });
    hub.attach(http, { path: '/logs' });
  }
  process.on('message', async (m: Message) => {
    if (m.listen) http.listen(port, '127.0.0.1', () => process.send!({ listening: (http.address() as AddressInfo).port, at: now() }));
    if (m.report) process.send!({ accepts });
    if (m.close === 'frames') {
      for (const c of wss!.clients) c.close(1001, 'server restarting');
      while (wss!.clients.size > 0) await sleep(5);
      process.exit(0);
    }
    if (m.close === 'hub') {
      await hub!.close();
      process.exit(0);
    }
    if (m.close === 'listener') {
      // The "graceful" stop of many servers: stop listening, let connections drain.
      wss?.close();
      http.close();
    }
  });
  process.send!({ ready: true });
}

/** A client process: `count` children under one supervisor; when each lost its link and when it was back. */
async function clients(url: string, count: number, first: number, jitterMode: JitterMode, pingIntervalMs: number, pongTimeoutMs: number) {
  const sup = createSupervisor({ id: `storm-${first}`, logger: silentLogger });
  const lost: number[] = [];
  const back: number[] = [];
  /** When each client started the attempt that got it back (its last EVENT_RECONNECT_START). */
  const backAttempt: number[] = [];
  const lastStart = new Map<string, number>();
  const wasLost = new Set<string>();
  let connected = 0;
  sup.events$.subscribe((e) => {
    if (e.type === 'EVENT_RECONNECT_START') lastStart.set(e.connectionId, now());
    if (e.type !== 'EVENT_STATE_CHANGE') return;
    if (e.data.to === 'connected') {
      if (wasLost.has(e.connectionId)) {
        back.push(now());
        backAttempt.push(lastStart.get(e.connectionId) ?? NaN);
      } else connected++;
    } else if (e.data.to === 'reconnecting' && e.data.from === 'connected' && !wasLost.has(e.connectionId)) {
      wasLost.add(e.connectionId);
      lost.push(now());
    }
  });
  // In batches, so the initial connects do not overrun the listen backlog.
  for (let i = 0; i < count; i += 50) {
    for (let k = i; k < Math.min(count, i + 50); k++) {
      const id = `c${first + k}`;
      sup.startChild({
        id,
        transport: webSocketTransport({ url: url.replace('{id}', id), pingIntervalMs, pongTimeoutMs }),
        policy: { jitterMode, maxRetries: Infinity },
      });
    }
    while (connected < Math.min(count, i + 50)) await sleep(5);
  }
  process.on('message', async (m: Message) => {
    if (m.report) process.send!({ lost, back, backAttempt });
    if (m.close) {
      await sup.shutdown();
      process.disconnect();
    }
  });
  process.send!({ ready: true });
}

/** A role of this script in a process of its own, once it said it is ready. */
async function start(...argv: string[]): Promise<Proc> {
  const p = forkTsx(import.meta.url, argv);
  await p.next('ready');
  return p;
}

async function listen(kind: ServerKind, port: number) {
  const s = await start('server', kind, String(port));
  s.send({ listen: true });
  const m = await s.next('listening');
  return { server: s, port: Number(m.listening), at: Number(m.at) };
}

/** Start the client processes one after the other (each connects all of its children first). */
async function startClients(n: number, procs: number, url: string, jitterMode: JitterMode, ping = { pingIntervalMs: 25_000, pongTimeoutMs: 20_000 }) {
  const out: Proc[] = [];
  const per = Math.ceil(n / procs);
  for (let first = 0; first < n; first += per) {
    out.push(await start('clients', url, String(Math.min(per, n - first)), String(first), jitterMode, String(ping.pingIntervalMs), String(ping.pongTimeoutMs)));
  }
  return out;
}

async function report(procs: Proc[]) {
  const all = await Promise.all(procs.map(async (p) => {
    p.send({ report: true });
    return (await p.next('lost')) as { lost: number[]; back: number[]; backAttempt: number[] };
  }));
  return { lost: all.flatMap((r) => r.lost), back: all.flatMap((r) => r.back), backAttempt: all.flatMap((r) => r.backAttempt) };
}

async function stop(procs: Proc[]) {
  await Promise.all(procs.map((p) => {
    p.send({ close: true });
    return new Promise((r) => p.child.once('exit', r));
  }));
}

function model(jitterMode: JitterMode, n: number, downMs: number) {
  const policy = { ...defaultPolicy, jitterMode };
  const random = seededRandom(11);
  const accepts: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = 0;
    let previous: number | undefined;
    for (let attempt = 1; t < downMs; attempt++) t += previous = backoffDelay(attempt, policy, random, previous);
    accepts.push(t - downMs);
  }
  return { figure: 'storm-model', jitterMode, clients: n, downMs, ...windowsOf(accepts, n) };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
  return { min: Math.round(s[0] ?? NaN), median: at(0.5), p99: at(0.99), max: Math.round(s.at(-1) ?? NaN) };
};

async function storm(jitterMode: JitterMode, n: number, downMs: number, procs: number) {
  const first = await listen('ws', 0);
  const cs = await startClients(n, procs, `ws://127.0.0.1:${first.port}/`, jitterMode);
  const second = await start('server', 'ws', String(first.port)); // ready now, listens downMs after the kill
  await sleep(200);
  const killedAt = now();
  first.server.child.kill('SIGKILL');
  await sleep(downMs);
  second.send({ listen: true });
  const listenedAt = Number((await second.next('listening')).at);
  const deadline = now() + 120_000;
  let r = await report(cs);
  while (r.back.length < n && now() < deadline) {
    await sleep(250);
    r = await report(cs);
  }
  second.send({ report: true });
  const accepts = ((await second.next('accepts')).accepts as number[]).map((t) => t - listenedAt);
  await stop(cs);
  second.child.kill('SIGKILL');
  return {
    figure: 'storm',
    jitterMode,
    clients: n,
    processes: cs.length,
    downMs,
    reconnected: r.back.length,
    ...windowsOf(accepts, n),
    attempts: windowsOf(r.backAttempt.map((t) => t - listenedAt), n),
    detectMs: stats(r.lost.map((t) => t - killedAt)),
  };
}

async function detect(how: 'kill' | 'frames' | 'hub' | 'listener' | 'freeze', n: number, procs: number) {
  const { server: srv, port } = await listen(how === 'hub' ? 'hub' : 'ws', 0);
  const url = how === 'hub' ? `ws://127.0.0.1:${port}/logs?task={id}` : `ws://127.0.0.1:${port}/`;
  const cs = await startClients(n, procs, url, 'full', how === 'freeze' ? { pingIntervalMs: 1000, pongTimeoutMs: 1000 } : undefined);
  await sleep(200);
  const at = now();
  if (how === 'kill') srv.child.kill('SIGKILL');
  else if (how === 'freeze') srv.child.kill('SIGSTOP');
  else srv.send({ close: how });
  const waitMs = how === 'listener' ? 3000 : 15_000;
  let r = await report(cs);
  while (r.lost.length < n && now() - at < waitMs) {
    await sleep(100);
    r = await report(cs);
  }
  const noticed = r.lost.map((t) => t - at);
  if (how === 'freeze') srv.child.kill('SIGCONT');
  srv.child.kill('SIGKILL');
  await stop(cs);
  return { figure: 'detect', how, clients: n, processes: cs.length, noticed: noticed.length, withinMs: waitMs, ...(noticed.length ? { ms: stats(noticed) } : {}) };
}

if (role === 'server') {
  exitWithParent();
  await server(args[0] as ServerKind, Number(args[1]));
} else if (role === 'clients') {
  exitWithParent();
  await clients(args[0]!, Number(args[1]), Number(args[2]), args[3] as JitterMode, Number(args[4]), Number(args[5]));
} else {
  const procs = (i: number) => Number(args[i] ?? 4);
  const result =
    role === 'storm'
      ? await storm(args[0] as JitterMode, Number(args[1] ?? 1000), Number(args[2] ?? 1000), procs(3))
      : role === 'detect'
        ? await detect(args[0] as 'kill', Number(args[1] ?? 1000), procs(2))
        : role === 'model'
          ? model(args[0] as JitterMode, Number(args[1] ?? 1000), Number(args[2] ?? 1000))
          : undefined;
  if (!result) throw new TypeError('usage: storm.ts storm|model <relative|full|decorrelated> <clients> <downMs> [processes] | detect <kill|frames|hub|listener|freeze> <clients> [processes]');
  console.log(JSON.stringify(result));
}
