/**
 * Errors of the API Gateway kind (`statewire/apigateway`). They extend the
 * core `ConnectionError`; their codes join the core `ErrorCode` union.
 * The AWS SDK's exceptions are translated once, at the boundary
 * (`apiGatewayError`), into these; nothing above it reads SDK shapes.
 */
import { ConnectionError, type ErrorCode } from '../../machines/ports/errors.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** The client connection is gone (HTTP 410, `GoneException`). */
    ERR_APIGW_GONE: true;
    /** A message over API Gateway's 128 KB limit: refused before it was sent. */
    ERR_APIGW_PAYLOAD_TOO_LARGE: true;
    /** Throttled (HTTP 429, `LimitExceededException`) through every retry. */
    ERR_APIGW_LIMIT_EXCEEDED: true;
    /** Not allowed (HTTP 403, `ForbiddenException`): credentials or the endpoint are wrong. Permanent. */
    ERR_APIGW_FORBIDDEN: true;
    /** Any other failure of a management API call (5xx, network). */
    ERR_APIGW_REQUEST: true;
    /** Some sends of a broadcast failed: `errors` holds each one. */
    ERR_APIGW_BROADCAST: true;
  }
}

/** A management API failure for one client connection. */
export class ApiGatewayError extends ConnectionError {
  override name = 'ApiGatewayError';
  /** The API Gateway connection id. */
  readonly apiConnectionId: string;
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;

  constructor(message: string, apiConnectionId: string, code: ErrorCode, options: { cause?: unknown; status?: number; permanent?: boolean } = {}) {
    super(message, { kind: 'apigateway', code, cause: options.cause, permanent: options.permanent });
    this.apiConnectionId = apiConnectionId;
    this.status = options.status;
  }
}

/**
 * The client connection is gone (410): it disconnected, or never existed.
 * `permanent`: API Gateway never gives a connection id back, so retrying
 * cannot help (the connection machine fails after
 * `policy.maxPermanentFailures` of these in a row, and the supervisor does
 * not restart it).
 */
export class ConnectionGoneError extends ApiGatewayError {
  override name = 'ConnectionGoneError';
  constructor(apiConnectionId: string, options: { cause?: unknown } = {}) {
    super(`connection ${apiConnectionId} is gone (410)`, apiConnectionId, 'ERR_APIGW_GONE', { ...options, status: 410, permanent: true });
  }
}

/**
 * A message over the 128 KB limit; nothing was sent (refused before the
 * request, or answered 413). `bytes` is NaN when the size is not known (a 413
 * translated from an SDK error without the message at hand).
 */
export class PayloadTooLargeError extends ApiGatewayError {
  override name = 'PayloadTooLargeError';
  readonly bytes: number;
  readonly limit: number;
  constructor(apiConnectionId: string, bytes: number, limit: number, options: { cause?: unknown } = {}) {
    const size = Number.isFinite(bytes) ? `of ${bytes} bytes ` : '';
    super(`a message ${size}is over API Gateway's ${limit}-byte limit (connection ${apiConnectionId})`, apiConnectionId, 'ERR_APIGW_PAYLOAD_TOO_LARGE', { ...options, status: 413 });
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** Throttled (429) through every retry. */
export class RateLimitedError extends ApiGatewayError {
  override name = 'RateLimitedError';
  readonly attempts: number;
  constructor(apiConnectionId: string, attempts: number, options: { cause?: unknown } = {}) {
    super(`throttled (429) in ${attempts} tries (connection ${apiConnectionId})`, apiConnectionId, 'ERR_APIGW_LIMIT_EXCEEDED', { ...options, status: 429 });
    this.attempts = attempts;
  }
}

/** True for a `ConnectionGoneError`, or the SDK's own `GoneException` / a 410. */
export function isConnectionGone(err: unknown): boolean {
  if (err instanceof ConnectionGoneError) return true;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return !!e && typeof e === 'object' && (e.name === 'GoneException' || e.$metadata?.httpStatusCode === 410);
}

/** What an SDK error looks like from here: a name, and the HTTP status in `$metadata`. */
function sdkShape(err: unknown): { name: string; status: number | undefined; message: string } {
  const e = (err !== null && typeof err === 'object' ? err : {}) as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = e.$metadata?.httpStatusCode;
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    status: typeof status === 'number' ? status : undefined,
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

/** What `apiGatewayError` knows besides the error: the message's size, the tries made. */
export interface ApiGatewayErrorContext {
  /** Size of the message being sent, bytes (for a 413). */
  bytes?: number;
  /** Tries made (for a 429). Default 1. */
  attempts?: number;
}

/**
 * Translate what the AWS SDK threw (or a network error under it) into one of
 * these classes, once, at the boundary; the original is the `cause`.
 * An `ApiGatewayError` passes through unchanged.
 * - `GoneException` / 410 → `ConnectionGoneError` (permanent)
 * - `PayloadTooLargeException` / 413 → `PayloadTooLargeError`
 * - `ForbiddenException` / 403 → `ApiGatewayError` `ERR_APIGW_FORBIDDEN`, permanent
 *   (credentials, the endpoint or its stage are wrong)
 * - `LimitExceededException` / 429 → `RateLimitedError`
 * - anything else (5xx, ECONNREFUSED, a timeout) → `ApiGatewayError` `ERR_APIGW_REQUEST`
 *
 * @example
 * ```ts
 * try { await client.send(new PostToConnectionCommand({ ConnectionId: id, Data })) }
 * catch (err) { throw apiGatewayError(err, id, { bytes: Data.byteLength }) }
 * ```
 */
export function apiGatewayError(err: unknown, apiConnectionId: string, context: ApiGatewayErrorContext = {}): ApiGatewayError {
  if (err instanceof ApiGatewayError) return err;
  const { name, status, message } = sdkShape(err);
  if (isConnectionGone(err)) return new ConnectionGoneError(apiConnectionId, { cause: err });
  if (name === 'PayloadTooLargeException' || status === 413) return new PayloadTooLargeError(apiConnectionId, context.bytes ?? NaN, MAX_PAYLOAD_BYTES, { cause: err });
  if (name === 'LimitExceededException' || status === 429) return new RateLimitedError(apiConnectionId, context.attempts ?? 1, { cause: err });
  if (name === 'ForbiddenException' || status === 403) {
    return new ApiGatewayError(`forbidden (403) for connection ${apiConnectionId}: ${message}`, apiConnectionId, 'ERR_APIGW_FORBIDDEN', { cause: err, status: 403, permanent: true });
  }
  const what = status === undefined ? name : `HTTP ${status} ${name}`;
  return new ApiGatewayError(`@connections request for ${apiConnectionId} failed (${what}): ${message}`, apiConnectionId, 'ERR_APIGW_REQUEST', { cause: err, status });
}
