import type { MachineGraph } from '../graph.js';
import type { MachineLayout } from '../layout.js';

export interface ChildView {
  id: string;
  kind: string;
  state: string;
  restart?: string;
  restarts: number;
  reconnectCount: number;
  outbox: number;
  lastError?: { name: string; message: string; code?: string };
  /** Its snapshot's value as of the server's last look (the statechart highlights the states it names). */
  value?: unknown;
  /** When it last entered `reconnecting` (the supervisor's clock), newest last. */
  reconnects?: number[];
}

export interface LogEntry {
  type: string;
  connectionId: string;
  timestamp: number;
  state: string;
  reconnectCount?: number;
  data: Record<string, unknown>;
}

/** The fleet, updated in place: rows by id, their order, counts per state, kind, and kind and state. */
export interface Fleet {
  rows: Map<string, ChildView>;
  order: string[];
  byState: Record<string, number>;
  byKind: Record<string, number>;
  byKindState: Record<string, Record<string, number>>;
  /** Bumped on every change (a redraw is due). */
  version: number;
}

export interface Timeline {
  start: number;
  end: number;
  t: number;
  playing: boolean;
  speed: number;
}

export interface View {
  mode: 'live' | 'replay';
  graph: MachineGraph | undefined;
  /** The statechart laid out by the server (issue 17), or why it could not be. */
  layout: MachineLayout | { error: string } | undefined;
  labels: Record<string, string>;
  supervisor: { id: string; state: string };
  thresholds: { zeroW: number; warningAfter: number; criticalAfter: number };
  /** The supervisor's time of the newest news. */
  now: number;
  fleet: Fleet;
  log: LogEntry[];
  /** Log events the server left out of busy batches. */
  logDropped: number;
  /** Power readings by connection id, oldest first, the newest 300 each. */
  power: Record<string, Array<{ watts: number; at: number }>>;
  /** Power alarms (warning, critical, trend) by connection id, for marks on the chart: the newest 300 each. */
  powerMarks: Record<string, Array<{ type: string; watts: number; at: number }>>;
  /** The recent events of the selected child, as the server kept them. */
  history: { id: string; events: LogEntry[] } | undefined;
  /** Replay only: the recording's span and where the page is in it. */
  timeline: Timeline | undefined;
}

export const POWER_ALARMS: string[];
export const STATES: string[];

export function initialView(): View;
export function emptyFleet(): Fleet;
export function reduce(view: View, msg: unknown): View;
export function applyRows(fleet: Fleet, rows?: ChildView[], removed?: string[]): Fleet;
export function filterFleet(fleet: Fleet, filters?: { text?: string; state?: string; kind?: string }, labels?: Record<string, string>): string[];
export function reconnectBuckets(times: number[] | undefined, now: number, options?: { buckets?: number; spanMs?: number }): number[];
/** The label of child `id`: `labels[id]`, else the longest `'prefix*'` key's that `id` starts with, else ''. */
export function labelOf(labels: Record<string, string>, id: string): string;
export function filterLog(log: View['log'], filters?: { connection?: string; type?: string }): View['log'];
