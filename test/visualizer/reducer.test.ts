/**
 * The visualizer's view model: the fleet records of a real supervisor
 * (actors/fleet-records.ts), folded by the server's model (FleetModel) and
 * sent as `hello` and `batch`, give the page the supervisor's children,
 * states and counts; the log; power readings and marks; filters.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import { createSupervisor } from '../../actors/supervisor.js';
import { watchFleet } from '../../actors/fleet-records.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { FleetModel } from '../../visualizer/fleet.js';
import { machineGraph } from '../../visualizer/graph.js';
import { applyRows, emptyFleet, filterFleet, filterLog, initialView, labelOf, reconnectBuckets, reduce, type View } from '../../visualizer/public/reducer.js';

const test = suite('visualizer reducer');

/** Per state, as `whichChildren()` says. */
const countsOf = (children: Array<{ state: string }>) => {
  const out: Record<string, number> = {};
  for (const c of children) out[c.state] = (out[c.state] ?? 0) + 1;
  return out;
};

test('fleet: the records of a supervisor, batched by the server model, give the page its children, states, counts, restarts and outbox', async () => {
  const clock = new SimulatedClock();
  const sup = createSupervisor({ id: 'viz', maxRestarts: 10, clock });
  const a = mockTransport({ kind: 'serial (simulated)' });
  sup.startChild({ id: 'a', transport: a, policy: { maxRetries: 0 } });
  await flush();
  const model = new FleetModel();
  const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v));
  const log: unknown[] = [];
  const watch = watchFleet(sup, { onRecord: (r) => (model.apply(r), r.type === 'event' && log.push(r.event)) });
  let view: View = reduce(initialView(), wire({ type: 'hello', graph: machineGraph(connectionMachine), labels: { b: 'simulated' }, supervisor: { id: 'viz', state: 'running' }, rows: model.all(), log: [] }));
  model.take();
  /** What the server does every batchMs: reconcile, then send what changed. */
  const batch = () => {
    watch.reconcile();
    const { rows, removed } = model.take();
    view = reduce(view, wire({ type: 'batch', now: model.now, rows, removed, log: log.splice(0), logDropped: 0, alarms: [], power: [] }));
  };
  sup.startChild({ id: 'b', transport: mockTransport(), autoConnect: false, restart: 'temporary' });
  await flush();
  batch();
  assert.equal(view.fleet.order, ['a', 'b']);
  assert.is(view.fleet.rows.get('a')!.state, 'connected');
  assert.is(view.fleet.rows.get('a')!.kind, 'serial (simulated)');
  assert.is(view.fleet.rows.get('b')!.state, 'disconnected');
  assert.is(view.fleet.rows.get('b')!.restart, 'temporary');
  assert.equal({ ...view.fleet.byState }, countsOf(sup.whichChildren()));
  assert.equal({ ...view.fleet.byKind }, { 'serial (simulated)': 1, mock: 1 });
  sup.send('b', 'queued one').catch(() => {}); // dropped (stopped) at shutdown
  sup.send('b', 'queued two').catch(() => {});
  await flush();
  watch.touch('b'); // what the server's inspection$ does when a snapshot changes without an event
  batch();
  assert.is(view.fleet.rows.get('b')!.outbox, 2);
  a.drop('cable pulled');
  await flush();
  clock.increment(60_000); // the supervisor's restart backoff
  await flush();
  batch();
  assert.is(view.fleet.rows.get('a')!.restarts, 1, 'failed, then restarted by the supervisor');
  assert.is(view.fleet.rows.get('a')!.state, 'connected');
  assert.ok(view.fleet.rows.get('a')!.lastError, 'the last error is kept');
  assert.equal(view.fleet.rows.get('a')!.reconnects, [0], 'its reconnects, for the sparkline: one, at the time of the drop');
  assert.ok(view.log.some((e) => e.type === 'EVENT_MAX_RETRIES_EXCEEDED' && e.connectionId === 'a'));
  await sup.stopChild('b');
  batch();
  assert.equal(view.fleet.order, ['a'], 'a removed child leaves the list');
  assert.equal({ ...view.fleet.byState }, countsOf(sup.whichChildren()));
  assert.ok(filterLog(view.log, { connection: 'b' }).every((e) => e.connectionId === 'b'));
  assert.ok(filterLog(view.log, { type: 'EVENT_STATE_CHANGE' }).length > 3);
  assert.is(view.labels.b, 'simulated');
  // The six state names; `active` is drawn as the group of the three inside it, not as a state.
  assert.equal(view.graph!.states.map((s) => s.key), ['disconnected', 'connecting', 'connected', 'tx_dropped', 'reconnecting', 'failed']);
  watch.stop();
  await sup.shutdown();
});

test('fleet: rows replace rows by id, counts per state, kind, and kind and state follow, removals leave the order; filters by text, state and kind', () => {
  const row = (id: string, state: string, kind = 'mock') => ({ id, kind, state, restarts: 0, reconnectCount: 0, outbox: 0 });
  const fleet = applyRows(emptyFleet(), [row('a-1', 'connected'), row('a-2', 'reconnecting'), row('b-1', 'connected', '__proto__'), row('constructor', 'failed', 'toString')]);
  assert.equal({ ...fleet.byState }, { connected: 2, reconnecting: 1, failed: 1 });
  assert.equal({ ...fleet.byKind }, { mock: 2, ['__proto__']: 1, toString: 1 }, 'a kind may be any string');
  applyRows(fleet, [row('a-1', 'reconnecting')], ['a-2', 'nobody']);
  assert.equal({ ...fleet.byState }, { reconnecting: 1, connected: 1, failed: 1 });
  assert.equal({ ...fleet.byKindState.mock }, { reconnecting: 1 });
  assert.equal(fleet.order, ['a-1', 'b-1', 'constructor']);
  assert.equal(filterFleet(fleet, { text: 'a-' }), ['a-1']);
  assert.equal(filterFleet(fleet, { state: 'connected' }), ['b-1']);
  assert.equal(filterFleet(fleet, { kind: 'toString' }), ['constructor']);
  assert.equal(filterFleet(fleet, { text: 'radio' }, { 'b-*': 'radio' }), ['b-1'], 'or by label');
  assert.is(filterFleet(fleet, {}), fleet.order, 'no filter: no copy');
});

test('fleet: a reconnect sparkline counts reconnects per bucket of the last 10 minutes', () => {
  const now = 1_000_000;
  assert.equal(reconnectBuckets([now - 700_000, now - 599_000, now - 1000, now - 500, now + 1], now, { buckets: 10 }), [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  assert.equal(reconnectBuckets(undefined, now, { buckets: 2 }), [0, 0]);
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
  const later = reduce(initialView(), { type: 'hello', graph: undefined, labels: {}, supervisor: { id: 's', state: 'running' }, messages: [{ type: 'power', reading: { connectionId: 'rig', watts: 48.5, at: 1 } }, log('EVENT_POWER_CRITICAL', { watts: 0, consecutiveZeros: 3 })] });
  assert.equal(later.power, { rig: [{ watts: 48.5, at: 1 }] });
  assert.is(later.powerMarks.rig!.length, 1);

  // A child that goes takes its readings and marks with it; the chart keeps at most 64 connections (the newest heard of).
  const gone = reduce(v, { type: 'batch', rows: [], removed: ['rig'] });
  assert.equal(Object.keys(gone.power), ['rig-2']);
  assert.is(gone.powerMarks.rig, undefined);
  let many = initialView();
  for (let i = 0; i < 70; i++) many = reduce(many, { type: 'power', reading: { connectionId: `rig-${i}`, watts: 1, at: i } });
  assert.is(Object.keys(many.power).length, 64);
  assert.is(many.power['rig-5'], undefined);
  assert.ok(many.power['rig-6'] && many.power['rig-69']);
});

test.run();
