/**
 * Names shared by the machines and their users: the states, the events a
 * connection accepts, and the structured events it emits.
 */
import type { Link, Payload, Transport } from './ports/transport.js';
import type { ReconnectPolicy } from './policy.js';
import type { OutboxOptions } from './outbox.js';

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

/** Structured event types, with the seed's names. */
export const LogEvent = {
  STATE_CHANGE: 'EVENT_STATE_CHANGE',
  RECONNECT_START: 'EVENT_RECONNECT_START',
  RECONNECT_OK: 'EVENT_RECONNECT_OK',
  RECONNECT_FAILED: 'EVENT_RECONNECT_FAILED',
  TX_DROP_DETECTED: 'EVENT_TX_DROP_DETECTED',
  FAST_PATH_ACTIVE: 'EVENT_FAST_PATH_ACTIVE',
  CONNECTION_STABLE: 'EVENT_CONNECTION_STABLE',
  MAX_RETRIES_EXCEEDED: 'EVENT_MAX_RETRIES_EXCEEDED',
  POWER_WARNING: 'EVENT_POWER_WARNING',
  POWER_CRITICAL: 'EVENT_POWER_CRITICAL',
  /** Not in the seed: a message left the outbox unsent because it was full. */
  OUTBOX_OVERFLOW: 'EVENT_OUTBOX_OVERFLOW',
  /** Not in the seed: messages dropped for another reason (volatile, failed, stopped). */
  MESSAGE_DROPPED: 'EVENT_MESSAGE_DROPPED',
} as const;
export type LogEventType = (typeof LogEvent)[keyof typeof LogEvent];

/** The shape of every structured event (`events$`). */
export interface ConnectionLogEvent {
  type: LogEventType;
  connectionId: string;
  /** ms since the epoch, read from the actor system's clock. */
  timestamp: number;
  /** Top-level state when the event was emitted. */
  state: ConnectionState;
  /** Retries since the last stable connection. */
  reconnectCount: number;
  data: Record<string, unknown>;
}

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
}

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
