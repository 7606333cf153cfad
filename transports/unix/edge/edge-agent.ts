/**
 * `EdgeAgentServer`: the receiving agent of the edge protocol, for users who
 * write the agent and for our tests. It listens on a UNIX socket
 * (`unixSocketListener`), validates each frame, acks it, and publishes each
 * validated event once on `events$`.
 *
 * - A malformed frame (bad JSON, a missing or wrong field, an unknown
 *   severity) gets `{"nack":id,"error":"..."}` (id null when unreadable); the
 *   connection stays open.
 * - A frame over `maxFrameBytes` closes that connection, with the reason logged.
 * - Acks go out in slices of 64 frames (and at the end of each chunk read).
 *   A client that sent `{"features":["ack-ranges"]}` gets each run of
 *   consecutive acked ids as one `{"acks":[first,last]}` (a nack ends the
 *   run); any other client gets `{"ack":id}` each (issue 15).
 * - A client that does not read its replies is not read either until it does
 *   (the stream link pauses it); past `maxBufferedBytes` queued for it, its
 *   connection is closed, with the reason logged (issue 11, defect 4).
 * - Ids are remembered per client session (the `{"session":"..."}` line a
 *   client sends first) in a `SeenStore`; without a session line, per
 *   connection: an id sent again after a reconnect is acked again but not
 *   published twice. The default store forgets a session `sessionTtlMs`
 *   after its last connection closed and keeps at most `maxSessions`
 *   (issue 11, defect 3); it does not survive a restart (defect 12: README,
 *   "Delivery guarantees").
 */
import { Subject, type Observable } from 'rxjs';
import { silentLogger, type Clock, type ConnectionHandle, type Link, type Logger, type Supervisor } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { LineDecoder, FrameTooLargeError, checkMaxFrameBytes } from '../ndjson.js';
import { SocketBufferOverflowError } from '../errors.js';
import { checkMaxBufferedBytes } from '../unix.transport.js';
import { FEATURE_ACK_RANGES, parseEventFrame, type EdgeEvent, type FrameMemo } from './edge-protocol.js';
import { memorySeenStore, SeenIds, type MemorySeenStore, type SeenStore } from './seen-store.js';
import { unixSocketListener, type UnixSocketListener } from '../listener/listener.js';

export interface EdgeAgentServerOptions {
  path: string;
  /** Largest frame accepted, bytes. Default 1 MiB. */
  maxFrameBytes?: number;
  /**
   * Per connection: most bytes of replies queued for a client that does not
   * read them, and of frames waiting for an async `seen` store. Past it the
   * connection is closed (a `SocketBufferOverflowError`, logged at warn).
   * Below it, a client whose replies are not drained is not read until they
   * are. Default 8 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Where seen ids are recorded, per session. Default: `memorySeenStore`
   * with `sessionTtlMs` and `maxSessions`, on the supervisor's clock. Pass a
   * store that persists to publish each event once across agent restarts.
   */
  seen?: SeenStore;
  /**
   * How long the default store remembers a session after its last
   * connection closed, ms on the supervisor's clock (0: not at all;
   * `Infinity`: until `maxSessions` pushes it out). Default 600000 (10 min).
   * Not with `seen` (give your store its own bounds).
   */
  sessionTtlMs?: number;
  /** Most sessions the default store remembers (least recently used first out). Default 10000. Not with `seen`. */
  maxSessions?: number;
  /** Socket file mode. Default 0o660. */
  mode?: number;
  /** Supervise client connections here. Default: the listener's own supervisor. */
  supervisor?: Supervisor;
  /** Clock of the agent's own supervisor (ignored when `supervisor` is given). */
  clock?: Clock;
  logger?: Logger;
}

/** Marks a decoded line whose bytes were not valid UTF-8 (a JSON text never starts with NUL). */
const NOT_UTF8 = '\u0000';

/** A frame with bytes that are not UTF-8 is refused, naming its id when it can be read. */
function notUtf8(line: string): { error: string; id: number | null } {
  const r = parseEventFrame(line);
  const id = 'event' in r ? r.event.id : 'id' in r ? r.id : null;
  return { error: 'frame is not valid UTF-8', id };
}

const ACK_SLICE = 64;

/** One connection's dedup scope: its session, or (without a session line) its own ids. */
interface Scope {
  session: string | undefined;
  own: SeenIds | undefined;
}

export class EdgeAgentServer {
  readonly listener: UnixSocketListener;
  /** Each validated event, once per session and id (see `seen`). */
  readonly events$: Observable<EdgeEvent>;
  readonly #events = new Subject<EdgeEvent>();
  readonly #seen: SeenStore;
  /** The default store, which the agent owns (and closes). */
  readonly #ownStore: MemorySeenStore | undefined;
  /** Open connections per session: the store hears of a session's first and last. */
  readonly #live = new Map<string, number>();
  readonly #maxFrameBytes: number;
  readonly #maxBufferedBytes: number;
  readonly #logger: Logger;

  constructor(options: EdgeAgentServerOptions) {
    check.object(options, 'options', '{ path, maxFrameBytes?, maxBufferedBytes?, seen?, sessionTtlMs?, maxSessions? }');
    this.#maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes, 'options.maxFrameBytes');
    this.#maxBufferedBytes = checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes');
    if (options.seen !== undefined) {
      check.shape(options.seen, 'options.seen', { add: 'function' }, 'a SeenStore ({ add(session, id, event) })');
      for (const name of ['sessionTtlMs', 'maxSessions'] as const) {
        if (options[name] !== undefined) throw new TypeError(`options.${name} configures the default store: give it to your own store instead of options.seen`);
      }
    }
    this.#logger = options.logger ?? silentLogger;
    this.listener = unixSocketListener({
      path: options.path,
      mode: options.mode,
      maxBufferedBytes: this.#maxBufferedBytes,
      logger: options.logger,
      ...(options.supervisor ? { supervisor: options.supervisor } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.#ownStore = options.seen
      ? undefined
      : memorySeenStore({
          ttlMs: options.sessionTtlMs,
          maxSessions: options.maxSessions,
          clock: this.listener.supervisor.clock,
        });
    this.#seen = options.seen ?? this.#ownStore!;
    this.events$ = this.#events.asObservable();
    this.listener.accepted$.subscribe(({ id, connection, link }) => this.#serve(id, connection, link));
  }

  get path(): string {
    return this.listener.path;
  }

  listen(): Promise<void> {
    return this.listener.listen();
  }

  /** Stop accepting, close every connection, remove the socket file. */
  async close(): Promise<void> {
    await this.listener.close();
    this.#ownStore?.close();
    this.#events.complete();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #serve(id: string, connection: ConnectionHandle, link: Link): void {
    const decoder = new LineDecoder(this.#maxFrameBytes);
    const scope: Scope = { session: undefined, own: undefined };
    /** Lines that arrived while an async `seen.add` was pending, in order; undefined when none is. */
    let waiting: string[] | undefined;
    let waitingBytes = 0;
    let dropped = false;
    const reply = (text: string) => void connection.send(text).catch(() => {});
    const drop = (reason: string, data: Record<string, unknown>) => {
      if (dropped) return;
      dropped = true;
      this.#logger.warn(`edge agent: closing ${id}: ${reason}`, { connection: id, ...data });
      void connection.stop().catch(() => {});
    };

    const memo: FrameMemo = { timestamp: '' };
    /** The client sent "ack-ranges": a run of acked ids goes out as one `{"acks":[first,last]}`. */
    let ranges = false;

    /** Handle `lines` from `from` on: synchronously, until the store answers with a promise. */
    const handle = (lines: string[], from: number): void => {
      let replies = '';
      let count = 0;
      // The run of consecutive ids acked and not yet in `replies` (ranges only; -1: none).
      let first = -1;
      let last = -1;
      const endRun = () => {
        if (first === -1) return;
        replies += first === last ? `{"ack":${first}}\n` : `{"acks":[${first},${last}]}\n`;
        first = -1;
      };
      for (let i = from; i < lines.length; i++) {
        const line = lines[i]!;
        const r = line.startsWith(NOT_UTF8) ? notUtf8(line.slice(1)) : parseEventFrame(line, memo);
        if ('event' in r) {
          const event = r.event;
          const fresh = scope.session === undefined ? (scope.own ??= new SeenIds()).add(event.id) : this.#record(scope.session, event);
          if (typeof fresh !== 'boolean') {
            // An async store: what follows on this connection waits for its answer, in order.
            endRun();
            if (replies) reply(replies);
            waiting = [];
            void Promise.resolve(fresh)
              .then(
                (isNew) => {
                  if (isNew) this.#events.next(event);
                  reply(`{"ack":${event.id}}\n`);
                },
                (e: unknown) => reply(this.#storeFailed(id, event.id, e)),
              )
              .then(() => {
                const rest = lines.slice(i + 1).concat(waiting!);
                waiting = undefined;
                waitingBytes = 0;
                handle(rest, 0);
              });
            return;
          }
          if (fresh) this.#events.next(event);
          if (!ranges) replies += `{"ack":${event.id}}\n`;
          else if (first !== -1 && event.id === last + 1) last = event.id;
          else {
            endRun();
            first = last = event.id;
          }
        } else if ('error' in r) {
          if (this.#logger !== silentLogger) this.#logger.debug(`edge agent: nack ${r.id}: ${r.error}`, { connection: id });
          endRun(); // replies stay in the order of the frames they answer
          replies += `${JSON.stringify({ nack: r.id, error: r.error })}\n`;
        } else if ('session' in r) {
          this.#enter(scope, r.session);
        } else {
          ranges = r.features.includes(FEATURE_ACK_RANGES);
        }
        // Ack in slices, not once per chunk: the client refills its window while we work on the rest.
        if (++count % ACK_SLICE === 0) {
          endRun();
          if (replies) reply(replies);
          replies = '';
        }
      }
      // One write per chunk: pipelined clients get their acks in batches.
      endRun();
      if (replies) reply(replies);
    };

    connection.data$.subscribe((chunk) => {
      if (dropped) return;
      let lines: string[];
      const invalid = new Set<number>();
      try {
        lines = decoder.push(chunk, invalid);
        // Marked for refusal: bytes that were not UTF-8 came back as U+FFFD (the frame is not what was sent).
        for (const i of invalid) lines[i] = `${NOT_UTF8}${lines[i]}`;
      } catch (e) {
        if (!(e instanceof FrameTooLargeError)) throw e;
        return drop(e.message, { limit: e.limit });
      }
      if (!waiting) return handle(lines, 0);
      for (const line of lines) waiting.push(line);
      waitingBytes += chunk.length;
      if (waitingBytes > this.#maxBufferedBytes) drop(`${waitingBytes} bytes of frames wait for the seen store, over the ${this.#maxBufferedBytes}-byte limit`, { limit: this.#maxBufferedBytes });
    });
    void connection.closed.then(() => {
      if (scope.session !== undefined) this.#leave(scope.session);
    });
    // Why the link ended is the transport's to say (the connection just ends).
    void link.closed.then(({ error }) => {
      if (error instanceof SocketBufferOverflowError) {
        this.#logger.warn(`edge agent: closed ${id}: ${error.message}`, { connection: id, limit: error.limit, buffered: error.buffered });
      }
    });
  }

  /** `seen.add`, a throw turned into a rejection. */
  #record(session: string, event: EdgeEvent): boolean | Promise<boolean> {
    try {
      return this.#seen.add(session, event.id, event);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #storeFailed(connection: string, eventId: number, error: unknown): string {
    this.#logger.error(`edge agent: the seen store failed on event ${eventId}: ${(error as Error)?.message ?? String(error)}`, { connection, error });
    return `${JSON.stringify({ nack: eventId, error: 'the agent could not record the event' })}\n`;
  }

  /** The connection joins `session` (leaving the one it was in). */
  #enter(scope: Scope, session: string): void {
    if (scope.session === session) return;
    if (scope.session !== undefined) this.#leave(scope.session);
    scope.session = session;
    const n = this.#live.get(session) ?? 0;
    this.#live.set(session, n + 1);
    if (n === 0) this.#tell('retain', session);
  }

  #leave(session: string): void {
    const n = this.#live.get(session) ?? 0;
    if (n > 1) return void this.#live.set(session, n - 1);
    this.#live.delete(session);
    this.#tell('release', session);
  }

  #tell(what: 'retain' | 'release', session: string): void {
    try {
      this.#seen[what]?.(session);
    } catch (error) {
      this.#logger.error(`edge agent: the seen store's ${what} failed: ${(error as Error)?.message ?? String(error)}`, { error });
    }
  }
}
