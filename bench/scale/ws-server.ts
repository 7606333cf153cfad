/**
 * The subject process of the `scale-ws` bench: one WebSocket server (raw
 * `ws`, socket.io or a TaskLogHub, bench/ws/subjects.ts) that N viewers in
 * other processes (bench/scale/ws-clients.ts) connect to, then a restart of
 * that server and the viewers' reconnect storm. One JSON line.
 *
 *   ws-server.ts <ws|socketio|hub> <viewers> [--procs P] [--in-flight F]
 *                [--viewer loop|socketio|statewire] [--down-ms D]
 *                [--timeout-ms T] [--no-storm]
 *
 * 1. Connect: the viewers' processes (P, default one per 3,750 viewers, so
 *    none nears the fd limit) are started and loaded first; then all are
 *    told to go at once. `connectMs` runs from then until the server counts
 *    N connections; `connectCpuMs` is this process's CPU time (user +
 *    system) meanwhile, steadier than the wall time on a shared machine.
 *    Every new connection gets one line (the hub: the line queued for its
 *    task before the viewers came), and the viewers must all confirm they
 *    got it.
 * 2. Heap: after GC, `heapUsedMB` (the process's whole heap) and
 *    `bytesPerViewer` (the growth since the bare http server listened).
 * 3. Storm: the server stops listening and closes (the subject's graceful
 *    close: every viewer is told 1001), then `downMs` after the close began
 *    (or when it ends, if later) a new http server and a new subject (the hub:
 *    a new TaskLogHub, with a line queued for every task) listen on the same
 *    port. The viewers come back on their own schedules (ws-clients.ts);
 *    TCP accepts are counted per 100 ms from that listen: the peak window,
 *    and `allBackMs` until the server counts N again (`cpuMs`: this
 *    process's CPU from the close until then).
 *
 * A stage that does not finish within `--timeout-ms` (default 180000) fails
 * the run: the process prints why (how many of N got there) to stderr, kills
 * its viewer processes and exits 1. Viewer processes also exit when this
 * process is gone, however it went.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { WebSocket } from 'ws';
import type { Socket as IoSocket } from 'socket.io';
import { SUBJECTS, serveSubject, type ServedSubject, type SubjectKind } from '../ws/subjects.js';
import { forkTsx, gc, type Proc } from '../ipc.js';
import { windowsOf } from '../stats.js';
import type { ViewerKind } from './ws-clients.js';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    procs: { type: 'string' },
    'in-flight': { type: 'string', default: '100' },
    viewer: { type: 'string' },
    'down-ms': { type: 'string', default: '1000' },
    'timeout-ms': { type: 'string', default: '180000' },
    'no-storm': { type: 'boolean', default: false },
  },
});
const kind = positionals[0] as SubjectKind;
const N = Number(positionals[1]);
if (!SUBJECTS.includes(kind) || !Number.isInteger(N) || N < 1) {
  throw new TypeError(`usage: ws-server.ts <${SUBJECTS.join('|')}> <viewers> [--procs P] [--in-flight F] [--viewer loop|socketio|statewire] [--down-ms D] [--timeout-ms T] [--no-storm]`);
}
const PER_PROCESS = 3750;
const PROCS = Number(opts.procs ?? Math.ceil(N / PER_PROCESS));
const IN_FLIGHT = Number(opts['in-flight']);
const VIEWER = (opts.viewer ?? (kind === 'socketio' ? 'socketio' : 'loop')) as ViewerKind;
const DOWN_MS = Number(opts['down-ms']);
const TIMEOUT_MS = Number(opts['timeout-ms']);
for (const [name, value, min] of [['--procs', PROCS, 1], ['--in-flight', IN_FLIGHT, 0], ['--down-ms', DOWN_MS, 0], ['--timeout-ms', TIMEOUT_MS, 1]] as const) {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}
if (!['loop', 'socketio', 'statewire'].includes(VIEWER)) throw new TypeError(`--viewer must be loop, socketio or statewire, got ${VIEWER}`);
const LINE = JSON.stringify({ type: 'log', message: 'x'.repeat(80) });

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** This process's CPU time (user + system) since `start`, ms. */
const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return Math.round((d.user + d.system) / 1000);
};
const MB = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

/** Fails the run with what it saw: caught at the bottom, which kills the viewers. */
class StageTimeout extends Error {}

/**
 * A port below the ephemeral range: thousands of viewers reconnecting while
 * nothing listens bind ephemeral ports, and one of them must not take (or
 * connect to itself on) the port the server comes back on.
 */
async function listenOutsideEphemeral(http: HttpServer): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: the usual default
  }
  for (let i = 0; i < 50 && low > 11_000; i++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 11_000));
    const ok = await new Promise<boolean>((resolve) => {
      const onError = () => resolve(false);
      http.once('error', onError);
      http.listen(port, '127.0.0.1', () => {
        http.off('error', onError);
        resolve(true);
      });
    });
    if (ok) return port;
  }
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return (http.address() as AddressInfo).port;
}

/** What the run is doing, for progress lines and failure messages. */
let stage = 'starting';
let stageStart = 0;
let status = () => '';
const report = () => `${kind} ${N}: ${stage}, ${((now() - stageStart) / 1000).toFixed(0)} s in${status()}`;

/** `promise`, or a StageTimeout saying where the run got to when `ms` passes first. */
function within<T>(what: string, promise: Promise<T>, ms = TIMEOUT_MS): Promise<T> {
  stage = what;
  stageStart = now();
  let timer!: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StageTimeout(`${report()}: gave up after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves (with the time) once `subject()` counts `n` connections; `check` after each new one. */
function untilConnected(subject: () => ServedSubject, n: number): { promise: Promise<number>; check: () => void } {
  let resolve!: (t: number) => void;
  const promise = new Promise<number>((r) => (resolve = r));
  return { promise, check: () => subject().connected() >= n && resolve(now()) };
}

async function progressOf(procs: Proc[]) {
  const all = await Promise.all(
    procs.map(async (p) => {
      p.send({ report: true });
      return (await p.next('progress', 10_000)).progress as Record<'connected' | 'back' | 'lost' | 'attempts' | 'errors', number>;
    }),
  );
  const sum = { connected: 0, back: 0, lost: 0, attempts: 0, errors: 0 };
  for (const p of all) for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += p[k];
  return sum;
}

/** Resolves once the viewers all report `key` (each got its line on a first or a second connection). */
async function viewersConfirm(procs: Proc[], key: 'connected' | 'back') {
  for (;;) {
    const p = await progressOf(procs);
    status = () => `, viewers report ${p[key]} of ${N} ${key} (attempts ${p.attempts}, errors ${p.errors})`;
    if (p[key] >= N) return p;
    await sleep(50);
  }
}

/** A subject on `http`; the hub queues one line for every viewer's task first. */
async function subjectOn(http: HttpServer, onConnection: () => void): Promise<ServedSubject> {
  const s = serveSubject(kind, http, {
    onConnection: (c) => {
      if (kind === 'ws') (c as WebSocket).send(LINE);
      else if (kind === 'socketio') (c as IoSocket).emit('m', LINE);
      onConnection();
    },
  });
  if (s.hub) await Promise.all(Array.from({ length: N }, (_, i) => s.hub!.sendLog(`t${i}`, 'info', LINE)));
  return s;
}

const procs: Proc[] = [];
/** The machine's 1-minute load average when the run started: on a shared machine, what the times were measured beside. */
const load1 = +loadavg()[0]!.toFixed(1);
async function main() {
  let http = createServer();
  const port = await listenOutsideEphemeral(http);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;

  let subject!: ServedSubject;
  let waiter = untilConnected(() => subject, N);
  subject = await subjectOn(http, () => waiter.check());
  const serverCounts = () => `, the server counts ${subject.connected()} of ${N}`;
  const url =
    kind === 'socketio' ? `http://127.0.0.1:${port}` : kind === 'hub' ? `ws://127.0.0.1:${port}/logs?task=t{i}` : `ws://127.0.0.1:${port}/`;

  const per = Math.ceil(N / PROCS);
  for (let first = 0; first < N; first += per) {
    procs.push(forkTsx(new URL('./ws-clients.ts', import.meta.url), [VIEWER, url, String(first), String(Math.min(per, N - first)), String(IN_FLIGHT)]));
  }
  await within('loading the viewer processes', Promise.all(procs.map((p) => p.next('ready'))), Math.max(TIMEOUT_MS, 60_000));

  // 1. Connect.
  const t0 = now();
  const cpu0 = process.cpuUsage();
  for (const p of procs) p.send({ go: true });
  status = serverCounts;
  const connectedAt = await within('connecting', waiter.promise);
  const connectMs = Math.round(connectedAt - t0);
  const connectCpuMs = cpuMsSince(cpu0);
  const confirmed = await within('viewers confirming', viewersConfirm(procs, 'connected'));
  const confirmMs = Math.round(now() - t0);

  // 2. Heap.
  await sleep(500);
  gc();
  const mem = process.memoryUsage();
  const heap = {
    heapUsedMB: MB(mem.heapUsed),
    heapTotalMB: MB(mem.heapTotal),
    rssMB: MB(mem.rss),
    bytesPerViewer: Math.round((mem.heapUsed - heapBefore) / N),
  };
  if (opts['no-storm']) return { connectMs, connectCpuMs, confirmMs, ...heap, viewers: confirmed };

  // 3. Storm: close, stay down, listen again on the same port.
  const closeStart = now();
  const cpu1 = process.cpuUsage();
  http.close();
  status = serverCounts;
  await within('closing', subject.close());
  http.closeAllConnections();
  const closeMs = Math.round(now() - closeStart);
  const staleAfterClose = subject.connected();
  http = createServer();
  const accepts: number[] = [];
  http.on('connection', () => accepts.push(now()));
  waiter = untilConnected(() => subject, N);
  subject = await within('opening the new server', subjectOn(http, () => waiter.check()));
  await sleep(Math.max(0, closeStart + DOWN_MS - now()));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  const listenedAt = now();
  const downMs = Math.round(listenedAt - closeStart);
  status = serverCounts;
  const backAt = await within('reconnect storm', waiter.promise);
  const stormCpuMs = cpuMsSince(cpu1);
  const back = await within('viewers confirming the reconnect', viewersConfirm(procs, 'back'));
  const w = windowsOf(accepts.map((t) => t - listenedAt), N);
  return {
    connectMs,
    connectCpuMs,
    confirmMs,
    ...heap,
    viewers: confirmed,
    storm: {
      closeMs,
      downMs,
      staleAfterClose,
      allBackMs: Math.round(backAt - listenedAt),
      cpuMs: stormCpuMs,
      accepts: accepts.length,
      peakPer100ms: w.peak,
      peakPct: w.peakPct,
      peakWindow: w.peakWindow,
      lastAcceptMs: w.allBackMs,
      windows: w.windows,
      viewers: back,
    },
  };
}

// A progress line every 10 s on stderr: what a killed run did is in its last lines.
setInterval(() => console.error(`scale ws-server ${report()}`), 10_000).unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`scale ws-server ${report()}: ${signal}`);
    process.exit(1);
  });
}

try {
  const result = await main();
  // The viewers go first (no retries), then this process: exiting closes the server's sockets.
  await Promise.all(
    procs.map((p) => {
      p.send({ close: true });
      return Promise.race([p.exited, sleep(10_000)]);
    }),
  );
  console.log(JSON.stringify({ figure: 'scale-ws', subject: kind, viewer: VIEWER, n: N, processes: procs.length, load1, ...result }));
  process.exit(0);
} catch (e) {
  const pids = procs.map((p) => p.child.pid).join(', ');
  console.error(`scale ws-server ${e instanceof StageTimeout ? e.message : `${kind} ${N}: ${(e as Error).stack}`}${pids ? ` (viewer processes ${pids} killed)` : ''}`);
  // process.exit runs forkTsx's exit hook: every viewer process is SIGKILLed.
  process.exit(1);
}
