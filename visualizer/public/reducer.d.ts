import type { MachineGraph } from '../graph.js';
import type { MachineLayout } from '../layout.js';

export interface ChildView {
  id: string;
  kind: string;
  state: string;
  value?: unknown;
  reconnectCount: number;
  outbox: number;
  lastError?: { name: string; message: string; code?: string };
  restart?: string;
  restarts: number;
}

export interface View {
  graph: MachineGraph | undefined;
  /** The statechart laid out by the server (issue 17), or why it could not be. */
  layout: MachineLayout | { error: string } | undefined;
  labels: Record<string, string>;
  supervisor: { id: string; state: string; restarts: Record<string, number> };
  children: Record<string, ChildView>;
  order: string[];
  log: Array<{ type: string; connectionId: string; timestamp: number; state: string; data: Record<string, unknown> }>;
  /** Power readings by connection id, oldest first, the newest 300 each. */
  power: Record<string, Array<{ watts: number; at: number }>>;
  /** Power alarms (warning, critical, trend) by connection id, for marks on the chart: the newest 300 each. */
  powerMarks: Record<string, Array<{ type: string; watts: number; at: number }>>;
}

export const POWER_ALARMS: string[];

export function initialView(): View;
export function reduce(view: View, msg: unknown): View;
/** The label of child `id`: `labels[id]`, else the longest `'prefix*'` key's that `id` starts with, else ''. */
export function labelOf(labels: Record<string, string>, id: string): string;
export function filterLog(log: View['log'], filters?: { connection?: string; type?: string }): View['log'];
