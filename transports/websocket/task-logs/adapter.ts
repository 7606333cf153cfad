/**
 * The seam between `TaskLogHub` and a store its queues live in when one
 * process is not enough (issue 16): `new TaskLogHub({ adapter })`.
 *
 * Without an adapter the hub keeps each task's seq, queue and sent lines in
 * its own memory. With one, the hub still owns its viewers (the sockets, the
 * supervised children, one viewer per task on this process, the close codes)
 * and hands the adapter the rest: seq numbers, queues, the 100 → 50 rule,
 * `lastSeq` resume, and delivery to viewers on other processes.
 *
 * The hub calls `bind` once, from its constructor; the adapter calls back
 * through the host. The shapes here repeat the hub's own types (a log line,
 * its events) rather than import them, so the hub can import this file.
 */
import type { Clock, ConnectionHandle, Supervisor } from '../../../actors/index.js';

/** A log line before it has its seq: what `sendLog` built (the hub's `TaskLogMessage` without `seq`). */
export interface UnnumberedLine {
  type: 'log';
  taskId: string;
  timestamp: string;
  level: string;
  message: string;
  progress: number;
  finished: boolean;
}

/** The hub events an adapter may emit (a subset of `TaskLogHubEvent`). */
export type AdapterHubEvent =
  | { type: 'queued'; taskId: string; queued: number }
  | { type: 'dropped'; taskId: string; count: number; reason: 'overflow' }
  | { type: 'flushed'; taskId: string; count: number };

/** Why an adapter asks the hub to close one of its viewers. */
export type AdapterDropReason = 'replaced' | 'disconnect' | 'send-failed';

/** What the hub gives its adapter. */
export interface TaskLogHubAdapterHost {
  /** The hub's supervisor: the adapter's own connections run under it (the visualizer shows them). */
  readonly supervisor: Supervisor;
  readonly clock: Clock;
  /** The hub's queue rule: past `maxQueued` queued lines only the newest `keepOnOverflow` stay. */
  readonly maxQueued: number;
  readonly keepOnOverflow: number;
  /** Emit on the hub's `events$`. */
  emit(event: AdapterHubEvent): void;
  /**
   * Close this process's viewer `viewerId` of `taskId` if it is still the
   * task's viewer: `replaced` (another process took the task: 4000),
   * `disconnect` (`hub.disconnect(taskId)` on some process: 1000, and the
   * task is forgotten here), `send-failed` (1011).
   */
  dropViewer(taskId: string, viewerId: string, reason: AdapterDropReason): void;
}

/** A viewer of this process, as the hub adopted it. */
export interface AdapterViewer {
  /** Its child id under the supervisor (unique on this process). */
  readonly id: string;
  readonly connection: ConnectionHandle;
}

/** An adapter bound to one hub. */
export interface TaskLogHubBinding {
  /** Number `line`, queue it or hand it to the task's viewer wherever it is. */
  sendLog(taskId: string, line: UnnumberedLine): Promise<'sent' | 'queued'>;
  /**
   * `viewer` is now `taskId`'s viewer on this process: send it the queued
   * lines (or those after `lastSeq`), then the live ones. Resolves once the
   * queued lines were written, `'send-failed'` when the viewer went away
   * meanwhile (the hub then drops it; the adapter takes the lines back).
   */
  viewerConnected(taskId: string, viewer: AdapterViewer, lastSeq: number | undefined): Promise<'ok' | 'send-failed'>;
  /** The viewer left (closed, replaced, dropped): lines it was not given are queued again. */
  viewerGone(taskId: string, viewerId: string): void;
  /** `hub.disconnect(taskId)`: the task's viewer, on whichever process, is closed, and its queue dropped. */
  disconnect(taskId: string): Promise<void>;
  /** The task's queue length as this process last heard it (a hint: other processes queue too). */
  queuedCount(taskId: string): number;
  /** The hub is closing (its viewers are gone): settle what is in flight, stop the adapter's connections. */
  close(): Promise<void>;
}

/** What `new TaskLogHub({ adapter })` takes: `redisHubAdapter(...)`, or your own. */
export interface TaskLogHubAdapter {
  bind(host: TaskLogHubAdapterHost): TaskLogHubBinding;
}
