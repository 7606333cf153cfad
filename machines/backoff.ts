import * as check from './ports/check.js';
import { defaultPolicy, type ReconnectPolicy } from './policy.js';

/**
 * Delay before retry number `attempt` (1 for the first retry):
 * `min(initialBackoffMs * factor^(attempt-1), maxBackoffMs)`, then jitter of
 * ±`jitter` (relative) drawn from `random()`, rounded to whole ms. Jitter is
 * applied after the cap, so with the defaults the 1st delay is 90..110 ms and
 * a capped one 9000..11000 ms.
 *
 * Pure: the same inputs (and a seeded `random`) give the same delay.
 *
 * @example backoffDelay(1) // 90..110
 * @example backoffDelay(3, { initialBackoffMs: 50, jitter: 0 }) // 200
 */
export function backoffDelay(
  attempt: number,
  policy: Partial<Pick<ReconnectPolicy, 'initialBackoffMs' | 'maxBackoffMs' | 'factor' | 'jitter'>> = defaultPolicy,
  random: () => number = Math.random,
): number {
  check.integer(attempt, 'attempt', { min: 1 });
  check.func(random, 'random', 'returning 0..1');
  const initial = policy.initialBackoffMs ?? defaultPolicy.initialBackoffMs;
  const max = policy.maxBackoffMs ?? defaultPolicy.maxBackoffMs;
  const factor = policy.factor ?? defaultPolicy.factor;
  const jitter = policy.jitter ?? defaultPolicy.jitter;
  // factor^(attempt-1) overflows to Infinity for large attempts; min() caps it.
  const base = Math.min(initial * Math.pow(factor, attempt - 1), max);
  const r = random();
  if (!(r >= 0 && r <= 1)) throw new RangeError(`random() must return a number in 0..1, got ${r}`);
  return Math.max(0, Math.round(base * (1 + jitter * (2 * r - 1))));
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
