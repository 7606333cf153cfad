/**
 * The visualizer's power panel, server side (issue 12 §6): the
 * `EVENT_POWER_READING`s a radio link publishes through its handle reach the
 * page in its batches' `power` and never as log entries; alarms stay in the
 * log (and in `alarms`, for the chart's marks); a page that opens later gets
 * the recent readings in `hello`. The thresholds drawn are PowerMonitor's.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { Observable, Subject } from 'rxjs';
import { SimulatedClock } from 'xstate';
import { WebSocket } from 'ws';
import { createSupervisor } from '../../actors/supervisor.js';
import { ListenError } from '../../machines/ports/errors.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { DEFAULT_POWER_THRESHOLDS, PowerHistory, type PowerReading } from '../../visualizer/power.js';
import { POWER_CRITICAL_COUNT, POWER_WARNING_COUNT, POWER_ZERO_THRESHOLD } from '../../transports/serial/cat/power-monitor.js';
import { serveVisualizer, type VisualizerOptions } from '../../visualizer/server.js';
import { until } from '../helpers/net.js';

const test = suite('visualizer power');

type Message = Record<string, any>;

interface Page {
  messages: Message[];
  of(type: string): Message[];
  /** Readings and log events of every batch, in order. */
  power(): PowerReading[];
  log(): Message[];
  close(): Promise<void>;
}

async function openPage(url: string): Promise<Page> {
  const ws = new WebSocket(url);
  const messages: Message[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  const closed = new Promise<void>((r) => ws.on('close', () => r()));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until(() => messages.some((m) => m.type === 'hello'), 'hello');
  return {
    messages,
    of: (type) => messages.filter((m) => m.type === type),
    power: () => messages.filter((m) => m.type === 'batch').flatMap((m) => m.power as PowerReading[]),
    log: () => messages.filter((m) => m.type === 'batch').flatMap((m) => m.log as Message[]),
    async close() {
      ws.close();
      await closed;
    },
  };
}

/** A supervisor on a SimulatedClock with one connected mock child `rig`, and its visualizer. */
async function serveRig(options: VisualizerOptions = {}) {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2024, 0, 1, 12));
  const supervisor = createSupervisor({ id: 'power', clock });
  supervisor.startChild({ id: 'rig', transport: mockTransport({ kind: 'serial (simulated)' }) });
  await flush();
  const viz = await serveVisualizer(supervisor, { port: 0, ...options });
  return {
    clock,
    supervisor,
    rig: supervisor.connection('rig'),
    events: `ws://127.0.0.1:${viz.port}/events`,
    async close() {
      await viz.close();
      await supervisor.shutdown();
    },
  };
}

test('power: readings reach pages as power messages, never as log entries; alarms stay in the log; a later page gets the last 300 in hello', async () => {
  const s = await serveRig();
  try {
    const live = await openPage(s.events);
    const start = s.clock.now();
    for (let i = 0; i < 310; i++) {
      s.rig.publish('EVENT_POWER_READING', { watts: 40 + (i % 10) });
      s.clock.increment(1000);
    }
    s.rig.publish('EVENT_POWER_WARNING', { watts: 0, consecutiveZeros: 1 });
    await until(() => live.log().some((e) => e.type === 'EVENT_POWER_WARNING'), 'the warning in the log');
    const readings = live.power();
    assert.is(readings.length, 310);
    assert.equal(readings[0], { connectionId: 'rig', watts: 40, at: start });
    assert.equal(readings[309], { connectionId: 'rig', watts: 49, at: start + 309_000 }, 'at: the event timestamp (the supervisor clock)');
    assert.equal(live.log().filter((e) => e.type === 'EVENT_POWER_READING'), [], 'no reading in the log');
    assert.equal(live.of('batch').flatMap((m) => m.alarms).map((e) => e.type), ['EVENT_POWER_WARNING'], 'the alarm marks the chart');
    assert.ok(live.of('batch').length < 20, `batched: ${live.of('batch').length} batches for 311 events`);

    const later = await openPage(s.events);
    const hello = later.of('hello')[0]!.messages as Message[];
    const replay = hello.filter((m) => m.type === 'power').map((m) => m.reading);
    assert.equal(replay, readings.slice(10), 'the newest 300');
    assert.equal(hello.filter((m) => m.type === 'log').map((m) => m.event.type), ['EVENT_POWER_WARNING'], 'and the alarm that marks them');
    await Promise.all([live.close(), later.close()]);
  } finally {
    await s.close();
  }
});

test('power: options.power$ is used instead of events$; non-readings are skipped; its error ends it without a crash; a non-Observable is a TypeError', async () => {
  const power$ = new Subject<PowerReading>();
  const s = await serveRig({ power$ });
  try {
    const page = await openPage(s.events);
    s.rig.publish('EVENT_POWER_READING', { watts: 99 }); // neither drawn nor logged: power$ replaces it
    power$.next({ connectionId: 'meter', watts: 12.5, at: 7 });
    power$.next({ connectionId: 'meter', watts: 'lots', at: 8 } as never);
    power$.next(null as never);
    power$.error(new Error('meter unplugged'));
    await until(() => page.of('error').length === 1, 'the error');
    await until(() => page.power().length === 1, 'the reading');
    assert.equal(page.power(), [{ connectionId: 'meter', watts: 12.5, at: 7 }]);
    assert.is(page.of('error')[0]!.error, 'power$ failed: meter unplugged');
    assert.equal(page.log().filter((e) => e.type === 'EVENT_POWER_READING'), []);
    await page.close();
  } finally {
    await s.close();
  }
  const supervisor = createSupervisor({ id: 'bad-power' });
  try {
    await serveVisualizer(supervisor, { port: 0, power$: [] as never }).then(
      () => assert.unreachable('accepted an array as power$'),
      (e: Error) => assert.ok(e instanceof TypeError && e.message.startsWith('options.power$ must have subscribe'), e.message),
    );
  } finally {
    await supervisor.shutdown();
  }
});

test('power: a failed listen unsubscribes the streams it subscribed to', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  let subscribed = 0;
  const power$ = new Observable<PowerReading>(() => {
    subscribed++;
    return () => subscribed--;
  });
  const supervisor = createSupervisor({ id: 'taken' });
  try {
    await serveVisualizer(supervisor, { port, power$ }).then(
      () => assert.unreachable('listened on a taken port'),
      (e: Error) => assert.instance(e, ListenError),
    );
    assert.is(subscribed, 0);
  } finally {
    await supervisor.shutdown();
    await new Promise((r) => taken.close(r));
  }
});

test('power: the thresholds drawn are the radio link PowerMonitor\'s; powerThresholds overrides them and is checked', async () => {
  assert.equal(DEFAULT_POWER_THRESHOLDS, { zeroW: POWER_ZERO_THRESHOLD, warningAfter: POWER_WARNING_COUNT, criticalAfter: POWER_CRITICAL_COUNT });
  const s = await serveRig({ powerThresholds: { zeroW: 0.5 } });
  try {
    const page = await openPage(s.events);
    assert.equal(page.of('hello')[0]!.thresholds, { zeroW: 0.5, warningAfter: 1, criticalAfter: 3 });
    await page.close();
  } finally {
    await s.close();
  }
  const supervisor = createSupervisor({ id: 'bad-thresholds' });
  try {
    await serveVisualizer(supervisor, { port: 0, powerThresholds: { warningAfter: 3, criticalAfter: 2 } }).then(
      () => assert.unreachable('accepted critical before warning'),
      (e: Error) => assert.ok(e instanceof RangeError && e.message.startsWith('options.powerThresholds.criticalAfter must be an integer >= 3'), e.message),
    );
  } finally {
    await supervisor.shutdown();
  }
});

test('power: the history keeps the newest readings per connection and forgets the connection heard from longest ago', () => {
  const h = new PowerHistory(2, 2);
  for (const [id, at] of [['a', 1], ['b', 2], ['a', 3], ['a', 4], ['c', 5]] as const) h.add({ connectionId: id, watts: 1, at });
  assert.equal(h.messages().map((m) => [(m.reading as PowerReading).connectionId, (m.reading as PowerReading).at]), [['a', 3], ['a', 4], ['c', 5]]);
});

test.run();
