/**
 * One connection attempt's link: it opens the link through the injected
 * `Transport`, reports what happens to it (LINK_OPEN, LINK_DATA, LINK_LOST,
 * ...) tagged with its attempt number `gen`, performs sends, and closes it.
 *
 * A class, not a closure per attempt: a server holds one per connection, so
 * its state is fields and its code is on the prototype (issue 15, "Lighter
 * connections"). Hosted two ways: inside the connection actor itself (what
 * `connectionMachine` does with its stock transport, see connection.machine.ts)
 * or as the `transportActor` child (what a machine given its own `transport`
 * actor spawns).
 */
import { LinkClosedError } from './ports/errors.js';
import type { Link, Payload, Transport } from './ports/transport.js';
import type { LinkReport, SendTicket } from './events.js';
import type { LinkRegistry } from './link-registry.js';

export interface LinkSessionInput {
  transport: Transport;
  gen: number;
  connectionId: string;
  /** Told when the link opens and when it closes or ends (see `LinkRegistry`). */
  links?: LinkRegistry | undefined;
}

const ignore = () => {};

export class LinkSession {
  readonly gen: number;
  readonly #connectionId: string;
  readonly #links: LinkRegistry | undefined;
  readonly #report: (e: LinkReport) => void;
  /** Only while the connect is pending: afterwards aborting it means nothing, and an AbortSignal is heavy. */
  #abort: AbortController | undefined;
  #link: Link | undefined;
  #sub: { unsubscribe(): void } | undefined;
  #registered = false;
  #stopped = false;
  #closing: Promise<void> | undefined;

  /** Starts connecting at once; `report` gets every LinkReport until `stop()`. */
  constructor(input: LinkSessionInput, report: (e: LinkReport) => void) {
    this.gen = input.gen;
    this.#connectionId = input.connectionId;
    this.#links = input.links;
    this.#report = report;
    const abort = (this.#abort = new AbortController());
    try {
      input.transport.connect({ signal: abort.signal }).then(
        (link) => this.#opened(link),
        (error) => {
          this.#abort = undefined;
          if (!this.#closing) this.#send({ type: 'LINK_FAILED', gen: this.gen, error });
        },
      );
    } catch (error) {
      // A transport that throws instead of rejecting still only fails this attempt.
      this.#abort = undefined;
      queueMicrotask(() => this.#send({ type: 'LINK_FAILED', gen: this.gen, error }));
    }
  }

  /** LINK_SEND: hand `data` to the open link; the ticket learns the outcome. */
  send(data: Payload, ticket: SendTicket | undefined): void {
    const link = this.#link;
    if (!link || this.#closing) {
      ticket?.reject(new LinkClosedError('link is not open', { canceled: !!this.#closing, connectionId: this.#connectionId }));
      return;
    }
    let sent: Promise<void>;
    try {
      sent = link.send(data);
    } catch (error) {
      // A link that throws (a broken contract) is as good as lost: the sender
      // is told, the machine gets a failure of this attempt.
      ticket?.reject(new LinkClosedError('link lost while sending: its send threw', { canceled: false, connectionId: this.#connectionId, cause: error }));
      this.#send({ type: 'LINK_FAILED', gen: this.gen, error });
      return;
    }
    // A failed send means the link is lost; the transport resolves `closed`
    // for that, so only the sender needs telling here.
    sent.then(ticket ? ticket.resolve : ignore, ticket ? ticket.reject : ignore);
  }

  /** LINK_CLOSE: close the link, then report LINK_CLOSED. */
  closeAndReport(): void {
    void this.close().then(() => this.#send({ type: 'LINK_CLOSED', gen: this.gen }));
  }

  /** Close (abort a pending connect, close an open link) once; resolves when the link is closed. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#abort?.abort(new LinkClosedError('connection closed', { canceled: true, connectionId: this.#connectionId }));
      this.#abort = undefined;
      this.#sub?.unsubscribe();
      this.#sub = undefined;
      this.#unregister();
      this.#closing = this.#link ? this.#link.close().catch(ignore) : Promise.resolve();
    }
    return this.#closing;
  }

  /** The attempt is over (its actor stopped, or a newer attempt replaces it): close, and report nothing more. */
  stop(): void {
    void this.close();
    this.#stopped = true;
  }

  /** @internal A chunk the link read (the session observes `incoming$` itself). */
  next(data: Payload): void {
    // The registry may take a chunk straight to its readers (the inbound data path); otherwise it is an event.
    const links = this.#links;
    if (links?.data && !this.#stopped && links.data(this.#connectionId, this.gen, data)) return;
    this.#send({ type: 'LINK_DATA', gen: this.gen, data });
  }

  #send(e: LinkReport): void {
    if (!this.#stopped) this.#report(e);
  }

  #unregister(): void {
    if (!this.#registered) return;
    this.#registered = false;
    this.#links?.closed(this.#connectionId, this.gen);
  }

  #opened(opened: Link): void {
    this.#abort = undefined;
    if (this.#stopped || this.#closing) {
      // We gave up while the transport was finishing: release what it opened.
      void opened.close().catch(ignore);
      return;
    }
    this.#link = opened;
    const { gen } = this;
    // Registered before it is reported, so the link is known by the time the
    // machine is `connected` (a subscriber may send from that very snapshot).
    const links = this.#links;
    if (links) {
      this.#registered = true;
      links.opened(this.#connectionId, gen, opened);
    }
    this.#send({ type: 'LINK_OPEN', gen, link: opened });
    try {
      // The session is the observer itself (`next` below): no closure per link.
      this.#sub = opened.incoming$.subscribe(this);
    } catch (error) {
      this.#send({ type: 'LINK_LOST', gen, error });
      return;
    }
    opened.closed.then(
      (info) => {
        this.#unregister();
        if (!info.initiatedLocally) this.#send({ type: 'LINK_LOST', gen, error: info.error ?? info });
      },
      (error) => {
        this.#unregister();
        this.#send({ type: 'LINK_LOST', gen, error });
      },
    );
  }
}
