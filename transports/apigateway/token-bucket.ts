/**
 * A token bucket on an injected time source: `rate` tokens a second, at most
 * `burst` saved up. Both sides of API Gateway's request limit use it: the
 * emulator throttles with it (`tryTake`: 429 when empty), and an
 * `ApiGatewayManager` caps its own rate with one bucket shared by every send
 * and broadcast (`take`: wait for your token), on the manager's clock.
 *
 * `take()` reserves the next token and says how long to wait for it, so
 * callers are served in the order they asked, and no queue of waiters or
 * timer is needed: the common case (a token is there) is one clock reading
 * and some arithmetic. The balance goes negative while callers wait.
 *
 * In any window of `t` seconds at most `burst + rate * t` requests start.
 */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  /** `rate` tokens per second (Infinity: no cap), at most `burst` saved up; full at the start. */
  constructor(rate: number, burst: number, now: () => number) {
    this.#perMs = rate / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes a token if one is there now (true); else takes nothing (false): a throttled request. */
  tryTake(): boolean {
    if (this.#perMs === Infinity) return true;
    const t = this.#now();
    const tokens = Math.min(this.#burst, this.#tokens + (t - this.#last) * this.#perMs);
    this.#last = t;
    if (tokens < 1) {
      this.#tokens = tokens;
      return false;
    }
    this.#tokens = tokens - 1;
    return true;
  }

  /** Takes a token: 0 when one is there now, else the ms until the one reserved for this caller is. */
  take(): number {
    if (this.#perMs === Infinity) return 0;
    const t = this.#now();
    const tokens = Math.min(this.#burst, this.#tokens + (t - this.#last) * this.#perMs) - 1;
    this.#tokens = tokens;
    this.#last = t;
    return tokens >= 0 ? 0 : -tokens / this.#perMs;
  }
}
