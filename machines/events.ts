/**
 * Names shared by the machines and their users: the states, the events a
 * connection accepts, and the structured events it emits.
 */
import type { ConnectionError, StatewireError } from './ports/errors.js';
import type { Link, Payload, Transport } from './ports/transport.js';
import type { ReconnectPolicy } from './policy.js';
import type { OutboxOptions } from './outbox.js';
import type { LinkRegistry } from './link-registry.js';
import type { ConnectionState } from './ports/events.js';

// The states and structured events live on the bottom floor (ports/events.ts),
// where transports can extend them; re-exported here for the machines' users.
export {
  ConnectionState,
  LogEvent,
  type ConnectionDataEvent,
  type ConnectionEmitted,
  type ConnectionEventData,
  type ConnectionLogEvent,
  type LogEventOf,
  type LogEventType,
  type NoData,
} from './ports/events.js';

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
