/**
 * Errors of the API Gateway kind (`statewire/apigateway`). They extend the
 * core `ConnectionError`; their codes join the core `ErrorCode` union.
 * The AWS SDK's exceptions are translated once, at the boundary
 * (`apiGatewayError`), into these; nothing above it reads SDK shapes.
 */
import { ConnectionError, type ErrorCode } from '../../machines/ports/errors.js';

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

/** The client connection is gone (410): it disconnected, or never existed. */
export class ConnectionGoneError extends ApiGatewayError {
  override name = 'ConnectionGoneError';
  constructor(apiConnectionId: string, options: { cause?: unknown } = {}) {
    super(`connection ${apiConnectionId} is gone (410)`, apiConnectionId, 'ERR_APIGW_GONE', { ...options, status: 410 });
  }
}

/** A message over the 128 KB limit; nothing was sent. */
export class PayloadTooLargeError extends ApiGatewayError {
  override name = 'PayloadTooLargeError';
  readonly bytes: number;
  readonly limit: number;
  constructor(apiConnectionId: string, bytes: number, limit: number) {
    super(`a message of ${bytes} bytes is over API Gateway's ${limit}-byte limit (connection ${apiConnectionId})`, apiConnectionId, 'ERR_APIGW_PAYLOAD_TOO_LARGE', { status: 413 });
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
