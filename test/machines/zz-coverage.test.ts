/**
 * Model-based coverage: every transition of `connectionMachine`, as listed by
 * `xstate/graph`, must have been taken by some test in this run. Runs last
 * (test/run.ts orders `zz-` files after the rest). Run alone, it fails.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toDirectedGraph } from 'xstate/graph';
import { connectionMachine } from '../../machines/connection.machine.js';
import { covered, transitionKeys } from '../helpers/coverage.js';

const test = suite('coverage');

type Graph = ReturnType<typeof toDirectedGraph>;

function allTransitions(): string[] {
  const keys = new Set<string>();
  const walk = (g: Graph) => {
    for (const edge of g.edges) for (const k of transitionKeys(edge.transition as never)) keys.add(k);
    // xstate/graph leaves eventless (`always`) transitions out of `edges`; they are transitions too.
    for (const t of (g.stateNode as unknown as { always?: unknown[] }).always ?? []) for (const k of transitionKeys(t as never)) keys.add(k);
    g.children.forEach(walk);
  };
  walk(toDirectedGraph(connectionMachine));
  return [...keys].sort();
}

test('coverage: the graph lists the transitions of the statechart table', () => {
  const all = allTransitions();
  assert.ok(all.length > 40, `only ${all.length} transitions found`);
  for (const row of [
    '#connection.disconnected --CONNECT[0]--> connection.active.connecting',
    '#connection.reconnecting --always[0]--> connection.failed',
  ]) {
    assert.ok(all.some((k) => k.replace(/#/g, '') === row.replace(/#/g, '')), `missing ${row}\n${all.join('\n')}`);
  }
});

test('coverage: every transition of connectionMachine is exercised by a test', () => {
  const missing = allTransitions().filter((k) => !covered.has(k));
  assert.equal(missing, [], `transitions no test takes:\n  ${missing.join('\n  ')}`);
});

test.run();
