/**
 * The link registry (issue 10): the live link stays out of the machine's
 * context; the transport actor tells an injected `LinkRegistry` of each
 * attempt's link, tagged with the attempt's `gen`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LinkRegistry } from '../../machines/link-registry.js';
import type { Link } from '../../machines/ports/transport.js';
import { inState } from '../../machines/state.js';
import { startConnection } from '../helpers/connection.js';

const test = suite('link registry');

/** A registry that records every call, and the links it holds now. */
function recording() {
  const calls: string[] = [];
  const open = new Map<string, { gen: number; link: Link }>();
  const links: LinkRegistry = {
    opened(id, gen, link) {
      calls.push(`opened ${id} ${gen}`);
      open.set(id, { gen, link });
    },
    closed(id, gen) {
      calls.push(`closed ${id} ${gen}`);
      if (open.get(id)?.gen === gen) open.delete(id);
    },
  };
  return { links, calls, open };
}

test('links: each attempt registers its link (tagged with gen) and forgets it when it is lost, replaced, closed or stopped', async () => {
  const r = recording();
  const c = startConnection({ links: r.links, random: () => 0.5 });
  await c.send({ type: 'CONNECT' });
  assert.is(c.state(), 'connected');
  assert.is(r.open.get('c1')?.gen, c.actor.getSnapshot().context.gen, 'the current attempt');
  assert.is(r.open.get('c1')?.link, c.mock.link, 'the open link');
  assert.not.ok('link' in c.actor.getSnapshot().context, 'no live link in the context');
  c.mock.drop('peer went away');
  await c.advance(0);
  assert.is(r.open.size, 0, 'lost');
  await c.advance(100);
  assert.is(c.state(), 'connected');
  await c.send({ type: 'TX_DROP' });
  await c.send({ type: 'DISCONNECT' });
  await c.send({ type: 'CONNECT' });
  c.stop();
  await c.advance(0);
  assert.equal(r.calls, [
    'opened c1 1', 'closed c1 1', // lost
    'opened c1 2', 'closed c1 2', // replaced by the fast path
    'opened c1 3', 'closed c1 3', // DISCONNECT
    'opened c1 4', 'closed c1 4', // the actor stopped
  ]);
  assert.is(r.open.size, 0);
});

test('links: registered before LINK_OPEN is handled, so a subscriber that sees `connected` finds the link', async () => {
  const r = recording();
  const c = startConnection({ links: r.links });
  const seen: Array<number | undefined> = [];
  c.actor.subscribe((snapshot) => {
    if (inState(snapshot, 'connected')) seen.push(r.open.get('c1')?.gen);
  });
  await c.send({ type: 'CONNECT' });
  assert.ok(seen.length > 0);
  assert.ok(seen.every((gen) => gen === 1));
  c.stop();
});

test('links: an attempt given up before its link opened registers nothing', async () => {
  const r = recording();
  const c = startConnection({ links: r.links, policy: { connectTimeoutMs: 50 } });
  c.mock.hangNextConnects(1);
  await c.send({ type: 'CONNECT' });
  await c.advance(50);
  assert.is(c.state(), 'reconnecting');
  c.stop();
  await c.advance(0);
  assert.equal(r.calls, []);
});

test('links: input.links must be a LinkRegistry', () => {
  const c = startConnection({ links: { opened() {} } as unknown as LinkRegistry });
  const snap = c.actor.getSnapshot();
  assert.is(snap.status, 'error');
  assert.match(String((snap as { error?: Error }).error?.message), /input\.links/);
});

test.run();
