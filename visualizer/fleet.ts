/**
 * The fleet view's model (issue 17 §2): the fleet records of a supervisor
 * (actors/fleet-records.ts), live or from a recording, folded into rows, with
 * what changed since the page was last told (`take()`), counts per state and
 * kind, and each child's recent reconnects (its sparkline).
 */
import { applyFleetRecord, type ChildRecord, type FleetRecord } from '../actors/fleet-records.js';

/** Reconnect times kept per child: its sparkline spans these. */
export const RECONNECTS_KEPT = 20;

/** A row as the page gets it: the record, and when it last entered `reconnecting` (newest last). */
export interface FleetRow extends ChildRecord {
  reconnects?: number[];
}

export interface FleetCounts {
  total: number;
  byState: Record<string, number>;
  byKind: Record<string, number>;
}

export class FleetModel {
  readonly rows = new Map<string, FleetRow>();
  readonly #changed = new Set<string>();
  /** The supervisor's time of the newest record folded in. */
  now = 0;

  /** Fold one record in. */
  apply(record: FleetRecord): void {
    if (record.t > this.now) this.now = record.t;
    for (const id of applyFleetRecord(this.rows as Map<string, ChildRecord>, record)) this.#changed.add(id);
    if (record.type === 'event' && record.event.type === 'EVENT_STATE_CHANGE' && record.event.data.to === 'reconnecting') {
      const row = this.rows.get(record.event.connectionId);
      if (row) {
        const times = (row.reconnects ??= []);
        times.push(record.t);
        if (times.length > RECONNECTS_KEPT) times.splice(0, times.length - RECONNECTS_KEPT);
      }
    }
  }

  /** Rows changed and ids removed since the last call (each once, however often it changed). */
  take(): { rows: FleetRow[]; removed: string[] } {
    const rows: FleetRow[] = [];
    const removed: string[] = [];
    for (const id of this.#changed) {
      const row = this.rows.get(id);
      if (row) rows.push(row);
      else removed.push(id);
    }
    this.#changed.clear();
    return { rows, removed };
  }

  /** Every row, in the order children were first heard of. */
  all(): FleetRow[] {
    return [...this.rows.values()];
  }

  counts(): FleetCounts {
    const byState: Record<string, number> = Object.create(null);
    const byKind: Record<string, number> = Object.create(null);
    for (const row of this.rows.values()) {
      byState[row.state] = (byState[row.state] ?? 0) + 1;
      byKind[row.kind] = (byKind[row.kind] ?? 0) + 1;
    }
    return { total: this.rows.size, byState: { ...byState }, byKind: { ...byKind } };
  }

  /** A copy (for replay keyframes): rows and their reconnect times copied, nothing changed pending. */
  clone(): FleetModel {
    const copy = new FleetModel();
    copy.now = this.now;
    for (const [id, row] of this.rows) copy.rows.set(id, { ...row, ...(row.reconnects ? { reconnects: [...row.reconnects] } : {}) });
    return copy;
  }
}
