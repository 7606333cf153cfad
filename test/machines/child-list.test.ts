/**
 * The supervisor's children in start order (issue 15): O(1) add, find and
 * remove, and the walks the strategies and the shutdown need.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildList } from '../../machines/child-list.js';

const test = suite('child list');
const ids = (list: Iterable<{ id: string }>) => Array.from(list, (c) => c.id);

function listOf(...names: string[]) {
  const list = new ChildList<{ id: string }>();
  for (const id of names) list.push({ id });
  return list;
}

test('child list: start order, find by id, remove from anywhere, re-add at the end', () => {
  const list = listOf('a', 'b', 'c', 'd');
  assert.equal(ids(list), ['a', 'b', 'c', 'd']);
  assert.is(list.size, 4);
  assert.equal(list.get('c'), { id: 'c' });
  assert.is(list.get('z'), undefined);
  assert.ok(list.delete('a') && list.delete('c') && list.delete('d'));
  assert.not.ok(list.delete('c'), 'already gone');
  assert.equal(ids(list), ['b']);
  list.push({ id: 'a' });
  list.push({ id: 'e' });
  assert.equal(ids(list), ['b', 'a', 'e'], 'a child started again goes last');
  assert.equal(ids(list.reversed()), ['e', 'a', 'b']);
  assert.throws(() => list.push({ id: 'b' }), /already listed/);
});

test('child list: from(id) is that child and every child started after it', () => {
  const list = listOf('a', 'b', 'c', 'd');
  list.delete('c');
  list.push({ id: 'c' });
  assert.equal(ids(list.from('b')), ['b', 'd', 'c']);
  assert.equal(ids(list.from('c')), ['c']);
  assert.equal(list.from('nope'), []);
});

test('child list: a walk survives removals made during it, the current child included', () => {
  const list = listOf('a', 'b', 'c', 'd', 'e');
  const seen: string[] = [];
  for (const child of list) {
    seen.push(child.id);
    if (child.id === 'b') {
      list.delete('b');
      list.delete('c');
    }
  }
  assert.equal(seen, ['a', 'b', 'd', 'e']);
  assert.equal(ids(list), ['a', 'd', 'e']);
});

test('child list: ids like __proto__ and constructor are ordinary; JSON is the array in start order', () => {
  const list = listOf('__proto__', 'constructor');
  assert.equal(list.get('__proto__'), { id: '__proto__' });
  assert.is(list.get('toString'), undefined);
  assert.is(JSON.stringify({ specs: list }), '{"specs":[{"id":"__proto__"},{"id":"constructor"}]}');
});

test.run();
