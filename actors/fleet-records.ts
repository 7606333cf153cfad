/**
 * A supervised fleet as a stream of records (issue 17): what the flight
 * recorder writes (`supervisor.record(file)`) and what the visualizer folds
 * into its fleet view, live or replayed. One fold (`applyFleetRecord`) reads
 * them everywhere, so a replay ends in the states the live supervisor had.
 *
 * - `children`: every child, first (a full listing);
 * - `event`: one structured event of `events$`, as it happened (the state
 *   changes, the power readings of radio links, everything);
 * - `diff`: children added, changed or removed, found by comparing the
 *   supervisor with what the records so far say (`reconcile()`): restarts,
 *   outbox depth, removals, a restarted child's fresh state;
 * - `end`: the recording stopped.
 *
 * Cost: an event costs one record. `reconcile()` scans only the children
 * events touched, unless the supervisor itself moved (a child started,
 * exited, was removed): then it scans every child once (`whichChildren()`).
 * The caller paces it (the recorder every 250 ms of the supervisor's clock,
 * the visualizer with its batches), so a storm of 10,000 changes costs one
 * scan per beat, not one per change.
 */
import type { Subscribable } from 'rxjs';
import type { ConnectionLogEvent, ConnectionState } from '../machines/events.js';
import { describeError, type ErrorDescription } from '../machines/ports/errors.js';
import { nowOf, type Clock } from '../machines/ports/clock.js';
import { topState } from '../machines/state.js';
import type { RestartType } from '../machines/supervisor.machine.js';

/** One child as recorded: a row of the fleet view. */
export interface ChildRecord {
  id: string;
  kind: string;
  state: ConnectionState;
  /** Unknown (absent) for a child first heard of by its events, until the next reconcile. */
  restart?: RestartType;
  restarts: number;
  /** Retries since the last stable connection. */
  reconnectCount: number;
  /** Messages waiting in its outbox. */
  outbox: number;
  /** The last error it had (kept across restarts until another). */
  lastError?: ErrorDescription;
  /**
   * Its snapshot's value (`{ active: { connected: 'watching' } }`) as of the
   * last reconcile: the visualizer highlights every state it names. `state`
   * is newer when an event came since.
   */
  value?: unknown;
}

/** `t`: ms on the supervisor's clock (an event's own `timestamp`). */
export type FleetRecord =
  | { type: 'children'; t: number; children: ChildRecord[] }
  | { type: 'event'; t: number; event: ConnectionLogEvent }
  | { type: 'diff'; t: number; set: ChildRecord[]; removed: string[] }
  | { type: 'end'; t: number; reason: string };

/**
 * What `watchFleet` reads of a supervisor: a structural part of `Supervisor`
 * (actors/supervisor.ts), so that file can offer `record()` without a cycle.
 */
export interface FleetSource {
  readonly id: string;
  readonly clock: Clock;
  readonly events$: Subscribable<ConnectionLogEvent>;
  readonly actor: { subscribe(observer: { next?: () => void; complete?: () => void; error?: () => void }): { unsubscribe(): void } };
  whichChildren(): Array<{ id: string; kind: string; state: ConnectionState; restart: RestartType; restarts: number }>;
  child(id: string): { getSnapshot(): unknown } | undefined;
}

/**
 * Fold `record` into `rows` (in place: a fleet has thousands of rows).
 * Returns the ids whose row changed or went. A row keeps properties it does
 * not know (the visualizer hangs its reconnect times on them).
 */
export function applyFleetRecord(rows: Map<string, ChildRecord>, record: FleetRecord): string[] {
  switch (record.type) {
    case 'children': {
      const gone = [...rows.keys()];
      rows.clear();
      for (const c of record.children) rows.set(c.id, { ...c });
      return [...new Set([...gone, ...rows.keys()])];
    }
    case 'event': {
      const e = record.event;
      const row = rows.get(e.connectionId);
      if (!row) return []; // the supervisor's own events (EVENT_SUPERVISOR_FAILED), or a child already gone
      if (e.type === 'EVENT_STATE_CHANGE') {
        row.state = e.data.to;
        if (e.data.error) row.lastError = e.data.error;
      }
      if (typeof e.reconnectCount === 'number') row.reconnectCount = e.reconnectCount;
      return [row.id];
    }
    case 'diff': {
      for (const c of record.set) {
        const row = rows.get(c.id);
        if (!row) rows.set(c.id, { ...c });
        else {
          Object.assign(row, c);
          if (!c.lastError) delete row.lastError;
          if (!c.restart) delete row.restart;
          if (c.value === undefined) delete row.value;
        }
      }
      for (const id of record.removed) rows.delete(id);
      return [...record.set.map((c) => c.id), ...record.removed];
    }
    default:
      return [];
  }
}

const sameError = (a: ErrorDescription | undefined, b: ErrorDescription | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.name === b.name && a.message === b.message && a.code === b.code);

/** Snapshot values: strings, or small objects of them. */
const sameValue = (a: unknown, b: unknown) => a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** Whether two records say the same thing about their child. */
export function sameChild(a: ChildRecord, b: ChildRecord): boolean {
  return (
    a.kind === b.kind &&
    a.state === b.state &&
    a.restart === b.restart &&
    a.restarts === b.restarts &&
    a.reconnectCount === b.reconnectCount &&
    a.outbox === b.outbox &&
    sameError(a.lastError, b.lastError) &&
    sameValue(a.value, b.value)
  );
}

/** What a child's snapshot says (a user's machine may lack any of it: zeros then). */
function live(snapshot: unknown): Pick<ChildRecord, 'state' | 'reconnectCount' | 'outbox' | 'lastError' | 'value'> & { kind?: string } {
  const snap = snapshot as { value?: unknown; context?: Record<string, unknown> } | undefined;
  const c = snap?.context ?? {};
  const lastError = describeError(c.lastError);
  return {
    state: topState(snap),
    reconnectCount: typeof c.reconnectCount === 'number' ? c.reconnectCount : 0,
    outbox: Array.isArray(c.outbox) ? c.outbox.length : 0,
    ...(lastError ? { lastError } : {}),
    ...(snap?.value !== undefined ? { value: snap.value } : {}),
    ...(typeof c.kind === 'string' ? { kind: c.kind } : {}),
  };
}

export interface FleetWatch {
  /** Record what changed since the last call (a `diff`, when anything did). `full` scans every child. */
  reconcile(full?: boolean): void;
  /** A child changed in a way no event tells (its outbox, say): the next reconcile looks at it. */
  touch(id: string): void;
  /** Stop listening; nothing more is recorded. */
  stop(): void;
  /** True once `end` was recorded (the supervisor stopped, or `stop()`). */
  readonly ended: boolean;
}

export interface WatchFleetOptions {
  onRecord(record: FleetRecord): void;
  /** Something changed that the next `reconcile()` will look at (for pacing). */
  onDirty?(): void;
}

/**
 * Follow `source`: a `children` record now, then an `event` record per
 * event, `diff`s when the caller reconciles, `end` when the supervisor stops
 * (its `events$` completes: a last full reconcile first) or `stop()` is called.
 */
export function watchFleet(source: FleetSource, { onRecord, onDirty = () => {} }: WatchFleetOptions): FleetWatch {
  const known = new Map<string, ChildRecord>();
  const dirty = new Set<string>();
  let membership = false;
  let ended = false;
  const now = () => nowOf(source.clock);

  const recordOf = (info: ReturnType<FleetSource['whichChildren']>[number]): ChildRecord => {
    const { kind: _ignored, ...state } = live(source.child(info.id)?.getSnapshot());
    // The supervisor's word on the state (a child waiting for its restart has no snapshot: `disconnected`).
    return { id: info.id, kind: info.kind, restart: info.restart, restarts: info.restarts, ...state, state: info.state };
  };
  const children = source.whichChildren().map(recordOf);
  for (const c of children) known.set(c.id, c);
  onRecord({ type: 'children', t: now(), children: children.map((c) => ({ ...c })) });

  function reconcile(full = false) {
    if (ended) return;
    const set: ChildRecord[] = [];
    const removed: string[] = [];
    if (!full && !membership) {
      for (const id of dirty) {
        const row = known.get(id);
        const snapshot = source.child(id)?.getSnapshot();
        if (!row || snapshot === undefined) {
          membership = true; // gone, or waiting for a restart: only the supervisor can say
          break;
        }
        const { kind: _ignored, ...state } = live(snapshot);
        const next: ChildRecord = { id, kind: row.kind, restarts: row.restarts, ...(row.restart ? { restart: row.restart } : {}), ...state };
        next.lastError ??= row.lastError;
        if (!sameChild(row, next)) set.push(next);
      }
    }
    if (full || membership) {
      set.length = 0;
      const seen = new Set<string>();
      for (const info of source.whichChildren()) {
        seen.add(info.id);
        const next = recordOf(info);
        const row = known.get(info.id);
        // The last error stays until another: a restarted child's fresh snapshot has none.
        if (!next.lastError && row?.lastError) next.lastError = row.lastError;
        if (!row || !sameChild(row, next)) set.push(next);
      }
      for (const id of known.keys()) if (!seen.has(id)) removed.push(id);
    }
    dirty.clear();
    membership = false;
    if (!set.length && !removed.length) return;
    const record: FleetRecord = { type: 'diff', t: now(), set, removed };
    applyFleetRecord(known, record);
    onRecord(record);
  }

  /** A child heard of before any reconcile listed it: its row first, from its snapshot, so its events have one. */
  function meet(id: string) {
    const ref = source.child(id);
    if (!ref) return;
    const { kind, ...state } = live(ref.getSnapshot());
    const row: ChildRecord = { id, kind: kind ?? '', restarts: 0, ...state };
    known.set(id, { ...row });
    onRecord({ type: 'diff', t: now(), set: [row], removed: [] });
    membership = true; // its restart type and restarts come with the next reconcile
  }

  const subs: Array<{ unsubscribe(): void }> = [];
  function end(reason: string) {
    if (ended) return;
    reconcile(true);
    ended = true;
    subs.forEach((s) => s.unsubscribe());
    onRecord({ type: 'end', t: now(), reason });
  }

  subs.push(
    source.events$.subscribe({
      next: (event) => {
        if (ended) return;
        if (!known.has(event.connectionId)) meet(event.connectionId);
        const record: FleetRecord = { type: 'event', t: event.timestamp, event };
        applyFleetRecord(known, record);
        dirty.add(event.connectionId);
        onRecord(record);
        onDirty();
      },
      complete: () => end('supervisor stopped'),
      error: () => end('supervisor stopped'),
    }),
    source.actor.subscribe({
      next: () => {
        membership = true;
        onDirty();
      },
      // An observer without `error` makes XState throw the actor's error
      // (uncaught) where the supervisor only logs it; a failed supervisor
      // never completes events$, so this is where its recording ends.
      error: () => end('supervisor failed'),
      complete: () => end('supervisor stopped'),
    }),
  );
  // A supervisor already stopped completes events$ at once: end() ran before the second subscription.
  if (ended) subs.forEach((s) => s.unsubscribe());

  return {
    reconcile,
    touch(id) {
      if (ended) return;
      dirty.add(id);
      onDirty();
    },
    stop: () => end('stopped'),
    get ended() {
      return ended;
    },
  };
}

/**
 * JSON for a page or a recording, whatever an event's data holds: a BigInt
 * becomes its digits and an `n`, a cycle `"[Circular]"`, where `JSON.stringify`
 * would throw (and, from a timer, end the process).
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    const stack: unknown[] = [];
    return JSON.stringify(value, function (this: unknown, _key: string, v: unknown) {
      if (typeof v === 'bigint') return `${v}n`;
      if (stack.length > 0) {
        // `this` holds v: the stack is cut back to it, so it lists v's ancestors.
        const at = stack.indexOf(this);
        if (at >= 0) stack.length = at + 1;
        else stack.push(this);
        if (typeof v === 'object' && v !== null && stack.includes(v)) return '[Circular]';
      } else stack.push(v);
      return v;
    });
  }
}
