/** InboundSubject: a link's inbound stream holds what arrives before its first subscriber. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { take } from 'rxjs';
import { InboundSubject, LinkCore } from '../../transports/link-core.js';
import { LinkClosedError } from '../../machines/ports/errors.js';

const test = suite('inbound');

test('inbound: held values reach the first subscriber in order, then it is hot', () => {
  const s = new InboundSubject<string>();
  s.next('a');
  s.next('b');
  const got: string[] = [];
  s.asObservable().subscribe((v) => got.push(v));
  s.next('c');
  const late: string[] = [];
  s.asObservable().subscribe((v) => late.push(v));
  s.next('d');
  assert.equal(got, ['a', 'b', 'c', 'd']);
  assert.equal(late, ['d'], 'a later subscriber sees only what arrives after it');
});

test('inbound: a first subscriber that takes one leaves the rest held for the next', () => {
  const s = new InboundSubject<string>();
  for (const v of ['a', 'b', 'c']) s.next(v);
  const first: string[] = [];
  s.asObservable().pipe(take(1)).subscribe((v) => first.push(v));
  const second: string[] = [];
  s.asObservable().subscribe((v) => second.push(v));
  assert.equal(first, ['a']);
  assert.equal(second, ['b', 'c']);
});

test('inbound: a value that arrives during the replay is not lost, and completion after held values still delivers them', () => {
  const s = new InboundSubject<string>();
  s.next('ping');
  const got: string[] = [];
  s.asObservable().subscribe((v) => {
    got.push(v);
    if (v === 'ping') s.next('after'); // e.g. the reply to a ping arrives synchronously
  });
  assert.equal(got, ['ping', 'after']);

  const t = new InboundSubject<string>();
  t.next('x');
  t.complete();
  t.next('ignored');
  const seen: string[] = [];
  let completed = false;
  t.asObservable().subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
  assert.equal(seen, ['x']);
  assert.ok(completed);
});

test('inbound: every open subscriber gets each value; one that unsubscribed gets nothing more, and is told nothing at the end', () => {
  const s = new InboundSubject<string>();
  const a: string[] = [];
  const b: string[] = [];
  let aDone = false;
  let bDone = false;
  const subA = s.asObservable().subscribe({ next: (v) => a.push(v), complete: () => (aDone = true) });
  s.asObservable().subscribe({ next: (v) => b.push(v), complete: () => (bDone = true) });
  s.next('1');
  subA.unsubscribe();
  s.next('2');
  // A subscriber that joins while a value is delivered sees the next one, not that one.
  const c: string[] = [];
  let joined = false;
  const subD = s.asObservable().subscribe(() => {
    if (joined) return;
    joined = true;
    s.asObservable().subscribe((v) => c.push(v));
  });
  s.next('3');
  s.next('4');
  subD.unsubscribe();
  s.complete();
  assert.equal(a, ['1']);
  assert.equal(b, ['1', '2', '3', '4']);
  assert.equal(c, ['4']);
  assert.not.ok(aDone, 'unsubscribed: not completed');
  assert.ok(bDone);
  let late = false;
  s.asObservable().subscribe({ complete: () => (late = true) });
  assert.ok(late, 'a subscriber after the end is completed at once');
});

test('LinkCore.close: a transport whose close ends the link at once (synchronously) still records a local close', async () => {
  const core = new LinkCore({ write: (_d, done) => done(), writeError: (e) => e as Error });
  await core.close(() => core.end({}, (canceled) => new LinkClosedError('x', { canceled })));
  assert.equal(await core.closed, { initiatedLocally: true });
  assert.is(core.close(() => assert.unreachable('begin runs once')), core.closing, 'idempotent');
});

test.run();
