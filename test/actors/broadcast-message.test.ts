/** BroadcastMessage (actors/broadcast-message.ts): one broadcast's outcomes counted per slot, its encodings made once. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { BroadcastMessage } from '../../actors/broadcast-message.js';
import type { Link, Payload, SharedMessage } from '../../machines/ports/transport.js';

const test = suite('broadcast message');

const link = (extra: Partial<Link> = {}): Link => ({
  send: () => Promise.resolve(),
  close: () => Promise.resolve(),
  incoming$: new Subject<Payload>(),
  closed: new Promise(() => {}),
  ...extra,
});

test('broadcast message: settled once every slot has, whenever each settles; the first settle of a slot counts', async () => {
  const later: Array<() => void> = [];
  const m = new BroadcastMessage('hi');
  m.sendTo('now', link({ sendShared: (msg, slot) => msg.settle(slot) }));
  m.sendTo('later', link({ sendShared: (msg, slot) => void later.push(() => msg.settle(slot)) }));
  m.sendTo('twice', link({ sendShared: (msg, slot) => (msg.settle(slot, new Error('no')), msg.settle(slot)) }));
  m.seal();
  let settled = false;
  void m.settled.then(() => (settled = true));
  await Promise.resolve();
  assert.not.ok(settled, 'one slot is still open');
  m.settle(7); // no such slot: ignored
  later[0]!();
  await m.settled;
  assert.equal(m.ids, ['now', 'later', 'twice']);
  assert.equal([...m.errors.keys()], [2]);
  assert.is(m.errors.get(2)!.message, 'no');
});

test('broadcast message: a link without sendShared gets send(data); one that throws has failed, not the broadcast', async () => {
  const sent: Payload[] = [];
  const m = new BroadcastMessage('hi');
  m.sendTo('plain', link({ send: (d) => (sent.push(d), Promise.resolve()) }));
  m.sendTo('refuses', link({ send: () => Promise.reject(new Error('closed')) }));
  m.sendTo('throws', link({ sendShared: () => { throw new Error('bug'); } }));
  m.seal();
  await m.settled;
  assert.equal(sent, ['hi']);
  assert.equal(Object.fromEntries([...m.errors].map(([slot, e]) => [slot, e.message])), { 1: 'closed', 2: 'bug' });
});

test('broadcast message: memo makes each key\'s value once, per message', () => {
  const A = Symbol('a');
  const B = Symbol('b');
  let made = 0;
  const m: SharedMessage = new BroadcastMessage('x');
  const first = m.memo(A, (data) => ({ n: ++made, data }));
  assert.equal(first, { n: 1, data: 'x' }, 'make gets the data');
  assert.is(m.memo(A, () => ({ n: ++made })), first);
  assert.equal(m.memo(B, () => ++made), 2);
  assert.equal(m.memo(B, () => ++made), 2);
  assert.is(m.memo(A, () => ({ n: ++made })), first);
  assert.is(new BroadcastMessage('x').memo(A, () => 'fresh'), 'fresh');
  const empty = new BroadcastMessage('x');
  empty.seal();
  return empty.settled; // no slots: settled at once
});

test.run();
