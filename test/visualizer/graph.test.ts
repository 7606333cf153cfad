/** machineGraph: what the visualizer draws, taken from the machine definition. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionMachine } from '../../machines/connection.machine.js';
import { machineGraph } from '../../visualizer/graph.js';

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

test.run();
