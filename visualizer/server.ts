/**
 * `serveVisualizer(supervisor, { port })`: a small HTTP server with the
 * visualizer page and a WebSocket stream (`/events`) of the fleet: its
 * children (the records of actors/fleet-records.ts folded into rows), the
 * structured log events, and the power readings of radio links (see
 * `./power.ts`). The page sends real events back to a connection's actor:
 * drop link (RECONNECT), TX drop, disconnect, connect. What a page sends is
 * checked before it reaches an actor (`parseCommand`): anything else is
 * answered with `{ type: 'error', error }` (issue 11).
 * Everything the page uses is served from this package: no CDN. The
 * statechart comes laid out (`layoutMachine`, ELK, computed once per machine
 * while the server starts listening) in the first message, `hello`, and at
 * `/layout.json`; `/graph.json` is the flat graph of the states a connection
 * can be in.
 *
 * Fleets of thousands (issue 17 §2): a page gets a `hello` with every row,
 * then at most one `batch` per `batchMs` (default 100: ten a second) with
 * the rows that changed since the last one (each once, however often it
 * changed), the ids removed, the log events (the newest 200; `logDropped`
 * says how many more), the power readings and alarms. A burst of 10,000 state
 * changes is one batch.
 *
 * @example
 * ```ts
 * const viz = await serveVisualizer(supervisor, { port: 4400 });
 * console.log(`visualizer at ${viz.url}`);
 * await viz.close();
 * ```
 */
import type { Observable } from 'rxjs';
import { WebSocket } from 'ws';
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import type { Supervisor } from '../actors/supervisor.js';
import { jsonText, watchFleet } from '../actors/fleet-records.js';
import * as check from '../machines/ports/check.js';
import { describeError } from '../machines/ports/errors.js';
import { nowOf } from '../machines/ports/clock.js';
import { connectionMachine } from '../machines/connection.machine.js';
import type { ConnectionLogEvent } from '../machines/events.js';
import { checkAllowedOrigins } from '../transports/websocket/origin.js';
import { topState } from '../machines/state.js';
import { FleetModel } from './fleet.js';
import { machineGraph } from './graph.js';
import { layoutMachine, type MachineLayout } from './layout.js';
import { PageOutlet, startPageServer } from './page-server.js';
import { PowerHistory, asReading, isPowerAlarm, powerReadings, powerThresholds, readingOf, type PowerReading, type PowerThresholds } from './power.js';

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
   * What the power chart draws as its alarm line and says in its legend:
   * a reading under `zeroW` watts is a zero; `warningAfter` zeros in a row
   * are a warning, `criticalAfter` critical. Default the radio link's
   * PowerMonitor: `{ zeroW: 0.1, warningAfter: 1, criticalAfter: 3 }`. The
   * alarms themselves are the ones the links publish.
   * @example serveVisualizer(supervisor, { powerThresholds: { zeroW: 0.5 } })
   */
  powerThresholds?: Partial<PowerThresholds>;
  /**
   * The shortest time between two updates of a page, ms: changes in between
   * are sent together, each child's once. Default 100 (ten a second).
   * @example serveVisualizer(supervisor, { batchMs: 250 })
   */
  batchMs?: number;
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
export const DEFAULT_EVENTS_MAX_PAYLOAD = 16 * 1024;
/** Log events in one batch (the newest); the rest are counted in `logDropped`. */
export const LOG_PER_BATCH = 200;
/** Recent log events kept for a new page and for a selected connection's history. */
const RECENT_EVENTS = 2000;
/** Events of one selected connection sent with its history, and kept per batch beyond LOG_PER_BATCH. */
const SELECTED_EVENTS = 100;
/** Power readings in one batch (the newest). */
export const POWER_PER_BATCH = 1000;

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

/** A page's request, validated: an event for a child, a child to follow (`select`, null: none), or what was wrong. */
type Command = { ok: true; id: string; event: { type: string } } | { ok: true; select: string | null } | { ok: false; error: string };

/** A message from a page as an object with its own `action` and `id`, or what was wrong with it. Nothing here throws. */
export function parseMessage(data: unknown, isBinary: boolean): { ok: true; action: unknown; id: unknown; msg: Record<string, unknown> } | { ok: false; error: string } {
  if (isBinary) return { ok: false, error: 'expected a text frame with JSON { action, id }' };
  let msg: unknown;
  try {
    msg = JSON.parse(String(data));
  } catch {
    return { ok: false, error: 'not JSON: expected { action, id }' };
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return { ok: false, error: `expected a JSON object { action, id }, got ${check.describe(msg)}` };
  const own = (key: string) => (Object.hasOwn(msg as object, key) ? (msg as Record<string, unknown>)[key] : undefined);
  return { ok: true, action: own('action'), id: own('id'), msg: msg as Record<string, unknown> };
}

/** Read one message from a page (any peer can open the socket): only own properties are read. */
function parseCommand(data: unknown, isBinary: boolean, isChild: (id: string) => boolean): Command {
  const parsed = parseMessage(data, isBinary);
  if (!parsed.ok) return parsed;
  const { action, id } = parsed;
  if (action === 'select') {
    if (id === null || id === '') return { ok: true, select: null };
    if (typeof id !== 'string' || !isChild(id)) return { ok: false, error: `id must be the id of a child or null, got ${check.describe(id)}` };
    return { ok: true, select: id };
  }
  const event = typeof action === 'string' ? ACTIONS.get(action) : undefined;
  if (!event) return { ok: false, error: `action must be one of ${[...ACTIONS.keys(), 'select'].join(', ')}, got ${check.describe(action)}` };
  if (typeof id !== 'string' || !isChild(id)) return { ok: false, error: `id must be the id of a child, got ${check.describe(id)}` };
  return { ok: true, id, event };
}

/** One inspection event as plain JSON, or undefined for events the page does not use. (The page now reads fleet records; kept for users who stream inspection events themselves.) */
export function toWire(e: InspectionEvent): Record<string, unknown> | undefined {
  const ref = e.actorRef as unknown as { id: string; sessionId: string; logic?: { id?: string; config?: { id?: string } } };
  const machineId = ref.logic?.config?.id ?? ref.logic?.id;
  if (e.type === '@xstate.snapshot') {
    const snap = e.snapshot as unknown as { value?: unknown; status: string; context?: Record<string, unknown> };
    if (machineId === 'supervisor') {
      const c = snap.context ?? {};
      const specs = [...((c.specs as Iterable<{ id: string; transport: { kind: string }; restart: string }> | undefined) ?? [])];
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

/**
 * The statechart of `machine` laid out by ELK (issue 17), started now and
 * not awaited (a cold layout takes a second or two): `ready` resolves when
 * `layout` is there. A machine ELK cannot lay out still gets its page, with
 * the reason where the chart would be.
 */
export function startLayout(machine: AnyStateMachine): { ready: Promise<void>; readonly layout: MachineLayout | { error: string } | undefined } {
  let layout: MachineLayout | { error: string } | undefined;
  const ready = layoutMachine(machine).then(
    (l) => void (layout = l),
    (e: unknown) => void (layout = { error: `cannot lay out the statechart: ${(e as Error)?.message ?? String(e)}` }),
  );
  return {
    ready,
    get layout() {
      return layout;
    },
  };
}

/** The supervisor's state name: `running`, `failed`, `stopped` (its actor done). */
function supervisorState(supervisor: Supervisor): string {
  const snap = supervisor.actor.getSnapshot();
  if (snap.status !== 'active') return snap.value === 'failed' ? 'failed' : 'stopped';
  return typeof snap.value === 'string' ? snap.value : Object.keys(snap.value as object)[0] ?? 'unknown';
}

/** Keeps the newest `max` of what is pushed (amortized: trimmed once it holds twice as many). */
class Recent<T> {
  items: T[] = [];
  constructor(readonly max: number) {}
  push(item: T) {
    this.items.push(item);
    if (this.items.length >= 2 * this.max) this.items = this.items.slice(-this.max);
  }
  newest(n = this.max): T[] {
    return this.items.slice(-Math.min(n, this.max));
  }
}

/**
 * What every page server (live or replay) takes and checks alike: where it
 * listens, who may connect, frame and batch sizes, and the machine it draws,
 * whose graph and layout it serves.
 */
export function pageOptions(options: Pick<VisualizerOptions, 'port' | 'host' | 'labels' | 'allowedOrigins' | 'maxPayload' | 'batchMs' | 'machine'>) {
  const port = check.integer(options.port ?? 4400, 'options.port', { min: 0, max: 65535 });
  // Never every interface by accident: a host must be named (default loopback).
  const host = check.nonEmptyString(options.host ?? '127.0.0.1', 'options.host');
  const allowedOrigins = checkAllowedOrigins(options.allowedOrigins, 'options.allowedOrigins');
  const maxPayload = check.integer(options.maxPayload ?? DEFAULT_EVENTS_MAX_PAYLOAD, 'options.maxPayload', { min: 1 });
  const batchMs = check.integer(options.batchMs ?? 100, 'options.batchMs', { min: 1 });
  if (options.machine !== undefined) check.shape(options.machine, 'options.machine', { root: 'object', config: 'object' }, 'an XState machine (createMachine() or setup().createMachine())');
  const machine = options.machine ?? connectionMachine;
  const graph = machineGraph(machine);
  const chart = startLayout(machine);
  // The page's JSON routes, the same live and replayed.
  const json = { '/graph.json': () => graph, '/layout.json': () => chart.ready.then(() => chart.layout) };
  return { port, host, allowedOrigins, maxPayload, batchMs, graph, chart, json, labels: options.labels ?? {} };
}

export async function serveVisualizer(supervisor: Supervisor, options: VisualizerOptions = {}): Promise<Visualizer> {
  check.shape(supervisor, 'supervisor', { startChild: 'function' }, 'a Supervisor (createSupervisor())');
  check.object(options, 'options');
  const { port, host, allowedOrigins, maxPayload, batchMs, graph, chart, json, labels } = pageOptions(options);
  const thresholds = powerThresholds(options.powerThresholds, 'options.powerThresholds');
  if (options.power$ !== undefined) check.hasMethods(options.power$, 'options.power$', ['subscribe'], '(an Observable of { connectionId, watts, at })');

  const model = new FleetModel();
  const power = new PowerHistory();
  /**
   * Open pages and the child each follows (`select`): its events are never cut
   * from a batch. Nothing reaches a page before its hello (`greeted`), the picture it starts from.
   */
  const pages = new Map<WebSocket, { selected: string | null; greeted: boolean; outlet: PageOutlet }>();
  const recent = new Recent<ConnectionLogEvent>(RECENT_EVENTS);
  let pendingLog = new Recent<ConnectionLogEvent>(LOG_PER_BATCH);
  let pendingCount = 0;
  let pendingSelected: ConnectionLogEvent[] = [];
  let pendingAlarms: ConnectionLogEvent[] = [];
  let pendingPower = new Recent<PowerReading>(POWER_PER_BATCH);
  let sentState = supervisorState(supervisor);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastFlush = 0;
  let closed = false;

  const selectedBy = (id: string) => {
    for (const p of pages.values()) if (p.selected === id) return true;
    return false;
  };

  /** Everything changed since the last batch, to every page; nothing to send, nothing sent. */
  function flush() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    lastFlush = Date.now();
    watch.reconcile();
    const { rows, removed } = model.take();
    const state = supervisorState(supervisor);
    const log = pendingLog.newest();
    const logDropped = pendingCount - log.length;
    const extra = pendingSelected;
    const batch = {
      type: 'batch',
      now: Math.max(model.now, nowOf(supervisor.clock)),
      rows,
      removed,
      ...(state !== sentState ? { supervisor: { state } } : {}),
      log,
      logDropped,
      alarms: pendingAlarms,
      power: pendingPower.newest(),
    };
    sentState = state;
    pendingLog = new Recent(LOG_PER_BATCH);
    pendingCount = 0;
    pendingSelected = [];
    pendingAlarms = [];
    pendingPower = new Recent(POWER_PER_BATCH);
    const empty = !rows.length && !removed.length && !batch.supervisor && !log.length && !batch.alarms.length && !batch.power.length;
    if (empty || !pages.size) return;
    const text = jsonText(batch);
    const inBatch = new Set(log);
    for (const [ws, page] of pages) {
      if (!page.greeted) continue;
      // A page following a child gets all of its events, even those cut from a busy batch.
      const own = page.selected === null ? [] : extra.filter((e) => e.connectionId === page.selected && !inBatch.has(e));
      page.outlet.sendText(own.length ? jsonText({ ...batch, log: [...own, ...log].sort((a, b) => a.timestamp - b.timestamp), logDropped: logDropped - own.length }) : text);
    }
  }
  function schedule() {
    if (timer !== undefined || closed) return;
    timer = setTimeout(flush, Math.max(0, lastFlush + batchMs - Date.now()));
  }

  const watch = watchFleet(supervisor, {
    onRecord: (record) => {
      model.apply(record);
      if (record.type === 'end') schedule(); // the supervisor stopped: its last diff still goes out
      if (record.type !== 'event') return;
      const e = record.event;
      if (readingOf(e)) return; // readings are drawn, not logged (below, or power$)
      if (isPowerAlarm(e)) {
        power.alarm(e);
        pendingAlarms.push(e);
      }
      recent.push(e);
      if (!pages.size) return;
      pendingLog.push(e);
      pendingCount++;
      if (pendingSelected.length < SELECTED_EVENTS * pages.size && selectedBy(e.connectionId)) pendingSelected.push(e);
    },
    onDirty: schedule,
  });

  const subs = [
    // An outbox that grows while disconnected tells no event: the child's snapshot does.
    supervisor.inspection$.subscribe((e) => {
      if (e.type !== '@xstate.snapshot') return;
      const context = (e.snapshot as { context?: { outbox?: unknown } }).context;
      if (context && Array.isArray(context.outbox)) watch.touch((e.actorRef as unknown as { id: string }).id);
    }),
    (options.power$ ?? powerReadings(supervisor.events$)).subscribe({
      next: (value) => {
        const reading = asReading(value);
        if (!reading) return;
        power.add(reading);
        if (pages.size) pendingPower.push(reading);
        schedule();
      },
      // A failed user stream ends the readings; it must not become an unhandled error (process crash).
      error: (e: unknown) => {
        const text = JSON.stringify({ type: 'error', error: `power$ failed: ${(e as Error)?.message ?? String(e)}` });
        for (const page of pages.values()) if (page.greeted) page.outlet.sendText(text);
      },
    }),
  ];

  const hello = () => ({
    type: 'hello',
    mode: 'live',
    graph,
    layout: chart.layout,
    labels,
    supervisor: { id: supervisor.id, state: supervisorState(supervisor) },
    thresholds,
    now: Math.max(model.now, nowOf(supervisor.clock)),
    rows: model.all(),
    log: recent.newest(LOG_PER_BATCH),
    messages: power.messages(),
  });

  let server;
  try {
    server = await startPageServer({
      port,
      host,
      allowedOrigins,
      maxPayload,
      json,
      onConnection(ws) {
        // A page that stops reading gets nothing more until it catches up, then the whole picture again.
        const page = { selected: null as string | null, greeted: false, outlet: new PageOutlet(ws, hello, batchMs) };
        pages.set(ws, page);
        ws.on('close', () => {
          pages.delete(ws);
          page.outlet.close();
        });
        void chart.ready.then(() => {
          if (closed || ws.readyState !== WebSocket.OPEN) return;
          // The pages already open get what changed first: the new one starts from the same picture.
          flush();
          page.outlet.send(hello());
          page.greeted = true;
        });
        const answer = (error: string) => page.outlet.send({ type: 'error', error });
        ws.on('message', (data, isBinary) => {
          const command = parseCommand(data, isBinary, (id) => model.rows.has(id));
          if (!command.ok) return answer(command.error);
          if ('select' in command) {
            page.selected = command.select;
            if (command.select !== null) {
              const id = command.select;
              page.outlet.send({ type: 'history', id, events: recent.items.filter((e) => e.connectionId === id).slice(-SELECTED_EVENTS) });
            }
            return;
          }
          // The child may have gone between the check and here, or its actor may refuse: tell the page, never throw.
          try {
            const ref = supervisor.child(command.id);
            if (!ref) return answer(`id must be the id of a child, got ${check.describe(command.id)}`);
            ref.send(command.event as never);
          } catch (e) {
            answer(`cannot send ${command.event.type} to ${check.describe(command.id)}: ${(e as Error)?.message ?? String(e)}`);
          }
        });
      },
    });
  } catch (error) {
    for (const s of subs) s.unsubscribe();
    watch.stop();
    throw error;
  }
  const page = server;
  return {
    url: page.url,
    port: page.port,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const s of subs) s.unsubscribe();
      watch.stop();
      for (const p of pages.values()) p.outlet.close();
      pages.clear();
      await page.close();
    },
  };
}
