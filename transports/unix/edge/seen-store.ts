/**
 * What the edge agent remembers so that an event re-sent after a reconnect is
 * acked again but published once: which ids each client session has sent.
 *
 * `SeenStore` is the contract; `memorySeenStore` the default (bounded: a
 * session is forgotten `ttlMs` after its last connection closed, and at most
 * `maxSessions` are kept, least recently used first out). It lives in the
 * agent's process, so it does not survive a restart: across a crash the
 * promise is at-least-once. A store that persists (a file, a database) makes
 * it hold across restarts (README, "Delivery guarantees").
 */
import { realClock, type Clock } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import type { EdgeEvent } from './edge-protocol.js';

/**
 * Where the agent records the ids it published, per session (the
 * `{"session":"..."}` line a client sends first). Connections without a
 * session line are deduplicated inside the agent, per connection, and never
 * reach the store.
 *
 * The agent calls `add` for each valid event, in the order events arrive on
 * a connection, before it publishes the event on `events$` and before it
 * acks it. The next frame of that connection waits for the answer, so an
 * async store keeps the order.
 *
 * @example A store that survives restarts (a file; use a database in production)
 * ```ts
 * const seen = new Set(existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);
 * const store: SeenStore = {
 *   add(session, id) {
 *     const key = `${session} ${id}`;
 *     if (seen.has(key)) return false;
 *     appendFileSync(file, `${key}\n`); // recorded before the event is published
 *     seen.add(key);
 *     return true;
 *   },
 * };
 * const agent = new EdgeAgentServer({ path, seen: store });
 * ```
 */
export interface SeenStore {
  /**
   * Record that `session` sent `id`: true when it is new (the agent
   * publishes the event and acks it), false when it was recorded before
   * (the agent acks it again and does not publish it). May return a
   * promise. A throw or a rejection nacks the event (the client's
   * `sendEvent` rejects) and is logged. `event` is the whole event, for a
   * store that writes it in the same transaction as the id (an effect that
   * happens exactly once).
   */
  add(session: string, id: number, event: EdgeEvent): boolean | Promise<boolean>;
  /** Optional: a connection of `session` opened, and it had none. */
  retain?(session: string): void;
  /** Optional: the last connection of `session` closed (a store may start forgetting it). */
  release?(session: string): void;
}

/** Options of `memorySeenStore`. */
export interface MemorySeenStoreOptions {
  /**
   * How long a session is remembered after its last connection closed, ms
   * on `clock`. 0 forgets it at once; `Infinity` never (only `maxSessions`
   * bounds the store then). Default 600000 (10 min).
   */
  ttlMs?: number;
  /** Most sessions remembered; past it the least recently used is forgotten. Default 10000. */
  maxSessions?: number;
  /** The clock the TTL runs on (XState's `SimulatedClock` in tests). Default: real time. */
  clock?: Clock;
}

/** The in-memory store, with its bounds: what `EdgeAgentServer` uses unless given `seen`. */
export interface MemorySeenStore extends Required<Pick<SeenStore, 'retain' | 'release'>> {
  add(session: string, id: number): boolean;
  /** Sessions remembered now. */
  readonly size: number;
  /** Forget everything and cancel the TTL timers. */
  close(): void;
}

export const DEFAULT_SESSION_TTL_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Ids kept out of order in one session before the lowest gap is given up. */
const MAX_OUT_OF_ORDER = 1024;
/** The longest timer a Node clock takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The ids one session sent: every id up to `low`, plus those above it. The
 * first id starts the record with the 1024 ids below it still open: after an
 * agent restart a frame can arrive before older ones the client re-sends (they
 * must be published, not taken as seen: that lost acked events). Ids further
 * below were acked before the record existed (EdgeClient's window is smaller).
 * When more than 1024 ids are held above a gap, the gap is given up (its ids
 * count as seen), so a record stays small whatever a client sends.
 */
export class SeenIds {
  low = Number.NaN;
  readonly above = new Set<number>();
  /** Record `id`; false when it was already seen. */
  add(id: number): boolean {
    // The first id seen is not the session's first: after an agent restart a newer
    // frame can arrive before the older ones the client re-sends. Ids within the
    // out-of-order window below it are still unknown (new), never taken as seen.
    if (Number.isNaN(this.low)) this.low = id - 1 - MAX_OUT_OF_ORDER;
    if (id <= this.low || this.above.has(id)) return false;
    if (id === this.low + 1) this.low = id;
    else {
      this.above.add(id);
      if (this.above.size > MAX_OUT_OF_ORDER) this.low = Math.min(...this.above) - 1;
    }
    while (this.above.delete(this.low + 1)) this.low++;
    return true;
  }
}

interface SessionRecord {
  ids: SeenIds;
  /** Connections open now (`retain` minus `release`). */
  live: number;
  /** The TTL timer, while `live` is 0. */
  timer: unknown;
}

export function memorySeenStore(options: MemorySeenStoreOptions = {}): MemorySeenStore {
  check.object(options, 'options', '{ ttlMs?, maxSessions?, clock? }');
  const ttlMs = options.ttlMs === undefined ? DEFAULT_SESSION_TTL_MS : check.finiteNumber(options.ttlMs, 'options.ttlMs', { min: 0, allowInfinity: true });
  if (ttlMs > MAX_TIMER_MS && ttlMs !== Infinity) throw new RangeError(`options.ttlMs must be at most ${MAX_TIMER_MS} (a timer's limit) or Infinity, got ${ttlMs}`);
  const maxSessions = options.maxSessions === undefined ? DEFAULT_MAX_SESSIONS : check.integer(options.maxSessions, 'options.maxSessions', { min: 1 });
  if (options.clock !== undefined) check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  const clock = options.clock ?? realClock;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const sessions = new Map<string, SessionRecord>();
  let last: string | undefined;

  const forget = (session: string, record: SessionRecord) => {
    if (record.timer !== undefined) clock.clearTimeout(record.timer);
    record.timer = undefined;
    sessions.delete(session);
    if (last === session) last = undefined;
  };
  const idle = (session: string, record: SessionRecord) => {
    if (ttlMs === 0) return forget(session, record);
    if (ttlMs === Infinity) return;
    record.timer = clock.setTimeout(() => {
      record.timer = undefined;
      if (sessions.get(session) === record && record.live === 0) forget(session, record);
    }, ttlMs);
  };
  /** The session's record, made the most recently used. */
  const touch = (session: string): SessionRecord => {
    let record = sessions.get(session);
    if (record && last === session) return record;
    if (record) sessions.delete(session);
    else record = { ids: new SeenIds(), live: 0, timer: undefined };
    sessions.set(session, record);
    last = session;
    for (const [oldest, r] of sessions) {
      if (sessions.size <= maxSessions) break;
      forget(oldest, r);
    }
    return record;
  };

  return {
    get size() {
      return sessions.size;
    },
    add(session, id) {
      const record = touch(session);
      const fresh = record.ids.add(id);
      // Recorded without a connection (a store used on its own): it ages like an idle session.
      if (record.live === 0 && record.timer === undefined) idle(session, record);
      return fresh;
    },
    retain(session) {
      const record = touch(session);
      record.live++;
      if (record.timer !== undefined) clock.clearTimeout(record.timer);
      record.timer = undefined;
    },
    release(session) {
      const record = sessions.get(session);
      if (!record || record.live === 0) return; // forgotten meanwhile (maxSessions)
      if (--record.live === 0) idle(session, record);
    },
    close() {
      for (const [session, record] of sessions) forget(session, record);
    },
  };
}
