/**
 * The transport contract suite (transports/transport.ts): every transport runs
 * it against real I/O by providing a harness. Stream transports may split or
 * join messages, so the peer compares text, not message boundaries.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectionError, LinkClosedError } from '../../machines/ports/errors.js';
import type { ConnectOptions, Link, Payload, Transport } from '../../machines/ports/transport.js';

/** The far side of one link, as the harness sees it. */
export interface PeerConnection {
  /** Resolves with everything received so far once it is at least `length` characters long. */
  readText(length: number): Promise<string>;
  /** Send to our side. */
  send(data: string): Promise<void>;
  /** Close from the peer's side (a remote close). */
  close(): Promise<void>;
}

export interface ContractHarness {
  /** Connects to a live peer. */
  transport: Transport;
  /** The peer side of the next link `transport` opens. */
  nextPeer(): Promise<PeerConnection>;
  /** A transport whose connect fails (nobody listening). */
  refused: Transport;
  /** A transport whose connect never completes on its own (a peer that never answers). */
  hanging: Transport;
  /** Make the next sends stay in flight (optional: a real socket may accept everything at once). */
  holdSends?(): void;
  /**
   * The largest message the transport takes (optional: no limit). The suite's
   * big in-flight message is cut to it, so it is a send, not a refused one
   * (API Gateway: 128 KB).
   */
  maxMessageBytes?: number;
  close(): Promise<void>;
}

/** What a transport cannot do at all, declared once for its harness. */
export interface ContractOptions {
  /**
   * The link only sends: it has no inbound path (`incoming$` emits nothing
   * and completes when the link ends). The value says why; the cases that
   * need the peer to write to us are skipped (uvu counts them as skipped)
   * with that reason in their name.
   */
  sendOnly?: string;
}

/**
 * For transports whose connect never stays pending (UNIX sockets, ptys: the
 * kernel completes or refuses it at once): the harness's "hanging" transport
 * holds the call until the caller aborts, then hands the real transport the
 * aborted signal.
 */
export function held(t: Transport): Transport {
  return {
    kind: t.kind,
    connect: ({ signal }: ConnectOptions) =>
      new Promise((resolve, reject) => {
        const go = () => t.connect({ signal }).then(resolve, reject);
        if (signal.aborted) go();
        else signal.addEventListener('abort', go, { once: true });
      }),
  };
}

const text = (d: Payload) => (typeof d === 'string' ? d : Buffer.from(d).toString('utf8'));

export function transportContract(name: string, makeHarness: () => Promise<ContractHarness>, options: ContractOptions = {}) {
  const test = suite(`contract: ${name}`);
  /** A case that needs inbound data: skipped, with the reason, for a send-only transport. */
  const inbound = (title: string, fn: () => Promise<void>) =>
    options.sendOnly ? test.skip(`${title} [skipped: send-only: ${options.sendOnly}]`, fn) : test(title, fn);
  let h: ContractHarness;
  const links: Link[] = [];
  const open = async () => {
    const peer = h.nextPeer();
    const link = await h.transport.connect({ signal: new AbortController().signal });
    links.push(link);
    return { link, peer: await peer };
  };

  test.before.each(async () => {
    h = await makeHarness();
  });
  test.after.each(async () => {
    await Promise.all(links.splice(0).map((l) => l.close()));
    await h.close();
  });

  inbound('contract: the peer writes immediately on accept: nothing is lost before the first subscriber', async () => {
    const peer = h.nextPeer().then(async (p) => {
      await p.send('welcome;');
      return p;
    });
    const link = await h.transport.connect({ signal: new AbortController().signal });
    links.push(link);
    await peer;
    await new Promise((r) => setTimeout(r, 30)); // the greeting has arrived; nobody has subscribed yet
    let got = '';
    link.incoming$.subscribe((d) => (got += text(d)));
    await (await peer).send('second;');
    const end = Date.now() + 2000;
    while (got.length < 'welcome;second;'.length && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.is(got, 'welcome;second;');
  });

  test('contract: connect resolves with an open link of the transport kind', async () => {
    assert.type(h.transport.kind, 'string');
    const { link } = await open();
    assert.type(link.send, 'function');
    assert.type(link.incoming$.subscribe, 'function');
  });

  test('contract: sends arrive in the order they were made, without awaiting each', async () => {
    const { link, peer } = await open();
    const parts = Array.from({ length: 200 }, (_, i) => `m${i};`);
    await Promise.all(parts.map((p) => link.send(p)));
    assert.is(await peer.readText(parts.join('').length), parts.join(''));
  });

  inbound('contract: inbound data arrives on incoming$ in order', async () => {
    const { link, peer } = await open();
    let got = '';
    const want = 'alpha;beta;gamma;';
    const done = new Promise<void>((resolve) =>
      link.incoming$.subscribe((d) => {
        got += text(d);
        if (got.length >= want.length) resolve();
      }),
    );
    for (const m of ['alpha;', 'beta;', 'gamma;']) await peer.send(m);
    await done;
    assert.is(got, want);
  });

  test('contract: a remote close resolves closed (not initiated locally) and completes incoming$', async () => {
    const { link, peer } = await open();
    let completed = false;
    link.incoming$.subscribe({ complete: () => (completed = true) });
    await peer.close();
    const info = await link.closed;
    assert.is(info.initiatedLocally, false);
    assert.ok(completed);
    await link.send('late').then(
      () => assert.unreachable('send after close must reject'),
      (e) => assert.ok(e instanceof LinkClosedError || e instanceof ConnectionError, String(e)),
    );
  });

  test('contract: a deliberate close resolves closed locally; in-flight work rejects as canceled', async () => {
    const { link } = await open();
    h.holdSends?.();
    // Settle-handlers attached at once: the rejection may come before close() resolves.
    const inflight = link.send('x'.repeat(Math.min(4 * 1024 * 1024, h.maxMessageBytes ?? Infinity))).then(
      () => undefined,
      (e: unknown) => e,
    );
    const closing = link.close();
    assert.is(link.close(), closing, 'close() is idempotent');
    await closing;
    const info = await link.closed;
    assert.is(info.initiatedLocally, true);
    const outcome = await inflight;
    if (outcome === undefined) assert.ok(!h.holdSends, 'a held send must not succeed');
    else assert.is((outcome as LinkClosedError).canceled, true, `expected a canceled error, got ${String(outcome)}`);
  });

  test('contract: a failed connect rejects with a typed ConnectionError carrying the cause', async () => {
    const err = await h.refused.connect({ signal: new AbortController().signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, ConnectionError);
    assert.ok((err as ConnectionError).code.startsWith('ERR_'));
  });

  test('contract: aborting a connect rejects it as canceled and leaves nothing open', async () => {
    const ac = new AbortController();
    const p = h.hanging.connect({ signal: ac.signal });
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const err = await p.then(
      (link) => {
        void link.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    assert.instance(err, LinkClosedError);
    assert.is((err as LinkClosedError).canceled, true);
    const pre = new AbortController();
    pre.abort();
    const err2 = await h.hanging.connect({ signal: pre.signal }).then(() => undefined, (e: unknown) => e);
    assert.instance(err2, LinkClosedError, 'an already-aborted signal rejects at once');
  });

  return test;
}
