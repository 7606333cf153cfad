/** The visualizer's reducer: inspection events of a real supervisor in, the view model (children, states, log) out. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSupervisor } from '../../actors/supervisor.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { machineGraph } from '../../visualizer/graph.js';
import { toWire } from '../../visualizer/server.js';
import { filterLog, initialView, labelOf, reduce, type View } from '../../visualizer/public/reducer.js';

const test = suite('visualizer reducer');

test('inspection events in: children with kind, state, retries, outbox, last error and restarts; the log; filters', async () => {
  const sup = createSupervisor({ id: 'viz', maxRestarts: 10 });
  let view: View = reduce(initialView(), { type: 'hello', graph: machineGraph(connectionMachine), labels: { b: 'simulated' }, supervisor: 'viz', messages: [] });
  sup.inspection$.subscribe((e) => {
    const wire = toWire(e);
    if (wire) view = reduce(view, JSON.parse(JSON.stringify(wire)));
  });
  sup.events$.subscribe((e) => (view = reduce(view, { type: 'log', event: JSON.parse(JSON.stringify(e)) })));
  const a = mockTransport({ kind: 'serial (simulated)' });
  const b = mockTransport();
  sup.startChild({ id: 'a', transport: a, policy: { maxRetries: 0 } });
  sup.startChild({ id: 'b', transport: b, autoConnect: false, restart: 'temporary' });
  await flush();
  assert.equal(view.order, ['a', 'b']);
  assert.is(view.children.a!.state, 'connected');
  assert.is(view.children.a!.kind, 'serial (simulated)');
  assert.is(view.children.b!.state, 'disconnected');
  assert.is(view.supervisor.state, 'running');
  sup.send('b', 'queued one').catch(() => {}); // dropped (stopped) at shutdown
  sup.send('b', 'queued two').catch(() => {});
  await flush();
  assert.is(view.children.b!.outbox, 2);
  a.drop('cable pulled');
  await flush();
  await new Promise((r) => setTimeout(r, 20));
  await flush();
  assert.is(view.children.a!.restarts, 1, 'failed, then restarted by the supervisor');
  assert.ok(view.children.a!.lastError, 'the last error is kept');
  assert.ok(view.log.some((e) => e.type === 'EVENT_MAX_RETRIES_EXCEEDED' && e.connectionId === 'a'));
  assert.ok(filterLog(view.log, { connection: 'b' }).every((e) => e.connectionId === 'b'));
  assert.ok(filterLog(view.log, { type: 'EVENT_STATE_CHANGE' }).length > 3);
  assert.is(view.labels.b, 'simulated');
  // The six state names; `active` is drawn as the group of the three inside it, not as a state.
  assert.equal(view.graph!.states.map((s) => s.key), ['disconnected', 'connecting', 'connected', 'tx_dropped', 'reconnecting', 'failed']);
  assert.equal(view.graph!.states.filter((s) => s.group === 'active').map((s) => s.key), ['connecting', 'connected', 'tx_dropped']);
  await sup.shutdown();
});

test('labels: an exact id, else the longest `prefix*` key the id starts with, else none (children that come and go: apigw-<n>)', () => {
  const labels = { radio: 'emulated TS-590S', 'apigw-*': 'API Gateway (emulator)', 'apigw-x*': 'from outside', 'apigw-7': 'seven' };
  assert.is(labelOf(labels, 'radio'), 'emulated TS-590S');
  assert.is(labelOf(labels, 'apigw-12'), 'API Gateway (emulator)');
  assert.is(labelOf(labels, 'apigw-x1'), 'from outside');
  assert.is(labelOf(labels, 'apigw-7'), 'seven');
  assert.is(labelOf(labels, 'apigw'), '');
  assert.is(labelOf(labels, 'tcp'), '');
  assert.is(labelOf({ '*': 'everything' }, 'tcp'), 'everything');
  assert.is(labelOf({ toString: 'x' } as Record<string, string>, 'constructor'), '', 'inherited members are not labels');
});

test('unknown messages leave the view as it was; the log keeps the newest 500', () => {
  const v = initialView();
  assert.is(reduce(v, { type: 'nonsense' }), v);
  let w = v;
  for (let i = 0; i < 600; i++) w = reduce(w, { type: 'log', event: { type: 'EVENT_STATE_CHANGE', connectionId: 'x', timestamp: i, state: 'connected', data: {} } });
  assert.is(w.log.length, 500);
  assert.is(w.log[0]!.timestamp, 100);
});

test('power: readings grouped per connection, the newest 300 each; alarms become marks; anything malformed is ignored', () => {
  let v = initialView();
  for (let i = 0; i < 310; i++) v = reduce(v, { type: 'power', reading: { connectionId: 'rig', watts: i % 50, at: 1000 * i } });
  v = reduce(v, { type: 'power', reading: { connectionId: 'rig-2', watts: 5, at: 0 } });
  assert.equal(Object.keys(v.power), ['rig', 'rig-2']);
  assert.is(v.power.rig!.length, 300);
  assert.equal(v.power.rig![0], { watts: 10, at: 10_000 });
  assert.equal(v.power.rig!.at(-1), { watts: 309 % 50, at: 309_000 });
  assert.equal(v.power['rig-2'], [{ watts: 5, at: 0 }]);
  for (const reading of [undefined, null, 'x', {}, { connectionId: 'rig', watts: '5', at: 1 }, { connectionId: 'rig', watts: NaN, at: 1 }, { connectionId: 'rig', watts: 1 }, { connectionId: 7, watts: 1, at: 1 }]) {
    assert.is(reduce(v, { type: 'power', reading }), v, `ignored: ${JSON.stringify(reading)}`);
  }
  // An id that is also an Object.prototype member is just an id.
  const odd = reduce(reduce(v, { type: 'power', reading: { connectionId: '__proto__', watts: 1, at: 1 } }), { type: 'power', reading: { connectionId: 'constructor', watts: 2, at: 2 } });
  assert.equal(odd.power['__proto__'], [{ watts: 1, at: 1 }]);
  assert.equal(odd.power.constructor, [{ watts: 2, at: 2 }]);
  const log = (type: string, data: Record<string, unknown>) => ({ type: 'log', event: { type, connectionId: 'rig', timestamp: 5000, state: 'connected', reconnectCount: 0, data } });
  v = reduce(v, log('EVENT_POWER_WARNING', { watts: 0, consecutiveZeros: 1 }));
  v = reduce(v, log('EVENT_POWER_CRITICAL', { watts: 0, consecutiveZeros: 3 }));
  v = reduce(v, log('EVENT_POWER_TREND_WARNING', { watts: 12, slopeWattsPerReading: -3, readingsToZero: 4 }));
  v = reduce(v, log('EVENT_STATE_CHANGE', { from: 'connecting', to: 'connected' }));
  v = reduce(v, log('EVENT_POWER_WARNING', { consecutiveZeros: 1 })); // no watts: logged, not placed
  assert.equal(v.powerMarks.rig, [
    { type: 'EVENT_POWER_WARNING', watts: 0, at: 5000 },
    { type: 'EVENT_POWER_CRITICAL', watts: 0, at: 5000 },
    { type: 'EVENT_POWER_TREND_WARNING', watts: 12, at: 5000 },
  ]);
  assert.is(v.log.length, 5, 'alarms stay in the log');
  // A page that opens later rebuilds the chart from hello's messages.
  const later = reduce(initialView(), { type: 'hello', graph: undefined, labels: {}, supervisor: 's', messages: [{ type: 'power', reading: { connectionId: 'rig', watts: 48.5, at: 1 } }, log('EVENT_POWER_CRITICAL', { watts: 0, consecutiveZeros: 3 })] });
  assert.equal(later.power, { rig: [{ watts: 48.5, at: 1 }] });
  assert.is(later.powerMarks.rig!.length, 1);
});

test.run();
