/**
 * Errors of the Redis link and the TaskLogHub's Redis adapter (issue 16),
 * exported by `statewire/websocket`. They extend the core classes; their
 * codes join the core `ErrorCode` union.
 *
 * - `RedisConnectionError`: a link could not be opened or broke (`cause`:
 *   what ioredis or the OS said; `errno`: `'ECONNREFUSED'`, ...). A refused
 *   password is `permanent`: retrying will not fix it.
 * - `RedisCommandError`: Redis answered a command with an error reply (a
 *   script error, `NOSCRIPT` after a `SCRIPT FLUSH`, `OOM`).
 * - `RedisBacklogFullError`: `maxPending` log lines already wait for Redis
 *   (it is down or slow): the new line is refused, never queued without bound.
 * - `RedisTimeoutError`: no reply within `commandTimeoutMs` of the send: the
 *   line may or may not have been logged.
 * - `RedisAdapterClosedError`: the adapter was closed, or its connection left
 *   the supervisor, with the command unanswered.
 */
import { ClosedError, ConnectionError, MessageDroppedError, StatewireError } from '../../machines/ports/errors.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** A Redis link could not be opened or broke (other than ECONNREFUSED: `ERR_CONNECTION_REFUSED`). */
    ERR_REDIS_CONNECTION: true;
    /** Redis refused our credentials (NOAUTH, WRONGPASS): permanent. */
    ERR_REDIS_AUTH: true;
    /** Redis answered a command with an error reply. */
    ERR_REDIS_COMMAND: true;
    /** `maxPending` lines already wait for Redis: this one was refused. */
    ERR_REDIS_BACKLOG_FULL: true;
    /** No reply from Redis within `commandTimeoutMs` of the send. */
    ERR_REDIS_TIMEOUT: true;
    /** The Redis adapter is closed (or its connection is gone): the command was not answered. */
    ERR_REDIS_ADAPTER_CLOSED: true;
  }
}

/** A Redis link could not be opened, or broke. `url` is the server (without a password). */
export class RedisConnectionError extends ConnectionError {
  override name = 'RedisConnectionError';
  readonly url: string | undefined;

  constructor(message: string, options: { url?: string; cause?: unknown; connectionId?: string } = {}) {
    const errno = (options.cause as { code?: unknown } | undefined)?.code;
    const text = String((options.cause as { message?: unknown } | undefined)?.message ?? '');
    const auth = /^(NOAUTH|WRONGPASS)\b|invalid password|invalid username-password/i.test(text);
    super(`${message}${options.url ? ` (${options.url})` : ''}`, {
      kind: 'redis',
      cause: options.cause,
      connectionId: options.connectionId,
      code: auth ? 'ERR_REDIS_AUTH' : errno === 'ECONNREFUSED' ? 'ERR_CONNECTION_REFUSED' : 'ERR_REDIS_CONNECTION',
      permanent: auth,
    });
    this.url = options.url;
  }
}

/** Redis answered `command` with an error reply (`message` is Redis's own text). */
export class RedisCommandError extends StatewireError {
  override name = 'RedisCommandError';
  /** The command, or the adapter's name for its script (`'log'`, `'claim'`, ...). */
  readonly command: string;

  constructor(command: string, reply: string) {
    super(`Redis refused ${command}: ${reply}`, 'ERR_REDIS_COMMAND');
    this.command = command;
  }
}

/** `limit` lines already wait for Redis (down or slow): the line for `taskId` was refused, not queued. */
export class RedisBacklogFullError extends MessageDroppedError {
  override name = 'RedisBacklogFullError';
  readonly limit: number;
  readonly taskId: string | undefined;

  constructor(connectionId: string, limit: number, taskId?: string) {
    super(
      connectionId,
      'overflow',
      `${limit} commands already wait for Redis on "${connectionId}"${taskId === undefined ? '' : `: the log line for task "${taskId}" was refused`}`,
      'ERR_REDIS_BACKLOG_FULL',
    );
    this.limit = limit;
    this.taskId = taskId;
  }
}

/** No reply within `timeoutMs` of the send: the command may or may not have run. */
export class RedisTimeoutError extends StatewireError {
  override name = 'RedisTimeoutError';
  readonly timeoutMs: number;
  readonly connectionId: string;

  constructor(connectionId: string, timeoutMs: number) {
    super(`no reply from Redis on "${connectionId}" within ${timeoutMs} ms: the command may or may not have run`, 'ERR_REDIS_TIMEOUT');
    this.timeoutMs = timeoutMs;
    this.connectionId = connectionId;
  }
}

/** The adapter was closed, or its connection left the supervisor (`reason`), with the command unanswered. */
export class RedisAdapterClosedError extends ClosedError {
  override name = 'RedisAdapterClosedError';
  readonly reason: 'closed' | 'failed' | 'lost' | 'gone';

  constructor(connectionId: string, reason: 'closed' | 'failed' | 'lost' | 'gone') {
    super(`Redis connection "${connectionId}"`, `Redis connection "${connectionId}" ${reason === 'closed' ? 'was closed' : reason === 'gone' ? 'left its supervisor' : reason === 'failed' ? 'failed' : 'was lost'} before the command was answered`, 'ERR_REDIS_ADAPTER_CLOSED');
    this.reason = reason;
  }
}
