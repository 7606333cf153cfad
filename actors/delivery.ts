/**
 * Acked delivery over a connection handle: frames that each wait for the
 * peer's acknowledgement, pipelined up to a window, re-sent after a reconnect.
 *
 * The piece EdgeClient was built around, pulled below it so any facade can
 * use it (CAT commands replayed after a TX drop, API Gateway sends). It knows
 * nothing of the wire format: the facade builds each frame from the id it is
 * given, decodes acks from `connection.data$` itself and calls `ack(id)` /
 * `nack(id, error)`. All time is on the injected clock.
 *
 * Rules:
 * - `deliver()` waits for a slot when `inFlightLimit` frames are unacked.
 *   Slots go to callers in call order: a freed slot is handed to the first
 *   waiter at once (its frame is built in the ack's turn), never taken by a
 *   later caller (FIFO with a head index, since `Array.shift()` on tens of
 *   thousands of waiters made pipelining slower than stop-and-wait). A
 *   waiting caller is four cells of a flat queue and its promise (issue 15:
 *   an async frame per waiter made a burst of 200,000 calls spend a quarter
 *   of its time in the garbage collector).
 * - With `maxWaiting`, at most that many callers wait; one more is refused
 *   at once (`errors.full`), never queued without bound (issue 16: log lines
 *   made while Redis is down).
 * - Acks settle one id (`ack`) or a range of ids (`ackRange`, a coalesced
 *   ack). An ack for a frame not yet handed to the link is ignored: a freed
 *   slot's frame is made in the ack's turn, and an ack later in the same
 *   chunk must not settle what the peer has not seen.
 * - Frames are sent only while the connection is `connected` (never parked in
 *   the machine's outbox): frames of one turn go out as one `send` (after the
 *   turn's microtasks; at most `batchLimit` per send), with one ack timer per send.
 * - Each frame must be acked within `ackTimeoutMs` of the send that carried it.
 * - With `resend` (the default), when the link is lost the ack timers stop,
 *   and on the next `connected` every unacked frame (sent on the old link, or
 *   made meanwhile) goes out in id order, before anything newer. Without it, a
 *   lost link fails every frame in flight and later `deliver()` calls reject
 *   at once.
 * - When the connection ends in `failed`, what is in flight is rejected (a
 *   supervisor may restart it: delivery goes on with the new link); when it
 *   leaves the supervisor, everything pending and every later `deliver()` rejects.
 */
import type { Subscription } from 'rxjs';
import * as check from '../machines/ports/check.js';
import type { Clock } from '../machines/ports/clock.js';
import type { Payload } from '../machines/ports/transport.js';
import type { ConnectionState } from '../machines/events.js';
import type { ConnectionHandle } from './connection-handle.js';

/** Errors in the facade's own vocabulary (each facade has typed errors of its kind). */
export interface DeliveryErrors {
  /** Frame `id` was not acked within `ms` of being sent. */
  ackTimeout(id: number, ms: number): Error;
  /** A send failed and the frame will not be sent again (no `resend`, or the connection is gone). */
  sendFailed(id: number, cause: unknown): Error;
  /** The link was lost with frame `id` unacked, and `resend` is off. */
  linkLost(id: number): Error;
  /** Delivery is closed or the connection is not usable (`deliver()` after it ended, gave up, or lost its link without `resend`). */
  closed(reason: 'closed' | 'failed' | 'lost' | 'gone'): Error;
  /** `maxWaiting` callers already wait for a slot: this one is refused at once. Required with `maxWaiting`. */
  full?(maxWaiting: number): Error;
}

export interface AckedDeliveryOptions {
  /** The connection frames go over (`supervisor.connection(id)`). */
  connection: ConnectionHandle;
  /** Time for ack timeouts and the close drain. Default: the supervisor's (`supervisor.clock`); required here. */
  clock: Clock;
  errors: DeliveryErrors;
  /** Each frame must be acked within this many ms of being sent. Default 5000. */
  ackTimeoutMs?: number;
  /** Frames in flight (sent, not yet acked) at most; `deliver()` waits for a slot. Default 256. */
  inFlightLimit?: number;
  /** Re-send unacked frames after a reconnect. Default true. */
  resend?: boolean;
  /** Join the frames of one send. Default: string concatenation (newline-delimited frames). */
  join?: (frames: Payload[]) => Payload;
  /** Most frames per send. Default 128. */
  batchLimit?: number;
  /**
   * Most callers waiting for a slot (all `inFlightLimit` taken, e.g. while the
   * link is down); one more is refused at once with `errors.full(maxWaiting)`,
   * so what waits for a link is bounded: `inFlightLimit + maxWaiting` frames.
   * Default: no limit.
   * @example new AckedDelivery({ ..., inFlightLimit: 1024, maxWaiting: 10_000, errors: { ..., full: (n) => new BacklogFullError(n) } })
   */
  maxWaiting?: number;
}

interface Write {
  timer: unknown;
  /** Frames of this write still waiting for their ack. */
  left: number;
}

type Build = (id: number, arg: unknown) => Payload;

/** A frame with a slot: made, and sent or about to be. */
interface Entry {
  id: number;
  frame: Payload;
  resolve(): void;
  reject(e: Error): void;
  /** The send that carried it last: its ack timer. */
  write: Write | undefined;
  /** The link generation (count of `connected` entries) it was last sent on; 0: not sent. */
  sentOn: number;
  /** Its send failed: send again after the next connect. */
  resend: boolean;
  /** In the batch of the next send. */
  batched: boolean;
  /** Handed to the link at least once: the peer may have it (an ack for a frame never written is ignored). */
  written: boolean;
}

/**
 * Callers waiting for a slot, first in first out: four cells each (build,
 * arg, resolve, reject) in one flat array, no object per caller (issue 15:
 * 200,000 callers may wait at once), and a head index (`shift()` is O(n)).
 */
class WaitQueue {
  #cells: unknown[] = [];
  #head = 0;
  get length(): number {
    return (this.#cells.length - this.#head) >> 2;
  }
  push(build: Build, arg: unknown, resolve: () => void, reject: (e: Error) => void) {
    this.#cells.push(build, arg, resolve, reject);
  }
  /** Take the first caller (there is one) and hand it to `to`. */
  shift(to: (build: Build, arg: unknown, resolve: () => void, reject: (e: Error) => void) => void) {
    const c = this.#cells;
    const h = this.#head;
    const build = c[h] as Build;
    const arg = c[h + 1];
    const resolve = c[h + 2] as () => void;
    const reject = c[h + 3] as (e: Error) => void;
    c[h] = c[h + 1] = c[h + 2] = c[h + 3] = undefined;
    this.#head = h + 4;
    if (this.#head === c.length) {
      this.#cells = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > c.length) {
      this.#cells = c.slice(this.#head);
      this.#head = 0;
    }
    to(build, arg, resolve, reject);
  }
}

const concat = (frames: Payload[]): Payload => (frames.length === 1 ? frames[0]! : frames.join(''));

export class AckedDelivery {
  readonly #c: ConnectionHandle;
  readonly #clock: Clock;
  readonly #errors: DeliveryErrors;
  readonly #ackTimeoutMs: number;
  readonly #limit: number;
  readonly #resend: boolean;
  readonly #join: (frames: Payload[]) => Payload;
  readonly #batchLimit: number;
  readonly #maxWaiting: number;
  readonly #pending = new Map<number, Entry>();
  readonly #waiting = new WaitQueue();
  readonly #sub: Subscription;
  #batch: Entry[] = [];
  #nextId = 0;
  /** How many times the connection has been `connected`: a new link each time. */
  #gen = 0;
  #state: ConnectionState;
  #ended: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: AckedDeliveryOptions) {
    check.object(options, 'options', '{ connection, clock, errors }');
    const connection = check.shape(options.connection, 'options.connection', { send: 'function', state$: 'object' }, 'a ConnectionHandle (supervisor.connection(id))');
    this.#c = connection;
    this.#clock = check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
    this.#errors = check.object(options.errors, 'options.errors', 'of error factories');
    for (const f of ['ackTimeout', 'sendFailed', 'linkLost', 'closed'] as const) check.func(this.#errors[f], `options.errors.${f}`);
    this.#ackTimeoutMs = check.finiteNumber(options.ackTimeoutMs ?? 5000, 'options.ackTimeoutMs', { min: 0, exclusiveMin: true });
    this.#limit = check.integer(options.inFlightLimit ?? 256, 'options.inFlightLimit', { min: 1 });
    this.#batchLimit = check.integer(options.batchLimit ?? 128, 'options.batchLimit', { min: 1 });
    this.#resend = check.boolean(options.resend ?? true, 'options.resend');
    this.#join = check.func(options.join ?? concat, 'options.join', '(frames) => payload');
    this.#maxWaiting = check.integer(options.maxWaiting ?? Infinity, 'options.maxWaiting', { min: 0, allowInfinity: true });
    if (Number.isFinite(this.#maxWaiting)) check.func(this.#errors.full, 'options.errors.full', '(maxWaiting) => Error (required with options.maxWaiting)');
    this.#state = connection.state;
    if (this.#state === 'connected') this.#gen = 1;
    // The handle completes when the child leaves the supervisor for good.
    this.#sub = connection.state$.subscribe({ next: (s) => this.#onState(s), complete: () => this.#end(connection.state === 'failed' ? 'failed' : 'gone') });
  }

  /** Frames sent (or waiting to be) and not yet acked. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Deliver one frame; resolves when `ack(id)` arrives for it. `build(id, arg)`
   * makes the frame once a slot is free (it may throw: the promise rejects
   * with that error and nothing is sent). `arg` is handed to `build` as given:
   * a facade that passes one function made once, and its data as `arg`,
   * allocates no closure per frame (issue 15: a burst of callers all wait).
   */
  deliver<A>(build: (id: number, arg: A) => Payload, arg?: A): Promise<void> {
    if (this.#ended) return Promise.reject(this.#ended);
    if (!this.#resend && this.#state !== 'connected') return Promise.reject(this.#errors.closed('lost'));
    // Not an async function with an await for the slot: a caller waiting for
    // its slot is four cells of a queue and its promise, nothing more.
    return new Promise<void>((resolve, reject) => {
      if (this.#waiting.length === 0 && this.#pending.size < this.#limit) this.#start(build as Build, arg, resolve, reject);
      else if (this.#waiting.length >= this.#maxWaiting) reject(this.#errors.full!(this.#maxWaiting));
      else this.#waiting.push(build as Build, arg, resolve, reject);
    });
  }

  /** The peer acknowledged `id`. False when nothing sent was waiting for it. */
  ack(id: number): boolean {
    const entry = this.#pending.get(id);
    if (!entry?.written) return false;
    this.#settle(entry);
    return true;
  }

  /**
   * The peer acknowledged every id from `from` to `to`, both included (a
   * coalesced ack). Ids above the highest given out so far are ignored (a
   * frame made while this runs is not acked by it). Returns how many were
   * waiting.
   */
  ackRange(from: number, to: number): number {
    to = Math.min(to, this.#nextId);
    let settled = 0;
    if (to - from < this.#pending.size * 4) {
      for (let id = from; id <= to; id++) {
        const entry = this.#pending.get(id);
        if (entry?.written) settled++, this.#settle(entry);
      }
    } else {
      // A wide range (a peer's mistake, or a huge window): look at what is pending, not at every id.
      for (const entry of [...this.#pending.values()]) if (entry.written && entry.id >= from && entry.id <= to) settled++, this.#settle(entry);
    }
    return settled;
  }

  /** The peer refused `id`: its promise rejects with `error`. False when nothing was waiting for it. */
  nack(id: number, error: Error): boolean {
    const entry = this.#pending.get(id);
    if (!entry?.written) return false;
    this.#settle(entry, error);
    return true;
  }

  /** Reject every pending frame with `error` (the stream is corrupt: no later ack can be trusted). Delivery goes on. */
  failAll(error: Error): void {
    for (const entry of [...this.#pending.values()]) this.#settle(entry, error);
  }

  /**
   * Stop taking frames; wait up to `drainMs` (default `ackTimeoutMs`) on the
   * clock for those in flight, then reject the rest with `closed('closed')`.
   */
  close(drainMs = this.#ackTimeoutMs): Promise<void> {
    this.#closing ??= (async () => {
      this.#ended ??= this.#errors.closed('closed');
      this.#fill();
      if (this.#pending.size) {
        const drained = [...this.#pending.values()].map((e) => new Promise<void>((r) => {
          const { resolve, reject } = e;
          e.resolve = () => (resolve(), r());
          e.reject = (x) => (reject(x), r());
        }));
        let timer: unknown;
        await Promise.race([Promise.all(drained), new Promise<void>((r) => (timer = this.#clock.setTimeout(r, drainMs)))]);
        this.#clock.clearTimeout(timer);
      }
      this.failAll(this.#ended);
      this.#sub.unsubscribe();
    })();
    return this.#closing;
  }

  #usable() {
    if (this.#ended) throw this.#ended;
    if (!this.#resend && this.#state !== 'connected') throw this.#errors.closed('lost');
  }

  #onState(state: ConnectionState) {
    const from = this.#state;
    this.#state = state;
    if (state === 'connected' && from !== 'connected') {
      this.#gen++;
      // Unacked frames sent on a lost link, failed sends, and frames made while
      // down: all of them, in id order, before anything newer.
      const again = [...this.#pending.values()].filter((e) => e.sentOn < this.#gen || e.resend).sort((a, b) => a.id - b.id);
      for (const entry of again) this.#queue(entry);
      this.#flush();
      return;
    }
    if (from === 'connected') {
      if (!this.#resend) {
        // Without resend a lost link ends delivery: nothing in flight can be acked now.
        this.#ended ??= this.#errors.closed('lost');
        for (const entry of [...this.#pending.values()]) this.#settle(entry, this.#errors.linkLost(entry.id));
        this.#fill();
      } else {
        // They will be sent again on the next link, with fresh timers: an outage is not an ack timeout.
        for (const entry of this.#pending.values()) this.#unwatch(entry);
      }
    }
    if (state === 'failed') {
      // The connection gave up; a supervisor may restart it, and delivery goes on then.
      const error = this.#errors.closed('failed');
      for (const entry of [...this.#pending.values()]) this.#settle(entry, error);
    }
  }

  #end(reason: 'failed' | 'gone') {
    this.#ended ??= this.#errors.closed(reason);
    this.failAll(this.#ended);
    this.#fill();
  }

  /** A slot for this caller: the next id, its frame made, sent when connected. */
  readonly #start = (build: Build, arg: unknown, resolve: () => void, reject: (e: Error) => void): void => {
    const id = ++this.#nextId;
    let frame: Payload;
    try {
      frame = build(id, arg);
    } catch (error) {
      reject(error as Error); // its slot goes to the next waiter
      return;
    }
    const entry: Entry = { id, frame, resolve, reject, write: undefined, sentOn: 0, resend: false, batched: false, written: false };
    this.#pending.set(id, entry);
    // Otherwise it waits, unsent, for the next `connected` (see #onState).
    if (this.#state === 'connected') this.#queue(entry);
  };

  readonly #refuse = (_build: Build, _arg: unknown, _resolve: () => void, reject: (e: Error) => void): void => reject(this.#ended!);

  /**
   * Freed slots go to the waiters in call order, at once (a later caller
   * cannot take a slot a waiter was owed); once delivery has ended, every
   * waiter is rejected.
   */
  #fill() {
    if (this.#ended) {
      while (this.#waiting.length > 0) this.#waiting.shift(this.#refuse);
      return;
    }
    while (this.#pending.size < this.#limit && this.#waiting.length > 0) this.#waiting.shift(this.#start);
  }

  /** Stop `entry`'s ack timer (the last frame of a send clears the send's timer). */
  #unwatch(entry: Entry) {
    const write = entry.write;
    entry.write = undefined;
    if (write && --write.left === 0) this.#clock.clearTimeout(write.timer);
  }

  /**
   * Writes made in the same turn (a burst of deliveries, or the senders woken
   * by a batch of acks) go out as one send, after the turn's microtasks.
   */
  #queue(entry: Entry) {
    entry.resend = false;
    if (entry.batched) return; // already in the next send
    entry.batched = true;
    this.#batch.push(entry);
    if (this.#batch.length === 1) queueMicrotask(() => this.#flush());
    else if (this.#batch.length >= this.#batchLimit) this.#flush(); // keep the peer busy while we prepare the rest
  }

  #flush() {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const connected = this.#state === 'connected';
    const live: Entry[] = [];
    const frames: Payload[] = [];
    for (const e of batch) {
      e.batched = false;
      // Lost before the flush: the frames wait (unsent) for the next `connected`.
      if (!connected || this.#pending.get(e.id) !== e) continue;
      e.written = true;
      live.push(e);
      frames.push(e.frame);
    }
    if (live.length === 0) return;
    const payload = this.#join(frames);
    const gen = this.#gen;
    this.#c.send(payload).then(
      () => this.#sent(live, gen),
      (error: unknown) => {
        const again = this.#resend && !this.#ended;
        // Without resend a failed write ends delivery at once: later frames must not wait.
        if (!this.#resend) this.#ended ??= this.#errors.closed('lost');
        for (const e of live) {
          if (!this.#pending.has(e.id)) continue;
          if (again) e.resend = true; // the link went down under it: sent again after the reconnect
          else this.#settle(e, this.#errors.sendFailed(e.id, error));
        }
      },
    );
  }

  #sent(live: Entry[], gen: number) {
    if (gen !== this.#gen || this.#state !== 'connected') {
      // Accepted by a link that is gone by now: sent again on the next one, no timer meanwhile.
      for (const e of live) if (this.#pending.has(e.id)) e.sentOn = gen;
      return;
    }
    // One timer per send: each frame must be acked within ackTimeoutMs of it.
    const write: Write = {
      left: 0,
      timer: this.#clock.setTimeout(() => {
        for (const e of live) if (e.write === write) this.#settle(e, this.#errors.ackTimeout(e.id, this.#ackTimeoutMs));
      }, this.#ackTimeoutMs),
    };
    for (const e of live) {
      if (!this.#pending.has(e.id)) continue; // acked before the send settled
      e.sentOn = gen;
      if (e.write && --e.write.left === 0) this.#clock.clearTimeout(e.write.timer); // sent again (a resend)
      e.write = write;
      write.left++;
    }
    if (write.left === 0) this.#clock.clearTimeout(write.timer);
  }

  #settle(entry: Entry, error?: Error) {
    if (!this.#pending.delete(entry.id)) return;
    // A send's timer stays for its other frames; the last one clears it.
    this.#unwatch(entry);
    // An entry that waited long is in the old generation: holding the (young) frame
    // would keep it alive through scavenges until a full GC (issue 15: most of the GC time).
    entry.frame = '';
    if (error) entry.reject(error);
    else entry.resolve();
    if (this.#waiting.length > 0) this.#fill();
  }
}
