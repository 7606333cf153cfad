/**
 * `redisTransport(options)`: a Redis connection as a statewire `Transport`
 * (kind `'redis'`), so a supervisor owns its reconnects, its backoff and its
 * states, and the visualizer shows it like any other connection (issue 16).
 *
 * Each `connect()` makes one ioredis client with ioredis's own recovery
 * turned off (`retryStrategy: () => null`, no offline queue, no
 * auto-resubscribe, `maxRetriesPerRequest: 0`): one call, one attempt, as the
 * contract says. Before the link counts as open it loads `scripts` (so
 * `EVALSHA` works on a Redis that restarted empty) and, in subscriber mode,
 * subscribes to `channels()` (so nothing published after the link opened is
 * missed).
 *
 * The link's payloads are text:
 * - **send**: one or more commands, each framed as `<id> <argc>\n` then its
 *   `argc` arguments, each `<length>:<text>` (length in UTF-16 code units,
 *   JS `string.length`; no escaping, so a log line goes through as it is).
 *   `encodeRedisCommand(id, args)` makes one. `id` is an integer of the
 *   caller's, echoed in the reply. `send` resolves once ioredis took every
 *   command of the payload (pipelined on this connection, run by Redis in
 *   order); the replies come on `incoming$`. A frame that does not parse is
 *   answered with an error reply (id `null` when even that is unreadable;
 *   the rest of that payload is dropped), not a lost link.
 * - **incoming$**: each reply, `[id,0,<reply>]`, or `[id,1,"<Redis error>"]`
 *   for an error reply (JSON, in command order); in subscriber mode also each
 *   pub/sub message as `<length of channel>:<channel><message>`.
 * Commands in flight when the link is lost get no reply at all: the caller
 * learns it from the lost link (`AckedDelivery` sends them again).
 *
 * ioredis is loaded on the first `connect()` with `url` (an optional peer: a
 * user of `statewire/websocket` who does not use Redis never loads it).
 *
 * @example
 * ```ts
 * const link = await redisTransport({ url: 'redis://127.0.0.1:6379' }).connect({ signal: new AbortController().signal });
 * link.incoming$.subscribe((reply) => console.log(reply)); // [1,0,"PONG"]
 * await link.send(encodeRedisCommand(1, ['PING'])); // '1 1\n4:PING'
 * ```
 */
import { LinkClosedError } from '../../machines/ports/errors.js';
import * as check from '../../machines/ports/check.js';
import type { CloseInfo, ConnectOptions, Link, Payload, Transport } from '../../machines/ports/transport.js';
import { LinkCore } from '../link-core.js';
import { RedisConnectionError } from './redis-errors.js';

/** The part of an ioredis client the transport uses (`import { Redis } from 'ioredis'`). */
export interface RedisClientLike {
  /** A new client with this one's options (host, port, password, TLS, db), `override` on top. */
  duplicate(override?: Record<string, unknown>): RedisClientLike;
  connect(): Promise<void>;
  disconnect(): void;
  quit(): Promise<unknown>;
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  readonly status: string;
}

export interface RedisTransportOptions {
  /**
   * The server: `redis://[user:password@]host[:port][/db]` or `rediss://`
   * (TLS). Exactly one of `url` and `redis`.
   * @example redisTransport({ url: 'redis://127.0.0.1:6379' })
   */
  url?: string;
  /**
   * An ioredis client whose options each link copies (`redis.duplicate()`).
   * Yours is never used, connected or closed by the transport.
   * @example redisTransport({ redis: new Redis({ host, password, tls: {} , lazyConnect: true }) })
   */
  redis?: RedisClientLike;
  /** `'commands'` (default) or `'subscriber'` (pub/sub only: SUBSCRIBE, UNSUBSCRIBE, PING). */
  mode?: 'commands' | 'subscriber';
  /** Lua scripts to load (`SCRIPT LOAD`) on every link before it counts as open. Default none. */
  scripts?: readonly string[];
  /** Subscriber mode: the channels every new link subscribes to before it counts as open (asked per attempt). */
  channels?: () => Iterable<string>;
  /** How long `close()` waits for Redis to answer QUIT before dropping the socket, ms. Default 1000. */
  closeTimeoutMs?: number;
  /** ioredis `enableAutoPipelining` for command links: commands of one turn in one socket write. Default true. */
  autoPipelining?: boolean;
}

export interface RedisTransport extends Transport {
  readonly kind: 'redis';
  /** The server, as given (a `url` without its password), for messages. */
  readonly target: string;
}

/** The ioredis options that hand recovery to the connection machine. */
const MACHINE_OWNS_RECOVERY = {
  lazyConnect: true,
  retryStrategy: () => null,
  reconnectOnError: () => false,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResubscribe: false,
  autoResendUnfulfilledCommands: false,
  // After `disconnect()` ioredis waits this long for the socket to close before destroying it (default 2000):
  // a refused or abandoned attempt's socket never closes by itself, and its timer would outlive the attempt.
  disconnectTimeout: 100,
};

/** `value` if it is a redis:// or rediss:// URL, else a TypeError naming `name`. */
export function checkRedisUrl(value: unknown, name: string): string {
  let ok = typeof value === 'string' && /^rediss?:\/\//i.test(value);
  if (ok) {
    try {
      ok = new URL(value as string).hostname !== '';
    } catch {
      ok = false;
    }
  }
  // Only the scheme of a string is shown: a URL may hold a password.
  const shown = typeof value === 'string' ? JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:(\/\/)?).+$/is, '$1…')) : check.describe(value);
  if (!ok) throw new TypeError(`${name} must be a redis:// or rediss:// URL, got ${shown}`);
  return value as string;
}

/** `{ url }` or `{ redis }`, exactly one, checked: TypeErrors naming `options.url` / `options.redis`. */
export function checkRedisTarget(options: { url?: unknown; redis?: unknown }, prefix = 'options'): { url?: string; redis?: RedisClientLike } {
  const hasUrl = options.url !== undefined;
  const hasRedis = options.redis !== undefined;
  if (hasUrl === hasRedis) throw new TypeError(`${prefix} needs exactly one of ${prefix}.url (a redis:// URL) and ${prefix}.redis (an ioredis client), got ${hasUrl ? 'both' : 'neither'}`);
  if (hasUrl) return { url: checkRedisUrl(options.url, `${prefix}.url`) };
  return { redis: check.shape(options.redis as RedisClientLike, `${prefix}.redis`, { duplicate: 'function' }, 'an ioredis client (new Redis(...))') };
}

/**
 * One command as a Redis link takes it: `<id> <argc>\n`, then each argument
 * as `<length>:<text>`. Frames may be concatenated into one send.
 * @example encodeRedisCommand(7, ['SET', 'k', 1]) // '7 3\n3:SET1:k1:1'
 */
export function encodeRedisCommand(id: number, args: ReadonlyArray<string | number>): string {
  let frame = `${id} ${args.length}\n`;
  for (const a of args) {
    const text = typeof a === 'string' ? a : String(a);
    frame += `${text.length}:${text}`;
  }
  return frame;
}

/** The URL without its password, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://?';
  }
}

type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClientLike;
let loaded: Promise<RedisConstructor> | undefined;
/** ioredis, loaded once, on first use. */
function ioredis(): Promise<RedisConstructor> {
  loaded ??= import('ioredis').then(
    (m) => ((m as unknown as { Redis?: RedisConstructor }).Redis ?? (m as unknown as { default: RedisConstructor }).default),
    (e: unknown) => {
      loaded = undefined;
      throw new RedisConnectionError('cannot load ioredis (npm install ioredis: an optional peer dependency of statewire)', { cause: e });
    },
  );
  return loaded;
}

export function redisTransport(options: RedisTransportOptions): RedisTransport {
  check.object(options, 'options', '{ url | redis, mode?, scripts?, channels? }');
  const target = checkRedisTarget(options);
  const mode = check.oneOf(options.mode ?? 'commands', 'options.mode', ['commands', 'subscriber'] as const);
  const scripts = options.scripts ?? [];
  if (!Array.isArray(scripts) || scripts.some((s) => typeof s !== 'string')) throw new TypeError(`options.scripts must be an array of Lua sources, got ${check.describe(scripts)}`);
  if (options.channels !== undefined) check.func(options.channels, 'options.channels', '() => Iterable<string>');
  const closeTimeoutMs = check.duration(options.closeTimeoutMs, 'options.closeTimeoutMs', { allowZero: false }) ?? 1000;
  const autoPipelining = check.boolean(options.autoPipelining ?? true, 'options.autoPipelining');
  const shown = target.url ? safeUrl(target.url) : 'redis (a client given)';
  const override = { ...MACHINE_OWNS_RECOVERY, enableAutoPipelining: mode === 'commands' && autoPipelining };

  return {
    kind: 'redis',
    target: shown,
    async connect({ signal }: ConnectOptions): Promise<Link> {
      const canceled = () => new LinkClosedError('connect canceled', { canceled: true });
      if (signal.aborted) throw canceled();
      const client = target.redis ? target.redis.duplicate(override) : new (await ioredis())(target.url!, override);
      // ioredis reports why on 'error' and rejects connect() with only "Connection is closed."
      let lastError: unknown;
      client.on('error', (e: unknown) => void (lastError = e));
      const abort = () => client.disconnect();
      signal.addEventListener('abort', abort, { once: true });
      try {
        if (signal.aborted) throw canceled();
        await client.connect();
        await Promise.all(scripts.map((s) => client.call('SCRIPT', 'LOAD', s)));
        if (mode === 'subscriber') {
          const channels = [...(options.channels?.() ?? [])];
          if (channels.length > 0) await client.call('subscribe', ...channels);
        }
      } catch (e) {
        client.disconnect();
        if (signal.aborted) throw canceled();
        throw new RedisConnectionError('cannot connect to Redis', { url: shown, cause: lastError ?? e });
      } finally {
        signal.removeEventListener('abort', abort);
      }
      return new RedisLink(client, mode, shown, closeTimeoutMs, () => lastError);
    },
  };
}

const SUBSCRIBER_COMMANDS = new Set(['SUBSCRIBE', 'UNSUBSCRIBE', 'PSUBSCRIBE', 'PUNSUBSCRIBE', 'PING']);

/** One ioredis client as a `Link` (see the file comment for the payloads). */
class RedisLink implements Link {
  readonly #core: LinkCore;
  readonly #client: RedisClientLike;
  readonly #subscriber: boolean;
  readonly #closeTimeoutMs: number;
  /** Commands handed to ioredis and not answered yet. */
  #inFlight = 0;
  /** Called when `#inFlight` drops to 0 (a close waiting for the replies of what was sent). */
  #drained: (() => void) | undefined;
  /** Commands handed to ioredis, and answered (ioredis answers in order). */
  #issued = 0;
  #answeredCount = 0;
  /** Answers made here (refusals), each due once the commands issued before it are answered: after, issued, id, message. */
  #refusals: Array<number | string | null> = [];

  constructor(client: RedisClientLike, mode: 'commands' | 'subscriber', url: string, closeTimeoutMs: number, lastError: () => unknown) {
    this.#client = client;
    this.#subscriber = mode === 'subscriber';
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#core = new LinkCore(this);
    const core = this.#core;
    client.on('close', () => {
      const error = core.closing ? undefined : new RedisConnectionError('lost the Redis connection', { url, cause: lastError() });
      core.end(error ? { error, code: error.errno ?? error.code } : {}, (canceled) => new LinkClosedError('Redis link closed while sending', { canceled, cause: error }));
    });
    if (this.#subscriber) {
      client.on('message', (channel: string, message: string) => {
        if (!core.ended) core.incoming.next(`${channel.length}:${channel}${message}`);
      });
    }
  }

  get incoming$() {
    return this.#core.incoming.asObservable();
  }

  get closed(): Promise<CloseInfo> {
    return this.#core.closed;
  }

  send(data: Payload): Promise<void> {
    if (this.#core.ended || this.#core.closing) return Promise.reject(new LinkClosedError('Redis link is closed', { canceled: this.#core.closing !== undefined }));
    return this.#core.write(data);
  }

  /**
   * Graceful: the replies of commands already sent still come (auto-pipelined
   * commands may not be written yet, and QUIT would overtake them), then
   * QUIT; after `closeTimeoutMs` the socket is dropped.
   */
  close(): Promise<void> {
    return this.#core.close(() => {
      const client = this.#client;
      const timer = setTimeout(() => client.disconnect(), this.#closeTimeoutMs);
      timer.unref?.();
      const quit = () => {
        this.#drained = undefined;
        client.quit().then(
          () => clearTimeout(timer),
          () => {
            clearTimeout(timer);
            client.disconnect();
          },
        );
      };
      if (this.#inFlight === 0) quit();
      else this.#drained = quit;
    });
  }

  /** @internal LinkCore's writer: run each command of `data`, then report it taken. */
  write(data: Payload, done: (err?: Error | null) => void): void {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    let at = 0;
    while (at < text.length) {
      const next = this.#frame(text, at);
      if (next < 0) break; // unreadable: refused, the rest dropped
      at = next;
    }
    done();
  }

  /** @internal LinkCore's write errors (ioredis reports failures per command, never here). */
  writeError(err: Error): Error {
    return new LinkClosedError('Redis link lost while sending', { canceled: false, cause: err });
  }

  /** Read one frame at `at` and run it; the offset after it, or -1 when it does not parse. */
  #frame(text: string, at: number): number {
    const nl = text.indexOf('\n', at);
    const space = text.indexOf(' ', at);
    const id = space > at && space < nl ? Number(text.slice(at, space)) : NaN;
    const argc = Number(text.slice(space + 1, nl));
    if (nl < 0 || !Number.isInteger(id) || !Number.isInteger(argc) || argc < 1) {
      this.#refuse(Number.isInteger(id) ? id : null, `ERR statewire: a command is "<id> <argc>\\n" then <length>:<argument> each, got ${JSON.stringify(text.slice(at, at + 40))}`);
      return -1;
    }
    const args: string[] = new Array(argc);
    let p = nl + 1;
    for (let i = 0; i < argc; i++) {
      const colon = text.indexOf(':', p);
      const length = colon > p ? Number(text.slice(p, colon)) : NaN;
      if (!Number.isInteger(length) || length < 0 || colon + 1 + length > text.length) {
        this.#refuse(id, `ERR statewire: argument ${i + 1} of command ${id} is not <length>:<text>`);
        return -1;
      }
      args[i] = text.slice(colon + 1, colon + 1 + length);
      p = colon + 1 + length;
    }
    this.#run(id, args);
    return p;
  }

  #run(id: number, [command, ...args]: string[]) {
    if (this.#subscriber && !SUBSCRIBER_COMMANDS.has(command!.toUpperCase())) {
      this.#refuse(id, `ERR statewire: a subscriber link takes only ${[...SUBSCRIBER_COMMANDS].join(', ')}`);
      return;
    }
    this.#inFlight++;
    this.#issued++;
    // Lower case: ioredis tracks subscriptions by the lower-case name.
    this.#client.call(command!.toLowerCase(), ...args).then(
      (reply) => this.#answered(id, 0, reply),
      (err: Error) => {
        // An error reply from Redis is an answer; anything else (the connection is going) is not.
        this.#answered(id, 1, err?.name === 'ReplyError' ? err.message : undefined);
      },
    );
  }

  /** An answer made here, not by Redis: after the replies to the commands sent before it. */
  #refuse(id: number | null, message: string) {
    if (this.#answeredCount === this.#issued) this.#reply(id, 1, message);
    else this.#refusals.push(this.#issued, id, message);
  }

  #answered(id: number, error: 0 | 1, value: unknown) {
    if (error === 0 || value !== undefined) this.#reply(id, error, value);
    this.#answeredCount++;
    const r = this.#refusals;
    while (r.length > 0 && (r[0] as number) <= this.#answeredCount) {
      const [, rid, message] = r.splice(0, 3);
      this.#reply(rid as number | null, 1, message);
    }
    if (--this.#inFlight === 0) this.#drained?.();
  }

  #reply(id: number | null, error: 0 | 1, value: unknown) {
    if (!this.#core.ended) this.#core.incoming.next(JSON.stringify([id, error, value]));
  }
}
