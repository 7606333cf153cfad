/** machineGraph: what the visualizer draws, taken from the machine definition. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionMachine } from '../../machines/connection.machine.js';
import { machineChart, machineGraph, transitionLabel } from '../../visualizer/graph.js';
import { userMachine } from '../fixtures/user-machine.js';

const test = suite('graph');

const arrows = () =>
  machineGraph(connectionMachine)
    .edges.map((e) => `${e.source} -> ${e.target}: ${[...e.labels].sort().join(', ')}`)
    .sort();

test('graph: the `active` group draws as its three states, each with the transitions it inherits (issue 10)', () => {
  const g = machineGraph(connectionMachine);
  assert.equal(g.states.map((s) => [s.key, s.group ?? '']), [
    ['disconnected', ''],
    ['connecting', 'active'],
    ['connected', 'active'],
    ['tx_dropped', 'active'],
    ['reconnecting', ''],
    ['failed', ''],
  ]);
  assert.ok(g.states.find((s) => s.key === 'disconnected')!.initial);
  // The same arrows as when each state declared DISCONNECT, TX_DROP, RECONNECT and LINK_FAILED itself.
  // connected handles LINK_FAILED on its own (the link is lost), so it has no LINK_FAILED arrow.
  assert.equal(arrows(), [
    'connected -> disconnected: DISCONNECT, LINK_DOWN',
    'connected -> reconnecting: LINK_DOWN [reconnectEnabled], RECONNECT',
    'connected -> tx_dropped: RECONNECT [isFastPath], TX_DROP',
    'connecting -> connected: LINK_OPEN [isCurrentLink]',
    'connecting -> disconnected: DISCONNECT',
    'connecting -> reconnecting: LINK_FAILED [isCurrentLink], RECONNECT, after connectTimeout',
    'connecting -> tx_dropped: RECONNECT [isFastPath], TX_DROP',
    'disconnected -> connecting: CONNECT, always [autoConnectPending]',
    'reconnecting -> connecting: CONNECT, after backoff',
    'reconnecting -> disconnected: DISCONNECT',
    'reconnecting -> failed: always [permanentRepeated], always [retriesExhausted]',
    'reconnecting -> tx_dropped: RECONNECT [isFastPath], TX_DROP',
    'tx_dropped -> connected: LINK_OPEN [isCurrentLink]',
    'tx_dropped -> disconnected: DISCONNECT',
    'tx_dropped -> reconnecting: LINK_FAILED [isCurrentLink], RECONNECT, after fastPathTimeout',
  ]);
});

test('chart: every state node nested as in the machine, targetless transitions listed in their state (issue 17)', () => {
  const c = machineChart(connectionMachine);
  const tree = (s: { key: string; children: Array<{ key: string; children: never[] }> }): unknown => (s.children.length ? { [s.key]: s.children.map(tree) } : s.key);
  assert.equal(tree(c.root as never), {
    connection: [{ disconnected: ['idle', 'closing'] }, { active: ['connecting', { connected: ['checking', 'unwatched', 'watching'] }, 'tx_dropped'] }, 'reconnecting', 'failed'],
  });
  const connected = c.root.children[1]!.children[1]!;
  assert.equal(connected.internal, ['SEND', 'LINK_DATA [isCurrentLink]', 'LINK_LOST [isCurrentLink]', 'LINK_FAILED [isCurrentLink]', 'after stableAfter']);
  assert.equal(c.root.initial, 'connection.disconnected');
  // A group's transitions leave the group's frame once (not once per child); self-transitions stay.
  const arrows = c.transitions.map((t) => `${t.source} -> ${t.target}: ${t.label}`);
  assert.ok(arrows.includes('connection.active -> connection.disconnected.closing: DISCONNECT'));
  assert.ok(arrows.includes('connection.active.connected.watching -> connection.active.connected.watching: DATA_RECEIVED'));
  assert.ok(arrows.includes('connection.reconnecting -> connection.failed: always [retriesExhausted]'));
  assert.ok(arrows.includes('connection.reconnecting -> connection.failed: always [permanentRepeated]'));
});

test('chart: labels name delays, eventless transitions and guards as written', () => {
  assert.is(transitionLabel('xstate.after.1000.door.locked'), 'after 1000 ms');
  assert.is(transitionLabel('xstate.after.backoff.connection.reconnecting', 'isFastPath'), 'after backoff [isFastPath]');
  assert.is(transitionLabel('', { type: 'gaveUp' }), 'always [gaveUp]');
  const labels = machineChart(userMachine).transitions.map((t) => t.label);
  assert.ok(labels.includes('OPEN [not(isLocked)]'), labels.join(' | '));
  assert.ok(labels.includes('always [inline]'), 'an inline guard');
  assert.ok(labels.includes('after 30000 ms'));
  assert.ok(labels.includes('PUSH_HANDLE_WHILE_NOBODY_IS_LOOKING'), 'a self-transition');
});

test.run();
