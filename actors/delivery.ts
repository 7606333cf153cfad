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
 * - `deliver()` waits for a slot when `inFlightLimit` frames are unacked
 *   (FIFO; a head index, since `Array.shift()` on tens of thousands of
 *   waiters made pipelining slower than stop-and-wait).
 * - Frames delivered in the same turn go out as one `send` (after the turn's
 *   microtasks; at most `batchLimit` per send), with one ack timer per send.
 * - Each frame must be acked within `ackTimeoutMs` of the send that carried it.
 * - With `resend` (the default), a frame whose send failed or whose link was
 *   lost before its ack is sent again, in id order, when the connection is
 *   `connected` again. Without it, a lost link fails every frame in flight and
 *   later `deliver()` calls reject at once.
 * - When the connection ends in `failed` or leaves the supervisor, every
 *   pending frame and later `deliver()` rejects.
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
}

interface Write {
  timer: unknown;
  /** Frames of this write still waiting for their ack. */
  left: number;
}

interface Entry {
  id: number;
  frame: Payload;
  resolve(): void;
  reject(e: Error): void;
  /** The send that carried it last: its ack timer. */
  write?: Write;
  /** The link generation (count of `connected` entries) it was last sent on. */
  sentOn?: number;
  /** Its send failed: send again after the next connect. */
  resend?: boolean;
}

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
  readonly #pending = new Map<number, Entry>();
  readonly #slots = new WakeQueue();
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
    this.#ackTimeoutMs = check.finiteNumber(options.ackTimeoutMs ?? 5000, 'options.ackTimeoutMs', { min: 0, exclusiveMin: true });
    this.#limit = check.integer(options.inFlightLimit ?? 256, 'options.inFlightLimit', { min: 1 });
    this.#batchLimit = check.integer(options.batchLimit ?? 128, 'options.batchLimit', { min: 1 });
    this.#resend = check.boolean(options.resend ?? true, 'options.resend');
    this.#join = check.func(options.join ?? concat, 'options.join', '(frames) => payload');
    this.#state = connection.state;
    if (this.#state === 'connected') this.#gen = 1;
    this.#sub = connection.state$.subscribe({ next: (s) => this.#onState(s), complete: () => this.#end('gone') });
  }

  /** Frames sent (or waiting to be) and not yet acked. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Deliver one frame; resolves when `ack(id)` arrives for it. `build(id)`
   * makes the frame once a slot is free (it may throw: the promise rejects
   * with that error and nothing is sent).
   */
  async deliver(build: (id: number) => Payload): Promise<void> {
    this.#usable();
    while (this.#pending.size >= this.#limit) {
      await new Promise<void>((r) => this.#slots.push(r));
      try {
        this.#usable();
      } catch (e) {
        this.#slots.wakeOne(); // pass the wake-up on: the next waiter must learn it too
        throw e;
      }
    }
    const id = ++this.#nextId;
    const frame = build(id);
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { id, frame, resolve, reject };
      this.#pending.set(id, entry);
      this.#queue(entry);
    });
  }

  /** The peer acknowledged `id`. False when nothing was waiting for it. */
  ack(id: number): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return false;
    this.#settle(entry);
    return true;
  }

  /** The peer refused `id`: its promise rejects with `error`. False when nothing was waiting for it. */
  nack(id: number, error: Error): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return false;
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
      this.#slots.wakeAll();
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
      if (++this.#gen === 1) return;
      // Frames sent on the lost link and not acked, and sends that failed: again, in id order.
      const again = [...this.#pending.values()].filter((e) => e.resend || (e.sentOn !== undefined && e.sentOn < this.#gen)).sort((a, b) => a.id - b.id);
      for (const entry of again) this.#queue(entry);
      return;
    }
    if (from === 'connected' && !this.#resend) {
      // Without resend a lost link ends delivery: nothing in flight can be acked now.
      this.#ended ??= this.#errors.closed('lost');
      for (const entry of [...this.#pending.values()]) this.#settle(entry, this.#errors.linkLost(entry.id));
      this.#slots.wakeAll();
    }
    if (state === 'failed') this.#end('failed');
  }

  #end(reason: 'failed' | 'gone') {
    this.#ended ??= this.#errors.closed(reason);
    this.failAll(this.#ended);
    this.#slots.wakeAll();
  }

  /**
   * Writes made in the same turn (a burst of deliveries, or the senders woken
   * by a batch of acks) go out as one send, after the turn's microtasks.
   */
  #queue(entry: Entry) {
    entry.resend = false;
    this.#batch.push(entry);
    if (this.#batch.length === 1) queueMicrotask(() => this.#flush());
    else if (this.#batch.length >= this.#batchLimit) this.#flush(); // keep the peer busy while we prepare the rest
  }

  #flush() {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const live = batch.filter((e) => this.#pending.has(e.id));
    if (live.length === 0) return;
    const payload = this.#join(live.map((e) => e.frame));
    this.#c.send(payload).then(
      () => this.#sent(live),
      (error: unknown) => {
        const again = this.#resend && !this.#ended;
        // Without resend a failed write ends delivery at once: later frames must not wait in an outbox.
        if (!this.#resend) this.#ended ??= this.#errors.closed('lost');
        for (const e of live) {
          if (!this.#pending.has(e.id)) continue;
          if (again) e.resend = true; // the link went down under it: sent again after the reconnect
          else this.#settle(e, this.#errors.sendFailed(e.id, error));
        }
      },
    );
  }

  #sent(live: Entry[]) {
    const gen = this.#gen;
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
    const write = entry.write;
    entry.write = undefined;
    // A send's timer stays for its other frames; the last one clears it.
    if (write && --write.left === 0) this.#clock.clearTimeout(write.timer);
    if (error) entry.reject(error);
    else entry.resolve();
    this.#slots.wakeOne();
  }
}
