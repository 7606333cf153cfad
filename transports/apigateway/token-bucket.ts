/**
 * A token bucket on an injected clock: `burst` tokens at most, refilled at
 * `rps` a second. How API Gateway throttles `@connections` requests (429
 * `LimitExceededException`); the emulator answers with it.
 */
import { nowOf, type Clock } from '../../machines/ports/clock.js';

export class TokenBucket {
  readonly rps: number;
  readonly burst: number;
  #tokens: number;
  #at: number;
  readonly #clock: Clock | undefined;

  /** Starts full. `clock` gives `now()` (default: the real clock). */
  constructor(rps: number, burst: number, clock?: Clock) {
    this.rps = rps;
    this.burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#at = nowOf(clock);
  }

  /** Take one token: false when the bucket is empty (the request is throttled). */
  take(): boolean {
    const now = nowOf(this.#clock);
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rps) / 1000);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
