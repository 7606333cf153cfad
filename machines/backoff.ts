import * as check from './ports/check.js';
import { JITTER_MODES, defaultPolicy, type BackoffPolicy } from './policy.js';

/**
 * Delay before retry number `attempt` (1 for the first retry), rounded to
 * whole ms. With `base = min(initialBackoffMs * factor^(attempt-1), maxBackoffMs)`
 * and `r = random()`, by `jitterMode` (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"):
 * - `'relative'` (default): `base * (1 ± jitter)`. Jitter is applied after the
 *   cap, so with the defaults the 1st delay is 90..110 ms and a capped one
 *   9000..11000 ms.
 * - `'full'`: `r * base`, anywhere in `0..base`.
 * - `'decorrelated'`: `min(maxBackoffMs, initialBackoffMs + r * (3 * previous - initialBackoffMs))`,
 *   where `previous` is the delay this function returned for the retry
 *   before (`initialBackoffMs` for the first): the caller keeps it (the
 *   connection machine holds it in its context). `attempt` and `factor` do not
 *   enter.
 *
 * Pure: the same inputs (and a seeded `random`) give the same delay.
 *
 * @example backoffDelay(1) // 90..110
 * @example backoffDelay(3, { initialBackoffMs: 50, jitter: 0 }) // 200
 * @example backoffDelay(3, { jitterMode: 'full' }) // 0..400
 * @example backoffDelay(2, { jitterMode: 'decorrelated' }, Math.random, 250) // 100..750
 */
export function backoffDelay(
  attempt: number,
  policy: Partial<BackoffPolicy> = defaultPolicy,
  random: () => number = Math.random,
  previous?: number,
): number {
  check.integer(attempt, 'attempt', { min: 1 });
  check.func(random, 'random', 'returning 0..1');
  if (previous !== undefined) check.finiteNumber(previous, 'previous', { min: 0 });
  check.object(policy, 'policy');
  // A NaN here would come back as a NaN delay: check what is used.
  const initial = check.finiteNumber(policy.initialBackoffMs ?? defaultPolicy.initialBackoffMs, 'policy.initialBackoffMs', { min: 0 });
  const max = check.finiteNumber(policy.maxBackoffMs ?? defaultPolicy.maxBackoffMs, 'policy.maxBackoffMs', { min: 0 });
  const factor = check.finiteNumber(policy.factor ?? defaultPolicy.factor, 'policy.factor', { min: 1 });
  const jitter = check.finiteNumber(policy.jitter ?? defaultPolicy.jitter, 'policy.jitter', { min: 0, max: 1 });
  const mode = check.oneOf(policy.jitterMode ?? defaultPolicy.jitterMode, 'policy.jitterMode', JITTER_MODES);
  const r = random();
  if (!(r >= 0 && r <= 1)) throw new RangeError(`random() must return a number in 0..1, got ${r}`);
  if (mode === 'decorrelated') {
    const prev = previous ?? initial;
    return clamp(Math.round(Math.min(max, initial + r * (3 * prev - initial))));
  }
  // factor^(attempt-1) overflows to Infinity for large attempts; min() caps it.
  const base = Math.min(initial * Math.pow(factor, attempt - 1), max);
  if (mode === 'full') return clamp(Math.round(r * base));
  // Jitter is applied after the cap, so it may go past it: never past what a timer holds.
  return clamp(Math.round(base * (1 + jitter * (2 * r - 1))));
}

/**
 * A seeded pseudo-random generator (mulberry32), for deterministic jitter in
 * tests and simulations: `backoffDelay(n, policy, seededRandom(42))`.
 */
export function seededRandom(seed: number): () => number {
  check.integer(seed, 'seed');
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A delay a timer can hold: 0..2^31-1 ms (Node fires a longer one after 1 ms). */
function clamp(ms: number): number {
  return Math.min(Math.max(0, ms), check.MAX_TIMER_MS);
}
