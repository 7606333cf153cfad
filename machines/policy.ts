/**
 * Reconnect policy: every number that shapes a connection's lifecycle.
 * Defaults are the seed's (the CAT radio link): see ARCHITECTURE.md.
 */
import * as check from './ports/check.js';

/**
 * How a retry delay is spread (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"). With `base = min(initialBackoffMs * factor^(n-1), maxBackoffMs)`:
 * - `'relative'`: `base` ± `jitter` (the seed's ±10 %). Clients that lost their
 *   server together come back together: a wave of n clients stays a wave.
 * - `'full'`: uniform in `0..base`. Spreads a wave over the whole delay.
 * - `'decorrelated'`: uniform in `initialBackoffMs..3 × the previous delay`,
 *   capped at `maxBackoffMs` (`factor` and `jitter` are not used). Spreads a
 *   wave and keeps spreading it on later retries.
 */
export type JitterMode = 'relative' | 'full' | 'decorrelated';
export const JITTER_MODES: readonly JitterMode[] = ['relative', 'full', 'decorrelated'];

export interface ReconnectPolicy {
  /** First retry delay, ms. Default 100. */
  initialBackoffMs: number;
  /** Cap on the retry delay before jitter, ms. Default 10000. */
  maxBackoffMs: number;
  /** Growth per retry. Default 2. */
  factor: number;
  /** Relative jitter, 0..1: 0.1 means ±10 %. Used by `jitterMode: 'relative'` only. Default 0.1. */
  jitter: number;
  /**
   * How the delay is spread: `'relative'` (± `jitter`), `'full'` (0..delay) or
   * `'decorrelated'` (see `JitterMode`). Use `'full'` or `'decorrelated'` when
   * many clients share a server: after it restarts, ±10 % brings them back
   * within a few hundred ms of one another (bench/RELIABILITY.md). Default `'relative'`.
   *
   * @example policy: { jitterMode: 'full' }
   */
  jitterMode: JitterMode;
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
   * `failed` instead of retrying until `maxRetries`. `Infinity` turns this off. Default 2.
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
  jitterMode: 'relative',
  maxRetries: 10,
  connectTimeoutMs: 3000,
  fastPathTimeoutMs: 500,
  stableAfterMs: 5000,
  staleAfterMs: 0,
  maxPermanentFailures: 2,
  reconnect: true,
});

const POLICY_KEYS = Object.keys(defaultPolicy);

/** Frozen, with exactly the policy's keys: shared as it is once its values pass the checks. */
function isResolved(partial: Partial<ReconnectPolicy>): partial is ReconnectPolicy {
  if (!Object.isFrozen(partial)) return false;
  const keys = Object.keys(partial);
  return keys.length === POLICY_KEYS.length && POLICY_KEYS.every((k) => Object.hasOwn(partial, k));
}

/** Durations that must be > 0 (the others may be 0). */
const positiveMs = ['connectTimeoutMs', 'fastPathTimeoutMs', 'stableAfterMs'] as const;

/**
 * Merge a partial policy over the defaults, validating every field.
 * Throws TypeError/RangeError naming the field (`policy.factor`) on bad input.
 *
 * No partial gives `defaultPolicy` itself, and a frozen complete policy (one
 * `resolvePolicy` gave, frozen) comes back as it is: connections that share
 * a policy share one object rather than a copy each (issue 15).
 */
export function resolvePolicy(partial: Partial<ReconnectPolicy> | undefined, name = 'policy'): ReconnectPolicy {
  if (partial !== undefined) check.object(partial, name);
  const p = partial === undefined ? (defaultPolicy as ReconnectPolicy) : isResolved(partial) ? partial : merge(defaultPolicy, partial, name, 'a policy option');
  checkBackoff(p, name);
  check.integer(p.maxRetries, `${name}.maxRetries`, { min: 0, allowInfinity: true });
  for (const key of positiveMs) check.finiteNumber(p[key], `${name}.${key}`, { min: 0, exclusiveMin: true, max: check.MAX_TIMER_MS });
  check.finiteNumber(p.staleAfterMs, `${name}.staleAfterMs`, { min: 0, max: check.MAX_TIMER_MS });
  check.integer(p.maxPermanentFailures, `${name}.maxPermanentFailures`, { min: 1, allowInfinity: true });
  check.boolean(p.reconnect, `${name}.reconnect`);
  return p;
}

/** The numbers of a backoff: a connection's retries, or the supervisor's restarts (`restartBackoff`). */
export type BackoffPolicy = Pick<ReconnectPolicy, 'initialBackoffMs' | 'maxBackoffMs' | 'factor' | 'jitter' | 'jitterMode'>;

/**
 * The supervisor's default `restartBackoff`: the connection's defaults (100 ms
 * doubling to 10 s, ±10 %), as Akka's BackoffSupervisor does for its children.
 */
export const defaultRestartBackoff: Readonly<BackoffPolicy> = Object.freeze({
  initialBackoffMs: defaultPolicy.initialBackoffMs,
  maxBackoffMs: defaultPolicy.maxBackoffMs,
  factor: defaultPolicy.factor,
  jitter: defaultPolicy.jitter,
  jitterMode: defaultPolicy.jitterMode,
});

/** Merge a partial backoff over `defaults`, validating every field (errors name `name.field`). */
export function resolveBackoff(
  partial: Partial<BackoffPolicy> | undefined,
  name: string,
  defaults: Readonly<BackoffPolicy> = defaultRestartBackoff,
): BackoffPolicy {
  if (partial !== undefined) check.object(partial, name);
  const b = merge(defaults, partial, name, `a backoff option (${Object.keys(defaults).join(', ')})`);
  checkBackoff(b, name);
  return b;
}

/** `partial` over `defaults`; an unknown key is a TypeError naming it. */
function merge<T extends object>(defaults: Readonly<T>, partial: Partial<T> | undefined, name: string, what: string): T {
  const merged = { ...defaults } as T;
  for (const [key, value] of Object.entries(partial ?? {})) {
    if (value === undefined) continue;
    if (!(key in defaults)) throw new TypeError(`${name}.${key} is not ${what}`);
    (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** The backoff fields, shared by the reconnect policy and the supervisor's restartBackoff. */
function checkBackoff(b: BackoffPolicy, name: string): void {
  // Every duration becomes a timer: past MAX_TIMER_MS Node would fire it after 1 ms.
  check.finiteNumber(b.initialBackoffMs, `${name}.initialBackoffMs`, { min: 0, max: check.MAX_TIMER_MS });
  check.finiteNumber(b.maxBackoffMs, `${name}.maxBackoffMs`, { min: 0, max: check.MAX_TIMER_MS });
  check.finiteNumber(b.factor, `${name}.factor`, { min: 1 });
  check.finiteNumber(b.jitter, `${name}.jitter`, { min: 0, max: 1 });
  check.oneOf(b.jitterMode, `${name}.jitterMode`, JITTER_MODES);
}
