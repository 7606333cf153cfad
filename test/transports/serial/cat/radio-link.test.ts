/**
 * RadioLink over a real socat pty pair (issue 12, parts 3 and 5): the TS-590S
 * emulator on one end (a real SerialPort), RadioLink on serialTransport on
 * the other, a supervisor on real time with short intervals. Covers the
 * power thresholds with a scripted 0 W sequence, TX drop mid-transmission
 * (RX; first, back by the fast path), the emulator killed and restarted on
 * the same path (backoff; RX; first on the new link when PTT was keyed), and
 * stopMonitoring() leaving PTT off. No timing is asserted: waits are bounded polls.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { createSupervisor, silentLogger, type Supervisor } from '../../../../actors/index.js';
import type { ConnectionLogEvent } from '../../../../machines/events.js';
import { serialTransport } from '../../../../transports/serial/serial.transport.js';
import { createRigEmulator, type RigEmulator } from '../../../../transports/serial/cat/rig-emulator.js';
import { RadioLink, type PowerReading } from '../../../../transports/serial/cat/radio-link.js';
import { spawnLines, type Spawned } from '../../../helpers/spawn.js';
import { until } from '../../../helpers/net.js';

const test = suite('radio link (pty)');

/** The emulator on a socat pty pair at fixed paths in `dir`: `cat` is the end RadioLink opens. */
interface PtyRig {
  rig: RigEmulator;
  /** Every command the emulator read, in order. */
  commands: string[];
  stop(): Promise<void>;
}

async function rigOnPty(dir: string): Promise<PtyRig> {
  const rigPath = join(dir, 'rig');
  const catPath = join(dir, 'cat');
  const socat: Spawned = spawnLines('socat', [`pty,raw,echo=0,link=${rigPath}`, `pty,raw,echo=0,link=${catPath}`]);
  for (let i = 0; !(existsSync(rigPath) && existsSync(catPath)); i++) {
    if (i > 500 || socat.child.exitCode !== null) throw new Error(`socat did not make the pty pair: ${socat.stderr()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const port = new SerialPort({ path: rigPath, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('error', () => {});
  const rig = createRigEmulator({ port });
  const commands: string[] = [];
  const sub = rig.commands$.subscribe((c) => commands.push(c));
  return {
    rig,
    commands,
    async stop() {
      sub.unsubscribe();
      await rig.close();
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
      await socat.kill('SIGTERM');
    },
  };
}

interface Setup {
  dir: string;
  catPath: string;
  sup: Supervisor;
  radio: RadioLink;
  events: ConnectionLogEvent[];
  readings: PowerReading[];
  has(type: string, pred?: (e: ConnectionLogEvent) => boolean): boolean;
  close(...rigs: PtyRig[]): Promise<void>;
}

function setup(dir: string, policy: Record<string, number> = {}): Setup {
  const catPath = join(dir, 'cat');
  const sup = createSupervisor({ logger: silentLogger });
  const radio = new RadioLink({
    supervisor: sup,
    transport: serialTransport({ path: catPath }),
    monitorIntervalMs: 100,
    powerPollIntervalMs: 50,
    cat: { timeoutMs: 60, retries: 1 },
    policy: { initialBackoffMs: 50, maxBackoffMs: 200, ...policy },
  });
  const events: ConnectionLogEvent[] = [];
  const readings: PowerReading[] = [];
  radio.events$.subscribe((e) => events.push(e));
  radio.power$.subscribe((r) => readings.push(r));
  return {
    dir, catPath, sup, radio, events, readings,
    has: (type, pred = () => true) => events.some((e) => e.type === type && pred(e)),
    async close(...rigs) {
      await radio.stopMonitoring();
      await sup.shutdown();
      for (const r of rigs) await r.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A state change from → to. */
const change = (from: string, to: string) => (e: ConnectionLogEvent) => e.type === 'EVENT_STATE_CHANGE' && e.data.from === from && e.data.to === to;
const newDir = () => mkdtempSync(join(tmpdir(), 'sw-radio-'));
/** A rig on a fresh pty pair, a RadioLink to it, connected. */
async function started(): Promise<{ dir: string; pty: PtyRig; s: Setup }> {
  const dir = newDir();
  const pty = await rigOnPty(dir);
  const s = setup(dir);
  await s.radio.whenConnected();
  return { dir, pty, s };
}

test('power: readings flow on power$ while keyed; a scripted 0 W sequence warns at the 1st zero and is critical at the 3rd', async () => {
  const { pty, s } = await started();
  s.radio.startPowerPolling();
  await s.radio.ptt(true);
  await until(() => s.readings.length >= 3, 'three power readings');
  assert.ok(s.readings.every((r) => r.connectionId === 'radio' && r.watts === 100), `100 W at PC 100: ${JSON.stringify(s.readings)}`);
  assert.is(s.radio.getConnectionStatus().powerLevel, 'normal');
  const before = s.events.length;
  pty.rig.dropPowerDuringTx(true);
  await until(() => s.has('EVENT_POWER_CRITICAL'), 'a critical power alarm');
  const alarms = s.events.slice(before).filter((e) => e.type === 'EVENT_POWER_WARNING' || e.type === 'EVENT_POWER_CRITICAL');
  assert.equal(
    alarms.slice(0, 3).map((e) => [e.type, (e.data as { consecutiveZeros: number }).consecutiveZeros]),
    [['EVENT_POWER_WARNING', 1], ['EVENT_POWER_WARNING', 2], ['EVENT_POWER_CRITICAL', 3]],
  );
  const status = s.radio.getConnectionStatus();
  assert.is(status.powerLevel, 'critical');
  assert.is(status.lastPowerReading, 0);
  assert.ok(status.healthScore <= 60, `critical power lowers the health score: ${status.healthScore}`);
  pty.rig.dropPowerDuringTx(false);
  await until(() => s.radio.getConnectionStatus().powerLevel === 'normal', 'power back to normal');
  await s.close(pty);
});

test('TX drop mid-transmission: the rig goes silent while keyed; RX; is sent first, the link comes back by the fast path', async () => {
  const { pty, s } = await started();
  s.radio.startMonitoring();
  s.radio.startPowerPolling();
  await s.radio.ptt(true);
  await until(() => s.readings.length >= 1, 'a reading while keyed');
  const heardBefore = pty.commands.length;
  pty.rig.goSilent(true);
  // The rig hears again as soon as the drop is detected (before the port is reopened).
  const sub = s.radio.events$.subscribe((e) => e.type === 'EVENT_TX_DROP_DETECTED' && pty.rig.goSilent(false));
  await until(() => s.has('EVENT_FAST_PATH_ACTIVE'), 'the fast path');
  sub.unsubscribe();
  await until(() => s.has('EVENT_RECONNECT_OK', (e) => (e.data as { fastPath: boolean }).fastPath), 'back by the fast path').catch((e) => {
    console.log(JSON.stringify(s.events.map((x) => [x.type, x.data]), null, 0));
    throw e;
  });
  await until(() => pty.commands.slice(heardBefore).includes('RX'), 'RX; to reach the rig');
  const afterSilence = pty.commands.slice(heardBefore);
  const rx = afterSilence.indexOf('RX');
  assert.ok(rx >= 0, `RX; reached the rig: ${afterSilence.join(' ')}`);
  assert.ok(afterSilence.slice(0, rx).every((c) => c === 'SM0' || c === 'PS' || c === 'IF'), `only the unanswered polls came before RX;: ${afterSilence.join(' ')}`);
  const types = s.events.map((e) => e.type);
  assert.ok(types.indexOf('EVENT_TX_DROP_DETECTED') < types.indexOf('EVENT_FAST_PATH_ACTIVE'));
  assert.ok(!s.events.some((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'reconnecting'), 'no backoff: never in reconnecting');
  const status = s.radio.getConnectionStatus();
  assert.is(status.ptt, false);
  assert.is(status.reconnectCount, 1);
  // RX; again, first thing on the reopened link: the rig that was deaf to the first one is unkeyed now.
  await until(() => pty.rig.state().ptt === false, 'the rig unkeyed');
  await s.close(pty);
});

test('the emulator killed and restarted on the same path: the link is lost, retried with backoff, and back', async () => {
  const { dir, pty: first, s } = await started();
  let pty = first;
  s.radio.startMonitoring();
  await pty.stop();
  await until(() => s.has('EVENT_RECONNECT_FAILED'), 'a failed retry while the port is gone');
  assert.ok(s.has('EVENT_STATE_CHANGE', change('connected', 'reconnecting')));
  assert.not.ok(s.has('EVENT_TX_DROP_DETECTED'), 'not keyed: no fast path');
  pty = await rigOnPty(dir);
  await until(() => s.has('EVENT_RECONNECT_OK', (e) => !(e.data as { fastPath: boolean }).fastPath), 'reconnected with backoff');
  assert.equal(await s.radio.cat.getFrequency(), 14_074_000, 'CAT works on the new link');
  assert.ok(s.radio.getConnectionStatus().healthScore < 100, 'recent failures lower the health score');
  await s.close(pty);
});

test('the link dies while keyed: the fast path, then backoff while the port is gone; RX; is the first thing the restarted rig hears', async () => {
  const { dir, pty: first, s } = await started();
  let pty = first;
  s.radio.startMonitoring();
  await s.radio.ptt(true);
  await until(() => pty.rig.state().ptt, 'keyed');
  await pty.stop();
  await until(() => s.has('EVENT_TX_DROP_DETECTED'), 'a TX drop');
  await until(() => s.has('EVENT_STATE_CHANGE', change('tx_dropped', 'reconnecting')), 'the fast path falls back to backoff');
  pty = await rigOnPty(dir);
  await until(() => pty.commands.length > 0, 'the new link to speak');
  assert.is(pty.commands[0], 'RX', `RX; first on the new link: ${pty.commands.join(' ')}`);
  await s.close(pty);
});

test('stopMonitoring(): PTT off first, then the port is closed and the child removed', async () => {
  const { pty, s } = await started();
  s.radio.startMonitoring();
  s.radio.startPowerPolling();
  await s.radio.ptt(true);
  await until(() => pty.rig.state().ptt, 'keyed');
  await s.radio.stopMonitoring();
  await until(() => !pty.rig.state().ptt, 'the rig unkeyed');
  assert.is(pty.commands.at(-1), 'RX', 'RX; was the last command');
  assert.equal(s.sup.whichChildren(), []);
  await s.radio.stopMonitoring(); // idempotent
  await s.radio.whenConnected().then(() => assert.unreachable(), (e: Error & { code: string }) => assert.is(e.code, 'ERR_RADIO_LINK_STOPPED'));
  await s.radio.safeReconnect().then(() => assert.unreachable(), (e: Error & { code: string }) => assert.is(e.code, 'ERR_RADIO_LINK_STOPPED'));
  await s.close(pty);
});

test.run();
