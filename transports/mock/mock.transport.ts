/**
 * `mockTransport()`: an in-memory transport with controls, for machine-level
 * tests and for users' own tests (exported from `statewire/testing`).
 *
 * Everything settles without timers (promises and microtasks only), so tests
 * driven by `SimulatedClock` are exact: a connect that is allowed to succeed
 * has succeeded after `await flush()`, whatever the clock says.
 *
 * @example
 * ```ts
 * const mock = mockTransport();
 * mock.failNextConnects(2);            // the next two connects are refused
 * const conn = createActor(connectionMachine, { input: { id: 'a', transport: mock } }).start();
 * conn.send({ type: 'CONNECT' });
 * mock.drop();                          // the open link is lost
 * mock.emit('hello');                   // inbound data
 * mock.written;                         // everything sent, in order
 * ```
 */
import { InboundSubject } from '../link-core.js';
import * as check from '../../machines/ports/check.js';
import { ConnectionError, LinkClosedError } from '../../machines/ports/errors.js';
import { checkPayload, type CloseInfo, type ConnectOptions, type Link, type Payload, type Transport } from '../../machines/ports/transport.js';

export interface MockTransportOptions {
  /** `kind` reported by the transport. Default `'mock'`. */
  kind?: string;
}

export interface MockTransport extends Transport {
  /** The next `n` connects reject with a `ConnectionError` (`cause.code` ECONNREFUSED). */
  failNextConnects(n: number, error?: Error): void;
  /** The next `n` connects never settle until their signal aborts. */
  hangNextConnects(n: number): void;
  /** Every connect from now on throws synchronously (a broken transport). Pass false to undo. */
  throwOnConnect(on?: boolean): void;
  /**
   * The open link is lost (the peer went away). `reason` is said in the
   * `LinkClosedError` its `closed` resolves with, or is that error itself.
   * Returns false when no link was open.
   */
  drop(reason?: string | Error): boolean;
  /** Inbound data on the open link. Returns false when no link was open. */
  emit(data: Payload): boolean;
  /** Sends are held in flight until `releaseSends()` (to test cancellation). */
  holdSends(): void;
  /** Completes held sends in order and stops holding. */
  releaseSends(): void;
  /** The next `n` sends fail: the link is lost, as a broken pipe would. */
  failNextSends(n: number): void;
  /** Everything sent and accepted, over every link, in order. */
  readonly written: Payload[];
  /** Connect calls so far. */
  readonly connects: number;
  /** Links opened so far. */
  readonly opened: number;
  /** The currently open link, if any. */
  readonly link: Link | undefined;
  /** Links not yet closed (for leak checks). */
  readonly openLinks: number;
}

export function mockTransport(options: MockTransportOptions = {}): MockTransport {
  check.object(options, 'options');
  const kind = check.nonEmptyString(options.kind ?? 'mock', 'options.kind');
  let failing: Error[] = [];
  let hanging = 0;
  let throwing = false;
  let holding = false;
  let failSends = 0;
  let connects = 0;
  let opened = 0;
  let openLinks = 0;
  const written: Payload[] = [];
  let current: MockLink | undefined;

  interface MockLink extends Link {
    lose(reason: string | Error): void;
    push(data: Payload): void;
    release(): void;
  }

  function openLink(): MockLink {
    const incoming = new InboundSubject<Payload>();
    let resolveClosed!: (info: CloseInfo) => void;
    const closed = new Promise<CloseInfo>((r) => (resolveClosed = r));
    let ended = false;
    let closing: Promise<void> | undefined;
    const held: Array<{ data: Payload; resolve: () => void; reject: (e: Error) => void }> = [];
    openLinks++;

    const end = (info: CloseInfo, canceled: boolean) => {
      if (ended) return;
      ended = true;
      openLinks--;
      if (current === link) current = undefined;
      for (const h of held.splice(0)) {
        h.reject(new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', { canceled, cause: info.error }));
      }
      incoming.complete();
      resolveClosed(info);
    };

    const link: MockLink = {
      incoming$: incoming.asObservable(),
      closed,
      send(data) {
        if (ended) return Promise.reject(new LinkClosedError('link is closed', { canceled: closing !== undefined }));
        if (failSends > 0) {
          failSends--;
          const error = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
          // The failure is reported after the caller's promise settles, like a socket's 'error'.
          queueMicrotask(() => end({ initiatedLocally: false, code: 'EPIPE', error }, false));
          return Promise.reject(new LinkClosedError('link lost while sending', { canceled: false, closeCode: 'EPIPE', cause: error }));
        }
        if (holding) return new Promise((resolve, reject) => held.push({ data, resolve, reject }));
        written.push(data);
        return Promise.resolve();
      },
      close() {
        closing ??= Promise.resolve().then(() => end({ initiatedLocally: true }, true));
        return closing;
      },
      lose(reason) {
        const error = reason instanceof Error ? reason : new LinkClosedError(`link lost: ${reason}`, { canceled: false });
        end({ initiatedLocally: false, reason: reason instanceof Error ? reason.message : reason, error }, false);
      },
      push(data) {
        if (!ended) incoming.next(data);
      },
      release() {
        for (const h of held.splice(0)) {
          written.push(h.data);
          h.resolve();
        }
      },
    };
    return link;
  }

  return {
    kind,
    connect({ signal }: ConnectOptions): Promise<Link> {
      check.shape(signal, 'options.signal', { aborted: 'boolean' }, 'an AbortSignal');
      if (throwing) throw new Error('mock transport: connect threw');
      connects++;
      if (signal.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true }));
      const failure = failing.shift();
      if (failure) return Promise.reject(failure);
      if (hanging > 0) {
        hanging--;
        return new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new LinkClosedError('connect aborted', { canceled: true })), { once: true });
        });
      }
      const link = openLink();
      opened++;
      current = link;
      return Promise.resolve(link);
    },
    failNextConnects(n, error) {
      check.integer(n, 'n', { min: 0 });
      for (let i = 0; i < n; i++) {
        failing.push(
          error ??
            new ConnectionError('connect ECONNREFUSED (mock)', {
              kind,
              cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
            }),
        );
      }
    },
    hangNextConnects(n) {
      check.integer(n, 'n', { min: 0 });
      hanging += n;
    },
    throwOnConnect(on = true) {
      throwing = on;
    },
    drop(reason = 'dropped by test') {
      if (!current) return false;
      current.lose(reason);
      return true;
    },
    emit(data) {
      checkPayload(data, 'data');
      if (!current) return false;
      current.push(data);
      return true;
    },
    holdSends() {
      holding = true;
    },
    releaseSends() {
      holding = false;
      current?.release();
    },
    failNextSends(n) {
      check.integer(n, 'n', { min: 0 });
      failSends += n;
    },
    get written() {
      return written;
    },
    get connects() {
      return connects;
    },
    get opened() {
      return opened;
    },
    get link() {
      return current;
    },
    get openLinks() {
      return openLinks;
    },
  };
}
