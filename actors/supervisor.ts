/**
 * `createSupervisor()`: the handle users hold. It runs `supervisorMachine` as
 * the root actor of an XState system (so `clock` and `inspect` reach every
 * child), wires each child's emitted events into RxJS, and turns SENDs into
 * promises.
 */
import { BehaviorSubject, Observable, Subject } from 'rxjs';
import { createActor, type Actor, type AnyActorRef, type AnyStateMachine, type InspectionEvent, type Observer } from 'xstate';
import {
  ClosedError,
  ConnectionFailedError,
  DuplicateIdError,
  SupervisorFailedError,
  UnknownConnectionError,
  type SupervisorReport,
} from '../machines/ports/errors.js';
import * as check from '../machines/ports/check.js';
import { clockNow, realClock, type Clock } from '../machines/ports/clock.js';
import { connectionMachine } from '../machines/connection.machine.js';
import { describeError } from '../machines/ports/errors.js';
import type { ConnectionDataEvent, ConnectionEmitted, ConnectionLogEvent, ConnectionState, LogEventOf } from '../machines/events.js';
import type { LinkRegistry } from '../machines/link-registry.js';
import { resolveOutbox, type OutboxOptions } from '../machines/outbox.js';
import { resolveBackoff, resolvePolicy, type BackoffPolicy, type ReconnectPolicy } from '../machines/policy.js';
import { inState, topState } from '../machines/state.js';
import {
  stopOrphans,
  supervisorMachine,
  type ConnectionRef,
  type ResolvedChildSpec,
  type RestartType,
  type Strategy,
} from '../machines/supervisor.machine.js';
import { checkLink, checkPayload, checkTransport, type Link, type Payload, type Transport } from '../machines/ports/transport.js';
import { acceptedTransport } from './accepted-transport.js';
import { BroadcastMessage } from './broadcast-message.js';
import { HandleFeed, type ConnectionExitReason, type ConnectionHandle, type HandleHost } from './connection-handle.js';
import { record, type RecordOptions, type Recording } from './recorder.js';
import { timerIndex } from './timer-index.js';

/**
 * Console-compatible logger. What the supervisor says at each level:
 * - `error`: it gave up (restart intensity exceeded) and stopped every child;
 * - `warn`: a child exited abnormally (failed, crashed), restarted or not;
 * - `info`: children started, restarted, exited normally; shutdown;
 * - `debug`: nothing yet.
 */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** Says nothing. Pass it to silence even the escalation message (tests that provoke one). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The default logger: `error` calls only, one line each on `console.error`
 * (`meta` is for loggers that keep structure, and is not printed). For a
 * supervisor that is the day it gives up and stops every child (issue 11:
 * that used to happen without a word); a failing child alone is a `warn`, not
 * printed.
 */
export const defaultLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error(message) {
    console.error(`statewire: ${message}`);
  },
};

export interface SupervisorOptions {
  /** Name in reports and logs. Default `'supervisor'`. */
  id?: string;
  /**
   * Which children restart when one exits abnormally. Default `'one_for_one'`.
   * - `one_for_one`: only that child;
   * - `one_for_all`: every child (stopped in reverse start order, restarted in start order);
   * - `rest_for_one`: that child and every child started after it.
   */
  strategy?: Strategy;
  /** Restart intensity: more than this many restarts within `periodMs` and the supervisor gives up. Default 3. */
  maxRestarts?: number;
  /** The sliding window for `maxRestarts`, ms on the actor clock. Default 5000. */
  periodMs?: number;
  /** The actor system's clock (e.g. XState's `SimulatedClock`). Default: real time. */
  clock?: Clock;
  /** An XState inspector (`createActor`'s `inspect` option): sees the whole system. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * Where supervision decisions are logged (see `Logger` for the levels).
   * Default `defaultLogger`: errors only (a supervisor giving up) on
   * `console.error`. `silentLogger` says nothing.
   */
  logger?: Logger;
  /**
   * Restart a child that failed permanently (its output's reason is
   * `'permanent_failure'`: the same 401/403 `policy.maxPermanentFailures`
   * times in a row) like any other failed child. Default false: restarting
   * cannot fix rejected credentials, so such a child stays `failed`, whatever
   * its restart type, does not count toward `maxRestarts`, and comes back only
   * by `restartChild(id)`. Its siblings are not touched.
   */
  restartPermanentFailures?: boolean;
  /**
   * Delay of automatic restarts, as Akka's BackoffSupervisor does: a child's
   * n-th restart since it was last stable (EVENT_CONNECTION_STABLE, after its
   * `policy.stableAfterMs` connected) is spawned at once (sends queue in its
   * outbox) and connected after `backoffDelay(n, restartBackoff)` on the actor
   * clock; one_for_all/rest_for_one siblings wait with it. A crash-looping
   * child then takes seconds, not milliseconds, to use up `maxRestarts`.
   * `restartChild(id)` is at once and starts the backoff over.
   * Default `{ initialBackoffMs: 100, maxBackoffMs: 10000, factor: 2, jitter: 0.1, jitterMode: 'relative' }`.
   *
   * @example createSupervisor({ restartBackoff: { initialBackoffMs: 500, jitterMode: 'full' } })
   */
  restartBackoff?: Partial<BackoffPolicy>;
}

export interface ChildSpec {
  /** Unique among this supervisor's children. */
  id: string;
  transport: Transport;
  /**
   * OTP restart type. Default `'permanent'`.
   * - `permanent`: restarted after any exit (failed, crashed, or a normal DISCONNECT);
   * - `transient`: restarted only after an abnormal exit (failed or crashed);
   * - `temporary`: never restarted; removed when it exits.
   */
  restart?: RestartType;
  policy?: Partial<ReconnectPolicy>;
  outbox?: OutboxOptions;
  /** How long a graceful close may take on `stopChild`/`shutdown` before the link is dropped. Default 5000. */
  shutdownMs?: number;
  /** Connect as soon as it starts. Default true. */
  autoConnect?: boolean;
  /** A `connectionMachine.provide(...)` variant to run instead of `connectionMachine`. */
  machine?: AnyStateMachine;
  /** Jitter source, for deterministic tests (`seededRandom(1)`). */
  random?: () => number;
}

export interface ChildInfo {
  id: string;
  kind: string;
  state: ConnectionState;
  restart: RestartType;
  restarts: number;
}

export interface SendOptions {
  /** Drop (and reject) instead of queueing when not connected: for real-time readings. */
  volatile?: boolean;
}

export interface AdoptOptions {
  /** The child id; unique under the supervisor. */
  id: string;
  /** The transport kind shown in `whichChildren()` and errors (`'unix'`, `'websocket'`, ...). */
  kind: string;
  /** The child's outbox (sends made before its link counts as open). Default: the machine's. */
  outbox?: OutboxOptions;
  /** How long a graceful close may take on stop, ms. Default 5000. */
  shutdownMs?: number;
}

export interface BroadcastOptions extends SendOptions {
  /** Only these children. */
  ids?: readonly string[];
  /** Only children for which this returns true. */
  filter?: (child: ChildInfo) => boolean;
}

export interface BroadcastResult {
  /** Children whose link accepted the data. */
  delivered: string[];
  /** Children not connected: the message waits in their outbox. */
  queued: string[];
  /** Children that could not take it, with why. */
  failed: Array<{ id: string; error: Error }>;
}

export interface Supervisor {
  readonly id: string;
  /** The root actor: `from(supervisor.actor)` gives its snapshots; `toPromise(actor)` its final report. */
  readonly actor: Actor<typeof supervisorMachine>;
  /**
   * Start a child. Throws a TypeError/RangeError for a bad spec, a
   * `DuplicateIdError` when the id is taken, a `ClosedError` (code
   * `ERR_SUPERVISOR_STOPPED`) after `shutdown()`, a `SupervisorFailedError`
   * once the supervisor gave up. `restartChild` and `adopt` throw the same.
   */
  startChild(spec: ChildSpec): ConnectionRef;
  stopChild(id: string): Promise<void>;
  restartChild(id: string): ConnectionRef;
  whichChildren(): ChildInfo[];
  child(id: string): ConnectionRef | undefined;
  /**
   * A handle on one child: its own `state$`, `events$`, `data$`, `send`,
   * `lastError` and `closed`, across restarts. The same handle for the same
   * child while it is supervised. Throws `UnknownConnectionError` when no
   * child has this id.
   */
  connection(id: string): ConnectionHandle;
  /**
   * Adopt a link a server accepted: it becomes a `temporary` child that never
   * reconnects (`policy.reconnect: false`) and is removed when the link ends.
   * This is how every server side (UNIX listener, TaskLogHub, ...) supervises
   * what it accepts.
   */
  adopt(link: Link, options: AdoptOptions): ConnectionHandle;
  /** The actor system's clock (the `clock` option, or real time): facades built on this supervisor use it too. */
  readonly clock: Clock;
  send(id: string, data: Payload, options?: SendOptions): Promise<void>;
  broadcast(data: Payload, options?: BroadcastOptions): Promise<BroadcastResult>;
  /** Every child's structured events, merged. */
  readonly events$: Observable<ConnectionLogEvent>;
  /** Every child's inbound data, merged. */
  readonly data$: Observable<ConnectionDataEvent>;
  /** Every XState inspection event of the supervisor's system (what `inspect` sees), while subscribed. */
  readonly inspection$: Observable<InspectionEvent>;
  /** `{ [childId]: state }` on every change, starting with the current one. */
  readonly state$: Observable<Record<string, ConnectionState>>;
  /** Why the supervisor failed, once it has. */
  readonly report: SupervisorReport | undefined;
  /** The flight recorder: this supervisor's events and children, as NDJSON in `file`, until `stop()` (see ./recorder.ts). */
  record(file: string, options?: RecordOptions): Recording;
  /** Stop every child in reverse start order, each within its `shutdownMs`; resolves when all links are closed. */
  shutdown(options?: { timeoutMs?: number }): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const STRATEGIES: readonly Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one'];

/** Every adopted child's policy: one frozen object for all of them, not a copy each (issue 15). */
const ADOPTED_POLICY: Readonly<ReconnectPolicy> = Object.freeze(resolvePolicy({ reconnect: false }));
const RESTARTS: readonly RestartType[] = ['permanent', 'transient', 'temporary'];

/**
 * The data path. While a stock `connectionMachine` child is `connected`, its
 * SEND transition only forwards the data to the open link: no state or
 * context changes. The supervisor then writes to that link itself, in the
 * same order and with the same outcome (the link's promise), without an
 * XState event per message per child. Children running a custom `machine`
 * (which may change what SEND does) and every other state take the event path.
 * Trade-off: the inspector does not see these SEND events.
 *
 * The link comes from `links`, which every child's transport actor tells of
 * its link; it is used only when it belongs to the child's current attempt
 * (`gen`), so a late report from an older attempt is never written to.
 * `directLink` is that link, or undefined when the child takes the event path.
 * A broadcast asks it for every child: the snapshot it found on the data path
 * is kept with the link, and the same snapshot (immutable: any change is a
 * new one) is not looked into again. That saves reading four objects per
 * child (status, state value, context), about a third of the supervisor's
 * time per child in a broadcast to 1,000 sockets (issue 15).
 */
function directLink(links: ReadonlyMap<string, LinkEntry>, id: string, ref: ConnectionRef, snapshot: ReturnType<ConnectionRef['getSnapshot']>): Link | undefined {
  const entry = links.get(id);
  return entry && directLinkOf(entry, ref, snapshot);
}

function directLinkOf(entry: LinkEntry, ref: ConnectionRef, snapshot: ReturnType<ConnectionRef['getSnapshot']>): Link | undefined {
  if (entry.direct === snapshot) return entry.link;
  if (snapshot.status !== 'active' || entry.gen !== snapshot.context.gen || !inState(snapshot, 'connected')) return undefined;
  if ((ref as unknown as { logic: unknown }).logic !== connectionMachine) return undefined;
  entry.direct = snapshot;
  entry.ref = ref;
  return entry.link;
}

function directSend(
  links: ReadonlyMap<string, LinkEntry>,
  ref: ConnectionRef,
  snapshot: ReturnType<ConnectionRef['getSnapshot']>,
  data: Payload,
): Promise<void> | undefined {
  return directLink(links, snapshot.context.id, ref, snapshot)?.send(data);
}

/** What the registry keeps per child: its current attempt's link. */
interface LinkEntry {
  gen: number;
  link: Link;
  /** The child's snapshot `directLink` last found on the data path with this link, and its actor. */
  direct: object | undefined;
  ref: ConnectionRef | undefined;
  /** The last broadcast (its number) this link was given: an id named twice gets it once. */
  round: number;
}

/** The private emit of an XState actor (what the machine's `emit` action calls); undefined if this XState has none. */
type ActorEmit = (event: ConnectionDataEvent) => void;
const actorEmit = (ref: AnyActorRef): ActorEmit | undefined => {
  const scope = (ref as unknown as { _actorScope?: { emit?: ActorEmit } })._actorScope;
  return typeof scope?.emit === 'function' ? scope.emit : undefined;
};

/**
 * The inbound data path, the mirror of `directSend`. While a stock
 * `connectionMachine` child is `connected` with no stale-link check, a
 * `LINK_DATA` event only emits a `DATA` event (no state or context change).
 * The supervisor then emits that same event on the child itself, through the
 * actor's own emitter, so every listener (`handle.data$`, `data$`,
 * `connectionData$(ref)`) gets it exactly as before, without the XState
 * macrostep per chunk (14 µs of a 64-byte echo round trip, bench/RESULTS.md
 * group:tcp). Order is kept: the transport actor reads the link only once
 * LINK_OPEN has been processed (the child is `connected` and idle), and a
 * child whose chunks take the event path (a custom machine, a stale-link
 * check) takes it for every chunk. Trade-off, as for sends: the inspector
 * does not see these LINK_DATA events.
 */
function deliverDirect(entry: LinkEntry | undefined, ref: AnyActorRef | undefined, gen: number, id: string, data: Payload): boolean {
  if (!entry || entry.gen !== gen || !ref || (ref as unknown as { logic: unknown }).logic !== connectionMachine) return false;
  const snapshot = ref.getSnapshot() as ReturnType<ConnectionRef['getSnapshot']>;
  if (snapshot.status !== 'active' || snapshot.context.gen !== gen || !inState(snapshot, 'connected') || snapshot.context.policy.staleAfterMs > 0) return false;
  const emit = actorEmit(ref);
  if (!emit) return false;
  emit({ type: 'DATA', connectionId: id, timestamp: clockNow(ref), data });
  return true;
}

/** One registry per supervisor: child id → the link of its current attempt. */
function linkRegistry(childRef: (id: string) => AnyActorRef | undefined): { links: Map<string, LinkEntry>; registry: LinkRegistry } {
  const links = new Map<string, LinkEntry>();
  return {
    links,
    registry: {
      opened(id, gen, link) {
        links.set(id, { gen, link, direct: undefined, ref: undefined, round: 0 });
      },
      closed(id, gen) {
        // Only its own entry: a restarted child's new actor may have registered since.
        if (links.get(id)?.gen === gen) links.delete(id);
      },
      data(id, gen, data) {
        return deliverDirect(links.get(id), childRef(id), gen, id, data);
      },
    },
  };
}

export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  const opts = validateOptions(options);
  const { clock, logger } = opts;
  const events$ = new Subject<ConnectionLogEvent>();
  const data$ = new Subject<ConnectionDataEvent>();
  // No prototype: a child may be called 'constructor' or '__proto__'.
  const states: Record<string, ConnectionState> = Object.create(null);
  const state$ = new BehaviorSubject<Record<string, ConnectionState>>({});
  const listeners = new Map<string, { unsubscribe(): void }>();
  /** Handles given out by `connection(id)`, by child id. */
  const feeds = new Map<string, HandleFeed>();
  const { links, registry } = linkRegistry((id) => childRef(id));
  /** Broadcasts made so far: each one's number marks the links it was given (`LinkEntry.round`). */
  let broadcasts = 0;
  let shuttingDown: Promise<void> | undefined;

  // Changes in one turn of the event loop are published together: copying the
  // map per change would cost O(children) each time (O(n²) for n children
  // connecting at once). Every change still reaches state$.
  // With nobody subscribed there is no copy at all, only a mark: the copy is
  // made for the next subscriber. Lost links arrive one I/O callback each, so
  // a server going away used to cost a 1,000-entry copy per child: with 1,000
  // children, 0.7 of the 1.4 s they took to notice (issue 11, bench/RELIABILITY.md).
  let publishPending = false;
  let statesStale = false;
  const publishStates = () => {
    if (!state$.observed) {
      statesStale = true;
      return;
    }
    if (publishPending) return;
    publishPending = true;
    queueMicrotask(() => {
      publishPending = false;
      statesStale = false;
      if (!state$.closed) state$.next({ ...states });
    });
  };
  const stateStream = new Observable<Record<string, ConnectionState>>((subscriber) => {
    if (statesStale && !state$.closed) {
      statesStale = false;
      state$.next({ ...states });
    }
    return state$.subscribe(subscriber);
  });

  // XState cancels a stopping actor's delayed events by scanning the whole system's: index them by actor (timer-index.ts).
  const timers = timerIndex(opts.clock);
  const actor = createActor(supervisorMachine, {
    input: {
      id: opts.id,
      strategy: opts.strategy,
      maxRestarts: opts.maxRestarts,
      periodMs: opts.periodMs,
      links: registry,
      restartPermanentFailures: opts.restartPermanentFailures,
      restartBackoff: opts.restartBackoff,
    },
    clock: timers.clock,
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  timers.install(actor.system);
  // Later observers join through the system's own `inspect`: with none, XState builds no inspection events.
  const inspection$ = new Observable<InspectionEvent>((subscriber) => {
    const sub = actor.system.inspect((event: InspectionEvent) => subscriber.next(event));
    return () => sub.unsubscribe();
  });

  actor.on('CHILD_STARTED', ({ id, ref, restarted }) => {
    listeners.get(id)?.unsubscribe();
    listeners.set(id, wire(id, ref));
    states[id] = topState(ref.getSnapshot());
    publishStates();
    logger.info(restarted ? `restarted child ${id}` : `started child ${id}`, { supervisor: opts.id, child: id });
  });
  actor.on('CHILD_EXITED', ({ id, exit, restart, error, reason, delayMs }) => {
    const log = exit === 'normal' ? logger.info : logger.warn;
    const what =
      reason === 'permanent_failure' && !restart && specOf(id)
        ? `; a permanent failure: not restarted (restartChild('${id}') to try again)`
        : restart
          ? `, restarting${delayMs ? ` in ${delayMs} ms` : ''}`
          : '';
    log.call(logger, `child ${id} exited (${exit}${reason ? `: ${reason}` : ''})${what}`, { supervisor: opts.id, child: id, error, reason, delayMs });
    // A temporary child is removed when it exits: forget it here too, or
    // every server-side connection that came and went would stay in memory.
    // (Emitted events arrive after the transition: by now a removed child's spec is gone.)
    if (!restart && !specOf(id)) release(id, exit, error);
  });
  // Escalation is never silent (issue 11): on events$ (before it completes) and in the default logger.
  actor.on('SUPERVISOR_FAILED', ({ report }) => {
    const failed: LogEventOf<'EVENT_SUPERVISOR_FAILED'> = {
      type: 'EVENT_SUPERVISOR_FAILED',
      connectionId: opts.id,
      timestamp: clockNow(actor),
      state: 'failed',
      reconnectCount: report.restarts,
      data: { report },
    };
    if (!events$.closed) events$.next(failed);
    const { offender } = report;
    const cause = offender.error === undefined ? '' : `; its last error: ${describeCause(offender.error)}`;
    logger.error(
      `supervisor "${opts.id}" gave up (${report.reason}): child "${offender.id}" (${offender.kind}) exited ${offender.exit}, ` +
        `more than ${opts.maxRestarts} restarts within ${opts.periodMs} ms; every child was stopped${cause}`,
      { report },
    );
  });
  // Completed when the supervisor stops for any reason (failed or shut down).
  actor.subscribe({
    complete: () => {
      // Stopped from outside (`supervisor.actor.stop()`): XState did not stop our children (see spawnOne).
      stopOrphans(actor.getSnapshot().context);
      for (const l of listeners.values()) l.unsubscribe();
      listeners.clear();
      // The child whose exit made the supervisor give up ended `failed`; the rest were shut down.
      const offender = actor.getSnapshot().context.report?.offender;
      for (const feed of feeds.values()) {
        const failed = offender?.id === feed.id;
        const error = failed ? (offender!.error ?? lastErrorOf(feed.id)) : lastErrorOf(feed.id);
        feed.end({ id: feed.id, reason: failed ? 'failed' : 'shutdown', state: states[feed.id] ?? 'disconnected', ...(error !== undefined ? { error } : {}) });
      }
      feeds.clear();
      for (const id of Object.keys(states)) delete states[id];
      state$.next({});
      events$.complete();
      data$.complete();
      state$.complete();
    },
    error: (err) => {
      stopOrphans(actor.getSnapshot().context);
      logger.error('supervisor actor error', { error: err });
    },
  });
  actor.start();

  function wire(id: string, ref: AnyActorRef) {
    return ref.on('*', (event: ConnectionEmitted) => {
      if (event.type === 'DATA') {
        data$.next(event);
        feeds.get(id)?.data(event.data);
        return;
      }
      if (event.type === 'EVENT_STATE_CHANGE') {
        const { to } = event.data;
        if (childRef(id) === ref) {
          states[id] = to;
          publishStates();
          // Kept beside the state: once the supervisor drops the ref (escalation), the handle still says why.
          if (feeds.has(id)) lastErrors.set(id, errorOf(ref));
          feeds.get(id)?.stateChanged(to);
        }
        // Settling in `disconnected` (DISCONNECT, or a closed server-side link) is a normal exit.
        if (to === 'disconnected' && event.data.from !== 'disconnected') {
          actor.send({ type: 'CHILD_EXIT', id, ref, exit: 'normal' });
        }
      }
      // Stable: its restart backoff starts over.
      if (event.type === 'EVENT_CONNECTION_STABLE') actor.send({ type: 'CHILD_STABLE', id, ref });
      events$.next(event);
      feeds.get(id)?.event(event);
    });
  }

  const lastErrors = new Map<string, unknown>();
  const lastErrorOf = (id: string): unknown => {
    const ref = childRef(id);
    return ref ? errorOf(ref) : lastErrors.get(id);
  };
  /** Stops in progress, by id: a second stop waits for the first instead of racing it. */
  const stopping = new Map<string, Promise<void>>();

  /** The child left for good: drop what we kept for it and end its handle. */
  function release(id: string, reason: ConnectionExitReason, error?: unknown) {
    const state = states[id] ?? 'disconnected';
    const lastError = error ?? lastErrorOf(id);
    listeners.get(id)?.unsubscribe();
    listeners.delete(id);
    if (id in states) {
      delete states[id];
      publishStates();
    }
    const feed = feeds.get(id);
    feeds.delete(id);
    lastErrors.delete(id);
    feed?.end({ id, reason, state, ...(lastError !== undefined ? { error: lastError } : {}) });
  }

  const childRef = (id: string): ConnectionRef | undefined => actor.getSnapshot().context.refs[id] as ConnectionRef | undefined;
  const specOf = (id: string) => actor.getSnapshot().context.specs.get(id);
  const failedError = () => {
    const report = actor.getSnapshot().context.report;
    return report ? new SupervisorFailedError(report) : undefined;
  };

  function requireRunning(what: string) {
    const failed = failedError();
    if (failed) throw failed;
    if (shuttingDown || actor.getSnapshot().status !== 'active') {
      throw new ClosedError(`supervisor "${opts.id}"`, `supervisor "${opts.id}" is shut down: cannot ${what}`, 'ERR_SUPERVISOR_STOPPED');
    }
  }

  /** DISCONNECT and wait (up to `ms`) until the link is really closed. */
  function closeGracefully(ref: AnyActorRef, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: unknown;
      let sub: { unsubscribe(): void } | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        sub?.unsubscribe();
        resolve();
      };
      const check = (snapshot: { status: string; matches?: (v: unknown) => boolean }) => {
        if (snapshot.status !== 'active' || snapshot.matches?.({ disconnected: 'idle' })) finish();
      };
      check(ref.getSnapshot());
      if (done) return;
      sub = ref.subscribe({ next: check, error: finish, complete: finish });
      timer = clock.setTimeout(finish, ms);
      ref.send({ type: 'DISCONNECT' });
    });
  }

  function stopOne(id: string): Promise<void> {
    let p = stopping.get(id);
    if (!p) {
      p = stopNow(id).finally(() => stopping.delete(id));
      stopping.set(id, p);
    }
    return p;
  }

  async function stopNow(id: string) {
    const ref = childRef(id);
    const spec = specOf(id);
    actor.send({ type: 'RELEASE_CHILD', id });
    if (ref && spec) await closeGracefully(ref, spec.shutdownMs);
    actor.send({ type: 'REMOVE_CHILD', id });
    release(id, shuttingDown ? 'shutdown' : 'stopped');
  }

  const info = (spec: ResolvedChildSpec): ChildInfo => ({
    id: spec.id,
    kind: spec.transport.kind,
    state: topState(childRef(spec.id)?.getSnapshot()),
    restart: spec.restart,
    restarts: actor.getSnapshot().context.restarts[spec.id] ?? 0,
  });

  /** How every handle reaches its child: one for all of them, not closures per handle (issue 15). */
  const handleHost: HandleHost = {
    // The child's own context first: a lookup by id, where the spec is a search of every spec.
    kind: (id) => childRef(id)?.getSnapshot().context.kind ?? specOf(id)?.transport.kind ?? 'unknown',
    state: (id) => (childRef(id) ? topState(childRef(id)!.getSnapshot()) : (states[id] ?? 'disconnected')),
    lastError: (id) => lastErrorOf(id),
    send: (id, data, o) => supervisor.send(id, data, o),
    command: (id, event) => childRef(id)?.send(event),
    stop: (id) => (specOf(id) || stopping.has(id) ? stopOne(id) : Promise.resolve()),
    publish: (id, type, data) => {
      const ref = childRef(id);
      if (!ref) return;
      const snapshot = ref.getSnapshot();
      const event = {
        type,
        connectionId: id,
        timestamp: clockNow(actor),
        state: topState(snapshot),
        reconnectCount: snapshot.context.reconnectCount,
        data,
      } as ConnectionLogEvent;
      events$.next(event);
      feeds.get(id)?.event(event);
    },
  };

  const supervisor: Supervisor = {
    id: opts.id,
    actor,
    clock,
    events$: events$.asObservable(),
    data$: data$.asObservable(),
    state$: stateStream,
    inspection$,
    get report() {
      return actor.getSnapshot().context.report;
    },

    startChild(spec) {
      const resolved = resolveSpec(spec);
      requireRunning('start a child');
      if (childRef(resolved.id) || specOf(resolved.id)) throw new DuplicateIdError(resolved.id);
      actor.send({ type: 'START_CHILD', spec: resolved });
      const ref = childRef(resolved.id);
      if (!ref) throw failedError() ?? new Error(`child "${resolved.id}" did not start`);
      return ref;
    },

    async stopChild(id) {
      checkId(id);
      if (!specOf(id) && !stopping.has(id)) throw new UnknownConnectionError(id);
      await stopOne(id);
    },

    restartChild(id) {
      checkId(id);
      requireRunning('restart a child');
      if (!specOf(id)) throw new UnknownConnectionError(id);
      actor.send({ type: 'RESTART_CHILD', id });
      return childRef(id)!;
    },

    whichChildren() {
      return Array.from(actor.getSnapshot().context.specs, info);
    },

    child(id) {
      checkId(id);
      return childRef(id);
    },

    connection(id) {
      checkId(id);
      let feed = feeds.get(id);
      if (feed) return feed;
      if (!specOf(id)) throw new UnknownConnectionError(id);
      feed = new HandleFeed(id, handleHost);
      feeds.set(id, feed);
      return feed;
    },

    adopt(link, adoptOptions) {
      check.object(adoptOptions, 'options', '{ id, kind }');
      const { id, kind } = adoptOptions;
      checkLink(link, 'link');
      check.nonEmptyString(kind, 'options.kind');
      try {
        supervisor.startChild({
          id,
          transport: acceptedTransport(link, kind),
          restart: 'temporary',
          policy: ADOPTED_POLICY,
          ...(adoptOptions.outbox ? { outbox: adoptOptions.outbox } : {}),
          ...(adoptOptions.shutdownMs !== undefined ? { shutdownMs: adoptOptions.shutdownMs } : {}),
        });
      } catch (error) {
        // Refused (shut down): nobody else will close an accepted socket. A
        // taken id leaves the link open, so the caller can adopt it under another.
        if (!(error instanceof DuplicateIdError)) void link.close().catch(() => {});
        throw error;
      }
      return supervisor.connection(id);
    },

    send(id, data, sendOptions = {}) {
      try {
        checkId(id);
        checkPayload(data, 'data');
        checkSendOptions(sendOptions);
      } catch (err) {
        return Promise.reject(err);
      }
      const failed = failedError();
      if (failed) return Promise.reject(failed);
      const ref = childRef(id);
      if (!ref) return Promise.reject(new UnknownConnectionError(id));
      const snapshot = ref.getSnapshot();
      if (snapshot.status !== 'active') {
        return Promise.reject(new ConnectionFailedError(id, snapshot.context.reconnectCount, { cause: snapshot.context.lastError }));
      }
      return directSend(links, ref, snapshot, data) ?? new Promise<void>((resolve, reject) => {
        ref.send({ type: 'SEND', data, volatile: sendOptions.volatile === true, ticket: { resolve, reject } });
      });
    },

    async broadcast(data, broadcastOptions = {}) {
      checkPayload(data, 'data');
      checkSendOptions(broadcastOptions);
      const { ids, filter } = broadcastOptions;
      if (ids !== undefined && (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string'))) {
        throw new TypeError('options.ids must be an array of child ids');
      }
      if (filter !== undefined) check.func(filter, 'options.filter');
      const failed = failedError();
      if (failed) throw failed;
      const volatile = broadcastOptions.volatile === true;
      const specs = actor.getSnapshot().context.specs;
      // Children on the data path share one message (one encoding, outcomes
      // counted, no promise per child: actors/broadcast-message.ts); the rest
      // take the event path, as `send` does.
      const message = new BroadcastMessage(data);
      const round = ++broadcasts;
      const others: Array<{ id: string; sent: Promise<void>; connected: boolean; refused?: Error }> = [];
      const unknown: string[] = [];
      const eventPath = (id: string, ref: ConnectionRef | undefined) => {
        const snapshot = ref?.getSnapshot();
        const other: (typeof others)[number] = { id, sent: undefined!, connected: snapshot?.status === 'active' && inState(snapshot, 'connected') };
        other.sent = supervisor.send(id, data, { volatile }).catch((error: Error) => {
          other.refused = error;
          throw error;
        });
        others.push(other);
      };
      if (ids && !filter) {
        // By id, as TaskLogHub names its viewers: no set of the ids and no
        // walk over every child (each is one more object read per child).
        let taken: Set<string> | undefined;
        for (const id of ids) {
          const entry = links.get(id);
          // The actor of a link's child, kept with the link once found: a restarted or removed child's link is gone from `links` with its actor.
          const ref = entry?.ref ?? childRef(id);
          if (entry !== undefined && ref !== undefined) {
            if (entry.round === round) continue; // named twice
            const link = directLinkOf(entry, ref, ref.getSnapshot());
            if (link) {
              entry.round = round;
              message.sendTo(id, link);
              continue;
            }
          }
          taken ??= new Set();
          if (taken.has(id)) continue;
          taken.add(id);
          // A child being stopped keeps its actor a while, but is no longer one of the children.
          if (specs.get(id)) eventPath(id, childRef(id));
          else unknown.push(id);
        }
      } else {
        const wanted = ids ? new Set(ids) : undefined;
        let found = 0;
        for (const spec of specs) {
          if (wanted) {
            if (!wanted.has(spec.id)) continue;
            found++;
          }
          if (filter && !filter(info(spec))) continue;
          const ref = childRef(spec.id);
          const link = ref ? directLink(links, spec.id, ref, ref.getSnapshot()) : undefined;
          if (link) message.sendTo(spec.id, link);
          else eventPath(spec.id, ref);
        }
        if (wanted && found < wanted.size) {
          for (const id of wanted) if (!specs.get(id)) unknown.push(id);
        }
      }
      message.seal();
      // Every write above happened before this first await, so a `send` made
      // after `broadcast()` returns comes after the broadcast on every child.
      // One microtask: sends refused on the spot (volatile, an outbox that
      // rejects) have settled by now; the others wait in an outbox.
      await Promise.resolve();
      const result: BroadcastResult = { delivered: [], queued: [], failed: [] };
      const pending: Promise<void>[] = [];
      for (const o of others) {
        if (o.connected) {
          pending.push(o.sent.then(() => void result.delivered.push(o.id), (error: Error) => void result.failed.push({ id: o.id, error })));
        } else {
          o.sent.catch(() => {}); // a later drop is reported on events$ (EVENT_MESSAGE_DROPPED / EVENT_OUTBOX_OVERFLOW)
          if (o.refused) result.failed.push({ id: o.id, error: o.refused });
          else result.queued.push(o.id);
        }
      }
      for (const id of unknown) result.failed.push({ id, error: new UnknownConnectionError(id) });
      await Promise.all([message.settled, Promise.all(pending)]);
      const { ids: sentTo, errors } = message;
      for (let slot = 0; slot < sentTo.length; slot++) {
        const error = errors.size === 0 ? undefined : errors.get(slot);
        if (error === undefined) result.delivered.push(sentTo[slot]!);
        else result.failed.push({ id: sentTo[slot]!, error });
      }
      return result;
    },

    shutdown(shutdownOptions = {}) {
      check.object(shutdownOptions, 'options');
      const timeoutMs = check.duration(shutdownOptions.timeoutMs, 'options.timeoutMs', { allowZero: false });
      shuttingDown ??= (async () => {
        if (actor.getSnapshot().status !== 'active') return;
        actor.send({ type: 'SHUTDOWN' });
        const ordered = actor.getSnapshot().context.specs.reversed();
        let timer: unknown;
        const deadline =
          timeoutMs === undefined ? undefined : new Promise<void>((resolve) => (timer = clock.setTimeout(() => resolve(), timeoutMs)));
        const graceful = (async () => {
          for (const spec of ordered) await stopOne(spec.id);
        })();
        await (deadline ? Promise.race([graceful, deadline]) : graceful);
        if (timer !== undefined) clock.clearTimeout(timer);
        // Past the deadline, whatever is left is stopped at once (its link is closed by the transport actor's cleanup).
        actor.send({ type: 'SHUTDOWN_DONE' });
        logger.info(`supervisor ${opts.id} shut down`);
      })();
      return shuttingDown;
    },

    record: (file, recordOptions) => record(supervisor, file, recordOptions),

    [Symbol.asyncDispose]() {
      return supervisor.shutdown();
    },
  };
  return supervisor;
}

function validateOptions(o: SupervisorOptions) {
  check.object(o, 'options');
  const id = check.nonEmptyString(o.id ?? 'supervisor', 'options.id');
  const strategy = check.oneOf(o.strategy ?? 'one_for_one', 'options.strategy', STRATEGIES);
  const maxRestarts = check.integer(o.maxRestarts ?? 3, 'options.maxRestarts', { min: 0 });
  // Only compared with clock readings, never a timer: Infinity (a window that never slides) is fine.
  const periodMs = check.finiteNumber(o.periodMs ?? 5000, 'options.periodMs', { min: 0, exclusiveMin: true, allowInfinity: true });
  if (o.clock !== undefined) check.hasMethods(o.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  const logger = o.logger ?? defaultLogger;
  for (const m of ['debug', 'info', 'warn', 'error'] as const) check.func(logger[m], `options.logger.${m}`);
  if (o.inspect !== undefined) check.shape(o.inspect, 'options.inspect', {}, 'an inspection observer or function');
  const clock: Clock = o.clock ?? realClock;
  const restartPermanentFailures = check.boolean(o.restartPermanentFailures ?? false, 'options.restartPermanentFailures');
  const restartBackoff = resolveBackoff(o.restartBackoff, 'options.restartBackoff');
  return { id, strategy, maxRestarts, periodMs, clock, logger, restartPermanentFailures, restartBackoff };
}

/** A child's last error, from its snapshot: the one place the supervisor handle reads it. */
function errorOf(ref: AnyActorRef): unknown {
  return (ref.getSnapshot() as { context?: { lastError?: unknown } }).context?.lastError;
}

function checkId(id: unknown): asserts id is string {
  check.nonEmptyString(id, 'id');
}

function checkSendOptions(o: SendOptions) {
  check.object(o, 'options');
  if (o.volatile !== undefined) check.boolean(o.volatile, 'options.volatile');
}

function resolveSpec(spec: ChildSpec): ResolvedChildSpec {
  check.object(spec, 'spec', '{ id, transport, ... }');
  checkId(spec.id);
  checkTransport(spec.transport, 'spec.transport');
  const restart = check.oneOf(spec.restart ?? 'permanent', 'spec.restart', RESTARTS);
  const shutdownMs = check.finiteNumber(spec.shutdownMs ?? 5000, 'spec.shutdownMs', { min: 0, exclusiveMin: true, max: check.MAX_TIMER_MS });
  if (spec.autoConnect !== undefined) check.boolean(spec.autoConnect, 'spec.autoConnect');
  if (spec.machine !== undefined) check.shape(spec.machine, 'spec.machine', { provide: 'function' }, 'a state machine (connectionMachine.provide(...))');
  if (spec.random !== undefined) check.func(spec.random, 'spec.random');
  resolvePolicy(spec.policy, 'spec.policy'); // validate now: errors belong to the caller, not to the child
  resolveOutbox(spec.outbox, 'spec.outbox');
  return {
    id: spec.id,
    transport: spec.transport,
    restart,
    policy: spec.policy,
    outbox: spec.outbox,
    shutdownMs,
    autoConnect: spec.autoConnect ?? true,
    machine: spec.machine ?? connectionMachine,
    random: spec.random,
  };
}

/** One line for an error in a log message: its code and message. */
function describeCause(error: unknown): string {
  const d = describeError(error);
  return d ? `${d.code ? `${d.code} ` : ''}${d.message}` : String(error);
}
