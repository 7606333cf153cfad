/**
 * mockRig(): the TS-590S emulator on SerialPortMock, as a user takes it from
 * `statewire/serial` (issue 12 §6). The emulator must follow the port across
 * reopens: a RadioLink's TX-drop fast path closes the port and opens it
 * again, and the rig must answer on the new one. Real time, short
 * intervals; waits are bounded polls, no timing is asserted.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialPortMock } from 'serialport';
import { createSupervisor, silentLogger } from '../../../../actors/index.js';
import type { ConnectionLogEvent } from '../../../../machines/events.js';
import { mockRig, RadioLink, serialTransport, type PowerReading } from '../../../../transports/serial/index.js';
import { until } from '../../../helpers/net.js';

const test = suite('mock rig');

function radioOn(path: string, binding: typeof SerialPortMock.binding) {
  const sup = createSupervisor({ logger: silentLogger });
  const radio = new RadioLink({
    supervisor: sup,
    transport: serialTransport({ path, binding }),
    monitorIntervalMs: 100,
    powerPollIntervalMs: 50,
    cat: { timeoutMs: 60, retries: 1 },
    policy: { initialBackoffMs: 50, maxBackoffMs: 200 },
  });
  const events: ConnectionLogEvent[] = [];
  const readings: PowerReading[] = [];
  radio.events$.subscribe((e) => events.push(e));
  radio.power$.subscribe((r) => readings.push(r));
  return {
    sup, radio, events, readings,
    has: (type: string, pred: (e: ConnectionLogEvent) => boolean = () => true) => events.some((e) => e.type === type && pred(e)),
    connected: () => until(() => radio.getConnectionStatus().state === 'connected', 'the radio link to connect'),
    async close() {
      await radio.stopMonitoring();
      await sup.shutdown();
    },
  };
}

test('mockRig: serialTransport({ path, binding }) talks to the emulator; each call makes its own path', async () => {
  const a = mockRig();
  const b = mockRig({ initial: { frequencyA: 7_074_000 } });
  assert.is.not(a.path, b.path);
  const s = radioOn(b.path, b.binding);
  await s.connected();
  assert.is(await s.radio.cat.getFrequency(), 7_074_000);
  await s.radio.cat.setPower(40);
  assert.is(b.rig.state().powerW, 40);
  assert.is(a.rig.state().powerW, 100, 'the other rig heard nothing');
  await s.close();
  await a.close();
  await b.close();
  await b.close(); // idempotent
});

test('mockRig: a RadioLink keyed on it reads power, and back by the fast path after a TX drop, the emulator answers on the reopened port', async () => {
  const m = mockRig();
  const commands: string[] = [];
  m.rig.commands$.subscribe((c) => commands.push(c));
  const s = radioOn(m.path, m.binding);
  await s.connected();
  s.radio.startMonitoring();
  s.radio.startPowerPolling();
  await s.radio.cat.setPower(50);
  await s.radio.ptt(true);
  await until(() => s.readings.length >= 2, 'power readings while keyed');
  assert.ok(s.readings.every((r) => r.watts === 50), JSON.stringify(s.readings));
  const heard = commands.length;
  s.radio.markTxDrop();
  await until(() => s.has('EVENT_RECONNECT_OK', (e) => (e.data as { fastPath: boolean }).fastPath), 'back by the fast path');
  assert.ok(s.has('EVENT_TX_DROP_DETECTED'));
  assert.ok(commands.slice(heard).includes('RX'), `RX; reached the rig: ${commands.slice(heard).join(' ')}`);
  assert.is(m.rig.state().ptt, false, 'unkeyed');
  // The new port answers: a read and a set through the reopened link.
  assert.is(await s.radio.cat.getFrequency(), 14_074_000);
  await s.radio.cat.setPower(25);
  assert.is(m.rig.state().powerW, 25);
  await s.radio.ptt(true);
  const before = s.readings.length;
  await until(() => s.readings.length > before, 'a reading on the reopened port');
  assert.is(s.readings.at(-1)!.watts, 25);
  assert.is(s.radio.getConnectionStatus().reconnectCount, 1);
  await s.close();
  await m.close();
});

test('mockRig: the rig silent is a lost link; answering again, the link comes back with backoff', async () => {
  const m = mockRig();
  const s = radioOn(m.path, m.binding);
  await s.connected();
  s.radio.startMonitoring();
  m.rig.goSilent(true);
  await until(() => s.has('EVENT_STATE_CHANGE', (e) => e.type === 'EVENT_STATE_CHANGE' && e.data.from === 'connected' && e.data.to === 'reconnecting'), 'the link lost');
  m.rig.goSilent(false);
  await until(() => s.has('EVENT_RECONNECT_OK'), 'reconnected');
  assert.is(await s.radio.cat.getMode(), 'USB');
  await s.close();
  await m.close();
});

test('mockRig: bad options are a TypeError naming the option', () => {
  assert.throws(() => mockRig(null as never), (e: Error) => e instanceof TypeError && /options/.test(e.message));
  assert.throws(() => mockRig({ path: '' }), (e: Error) => e instanceof TypeError && /options\.path/.test(e.message));
  assert.throws(() => mockRig({ onError: 1 as never }), (e: Error) => e instanceof TypeError && /options\.onError/.test(e.message));
});

test.run();
