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
 * - Ids are remembered per client session (the `{"session":"..."}` line a
 *   client sends first; without one, per connection): an id sent again after
 *   a reconnect is acked again but not published twice.
 */
import { Subject, type Observable } from 'rxjs';
import { silentLogger, type Clock, type Logger, type Supervisor } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { LineDecoder, FrameTooLargeError, checkMaxFrameBytes } from '../ndjson.js';
import { parseEventFrame, type EdgeEvent } from './edge-protocol.js';
import { unixSocketListener, type UnixSocketListener } from '../listener/listener.js';

export interface EdgeAgentServerOptions {
  path: string;
  /** Largest frame accepted, bytes. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Socket file mode. Default 0o660. */
  mode?: number;
  /** Supervise client connections here. Default: the listener's own supervisor. */
  supervisor?: Supervisor;
  /** Clock of the agent's own supervisor (ignored when `supervisor` is given). */
  clock?: Clock;
  logger?: Logger;
}

const ACK_SLICE = 64;

/** Ids seen in one session: everything up to `low`, plus the ones above it. */
class SeenIds {
  low = -1;
  above = new Set<number>();
  /** Record `id`; false when it was already seen. */
  add(id: number): boolean {
    if (id <= this.low || this.above.has(id)) return false;
    if (id === this.low + 1) {
      this.low = id;
      while (this.above.delete(this.low + 1)) this.low++;
    } else this.above.add(id);
    return true;
  }
}

export class EdgeAgentServer {
  readonly listener: UnixSocketListener;
  /** Each validated event, once per session and id. */
  readonly events$: Observable<EdgeEvent>;
  readonly #events = new Subject<EdgeEvent>();
  readonly #sessions = new Map<string, SeenIds>();
  readonly #maxFrameBytes: number;
  readonly #logger: Logger;

  constructor(options: EdgeAgentServerOptions) {
    check.object(options, 'options', '{ path, maxFrameBytes? }');
    this.#maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes, 'options.maxFrameBytes');
    this.#logger = options.logger ?? silentLogger;
    this.listener = unixSocketListener({
      path: options.path,
      mode: options.mode,
      logger: options.logger,
      ...(options.supervisor ? { supervisor: options.supervisor } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.events$ = this.#events.asObservable();
    this.listener.accepted$.subscribe(({ id, connection }) => {
      const decoder = new LineDecoder(this.#maxFrameBytes);
      let session = `connection:${id}`;
      connection.data$.subscribe((chunk) => {
        let lines: string[];
        try {
          lines = decoder.push(chunk);
        } catch (e) {
          if (!(e instanceof FrameTooLargeError)) throw e;
          this.#logger.warn(`edge agent: closing ${id}: ${e.message}`, { connection: id, limit: e.limit });
          void connection.stop().catch(() => {});
          return;
        }
        let replies = '';
        let count = 0;
        for (const line of lines) {
          const r = parseEventFrame(line);
          if ('session' in r) {
            session = `session:${r.session}`;
          } else if ('error' in r) {
            if (this.#logger !== silentLogger) this.#logger.debug(`edge agent: nack ${r.id}: ${r.error}`, { connection: id });
            replies += `${JSON.stringify({ nack: r.id, error: r.error })}\n`;
          } else {
            let seen = this.#sessions.get(session);
            if (!seen) this.#sessions.set(session, (seen = new SeenIds()));
            if (seen.add(r.event.id)) this.#events.next(r.event);
            replies += `{"ack":${r.event.id}}\n`;
          }
          // Ack in slices, not once per chunk: the client refills its window while we work on the rest.
          if (++count % ACK_SLICE === 0 && replies) {
            void connection.send(replies).catch(() => {});
            replies = '';
          }
        }
        // One write per chunk: pipelined clients get their acks in batches.
        if (replies) void connection.send(replies).catch(() => {});
      });
    });
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
    this.#events.complete();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
