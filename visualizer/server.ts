/**
 * `serveVisualizer(supervisor, { port })`: a small HTTP server with the
 * visualizer page and a WebSocket stream (`/events`) of the supervisor
 * system's XState inspection events (from `supervisor.inspection$`, the same
 * events the `inspect` option and `@statelyai/inspect` see), made plain JSON,
 * plus the structured log events and the power readings of radio links
 * (`{ type: 'power', reading }`, see `./power.ts`). The statechart comes laid
 * out (`layoutMachine`, ELK, computed once per machine while the server
 * starts listening) in the first message, `hello`, and at `/layout.json`; `/graph.json`
 * is the flat graph of the states a connection can be in. The page sends real events back to a
 * connection's actor: drop link (RECONNECT), TX drop, disconnect, connect.
 * What a page sends is checked before it reaches an actor (`parseCommand`):
 * anything else is answered with `{ type: 'error', error }` (issue 11).
 * Everything the page uses is served from this package: no CDN.
 *
 * @example
 * ```ts
 * const viz = await serveVisualizer(supervisor, { port: 4400 });
 * console.log(`visualizer at ${viz.url}`);
 * await viz.close();
 * ```
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observable } from 'rxjs';
import { WebSocketServer, WebSocket } from 'ws';
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import type { Supervisor } from '../actors/supervisor.js';
import * as check from '../machines/ports/check.js';
import { ListenError, describeError } from '../machines/ports/errors.js';
import { connectionMachine } from '../machines/connection.machine.js';
import { checkAllowedOrigins, originAllowed } from '../transports/websocket/origin.js';
import { topState } from '../machines/state.js';
import { machineGraph } from './graph.js';
import { layoutMachine, type MachineLayout } from './layout.js';
import { PowerHistory, asReading, isPowerAlarm, powerReadings, readingOf, type PowerReading } from './power.js';

export interface VisualizerOptions {
  /** Default 4400; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /**
   * The machine to draw, laid out by ELK (once per machine, cached). Default `connectionMachine`.
   * @example serveVisualizer(supervisor, { machine: supervisorMachine })
   */
  machine?: AnyStateMachine;
  /**
   * Labels shown next to child ids (e.g. "simulated"). A key ending in `*`
   * labels every child whose id starts with what comes before it (the
   * longest such key wins; an exact id wins over any).
   * @example { radio: 'emulated TS-590S', 'apigw-*': 'API Gateway (emulator)' }
   */
  labels?: Record<string, string>;
  /**
   * The power panel's readings, used instead of the default: the
   * `EVENT_POWER_READING`s on `supervisor.events$` (a radio link publishes
   * one per poll through its handle), as `{ connectionId, watts, at: timestamp }`.
   * Either way readings are drawn, not logged, and the last 300 per
   * connection go to a page that opens later. An element that is not a
   * reading (finite `watts` and `at`) is skipped; an error ends the readings.
   * @example serveVisualizer(supervisor, { power$: myMeter$.pipe(map((w) => ({ connectionId: 'rig', watts: w, at: Date.now() }))) })
   */
  power$?: Observable<PowerReading>;
  /**
   * The largest frame a page may send on `/events`, in bytes; a bigger one
   * closes that page's socket with 1009 ("message too big") before it is
   * buffered. The page only sends `{ action, id }`. Default 16384 (`ws` alone
   * would take 100 MiB).
   * @example serveVisualizer(supervisor, { maxPayload: 4096 })
   */
  maxPayload?: number;
  /**
   * Pages of other origins that may open `/events`, exactly as a browser
   * sends them (`http://localhost:3000`: scheme, host, port; no path). Always
   * allowed: the visualizer's own page (its `Origin` host equals the
   * request's `Host`) and clients that send no `Origin` (not browsers). Any
   * other page is answered HTTP 403: it can neither read the events nor drive
   * connections. Default `[]`.
   * @example serveVisualizer(supervisor, { allowedOrigins: ['http://localhost:3000'] })
   */
  allowedOrigins?: string[];
}

export interface Visualizer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Default `maxPayload` of `/events`: room for any `{ action, id }`, far from `ws`'s 100 MiB. */
const DEFAULT_EVENTS_MAX_PAYLOAD = 16 * 1024;

const here = new URL('./public/', import.meta.url);
const files: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/reducer.js': ['reducer.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/statechart.js': ['statechart.js', 'text/javascript; charset=utf-8'],
  '/statechart.css': ['statechart.css', 'text/css; charset=utf-8'],
};

/**
 * What the page may ask for: `{ action, id }`, the action one of these, the id
 * an existing child's. A Map, so `__proto__`, `constructor` or `toString` are
 * unknown actions and not the prototype's members.
 */
const ACTIONS: ReadonlyMap<string, { type: string }> = new Map([
  ['drop-link', { type: 'RECONNECT' }],
  ['tx-drop', { type: 'TX_DROP' }],
  ['disconnect', { type: 'DISCONNECT' }],
  ['connect', { type: 'CONNECT' }],
]);

/** A page's request, validated: the event to send and the child to send it to. */
type Command = { ok: true; id: string; event: { type: string } } | { ok: false; error: string };

/**
 * Read one message from a page. Anything may arrive (any peer can open the
 * socket); nothing here throws, and only own properties are read.
 */
function parseCommand(data: unknown, isBinary: boolean, childIds: () => Iterable<string>): Command {
  if (isBinary) return { ok: false, error: 'expected a text frame with JSON { action, id }' };
  let msg: unknown;
  try {
    msg = JSON.parse(String(data));
  } catch {
    return { ok: false, error: 'not JSON: expected { action, id }' };
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return { ok: false, error: `expected a JSON object { action, id }, got ${check.describe(msg)}` };
  const action = Object.hasOwn(msg, 'action') ? (msg as { action: unknown }).action : undefined;
  const id = Object.hasOwn(msg, 'id') ? (msg as { id: unknown }).id : undefined;
  const event = typeof action === 'string' ? ACTIONS.get(action) : undefined;
  if (!event) return { ok: false, error: `action must be one of ${[...ACTIONS.keys()].join(', ')}, got ${check.describe(action)}` };
  if (typeof id !== 'string' || ![...childIds()].includes(id)) return { ok: false, error: `id must be the id of a child, got ${check.describe(id)}` };
  return { ok: true, id, event };
}

/** One inspection event as plain JSON, or undefined for events the page does not use. */
export function toWire(e: InspectionEvent): Record<string, unknown> | undefined {
  const ref = e.actorRef as unknown as { id: string; sessionId: string; logic?: { id?: string; config?: { id?: string } } };
  const machineId = ref.logic?.config?.id ?? ref.logic?.id;
  if (e.type === '@xstate.snapshot') {
    const snap = e.snapshot as unknown as { value?: unknown; status: string; context?: Record<string, unknown> };
    if (machineId === 'supervisor') {
      const c = snap.context ?? {};
      // In start order (a ChildList: iterable, not an array).
      const specs = Array.from((c.specs as Iterable<{ id: string; transport: { kind: string }; restart: string }> | undefined) ?? []);
      return {
        type: '@xstate.snapshot',
        machine: 'supervisor',
        actorId: ref.id,
        value: snap.value,
        status: snap.status,
        context: { children: specs.map((s) => ({ id: s.id, kind: s.transport.kind, restart: s.restart })), restarts: { ...(c.restarts as object) } },
      };
    }
    if (snap.context && typeof snap.context.reconnectCount === 'number' && 'outbox' in snap.context) {
      const c = snap.context;
      return {
        type: '@xstate.snapshot',
        machine: 'connection',
        actorId: ref.id,
        value: snap.value,
        // The state name (`connected` for `{ active: { connected: ... } }`): the page does not know about `active`.
        state: topState(snap),
        status: snap.status,
        context: { kind: c.kind, state: c.state, reconnectCount: c.reconnectCount, outbox: (c.outbox as unknown[]).length, lastError: describeError(c.lastError) },
      };
    }
    return undefined;
  }
  if (e.type === '@xstate.event') {
    const ev = e.event as { type: string };
    if (ev.type.startsWith('xstate.') && !ev.type.startsWith('xstate.after')) return undefined;
    return { type: '@xstate.event', actorId: ref.id, sourceId: (e.sourceRef as { id?: string } | undefined)?.id, event: { type: ev.type } };
  }
  return undefined;
}

export async function serveVisualizer(supervisor: Supervisor, options: VisualizerOptions = {}): Promise<Visualizer> {
  check.shape(supervisor, 'supervisor', { startChild: 'function' }, 'a Supervisor (createSupervisor())');
  check.object(options, 'options');
  const port = check.integer(options.port ?? 4400, 'options.port', { min: 0, max: 65535 });
  // Never every interface by accident: a host must be named (default loopback).
  const host = check.nonEmptyString(options.host ?? '127.0.0.1', 'options.host');
  const allowedOrigins = checkAllowedOrigins(options.allowedOrigins, 'options.allowedOrigins');
  const maxPayload = check.integer(options.maxPayload ?? DEFAULT_EVENTS_MAX_PAYLOAD, 'options.maxPayload', { min: 1 });
  if (options.power$ !== undefined) check.hasMethods(options.power$, 'options.power$', ['subscribe'], '(an Observable of { connectionId, watts, at })');
  if (options.machine !== undefined) check.shape(options.machine, 'options.machine', { root: 'object', config: 'object' }, 'an XState machine (createMachine() or setup().createMachine())');
  const graph = machineGraph(options.machine ?? connectionMachine);
  // The statechart laid out by ELK (issue 17), once per machine: the page draws it from these positions.
  // Not awaited here (a cold layout takes a second or two): a page gets its hello when it is ready.
  // A machine ELK cannot lay out still gets its page, with the reason where the chart would be.
  let layout: MachineLayout | { error: string } | undefined;
  const laidOut = layoutMachine(options.machine ?? connectionMachine).then(
    (l) => (layout = l),
    (e: unknown) => (layout = { error: `cannot lay out the statechart: ${(e as Error)?.message ?? String(e)}` }),
  );
  const labels = options.labels ?? {};
  const content = new Map(Object.entries(files).map(([route, [file, type]]) => [route, { body: readFileSync(new URL(file, here)), type }]));

  const http: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = content.get(path);
    if (path === '/graph.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(graph));
    }
    if (path === '/layout.json') {
      void laidOut.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(layout));
      });
      return;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
    res.end(file.body);
  });
  const wss = new WebSocketServer({
    server: http,
    path: '/events',
    maxPayload,
    // Another site's page must not read the events or press the buttons (issue 11, defect 6).
    verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, status?: number, reason?: string) => void) =>
      done(originAllowed(req, allowedOrigins), 403, 'origin not allowed'),
  });

  const power = new PowerHistory();
  // The current picture for a page that just connected: the supervisor and every child's snapshot.
  const hello = () => {
    const messages: Array<Record<string, unknown>> = [];
    const sup = supervisor.actor.getSnapshot();
    const supWire = toWire({ type: '@xstate.snapshot', actorRef: supervisor.actor, snapshot: sup, event: { type: 'hello' }, rootId: supervisor.actor.sessionId } as unknown as InspectionEvent);
    if (supWire) messages.push(supWire);
    for (const child of supervisor.whichChildren()) {
      const ref = supervisor.child(child.id);
      if (!ref) continue;
      const wire = toWire({ type: '@xstate.snapshot', actorRef: ref, snapshot: ref.getSnapshot(), event: { type: 'hello' }, rootId: '' } as unknown as InspectionEvent);
      if (wire) messages.push(wire);
    }
    messages.push(...power.messages());
    return { type: 'hello', graph, layout, labels, supervisor: supervisor.id, messages };
  };

  // Pages that got their hello: nothing reaches a page before it (its hello is the picture it starts from).
  const greeted = new Set<WebSocket>();
  const broadcast = (msg: unknown) => {
    if (greeted.size === 0) return;
    const text = JSON.stringify(msg);
    for (const c of greeted) if (c.readyState === WebSocket.OPEN) c.send(text);
  };
  const subs = [
    supervisor.inspection$.subscribe((e) => {
      if (greeted.size === 0) return;
      const wire = toWire(e);
      if (wire) broadcast(wire);
    }),
    supervisor.events$.subscribe((e) => {
      // A reading a second per radio would drown the log: readings go to the chart only.
      if (readingOf(e)) return;
      if (isPowerAlarm(e)) power.alarm(e);
      broadcast({ type: 'log', event: e });
    }),
    (options.power$ ?? powerReadings(supervisor.events$)).subscribe({
      next: (value) => {
        const reading = asReading(value);
        if (!reading) return;
        power.add(reading);
        broadcast({ type: 'power', reading });
      },
      // A failed user stream ends the readings; it must not become an unhandled error (process crash).
      error: (e: unknown) => broadcast({ type: 'error', error: `power$ failed: ${(e as Error)?.message ?? String(e)}` }),
    }),
  ];

  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    void laidOut.then(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify(hello()));
      greeted.add(ws);
    });
    ws.on('close', () => greeted.delete(ws));
    const answer = (error: string) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'error', error }));
    };
    ws.on('message', (data, isBinary) => {
      const command = parseCommand(data, isBinary, () => supervisor.whichChildren().map((c) => c.id));
      if (!command.ok) return answer(command.error);
      // The child may have gone between the check and here, or its actor may refuse: tell the page, never throw.
      try {
        const ref = supervisor.child(command.id);
        if (!ref) return answer(`id must be the id of a child, got ${check.describe(command.id)}`);
        ref.send(command.event as never);
      } catch (e) {
        answer(`cannot send ${command.event.type} to ${check.describe(command.id)}: ${(e as Error)?.message ?? String(e)}`);
      }
    });
  });

  // ws re-emits the http server's errors: without this, a failed listen would also be an uncaught 'error'.
  wss.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
  } catch (error) {
    for (const s of subs) s.unsubscribe();
    wss.close();
    throw new ListenError(`${host}:${port}`, { cause: error });
  }
  const actual = (http.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}/`,
    port: actual,
    async close() {
      for (const s of subs) s.unsubscribe();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
