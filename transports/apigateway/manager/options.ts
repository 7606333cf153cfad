/**
 * `ApiGatewayManagerOptions`, checked: every option named in its error, the
 * endpoint and region read from the environment when not given, and the SDK
 * client made when none is passed in.
 */
import { ApiGatewayManagementApiClient, type ApiGatewayManagementApiClientConfig, type PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import * as check from '../../../machines/ports/check.js';
import type { Clock } from '../../../machines/ports/clock.js';
import { ACCOUNT_RPS, MAX_PAYLOAD_BYTES } from '../limits.js';
import type { ConnectionStore } from '../store.js';

/**
 * What the manager needs of an SDK client: `send` of a `PostToConnectionCommand`.
 * An `ApiGatewayManagementApiClient` is one; so is a test's fake.
 */
export interface ManagementApiClient {
  send(command: PostToConnectionCommand): Promise<unknown>;
}

/** How a throttled (429) request is retried: exponential backoff with full jitter (AWS's advice for throttling), on the manager's clock. */
export interface RetryOptions {
  /** Retries after the first try; then the send fails with `RateLimitedError`. Default 5. */
  maxRetries?: number;
  /** The cap of the first delay, ms. Default 100. */
  initialBackoffMs?: number;
  /** The largest delay, ms. Default 5000. */
  maxBackoffMs?: number;
}

export interface ApiGatewayManagerOptions {
  /** Where the connection records are (`isActive`, gone removal, `broadcastTo`). Default: a new `MemoryConnectionStore`. */
  store?: ConnectionStore;
  /**
   * The SDK client to send with. Default: an `ApiGatewayManagementApiClient` for
   * `endpoint` and `region`, with `maxAttempts: 1` (the manager retries 429
   * itself, on its clock and under its rate cap), destroyed by `shutdown()`.
   * A client passed in is yours: give it `maxAttempts: 1` too, or the SDK
   * retries 429 before the manager sees it.
   */
  client?: ManagementApiClient;
  /**
   * The management endpoint, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
   * (a `wss://` URL of the same API is taken as its `https://` one).
   * Default: `WEBSOCKET_ENDPOINT`. Not used when `client` is given.
   */
  endpoint?: string;
  /** Default: `AWS_REGION`, else the region in an `execute-api` endpoint. Not used when `client` is given. */
  region?: string;
  /** More configuration for the SDK client the manager makes (credentials, requestHandler, ...). */
  clientConfig?: ApiGatewayManagementApiClientConfig;
  /** Where `WEBSOCKET_ENDPOINT` and `AWS_REGION` are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Time for the rate cap, retries, the `isActive` cache, latencies and `metrics$`. Default: real time. */
  clock?: Clock;
  /** Default for `broadcast`'s `concurrency`: requests in flight at once. Default 50, as the seed. */
  concurrency?: number;
  /** Requests per second at most, all calls together (bursts of 1 % of it on top). Default 10,000, the account limit; `Infinity`: no cap. */
  maxRequestsPerSecond?: number;
  /** How long `isActive` trusts a store lookup, ms. Default 30,000, as the seed; 0: no cache. */
  activeCacheMs?: number;
  /** At most this many ids are cached by `isActive` (the oldest go first). Default 10,000. */
  activeCacheSize?: number;
  /** 429 retries. */
  retry?: RetryOptions;
  /** Largest message in bytes; larger ones are refused before sending (`PayloadTooLargeError`). Default 131,072 (128 KB, API Gateway's limit). */
  maxPayloadBytes?: number;
  /** How often `metrics$` emits while something changed, ms. Default 1000. */
  metricsIntervalMs?: number;
  /** Jitter source for retries (`seededRandom(n)` in tests). Default `Math.random`. */
  random?: () => number;
}

export const DEFAULT_CONCURRENCY = 50;

/** `options.endpoint` (or `WEBSOCKET_ENDPOINT`) as the management API's https URL. */
function endpointUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be a URL (https://{api-id}.execute-api.{region}.amazonaws.com/{stage}), got ${check.describe(value)}`);
  }
  if (url.protocol === 'wss:') url.protocol = 'https:';
  else if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${name} must be an https:// (or http://) URL, got ${check.describe(value)}`);
  return url.href.replace(/\/$/, '');
}

/** The client the options ask for: `options.client`, or one made for the endpoint and region (`owned`: the manager destroys it). */
export function resolveClient(options: ApiGatewayManagerOptions): { client: ManagementApiClient; owned: boolean } {
  if (options.client !== undefined) return { client: check.hasMethods(options.client, 'options.client', ['send'], '(an ApiGatewayManagementApiClient)'), owned: false };
  const env = options.env === undefined ? process.env : check.object(options.env, 'options.env');
  let endpoint: string;
  if (options.endpoint !== undefined) endpoint = endpointUrl(check.nonEmptyString(options.endpoint, 'options.endpoint'), 'options.endpoint');
  else if (env.WEBSOCKET_ENDPOINT) endpoint = endpointUrl(env.WEBSOCKET_ENDPOINT, 'WEBSOCKET_ENDPOINT');
  else {
    throw new TypeError(
      'options.endpoint must be the API Gateway management endpoint (https://{api-id}.execute-api.{region}.amazonaws.com/{stage}): ' +
        'none was given, WEBSOCKET_ENDPOINT is not set, and there is no options.client',
    );
  }
  let region: string;
  if (options.region !== undefined) region = check.nonEmptyString(options.region, 'options.region');
  else {
    const found = env.AWS_REGION || /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(endpoint)?.[1];
    if (!found) throw new TypeError(`options.region must be an AWS region: none was given, AWS_REGION is not set, and ${endpoint} does not name one`);
    region = found;
  }
  const config = options.clientConfig === undefined ? {} : check.object(options.clientConfig, 'options.clientConfig');
  return { client: new ApiGatewayManagementApiClient({ maxAttempts: 1, ...config, endpoint, region }), owned: true };
}

/** Every other option, checked, with its default. */
export function resolveOptions(options: ApiGatewayManagerOptions) {
  const { retry = {} } = options;
  check.object(retry, 'options.retry');
  if (options.clock !== undefined) check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  if (options.store !== undefined) {
    check.hasMethods(options.store, 'options.store', ['get', 'put', 'delete', 'updateLastPing', 'list'], '(a ConnectionStore)');
  }
  if (options.random !== undefined) check.func(options.random, 'options.random', '() => 0..1');
  return {
    concurrency: checkConcurrency(options.concurrency ?? DEFAULT_CONCURRENCY, 'options.concurrency'),
    maxRequestsPerSecond: check.finiteNumber(options.maxRequestsPerSecond ?? ACCOUNT_RPS, 'options.maxRequestsPerSecond', { min: 0, exclusiveMin: true, allowInfinity: true }),
    activeCacheMs: check.duration(options.activeCacheMs, 'options.activeCacheMs', { allowZero: true }) ?? 30_000,
    activeCacheSize: check.integer(options.activeCacheSize ?? 10_000, 'options.activeCacheSize', { min: 1 }),
    maxPayloadBytes: check.integer(options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES, 'options.maxPayloadBytes', { min: 1 }),
    metricsIntervalMs: check.duration(options.metricsIntervalMs, 'options.metricsIntervalMs', { allowZero: false }) ?? 1000,
    retry: {
      maxRetries: check.integer(retry.maxRetries ?? 5, 'options.retry.maxRetries', { min: 0 }),
      initialBackoffMs: check.finiteNumber(retry.initialBackoffMs ?? 100, 'options.retry.initialBackoffMs', { min: 0 }),
      maxBackoffMs: check.finiteNumber(retry.maxBackoffMs ?? 5000, 'options.retry.maxBackoffMs', { min: 0, max: check.MAX_TIMER_MS }),
    },
  };
}

/** Requests in flight at once: an integer ≥ 1 (0, NaN, 1.5 are refused, naming `name`). */
export function checkConcurrency(value: unknown, name: string): number {
  return check.integer(value, name, { min: 1 });
}
