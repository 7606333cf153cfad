/**
 * `TaskLogHub`: per-task live logs over WebSocket that wait for their viewer.
 *
 * The seed's task-log connection manager, built on the framework: each viewer
 * socket is adopted by a supervisor (`supervisor.adopt`: a `temporary` child
 * that never reconnects), yours when you pass `supervisor`, and followed
 * through its connection handle. Logs for a task with no viewer are queued
 * and sent, in order, when one connects.
 *
 * Rules (README, "TaskLogHub"):
 * - Messages are `{ type: 'log', taskId, seq, timestamp, level, message, progress, finished }`;
 *   `seq` counts per task from 1.
 * - Sends to one task are serialized: they reach the viewer in `sendLog` order.
 * - A task's queue that grows past `maxQueued` (100) keeps only the newest
 *   `keepOnOverflow` (50); the hub emits `dropped` with the count.
 * - A failed send closes that viewer at once and puts the message back at the
 *   front of the queue.
 * - A socket write that succeeded can still be lost if the viewer dies right
 *   after; a viewer that reconnects with the last `seq` it saw
 *   (`?lastSeq=N`, or `connect(socket, taskId, { lastSeq })`) first gets the
 *   messages after it again (the newest `maxQueued` sent ones are kept for this).
 * - A second viewer for a task replaces the first, which is closed with code
 *   4000 ("replaced by a newer viewer").
 * - Who may be a viewer (origin, `authorize`, `maxPayload`) is decided where
 *   `attach` takes upgrades: `attach.ts`.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { Subject, type Observable } from 'rxjs';
import { WebSocket, type WebSocketServer } from 'ws';
import {
  MessageDroppedError,
  createSupervisor,
  type BroadcastResult,
  nowOf,
  type Clock,
  type ConnectionHandle,
  type Logger,
  type Supervisor,
} from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { HubClosedError, SocketNotOpenError } from '../errors.js';
import { checkAllowedOrigins } from '../origin.js';
import { attachViewers, type AttachOptions, type ViewerGate } from './attach.js';
import type { AdapterDropReason, TaskLogHubAdapter, TaskLogHubBinding } from './adapter.js';
import { DEFAULT_PING_INTERVAL_MS, DEFAULT_PONG_TIMEOUT_MS, wrapWebSocket, type WebSocketLink, type WebSocketLinkOptions } from '../link.js';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a viewer receives for each `sendLog`. */
export interface TaskLogMessage {
  type: 'log';
  taskId: string;
  /** Per task, from 1: a reconnecting viewer passes the last one it saw as `lastSeq`. */
  seq: number;
  /** ISO 8601, from the hub's clock. */
  timestamp: string;
  level: LogLevel;
  message: string;
  /** 0..100. */
  progress: number;
  finished: boolean;
}

export type DisconnectReason = 'closed' | 'replaced' | 'disconnect' | 'send-failed' | 'hub-closed';

export type TaskLogHubEvent =
  | { type: 'connected'; taskId: string; viewer: string }
  | { type: 'disconnected'; taskId: string; viewer: string; reason: DisconnectReason }
  | { type: 'queued'; taskId: string; queued: number }
  | { type: 'dropped'; taskId: string; count: number; reason: 'overflow' }
  | { type: 'flushed'; taskId: string; count: number };

/** Default `maxPayload`: a viewer only ever sends a small resume request, never logs. */
const DEFAULT_VIEWER_MAX_PAYLOAD = 4096;

export interface TaskLogHubOptions {
  /** A task's queue may grow to this many; one more and only the newest `keepOnOverflow` stay. Default 100. */
  maxQueued?: number;
  /** How many of the newest messages survive an overflow. Default 50. */
  keepOnOverflow?: number;
  /** Ping period for viewer sockets, ms (0: off). Default 25000. */
  pingIntervalMs?: number;
  /** No pong within this many ms: the viewer is gone. Default 20000. */
  pongTimeoutMs?: number;
  /**
   * Supervise viewer connections here (yours, e.g. the one the visualizer
   * watches). Default: a supervisor of the hub's own, shut down by `close()`.
   */
  supervisor?: Supervisor;
  /** Clock for timestamps and the liveness timers. Default: the supervisor's clock. */
  clock?: Clock;
  /** Supervision and viewer logs of the hub's own supervisor. Default silent. */
  logger?: Logger;
  /**
   * The largest frame a viewer may send, in bytes; a bigger one closes that
   * viewer with 1009 ("message too big") before it is buffered. Viewers only
   * ever send a resume request, so the default is small: 4096 (`ws` alone
   * would take 100 MiB). It applies to the WebSocketServer the hub makes in
   * `attach(httpServer)`; a `WebSocketServer` you pass to `attach`, or a socket
   * you hand to `connect`, keeps the `maxPayload` you gave it.
   * @example new TaskLogHub({ maxPayload: 1024 })
   */
  maxPayload?: number;
  /**
   * Pages of other origins that may be viewers, exactly as a browser sends
   * them (`http://localhost:3000`: scheme, host, port; no path). Always
   * allowed: a page on the same host as the hub (its `Origin` host equals the
   * request's `Host`) and clients that send no `Origin` (not browsers). Any
   * other page is refused: HTTP 403 on an upgrade of `attach(httpServer)`,
   * close code 1008 on a connection of `attach(wss)`. Default `[]`.
   * @example new TaskLogHub({ allowedOrigins: ['http://localhost:3000'] })
   */
  allowedOrigins?: string[];
  /**
   * Decide whether an upgrade request may be a viewer (a token in a header,
   * a cookie, the query), after the origin check. Anything but `true` (false,
   * a rejection, a throw) refuses it: HTTP 401 on an upgrade of
   * `attach(httpServer)`, close code 1008 on a connection of `attach(wss)`.
   * Default: every request the origin check lets through.
   * @example new TaskLogHub({ authorize: (req) => req.headers.authorization === `Bearer ${token}` })
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * Where the tasks' seq numbers and queues live when one process is not
   * enough (issue 16): `redisHubAdapter({ url })` shares them through Redis,
   * so a line sent on any process reaches the task's viewer on any process.
   * The hub still owns its own viewers; `isConnected` and `broadcast` are
   * about this process's viewers. Default: this process's memory.
   * @example new TaskLogHub({ adapter: redisHubAdapter({ url: 'redis://127.0.0.1:6379' }) })
   */
  adapter?: TaskLogHubAdapter;
}

export interface SendLogOptions {
  /** 0..100. Default 0. */
  progress?: number;
  /** Default false. */
  finished?: boolean;
}

/** Whether `sendLog` handed the message to the viewer's socket or queued it. */
export type SendLogResult = 'sent' | 'queued';

interface Viewer {
  childId: string;
  link: WebSocketLink;
  connection: ConnectionHandle;
}

interface TaskState {
  queue: TaskLogMessage[];
  /** The newest messages written to a viewer, for `lastSeq` resumption. */
  sent: TaskLogMessage[];
  seq: number;
  viewer: Viewer | undefined;
  lock: Promise<unknown>;
}

/** @internal Tests only: `hub[taskEntries]` is how many tasks the hub holds state for. */
export const taskEntries = Symbol('TaskLogHub task entries');

/** A task id is a non-empty string: anything else is a TypeError naming `taskId`. */
function checkTaskId(taskId: unknown): asserts taskId is string {
  check.nonEmptyString(taskId, 'taskId');
}

export class TaskLogHub {
  /** The supervisor of the viewer connections: one temporary child per connected viewer. */
  readonly supervisor: Supervisor;
  readonly events$: Observable<TaskLogHubEvent>;
  readonly #events = new Subject<TaskLogHubEvent>();
  readonly #tasks = new Map<string, TaskState>();
  readonly #detach: Array<() => void> = [];
  readonly #ownsSupervisor: boolean;
  readonly #clock: Clock;
  readonly #maxQueued: number;
  readonly #keep: number;
  readonly #ping: number;
  readonly #pong: number;
  readonly #gate: ViewerGate;
  // The same for every viewer: one object each, not one per viewer (issue 15).
  readonly #linkOptions: WebSocketLinkOptions;
  readonly #adoptOutbox: { limit: number };
  readonly #adapter: TaskLogHubBinding | undefined;
  #viewers = 0;
  /** The child ids of the viewers now set on a task (`task.viewer`), for `broadcast`: one read per viewer, not a walk over the tasks. */
  readonly #viewerIds = new Set<string>();
  #closed = false;

  constructor(options: TaskLogHubOptions = {}) {
    check.object(options, 'options');
    this.#maxQueued = check.integer(options.maxQueued ?? 100, 'options.maxQueued', { min: 1 });
    this.#keep = check.integer(options.keepOnOverflow ?? 50, 'options.keepOnOverflow', { min: 0 });
    if (this.#keep > this.#maxQueued) throw new RangeError(`options.keepOnOverflow (${this.#keep}) must be <= options.maxQueued (${this.#maxQueued})`);
    this.#ping = check.duration(options.pingIntervalMs, 'options.pingIntervalMs', { allowZero: true }) ?? DEFAULT_PING_INTERVAL_MS;
    this.#pong = check.duration(options.pongTimeoutMs, 'options.pongTimeoutMs', { allowZero: false }) ?? DEFAULT_PONG_TIMEOUT_MS;
    if (options.authorize !== undefined) check.func(options.authorize, 'options.authorize', '(req) => boolean | Promise<boolean>');
    this.#gate = {
      maxPayload: check.integer(options.maxPayload ?? DEFAULT_VIEWER_MAX_PAYLOAD, 'options.maxPayload', { min: 1 }),
      allowedOrigins: checkAllowedOrigins(options.allowedOrigins, 'options.allowedOrigins'),
      authorize: options.authorize,
    };
    if (options.supervisor !== undefined) check.shape(options.supervisor, 'options.supervisor', { adopt: 'function' }, 'a Supervisor (createSupervisor())');
    if (options.clock !== undefined) check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
    this.#ownsSupervisor = options.supervisor === undefined;
    this.supervisor = options.supervisor ?? createSupervisor({ id: 'task-log-hub', logger: options.logger, ...(options.clock ? { clock: options.clock } : {}) });
    this.#clock = options.clock ?? this.supervisor.clock;
    this.#linkOptions = { pingIntervalMs: this.#ping, pongTimeoutMs: this.#pong, closeTimeoutMs: 2000, clock: this.#clock };
    this.#adoptOutbox = { limit: Math.max(this.#maxQueued * 2, 1000) };
    this.events$ = this.#events.asObservable();
    if (options.adapter !== undefined) check.shape(options.adapter, 'options.adapter', { bind: 'function' }, 'a TaskLogHubAdapter (redisHubAdapter(...))');
    this.#adapter = options.adapter?.bind({
      supervisor: this.supervisor,
      clock: this.#clock,
      maxQueued: this.#maxQueued,
      keepOnOverflow: this.#keep,
      emit: (e) => this.#emit(e),
      dropViewer: (taskId, viewerId, reason) => this.#dropViewer(taskId, viewerId, reason),
    });
  }

  /**
   * Accept viewers on `server` (an http(s) server, whose upgrades are taken)
   * or `wss` (a `ws` WebSocketServer, whose connections are taken). Returns a
   * function that stops accepting. Each request passes `allowedOrigins` and
   * `authorize` first (403/401 on `server`, close 1008 on `wss`).
   */
  attach(server: HttpServer | HttpsServer | WebSocketServer, options: AttachOptions = {}): () => void {
    this.#open('attach');
    const off = attachViewers(server, options, this.#gate, (ws, taskId, o) => this.connect(ws, taskId, o));
    this.#detach.push(off);
    return off;
  }

  /**
   * Adopt an open socket accepted elsewhere (an express/fastify upgrade) as
   * `taskId`'s viewer. Resolves once the queued messages were written (or, if
   * the viewer went away meanwhile, put back in the queue).
   */
  async connect(socket: WebSocket, taskId: string, options: { lastSeq?: number } = {}): Promise<void> {
    this.#open('connect');
    checkTaskId(taskId);
    if (!(socket instanceof WebSocket)) throw new TypeError('socket must be a ws WebSocket');
    check.object(options, 'options', '{ lastSeq? }');
    const { lastSeq } = options;
    if (lastSeq !== undefined) check.integer(lastSeq, 'options.lastSeq', { min: 0 });
    if (socket.readyState !== WebSocket.OPEN) throw new SocketNotOpenError();
    const link = wrapWebSocket(socket, this.#linkOptions);
    const task = this.#task(taskId);
    await this.#locked(task, async () => {
      if (this.#tasks.get(taskId) !== task || this.#closed) {
        void link.closeWith(1001, 'task log hub closed');
        return;
      }
      if (task.viewer) await this.#drop(taskId, task, 'replaced', 4000, 'replaced by a newer viewer');
      const childId = `${taskId}#${++this.#viewers}`;
      const connection = this.supervisor.adopt(link, { id: childId, kind: 'websocket', outbox: this.#adoptOutbox });
      const viewer: Viewer = { childId, link, connection };
      task.viewer = viewer;
      this.#viewerIds.add(childId);
      // The viewer's link ended by itself (the tab closed, the network went): forget it.
      void connection.closed.then(() => {
        if (task.viewer === viewer) this.#forget(taskId, task, 'closed');
      });
      this.#emit({ type: 'connected', taskId, viewer: childId });
      if (this.#adapter) {
        if ((await this.#adapter.viewerConnected(taskId, { id: childId, connection }, lastSeq)) === 'send-failed' && task.viewer === viewer) await this.#drop(taskId, task, 'send-failed');
        return;
      }
      const replay = lastSeq === undefined ? [] : task.sent.filter((m) => m.seq > lastSeq);
      const pending = [...replay, ...task.queue];
      task.queue = [];
      if (pending.length === 0) return;
      const results = await Promise.allSettled(pending.map((m) => connection.send(JSON.stringify(m))));
      const failedAt = results.findIndex((r) => r.status === 'rejected');
      const sentNow = failedAt === -1 ? pending : pending.slice(0, failedAt);
      this.#remember(task, sentNow.slice(replay.length));
      this.#emit({ type: 'flushed', taskId, count: sentNow.length });
      if (failedAt !== -1) {
        // The viewer went away mid-flush: everything from the first failure goes back, in order.
        task.queue = [...pending.slice(Math.max(failedAt, replay.length)), ...task.queue];
        await this.#drop(taskId, task, 'send-failed');
        this.#emit({ type: 'queued', taskId, queued: task.queue.length });
      }
    });
  }

  /** Remove `taskId`'s viewer (closed with 1000), its queue and its lock. */
  async disconnect(taskId: string): Promise<void> {
    checkTaskId(taskId);
    if (this.#adapter) await this.#adapter.disconnect(taskId); // the viewer may be on another process
    const task = this.#tasks.get(taskId);
    if (!task) return;
    this.#tasks.delete(taskId);
    await this.#drop(taskId, task, 'disconnect', 1000, 'disconnected');
  }

  /**
   * Send one log line to `taskId`'s viewer now, or queue it until one connects.
   * Resolves `'sent'` once the viewer's socket took it, `'queued'` otherwise.
   */
  sendLog(taskId: string, level: LogLevel, message: string, options: SendLogOptions = {}): Promise<SendLogResult> {
    let built: Omit<TaskLogMessage, 'seq'>;
    try {
      built = this.#build(taskId, level, message, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#adapter) return this.#adapter.sendLog(taskId, built);
    const task = this.#task(taskId);
    const entry: TaskLogMessage = { ...built, seq: ++task.seq };
    return this.#locked(task, async (): Promise<SendLogResult> => {
      if (this.#tasks.get(taskId) !== task) {
        throw new MessageDroppedError(taskId, 'stopped', `log for task "${taskId}" dropped: the task was disconnected before it was sent`);
      }
      const viewer = task.viewer;
      if (viewer) {
        try {
          await viewer.connection.send(JSON.stringify(entry)); // queued lines are encoded when flushed, once
          this.#remember(task, [entry]);
          return 'sent';
        } catch {
          // Nothing is lost: the message goes back to the front, the broken viewer goes away.
          task.queue.unshift(entry);
          if (task.viewer === viewer) await this.#drop(taskId, task, 'send-failed');
          this.#emit({ type: 'queued', taskId, queued: task.queue.length });
          return 'queued';
        }
      }
      this.#enqueue(taskId, task, entry);
      return 'queued';
    });
  }

  isConnected(taskId: string): boolean {
    checkTaskId(taskId);
    return this.#tasks.get(taskId)?.viewer !== undefined;
  }

  queuedCount(taskId: string): number {
    checkTaskId(taskId);
    if (this.#adapter) return this.#adapter.queuedCount(taskId);
    return this.#tasks.get(taskId)?.queue.length ?? 0;
  }

  /** Send `message` (a string, or a value sent as JSON) to every connected viewer, through the supervisor. */
  broadcast(message: unknown): Promise<BroadcastResult> {
    this.#open('broadcast');
    const text = typeof message === 'string' ? message : encode(message, 'message');
    // Only this hub's viewers: the supervisor may be shared with other connections.
    return this.supervisor.broadcast(text, { volatile: true, ids: [...this.#viewerIds] });
  }

  /** Close every viewer (1001), stop accepting, and stop the supervisor when it is the hub's own. Queued messages are discarded. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#detach.splice(0)) off();
    const tasks = [...this.#tasks];
    this.#tasks.clear();
    await Promise.all(tasks.map(([id, task]) => (task.viewer ? this.#drop(id, task, 'hub-closed', 1001, 'task log hub closed') : undefined)));
    if (this.#adapter) await this.#adapter.close();
    if (this.#ownsSupervisor) await this.supervisor.shutdown();
    this.#events.complete();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Tests only. */
  get [taskEntries](): number {
    return this.#tasks.size;
  }

  #open(what: string) {
    if (this.#closed) throw new HubClosedError(what);
  }

  #build(taskId: string, level: LogLevel, message: string, options: SendLogOptions): Omit<TaskLogMessage, 'seq'> {
    this.#open('send a log');
    checkTaskId(taskId);
    check.oneOf(level, 'level', LOG_LEVELS);
    // Any string, '' included: check.ts has no helper for that.
    if (typeof message !== 'string') throw new TypeError(`message must be a string, got ${check.describe(message)}`);
    check.object(options, 'options', '{ progress?, finished? }');
    const { progress = 0, finished = false } = options;
    check.finiteNumber(progress, 'options.progress', { min: 0, max: 100 });
    check.boolean(finished, 'options.finished');
    return { type: 'log', taskId, timestamp: new Date(nowOf(this.#clock)).toISOString(), level, message, progress, finished };
  }

  #task(taskId: string): TaskState {
    let task = this.#tasks.get(taskId);
    if (!task) {
      task = { queue: [], sent: [], seq: 0, viewer: undefined, lock: Promise.resolve() };
      this.#tasks.set(taskId, task);
    }
    return task;
  }

  /** Run `fn` after every earlier operation on this task has settled. */
  #locked<T>(task: TaskState, fn: () => Promise<T>): Promise<T> {
    const run = task.lock.then(fn, fn);
    task.lock = run.catch(() => {});
    return run;
  }

  #enqueue(taskId: string, task: TaskState, entry: TaskLogMessage) {
    task.queue.push(entry);
    if (task.queue.length > this.#maxQueued) {
      const count = task.queue.length - this.#keep;
      task.queue.splice(0, count);
      this.#emit({ type: 'dropped', taskId, count, reason: 'overflow' });
    }
    this.#emit({ type: 'queued', taskId, queued: task.queue.length });
  }

  #remember(task: TaskState, sent: TaskLogMessage[]) {
    if (sent.length === 0) return;
    task.sent.push(...sent);
    if (task.sent.length > this.#maxQueued) task.sent.splice(0, task.sent.length - this.#maxQueued);
  }

  /** The link ended on its own: the child already exited. */
  #forget(taskId: string, task: TaskState, reason: DisconnectReason) {
    const viewer = task.viewer!;
    task.viewer = undefined;
    this.#adapter?.viewerGone(taskId, viewer.childId);
    this.#viewerIds.delete(viewer.childId);
    this.#emit({ type: 'disconnected', taskId, viewer: viewer.childId, reason });
    this.#prune(taskId, task);
  }

  /** Close the viewer's socket with `code` and stop its actor. */
  async #drop(taskId: string, task: TaskState, reason: DisconnectReason, code = 1011, text = 'send failed') {
    const viewer = task.viewer;
    if (!viewer) return;
    task.viewer = undefined;
    this.#adapter?.viewerGone(taskId, viewer.childId);
    this.#viewerIds.delete(viewer.childId);
    await viewer.link.closeWith(code, text);
    await viewer.connection.stop().catch(() => {});
    this.#emit({ type: 'disconnected', taskId, viewer: viewer.childId, reason });
    this.#prune(taskId, task);
  }

  /**
   * With an adapter a task's entry here holds only its viewer and its lock
   * (the queue and seq live in the adapter): once the viewer left and nothing
   * else waits on the lock, forget the task, or the map would keep every task
   * ever viewed.
   */
  #prune(taskId: string, task: TaskState) {
    if (!this.#adapter) return;
    const lock = task.lock;
    void lock.then(() => {
      if (task.lock !== lock) this.#prune(taskId, task); // more came meanwhile: look again after it
      else if (!task.viewer && this.#tasks.get(taskId) === task) this.#tasks.delete(taskId);
    });
  }

  /** The adapter asks: close this process's viewer of `taskId` if it is still `viewerId` (another process took the task, ...). */
  #dropViewer(taskId: string, viewerId: string, reason: AdapterDropReason) {
    const task = this.#tasks.get(taskId);
    if (!task) return;
    void this.#locked(task, async () => {
      if (task.viewer?.childId !== viewerId) return;
      if (reason === 'disconnect') this.#tasks.delete(taskId);
      if (reason === 'send-failed') await this.#drop(taskId, task, reason);
      else await this.#drop(taskId, task, reason, reason === 'replaced' ? 4000 : 1000, reason === 'replaced' ? 'replaced by a newer viewer' : 'disconnected');
    });
  }

  #emit(e: TaskLogHubEvent) {
    if (!this.#events.closed) this.#events.next(e);
  }
}

function encode(value: unknown, name: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`${name} cannot be encoded as JSON: ${(e as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`${name} cannot be encoded as JSON (got ${typeof value})`);
  return text;
}
