/** PowerMonitor (the seed's thresholds, and the trend beyond them), healthScore and RadioLink's argument checks (issue 12, part 3). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { of, toArray, firstValueFrom } from 'rxjs';
import { createSupervisor, silentLogger } from '../../../../actors/index.js';
import type { ConnectionLogEvent } from '../../../../machines/events.js';
import { mockTransport } from '../../../../transports/mock/mock.transport.js';
import {
  PowerMonitor, POWER_POLL_INTERVAL, POWER_ZERO_THRESHOLD, POWER_WARNING_COUNT, POWER_CRITICAL_COUNT, POWER_HISTORY_SIZE,
} from '../../../../transports/serial/cat/power-monitor.js';
import { RadioLink, healthScore, powerReadings } from '../../../../transports/serial/cat/radio-link.js';

const test = suite('power monitor');

test('the seed\'s constants', () => {
  assert.equal([POWER_POLL_INTERVAL, POWER_ZERO_THRESHOLD, POWER_WARNING_COUNT, POWER_CRITICAL_COUNT, POWER_HISTORY_SIZE], [1000, 0.1, 1, 3, 10]);
});

test('updatePower: a scripted 0 W sequence: warning at the 1st zero, critical from the 3rd, a good reading starts over', () => {
  const m = new PowerMonitor();
  assert.is(m.level, 'unknown');
  const script = [50, 48, 0, 0.05, 0, 0, 12, 0];
  assert.equal(script.map((w) => m.updatePower(w)), [
    null, null, 'EVENT_POWER_WARNING', 'EVENT_POWER_WARNING', 'EVENT_POWER_CRITICAL', 'EVENT_POWER_CRITICAL', null, 'EVENT_POWER_WARNING',
  ]);
  assert.is(m.consecutiveZeros, 1);
  assert.is(m.level, 'warning');
  assert.is(m.lastReading, 0);
  assert.is(m.updatePower(0.1), null, '0.1 W is not a zero (the threshold is "under 0.1 W")');
  assert.is(m.level, 'normal');
});

test('history keeps the last 10 readings, oldest first; reset forgets', () => {
  const m = new PowerMonitor();
  for (let i = 1; i <= 13; i++) m.updatePower(i);
  assert.equal(m.history, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  m.history.push(99);
  assert.is(m.history.length, 10, 'a copy');
  m.reset();
  assert.equal(m.history, []);
  assert.is(m.level, 'unknown');
});

test('trend: a steady fall warns before zero; flat, noisy or rising output does not', () => {
  const falling = new PowerMonitor();
  for (const w of [100, 95, 88, 80, 70, 58, 45]) falling.updatePower(w);
  const t = falling.trend();
  assert.ok(t.falling, JSON.stringify(t));
  assert.ok(t.slopeWattsPerReading < -8 && t.slopeWattsPerReading > -11, String(t.slopeWattsPerReading));
  assert.ok(t.readingsToZero > 3 && t.readingsToZero < 6, String(t.readingsToZero));
  const flat = new PowerMonitor();
  for (const w of [50, 52, 49, 51, 50, 48, 51]) flat.updatePower(w);
  assert.not.ok(flat.trend().falling);
  const few = new PowerMonitor();
  for (const w of [100, 50, 10]) few.updatePower(w);
  assert.not.ok(few.trend().falling, 'fewer than trendMinReadings');
  const slow = new PowerMonitor();
  for (const w of [100, 99, 98, 97, 96, 95]) slow.updatePower(w);
  assert.not.ok(slow.trend().falling, 'zero is far beyond the horizon');
  assert.equal(new PowerMonitor().trend(), { slopeWattsPerReading: 0, readingsToZero: Infinity, falling: false });
});

test('bad input: TypeError/RangeError naming the argument', () => {
  const m = new PowerMonitor();
  assert.throws(() => m.updatePower(-1), (e: unknown) => e instanceof RangeError && /^watts /.test((e as Error).message));
  assert.throws(() => m.updatePower(NaN), (e: unknown) => e instanceof TypeError && /^watts /.test((e as Error).message));
  assert.throws(() => m.updatePower('5' as never), (e: unknown) => e instanceof TypeError && /^watts /.test((e as Error).message));
  assert.throws(() => new PowerMonitor({ criticalAfter: 0 }), (e: unknown) => e instanceof RangeError && /options\.criticalAfter/.test((e as Error).message));
  assert.throws(() => new PowerMonitor({ warningAfter: 3, criticalAfter: 2 }), (e: unknown) => e instanceof RangeError && /options\.criticalAfter/.test((e as Error).message));
  assert.throws(() => new PowerMonitor({ historySize: 1 }), (e: unknown) => e instanceof RangeError && /options\.historySize/.test((e as Error).message));
  assert.throws(() => new PowerMonitor(null as never), (e: unknown) => e instanceof TypeError && /^options /.test((e as Error).message));
});

test('healthScore: 100 when all is well; failures, power and (re)connecting lower it; 0 when down', () => {
  const ok = { state: 'connected', recentFailures: 0, powerLevel: 'normal', powerFalling: false } as const;
  assert.is(healthScore(ok), 100);
  assert.is(healthScore({ ...ok, recentFailures: 2 }), 80);
  assert.is(healthScore({ ...ok, recentFailures: 9 }), 60, 'failures cost at most 40');
  assert.is(healthScore({ ...ok, powerLevel: 'warning' }), 80);
  assert.is(healthScore({ ...ok, powerLevel: 'critical', powerFalling: true }), 45);
  assert.is(healthScore({ ...ok, state: 'reconnecting' }), 60);
  assert.is(healthScore({ ...ok, state: 'failed' }), 0);
  assert.is(healthScore({ state: 'tx_dropped', recentFailures: 9, powerLevel: 'critical', powerFalling: true }), 0, 'never negative');
});

test('powerReadings(): EVENT_POWER_READING events as { connectionId, watts, at }, nothing else', async () => {
  const base = { connectionId: 'r', state: 'connected', reconnectCount: 0 } as const;
  const events = [
    { ...base, type: 'EVENT_POWER_READING', timestamp: 5, data: { watts: 40 } },
    { ...base, type: 'EVENT_POWER_WARNING', timestamp: 6, data: { watts: 0, consecutiveZeros: 1 } },
    { ...base, type: 'EVENT_CONNECTION_STABLE', timestamp: 7, data: {} },
  ] as ConnectionLogEvent[];
  assert.equal(await firstValueFrom(of(...events).pipe(powerReadings(), toArray())), [{ connectionId: 'r', watts: 40, at: 5 }]);
});

test('RadioLink: bad options are a TypeError/RangeError naming them; a taken id is refused before anything starts', async () => {
  const sup = createSupervisor({ logger: silentLogger });
  const transport = mockTransport();
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /^options /],
    [{ transport }, /^options\.supervisor /],
    [{ supervisor: sup }, /^options\.transport /],
    [{ supervisor: sup, transport, id: '' }, /^options\.id /],
    [{ supervisor: sup, transport, monitorIntervalMs: 0 }, /^options\.monitorIntervalMs /],
    [{ supervisor: sup, transport, powerPollIntervalMs: -5 }, /^options\.powerPollIntervalMs /],
    [{ supervisor: sup, transport, power: { criticalAfter: 0 } }, /^options\.criticalAfter /],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new RadioLink(options as never), (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && message.test((e as Error).message), String(message));
  }
  assert.equal(sup.whichChildren(), [], 'nothing was started by a refused RadioLink');
  const radio = new RadioLink({ supervisor: sup, transport });
  assert.throws(() => new RadioLink({ supervisor: sup, transport }), (e: unknown) => (e as { code?: string }).code === 'ERR_DUPLICATE_ID');
  assert.throws(() => radio.safeReconnect({ fastPath: 'yes' as never }), (e: unknown) => e instanceof TypeError && /options\.fastPath/.test((e as Error).message));
  await radio.stopMonitoring();
  await sup.shutdown();
});

test('RadioLink: a TX1; that never left (the link not up yet) leaves PTT unkeyed, so no false 0 W alarms follow', async () => {
  const sup = createSupervisor({ logger: silentLogger });
  const radio = new RadioLink({ supervisor: sup, transport: mockTransport() });
  try {
    assert.is.not(radio.getConnectionStatus().state, 'connected');
    await radio.ptt(true).then(() => assert.unreachable('refused while not connected'), (e: Error) => assert.is(e.name, 'CatLinkLostError'));
    assert.is(radio.getConnectionStatus().ptt, false);
  } finally {
    await radio.stopMonitoring();
    await sup.shutdown();
  }
});

test.run();
