/**
 * `EdgeClient`: sends security events to a local agent over a UNIX socket and
 * waits for each one's acknowledgement (the seed's ConnectionManager, without
 * its limits: events are pipelined, acks are matched by id, and the link
 * reconnects).
 *
 * A thin facade: the connection is a supervised child followed through its
 * handle, acked delivery (pipelining, ack timeouts, re-sending after a
 * reconnect) is `AckedDelivery`; this file adds the edge protocol (frames,
 * the session line, acks and nacks) and its typed errors.
 *
 * @example
 * ```ts
 * await using conn = await EdgeClient.open({ path: '/run/statewire/edge.sock' });
 * await conn.sendEvent('LoginFailed', Severity.HIGH, { user: 'root', source: '10.0.0.7' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import {
  AckedDelivery,
  createSupervisor,
  nowOf,
  silentLogger,
  type Clock,
  type ConnectionHandle,
  type Link,
  type Logger,
  type ReconnectPolicy,
  type Supervisor,
  type Transport,
} from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { SocketBrokenPipeError, SocketCommunicationError, SocketNotConnectedError, UnixSocketError } from '../errors.js';
import { LineDecoder, checkMaxFrameBytes } from '../ndjson.js';
import { checkSocketPath, unixSocketTransport } from '../unix.transport.js';
import { FEATURE_ACK_RANGES, checkDetails, checkEventType, checkSeverity, parseAgentReply, type AgentReply, type Severity } from './edge-protocol.js';

export const DEFAULT_EDGE_SOCKET = '/run/statewire/edge.sock';

export interface EdgeConfig {
  /** The agent's socket. Default: env `STATEWIRE_EDGE_SOCKET`, else `/run/statewire/edge.sock`. */
  path?: string;
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
  /** Time for ack timeouts, timestamps and (with a private supervisor) backoff. Default: the supervisor's clock, else real time. */
  clock?: Clock;
}

function resolveConfig(config: EdgeConfig) {
  check.object(config, 'config');
  const path = config.path ?? process.env.STATEWIRE_EDGE_SOCKET ?? DEFAULT_EDGE_SOCKET;
  checkSocketPath(path, 'config.path');
  const reconnect = check.boolean(config.reconnect ?? true, 'config.reconnect');
  // Checked here as well as in AckedDelivery, so a bad value is named as the caller wrote it (`config.*`).
  const ackTimeoutMs = check.finiteNumber(config.ackTimeoutMs ?? 5000, 'config.ackTimeoutMs', { min: 0, exclusiveMin: true });
  const inFlightLimit = check.integer(config.inFlightLimit ?? 256, 'config.inFlightLimit', { min: 1 });
  const maxFrameBytes = checkMaxFrameBytes(config.maxFrameBytes, 'config.maxFrameBytes');
  const id = check.nonEmptyString(config.id ?? 'edge', 'config.id');
  const supervisor = config.supervisor;
  if (supervisor !== undefined) check.shape(supervisor, 'config.supervisor', { connection: 'function' }, 'a Supervisor (createSupervisor())');
  if (config.clock !== undefined) check.hasMethods(config.clock, 'config.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  return { path, reconnect, ackTimeoutMs, inFlightLimit, maxFrameBytes, logger: config.logger ?? silentLogger, policy: config.policy ?? {}, id, supervisor, clock: config.clock };
}

/** An event waiting for its slot. */
interface PendingEvent {
  eventType: string;
  severity: string;
  payload: Record<string, unknown>;
  timestamp: string;
}

export class EdgeClient {
  /** The agent's socket path. */
  readonly path: string;
  /** Identifies this client to the agent across reconnects (its first line on each connection). */
  readonly sessionId = randomUUID();
  readonly supervisor: Supervisor;
  /** The supervised connection to the agent. */
  readonly connection: ConnectionHandle;
  readonly #cfg: ReturnType<typeof resolveConfig>;
  readonly #delivery: AckedDelivery;
  readonly #clock: Clock;
  readonly #ownsSupervisor: boolean;
  readonly #subs: Array<{ unsubscribe(): void }> = [];
  readonly #opened: Promise<void>;
  #decoder: LineDecoder;
  /** Replies read on the current link (the first may refuse the features line). */
  #replies = 0;
  /** The last timestamp made, and the millisecond it is for: events of one millisecond share it. */
  #stampMs = Number.NaN;
  #stamp = '';
  #closing: Promise<void> | undefined;

  /** Connect to the agent. Rejects with the typed socket error when the first connect fails. */
  static async open(config: EdgeConfig = {}): Promise<EdgeClient> {
    const client = new EdgeClient(resolveConfig(config));
    await client.#opened;
    return client;
  }

  private constructor(cfg: ReturnType<typeof resolveConfig>) {
    this.#cfg = cfg;
    this.path = cfg.path;
    this.#decoder = new LineDecoder(cfg.maxFrameBytes);
    this.#ownsSupervisor = !cfg.supervisor;
    this.supervisor = cfg.supervisor ?? createSupervisor({ id: 'edge-client', logger: cfg.logger, ...(cfg.clock ? { clock: cfg.clock } : {}) });
    this.#clock = cfg.clock ?? this.supervisor.clock;
    const { path, logger } = cfg;
    const unix = unixSocketTransport({ path });
    // Every connection starts with the session line and the features line, before any queued event.
    const hello = `${JSON.stringify({ session: this.sessionId })}\n${JSON.stringify({ features: [FEATURE_ACK_RANGES] })}\n`;
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
    logger.info(`edge client: connecting to ${path}`, { path });
    this.supervisor.startChild({
      id: cfg.id,
      transport,
      restart: 'temporary',
      policy: { maxRetries: cfg.reconnect ? Infinity : 0, ...cfg.policy, reconnect: cfg.reconnect },
    });
    const connection = (this.connection = this.supervisor.connection(cfg.id));
    this.#delivery = new AckedDelivery({
      connection,
      clock: this.#clock,
      ackTimeoutMs: cfg.ackTimeoutMs,
      inFlightLimit: cfg.inFlightLimit,
      resend: cfg.reconnect,
      errors: {
        ackTimeout: (id, ms) => new SocketCommunicationError(path, `no ack for event ${id} within ${ms} ms`, { eventId: id }),
        sendFailed: (_id, cause) => brokenError(path, cause),
        linkLost: () => new SocketBrokenPipeError(path, { message: `broken pipe on ${path}: the agent closed the connection with events unacknowledged` }),
        closed: (reason) =>
          new SocketNotConnectedError(path, {
            message: {
              closed: `edge client for ${path} is closed`,
              failed: `gave up reconnecting to ${path}`,
              lost: `the agent at ${path} closed the connection`,
              gone: `edge client for ${path} is closed`,
            }[reason],
          }),
      },
    });
    this.#opened = new Promise<void>((resolve, reject) => {
      let connects = 0;
      this.#subs.push(
        connection.data$.subscribe((chunk) => this.#onData(chunk)),
        connection.events$.subscribe((e) => {
          if (e.type === 'EVENT_RECONNECT_FAILED') {
            const error = connection.lastError as Error | undefined;
            logger.error(`edge client: connect to ${path} failed: ${error?.message}`, { attempt: e.data.attempt });
            if (connects === 0) reject(error);
          } else if (e.type === 'EVENT_RECONNECT_START') {
            logger.info(`edge client: reconnecting to ${path} (attempt ${String(e.data.attempt)})`);
          } else if (e.type === 'EVENT_STATE_CHANGE') {
            if (e.data.to === 'connected') {
              logger.info(`edge client: connected to ${path}`, { session: this.sessionId });
              // A new link is a new byte stream: no partial line carries over.
              if (connects++ > 0) this.#decoder = new LineDecoder(cfg.maxFrameBytes);
              this.#replies = 0;
              resolve();
            } else if (e.data.from === 'connected') {
              logger.error(`edge client: lost the connection to ${path}`, { error: e.data.error });
            }
          }
        }),
      );
    });
    this.#opened.catch(() => void this.#release());
  }

  /** Events sent and not yet acknowledged. */
  get inFlight(): number {
    return this.#delivery.inFlight;
  }

  /**
   * Send one event; resolves when the agent acked it. Rejects with a TypeError
   * before anything is sent when an argument is bad, and with a
   * `SocketCommunicationError` (nack, no ack in time), `SocketBrokenPipeError`
   * or `SocketNotConnectedError` otherwise.
   */
  sendEvent(eventType: string, severity: Severity | `${Severity}`, payload: Record<string, unknown>): Promise<void> {
    try {
      checkEventType(eventType);
      checkSeverity(severity);
      checkDetails(payload);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    // The event waits for its slot as this small record (no closure per event).
    return this.#delivery.deliver(this.#frame, { eventType, severity, payload, timestamp: this.#timestamp() });
  }

  /**
   * The frame of an event, once it has an id: JSON.stringify({ id, event_type, severity,
   * details, timestamp }), byte for byte (the type is PascalCase, the severity a fixed
   * word and the timestamp ISO 8601: none needs escaping).
   */
  readonly #frame = (id: number, e: PendingEvent): string => {
    const { maxFrameBytes, logger } = this.#cfg;
    const line = `{"id":${id},"event_type":"${e.eventType}","severity":"${e.severity}","details":${JSON.stringify(e.payload)},"timestamp":"${e.timestamp}"}\n`;
    if (line.length * 3 > maxFrameBytes && Buffer.byteLength(line) > maxFrameBytes) {
      throw new RangeError(`payload makes a frame of ${Buffer.byteLength(line)} bytes, over maxFrameBytes (${maxFrameBytes})`);
    }
    if (logger !== silentLogger) logger.debug(`edge client: prepared event ${id} (${e.eventType}, ${e.severity}, ${line.length} bytes)`, { id });
    return line;
  };

  /** Wait (at most `ackTimeoutMs`) for events in flight, then close the connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#delivery.close();
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
    else await this.connection.stop().catch(() => {});
  }

  /** The clock's time as ISO 8601, made once per millisecond. */
  #timestamp(): string {
    const ms = nowOf(this.#clock);
    if (ms !== this.#stampMs) {
      this.#stamp = new Date(ms).toISOString();
      this.#stampMs = ms;
    }
    return this.#stamp;
  }

  #onData(chunk: string | Uint8Array) {
    let lines: string[];
    try {
      lines = this.#decoder.push(chunk);
    } catch (e) {
      this.#fail(`agent sent an oversized frame: ${(e as Error).message}`, e);
      return;
    }
    const { logger } = this.#cfg;
    for (const line of lines) {
      let reply: AgentReply;
      try {
        reply = parseAgentReply(line);
      } catch (e) {
        // The stream is corrupt: no later ack can be trusted to match.
        this.#fail(`agent sent ${e instanceof SyntaxError ? 'a frame that does not parse' : 'an unexpected frame'}: ${JSON.stringify(line.slice(0, 80))}`, e instanceof SyntaxError ? e : undefined);
        continue;
      }
      const first = this.#replies++ === 0;
      if ('ack' in reply) {
        if (this.#delivery.ack(reply.ack) && logger !== silentLogger) logger.debug(`edge client: event ${reply.ack} acked`, { id: reply.ack });
      } else if ('acks' in reply) {
        const [from, to] = reply.acks;
        if (this.#delivery.ackRange(from, to) && logger !== silentLogger) logger.debug(`edge client: events ${from} to ${to} acked`, { from, to });
      } else if (reply.nack !== null) {
        const error = new SocketCommunicationError(this.path, `agent refused event ${reply.nack}: ${reply.error}`, { eventId: reply.nack });
        if (this.#delivery.nack(reply.nack, error)) logger.error(`edge client: event ${reply.nack} failed: ${error.message}`, { id: reply.nack, code: error.code });
      } else if (first) {
        // An agent that predates the features line refuses it, and acks one by one.
        if (logger !== silentLogger) logger.debug(`edge client: the agent at ${this.path} acks events one by one (${reply.error})`);
      } else {
        this.#fail(`agent refused a frame without naming it: ${JSON.stringify(reply.error.slice(0, 80))}`);
      }
    }
  }

  #fail(message: string, cause?: unknown) {
    const error = new SocketCommunicationError(this.path, message, cause === undefined ? {} : { cause });
    this.#cfg.logger.error(`edge client: ${message}`, { code: error.code });
    this.#delivery.failAll(error);
  }
}

function brokenError(path: string, cause: unknown): Error {
  if (cause instanceof UnixSocketError) return cause;
  const inner = (cause as { cause?: unknown } | undefined)?.cause;
  if (inner instanceof SocketBrokenPipeError) return inner;
  return new SocketBrokenPipeError(path, { cause });
}

/** Open a client, run `fn` with it, and close it whatever happens (the seed's context manager). */
export async function withEdgeClient<T>(config: EdgeConfig, fn: (conn: EdgeClient) => Promise<T> | T): Promise<T> {
  check.func(fn, 'fn', '(conn) => ...');
  const conn = await EdgeClient.open(config);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
