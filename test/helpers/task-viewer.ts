/** A real `ws` viewer of a TaskLogHub task, for tests: every line it got, parsed, and how it was closed. */
import { WebSocket } from 'ws';
import type { TaskLogMessage } from '../../transports/websocket/index.js';
import { until } from './net.js';

export interface TaskViewer {
  ws: WebSocket;
  messages: TaskLogMessage[];
  closed: Promise<{ code: number; reason: string }>;
  seqs(): number[];
  /** The last seq it got (0: none): what it would pass as `lastSeq`. */
  lastSeq(): number;
  /** Wait until it has `n` lines (fails after `ms`, saying what it has). */
  has(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Open a viewer on `url` (`ws://host:port/logs?task=t[&lastSeq=n]`). */
export function taskViewer(url: string): Promise<TaskViewer> {
  const ws = new WebSocket(url);
  const messages: TaskLogMessage[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as TaskLogMessage));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  const v: TaskViewer = {
    ws,
    messages,
    closed,
    seqs: () => messages.map((m) => m.seq),
    lastSeq: () => messages.at(-1)?.seq ?? 0,
    has: (n, ms = 10_000) => until(() => messages.length >= n, `${n} lines (got ${messages.length}: seqs ${messages.map((m) => m.seq).join(',')})`, ms),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(v));
    ws.once('error', reject);
  });
}

/** `a..b`, both included. */
export const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);
