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

/** Selects records for `list`: all of them, those with a tag, or those in a room. */
export type ConnectionFilter = { tag: string } | { room: string } | Record<string, never>;

export interface ConnectionStore {
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** Create or replace. */
  put(record: ConnectionRecord): Promise<void>;
  /** Remove; resolves true when this call removed it (false: it was not there), so "removed once" holds across workers. */
  delete(connectionId: string): Promise<boolean>;
  /** Set `lastPingAt` (default now); a missing record is not created. */
  updateLastPing(connectionId: string, at?: number): Promise<void>;
  /** Every record matching `filter` (all when omitted). */
  list(filter?: ConnectionFilter): Promise<ConnectionRecord[]>;
}
