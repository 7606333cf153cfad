/**
 * `ApiGatewayManager`: the seed's Manager. From Lambda-style code or any
 * number of workers, it sends to WebSocket clients connected through AWS API
 * Gateway (`PostToConnection`), broadcasts in parallel under a concurrency
 * limit and a request-rate cap, tells whether a connection is active (a
 * cached store lookup), removes connections that answer 410 Gone, updates
 * last-ping times in the background, and reports progress to a client.
 *
 * It holds no connection and so no lifecycle: API Gateway holds the sockets
 * and the store holds the records, so there is no link to supervise here and
 * nothing to reconnect. Each send is one request; a broadcast is a few
 * workers pulling ids from the list, with no actor, promise chain or
 * supervisor child per id, so its cost is the SDK's (bench/RESULTS.md,
 * "API Gateway").
 *
 * @example
 * ```ts
 * const manager = new ApiGatewayManager({ store: new DynamoConnectionStore({ client, table }) }) // endpoint: WEBSOCKET_ENDPOINT
 * await manager.send(connectionId, { type: 'hello' })
 * await manager.broadcastTo({ room: 'lobby' }, { type: 'news', text })
 * await manager.shutdown()
 * ```
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { Subject, type Observable } from 'rxjs';
import * as check from '../../../machines/ports/check.js';
import { nowOf, realClock, type Clock } from '../../../machines/ports/clock.js';
import { ConnectionGoneError, PayloadTooLargeError, apiGatewayError, type ApiGatewayError } from '../errors.js';
import type { ConnectionFilter, ConnectionStore } from '../store.js';
import { MemoryConnectionStore } from '../store/memory.js';
import { BroadcastError, ManagerClosedError, failureKind } from './errors.js';
import { ManagerMetrics, metricsStream, type ApiGatewayMetrics } from './metrics.js';
import { checkConcurrency, resolveClient, resolveOptions, type ApiGatewayManagerOptions, type ManagementApiClient } from './options.js';
import { Presence, call } from './presence.js';
import { TokenBucket } from '../token-bucket.js';

export interface BroadcastOptions {
  /** Requests in flight at once, an integer ≥ 1. Default: the manager's `concurrency` (50). */
  concurrency?: number;
}

/** A broadcast where every send succeeded. */
export interface BroadcastResult {
  /** How many ids it was asked to send to. */
  total: number;
  /** How many sends succeeded (all of them). */
  sent: number;
}

/** Sends `{ type: 'progress', request_id, percentage, message }` to one client. */
export interface ProgressReporter {
  readonly connectionId: string;
  readonly requestId: string;
  /** `percentage` within 0..100; `message` a string (default `''`). Resolves when sent; rejects as `send` does. */
  report(percentage: number, message?: string): Promise<void>;
}

interface BroadcastRun {
  readonly ids: readonly string[];
  readonly body: Uint8Array;
  next: number;
  sent: number;
  failed: number;
  gone: number;
  errors: Map<string, ApiGatewayError> | undefined;
}

export class ApiGatewayManager {
  /** Where the connection records are. */
  readonly store: ConnectionStore;
  /**
   * Metrics: a snapshot at once, then one every `metricsIntervalMs` in which
   * something happened, and a last one when `shutdown()` is done (then it completes).
   */
  readonly metrics$: Observable<ApiGatewayMetrics>;

  readonly #client: ManagementApiClient;
  readonly #ownsClient: boolean;
  readonly #clock: Clock;
  /** The clock's `now()`, or `performance.now()` with real time: latencies and the cache need no epoch. */
  readonly #now: () => number;
  /** ms since the epoch on the clock, for `lastPingAt` and `expiresAt`. */
  readonly #epoch: () => number;
  readonly #bucket: TokenBucket;
  readonly #metrics = new ManagerMetrics();
  readonly #options: ReturnType<typeof resolveOptions>;
  readonly #random: () => number;
  readonly #background = new Set<Promise<void>>();
  readonly #presence: Presence;
  readonly #finished$ = new Subject<void>();
  #busy = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #finished = false;

  /**
   * @throws TypeError naming `options.endpoint` when there is no client, no
   *   endpoint and no `WEBSOCKET_ENDPOINT`; TypeError/RangeError naming any
   *   other option that is wrong.
   */
  constructor(options: ApiGatewayManagerOptions = {}) {
    check.object(options, 'options');
    this.#options = resolveOptions(options);
    const { client, owned } = resolveClient(options);
    this.#client = client;
    this.#ownsClient = owned;
    this.store = options.store ?? new MemoryConnectionStore();
    const clock = options.clock;
    this.#clock = clock ?? realClock;
    this.#now = clock ? () => nowOf(clock) : () => performance.now();
    this.#epoch = () => nowOf(clock);
    this.#random = options.random ?? Math.random;
    const rate = this.#options.maxRequestsPerSecond;
    this.#bucket = new TokenBucket(rate, Math.max(1, Math.ceil(rate / 100)), this.#now);
    const { activeCacheMs: cacheMs, activeCacheSize: cacheSize } = this.#options;
    this.#presence = new Presence(this.store, { now: this.#now, epoch: this.#epoch, cacheMs, cacheSize });
    this.metrics$ = metricsStream(this.#metrics, () => this.metricsSnapshot(), {
      clock: this.#clock,
      intervalMs: this.#options.metricsIntervalMs,
      finished$: this.#finished$,
      finished: () => this.#finished,
    });
  }

  /**
   * Sends `message` to one client. A `Uint8Array` (or `ArrayBuffer`) is sent
   * as it is, as bytes already encoded; anything else, a string included, is
   * JSON-encoded (`'hi'` goes out as `"hi"`).
   *
   * Rejects with `ConnectionGoneError` on a 410 (`isConnectionGone(err)`; the
   * record is then removed from the store in the background),
   * `PayloadTooLargeError` over `maxPayloadBytes` (nothing is sent),
   * `RateLimitedError` when 429 outlasted the retries, another
   * `ApiGatewayError` otherwise; a TypeError for an empty `connectionId` or a
   * `message` that is not JSON-serialisable; `ManagerClosedError` after `shutdown()`.
   */
  send(connectionId: string, message: unknown): Promise<void> {
    if (this.#closing) return Promise.reject(new ManagerClosedError('send'));
    let body: Uint8Array;
    try {
      check.nonEmptyString(connectionId, 'connectionId');
      body = this.#encode(message, connectionId);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#busy++;
    return this.#post(connectionId, body).then(
      (err) => {
        this.#done();
        if (err) throw err;
      },
      (err: unknown) => {
        this.#done();
        throw err;
      },
    );
  }

  /**
   * Sends `message` (encoded once, as `send` does) to every id in `ids`, at
   * most `options.concurrency` requests in flight and never above the
   * manager's request-rate cap. Resolves when all were sent; rejects with
   * `BroadcastError` when any failed, after every id was tried (gone ones are
   * among its errors and are removed from the store). An empty `ids`
   * resolves with nothing sent. A message over the limit rejects with
   * `PayloadTooLargeError` (`apiConnectionId` `'*'`) before any request.
   */
  async broadcast(ids: Iterable<string>, message: unknown, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    if (this.#closing) throw new ManagerClosedError('broadcast');
    const list = idList(ids);
    check.object(options, 'options');
    const concurrency = options.concurrency === undefined ? this.#options.concurrency : checkConcurrency(options.concurrency, 'options.concurrency');
    const body = this.#encode(message, '*');
    if (list.length === 0) return { total: 0, sent: 0 };
    this.#busy++;
    const started = this.#now();
    const run: BroadcastRun = { ids: list, body, next: 0, sent: 0, failed: 0, gone: 0, errors: undefined };
    try {
      const workers: Promise<void>[] = [];
      for (let i = Math.min(concurrency, list.length); i > 0; i--) workers.push(this.#worker(run));
      await Promise.all(workers);
    } finally {
      this.#metrics.broadcasts++;
      this.#metrics.broadcastLatency.record(this.#now() - started);
      this.#done();
    }
    if (run.errors) throw new BroadcastError(run.errors, { total: list.length, sent: run.sent, failed: run.failed, gone: run.gone });
    return { total: list.length, sent: run.sent };
  }

  /** `broadcast` to every connection in the store matching `filter` (`{ room }`, `{ tag }`, or `{}` for all). */
  async broadcastTo(filter: ConnectionFilter, message: unknown, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    if (this.#closing) throw new ManagerClosedError('broadcast');
    checkFilter(filter);
    // Encoded (and refused when bad) before the store is asked; bytes go through `broadcast` as they are.
    const body = this.#encode(message, '*');
    const records = await this.store.list(filter);
    return this.broadcast(
      records.map((r) => r.connectionId),
      body,
      options,
    );
  }

  /**
   * True when the store has a record for `connectionId` (not past its
   * `expiresAt`). A lookup is trusted for `activeCacheMs` (30 s); a 410 seen
   * by any send marks the id inactive at once.
   */
  isActive(connectionId: string): Promise<boolean> {
    if (this.#closing) return Promise.reject(new ManagerClosedError('isActive'));
    try {
      check.nonEmptyString(connectionId, 'connectionId');
    } catch (err) {
      return Promise.reject(err);
    }
    const lookup = this.#presence.isActive(connectionId);
    this.#track(lookup.then(noop, noop));
    return lookup;
  }

  /** Sets the record's `lastPingAt` to now, in the background: a failure is counted in the metrics (`errors.store`), never thrown. `shutdown()` waits for it. */
  updateLastPing(connectionId: string): void {
    check.nonEmptyString(connectionId, 'connectionId');
    if (this.#closing) throw new ManagerClosedError('updateLastPing');
    const at = this.#epoch();
    this.#track(call(() => this.store.updateLastPing(connectionId, at)).then(noop, (err: unknown) => this.#metrics.storeFailed(err)));
  }

  /** A reporter of progress on `requestId` to `connectionId`, the seed's `{ type: 'progress', request_id, percentage, message }`. */
  progressReporter(connectionId: string, requestId: string): ProgressReporter {
    check.nonEmptyString(connectionId, 'connectionId');
    check.nonEmptyString(requestId, 'requestId');
    return {
      connectionId,
      requestId,
      report: (percentage: number, message = '') => {
        try {
          check.finiteNumber(percentage, 'percentage', { min: 0, max: 100 });
          if (typeof message !== 'string') throw new TypeError(`message must be a string, got ${check.describe(message)}`);
        } catch (err) {
          return Promise.reject(err);
        }
        return this.send(connectionId, { type: 'progress', request_id: requestId, percentage, message });
      },
    };
  }

  /** The metrics now (counted since the manager was made). */
  metricsSnapshot(): ApiGatewayMetrics {
    return this.#metrics.snapshot(this.#busy);
  }

  /**
   * Refuses new work (`ManagerClosedError`), waits for the sends and
   * broadcasts in flight and every background store call (gone removals,
   * pings, lookups), destroys the SDK client if the manager made it, and
   * completes `metrics$`. Calling it again returns the same promise.
   */
  shutdown(): Promise<void> {
    return (this.#closing ??= this.#shutdown());
  }

  async #shutdown(): Promise<void> {
    if (this.#busy > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    while (this.#background.size > 0) await Promise.all([...this.#background]);
    if (this.#ownsClient) (this.#client as { destroy?: () => void }).destroy?.();
    this.#finished = true;
    this.#finished$.next();
    this.#finished$.complete();
  }

  /** One id of a broadcast after another until none is left: `concurrency` of these run at once. */
  async #worker(run: BroadcastRun): Promise<void> {
    const { ids, body } = run;
    while (run.next < ids.length) {
      const id = ids[run.next++]!;
      const err = await this.#post(id, body);
      if (err === undefined) run.sent++;
      else {
        run.failed++;
        if (err instanceof ConnectionGoneError) run.gone++;
        (run.errors ??= new Map()).set(id, err);
      }
    }
  }

  /** One PostToConnection under the rate cap, 429 retried; resolves with the error instead of throwing it. */
  async #post(id: string, body: Uint8Array): Promise<ApiGatewayError | undefined> {
    let started = -1;
    for (let attempt = 1; ; attempt++) {
      const wait = this.#bucket.take();
      if (wait > 0) await this.#sleep(wait);
      if (started < 0) started = this.#now();
      try {
        await this.#client.send(new PostToConnectionCommand({ ConnectionId: id, Data: body }));
        this.#metrics.ok(this.#now() - started);
        return undefined;
      } catch (err) {
        const kind = failureKind(err);
        if (kind === 'throttled' && attempt <= this.#options.retry.maxRetries) {
          this.#metrics.retries++;
          await this.#sleep(this.#backoff(attempt));
          continue;
        }
        this.#metrics.failed(kind, this.#now() - started);
        if (kind === 'gone') this.#goneSeen(id);
        return apiGatewayError(err, id, { bytes: body.byteLength, attempts: attempt });
      }
    }
  }

  /** `message` as the bytes to send, refused (counted) when over the limit; `label` names the connection in the error. */
  #encode(message: unknown, label: string): Uint8Array {
    let body: Uint8Array;
    if (message instanceof Uint8Array) body = message;
    else if (message instanceof ArrayBuffer) body = new Uint8Array(message);
    else {
      let text: string | undefined;
      try {
        text = JSON.stringify(message);
      } catch (err) {
        throw new TypeError(`message must be JSON-serialisable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
      if (text === undefined) throw new TypeError(`message must be JSON-serialisable, got ${check.describe(message)}`);
      body = Buffer.from(text, 'utf8');
    }
    if (body.byteLength > this.#options.maxPayloadBytes) {
      this.#metrics.failed('tooLarge', undefined);
      throw new PayloadTooLargeError(label, body.byteLength, this.#options.maxPayloadBytes);
    }
    return body;
  }

  /** A 410 for `id`: inactive from now on, and its record removed from the store once. */
  #goneSeen(id: string): void {
    if (!this.#presence.gone(id)) return;
    this.#track(
      call(() => this.store.delete(id)).then(
        (removed) => {
          if (removed) this.#metrics.removed++;
        },
        (err: unknown) => {
          this.#presence.removalFailed(id);
          this.#metrics.storeFailed(err);
        },
      ),
    );
  }

  /** Background work `shutdown()` waits for; `task` must not reject. */
  #track(task: Promise<void>): void {
    this.#background.add(task);
    void task.then(() => this.#background.delete(task));
  }

  /**
   * The wait before retry number `attempt` of a 429: full jitter, anywhere in
   * `0..min(initialBackoffMs · 2^(attempt-1), maxBackoffMs)` (what
   * `backoffDelay` gives with `jitterMode: 'full'`; computed here so that
   * `statewire/apigateway` loads neither XState nor the supervisor, which a
   * Lambda's cold start would pay for).
   */
  #backoff(attempt: number): number {
    const { initialBackoffMs, maxBackoffMs } = this.#options.retry;
    return Math.round(this.#random() * Math.min(initialBackoffMs * 2 ** (attempt - 1), maxBackoffMs));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }

  #done(): void {
    if (--this.#busy === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}

function noop(): void {}

/** `ids` as an array, every id a non-empty string (a TypeError naming `ids[i]` otherwise). */
function idList(ids: Iterable<string>): readonly string[] {
  if (ids === null || typeof ids !== 'object' || typeof (ids as Iterable<string>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`ids must be an array (or iterable) of connection ids, got ${check.describe(ids)}`);
  }
  const list = Array.isArray(ids) ? (ids as readonly string[]) : Array.from(ids);
  for (let i = 0; i < list.length; i++) {
    const id = list[i];
    if (typeof id !== 'string' || id === '') check.nonEmptyString(id, `ids[${i}]`);
  }
  return list;
}

function checkFilter(filter: ConnectionFilter): void {
  check.object(filter, 'filter', '{ room } | { tag } | {}');
  const f = filter as { room?: unknown; tag?: unknown };
  if ('room' in f) check.nonEmptyString(f.room, 'filter.room');
  if ('tag' in f) check.nonEmptyString(f.tag, 'filter.tag');
}
