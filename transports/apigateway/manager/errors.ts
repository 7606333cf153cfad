/**
 * The manager's own errors: a broadcast with failures, and a manager used
 * after `shutdown()`. The per-connection ones (`ConnectionGoneError`,
 * `PayloadTooLargeError`, `RateLimitedError`, `ApiGatewayError`) are the
 * kind's, in `../errors.ts`, where `apiGatewayError` translates the SDK's
 * exceptions into them; `failureKind` here only sorts a failure for the
 * retry decision and the error counts.
 */
import { ClosedError, StatewireError } from '../../../machines/ports/errors.js';
import { isConnectionGone, type ApiGatewayError } from '../errors.js';

declare module '../../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** An `ApiGatewayManager` was used after `shutdown()`. */
    ERR_APIGW_CLOSED: true;
  }
}

/**
 * Some sends of a broadcast failed. Every other id was sent to. `errors` holds
 * each failed connection id with its error; gone connections (410) are among
 * them, counted in `gone`, and were removed from the store.
 *
 * @example
 * ```ts
 * try { await manager.broadcast(ids, msg) }
 * catch (err) {
 *   if (!(err instanceof BroadcastError)) throw err
 *   if (err.failed > err.gone) for (const [id, e] of err.errors) if (!isConnectionGone(e)) log(id, e)
 * }
 * ```
 */
export class BroadcastError extends StatewireError {
  override name = 'BroadcastError';
  /** Each failed connection id and why (the last error when an id was listed twice). */
  readonly errors: ReadonlyMap<string, ApiGatewayError>;
  /** How many ids the broadcast was asked to send to. */
  readonly total: number;
  /** How many sends succeeded. */
  readonly sent: number;
  /** How many failed (`total - sent`). */
  readonly failed: number;
  /** How many of the failures were gone connections (410). */
  readonly gone: number;

  constructor(errors: ReadonlyMap<string, ApiGatewayError>, counts: { total: number; sent: number; failed: number; gone: number }) {
    const other = counts.failed - counts.gone;
    super(`${counts.failed} of ${counts.total} sends of a broadcast failed (${counts.gone} gone, ${other} other)`, 'ERR_APIGW_BROADCAST');
    this.errors = errors;
    this.total = counts.total;
    this.sent = counts.sent;
    this.failed = counts.failed;
    this.gone = counts.gone;
  }
}

/** The manager is shut down: `what` (`'send'`, `'broadcast'`, ...) was refused. */
export class ManagerClosedError extends ClosedError {
  override name = 'ManagerClosedError';
  constructor(what: string) {
    super('API Gateway manager', `cannot ${what}: the API Gateway manager is shut down`, 'ERR_APIGW_CLOSED');
  }
}

/** What a failed request was, for the retry decision and the error counts. */
export type FailureKind = 'gone' | 'tooLarge' | 'throttled' | 'other';

/** The kind of an SDK failure: by exception name, else by HTTP status. */
export function failureKind(err: unknown): FailureKind {
  if (isConnectionGone(err)) return 'gone';
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const name = e && typeof e === 'object' ? e.name : undefined;
  const status = e && typeof e === 'object' ? e.$metadata?.httpStatusCode : undefined;
  if (name === 'PayloadTooLargeException' || status === 413) return 'tooLarge';
  if (name === 'LimitExceededException' || status === 429) return 'throttled';
  return 'other';
}
