/**
 * The default `ConnectionStore`: records in this process's memory, indexed by
 * tag and by room so `list({ tag })` reads only that tag's records. One
 * process only: workers that share connections use `DynamoConnectionStore`.
 *
 * TTL is applied on read, as DynamoDB's is: a record whose `expiresAt` has
 * passed (on `clock`) is never returned, and is dropped when a call finds it.
 * No timer runs, so there is nothing to close.
 */
import type { ConnectionFilter, ConnectionRecord, ConnectionStore } from '../store.js';
import { checkConnectionId, checkFilter, checkRecord, checkTime, copyRecord, expired, storeClock, ttlOption, type StoreClock } from './record.js';

/** Options of `MemoryConnectionStore`. */
export interface MemoryConnectionStoreOptions {
  /** Where `now` comes from, ms (XState's `SimulatedClock` in tests). Default: real time. */
  clock?: StoreClock;
  /**
   * A record `put` without `expiresAt` expires this many seconds after it was
   * put. Default: none (a record without `expiresAt` never expires).
   * @example new MemoryConnectionStore({ ttlSeconds: 2 * 60 * 60 }) // API Gateway's 2-hour connection limit
   */
  ttlSeconds?: number;
}

export class MemoryConnectionStore implements ConnectionStore {
  readonly #records = new Map<string, ConnectionRecord>();
  readonly #byTag = new Map<string, Set<string>>();
  readonly #byRoom = new Map<string, Set<string>>();
  readonly #clock: StoreClock;
  readonly #ttlSeconds: number | undefined;

  constructor(options: MemoryConnectionStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { clock?, ttlSeconds? }');
    this.#clock = storeClock(options.clock);
    this.#ttlSeconds = ttlOption(options.ttlSeconds);
  }

  /** Records held now, counting expired ones no call has found yet. */
  get size(): number {
    return this.#records.size;
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const record = this.#live(checkConnectionId(connectionId));
    return record && copyRecord(record);
  }

  async put(record: ConnectionRecord): Promise<void> {
    const stored = checkRecord(record, this.#clock.now(), this.#ttlSeconds);
    this.#remove(stored.connectionId);
    this.#records.set(stored.connectionId, stored);
    for (const tag of stored.tags ?? []) index(this.#byTag, tag).add(stored.connectionId);
    if (stored.room !== undefined) index(this.#byRoom, stored.room).add(stored.connectionId);
  }

  async delete(connectionId: string): Promise<boolean> {
    const id = checkConnectionId(connectionId);
    if (!this.#live(id)) return false;
    this.#remove(id);
    return true;
  }

  async updateLastPing(connectionId: string, at?: number): Promise<void> {
    const id = checkConnectionId(connectionId);
    const time = checkTime(at, 'at') ?? this.#clock.now();
    const record = this.#live(id);
    if (record) record.lastPingAt = time;
  }

  async list(filter?: ConnectionFilter): Promise<ConnectionRecord[]> {
    const f = checkFilter(filter);
    const ids = f === undefined ? this.#records.keys() : 'tag' in f ? this.#byTag.get(f.tag) ?? [] : this.#byRoom.get(f.room) ?? [];
    const out: ConnectionRecord[] = [];
    // Copied first: #live may drop an expired record from the set being read.
    for (const id of [...ids]) {
      const record = this.#live(id);
      if (record) out.push(copyRecord(record));
    }
    return out;
  }

  /** The record, unless it is missing or expired (then it is dropped). */
  #live(id: string): ConnectionRecord | undefined {
    const record = this.#records.get(id);
    if (record && expired(record.expiresAt, this.#clock.now())) {
      this.#remove(id);
      return undefined;
    }
    return record;
  }

  #remove(id: string): void {
    const record = this.#records.get(id);
    if (!record) return;
    this.#records.delete(id);
    for (const tag of record.tags ?? []) unindex(this.#byTag, tag, id);
    if (record.room !== undefined) unindex(this.#byRoom, record.room, id);
  }
}

function index(map: Map<string, Set<string>>, key: string): Set<string> {
  let ids = map.get(key);
  if (!ids) map.set(key, (ids = new Set()));
  return ids;
}

function unindex(map: Map<string, Set<string>>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids?.delete(id) && ids.size === 0) map.delete(key);
}
