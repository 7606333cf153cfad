/**
 * Commands over one supervised Redis connection, each resolving with its
 * reply: `AckedDelivery` does the pipelining, the bound, and the resend after
 * a reconnect (unanswered commands go again, in order, before newer ones);
 * this file only frames commands and reads replies (a reply is the ack).
 *
 * Why not the connection's outbox: the outbox holds what was sent while the
 * link was down, but a command in flight when the link drops is rejected,
 * and sending it again behind what queued meanwhile would give its log line
 * a later seq than lines sent after it. `AckedDelivery` keeps them in id
 * order, and the log script drops a line it already logged (`p:<process>`).
 */
import type { Subscription } from 'rxjs';
import { AckedDelivery, type Clock, type ConnectionHandle, type Payload } from '../../../../actors/index.js';
import { RedisAdapterClosedError, RedisBacklogFullError, RedisCommandError, RedisTimeoutError } from '../../redis-errors.js';
import { encodeRedisCommand } from '../../redis.transport.js';

export type CommandArgs = ReadonlyArray<string | number>;

export interface RedisCommandsOptions {
  clock: Clock;
  /** No reply within this many ms of the send: the command's promise rejects (`RedisTimeoutError`). */
  timeoutMs: number;
  /** Commands sent and not answered at most (pipelining depth). */
  inFlightLimit: number;
  /** Commands waiting for a slot at most (beyond: `RedisBacklogFullError`). */
  maxWaiting: number;
  /** Pub/sub messages (subscriber connections): `channel`, `message`. */
  onMessage?: (channel: string, message: string) => void;
}

export class RedisCommands {
  readonly #delivery: AckedDelivery;
  readonly #replies = new Map<number, unknown>();
  readonly #names = new Map<number, string>();
  readonly #sub: Subscription;
  readonly #onMessage: ((channel: string, message: string) => void) | undefined;

  constructor(readonly connection: ConnectionHandle, options: RedisCommandsOptions) {
    const id = connection.id;
    this.#onMessage = options.onMessage;
    this.#delivery = new AckedDelivery({
      connection,
      clock: options.clock,
      ackTimeoutMs: options.timeoutMs,
      inFlightLimit: options.inFlightLimit,
      maxWaiting: options.maxWaiting,
      errors: {
        ackTimeout: () => new RedisTimeoutError(id, options.timeoutMs),
        sendFailed: () => new RedisAdapterClosedError(id, 'lost'),
        linkLost: () => new RedisAdapterClosedError(id, 'lost'),
        closed: (reason) => new RedisAdapterClosedError(id, reason),
        full: (n) => new RedisBacklogFullError(id, n + options.inFlightLimit),
      },
    });
    this.#sub = connection.data$.subscribe((chunk) => this.#read(chunk));
  }

  /** Commands sent (or waiting for the link) and not answered yet. */
  get inFlight(): number {
    return this.#delivery.inFlight;
  }

  /**
   * Run one command; resolves with Redis's reply, rejects with a
   * `RedisCommandError` (an error reply), `RedisTimeoutError`,
   * `RedisBacklogFullError` or `RedisAdapterClosedError`. `args` may be a
   * function of the command's id (the log script uses it as the line's id).
   * `name` names the command in errors (a script's name).
   */
  call(args: CommandArgs | ((id: number) => CommandArgs), name?: string): Promise<unknown> {
    let sent = 0;
    return this.#delivery
      .deliver((id: number) => {
        sent = id;
        if (name !== undefined) this.#names.set(id, name);
        return encodeRedisCommand(id, typeof args === 'function' ? args(id) : args);
      })
      .then(
        () => {
          const reply = this.#replies.get(sent);
          this.#replies.delete(sent);
          return reply;
        },
        (error: unknown) => {
          this.#names.delete(sent);
          throw error;
        },
      );
  }

  /** Wait up to `drainMs` for what is in flight, then reject the rest; later calls reject. */
  async close(drainMs: number): Promise<void> {
    await this.#delivery.close(drainMs);
    this.#sub.unsubscribe();
  }

  #read(chunk: Payload) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.charCodeAt(0) !== 0x5b /* [ */) {
      // A pub/sub message: `<length of channel>:<channel><message>`.
      const colon = text.indexOf(':');
      const length = Number(text.slice(0, colon));
      if (colon > 0 && Number.isInteger(length)) this.#onMessage?.(text.slice(colon + 1, colon + 1 + length), text.slice(colon + 1 + length));
      return;
    }
    let reply: [number | null, 0 | 1, unknown];
    try {
      reply = JSON.parse(text) as [number | null, 0 | 1, unknown];
    } catch {
      return;
    }
    const [id, failed, value] = reply;
    if (id === null) return;
    const name = this.#names.get(id);
    this.#names.delete(id);
    if (failed) {
      // Our scripts are loaded when a link opens; someone flushed them since (SCRIPT FLUSH): a new link loads them again.
      if (String(value).startsWith('NOSCRIPT')) this.connection.command('RECONNECT');
      this.#delivery.nack(id, new RedisCommandError(name ?? 'a command', String(value)));
      return;
    }
    this.#replies.set(id, value);
    if (!this.#delivery.ack(id)) this.#replies.delete(id); // nobody waits for it any more (timed out)
  }
}
