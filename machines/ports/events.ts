/**
 * The structured events every connection emits, and the state names they
 * speak of: on the bottom floor, so a transport can add its own events
 * (`ConnectionEventData`, by declaration merging) without importing upward.
 */
import type { DropReason, ErrorDescription, SupervisorReport } from './errors.js';
import type { Payload } from './transport.js';

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
 * declare module '../../machines/ports/events.js' {
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
  EVENT_OUTBOX_OVERFLOW: { limit: number; overflow: 'drop-oldest' | 'drop-newest' | 'reject'; droppedNew: boolean };
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

