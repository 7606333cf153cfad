/**
 * `redisHubAdapter(options)`: TaskLogHub past one process (issue 16). Hubs in
 * several processes share each task's seq, queue and viewer through Redis:
 * `sendLog` on any process reaches the task's viewer on any process, in seq
 * order, once; a viewer that reconnects to another process with `lastSeq`
 * gets exactly the lines after it.
 *
 * @example
 * ```ts
 * const hub = new TaskLogHub({ adapter: redisHubAdapter({ url: 'redis://127.0.0.1:6379' }) });
 * hub.attach(httpServer, { path: '/logs' });
 * await hub.sendLog('build-42', 'info', 'compiling', { progress: 10 }); // a viewer on any process gets it
 * ```
 *
 * What lives where (scripts.ts has the keys and the scripts):
 * - Redis: per task a stream of lines (ids `<seq>-0`), a hash (seq, the sent
 *   mark, the queue length, the owning viewer), a channel. Each `sendLog` is
 *   one Lua script (seq, append, the 100 → 50 rule, PUBLISH).
 * - Each process: two supervised connections under the hub's supervisor,
 *   `<id>:commands` (scripts, through `RedisCommands`) and `<id>:subscriber`
 *   (SUBSCRIBE to the channel of each task with a viewer here), its liveness
 *   key (refreshed on the hub's clock: an owner whose process stopped
 *   refreshing is no owner), and its own viewers: what each was given
 *   (`handed`) and took (`accepted`; told to Redis every `MARK_EVERY` lines,
 *   so the stream can let go of what the socket took).
 * - A viewer's catch-up (`#sync`): subscribe, then claim (one script: take
 *   the task, read the lines after `lastSeq` or the queue), send those, then
 *   the live lines that came meanwhile with a higher seq (buffered until the
 *   claim returned: no gap, no duplicate). It runs when the viewer connects
 *   and after every reconnect of the subscriber (lines published while this
 *   process was away from Redis are in the stream).
 */
import { randomBytes } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { resolvePolicy, type ConnectionHandle, type ReconnectPolicy } from '../../../../actors/index.js';
import * as check from '../../../../machines/ports/check.js';
import type { AdapterViewer, TaskLogHubAdapter, TaskLogHubAdapterHost, TaskLogHubBinding, UnnumberedLine } from '../adapter.js';
import { RedisCommands, type CommandArgs } from './commands.js';
import { RedisAdapterClosedError, RedisBacklogFullError, RedisCommandError, RedisTimeoutError } from '../../redis-errors.js';
import { checkRedisTarget, redisTransport, type RedisClientLike } from '../../redis.transport.js';
import { processKey, taskKeys, taskScripts, type ScriptName } from './scripts.js';

/**
 * @internal Tests only: how long a process's liveness key lasts, ms (default
 * 10000). `redisHubAdapter({ url, [LIVENESS_MS]: 300 })`.
 */
export const LIVENESS_MS = Symbol('statewire.redisHubAdapter.livenessMs');

export interface RedisHubAdapterOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://`. Exactly one of `url` and `redis`. */
  url?: string;
  /** An ioredis client whose options the adapter's two connections copy (`duplicate()`); yours is not used or closed. */
  redis?: RedisClientLike;
  /**
   * Put before every key and channel name, so several applications can share
   * a Redis. No whitespace. Default `'statewire:'`.
   * @example redisHubAdapter({ url, keyPrefix: 'ci-logs:' })
   */
  keyPrefix?: string;
  /** The connections' child ids: `<id>:commands`, `<id>:subscriber`. Default `'redis'`. */
  id?: string;
  /**
   * Reconnect policy of both connections. Default: the machine's, but
   * `maxRetries: Infinity` (Redis down for a while is waited out, not given up on).
   * @example redisHubAdapter({ url, policy: { initialBackoffMs: 50, maxBackoffMs: 2000 } })
   */
  policy?: Partial<ReconnectPolicy>;
  /**
   * Log lines that may wait for Redis at once (sent and not answered, or
   * made while Redis is down); one more is refused (`sendLog` rejects with
   * `RedisBacklogFullError`). Default 10000.
   */
  maxPending?: number;
  /** No answer from Redis within this many ms of a send: that call rejects (`RedisTimeoutError`). Default 10000. */
  commandTimeoutMs?: number;
  /**
   * A task's keys expire this long after its last line or viewer, integer
   * ms, at most 2147483647 (about 24.8 days, the longest timer). Default
   * 86400000 (a day).
   */
  ttlMs?: number;
  /** @internal Tests only (see `LIVENESS_MS`). */
  [LIVENESS_MS]?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Lines in one run of the log script at most (Redis runs nothing else meanwhile). */
const MAX_BATCH = 256;
/** Per-task figures kept at most (the seq last seen, the queue length): the least recently used go first. */
const KNOWN_TASKS = 10_000;
/** A process's liveness key lasts this long by default, ms; it is refreshed every third of it. */
const LIVENESS_DEFAULT_MS = 10_000;
/** A viewer's process tells Redis what its socket took after this many more lines. */
const MARK_EVERY = 32;

/** The adapter's options, checked and defaulted. */
interface Settings {
  target: { url?: string; redis?: RedisClientLike };
  prefix: string;
  id: string;
  policy: Partial<ReconnectPolicy>;
  maxPending: number;
  timeoutMs: number;
  ttlMs: number;
  liveMs: number;
}

/**
 * The Redis adapter for `new TaskLogHub({ adapter })`. Checks its options at
 * once: `url` not redis:// or rediss://, or neither/both of `url` and
 * `redis`, is a TypeError; a `keyPrefix` with whitespace a RangeError.
 */
export function redisHubAdapter(options: RedisHubAdapterOptions): TaskLogHubAdapter {
  check.object(options, 'options', '{ url | redis, keyPrefix? }');
  const target = checkRedisTarget(options);
  const prefix = options.keyPrefix ?? 'statewire:';
  if (typeof prefix !== 'string') throw new TypeError(`options.keyPrefix must be a string, got ${check.describe(prefix)}`);
  if (/\s/.test(prefix)) throw new RangeError(`options.keyPrefix must not contain whitespace, got ${JSON.stringify(prefix)}`);
  const settings: Settings = {
    target,
    prefix,
    id: check.nonEmptyString(options.id ?? 'redis', 'options.id'),
    policy: { maxRetries: Infinity, ...(options.policy === undefined ? {} : check.object(options.policy, 'options.policy')) },
    maxPending: check.integer(options.maxPending ?? 10_000, 'options.maxPending', { min: 1 }),
    timeoutMs: check.duration(options.commandTimeoutMs, 'options.commandTimeoutMs', { allowZero: false }) ?? 10_000,
    ttlMs: check.integer(options.ttlMs ?? DAY_MS, 'options.ttlMs', { min: 1, max: check.MAX_TIMER_MS }),
    liveMs: check.integer(options[LIVENESS_MS] ?? LIVENESS_DEFAULT_MS, 'options[LIVENESS_MS]', { min: 3, max: check.MAX_TIMER_MS }),
  };
  resolvePolicy(settings.policy, 'options.policy'); // its errors belong to the caller, now
  let bound = false;
  return {
    bind(host) {
      if (bound) throw new TypeError('this redisHubAdapter is already bound to a TaskLogHub: make one per hub');
      bound = true;
      return new RedisHubBinding(host, settings);
    },
  };
}

/** One viewer of this process, as the adapter follows it. */
interface LocalViewer {
  taskId: string;
  id: string;
  /** `<process>:<child id>`: who owns the task in Redis. */
  token: string;
  connection: ConnectionHandle;
  keys: ReturnType<typeof taskKeys>;
  /** The highest seq handed to its connection (in order); -1: nothing yet and no `lastSeq` (start from the queue). */
  handed: number;
  /** The highest seq its socket took. */
  accepted: number;
  /** The highest `accepted` Redis was told (the claim's, then `mark`'s). */
  marked: number;
  /** A claim was sent: a release must follow it when the viewer goes. */
  claimed: boolean;
  gone: boolean;
  /** Live lines (seq, line, seq, line, ...) that came during a catch-up. */
  buffer: Array<number | string> | undefined;
  sync: Promise<'ok' | 'send-failed'> | undefined;
  again: boolean;
}

class RedisHubBinding implements TaskLogHubBinding {
  readonly #host: TaskLogHubAdapterHost;
  readonly #s: Settings;
  /** This process's name in Redis (`p:<process>`, owner tokens, its liveness key). */
  readonly #process = randomBytes(6).toString('base64url');
  readonly #liveKey: string;
  readonly #commands: RedisCommands;
  readonly #subscriber: RedisCommands;
  readonly #viewers = new Map<string, LocalViewer>();
  readonly #known = new Map<string, { seq: number; queued: number }>();
  readonly #subs: Subscription[] = [];
  readonly #sha: Record<ScriptName, string>;
  /** Lines of this turn, for one run of the log script: taskId, head, resolve, reject each. */
  #batch: unknown[] = [];
  /** Viewers whose `accepted` is to be told to Redis this turn (one run of the mark script). */
  #marks = new Set<LocalViewer>();
  /** Lines given to `sendLog` and not settled yet (bounded by `maxPending`). */
  #pending = 0;
  #beatTimer: unknown;
  #beating = false;
  #closing: Promise<void> | undefined;

  constructor(host: TaskLogHubAdapterHost, settings: Settings) {
    this.#host = host;
    this.#s = settings;
    const { supervisor, clock } = host;
    const { target, id, policy, maxPending, timeoutMs } = settings;
    this.#liveKey = processKey(settings.prefix, this.#process);
    const inFlightLimit = Math.min(1024, maxPending);
    const limits = { clock, timeoutMs, inFlightLimit, maxWaiting: maxPending - inFlightLimit };
    const scripts = taskScripts({
      maxQueued: host.maxQueued,
      keep: host.keepOnOverflow,
      maxSent: host.maxQueued,
      // A viewer whose process cannot hear Redis keeps as many as its connection's outbox would in one process.
      ownerCap: Math.max(host.maxQueued * 2, 1000),
      ttlMs: settings.ttlMs,
      liveMs: settings.liveMs,
    });
    this.#sha = { log: scripts.log.sha, claim: scripts.claim.sha, mark: scripts.mark.sha, release: scripts.release.sha, drop: scripts.drop.sha };
    supervisor.startChild({ id: `${id}:commands`, transport: redisTransport({ ...target, scripts: Object.values(scripts).map((x) => x.lua) }), policy });
    supervisor.startChild({ id: `${id}:subscriber`, transport: redisTransport({ ...target, mode: 'subscriber', channels: () => this.#channels() }), policy });
    this.#commands = new RedisCommands(supervisor.connection(`${id}:commands`), limits);
    this.#subscriber = new RedisCommands(supervisor.connection(`${id}:subscriber`), { ...limits, onMessage: (channel, message) => this.#message(channel, message) });
    // Back on Redis after a lost link: every viewer here catches up from the stream.
    let was = this.#subscriber.connection.state;
    this.#subs.push(
      this.#subscriber.connection.state$.subscribe({
        next: (state) => {
          if (state === 'connected' && was !== 'connected') for (const v of this.#viewers.values()) void this.#sync(v, 'keep');
          if (state === 'failed') this.#failed();
          was = state;
        },
        complete: () => this.#failed(), // it left its supervisor (after hub.close(), no viewer is left to close)
      }),
      this.#commands.connection.state$.subscribe({
        next: (state) => {
          if (state === 'connected') this.#beat(); // a Redis that restarted empty has lost the key
          if (state === 'failed') this.#failed();
        },
        // The connection left its supervisor (shut down without hub.close()): nothing to keep alive, no viewer to serve.
        complete: () => {
          clock.clearTimeout(this.#beatTimer as never);
          this.#failed();
        },
      }),
    );
    const every = Math.floor(settings.liveMs / 3);
    const tick = () => {
      this.#beatTimer = clock.setTimeout(tick, every);
      this.#beat();
    };
    this.#beatTimer = clock.setTimeout(tick, every);
  }

  /**
   * Lines of one turn go to Redis as one run of the log script (each line
   * still its own seq, queue rule and publish), so a burst costs one command
   * per `MAX_BATCH` lines, not one per line.
   */
  sendLog(taskId: string, line: UnnumberedLine): Promise<'sent' | 'queued'> {
    if (this.#pending >= this.#s.maxPending) return Promise.reject(new RedisBacklogFullError(this.#commands.connection.id, this.#s.maxPending, taskId));
    const json = JSON.stringify(line);
    const head = `${json.slice(0, -1)},"seq":`; // the in-process hub's bytes: `seq` last
    return new Promise<'sent' | 'queued'>((resolve, reject) => {
      this.#pending++;
      const batch = this.#batch;
      batch.push(taskId, head, resolve, reject);
      if (batch.length === 4) queueMicrotask(this.#flushLines);
      else if (batch.length >= 4 * MAX_BATCH) this.#flushLines();
    });
  }

  readonly #flushLines = (): void => {
    const batch = this.#batch;
    const n = batch.length / 4;
    if (n === 0) return;
    this.#batch = [];
    const args: Array<string | number> = ['EVALSHA', this.#sha.log, 2 * n];
    for (let i = 0; i < batch.length; i += 4) {
      const { meta, lines } = taskKeys(this.#s.prefix, batch[i] as string);
      args.push(meta, lines);
    }
    args.push(`p:${this.#process}`, processKey(this.#s.prefix, ''));
    const ids = args.length + 2; // where the first line's id goes (after its head and known)
    for (let i = 0; i < batch.length; i += 4) args.push(batch[i + 1] as string, this.#known.get(batch[i] as string)?.seq ?? 0, 0);
    const withIds = (id: number): CommandArgs => {
      // A line's id: its batch's, then its place in it (a batch sent again keeps both).
      for (let k = 0; k < n; k++) args[ids + 3 * k] = id * 1_000_000 + k + 1;
      return args;
    };
    this.#commands.call(withIds, 'the log script').then(
      (reply) => {
        const r = reply as Array<number | string>;
        for (let k = 0; k < n; k++) {
          const taskId = batch[4 * k] as string;
          const resolve = batch[4 * k + 2] as (v: 'sent' | 'queued') => void;
          const seq = r[4 * k] as number;
          if (seq === -1) {
            resolve('queued'); // sent again after a lost link, and Redis had it already
            continue;
          }
          if (seq === -2) {
            // Redis refused this line alone (e.g. a key of the task holds another type): nothing of it was written.
            (batch[4 * k + 3] as (e: unknown) => void)(new RedisCommandError('the log script', String(r[4 * k + 1])));
            continue;
          }
          const queued = r[4 * k + 2] as number;
          const dropped = r[4 * k + 3] as number;
          this.#remember(taskId, seq, queued);
          if (dropped > 0) this.#host.emit({ type: 'dropped', taskId, count: dropped, reason: 'overflow' });
          if (r[4 * k + 1] === 1) resolve('sent');
          else {
            this.#host.emit({ type: 'queued', taskId, queued });
            resolve('queued');
          }
        }
        this.#pending -= n;
      },
      (error: unknown) => {
        for (let k = 0; k < n; k++) (batch[4 * k + 3] as (e: unknown) => void)(error);
        this.#pending -= n;
      },
    );
  };

  async viewerConnected(taskId: string, viewer: AdapterViewer, lastSeq: number | undefined): Promise<'ok' | 'send-failed'> {
    const v: LocalViewer = {
      taskId,
      id: viewer.id,
      token: `${this.#process}:${viewer.id}`,
      connection: viewer.connection,
      keys: taskKeys(this.#s.prefix, taskId),
      handed: lastSeq ?? -1,
      accepted: lastSeq ?? 0,
      marked: lastSeq ?? 0,
      claimed: false,
      gone: false,
      buffer: undefined,
      sync: undefined,
      again: false,
    };
    this.#viewers.set(taskId, v);
    return this.#sync(v, 'take');
  }

  viewerGone(taskId: string, viewerId: string): void {
    const v = this.#viewers.get(taskId);
    if (!v || v.id !== viewerId) return;
    v.gone = true;
    this.#viewers.delete(taskId);
    this.#marks.delete(v);
    // Both go out after whatever this viewer sent before (one connection each, in order).
    this.#subscriber.call(['UNSUBSCRIBE', v.keys.channel]).catch(() => {});
    if (!v.claimed) return;
    this.#commands.call(['EVALSHA', this.#sha.release, 2, v.keys.meta, v.keys.lines, v.token, v.accepted], 'the release script').then(
      (queued) => {
        if ((queued as number) > 0) this.#host.emit({ type: 'queued', taskId, queued: queued as number });
      },
      () => {}, // the adapter closed, or Redis stayed away: the owner entry expires with the task
    );
  }

  async disconnect(taskId: string): Promise<void> {
    const { meta, lines } = taskKeys(this.#s.prefix, taskId);
    this.#known.delete(taskId);
    await this.#commands.call(['EVALSHA', this.#sha.drop, 2, meta, lines], 'the drop script');
  }

  queuedCount(taskId: string): number {
    return this.#known.get(taskId)?.queued ?? 0;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const s of this.#subs) s.unsubscribe();
      this.#host.clock.clearTimeout(this.#beatTimer as never);
      // This process's viewers are gone (the hub closed them): its tasks have no owner here any more.
      if (this.#commands.connection.state === 'connected') this.#commands.call(['DEL', this.#liveKey]).catch(() => {});
      // Releases of the viewers the hub just closed are in flight: give them a moment.
      const drainMs = Math.min(this.#s.timeoutMs, 2000);
      await Promise.all([this.#commands.close(drainMs), this.#subscriber.close(0)]);
      await Promise.all([this.#commands.connection.stop(), this.#subscriber.connection.stop()]);
    })();
    return this.#closing;
  }

  /** Channels to subscribe to on a new subscriber link: one per task with a viewer here. */
  *#channels(): Iterable<string> {
    for (const v of this.#viewers.values()) yield v.keys.channel;
  }

  #remember(taskId: string, seq: number, queued: number) {
    this.#known.delete(taskId); // re-inserted last: the map's order is least recently used first
    this.#known.set(taskId, { seq, queued });
    if (this.#known.size > KNOWN_TASKS) this.#known.delete(this.#known.keys().next().value!);
  }

  /**
   * Keep this process's liveness key alive (one SET at a time, only while
   * the commands link is up: while Redis is away it has nothing to refresh,
   * and the lines waiting for it must not wait behind a pile of these).
   */
  #beat() {
    if (this.#beating || this.#closing || this.#commands.connection.state !== 'connected') return;
    this.#beating = true;
    this.#commands.call(['SET', this.#liveKey, 1, 'PX', this.#s.liveMs]).then(
      () => (this.#beating = false),
      () => (this.#beating = false),
    );
  }

  /**
   * A Redis connection failed for good (refused credentials, ...) or left
   * its supervisor: no viewer here can be served; each is closed (1011)
   * rather than left silent.
   */
  #failed() {
    for (const v of [...this.#viewers.values()]) this.#host.dropViewer(v.taskId, v.id, 'send-failed');
  }

  /** `v`'s socket took more lines: tell Redis every `MARK_EVERY`, all tasks of a turn in one run of the mark script. */
  #accepted(v: LocalViewer, seq: number) {
    if (seq <= v.accepted) return;
    v.accepted = seq;
    if (seq - v.marked < MARK_EVERY || v.gone || !v.claimed) return;
    if (this.#marks.size === 0) queueMicrotask(this.#flushMarks);
    this.#marks.add(v);
  }

  readonly #flushMarks = (): void => {
    const marks = [...this.#marks];
    this.#marks.clear();
    if (marks.length === 0 || this.#closing || this.#commands.connection.state !== 'connected') return; // the next lines (or the next claim) tell it
    const keys: string[] = [];
    const argv: Array<string | number> = [];
    for (const v of marks) {
      keys.push(v.keys.meta, v.keys.lines);
      argv.push(v.token, v.accepted);
      v.marked = v.accepted;
    }
    // Lost: Redis keeps more lines a while (its mark lags), until the next one.
    this.#commands.call(['EVALSHA', this.#sha.mark, keys.length, ...keys, ...argv], 'the mark script').catch(() => {});
  };

  /**
   * Catch `v` up: subscribe, claim, send the lines after what it has, then
   * the live lines that came meanwhile. One at a time per viewer; a request
   * while one runs runs it again after. `take`: a new viewer takes the task;
   * `keep`: the same viewer after a reconnect (if another took the task
   * meanwhile, this one is closed as replaced; if it was dropped, as
   * disconnected).
   */
  #sync(v: LocalViewer, mode: 'take' | 'keep'): Promise<'ok' | 'send-failed'> {
    if (v.sync) {
      v.again = true;
      return v.sync;
    }
    v.buffer ??= [];
    v.sync = (async (): Promise<'ok' | 'send-failed'> => {
      let failed = false;
      try {
        do {
          v.again = false;
          // A connection that failed for good never answers: say so now (the viewer is closed, not left silent).
          for (const c of [this.#subscriber, this.#commands]) if (c.connection.state === 'failed') throw new RedisAdapterClosedError(c.connection.id, 'failed');
          await this.#subscriber.call(['SUBSCRIBE', v.keys.channel]);
          if (v.gone) return 'ok';
          const take = mode === 'take' && !v.claimed;
          v.claimed = true;
          const { meta, lines } = v.keys;
          const reply = (await this.#commands.call(['EVALSHA', this.#sha.claim, 2, meta, lines, v.token, v.handed, take ? 'take' : 'keep', v.accepted, processKey(this.#s.prefix, '')], 'the claim script')) as Array<number | string>;
          if (v.gone) return 'ok';
          if (reply[0] === -2 || reply[0] === -3) {
            this.#host.dropViewer(v.taskId, v.id, reply[0] === -2 ? 'replaced' : 'disconnect');
            return 'ok';
          }
          // Lines start after `base`: below what the viewer said it had when Redis never gave that seq out (see the claim script).
          const base = reply[2] as number;
          if (base < v.handed) {
            v.handed = base;
            v.accepted = Math.min(v.accepted, base);
          }
          v.marked = v.accepted;
          const sends: Array<Promise<boolean>> = [];
          for (let i = 3; i < reply.length; i += 2) {
            const seq = Number.parseInt(reply[i] as string, 10);
            if (seq > v.handed) sends.push(this.#give(v, seq, reply[i + 1] as string));
          }
          // Everything up to `seq` is handed now (in `keep` mode the claim raised `seq` to what the viewer had).
          v.handed = Math.max(v.handed, reply[1] as number);
          if (sends.length > 0) {
            const ok = await Promise.all(sends);
            const count = ok.filter(Boolean).length;
            if (count > 0) this.#host.emit({ type: 'flushed', taskId: v.taskId, count });
            if (count < ok.length) failed = true;
          }
        } while (v.again && !v.gone && !failed);
      } catch (error) {
        if (error instanceof RedisTimeoutError) {
          // Redis did not answer in time: reconnect the subscriber; its reconnect catches every viewer up.
          if (!v.gone) this.#subscriber.connection.command('RECONNECT');
        } else if (!(error instanceof RedisAdapterClosedError && error.reason === 'closed') && !v.gone) {
          // Anything else (an error reply, a connection that failed for good): close the viewer rather than
          // leave it silent; it reconnects with its lastSeq.
          failed = true;
          this.#host.dropViewer(v.taskId, v.id, 'send-failed');
        }
      } finally {
        const buffered = v.buffer ?? [];
        v.buffer = undefined;
        v.sync = undefined;
        for (let i = 0; i < buffered.length && !v.gone && !failed; i += 2) {
          const seq = buffered[i] as number;
          if (seq > v.handed) void this.#give(v, seq, buffered[i + 1] as string);
        }
      }
      return failed ? 'send-failed' : 'ok';
    })();
    return v.sync;
  }

  /** Hand `line` to the viewer; resolves false (and has the hub drop it) if its socket did not take it. */
  #give(v: LocalViewer, seq: number, line: string): Promise<boolean> {
    v.handed = seq;
    return v.connection.send(line).then(
      () => {
        this.#accepted(v, seq);
        return true;
      },
      () => {
        if (!v.gone) this.#host.dropViewer(v.taskId, v.id, 'send-failed');
        return false;
      },
    );
  }

  /** A message on a task's channel: a line (`<seq> <line>`), `claim <owner>` or `disconnect`. */
  #message(channel: string, message: string) {
    const taskId = channel.slice(this.#s.prefix.length + 1, -1);
    const v = this.#viewers.get(taskId);
    if (!v || v.gone) return;
    const first = message.charCodeAt(0);
    if (first >= 0x30 && first <= 0x39) {
      const space = message.indexOf(' ');
      const seq = Number(message.slice(0, space));
      if (v.buffer) v.buffer.push(seq, message.slice(space + 1));
      else if (seq > v.handed) void this.#give(v, seq, message.slice(space + 1));
    } else if (message.startsWith('claim ')) {
      if (message.slice(6) !== v.token) this.#host.dropViewer(taskId, v.id, 'replaced');
    } else if (message === 'disconnect') {
      this.#host.dropViewer(taskId, v.id, 'disconnect');
    }
  }
}
