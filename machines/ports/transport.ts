/**
 * The transport contract: the only thing a connection machine knows about I/O.
 *
 * A `Transport` opens links. It knows nothing of states, retries, backoff or
 * outboxes: the connection machine owns those. One `Transport` object opens
 * many links over its life (one per connection attempt); each `Link` is used
 * once and then thrown away.
 *
 * Every transport ships with the shared contract suite
 * (`test/contract/transport.contract.ts`) and must pass it against real I/O.
 *
 * @example
 * ```ts
 * const transport: Transport = unixSocketTransport({ path: '/run/agent.sock' });
 * const ac = new AbortController();
 * const link = await transport.connect({ signal: ac.signal });
 * link.incoming$.subscribe((chunk) => console.log('got', chunk));
 * await link.send('hello\n');
 * const info = await link.close(); // resolves once the socket is fully closed
 * ```
 */
import type { Observable } from 'rxjs';
import * as check from './check.js';

/** What a link carries. Text transports use strings, byte transports Uint8Array. */
export type Payload = Uint8Array | string;

/** Options for `Transport.connect`. */
export interface ConnectOptions {
  /**
   * Aborted when the caller gives up (connect timeout, DISCONNECT, actor
   * stopped). The transport must then release whatever it started (sockets,
   * timers) and reject with a `LinkClosedError` whose `canceled` is true. If it
   * wins the race and opened the link anyway, the caller closes that link.
   */
  signal: AbortSignal;
}

export interface Transport {
  /** Short name of the transport family: `'mock'`, `'websocket'`, `'unix'`, `'serial'`, ... */
  readonly kind: string;

  /**
   * Open one link.
   *
   * - Resolves with an open `Link`, ready for `send`.
   * - Rejects with a `ConnectionError` (or a subclass from `errors.ts`) whose
   *   `cause` is the original OS/SDK error when the link cannot be opened
   *   (refused, not found, permission denied, handshake rejected).
   * - Never applies its own retries: one call, one attempt.
   * - Must not time out on its own unless the transport's options say so
   *   (a handshake timeout): the connection machine applies `connectTimeoutMs`
   *   by aborting `signal`.
   */
  connect(options: ConnectOptions): Promise<Link>;
}

/** How a link ended. */
export interface CloseInfo {
  /**
   * True when the close was ours (`close()` was called): a normal end.
   * False when the peer or the network ended it: the link is lost.
   */
  initiatedLocally: boolean;
  /** A transport-specific code: a WebSocket close code, an errno string. */
  code?: number | string;
  /** Human-readable reason, when the peer gave one. */
  reason?: string;
  /** The error that ended the link, when it was an error. */
  error?: unknown;
}

export interface Link {
  /**
   * Send one message.
   *
   * - Resolves when the transport has accepted the data (handed it to the OS
   *   or the SDK): not an end-to-end acknowledgement.
   * - Calls made one after another are delivered in the order they were made,
   *   even when the caller does not await each one.
   * - When the link is closed by `close()` while the send is in flight, it
   *   rejects with a `LinkClosedError` whose `canceled` is true.
   * - Any other failure rejects with a `LinkClosedError` (`canceled: false`)
   *   or a `ConnectionError`, and means the link is lost: `closed` resolves
   *   with `initiatedLocally: false` soon after.
   * - After the link ended it rejects at once; it never throws synchronously.
   */
  send(data: Payload): Promise<void>;

  /**
   * Optional: send `message.data` as one of many links getting the same
   * message (`Supervisor.broadcast`). A link implements it when it can do
   * better than `send` with a message it shares with other links: encode
   * once for all of them (`message.memo`) and report its outcome without a
   * promise of its own (`message.settle`). A link without it gets
   * `send(message.data)`.
   *
   * - The outcome goes to `message.settle(slot, error?)`, exactly once, with
   *   `send`'s meaning: no error once the transport accepted the data
   *   (handed it to the OS or the SDK), else the error `send` would have
   *   rejected with (a canceled `LinkClosedError` when `close()` came
   *   first). It may be called before `sendShared` returns (the data was
   *   written on the spot, or the link is closed), or later.
   * - Order with `send` is kept: a `send` before it is delivered before
   *   it, a `send` after it after it.
   * - Never throws; never modifies `message.data`.
   * - Called as a method (`link.sendShared(message, slot)`): an
   *   implementation may be one function for all its links, reading `this`.
   *
   * @example
   * ```ts
   * // A transport whose encoded form is the same for every link:
   * sendShared(message, slot) {
   *   const bytes = message.memo(ENCODED, encode); // encode(data) runs once per broadcast
   *   socket.write(bytes, (err) => message.settle(slot, err ? lost(err) : undefined));
   * }
   * ```
   */
  sendShared?(message: SharedMessage, slot: number): void;

  /**
   * Close the link deliberately. Idempotent: every call returns a promise that
   * resolves once the underlying resource is fully released (socket closed,
   * file descriptor freed), never rejects. In-flight sends reject with a
   * canceled `LinkClosedError`; `closed` resolves with `initiatedLocally: true`
   * (unless the link had already been lost).
   */
  close(): Promise<void>;

  /**
   * Inbound data, in arrival order. Completes when the link ends. Never
   * errors: a failure ends the link and shows in `closed`.
   *
   * What arrives before the first subscriber is held for it (a peer may write
   * the moment it accepts, before the owner of the link has subscribed: those
   * frames must not be lost); after that it is hot, so a later second
   * subscriber sees only what arrives after it subscribed.
   */
  readonly incoming$: Observable<Payload>;

  /**
   * Resolves exactly once, when the link has ended for any reason; never
   * rejects. The first cause wins: a local `close()` after a remote close
   * does not change the recorded `CloseInfo`.
   */
  readonly closed: Promise<CloseInfo>;
}

/**
 * One message on its way to many links (`Link.sendShared`): the same object
 * is handed to each of them. The supervisor makes one per broadcast.
 */
export interface SharedMessage {
  /** What every link sends. Read-only for links: it is shared. */
  readonly data: Payload;
  /**
   * What `make(data)` returns, made the first time `key` is asked for in
   * this message and the same value for every later link: how a transport
   * encodes the message once for all of its links (a WebSocket frame). The
   * key is the transport's own (a symbol it does not export), so two kinds
   * of link in one broadcast keep their own forms. `make` gets the data, so
   * a module-level function will do (no closure made per link).
   */
  memo<T>(key: symbol, make: (data: Payload) => T): T;
  /**
   * The outcome on the link that was given `slot`: no error when it was
   * accepted, else why not. The first call for a slot counts; the message
   * is settled when every link it was given to has called it.
   */
  settle(slot: number, error?: Error): void;
}

/** A link a `Listener` accepted, and who is on the other end. */
export interface Accepted {
  link: Link;
  /** The peer as the transport knows it (`'127.0.0.1:51234'`, the socket path), when known. */
  remote?: string;
}

/**
 * The server side of a transport: it accepts links. Like a `Transport` it
 * knows nothing of states or supervision: `accept()` in the actors layer
 * makes each accepted link a supervised, temporary connection.
 *
 * @example
 * ```ts
 * const listener: Listener = unixSocketServer({ path: '/run/app.sock' });
 * listener.accepted$.subscribe(({ link }) => link.incoming$.subscribe(console.log));
 * await listener.listen();
 * ```
 */
export interface Listener {
  /** Short name of the transport family, as `Transport.kind`. */
  readonly kind: string;
  /**
   * Every accepted link, in accept order. Hot: subscribe before `listen()`.
   * Completes after `close()`. Never errors.
   */
  readonly accepted$: Observable<Accepted>;
  /**
   * Start accepting. Resolves once the address is bound; rejects with a typed
   * error (the address is taken, permission denied). Calling it twice, or
   * after `close()`, rejects with a `ClosedError`.
   */
  listen(): Promise<void>;
  /**
   * Stop accepting at once (a link accepted after this is closed, not
   * emitted). Idempotent; never rejects. Resolves once the address is
   * released and every link it accepted has ended: closing those links is
   * their owner's job (the supervisor's), not the listener's.
   */
  close(): Promise<void>;
}

// Argument checks for the contract's shapes (duck-typed: any object with these members passes).

/** `value` if it is a `Transport`, else a TypeError naming `name`: `checkTransport(spec.transport, 'spec.transport')`. */
export function checkTransport(value: unknown, name: string): Transport {
  return check.shape(value as Transport, name, { kind: 'string', connect: 'function' }, 'a Transport ({ kind: string, connect(opts): Promise<Link> })');
}

/** `value` if it is a `Link`, else a TypeError naming `name`: `checkLink(link, 'link')`. */
export function checkLink(value: unknown, name: string): Link {
  const members = { send: 'function', close: 'function', incoming$: 'object', closed: 'object' } as const;
  return check.shape(value as Link, name, members, 'a Link ({ send, close, incoming$, closed })');
}

/** `value` if it is a `Listener`, else a TypeError naming `name`: `checkListener(listener, 'listener')`. */
export function checkListener(value: unknown, name: string): Listener {
  return check.shape(value as Listener, name, { listen: 'function', accepted$: 'object' }, 'a Listener ({ kind, accepted$, listen, close })');
}

/** `value` if it is a `Payload`, else a TypeError naming `name`: `checkPayload(42, 'data')` throws "data must be a string or Uint8Array, got 42". */
export function checkPayload(value: unknown, name: string): Payload {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw new TypeError(`${name} must be a string or Uint8Array, got ${check.describe(value)}`);
  return value;
}
