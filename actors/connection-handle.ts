/**
 * `supervisor.connection(id)`: one child, followed through a handle.
 *
 * The only way a facade follows its connection. The handle's streams carry
 * that child's events alone (the supervisor dispatches to it by id; nothing
 * filters the global `events$`), follow the child across restarts (a
 * restarted child keeps its id), and complete when the child leaves the
 * supervisor for good. A facade never reads `snapshot.context` or imports a
 * machine: what it may know about its child is on this interface.
 *
 * @example
 * ```ts
 * const conn = supervisor.connection('feed');
 * conn.state$.subscribe((state) => console.log('feed is', state));
 * conn.data$.subscribe((data) => console.log('got', data));
 * await conn.send('hello');
 * const exit = await conn.closed; // { exit: 'stopped', state: 'disconnected' }
 * ```
 */
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import * as check from '../machines/ports/check.js';
import type { ConnectionEventData, ConnectionLogEvent, ConnectionState, LogEventType } from '../machines/events.js';
import { UnknownConnectionError } from '../machines/ports/errors.js';
import type { Payload } from '../machines/ports/transport.js';

/**
 * How a child left the supervisor for good:
 * - `normal`: it ended by itself without error (a `temporary` child whose link closed, a DISCONNECT);
 * - `failed`: it ended in `failed` and left (a `temporary` child, or the
 *   offender when the supervisor gave up). A child that failed permanently
 *   (401) under a `permanent`/`transient` spec stays supervised in `failed`
 *   (its `state$` says so; `restartChild` brings it back): `closed` waits;
 * - `crashed`: its actor threw and it was not restarted;
 * - `stopped`: `stopChild`/`handle.stop()` removed it;
 * - `shutdown`: the supervisor shut down, or gave up (restart intensity) and stopped every child.
 */
export type ConnectionExitReason = 'normal' | 'failed' | 'crashed' | 'stopped' | 'shutdown';

/** What `handle.closed` resolves with. */
export interface ConnectionExit {
  id: string;
  reason: ConnectionExitReason;
  /** The top-level state it was in last. */
  state: ConnectionState;
  /** The error behind the exit, or the connection's last error, when there was one. */
  error?: unknown;
}

/** A command a user (or a facade) may give a connection. Data goes through `send`. */
export type ConnectionCommandType = 'CONNECT' | 'DISCONNECT' | 'TX_DROP' | 'RECONNECT' | 'DATA_RECEIVED';

export interface ConnectionHandle {
  /** The child id. */
  readonly id: string;
  /** The transport kind (`'websocket'`, `'unix'`, ...). */
  readonly kind: string;
  /** The current top-level state (`'disconnected'` once the child is gone). */
  readonly state: ConnectionState;
  /** The top-level state, starting with the current one, on every change. Completes when the child is gone. */
  readonly state$: Observable<ConnectionState>;
  /** This child's structured events (`EVENT_*`), across restarts. Completes when the child is gone. */
  readonly events$: Observable<ConnectionLogEvent>;
  /** This child's inbound data, in arrival order. Completes when the child is gone. */
  readonly data$: Observable<Payload>;
  /** The error that ended the last attempt or link (a typed `ConnectionError`), undefined after a stable connection. */
  readonly lastError: unknown;
  /** Resolves once, when the child has left the supervisor for good; never rejects. */
  readonly closed: Promise<ConnectionExit>;
  /**
   * Send through the supervisor (data path, outbox, typed rejections): same as
   * `supervisor.send(id, ...)`. Once the child is gone it rejects with
   * `UnknownConnectionError`, even if a new child took the same id.
   */
  send(data: Payload, options?: { volatile?: boolean }): Promise<void>;
  /**
   * Give the connection a command: `CONNECT`, `DISCONNECT`, `TX_DROP`,
   * `RECONNECT` (`{ fastPath: true }` for the TX-drop fast path), `DATA_RECEIVED`.
   */
  command(type: ConnectionCommandType, options?: { fastPath?: boolean }): void;
  /** Stop and remove the child (`supervisor.stopChild(id)`); resolves when its link is closed. */
  stop(): Promise<void>;
  /**
   * Publish a structured event that did not come from the connection machine
   * (a facade's own: a power reading, a CAT answer) on this handle's
   * `events$` and the supervisor's, stamped like the machine's own (the actor
   * clock's time, the current state and retry count), so the visualizer and
   * every subscriber see it beside the state changes. The type is one of
   * `ConnectionEventData`'s keys (a kind adds its own by declaration merging).
   * A gone child publishes nothing.
   * @example handle.publish('EVENT_POWER_READING', { watts: 48.5 })
   */
  publish<K extends LogEventType>(type: K, data: ConnectionEventData[K]): void;
}

/**
 * What the supervisor gives its handles: how to reach the live child `id`.
 * One per supervisor, shared by every handle (issue 15: a host of closures
 * per handle was about 0.5 KB of each connection).
 */
export interface HandleHost {
  kind(id: string): string;
  state(id: string): ConnectionState;
  lastError(id: string): unknown;
  send(id: string, data: Payload, options?: { volatile?: boolean }): Promise<void>;
  command(id: string, event: { type: ConnectionCommandType; fastPath?: boolean }): void;
  stop(id: string): Promise<void>;
  publish(id: string, type: LogEventType, data: unknown): void;
}

/**
 * The supervisor's side of one handle: it pushes the child's events, data and
 * state in, and ends it. Subjects are made on first subscription, so an
 * unwatched child costs one small object.
 */
export class HandleFeed implements ConnectionHandle {
  readonly closed: Promise<ConnectionExit>;
  #events: Subject<ConnectionLogEvent> | undefined;
  #data: Subject<Payload> | undefined;
  #state: BehaviorSubject<ConnectionState> | undefined;
  #resolve!: (exit: ConnectionExit) => void;
  #exit: ConnectionExit | undefined;
  #lastKind: string;

  constructor(
    readonly id: string,
    private readonly host: HandleHost,
  ) {
    this.closed = new Promise((resolve) => (this.#resolve = resolve));
    this.#lastKind = host.kind(id);
  }

  get kind(): string {
    return this.#exit ? this.#lastKind : (this.#lastKind = this.host.kind(this.id));
  }

  get state(): ConnectionState {
    return this.#exit ? this.#exit.state : this.host.state(this.id);
  }

  get lastError(): unknown {
    return this.#exit ? this.#exit.error : this.host.lastError(this.id);
  }

  get events$(): Observable<ConnectionLogEvent> {
    return (this.#events ??= this.#subject()).asObservable();
  }

  get data$(): Observable<Payload> {
    return (this.#data ??= this.#subject()).asObservable();
  }

  get state$(): Observable<ConnectionState> {
    if (!this.#state) {
      this.#state = new BehaviorSubject<ConnectionState>(this.state);
      if (this.#exit) this.#state.complete();
    }
    return this.#state.asObservable();
  }

  send(data: Payload, options?: { volatile?: boolean }): Promise<void> {
    // A gone child's id may belong to another child by now: never send there.
    if (this.#exit) return Promise.reject(new UnknownConnectionError(this.id));
    return this.host.send(this.id, data, options);
  }

  command(type: ConnectionCommandType, options: { fastPath?: boolean } = {}): void {
    check.oneOf(type, 'type', COMMANDS);
    check.object(options, 'options');
    if (this.#exit) return; // a gone child takes no commands; `closed` already said so
    this.host.command(this.id, type === 'RECONNECT' && options.fastPath === true ? { type, fastPath: true } : { type });
  }

  stop(): Promise<void> {
    return this.#exit ? Promise.resolve() : this.host.stop(this.id);
  }

  publish<K extends LogEventType>(type: K, data: ConnectionEventData[K]): void {
    check.nonEmptyString(type, 'type');
    if (!type.startsWith('EVENT_')) throw new RangeError(`type must be an EVENT_* name, got ${JSON.stringify(type)}`);
    if (this.#exit) return;
    this.host.publish(this.id, type, data);
  }

  /** @internal A structured event of this child. */
  event(e: ConnectionLogEvent): void {
    this.#events?.next(e);
  }

  /** @internal The child changed state. */
  stateChanged(state: ConnectionState): void {
    if (this.#state && this.#state.value !== state) this.#state.next(state);
  }

  /** @internal Inbound data. */
  data(payload: Payload): void {
    this.#data?.next(payload);
  }

  /** @internal The child is gone: complete the streams, settle `closed`. */
  end(exit: ConnectionExit): void {
    if (this.#exit) return;
    this.#exit = exit;
    if (this.#state && this.#state.value !== exit.state) this.#state.next(exit.state);
    this.#state?.complete();
    this.#events?.complete();
    this.#data?.complete();
    this.#resolve(exit);
  }

  #subject<T>(): Subject<T> {
    const s = new Subject<T>();
    if (this.#exit) s.complete();
    return s;
  }
}

const COMMANDS: readonly ConnectionCommandType[] = ['CONNECT', 'DISCONNECT', 'TX_DROP', 'RECONNECT', 'DATA_RECEIVED'];

/** How waiting for a connection ended: connected, the connection failed, or it left the supervisor. */
export type ConnectedOutcome = 'connected' | 'failed' | 'gone';

/**
 * Wait until `handle` is connected: at once if it is, or (`next: true`) the
 * next time it connects after leaving `connected` (a reconnect asked for
 * now). Resolves with how the wait ended, never rejects: each facade says
 * `failed` and `gone` in its own typed error.
 * @example if ((await connectedOutcome(handle)) !== 'connected') throw handle.lastError;
 */
export function connectedOutcome(handle: ConnectionHandle, options: { next?: boolean } = {}): Promise<ConnectedOutcome> {
  return new Promise<ConnectedOutcome>((resolve) => {
    let waiting = options.next !== true;
    let done = false;
    const end = (outcome: ConnectedOutcome) => {
      if (done) return;
      done = true;
      queueMicrotask(() => sub.unsubscribe());
      resolve(outcome);
    };
    const sub = handle.state$.subscribe({
      next: (state) => {
        if (state !== 'connected') waiting = true;
        else if (waiting) end('connected');
        if (state === 'failed') end('failed');
      },
      complete: () => end('gone'),
    });
  });
}
