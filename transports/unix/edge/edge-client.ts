/**
 * `EdgeClient`: sends security events to a local agent over a UNIX socket and
 * waits for each one's acknowledgement (the seed's ConnectionManager, without
 * its limits: events are pipelined, acks are matched by id, and the link
 * reconnects).
 *
 * @example
 * ```ts
 * await using conn = await EdgeClient.open({ socketPath: '/run/statewire/edge.sock' });
 * await conn.sendEvent('LoginFailed', Severity.HIGH, { user: 'root', source: '10.0.0.7' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { createSupervisor, silentLogger, type Logger, type Supervisor } from '../../../actors/supervisor.js';
import { SocketBrokenPipeError, SocketCommunicationError, UnixSocketError, SocketNotConnectedError } from '../errors.js';
import type { ConnectionLogEvent } from '../../../machines/events.js';
import { topState } from '../../../machines/state.js';
import type { ReconnectPolicy } from '../../../machines/policy.js';
import type { Link, Transport } from '../../../machines/ports/transport.js';
import { checkDetails, checkEventType, checkSeverity, type Severity } from './edge-protocol.js';
import { LineDecoder, checkMaxFrameBytes } from '../ndjson.js';
import { checkSocketPath, unixSocketTransport } from '../unix.transport.js';

export const DEFAULT_EDGE_SOCKET = '/run/statewire/edge.sock';

export interface EdgeConfig {
  /** Default: env `STATEWIRE_EDGE_SOCKET`, else `/run/statewire/edge.sock`. */
  socketPath?: string;
  /** Reconnect with backoff when the agent goes away, re-sending unacknowledged events. Default true. false: the seed's strict behaviour, errors at once. */
  reconnect?: boolean;
  /** Each event must be acked within this many ms of being written. Default 5000. */
  ackTimeoutMs?: number;
  /** Events in flight (sent, not yet acked) at most; `sendEvent` waits for a slot. Default 256. */
  inFlightLimit?: number;
  /** Largest frame, bytes, both ways. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Reconnect policy (backoff, retries). Default: the framework's, with `maxRetries` Infinity. */
  policy?: Partial<ReconnectPolicy>;
  /** Connection attempts and successes (info), errors (error), preparation and acks (debug). */
  logger?: Logger;
  /** Run the connection under this supervisor (yours, e.g. the one the visualizer watches) instead of a private one. */
  supervisor?: Supervisor;
  /** The connection's child id under the supervisor. Default `'edge'`. */
  id?: string;
}

interface Write {
  timer: ReturnType<typeof setTimeout>;
  /** Events of this write still waiting for their ack. */
  left: number;
}

interface Entry {
  id: number;
  line: string;
  resolve(): void;
  reject(e: Error): void;
  /** The write that carried it last: its ack timer. */
  write?: Write;
  /** The connection generation it was last written on. */
  writtenGen?: number;
  /** The write failed: send again after the next connect. */
  resend?: boolean;
}

const WRITE_SLICE = 128;

class WakeQueue {
  #items: Array<(() => void) | undefined> = [];
  #head = 0;
  push(fn: () => void) {
    this.#items.push(fn);
  }
  wakeOne() {
    if (this.#head >= this.#items.length) return;
    const fn = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    fn!();
  }
  wakeAll() {
    while (this.#head < this.#items.length) this.wakeOne();
  }
}

function resolveConfig(config: EdgeConfig) {
  if (config === null || typeof config !== 'object') throw new TypeError('config must be an object');
  const socketPath = config.socketPath ?? process.env.STATEWIRE_EDGE_SOCKET ?? DEFAULT_EDGE_SOCKET;
  checkSocketPath(socketPath, 'config.socketPath');
  const reconnect = config.reconnect ?? true;
  if (typeof reconnect !== 'boolean') throw new TypeError(`config.reconnect must be a boolean, got ${typeof reconnect}`);
  const ackTimeoutMs = config.ackTimeoutMs ?? 5000;
  if (typeof ackTimeoutMs !== 'number' || !(ackTimeoutMs > 0) || !Number.isFinite(ackTimeoutMs)) throw new RangeError(`config.ackTimeoutMs must be a finite number > 0, got ${String(ackTimeoutMs)}`);
  const inFlightLimit = config.inFlightLimit ?? 256;
  if (!Number.isInteger(inFlightLimit) || inFlightLimit < 1) throw new RangeError(`config.inFlightLimit must be an integer >= 1, got ${String(inFlightLimit)}`);
  const maxFrameBytes = checkMaxFrameBytes(config.maxFrameBytes, 'config.maxFrameBytes');
  const id = config.id ?? 'edge';
  if (typeof id !== 'string' || id === '') throw new TypeError(`config.id must be a non-empty string, got ${JSON.stringify(id)}`);
  const supervisor = config.supervisor;
  if (supervisor !== undefined && (supervisor === null || typeof (supervisor as Supervisor).startChild !== 'function')) throw new TypeError('config.supervisor must be a Supervisor (createSupervisor())');
  return { socketPath, reconnect, ackTimeoutMs, inFlightLimit, maxFrameBytes, logger: config.logger ?? silentLogger, policy: config.policy ?? {}, id, supervisor };
}

export class EdgeClient {
  readonly socketPath: string;
  /** Identifies this client to the agent across reconnects (its first line on each connection). */
  readonly sessionId = randomUUID();
  readonly supervisor: Supervisor;
  readonly #cfg: ReturnType<typeof resolveConfig>;
  readonly #pending = new Map<number, Entry>();
  /** Senders waiting for a slot (FIFO; shift() on a long array is O(n), so a head index). */
  readonly #slots = new WakeQueue();
  #decoder: LineDecoder;
  #batch: Entry[] = [];
  readonly #subs: Array<{ unsubscribe(): void }> = [];
  readonly #child: string;
  readonly #ownsSupervisor: boolean;
  #nextId = 0;
  #gen = 0;
  #closed: Error | undefined;
  #closing: Promise<void> | undefined;

  /** Connect to the agent. Rejects with the typed socket error when the first connect fails. */
  static async open(config: EdgeConfig = {}): Promise<EdgeClient> {
    const client = new EdgeClient(resolveConfig(config));
    await client.#opened;
    return client;
  }

  #opened: Promise<void>;

  private constructor(cfg: ReturnType<typeof resolveConfig>) {
    this.#cfg = cfg;
    this.socketPath = cfg.socketPath;
    this.#decoder = new LineDecoder(cfg.maxFrameBytes);
    this.#child = cfg.id;
    this.#ownsSupervisor = !cfg.supervisor;
    this.supervisor = cfg.supervisor ?? createSupervisor({ id: 'edge-client', logger: cfg.logger });
    const unix = unixSocketTransport({ path: cfg.socketPath });
    const hello = `${JSON.stringify({ session: this.sessionId })}\n`;
    // Every connection starts with the session line, before any queued event.
    const transport: Transport = {
      kind: 'unix',
      connect: async (opts): Promise<Link> => {
        const link = await unix.connect(opts);
        try {
          await link.send(hello);
        } catch (e) {
          await link.close();
          throw e;
        }
        return link;
      },
    };
    let first: { resolve(): void; reject(e: unknown): void };
    this.#opened = new Promise((resolve, reject) => (first = { resolve, reject }));
    this.#subs.push(
      this.supervisor.events$.subscribe((e) => e.connectionId === this.#child && this.#onEvent(e, first)),
      this.supervisor.data$.subscribe((d) => d.connectionId === this.#child && this.#onData(d.data)),
    );
    cfg.logger.info(`edge client: connecting to ${cfg.socketPath}`, { socketPath: cfg.socketPath });
    this.supervisor.startChild({
      id: this.#child,
      transport,
      restart: 'temporary',
      policy: { maxRetries: cfg.reconnect ? Infinity : 0, ...cfg.policy, reconnect: cfg.reconnect },
    });
    this.#opened.catch(() => void this.#release());
  }

  /** Events sent and not yet acknowledged. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Send one event; resolves when the agent acked it. Rejects with a TypeError
   * before anything is sent when an argument is bad, and with a
   * `SocketCommunicationError` (nack, no ack in time), `SocketBrokenPipeError`
   * or `SocketNotConnectedError` otherwise.
   */
  async sendEvent(eventType: string, severity: Severity | `${Severity}`, payload: Record<string, unknown>): Promise<void> {
    checkEventType(eventType);
    checkSeverity(severity);
    checkDetails(payload);
    this.#assertOpen();
    while (this.#pending.size >= this.#cfg.inFlightLimit) {
      await new Promise<void>((r) => this.#slots.push(r));
      try {
        this.#assertOpen();
      } catch (e) {
        this.#slots.wakeOne(); // pass the wake-up on: the next waiter must learn it too
        throw e;
      }
    }
    const id = ++this.#nextId;
    const frame = { id, event_type: eventType, severity, details: payload, timestamp: new Date().toISOString() };
    const line = `${JSON.stringify(frame)}\n`;
    if (line.length * 3 > this.#cfg.maxFrameBytes && Buffer.byteLength(line) > this.#cfg.maxFrameBytes) {
      throw new RangeError(`payload makes a frame of ${Buffer.byteLength(line)} bytes, over maxFrameBytes (${this.#cfg.maxFrameBytes})`);
    }
    if (this.#cfg.logger !== silentLogger) this.#cfg.logger.debug(`edge client: prepared event ${id} (${eventType}, ${severity}, ${line.length} bytes)`, { id });
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { id, line, resolve, reject };
      this.#pending.set(id, entry);
      this.#write(entry);
    });
  }

  /** Wait (at most `ackTimeoutMs`) for events in flight, then close the connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed ??= new SocketNotConnectedError(this.socketPath, { message: `edge client for ${this.socketPath} is closed` });
      this.#slots.wakeAll();
      const inFlight = [...this.#pending.values()].map((e) => new Promise<void>((r) => {
        const { resolve, reject } = e;
        e.resolve = () => (resolve(), r());
        e.reject = (x) => (reject(x), r());
      }));
      if (inFlight.length) {
        let t: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([Promise.all(inFlight), new Promise<void>((r) => (t = setTimeout(r, this.#cfg.ackTimeoutMs)))]);
        clearTimeout(t);
      }
      this.#failAll(this.#closed);
      await this.#release();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Stop our connection: the whole supervisor when it is ours, only our child otherwise. */
  async #release() {
    for (const s of this.#subs.splice(0)) s.unsubscribe();
    if (this.#ownsSupervisor) await this.supervisor.shutdown();
    else if (this.supervisor.child(this.#child)) await this.supervisor.stopChild(this.#child).catch(() => {});
  }

  #assertOpen() {
    if (this.#closed) throw this.#closed;
    if (!this.#cfg.reconnect && !this.#linkUp()) throw new SocketNotConnectedError(this.socketPath);
  }

  /** Whether the connection actor is connected right now (events$ may lag a turn behind). */
  #linkUp(): boolean {
    const snapshot = this.supervisor.child(this.#child)?.getSnapshot();
    return snapshot?.status === 'active' && topState(snapshot) === 'connected';
  }

  /**
   * Queue `entry` for writing. Writes made in the same turn (a burst of
   * sendEvent calls, or the senders woken by a batch of acks) go out as one
   * socket write, after the turn's microtasks: one syscall for many frames.
   */
  #write(entry: Entry) {
    entry.resend = false;
    this.#batch.push(entry);
    if (this.#batch.length === 1) setImmediate(() => this.#flush());
    else if (this.#batch.length >= WRITE_SLICE) this.#flush(); // keep the agent busy while we prepare the rest
  }

  #flush() {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const live = batch.filter((e) => this.#pending.has(e.id));
    if (live.length === 0) return;
    const payload = live.length === 1 ? live[0]!.line : live.map((e) => e.line).join('');
    this.supervisor.send(this.#child, payload).then(
      () => {
        const gen = this.#gen;
        for (const e of live) e.writtenGen = gen;
        // One timer per write: each event must be acked within ackTimeoutMs of it.
        const write: Write = {
          left: 0,
          timer: setTimeout(() => {
            for (const e of live) {
              if (e.write === write) this.#settle(e, new SocketCommunicationError(this.socketPath, `no ack for event ${e.id} within ${this.#cfg.ackTimeoutMs} ms`, { eventId: e.id }));
            }
          }, this.#cfg.ackTimeoutMs),
        };
        for (const e of live) {
          if (!this.#pending.has(e.id)) continue; // acked before the write callback
          if (e.write && --e.write.left === 0) clearTimeout(e.write.timer); // written again (a resend)
          e.write = write;
          write.left++;
        }
        if (write.left === 0) clearTimeout(write.timer);
      },
      (error: unknown) => {
        const reconnecting = this.#cfg.reconnect && !this.#closed && this.supervisor.child(this.#child);
        // Without reconnect a failed write ends the connection: later sends are told at once.
        if (!reconnecting) this.#closed ??= new SocketNotConnectedError(this.socketPath, { message: `the connection to ${this.socketPath} is broken`, cause: error });
        for (const e of live) {
          if (!this.#pending.has(e.id)) continue;
          if (reconnecting) e.resend = true; // the link went down under it: sent again after the reconnect
          else this.#settle(e, this.supervisor.child(this.#child) ? this.#brokenError(error) : new SocketNotConnectedError(this.socketPath, { cause: error }));
        }
      },
    );
  }

  #brokenError(cause: unknown): Error {
    if (cause instanceof UnixSocketError) return cause;
    const inner = (cause as { cause?: unknown } | undefined)?.cause;
    if (inner instanceof SocketBrokenPipeError) return inner;
    return new SocketBrokenPipeError(this.socketPath, { cause });
  }

  #settle(entry: Entry, error?: Error) {
    if (!this.#pending.delete(entry.id)) return;
    const write = entry.write;
    entry.write = undefined;
    // A write's timer stays for the other events of that write; the last one clears it.
    if (write && --write.left === 0) clearTimeout(write.timer);
    if (error) {
      this.#cfg.logger.error(`edge client: event ${entry.id} failed: ${error.message}`, { id: entry.id, code: (error as { code?: string }).code });
      entry.reject(error);
    } else {
      if (this.#cfg.logger !== silentLogger) this.#cfg.logger.debug(`edge client: event ${entry.id} acked`, { id: entry.id });
      entry.resolve();
    }
    this.#slots.wakeOne();
  }

  #failAll(error: Error) {
    for (const entry of [...this.#pending.values()]) this.#settle(entry, error);
    if (this.#closed) this.#slots.wakeAll();
  }

  #onData(chunk: string | Uint8Array) {
    let lines: string[];
    try {
      lines = this.#decoder.push(chunk);
    } catch (e) {
      this.#failAll(new SocketCommunicationError(this.socketPath, `agent sent an oversized frame: ${(e as Error).message}`, { cause: e }));
      return;
    }
    for (const line of lines) {
      let msg: { ack?: unknown; nack?: unknown; error?: unknown };
      try {
        msg = JSON.parse(line);
      } catch (e) {
        // The stream is corrupt: no later ack can be trusted to match.
        this.#failAll(new SocketCommunicationError(this.socketPath, `agent sent a frame that does not parse: ${JSON.stringify(line.slice(0, 80))}`, { cause: e }));
        continue;
      }
      if (msg && typeof msg.ack === 'number') {
        const entry = this.#pending.get(msg.ack);
        if (entry) this.#settle(entry);
      } else if (msg && typeof msg.nack === 'number') {
        const entry = this.#pending.get(msg.nack);
        if (entry) this.#settle(entry, new SocketCommunicationError(this.socketPath, `agent refused event ${msg.nack}: ${String(msg.error ?? 'no reason given')}`, { eventId: msg.nack }));
      } else {
        this.#failAll(new SocketCommunicationError(this.socketPath, `agent sent an unexpected frame: ${JSON.stringify(line.slice(0, 80))}`));
      }
    }
  }

  #onEvent(e: ConnectionLogEvent, first: { resolve(): void; reject(e: unknown): void }) {
    const { logger } = this.#cfg;
    if (e.type === 'EVENT_RECONNECT_FAILED') {
      const error = this.supervisor.child(this.#child)?.getSnapshot().context.lastError;
      logger.error(`edge client: connect to ${this.socketPath} failed: ${(error as Error | undefined)?.message}`, { attempt: e.data.attempt });
      if (this.#gen === 0) first.reject(error);
      return;
    }
    if (e.type === 'EVENT_RECONNECT_START') {
      logger.info(`edge client: reconnecting to ${this.socketPath} (attempt ${String(e.data.attempt)})`);
      return;
    }
    if (e.type !== 'EVENT_STATE_CHANGE') return;
    const to = e.data.to;
    if (to === 'connected') {
      this.#gen++;
      logger.info(`edge client: connected to ${this.socketPath}`, { session: this.sessionId });
      if (this.#gen === 1) return first.resolve();
      this.#decoder = new LineDecoder(this.#cfg.maxFrameBytes);
      // Events written on the lost link and not acked, and writes that failed: again, in id order.
      const again = [...this.#pending.values()].filter((x) => x.resend || (x.writtenGen !== undefined && x.writtenGen < this.#gen)).sort((a, b) => a.id - b.id);
      if (again.length) logger.info(`edge client: re-sending ${again.length} unacknowledged event(s)`);
      for (const entry of again) this.#write(entry);
      return;
    }
    if (e.data.from === 'connected') {
      logger.error(`edge client: lost the connection to ${this.socketPath}`, { error: e.data.error });
      if (!this.#cfg.reconnect) {
        this.#closed ??= new SocketNotConnectedError(this.socketPath, { message: `the agent at ${this.socketPath} closed the connection` });
        this.#failAll(new SocketBrokenPipeError(this.socketPath, { message: `broken pipe on ${this.socketPath}: the agent closed the connection with events unacknowledged` }));
      }
    }
    if (to === 'failed') {
      this.#closed ??= new SocketNotConnectedError(this.socketPath, { message: `gave up reconnecting to ${this.socketPath}` });
      this.#failAll(this.#closed);
    }
  }
}

/** Open a client, run `fn` with it, and close it whatever happens (the seed's context manager). */
export async function withEdgeClient<T>(config: EdgeConfig, fn: (conn: EdgeClient) => Promise<T> | T): Promise<T> {
  if (typeof fn !== 'function') throw new TypeError('fn must be a function (conn) => ...');
  const conn = await EdgeClient.open(config);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
