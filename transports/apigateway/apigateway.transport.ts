/**
 * `apiGatewayTransport({ connectionId, client })`: a link to one client
 * connection of an API Gateway WebSocket API, through its management API
 * (`@aws-sdk/client-apigatewaymanagementapi`, an optional peer dependency:
 * only `statewire/apigateway` loads it).
 *
 * API Gateway holds the client's socket; this side only sends. `connect`
 * checks the connection with `GetConnection`, `send` is `PostToConnection`,
 * `close` is `DeleteConnection` (it disconnects the client; `deleteOnClose:
 * false` leaves it connected, for a worker that stops while other workers
 * keep serving). What the client sends arrives at the API's `$default`
 * route, not on this link: `incoming$` completes when the link ends and
 * emits nothing.
 *
 * Errors (`errors.ts`, translated once from the SDK's exceptions):
 * - connect: 410 → `ConnectionGoneError` (permanent: the machine fails after
 *   `policy.maxPermanentFailures` tries, the supervisor does not restart it);
 *   403 → `ApiGatewayError` `ERR_APIGW_FORBIDDEN` (permanent); 429 →
 *   `RateLimitedError` (one try: the machine's backoff retries); anything else
 *   (ECONNREFUSED, 5xx) → `ApiGatewayError` `ERR_APIGW_REQUEST`, `cause` the original.
 * - send: over 128 KB → `PayloadTooLargeError` before any request (the link
 *   stays up); 429 retried (`retry`), then `RateLimitedError` (the link stays
 *   up); 410 → `ConnectionGoneError` and the link ends as a remote close
 *   (`closed`: `{ initiatedLocally: false, code: 410, error }`); 403 or any
 *   other failure ends the link as lost. See `link.ts`.
 *
 * @example
 * ```ts
 * import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
 * import { apiGatewayTransport } from 'statewire/apigateway';
 * const client = new ApiGatewayManagementApiClient({ endpoint: process.env.WEBSOCKET_ENDPOINT, maxAttempts: 1 });
 * supervisor.startChild({ id: connectionId, transport: apiGatewayTransport({ connectionId, client }), restart: 'transient' });
 * await supervisor.send(connectionId, JSON.stringify({ type: 'hello' }));
 * ```
 */
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  type ApiGatewayManagementApiClientConfig,
} from '@aws-sdk/client-apigatewaymanagementapi';
import * as check from '../../machines/ports/check.js';
import { realClock, type Clock } from '../../machines/ports/clock.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import type { ConnectOptions, Transport } from '../../machines/ports/transport.js';
import { apiGatewayError } from './errors.js';
import { apiGatewayLink, type ApiGatewayLink, type ApiGatewayRetry } from './link.js';

export interface ApiGatewayTransportOptions {
  /** API Gateway's connection id (`event.requestContext.connectionId` in the `$connect` handler). */
  connectionId: string;
  /**
   * The SDK client to use (share one among all connections). It keeps its own
   * retry settings: give it `maxAttempts: 1` to leave 429 retries to `retry`.
   * Give `client` or `endpoint`, not both.
   */
  client?: ApiGatewayManagementApiClient;
  /**
   * The API's management endpoint: `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
   * (or an emulator's `endpoint`). The transport then makes its own client
   * (`maxAttempts: 1`), exposed as `transport.client`.
   * @example apiGatewayTransport({ connectionId, endpoint: 'http://127.0.0.1:4510/prod' })
   */
  endpoint?: string;
  /** With `endpoint`: the region. Default `AWS_REGION`, else `'us-east-1'`. */
  region?: string;
  /** With `endpoint`: credentials. Default: the SDK's provider chain (environment, profile, role). */
  credentials?: ApiGatewayManagementApiClientConfig['credentials'];
  /** How a throttled (429) send is retried. Default `{ attempts: 4, initialDelayMs: 50, maxDelayMs: 1000 }`. */
  retry?: Partial<ApiGatewayRetry>;
  /**
   * Check the connection with `GetConnection` this often, ms, so a client
   * that left ends the link without waiting for a send. Default 0 (off:
   * each check counts against the account's request rate).
   */
  checkIntervalMs?: number;
  /** `close()` sends `DeleteConnection`, disconnecting the client. Default true. */
  deleteOnClose?: boolean;
  /** How long `close()` waits for `DeleteConnection`, ms. Default 2000. */
  closeTimeoutMs?: number;
  /** Clock for the retry delays, the checks and the close timeout. Default real time. */
  clock?: Clock;
  /** 0 ≤ x < 1, for the retry jitter. Default `Math.random`. */
  random?: () => number;
}

export interface ApiGatewayTransport extends Transport {
  readonly kind: 'apigateway';
  readonly connectionId: string;
  /** The SDK client in use (the one given, or the one made from `endpoint`). */
  readonly client: ApiGatewayManagementApiClient;
  connect(options: ConnectOptions): Promise<ApiGatewayLink>;
}

function makeClient(o: ApiGatewayTransportOptions): ApiGatewayManagementApiClient {
  const endpoint = check.nonEmptyString(o.endpoint, 'options.endpoint');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`options.endpoint must be an http(s) URL, got ${check.describe(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`options.endpoint must be an http(s) URL, got ${check.describe(endpoint)}`);
  const region = check.nonEmptyString(o.region ?? process.env.AWS_REGION ?? 'us-east-1', 'options.region');
  return new ApiGatewayManagementApiClient({ endpoint, region, maxAttempts: 1, ...(o.credentials === undefined ? {} : { credentials: o.credentials }) });
}

export function apiGatewayTransport(options: ApiGatewayTransportOptions): ApiGatewayTransport {
  check.object(options, 'options', '{ connectionId, client | endpoint }');
  const connectionId = check.nonEmptyString(options.connectionId, 'options.connectionId');
  if (options.client !== undefined) {
    check.shape(options.client, 'options.client', { send: 'function' }, 'an ApiGatewayManagementApiClient');
    for (const key of ['endpoint', 'region', 'credentials'] as const) {
      if (options[key] !== undefined) throw new TypeError(`options.${key} configures the client the transport makes: with options.client, configure that client instead`);
    }
  } else if (options.endpoint === undefined) {
    throw new TypeError('options.client or options.endpoint is required (the management API: https://{api-id}.execute-api.{region}.amazonaws.com/{stage})');
  }
  const client = options.client ?? makeClient(options);
  const r = options.retry ?? {};
  if (options.retry !== undefined) check.object(options.retry, 'options.retry');
  const retry: ApiGatewayRetry = {
    attempts: check.integer(r.attempts ?? 4, 'options.retry.attempts', { min: 1, max: 100 }),
    initialDelayMs: check.finiteNumber(r.initialDelayMs ?? 50, 'options.retry.initialDelayMs', { min: 0, max: check.MAX_TIMER_MS }),
    maxDelayMs: check.finiteNumber(r.maxDelayMs ?? 1000, 'options.retry.maxDelayMs', { min: 0, max: check.MAX_TIMER_MS }),
  };
  const checkIntervalMs = check.duration(options.checkIntervalMs, 'options.checkIntervalMs', { allowZero: true }) ?? 0;
  const closeTimeoutMs = check.duration(options.closeTimeoutMs, 'options.closeTimeoutMs', { allowZero: false }) ?? 2000;
  const deleteOnClose = check.boolean(options.deleteOnClose ?? true, 'options.deleteOnClose');
  if (options.clock !== undefined) check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  if (options.random !== undefined) check.func(options.random, 'options.random', '() => number in [0, 1)');
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;

  return {
    kind: 'apigateway',
    connectionId,
    client,
    async connect({ signal }: ConnectOptions): Promise<ApiGatewayLink> {
      if (!signal || typeof signal.aborted !== 'boolean') throw new TypeError('options.signal must be an AbortSignal');
      if (signal.aborted) throw aborted(signal);
      try {
        await client.send(new GetConnectionCommand({ ConnectionId: connectionId }), { abortSignal: signal });
      } catch (e) {
        throw signal.aborted ? aborted(signal) : apiGatewayError(e, connectionId);
      }
      if (signal.aborted) throw aborted(signal);
      return apiGatewayLink({ connectionId, client, clock, retry, checkIntervalMs, deleteOnClose, closeTimeoutMs, random });
    },
  };
}

function aborted(signal: AbortSignal): LinkClosedError {
  return new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason });
}
