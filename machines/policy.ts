/**
 * Reconnect policy: every number that shapes a connection's lifecycle.
 * Defaults are the seed's (the CAT radio link): see ARCHITECTURE.md.
 */
export interface ReconnectPolicy {
  /** First retry delay, ms. Default 100. */
  initialBackoffMs: number;
  /** Cap on the retry delay before jitter, ms. Default 10000. */
  maxBackoffMs: number;
  /** Growth per retry. Default 2. */
  factor: number;
  /** Relative jitter, 0..1: 0.1 means ±10 %. Default 0.1. */
  jitter: number;
  /**
   * Retries allowed after a link is lost or an attempt fails, counted since the
   * last stable connection. When the next retry would exceed it, the connection
   * goes to `failed`. `Infinity` retries forever. Default 10.
   */
  maxRetries: number;
  /** How long one connect may take before it counts as failed, ms. Default 3000. */
  connectTimeoutMs: number;
  /** How long the TX-drop fast path may take before falling back to backoff, ms. Default 500. */
  fastPathTimeoutMs: number;
  /** Connected this long without loss: EVENT_CONNECTION_STABLE and the retry count resets. Default 5000. */
  stableAfterMs: number;
  /** No inbound data for this long means the link is stale (lost). 0 turns it off. Default 0 (off). */
  staleAfterMs: number;
  /**
   * A failure the transport marks `permanent` (an HTTP 401/403 on a WebSocket
   * handshake) that repeats identically this many times in a row ends in
   * `failed` instead of retrying until `maxRetries`. Default 2.
   */
  maxPermanentFailures: number;
  /** Retry after a lost link. False for server-side accepted links: a lost link ends in `disconnected`. Default true. */
  reconnect: boolean;
}

export const defaultPolicy: Readonly<ReconnectPolicy> = Object.freeze({
  initialBackoffMs: 100,
  maxBackoffMs: 10_000,
  factor: 2,
  jitter: 0.1,
  maxRetries: 10,
  connectTimeoutMs: 3000,
  fastPathTimeoutMs: 500,
  stableAfterMs: 5000,
  staleAfterMs: 0,
  maxPermanentFailures: 2,
  reconnect: true,
});

const nonNegative = ['initialBackoffMs', 'maxBackoffMs', 'maxRetries', 'staleAfterMs'] as const;
const positive = ['connectTimeoutMs', 'fastPathTimeoutMs', 'stableAfterMs', 'maxPermanentFailures'] as const;

/**
 * Merge a partial policy over the defaults, validating every field.
 * Throws TypeError/RangeError naming the field (`policy.factor`) on bad input.
 */
export function resolvePolicy(partial: Partial<ReconnectPolicy> | undefined, name = 'policy'): ReconnectPolicy {
  if (partial !== undefined && (partial === null || typeof partial !== 'object')) {
    throw new TypeError(`${name} must be an object, got ${partial === null ? 'null' : typeof partial}`);
  }
  const p: ReconnectPolicy = { ...defaultPolicy };
  for (const [key, value] of Object.entries(partial ?? {})) {
    if (value === undefined) continue;
    if (!(key in defaultPolicy)) throw new TypeError(`${name}.${key} is not a policy option`);
    (p as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of [...nonNegative, ...positive, 'factor', 'jitter'] as const) {
    if (typeof p[key] !== 'number' || Number.isNaN(p[key])) {
      throw new TypeError(`${name}.${key} must be a number, got ${typeof p[key]}`);
    }
  }
  for (const key of nonNegative) {
    if (p[key] < 0) throw new RangeError(`${name}.${key} must be >= 0, got ${p[key]}`);
  }
  for (const key of positive) {
    if (!(p[key] > 0) || !Number.isFinite(p[key])) {
      throw new RangeError(`${name}.${key} must be a finite number > 0, got ${p[key]}`);
    }
  }
  if (!Number.isFinite(p.initialBackoffMs) || !Number.isFinite(p.maxBackoffMs)) {
    throw new RangeError(`${name}.initialBackoffMs and ${name}.maxBackoffMs must be finite`);
  }
  if (!Number.isFinite(p.staleAfterMs)) throw new RangeError(`${name}.staleAfterMs must be finite (0 turns it off)`);
  if (!(p.factor >= 1) || !Number.isFinite(p.factor)) throw new RangeError(`${name}.factor must be a finite number >= 1, got ${p.factor}`);
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw new RangeError(`${name}.jitter must be within 0..1, got ${p.jitter}`);
  if (p.maxRetries !== Infinity && !Number.isInteger(p.maxRetries)) {
    throw new RangeError(`${name}.maxRetries must be an integer >= 0 or Infinity, got ${p.maxRetries}`);
  }
  if (p.maxPermanentFailures !== Infinity && !Number.isInteger(p.maxPermanentFailures)) {
    throw new RangeError(`${name}.maxPermanentFailures must be an integer >= 1 or Infinity, got ${p.maxPermanentFailures}`);
  }
  if (typeof p.reconnect !== 'boolean') throw new TypeError(`${name}.reconnect must be a boolean, got ${typeof p.reconnect}`);
  return p;
}
