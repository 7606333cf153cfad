/**
 * Where API Gateway connection records live: the seed keeps them in
 * DynamoDB, so any number of workers share them. `MemoryConnectionStore`
 * (one process, the default) and `DynamoConnectionStore` implement it.
 */

/** One client connection, as the `$connect` handler stored it. */
export interface ConnectionRecord {
  /** API Gateway's connection id. */
  connectionId: string;
  /** ms since the epoch. */
  connectedAt: number;
  /** Last ping (or any activity) seen, ms since the epoch. */
  lastPingAt: number;
  /** Free-form tags to select connections by (`user:42`, `tenant:acme`). */
  tags?: string[];
  /** A room to broadcast to. */
  room?: string;
  /** What the application wants kept with it (JSON-serialisable). */
  data?: Record<string, unknown>;
  /** When the store may forget it, seconds since the epoch (DynamoDB TTL). */
  expiresAt?: number;
}

/** Selects records for `list`: all of them (`{}`), those with a tag, or those in a room. Any other key is refused (a typo must not select everything). */
export type ConnectionFilter = { tag: string } | { room: string } | Record<string, never>;

/**
 * Every method checks its arguments and rejects a bad one with a TypeError
 * or RangeError naming it (`record.tags[1] must be a non-empty string, got 7`),
 * having stored nothing. A record whose `expiresAt` has passed is treated as
 * gone by every method, whether or not the store has deleted it yet (DynamoDB
 * TTL deletes lazily). The shared behavioural suite
 * (test/transports/apigateway/store.test.ts) holds every store to this.
 */
export interface ConnectionStore {
  /** The record, or undefined when there is none (or it has expired). */
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** Create or replace: the stored record is this one (members it leaves out are gone; a store with a `ttlSeconds` option adds `expiresAt` when it has none). */
  put(record: ConnectionRecord): Promise<void>;
  /** Remove; resolves true when this call removed it (false: it was not there), so "removed once" holds across workers. */
  delete(connectionId: string): Promise<boolean>;
  /** Set `lastPingAt` (default now); a missing record is not created. */
  updateLastPing(connectionId: string, at?: number): Promise<void>;
  /** Every record matching `filter` (all when omitted), in no particular order. */
  list(filter?: ConnectionFilter): Promise<ConnectionRecord[]>;
}
