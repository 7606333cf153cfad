/**
 * What an `ApiGatewayManager` remembers about connections, in bounded
 * memory: `isActive` answers (a store lookup trusted for `cacheMs`, the
 * seed's 30 s; concurrent lookups of one id share one), and the ids that
 * answered 410, so each is removed from the store once however many sends
 * see its 410 (API Gateway never gives an id back, so gone stays gone).
 */
import type { ConnectionStore } from '../store.js';

/** Gone ids remembered (the oldest are forgotten first; a forgotten one is at worst removed twice). */
const GONE_MEMORY = 10_000;

export class Presence {
  readonly #cache = new Map<string, { active: boolean; at: number }>();
  readonly #lookups = new Map<string, Promise<boolean>>();
  readonly #gone = new Set<string>();

  constructor(
    private readonly store: ConnectionStore,
    private readonly options: {
      /** ms for the cache (monotonic). */
      now: () => number;
      /** ms since the epoch, for `expiresAt`. */
      epoch: () => number;
      cacheMs: number;
      cacheSize: number;
    },
  ) {}

  /** True when the store has a record for `id`, not past its `expiresAt`, and no 410 was seen for it. */
  isActive(id: string): Promise<boolean> {
    const hit = this.#cache.get(id);
    if (hit && this.options.now() - hit.at < this.options.cacheMs) return Promise.resolve(hit.active);
    const pending = this.#lookups.get(id);
    if (pending) return pending;
    const lookup = call(() => this.store.get(id)).then(
      (record) => {
        this.#lookups.delete(id);
        // A 410 seen while the lookup ran wins over the record it found.
        const active = record !== undefined && !this.#gone.has(id) && (record.expiresAt === undefined || record.expiresAt * 1000 > this.options.epoch());
        this.#remember(id, active);
        return active;
      },
      (err: unknown) => {
        this.#lookups.delete(id);
        throw err;
      },
    );
    this.#lookups.set(id, lookup);
    return lookup;
  }

  /** A 410 for `id`: inactive from now on. True the first time, when the caller is to remove its record. */
  gone(id: string): boolean {
    this.#remember(id, false);
    if (this.#gone.has(id)) return false;
    this.#gone.add(id);
    if (this.#gone.size > GONE_MEMORY) this.#gone.delete(this.#gone.values().next().value!);
    return true;
  }

  /** The removal of `id` failed: the next 410 tries again. */
  removalFailed(id: string): void {
    this.#gone.delete(id);
  }

  #remember(id: string, active: boolean): void {
    if (this.options.cacheMs === 0) return;
    this.#cache.delete(id); // re-inserted: the Map's order is the eviction order
    this.#cache.set(id, { active, at: this.options.now() });
    if (this.#cache.size > this.options.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }
}

/** A store call, a synchronous throw turned into a rejection. */
export function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}
