/**
 * `catClient(link)`: Kenwood CAT (TS-590S family) commands over a statewire
 * `Link` (issue 12, part 2).
 *
 * One command at a time (a FIFO). A read (`FA;`) waits for its answer for
 * `timeoutMs` (default 500 ms, on the injected `clock`) and is tried again up
 * to `retries` times (default 3): an answer `?;` means the rig is busy (tried
 * again after `busyDelayMs`, 100 ms), `E;` / `O;` (communication or overrun
 * error) and a malformed answer mean "resend" (at once). When every try timed
 * out the client first asks `PS;`, as Hamlib does: if the rig answers it, the
 * command rejects with a `CatTimeoutError` (`powerOn` says what PS read), else
 * with a `CatLinkLostError`: nothing answers on the line. Busy or refused to
 * the end rejects with a `CatRejectedError`.
 *
 * A set (`FA00007074000;`) gets no answer in Kenwood CAT: it resolves once
 * written. Bad arguments (an unknown mode, a frequency out of range, a
 * non-boolean PTT) throw a TypeError or RangeError before anything is sent.
 *
 * @example
 * ```ts
 * const link = await serialTransport({ path: '/dev/ttyUSB0' }).connect({ signal });
 * const rig = catClient(link);
 * await rig.setFrequency(7_074_000);
 * console.log(await rig.getMode()); // 'USB'
 * rig.close();
 * ```
 */
import type { Subscription } from 'rxjs';
import * as check from '../../../machines/ports/check.js';
import { realClock, type Clock } from '../../../machines/ports/clock.js';
import { ConnectionError, LinkClosedError } from '../../../machines/ports/errors.js';
import { checkLink, type Link } from '../../../machines/ports/transport.js';
import {
  catFrames, checkFrequency, formatFrequency, formatMode, formatPower, meterToWatts, parseFrequency, parseInfo, parseMeter, parseMode,
  parsePower, parsePowerStatus, type CatInfo, type CatMode,
} from './codec.js';

declare module '../../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** A CAT command got no answer after its retries, but the rig answered `PS;`. */
    ERR_CAT_TIMEOUT: true;
    /** The rig answered busy (`?;`), `E;`/`O;` or garbage to every try of a command. */
    ERR_CAT_REJECTED: true;
    /** A CAT command and the `PS;` check after it got no answer, or the link ended: nothing answers. */
    ERR_CAT_LINK_LOST: true;
  }
}

/** Default wait for one answer, ms. */
export const DEFAULT_CAT_TIMEOUT_MS = 500;
/** Default number of tries after the first. */
export const DEFAULT_CAT_RETRIES = 3;
/** Default wait after a busy answer (`?;`) before trying again, ms. */
export const DEFAULT_CAT_BUSY_DELAY_MS = 100;

/** A command got no answer after its retries; the rig answered `PS;` (so the line works). */
export class CatTimeoutError extends ConnectionError {
  override name = 'CatTimeoutError';
  /** The command, without its `;` (`'FA'`). */
  readonly command: string;
  /** How many times it was sent. */
  readonly attempts: number;
  readonly timeoutMs: number;
  /** What `PS;` read: false when the rig is switched off (it answers only `PS` then). */
  readonly powerOn: boolean;

  constructor(command: string, attempts: number, timeoutMs: number, powerOn: boolean) {
    super(`CAT ${command}; got no answer in ${attempts} tries of ${timeoutMs} ms (the rig answers PS: power ${powerOn ? 'on' : 'off'})`, { kind: 'serial', code: 'ERR_CAT_TIMEOUT' });
    this.command = command;
    this.attempts = attempts;
    this.timeoutMs = timeoutMs;
    this.powerOn = powerOn;
  }
}

/** The rig refused a command to the end: busy (`?;`), `E;`, `O;`, or an answer that does not parse. */
export class CatRejectedError extends ConnectionError {
  override name = 'CatRejectedError';
  readonly command: string;
  readonly attempts: number;
  /** The last answer, without its `;` (`'?'`). */
  readonly answer: string;

  constructor(command: string, attempts: number, answer: string, cause?: unknown) {
    super(`CAT ${command}; refused in ${attempts} tries (last answer ${JSON.stringify(`${answer};`)})`, { kind: 'serial', code: 'ERR_CAT_REJECTED', cause });
    this.command = command;
    this.attempts = attempts;
    this.answer = answer;
  }
}

/** Nothing answers: a command and the `PS;` check after it timed out, or the link ended under the command. */
export class CatLinkLostError extends ConnectionError {
  override name = 'CatLinkLostError';
  readonly command: string;

  constructor(command: string, message: string, cause?: unknown) {
    super(message, { kind: 'serial', code: 'ERR_CAT_LINK_LOST', cause });
    this.command = command;
  }
}

/** Options of `catClient`. */
export interface CatClientOptions {
  /** Wait for one answer, ms (> 0). Default 500. */
  timeoutMs?: number;
  /** Tries after the first, an integer 0..100. Default 3. */
  retries?: number;
  /** Wait after a busy answer (`?;`), ms (>= 0). Default 100. */
  busyDelayMs?: number;
  /** Timers. Default: real time; XState's `SimulatedClock` in tests. */
  clock?: Clock;
}

/** A CAT client on one link. */
export interface CatClient {
  /** VFO A frequency, Hz (`FA;`). */
  getFrequency(): Promise<number>;
  /** Set VFO A (`FA00007074000;`): an integer 30 kHz..60 MHz. */
  setFrequency(hz: number): Promise<void>;
  getMode(): Promise<CatMode>;
  setMode(mode: CatMode): Promise<void>;
  /** Key (`TX1;`, data) or unkey (`RX;`) the transmitter. */
  ptt(on: boolean): Promise<void>;
  /** The `PC` output power setting, watts. */
  getPower(): Promise<number>;
  /** Set the `PC` output power, an integer 5..100 W. */
  setPower(watts: number): Promise<void>;
  /** `SM0` while transmitting, converted to watts with the TS-590 table. */
  readPowerMeter(): Promise<number>;
  /** `PS;`: true when the rig is on. */
  powerStatus(): Promise<boolean>;
  /** `IF;`, decoded. */
  info(): Promise<CatInfo>;
  /** Reject queued and running commands (a canceled `LinkClosedError`) and detach from the link; the link stays open (its owner closes it). Idempotent. */
  close(): void;
}

type Outcome = { kind: 'answer'; frame: string } | { kind: 'timeout' };

interface Job {
  run(): Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * A CAT client on `link`: see the module comment. Throws a TypeError or
 * RangeError naming the option for a bad one.
 */
export function catClient(link: Link, options: CatClientOptions = {}): CatClient {
  checkLink(link, 'link');
  check.object(options, 'options');
  const timeoutMs = check.duration(options.timeoutMs, 'options.timeoutMs', { allowZero: false }) ?? DEFAULT_CAT_TIMEOUT_MS;
  const retries = check.integer(options.retries ?? DEFAULT_CAT_RETRIES, 'options.retries', { min: 0, max: 100 });
  const busyDelayMs = check.duration(options.busyDelayMs, 'options.busyDelayMs', { allowZero: true }) ?? DEFAULT_CAT_BUSY_DELAY_MS;
  const clock = options.clock === undefined ? realClock : check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');

  const queue: Job[] = [];
  let running: Job | undefined;
  let closed = false;
  let linkEnded = false;
  /** Told of each frame while a read waits; undefined otherwise (frames nobody asked for are dropped). */
  let waiter: ((frame: string) => void) | undefined;
  /** Cancels the running wait (a timer), for close(). */
  let cancelWait: ((err: unknown) => void) | undefined;
  /** The read running (its prefix, `'FA'`), named in the error when the link ends under it. */
  let reading = '';

  const frames: Subscription = link.incoming$.pipe(catFrames()).subscribe((frame) => waiter?.(frame));
  void link.closed.then(() => {
    linkEnded = true;
    cancelWait?.(new CatLinkLostError(reading, `the link ended under CAT ${reading};`));
  });

  const canceled = () => new LinkClosedError('CAT client closed', { canceled: true });

  function pump(): void {
    if (running || closed) return;
    const job = queue.shift();
    if (!job) return;
    running = job;
    job.run().then(job.resolve, job.reject).finally(() => {
      running = undefined;
      pump();
    });
  }

  function enqueue<T>(run: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(canceled());
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      pump();
    });
  }

  /** Wait `ms` on the clock; rejects when the client closes or the link ends meanwhile. */
  function sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        cancelWait = undefined;
        resolve();
      }, ms);
      cancelWait = (err) => {
        clock.clearTimeout(timer);
        cancelWait = undefined;
        reject(err);
      };
    });
  }

  /** Send `command` once and wait for a frame starting with `prefix` (or `?`, `E`, `O`) for `timeoutMs`. */
  async function tryOnce(command: string, prefix: string): Promise<Outcome> {
    if (closed) throw canceled();
    if (linkEnded) throw new CatLinkLostError(prefix, `the link ended before CAT ${prefix};`);
    const outcome = new Promise<Outcome>((resolve, reject) => {
      const done = () => {
        clock.clearTimeout(timer);
        waiter = undefined;
        cancelWait = undefined;
      };
      const timer = clock.setTimeout(() => {
        done();
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      waiter = (frame) => {
        if (!(frame.startsWith(prefix) || frame === '?' || frame === 'E' || frame === 'O')) return; // unsolicited (auto information)
        done();
        resolve({ kind: 'answer', frame });
      };
      cancelWait = (err) => {
        done();
        reject(err);
      };
    });
    try {
      await link.send(command);
    } catch (err) {
      cancelWait?.(err);
      void outcome.catch(() => {});
      throw closed ? canceled() : new CatLinkLostError(prefix, `CAT ${prefix}; could not be sent: the link is lost`, err);
    }
    return outcome;
  }

  /** A read: `command` (e.g. `'FA;'`), answered by a frame starting with `prefix`, parsed by `parse`, with retries and the PS check. */
  async function read<T>(command: string, prefix: string, parse: (frame: string) => T): Promise<T> {
    reading = prefix;
    const attempts = retries + 1;
    let last: Outcome = { kind: 'timeout' };
    let parseError: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0 && last.kind === 'answer' && last.frame === '?') await sleep(busyDelayMs);
      last = await tryOnce(command, prefix);
      if (last.kind === 'answer' && last.frame.startsWith(prefix)) {
        try {
          return parse(last.frame);
        } catch (err) {
          parseError = err; // a garbled answer: resend
        }
      }
    }
    if (last.kind === 'answer') throw new CatRejectedError(prefix, attempts, last.frame, last.frame.startsWith(prefix) ? parseError : undefined);
    // Every try timed out: does the rig answer at all? (Hamlib asks PS; too.)
    const ps = await tryOnce('PS;', 'PS');
    if (ps.kind === 'timeout') throw new CatLinkLostError(prefix, `CAT ${prefix}; got no answer in ${attempts} tries of ${timeoutMs} ms, nor did PS;: nothing answers on the link`);
    let powerOn = true;
    try {
      powerOn = parsePowerStatus(ps.frame);
    } catch {
      // `?;` or garbage to PS: something answers, so the line works.
    }
    throw new CatTimeoutError(prefix, attempts, timeoutMs, powerOn);
  }

  /** A set: no answer in Kenwood CAT; resolves once written. */
  async function write(command: string): Promise<void> {
    if (closed) throw canceled();
    const prefix = command.slice(0, 2);
    if (linkEnded) throw new CatLinkLostError(prefix, `the link ended before CAT ${prefix};`);
    try {
      await link.send(command);
    } catch (err) {
      throw closed ? canceled() : new CatLinkLostError(prefix, `CAT ${prefix}; could not be sent: the link is lost`, err);
    }
  }

  return {
    getFrequency: () => enqueue(() => read('FA;', 'FA', parseFrequency)),
    setFrequency(hz) {
      const command = formatFrequency('A', checkFrequency(hz, 'hz'));
      return enqueue(() => write(command));
    },
    getMode: () => enqueue(() => read('MD;', 'MD', parseMode)),
    setMode(mode) {
      const command = formatMode(mode);
      return enqueue(() => write(command));
    },
    ptt(on) {
      const command = check.boolean(on, 'on') ? 'TX1;' : 'RX;';
      return enqueue(() => write(command));
    },
    getPower: () => enqueue(() => read('PC;', 'PC', parsePower)),
    setPower(watts) {
      const command = formatPower(watts);
      return enqueue(() => write(command));
    },
    readPowerMeter: () => enqueue(() => read('SM0;', 'SM0', (frame) => meterToWatts(parseMeter(frame)))),
    powerStatus: () => enqueue(() => read('PS;', 'PS', parsePowerStatus)),
    info: () => enqueue(() => read('IF;', 'IF', parseInfo)),
    close() {
      if (closed) return;
      closed = true;
      frames.unsubscribe();
      for (const job of queue.splice(0)) job.reject(canceled());
      cancelWait?.(canceled());
    },
  };
}
