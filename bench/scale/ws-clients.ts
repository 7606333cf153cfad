/**
 * Viewers for bench/scale/ws-server.ts, in a process of their own (forked by
 * it; several of them, so that none holds more sockets than the fd limit).
 *
 *   ws-clients.ts <loop|socketio|statewire> <url> <first> <count> <inFlight>
 *
 * `url` may hold `{i}`, replaced by each viewer's number (the hub's task id).
 * A viewer counts as connected when the first message after its (re)connect
 * arrives: every subject sends each new connection one line (the hub: the
 * line queued for the viewer's task). On a lost connection each viewer
 * retries by itself, on the same schedule whatever the client:
 * socket.io-client's defaults (1 s doubling to 5 s, ±50 %):
 * - `loop`: a `ws` WebSocket and a retry loop on `backoffDelay` with that
 *   policy (what a browser page showing a task's log does);
 * - `socketio`: socket.io-client's built-in reconnection (websocket
 *   transport only, like the server); an `io server disconnect` is answered
 *   with `connect()`, as its docs advise;
 * - `statewire`: one `webSocketTransport` child per viewer under one
 *   supervisor for the process, with that policy and `maxRetries: Infinity`.
 *
 * The first connects are paced: at most `inFlight` viewers of this process
 * between "opening" and "first message" at once (a page load does not open
 * thousands of sockets in one tick; the listen backlog is 511).
 *
 * IPC: → `{ ready }` once loaded; ← `{ go }` opens the viewers;
 * ← `{ report }` → `{ progress: { connected, back, lost, attempts, errors } }`
 * (`back`: viewers that got a first message on a second connection);
 * ← `{ close }` closes every viewer (no retries) and exits.
 */
import { WebSocket } from 'ws';
import { io } from 'socket.io-client';
import { backoffDelay, createSupervisor, silentLogger, type BackoffPolicy } from '../../actors/index.js';
import { webSocketTransport } from '../../transports/websocket/index.js';
import { exitWithParent, type Message } from '../ipc.js';

export type ViewerKind = 'loop' | 'socketio' | 'statewire';

/** socket.io-client's defaults: reconnectionDelay 1000, reconnectionDelayMax 5000, randomizationFactor 0.5. */
const RETRY: Partial<BackoffPolicy> = { initialBackoffMs: 1000, factor: 2, maxBackoffMs: 5000, jitter: 0.5, jitterMode: 'relative' };
/** socket.io-client's default connect timeout, for the others' handshakes too. */
const HANDSHAKE_TIMEOUT_MS = 20_000;

const [kind, url, firstArg, countArg, inFlightArg] = process.argv.slice(2) as [ViewerKind, string, string, string, string];
const first = Number(firstArg);
const count = Number(countArg);
const inFlight = Number(inFlightArg);
exitWithParent();

const progress = { connected: 0, back: 0, lost: 0, attempts: 0, errors: 0 };
/** Welcomes per viewer: the first message on each connection. */
const welcomes = new Uint16Array(count);
const closers: Array<() => void> = [];
let closing = false;
let slotFree: (() => void) | undefined;
let opening = 0;

/** Viewer `k` got the first message on a connection. */
function welcomed(k: number) {
  const n = ++welcomes[k]!;
  if (n === 1) {
    progress.connected++;
    opening--;
    slotFree?.();
  } else if (n === 2) progress.back++;
}

const urlOf = (k: number) => url.replace('{i}', String(first + k));

function loopViewer(k: number) {
  let attempt = 0;
  const open = () => {
    if (closing) return;
    progress.attempts++;
    const ws = new WebSocket(urlOf(k), { perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    let got = false;
    closers[k] = () => ws.terminate();
    ws.on('message', () => {
      if (got) return;
      got = true;
      attempt = 0;
      welcomed(k);
    });
    ws.on('error', () => progress.errors++);
    ws.on('close', () => {
      if (closing) return;
      if (got) progress.lost++;
      setTimeout(open, backoffDelay(++attempt, RETRY));
    });
  };
  open();
}

function ioViewer(k: number) {
  const s = io(urlOf(k), { transports: ['websocket'], forceNew: true });
  let got = false;
  closers[k] = () => s.disconnect();
  s.io.on('reconnect_attempt', () => progress.attempts++);
  s.on('connect', () => (got = false));
  s.on('m', () => {
    if (got) return;
    got = true;
    welcomed(k);
  });
  s.on('connect_error', () => progress.errors++);
  s.on('disconnect', (reason) => {
    if (closing) return;
    progress.lost++;
    if (reason === 'io server disconnect') s.connect();
  });
  progress.attempts++;
}

const supervisor = kind === 'statewire' ? createSupervisor({ id: `viewers-${first}`, logger: silentLogger }) : undefined;
function statewireViewer(k: number) {
  const id = `v${first + k}`;
  supervisor!.startChild({ id, transport: webSocketTransport({ url: urlOf(k), handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }), policy: { ...RETRY, maxRetries: Infinity } });
  const handle = supervisor!.connection(id);
  let got = false;
  let wasConnected = false;
  handle.state$.subscribe((state) => {
    if (state === 'connecting') progress.attempts++;
    if (state === 'connected') {
      got = false;
      wasConnected = true;
    } else if (wasConnected && state === 'reconnecting') {
      wasConnected = false;
      progress.lost++;
    }
  });
  handle.events$.subscribe((e) => {
    if (e.type === 'EVENT_RECONNECT_FAILED') progress.errors++;
  });
  handle.data$.subscribe(() => {
    if (got) return;
    got = true;
    welcomed(k);
  });
}

const open = kind === 'loop' ? loopViewer : kind === 'socketio' ? ioViewer : statewireViewer;

async function go() {
  for (let k = 0; k < count; k++) {
    while (opening >= inFlight) await new Promise<void>((r) => (slotFree = r));
    slotFree = undefined;
    opening++;
    open(k);
  }
}

process.on('message', (m: Message) => {
  if (m.go) void go();
  if (m.report) process.send!({ progress });
  if (m.close) {
    closing = true;
    for (const c of closers) c?.();
    void supervisor?.shutdown();
    process.disconnect();
  }
});
process.send!({ ready: true });
