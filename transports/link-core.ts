/**
 * What every socket-backed `Link` (transports/transport.ts) keeps the same
 * way: the inbound subject, the `closed` promise, the writes still in flight
 * and how they are rejected, and the idempotent close that waits for the end.
 * The WebSocket and the stream (UNIX/TCP) links are built on it; each only
 * says how to write, how to begin a close, and what ended the link.
 * A class with plain fields: `send` runs per message per connection.
 */
import { Observable, type Subscriber } from 'rxjs';
import { LinkClosedError } from '../machines/ports/errors.js';
import type { CloseInfo, Payload, SharedMessage } from '../machines/ports/transport.js';

export interface LinkCoreOptions {
  /** Hand `data` to the transport; call `done` when it is written (with the error, when it failed). */
  write(data: Payload, done: (err?: Error | null) => void): void;
  /** The rejection for a write that failed. */
  writeError(err: Error): Error;
}

/**
 * The inbound stream of a link: hot, except that what arrives before the
 * first subscriber is held for it. A peer that speaks first (a welcome
 * message, a snapshot on connect) writes between the handshake and the
 * moment the link's owner subscribes; a plain Subject dropped those frames.
 *
 * Not an RxJS Subject underneath: a server holds one per connection, and a
 * Subject with its subscription, teardown and finalizer list was about
 * 0.4 KB of each (issue 15). Subscribers are kept as they are (usually one)
 * and forgotten once closed: on the next value, the next subscribe, or the end.
 */
export class InboundSubject<T> {
  /** The subscriber, or the subscribers when more than one listens. */
  #to: Subscriber<T> | Subscriber<T>[] | undefined;
  #held: T[] | undefined = [];
  #completed = false;
  readonly observable = new Observable<T>(this.#subscribe.bind(this));

  next(value: T): void {
    if (this.#completed) return;
    if (this.#held) {
      this.#held.push(value);
      return;
    }
    const to = this.#to;
    if (to === undefined) return;
    if (!Array.isArray(to)) {
      if (to.closed) this.#to = undefined;
      else to.next(value);
      return;
    }
    // A copy: a subscriber may subscribe or unsubscribe another while it is told.
    for (const s of to.slice()) if (!s.closed) s.next(value);
    this.#prune();
  }

  complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    const to = this.#to;
    this.#to = undefined;
    if (Array.isArray(to)) for (const s of to) s.complete();
    else to?.complete();
  }

  asObservable(): Observable<T> {
    return this.observable;
  }

  #subscribe(subscriber: Subscriber<T>): void {
    const held = this.#held;
    if (held) {
      // One at a time while the subscriber is open: a `take(1)` leaves the
      // rest held for the next subscriber, and what arrives during the replay
      // is appended to `held` and replayed in order.
      while (held.length > 0 && !subscriber.closed) subscriber.next(held.shift()!);
      if (subscriber.closed) return;
      this.#held = undefined;
    }
    if (this.#completed) {
      subscriber.complete();
      return;
    }
    this.#prune();
    const to = this.#to;
    if (to === undefined) this.#to = subscriber;
    else if (Array.isArray(to)) to.push(subscriber);
    else this.#to = [to, subscriber];
  }

  /** Forget the subscribers that unsubscribed. */
  #prune(): void {
    const to = this.#to;
    if (to === undefined) return;
    if (!Array.isArray(to)) {
      if (to.closed) this.#to = undefined;
      return;
    }
    const open = to.filter((s) => !s.closed);
    this.#to = open.length === 0 ? undefined : open.length === 1 ? open[0] : open;
  }
}

export class LinkCore {
  readonly incoming = new InboundSubject<Payload>();
  readonly closed: Promise<CloseInfo>;
  /** The link has ended (`end` ran). */
  ended = false;
  /** Set once `close()` was called. */
  closing: Promise<void> | undefined;
  #resolveClosed!: (info: CloseInfo) => void;
  /** Writes in flight; made on the first write (a link that never sends, a viewer that only listens, needs none). */
  #pending: Set<(e: Error) => void> | undefined;
  /** Called as methods: a link may pass itself (issue 15: no closures per link). */
  readonly #io: LinkCoreOptions;
  /** Broadcast writes in flight (`trackShared`), in write order: message, slot, message, slot, ... Made on first use. */
  #shared: Array<SharedMessage | number> | undefined;
  #sharedDone: ((err?: Error | null) => void) | undefined;

  constructor(options: LinkCoreOptions) {
    this.closed = new Promise<CloseInfo>((r) => (this.#resolveClosed = r));
    this.#io = options;
  }

  /** Write `data`, tracked until its callback. Callers check `ended`/`closing` first (with their own reason). */
  write(data: Payload): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending = (this.#pending ??= new Set());
      pending.add(reject);
      this.#io.write(data, (err) => {
        if (!pending.delete(reject)) return; // already rejected by a close or an end
        if (err) reject(this.#io.writeError(err));
        else resolve();
      });
    });
  }

  /**
   * A write of a broadcast (`Link.sendShared`) that did not finish on the
   * spot: `write(done)` starts it with the link's one shared callback, and
   * `message.settle(slot)` follows when that runs (with the error, if any),
   * or when the link closes or ends first, as for `write`. No promise and no
   * closure per write: the callbacks come in write order, so a queue of
   * (message, slot) pairs says whose each one is. Callers check
   * `ended`/`closing` first; every write given `done` must call it once.
   */
  trackShared(message: SharedMessage, slot: number, write: (done: (err?: Error | null) => void) => void): void {
    const shared = (this.#shared ??= []);
    shared.push(message, slot);
    this.#sharedDone ??= (err) => {
      if (shared.length === 0) return; // already settled by a close or an end
      const m = shared.shift() as SharedMessage;
      const s = shared.shift() as number;
      m.settle(s, err ? this.#io.writeError(err) : undefined);
    };
    write(this.#sharedDone);
  }

  /**
   * The link ended: in-flight writes reject (canceled when the close was
   * ours), `incoming` completes, `closed` resolves with `info` (its
   * `initiatedLocally` filled in). Later calls do nothing.
   */
  end(info: Omit<CloseInfo, 'initiatedLocally'>, pendingError: (canceled: boolean) => Error): void {
    if (this.ended) return;
    this.ended = true;
    const local = this.closing !== undefined;
    this.#rejectPending(() => pendingError(local));
    this.incoming.complete();
    this.#resolveClosed({ initiatedLocally: local, ...info });
  }

  /** Close deliberately, once: in-flight writes reject as canceled, `begin` starts the transport's close; resolves when `end` ran. */
  close(begin: () => void): Promise<void> {
    if (this.closing) return this.closing;
    let resolve!: () => void;
    // Set before `begin` runs: a transport whose close ends the link at once (synchronously) must see it as ours.
    this.closing = new Promise<void>((r) => (resolve = r));
    if (this.ended) {
      resolve();
      return this.closing;
    }
    void this.closed.then(() => resolve());
    // The caller gave up on what is in flight.
    this.#rejectPending(() => new LinkClosedError('link closed while sending', { canceled: true }));
    begin();
    return this.closing;
  }

  #rejectPending(error: () => Error) {
    const pending = this.#pending;
    if (pending) {
      for (const reject of pending) reject(error());
      pending.clear();
    }
    const shared = this.#shared;
    if (!shared) return;
    // Emptied before settling: a settle that writes again must not see these.
    const settling = shared.splice(0);
    for (let i = 0; i < settling.length; i += 2) (settling[i] as SharedMessage).settle(settling[i + 1] as number, error());
  }
}
