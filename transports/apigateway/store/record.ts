/**
 * What every `ConnectionStore` checks and means the same way: the argument
 * checks (a TypeError or RangeError naming the argument), the copy a store
 * keeps (so a caller mutating its record afterwards changes nothing stored),
 * and when a record has expired. Both stores use these, so the shared
 * behavioural suite holds them to one meaning.
 */
import * as check from '../../../machines/ports/check.js';
import { realClock } from '../../../machines/ports/clock.js';
import type { ConnectionRecord } from '../store.js';

/** Where a store reads the time: anything with `now()` in ms (XState's `SimulatedClock`, `realClock`). */
export interface StoreClock {
  now(): number;
}

/** The `clock` option checked, or real time. */
export function storeClock(clock: unknown): StoreClock {
  if (clock === undefined) return realClock;
  return check.hasMethods(clock as StoreClock, 'options.clock', ['now'], '(e.g. XState SimulatedClock)');
}

/** The `ttlSeconds` option checked: undefined (records keep the `expiresAt` they were given), or seconds > 0. */
export function ttlOption(ttlSeconds: unknown): number | undefined {
  return ttlSeconds === undefined ? undefined : check.finiteNumber(ttlSeconds, 'options.ttlSeconds', { min: 0, exclusiveMin: true });
}

export function checkConnectionId(connectionId: unknown, name = 'connectionId'): string {
  return check.nonEmptyString(connectionId, name);
}

/** An optional time in ms since the epoch (`updateLastPing`'s `at`). */
export function checkTime(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : check.finiteNumber(value, name, { min: 0 });
}

/**
 * `record` checked and copied: `data` through JSON (what the Dynamo store
 * keeps is its JSON text, so the memory store keeps the same thing), and
 * `expiresAt` set to now + `ttlSeconds` when the record has none and the
 * store has a TTL. Members that are `undefined` are left out.
 */
export function checkRecord(record: unknown, nowMs: number, ttlSeconds: number | undefined): ConnectionRecord {
  const r = check.object(record, 'record', '{ connectionId, connectedAt, lastPingAt, tags?, room?, data?, expiresAt? }') as Partial<ConnectionRecord>;
  const out: ConnectionRecord = {
    connectionId: checkConnectionId(r.connectionId, 'record.connectionId'),
    connectedAt: check.finiteNumber(r.connectedAt, 'record.connectedAt', { min: 0 }),
    lastPingAt: check.finiteNumber(r.lastPingAt, 'record.lastPingAt', { min: 0 }),
  };
  if (r.tags !== undefined) {
    if (!Array.isArray(r.tags)) throw new TypeError(`record.tags must be an array of non-empty strings, got ${check.describe(r.tags)}`);
    out.tags = r.tags.map((tag, i) => check.nonEmptyString(tag, `record.tags[${i}]`));
  }
  if (r.room !== undefined) out.room = check.nonEmptyString(r.room, 'record.room');
  if (r.data !== undefined) {
    if (r.data === null || typeof r.data !== 'object' || Array.isArray(r.data)) throw new TypeError(`record.data must be a plain object, got ${check.describe(r.data)}`);
    let json: string;
    try {
      json = JSON.stringify(r.data);
    } catch (err) {
      throw new TypeError(`record.data must be JSON-serialisable (${(err as Error).message})`, { cause: err });
    }
    out.data = JSON.parse(json) as Record<string, unknown>;
  }
  if (r.expiresAt !== undefined) out.expiresAt = check.finiteNumber(r.expiresAt, 'record.expiresAt', { min: 0 });
  else if (ttlSeconds !== undefined) out.expiresAt = Math.ceil(nowMs / 1000 + ttlSeconds);
  return out;
}

/** `filter` checked: `{}` (or undefined), `{ tag }` or `{ room }`. Anything else (a typo like `{ tags }`) is refused rather than read as "all". */
export function checkFilter(filter: unknown): { tag: string } | { room: string } | undefined {
  if (filter === undefined) return undefined;
  const f = check.object(filter, 'filter', '{ tag } or { room } or {}') as Record<string, unknown>;
  // A member set to undefined (`{ tag: options.tag, room: undefined }`) counts as absent.
  const keys = Object.keys(f).filter((key) => f[key] !== undefined);
  if (keys.length === 0) return undefined;
  if (keys.length === 1 && keys[0] === 'tag') return { tag: check.nonEmptyString(f.tag, 'filter.tag') };
  if (keys.length === 1 && keys[0] === 'room') return { room: check.nonEmptyString(f.room, 'filter.room') };
  throw new TypeError(`filter must be { tag } or { room } or {}, got keys ${keys.join(', ')}`);
}

/** True when `expiresAt` (seconds) is at or before `nowMs`: DynamoDB TTL's meaning, applied on read. */
export function expired(expiresAt: number | undefined, nowMs: number): boolean {
  return expiresAt !== undefined && expiresAt * 1000 <= nowMs;
}

/** A copy for a caller (so changing it changes nothing stored). */
export function copyRecord(record: ConnectionRecord): ConnectionRecord {
  const out: ConnectionRecord = { ...record };
  if (record.tags) out.tags = [...record.tags];
  if (record.data) out.data = structuredClone(record.data);
  return out;
}
