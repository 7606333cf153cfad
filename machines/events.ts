/**
 * Names shared by the machines and their users: the states, the events a
 * connection accepts, and the structured events it emits.
 */
import type { ConnectionError, DropReason, ErrorDescription, StatewireError, SupervisorReport } from './ports/errors.js';
import type { Link, Payload, Transport } from './ports/transport.js';
import type { ReconnectPolicy } from './policy.js';
import type { OutboxOptions, OverflowPolicy } from './outbox.js';
import type { LinkRegistry } from './link-registry.js';

/** Top-level states of `connectionMachine`, exactly these names. */
export const ConnectionState = {
  DISCONNECTED: 'disconnected',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  TX_DROPPED: 'tx_dropped',
  FAILED: 'failed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * What each structured event carries in `data`, keyed by its type. Open to
 * extension the way `ErrorCodes` is: a transport adds its own events by
 * declaration merging, in its own folder, without editing this file:
 *
 * ```ts
 * declare module '../../machines/events.js' {
 *   interface ConnectionEventData { EVENT_POWER_WARNING: { watts: number } }
 * }
 * ```
 * `ConnectionLogEvent` is then a union that includes it, so `events$`
 * subscribers narrow on `type` and read `data` without casts.
 */
export interface ConnectionEventData {
  /** Every change of top-level state; `error` only when the change is because of one (reconnecting, failed, a lost server-side link). */
  EVENT_STATE_CHANGE: { from: ConnectionState; to: ConnectionState; error?: ErrorDescription };
  /** A retry starts; `attempt` counts retries since the last stable connection. */
  EVENT_RECONNECT_START: { attempt: number };
  /** Connected again after retries, or through the fast path. */
  EVENT_RECONNECT_OK: { attempt: number; fastPath: boolean };
  /** One attempt failed (open failed or timed out). */
  EVENT_RECONNECT_FAILED: { attempt: number; error?: ErrorDescription };
  EVENT_TX_DROP_DETECTED: NoData;
  EVENT_FAST_PATH_ACTIVE: NoData;
  /** Connected for `stableAfterMs` without loss: the retry count was reset. */
  EVENT_CONNECTION_STABLE: NoData;
  EVENT_MAX_RETRIES_EXCEEDED: NoData;
  /** Not in the seed: a message left the outbox unsent because it was full (`droppedNew`: the new one, not a queued one). */
  EVENT_OUTBOX_OVERFLOW: { limit: number; overflow: OverflowPolicy; droppedNew: boolean };
  /** Not in the seed: messages dropped for another reason (volatile, failed, stopped). */
  EVENT_MESSAGE_DROPPED: { reason: DropReason; count: number };
  /**
   * Not in the seed (issue 11): a supervisor gave up (restart intensity
   * exceeded) and stopped every child. Emitted on that supervisor's `events$`
   * just before it completes; `connectionId` is the supervisor's id, `state`
   * is `'failed'`, `reconnectCount` the restarts counted in the window.
   */
  EVENT_SUPERVISOR_FAILED: { report: SupervisorReport };
}

/** `data` of the events that carry nothing but their type. */
export type NoData = Record<string, never>;

/** Every structured event type: the core's and those transports added to `ConnectionEventData`. */
export type LogEventType = keyof ConnectionEventData;

/** The core's structured event types, with the seed's names. */
export const LogEvent = {
  STATE_CHANGE: 'EVENT_STATE_CHANGE',
  RECONNECT_START: 'EVENT_RECONNECT_START',
  RECONNECT_OK: 'EVENT_RECONNECT_OK',
  RECONNECT_FAILED: 'EVENT_RECONNECT_FAILED',
  TX_DROP_DETECTED: 'EVENT_TX_DROP_DETECTED',
  FAST_PATH_ACTIVE: 'EVENT_FAST_PATH_ACTIVE',
  CONNECTION_STABLE: 'EVENT_CONNECTION_STABLE',
  MAX_RETRIES_EXCEEDED: 'EVENT_MAX_RETRIES_EXCEEDED',
  OUTBOX_OVERFLOW: 'EVENT_OUTBOX_OVERFLOW',
  MESSAGE_DROPPED: 'EVENT_MESSAGE_DROPPED',
  SUPERVISOR_FAILED: 'EVENT_SUPERVISOR_FAILED',
} as const satisfies Record<string, LogEventType>;

/** One structured event of type `K` (`events$`). */
export interface LogEventOf<K extends LogEventType> {
  type: K;
  connectionId: string;
  /** ms since the epoch, read from the actor system's clock. */
  timestamp: number;
  /** Top-level state when the event was emitted. */
  state: ConnectionState;
  /** Retries since the last stable connection. */
  reconnectCount: number;
  data: ConnectionEventData[K];
}

/** Every structured event (`events$`): a union discriminated by `type`. */
export type ConnectionLogEvent = { [K in LogEventType]: LogEventOf<K> }[LogEventType];

/** Inbound data from the link, emitted as `DATA` (kept apart from the log events). */
export interface ConnectionDataEvent {
  type: 'DATA';
  connectionId: string;
  timestamp: number;
  data: Payload;
}

export type ConnectionEmitted = ConnectionLogEvent | ConnectionDataEvent;

/**
 * Settles a SEND: `resolve` once the link accepted the data, `reject` with a
 * `MessageDroppedError`/`OutboxOverflowError`/`LinkClosedError` otherwise. The
 * supervisor passes one so `send()` returns a promise; embedders may omit it.
 */
export interface SendTicket {
  resolve(): void;
  reject(error: Error): void;
}

/** What a queued message holds. */
export interface OutboxEntry {
  data: Payload;
  ticket: SendTicket | undefined;
}

/** Input of `connectionMachine`. */
export interface ConnectionInput {
  /** The connection's id: appears in every event and error. */
  id: string;
  transport: Transport;
  policy?: Partial<ReconnectPolicy>;
  outbox?: OutboxOptions;
  /** Start connecting at once. Default false for the bare machine, true under a supervisor. */
  autoConnect?: boolean;
  /** Source of jitter (0..1). Default Math.random; pass `seededRandom(n)` for deterministic tests. */
  random?: () => number;
  /**
   * Told of every link this connection opens and when it ends (see
   * `LinkRegistry`). The supervisor passes one to write to open links
   * directly; a bare machine needs none.
   */
  links?: LinkRegistry;
}

/**
 * What a connection ends with: `connectionMachine`'s `output`. A parent that
 * `invoke`s the machine reads it in `onDone` (`event.output`), one that
 * spawns it in `xstate.done.actor.<id>`, and `toPromise(actor)` resolves with
 * it. `failed` is the machine's only final state, so the output always
 * describes a failure; a connection that is stopped (`actor.stop()`, its
 * parent leaving the invoking state) never finishes and has none.
 * Discriminated by `reason`:
 *
 * - `'retries_exhausted'`: the next retry would have exceeded
 *   `policy.maxRetries` (after EVENT_MAX_RETRIES_EXCEEDED). `error` is the
 *   error of the last failed attempt or lost link, the connection's
 *   `lastError`: a `ConnectionError` (`ConnectTimeoutError`, a transport's own
 *   subclass such as `WebSocketHandshakeError`), a `StaleLinkError`, or the
 *   `LinkClosedError` of a lost link. It is undefined only when nothing
 *   failed since the last `CONNECT` or stable connection (the retries went
 *   to manual `RECONNECT`s).
 * - `'permanent_failure'`: the same permanent failure
 *   (`ConnectionError.permanent`, a handshake answered 401 or 403)
 *   `policy.maxPermanentFailures` times in a row; `error` is that failure.
 *
 * An error that is not a `StatewireError` (a transport rejected with an error
 * of its own) is given wrapped in a `ConnectionError`, the original as its
 * `cause`, so `error.code` is always one of `ErrorCode`.
 *
 * @example
 * ```ts
 * invoke: {
 *   src: 'radio',
 *   input: { id: 'radio', transport, autoConnect: true },
 *   onDone: { actions: ({ event }) => console.log(event.output.reason, event.output.error?.code) },
 * }
 * // onDone gets { id: 'radio', reason: 'retries_exhausted', error: ConnectionError { code: 'ERR_CONNECTION_REFUSED' }, reconnectCount: 10 }
 * ```
 */
export type ConnectionOutput =
  | {
      /** The connection's id (`input.id`). */
      id: string;
      reason: 'retries_exhausted';
      error: StatewireError | undefined;
      /** Retries made since the last stable connection. */
      reconnectCount: number;
    }
  | { id: string; reason: 'permanent_failure'; error: ConnectionError; reconnectCount: number };

/** Events a user may send to a connection. */
export type ConnectionCommand =
  | { type: 'CONNECT' }
  | { type: 'DISCONNECT' }
  | { type: 'SEND'; data: Payload; volatile?: boolean; ticket?: SendTicket }
  | { type: 'TX_DROP' }
  | { type: 'RECONNECT'; fastPath?: boolean }
  | { type: 'DATA_RECEIVED' };

/** Events the transport actor sends back; each carries the attempt (`gen`) it belongs to. */
export type LinkReport =
  | { type: 'LINK_OPEN'; gen: number; link: Link }
  | { type: 'LINK_FAILED'; gen: number; error: unknown }
  | { type: 'LINK_DATA'; gen: number; data: Payload }
  | { type: 'LINK_LOST'; gen: number; error: unknown }
  | { type: 'LINK_CLOSED'; gen: number };

/** Events the machine sends to its transport actor. */
export type LinkCommand =
  | { type: 'LINK_SEND'; data: Payload; ticket: SendTicket | undefined }
  | { type: 'LINK_CLOSE' };
