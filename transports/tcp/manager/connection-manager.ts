/**
 * `ConnectionManager`: the seed's client side (issue 14 §1). Connections to a
 * list of servers, one supervised connection per `ServerLocation`, cached by
 * its `cacheKey`: `connect` reuses a cached connection (never a duplicate),
 * `connection(cacheKey)` returns it, `gracefulShutdown()` closes them all.
 * `events$` is the seed's NetworkEventMonitor: each location's transport
 * `events$` (resolving, connecting, connected, the TLS handshake with
 * protocol and cipher, closed, error), tagged with its `cacheKey`.
 *
 * The states, retries and backoff are the connection machine's
 * (`maxReconnectionAttempts` → `policy.maxRetries`, `timeoutMs` →
 * `policy.connectTimeoutMs`).
 *
 * @example
 * ```ts
 * const manager = new ConnectionManager();
 * await manager.connect([{ host: 'db.internal', port: 7000, enableTLS: true, cacheKey: 'db', tls: { ca } }]);
 * await manager.connection('db')!.send('PING\n');
 * await manager.gracefulShutdown();
 * ```
 */
import { EMPTY, Subject, filter, map, switchMap, takeUntil, type Observable, type OperatorFunction, type Subscription } from 'rxjs';
import type { Payload } from '../../../machines/ports/transport.js';
import { connectedOutcome, createSupervisor, nowOf, type Clock, type ConnectionHandle, type Logger, type Supervisor } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { ConnectionError, StatewireError } from '../../../machines/ports/errors.js';
import { tcpTransport, type TcpNetworkEvent } from '../tcp.transport.js';
import type { TcpTlsOptions } from '../tls.js';

declare module '../../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** A `cacheKey` already names a different server. */
    ERR_TCP_CACHE_KEY_CONFLICT: true;
    /** `connect` after `gracefulShutdown()`. */
    ERR_TCP_MANAGER_SHUT_DOWN: true;
  }
}

/** A server to connect to (the seed's ServerLocation). */
export interface ServerLocation {
  host: string;
  port: number;
  enableTLS: boolean;
  /** Names the cached connection; one server per key. */
  cacheKey: string;
  /** CA, client certificate, servername... (with `enableTLS`). */
  tls?: TcpTlsOptions;
  /**
   * How `frames(cacheKey)` cuts this connection's bytes into messages: a
   * framing operator (`lengthPrefixed({ bytes: 4 })`, `delimited({ delimiter: '\n' })`).
   * Default: none (each chunk as it arrived).
   */
  framing?: OperatorFunction<Payload, Uint8Array>;
}

export interface ManagerConnectOptions {
  /** Retries after a lost link or a failed attempt before the connection fails. Default 10. */
  maxReconnectionAttempts?: number;
  /** One connect attempt (TCP and TLS handshake) at most this long, ms. Default 3000. */
  timeoutMs?: number;
}

/**
 * One network event (the seed's NetworkEventMonitor): the transport's own
 * (`resolving`, `resolved`, `connecting`, `connected`, `tls-handshake` with
 * the protocol, cipher and peer certificate, `closed`, `error`), with the
 * server's `cacheKey` and the time on the supervisor's clock.
 */
export type NetworkEvent = TcpNetworkEvent & {
  cacheKey: string;
  /** ms since the epoch, on the supervisor's clock. */
  at: number;
};

/** A `cacheKey` given twice for different servers. */
export class CacheKeyConflictError extends StatewireError {
  override name = 'CacheKeyConflictError';
  readonly cacheKey: string;
  constructor(cacheKey: string, existing: string, requested: string) {
    super(`cacheKey ${JSON.stringify(cacheKey)} already names ${existing}, not ${requested}`, 'ERR_TCP_CACHE_KEY_CONFLICT');
    this.cacheKey = cacheKey;
  }
}

export interface ConnectionManagerOptions {
  /** Supervise the connections here (the visualizer shows them). Default: a supervisor of the manager's own. */
  supervisor?: Supervisor;
  clock?: Clock;
  logger?: Logger;
}

interface Cached {
  location: ServerLocation;
  identity: string;
  handle: ConnectionHandle;
  events: Subscription;
}

const identityOf = (l: ServerLocation) => `${l.enableTLS ? 'tls' : 'tcp'}://${l.host}:${l.port}`;

function checkLocation(l: unknown, name: string): ServerLocation {
  check.object(l, name, '{ host, port, enableTLS, cacheKey, tls? }');
  const loc = l as ServerLocation;
  check.nonEmptyString(loc.host, `${name}.host`);
  check.integer(loc.port, `${name}.port`, { min: 1, max: 65535 });
  check.boolean(loc.enableTLS, `${name}.enableTLS`);
  check.nonEmptyString(loc.cacheKey, `${name}.cacheKey`);
  if (loc.tls !== undefined) check.object(loc.tls, `${name}.tls`);
  if (loc.framing !== undefined) check.func(loc.framing, `${name}.framing`, '(an operator: lengthPrefixed(...), delimited(...))');
  return loc;
}

export class ConnectionManager {
  readonly supervisor: Supervisor;
  /** Network events of every server, as they happen. */
  readonly events$: Observable<NetworkEvent>;
  readonly #events = new Subject<NetworkEvent>();
  readonly #cache = new Map<string, Cached>();
  readonly #owned: boolean;
  readonly #clock: Clock;
  #shutdown: Promise<void> | undefined;

  constructor(options: ConnectionManagerOptions = {}) {
    check.object(options, 'options', '{ supervisor?, clock?, logger? }');
    if (options.supervisor !== undefined) check.shape(options.supervisor, 'options.supervisor', { startChild: 'function' }, 'a Supervisor (createSupervisor())');
    this.#owned = options.supervisor === undefined;
    this.supervisor = options.supervisor ?? createSupervisor({ id: 'tcp-connections', logger: options.logger, clock: options.clock });
    this.#clock = this.supervisor.clock;
    this.events$ = this.#events.asObservable();
  }

  /**
   * One supervised connection per location (a cached one is reused), then
   * wait until each is connected. Resolves with their handles, in the order
   * given; rejects with the error of the first that fails for good (its
   * retries exhausted, or a permanent error such as a certificate refused).
   * Throws (synchronously checked, rejected) a `CacheKeyConflictError` when a
   * cacheKey already names another server, a TypeError/RangeError for bad input.
   */
  async connect(servers: ServerLocation[], options: ManagerConnectOptions = {}): Promise<ConnectionHandle[]> {
    if (this.#shutdown) throw new ConnectionError('the connection manager is shut down', { kind: 'tcp', code: 'ERR_TCP_MANAGER_SHUT_DOWN' });
    if (!Array.isArray(servers)) throw new TypeError(`servers must be an array of ServerLocation, got ${check.describe(servers)}`);
    check.object(options, 'options', '{ maxReconnectionAttempts?, timeoutMs? }');
    const maxRetries = options.maxReconnectionAttempts === undefined ? undefined : check.integer(options.maxReconnectionAttempts, 'options.maxReconnectionAttempts', { min: 0, allowInfinity: true });
    const timeoutMs = check.duration(options.timeoutMs, 'options.timeoutMs', { allowZero: false });
    const locations = servers.map((s, i) => checkLocation(s, `servers[${i}]`));
    // Every key checked before anything starts: all or nothing.
    const seen = new Map<string, string>();
    for (const l of locations) {
      const identity = identityOf(l);
      const known = this.#cache.get(l.cacheKey)?.identity ?? seen.get(l.cacheKey);
      if (known !== undefined && known !== identity) throw new CacheKeyConflictError(l.cacheKey, known, identity);
      seen.set(l.cacheKey, identity);
    }
    const handles = locations.map((l) => {
      const cached = this.#cache.get(l.cacheKey);
      if (cached) return cached.handle;
      const transport = tcpTransport({ host: l.host, port: l.port, ...(l.enableTLS ? { tls: l.tls ?? {} } : {}) });
      const events = transport.events$.subscribe((e) => this.#events.next({ ...e, cacheKey: l.cacheKey, at: nowOf(this.#clock) }));
      this.supervisor.startChild({
        id: l.cacheKey,
        transport,
        restart: 'temporary',
        policy: { ...(maxRetries !== undefined ? { maxRetries } : {}), ...(timeoutMs !== undefined ? { connectTimeoutMs: timeoutMs } : {}) },
      });
      const handle = this.supervisor.connection(l.cacheKey);
      const entry: Cached = { location: l, identity: identityOf(l), handle, events };
      this.#cache.set(l.cacheKey, entry);
      void handle.closed.then(() => {
        // The last link's `closed` event has been told by then (it comes before the child leaves).
        queueMicrotask(() => events.unsubscribe());
        if (this.#cache.get(l.cacheKey) === entry) this.#cache.delete(l.cacheKey);
      });
      return handle;
    });
    await Promise.all(handles.map((h) => connected(h)));
    return handles;
  }

  /** The cached connection for `cacheKey`, or undefined. */
  connection(cacheKey: string): ConnectionHandle | undefined {
    check.nonEmptyString(cacheKey, 'cacheKey');
    return this.#cache.get(cacheKey)?.handle;
  }

  /**
   * The messages of `cacheKey`'s connection, cut by its location's `framing`.
   * The decoder starts over on each new link, so a frame cut short by a lost
   * link never runs into the next link's bytes. Completes when the connection
   * leaves; errors (e.g. `FrameTooLargeError`) only if the framing does.
   */
  frames(cacheKey: string): Observable<Uint8Array> {
    const cached = this.#cache.get(check.nonEmptyString(cacheKey, 'cacheKey'));
    if (!cached) return EMPTY;
    const { handle, location } = cached;
    const cut = location.framing ?? map((d: Payload) => (typeof d === 'string' ? new TextEncoder().encode(d) : d));
    const left$ = handle.state$.pipe(filter((s) => s !== 'connected'));
    return handle.state$.pipe(
      filter((s) => s === 'connected'),
      switchMap(() => handle.data$.pipe(takeUntil(left$), cut)),
    );
  }

  /** The cached connections, by cacheKey. */
  connections(): Map<string, ConnectionHandle> {
    return new Map([...this.#cache].map(([k, c]) => [k, c.handle]));
  }

  /** Close every connection (each link closed gracefully), then end `events$`. Idempotent. */
  gracefulShutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      await Promise.all([...this.#cache.values()].map((c) => c.handle.stop()));
      this.#cache.clear();
      if (this.#owned) await this.supervisor.shutdown();
      this.#events.complete();
    })();
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.gracefulShutdown();
  }
}

/** Resolves once `handle` is connected; rejects with its last error if it fails or leaves first. */
async function connected(handle: ConnectionHandle): Promise<void> {
  const outcome = await connectedOutcome(handle);
  if (outcome !== 'connected') {
    throw handle.lastError ?? new ConnectionError(`connection ${handle.id} ${outcome === 'failed' ? 'failed' : 'ended before it connected'}`, { kind: 'tcp' });
  }
}
