/**
 * One API Gateway client connection as a `Link`, over the management API:
 * `send` is `PostToConnection`, `close` is `DeleteConnection`. Send-only:
 * what the client sends goes to the API's `$default` route (a Lambda, an
 * HTTP integration), never back over the management API, so `incoming$`
 * emits nothing and completes when the link ends.
 *
 * - Sends go out one request at a time, in call order (parallel HTTP
 *   requests could arrive out of order).
 * - 429 is retried with exponential backoff (equal jitter) on the clock;
 *   after the last try the send rejects with a `RateLimitedError` and the
 *   link stays up: the account is throttled, the connection is fine.
 * - 410 ends the link as a remote close: the send rejects with a
 *   `ConnectionGoneError`, `closed` resolves `{ initiatedLocally: false,
 *   code: 410, error: ConnectionGoneError }`, later sends reject with one too.
 * - 403 and any other failure (5xx, network) end the link as lost, with the
 *   translated error (`ERR_APIGW_FORBIDDEN`, permanent; `ERR_APIGW_REQUEST`).
 * - `checkIntervalMs` > 0 polls `GetConnection`, so a client that left is
 *   noticed without a send (off by default: each check is a request
 *   against the account's rate).
 * - `close()` cancels what is queued or waiting to retry (canceled
 *   `LinkClosedError`), then sends `DeleteConnection` (429 retried, all
 *   within `closeTimeoutMs`); a 410 there is fine. A failed or timed-out
 *   delete shows as `closed`'s `error`; `close()` itself never rejects.
 */
import { DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Clock } from '../../machines/ports/clock.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { checkPayload, type CloseInfo, type Link, type Payload } from '../../machines/ports/transport.js';
import { LinkCore } from '../link-core.js';
import { apiGatewayError, ConnectionGoneError, PayloadTooLargeError, RateLimitedError, type ApiGatewayError } from './errors.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';

/** How a throttled (429) send is retried. */
export interface ApiGatewayRetry {
  /** Tries in all, the first included: an integer >= 1. Default 4. */
  attempts: number;
  /** Delay before the first retry, ms; doubled for each next one. Default 50. */
  initialDelayMs: number;
  /** Longest delay, ms. Default 1000. */
  maxDelayMs: number;
}

export interface ApiGatewayLinkOptions {
  connectionId: string;
  client: ApiGatewayManagementApiClient;
  clock: Clock;
  retry: ApiGatewayRetry;
  /** Poll GetConnection this often, ms; 0 = never. */
  checkIntervalMs: number;
  /** `close()` sends DeleteConnection (the client is disconnected). */
  deleteOnClose: boolean;
  /** How long `close()` waits for DeleteConnection, ms. */
  closeTimeoutMs: number;
  /** 0 ≤ x < 1, for the retry jitter. */
  random: () => number;
}

/** A `Link` to one client connection. */
export interface ApiGatewayLink extends Link {
  /** API Gateway's connection id. */
  readonly connectionId: string;
}

// Not a type guard: ConnectionGoneError has the shape of any ApiGatewayError, so narrowing would leave `never`.
const isGone = (e: ApiGatewayError): boolean => e instanceof ConnectionGoneError;

export function apiGatewayLink(o: ApiGatewayLinkOptions): ApiGatewayLink {
  const { connectionId, client, clock } = o;
  /** Aborted when the link ends: every request and retry delay of its sends and checks stops. */
  const requests = new AbortController();
  let tail: Promise<void> = Promise.resolve();
  let goneError: ConnectionGoneError | undefined;
  let checkTimer: unknown;

  const core = new LinkCore({
    write: (data, done) => {
      tail = tail.then(() => post(data as Uint8Array, done));
    },
    writeError: (err) => err,
  });

  /** The link is lost (a remote close): pending sends reject with what `pendingError` makes. */
  const lose = (error: ApiGatewayError) => {
    if (core.ended || core.closing) return;
    if (isGone(error)) goneError = error as ConnectionGoneError;
    stop();
    core.end({ ...withCode(error.status), error }, (canceled) =>
      canceled
        ? new LinkClosedError('link closed while sending', { canceled: true })
        : goneError
          ? new ConnectionGoneError(connectionId, { cause: error })
          : new LinkClosedError('link lost while sending', { canceled: false, cause: error }),
    );
  };

  /** Stop every timer and request of the link. */
  const stop = () => {
    requests.abort();
    if (checkTimer !== undefined) clock.clearTimeout(checkTimer);
    checkTimer = undefined;
  };

  /** Resolves after `ms` on the clock, or at once when `signal` aborts. */
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((wake) => {
      const timer = clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        wake();
      }, ms);
      const onAbort = () => {
        clock.clearTimeout(timer);
        wake();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });

  /**
   * One management call, 429 retried with exponential backoff (equal
   * jitter); any other failure, or the last 429, rejects translated. Rejects
   * with `undefined` when `signal` aborted it: the caller's owner already
   * settled whatever waited on it.
   */
  async function retried<T>(call: (options: { abortSignal: AbortSignal }) => Promise<T>, signal: AbortSignal, bytes?: number): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw undefined;
      try {
        return await call({ abortSignal: signal });
      } catch (e) {
        if (signal.aborted) throw undefined;
        const err = apiGatewayError(e, connectionId, { bytes, attempts: attempt });
        if (!(err instanceof RateLimitedError) || attempt >= o.retry.attempts) throw err;
        const d = Math.min(o.retry.maxDelayMs, o.retry.initialDelayMs * 2 ** (attempt - 1));
        await sleep(d / 2 + (o.random() * d) / 2, signal);
      }
    }
  }

  async function post(data: Uint8Array, done: (err?: Error | null) => void): Promise<void> {
    try {
      await retried((options) => client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }), options), requests.signal, data.byteLength);
      done();
    } catch (err) {
      if (err === undefined) return; // closed or lost: LinkCore already rejected this send
      done(err as ApiGatewayError);
      // Throttled or refused as too large: this message failed, the connection did not.
      if (!(err instanceof RateLimitedError || err instanceof PayloadTooLargeError)) lose(err as ApiGatewayError);
    }
  }

  const scheduleCheck = () => {
    if (!(o.checkIntervalMs > 0) || core.ended || core.closing) return;
    checkTimer = clock.setTimeout(() => {
      checkTimer = undefined;
      client.send(new GetConnectionCommand({ ConnectionId: connectionId }), { abortSignal: requests.signal }).then(scheduleCheck, (e: unknown) => {
        if (requests.signal.aborted) return;
        const err = apiGatewayError(e, connectionId);
        if (err instanceof RateLimitedError) scheduleCheck();
        else lose(err);
      });
    }, o.checkIntervalMs);
  };
  scheduleCheck();

  /** DeleteConnection (429 retried), bounded by `closeTimeoutMs`; resolves with what `closed` reports. */
  const deleteConnection = async (): Promise<Omit<CloseInfo, 'initiatedLocally'>> => {
    const ac = new AbortController();
    const timer = clock.setTimeout(() => ac.abort(), o.closeTimeoutMs);
    try {
      const out = await retried((options) => client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }), options), ac.signal);
      return { code: out.$metadata.httpStatusCode ?? 204, reason: 'DeleteConnection' };
    } catch (e) {
      if (e === undefined) {
        return { reason: 'DeleteConnection failed', error: new LinkClosedError(`DeleteConnection took over ${o.closeTimeoutMs} ms`, { canceled: true }) };
      }
      const err = e as ApiGatewayError;
      if (isGone(err)) return { code: 410, reason: 'DeleteConnection: already gone' };
      return { ...withCode(err.status), reason: 'DeleteConnection failed', error: err };
    } finally {
      clock.clearTimeout(timer);
    }
  };

  return {
    connectionId,
    incoming$: core.incoming.asObservable(),
    closed: core.closed,
    send(data: Payload): Promise<void> {
      try {
        checkPayload(data, 'data');
      } catch (err) {
        return Promise.reject(err);
      }
      if (core.ended || core.closing) {
        return Promise.reject(goneError ? new ConnectionGoneError(connectionId, { cause: goneError }) : new LinkClosedError('link is closed', { canceled: core.closing !== undefined }));
      }
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      if (bytes.byteLength > MAX_PAYLOAD_BYTES) return Promise.reject(new PayloadTooLargeError(connectionId, bytes.byteLength, MAX_PAYLOAD_BYTES));
      return core.write(bytes);
    },
    close: () =>
      core.close(() => {
        stop();
        // Not from inside `begin`: LinkCore marks the close as ours only once `begin` returned.
        if (!o.deleteOnClose) return queueMicrotask(() => core.end({ reason: 'closed (connection kept)' }, cancelled));
        void deleteConnection().then((info) => core.end(info, cancelled));
      }),
  };
}

/** `{ code }` when there was an HTTP status (no `code: undefined` in a CloseInfo). */
const withCode = (status: number | undefined) => (status === undefined ? {} : { code: status });

const cancelled = (canceled: boolean) => new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', { canceled });
