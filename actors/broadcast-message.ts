/**
 * One broadcast's message as the links on the data path get it
 * (`Link.sendShared`, machines/ports/transport.ts): a transport encodes it
 * once for all of its links (`memo`), and each link's outcome comes back as a
 * `settle(slot)` call, counted here, where it used to be a promise per link
 * and an `allSettled` over them (issue 15: that was about 30 % of a hub
 * broadcast's time). `settled` resolves once, when every slot has.
 */
import type { Link, Payload, SharedMessage } from '../machines/ports/transport.js';

const PENDING = 0;
const DONE = 1;

export class BroadcastMessage implements SharedMessage {
  readonly data: Payload;
  /** The child id of each slot. */
  readonly ids: string[] = [];
  /** Each slot's error, for the few that failed. */
  readonly errors = new Map<number, Error>();
  readonly settled: Promise<void>;
  #state: number[] = [];
  /** Slots not settled yet, and one more until `seal()`: the count cannot reach 0 while slots are still being given out. */
  #open = 1;
  #resolve!: () => void;
  #key: symbol | undefined;
  #value: unknown;
  #more: Map<symbol, unknown> | undefined;

  constructor(data: Payload) {
    this.data = data;
    this.settled = new Promise((r) => (this.#resolve = r));
  }

  /** Give `link` (child `id`) the message: its `sendShared` when it has one, else `send`. */
  sendTo(id: string, link: Link): void {
    const slot = this.ids.length;
    this.ids.push(id);
    this.#state.push(PENDING);
    this.#open++;
    if (typeof link.sendShared === 'function') {
      try {
        link.sendShared(this, slot);
      } catch (error) {
        // The contract says it never throws; a link that does has failed this send, not the broadcast.
        this.settle(slot, error instanceof Error ? error : new Error(String(error)));
      }
    } else {
      link.send(this.data).then(
        () => this.settle(slot),
        (error: unknown) => this.settle(slot, error instanceof Error ? error : new Error(String(error))),
      );
    }
  }

  /** No more slots: `settled` resolves once the given ones have. */
  seal(): void {
    this.#release();
  }

  memo<T>(key: symbol, make: (data: Payload) => T): T {
    // Nearly always one kind of link per broadcast: a field, not a map.
    if (this.#key === key) return this.#value as T;
    if (this.#key === undefined) {
      this.#value = make(this.data);
      this.#key = key;
      return this.#value as T;
    }
    const more = (this.#more ??= new Map());
    if (!more.has(key)) more.set(key, make(this.data));
    return more.get(key) as T;
  }

  settle(slot: number, error?: Error): void {
    if (this.#state[slot] !== PENDING) return; // not ours, or settled already: the first call counts
    this.#state[slot] = DONE;
    if (error !== undefined) this.errors.set(slot, error);
    this.#release();
  }

  #release() {
    if (--this.#open === 0) this.#resolve();
  }
}
