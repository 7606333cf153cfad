/**
 * Fakes for the pure parts of `ApiGatewayManager`: an SDK client whose
 * `send(command)` records each PostToConnection and answers as the test says
 * (with the SDK's own exception classes), and a store that counts its calls
 * around a real `MemoryConnectionStore`. Time is a `SimulatedClock`.
 */
import {
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  type PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SimulatedClock } from 'xstate';
import type { ConnectionRecord, ConnectionStore } from '../../transports/apigateway/store.js';
import { MemoryConnectionStore } from '../../transports/apigateway/store/memory.js';

export type Answer = 'ok' | 'gone' | 'throttled' | 'tooLarge' | 'forbidden' | 'server' | 'hold';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, $fault: 'client' as const });

/** The SDK exception a real client throws for `answer`. */
export function sdkError(answer: Exclude<Answer, 'ok' | 'hold'>): Error {
  switch (answer) {
    case 'gone':
      return new GoneException({ message: 'Gone', ...meta(410) });
    case 'throttled':
      return new LimitExceededException({ message: 'Rate exceeded', ...meta(429) });
    case 'tooLarge':
      return new PayloadTooLargeException({ message: 'Payload too large', ...meta(413) });
    case 'forbidden':
      return new ForbiddenException({ message: 'Forbidden', ...meta(403) });
    case 'server':
      return Object.assign(new Error('Internal server error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
  }
}

export interface Call {
  id: string;
  body: string;
  /** On the clock, when the request was made. */
  at: number;
}

/**
 * `answer(id, n)` decides each request (`n`: how many requests to this id
 * before it). `'hold'` keeps it pending until `release()`; `delayMs` answers
 * after that long on the clock.
 */
export class FakeClient {
  readonly calls: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly #held: Array<() => void> = [];
  readonly #seen = new Map<string, number>();

  constructor(
    readonly clock: SimulatedClock,
    public answer: (id: string, n: number) => Answer = () => 'ok',
    public delayMs = 0,
  ) {}

  async send(command: PostToConnectionCommand): Promise<unknown> {
    const { ConnectionId: id, Data } = command.input;
    const body = typeof Data === 'string' ? Data : Buffer.from(Data as Uint8Array).toString('utf8');
    this.calls.push({ id: id!, body, at: this.clock.now() });
    const n = this.#seen.get(id!) ?? 0;
    this.#seen.set(id!, n + 1);
    const answer = this.answer(id!, n);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (answer === 'hold') await new Promise<void>((resolve) => this.#held.push(resolve));
      else if (this.delayMs > 0) await new Promise((resolve) => this.clock.setTimeout(resolve, this.delayMs));
      else await Promise.resolve();
    } finally {
      this.inFlight--;
    }
    if (answer !== 'ok' && answer !== 'hold') throw sdkError(answer);
    return { $metadata: { httpStatusCode: 200 } };
  }

  get held(): number {
    return this.#held.length;
  }

  /** Lets `n` held requests (default all) answer 200. */
  release(n = this.#held.length): void {
    for (const resolve of this.#held.splice(0, n)) resolve();
  }
}

/** A `MemoryConnectionStore` that counts calls and can be made to fail or to hold `updateLastPing`. */
export class CountingStore implements ConnectionStore {
  readonly inner: MemoryConnectionStore;
  readonly count = { get: 0, put: 0, delete: 0, updateLastPing: 0, list: 0 };
  readonly deleted: string[] = [];
  fail: Partial<Record<keyof CountingStore['count'], Error>> = {};
  hold = false;
  readonly #held: Array<() => void> = [];

  constructor(clock: SimulatedClock) {
    this.inner = new MemoryConnectionStore({ clock });
  }

  async get(id: string) {
    this.count.get++;
    if (this.fail.get) throw this.fail.get;
    return this.inner.get(id);
  }
  async put(record: ConnectionRecord) {
    this.count.put++;
    return this.inner.put(record);
  }
  async delete(id: string) {
    this.count.delete++;
    this.deleted.push(id);
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.fail.delete) throw this.fail.delete;
    return this.inner.delete(id);
  }
  async updateLastPing(id: string, at?: number) {
    this.count.updateLastPing++;
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.fail.updateLastPing) throw this.fail.updateLastPing;
    return this.inner.updateLastPing(id, at);
  }
  async list(filter?: Parameters<ConnectionStore['list']>[0]) {
    this.count.list++;
    return this.inner.list(filter);
  }

  get held(): number {
    return this.#held.length;
  }
  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

/** Lets every promise callback and I/O callback queued now run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances `clock` by `ms` in `step`s, settling after each, so work that waits on the clock goes on. */
export async function advance(clock: SimulatedClock, ms: number, step = ms): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.increment(Math.min(step, ms - done));
    await settle();
  }
}

/** A record as a `$connect` handler would store it. */
export function record(connectionId: string, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return { connectionId, connectedAt: 0, lastPingAt: 0, ...extra };
}
