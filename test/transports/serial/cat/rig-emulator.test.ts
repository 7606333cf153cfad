/** The TS-590S rig emulator over SerialPortMock: every command it answers, and its fault injection (issue 12, part 4). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialPortMock } from 'serialport';
import { SimulatedClock } from 'xstate';
import { firstValueFrom, filter } from 'rxjs';
import { createRigEmulator, type RigEmulator } from '../../../../transports/serial/cat/rig-emulator.js';
import { parseInfo } from '../../../../transports/serial/cat/codec.js';

const test = suite('rig emulator');

let seq = 0;
interface Bench {
  port: SerialPortMock;
  rig: RigEmulator;
  clock: SimulatedClock;
  /** What the rig wrote in answer to `commands` (each `;`-terminated), stopped by an `ID;` sentinel the rig is asked after them. */
  ask(commands: string): Promise<string>;
  /** What the rig wrote in answer to `commands` once it has read them, when no answer may come (silent, powered off). */
  askQuiet(commands: string): Promise<string>;
  close(): Promise<void>;
}

async function bench(initial?: Parameters<typeof createRigEmulator>[0]['initial']): Promise<Bench> {
  const path = `/dev/ROBOT-RIG-${process.pid}-${seq++}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: true });
  const port = new SerialPortMock({ path, baudRate: 9600 });
  await new Promise<void>((resolve, reject) => port.on('open', resolve).on('error', reject));
  const clock = new SimulatedClock();
  const rig = createRigEmulator({ port, clock, initial });
  const written = () => port.port!.recording.toString('latin1');
  const drained = () => new Promise<void>((r) => port.drain(() => r()));
  const settle = (marker: string) => firstValueFrom(rig.commands$.pipe(filter((c) => c === marker)));
  return {
    port, rig, clock,
    async ask(commands) {
      const before = written().length;
      port.port!.emitData(`${commands}ID;`);
      // Bounded, so a missing answer fails the test instead of hanging it.
      for (let turn = 0; turn < 10_000; turn++) {
        await drained();
        const out = written().slice(before);
        if (out.endsWith('ID021;')) return out.slice(0, -'ID021;'.length);
        await new Promise((r) => setImmediate(r));
      }
      throw new Error(`no answer to ${commands}ID; (wrote ${JSON.stringify(written().slice(before))})`);
    },
    async askQuiet(commands) {
      const before = written().length;
      const frames = commands.split(';').filter(Boolean);
      const seen = settle(frames[frames.length - 1]!);
      port.port!.emitData(commands);
      await seen;
      await drained();
      await new Promise((r) => setImmediate(r));
      await drained();
      return written().slice(before);
    },
    async close() {
      await rig.close();
      await new Promise<void>((r) => port.close(() => r()));
    },
  };
}

test('emulator: identity and status reads (ID, FV, PS, AI, DA) at the reference widths', async () => {
  const b = await bench();
  assert.is(await b.ask('ID;'), 'ID021;');
  assert.is(await b.ask('FV;'), 'FV1.04;');
  assert.is(await b.ask('PS;'), 'PS1;');
  assert.is(await b.ask('AI;'), 'AI0;');
  assert.is(await b.ask('AI2;AI;'), 'AI2;');
  assert.is(await b.ask('DA;DA1;DA;'), 'DA0;DA1;');
  await b.close();
});

test('emulator: FA/FB read and set (no answer to a set), out of range or malformed is ?;', async () => {
  const b = await bench();
  assert.is(await b.ask('FA;FB;'), 'FA00014074000;FB00007074000;');
  assert.is(await b.ask('FA00007074000;'), '');
  assert.is(await b.ask('FB00021074000;FA;FB;'), 'FA00007074000;FB00021074000;');
  assert.is(await b.ask('FA00000029999;FA00060000001;FA123;FA;'), '?;?;?;FA00007074000;');
  assert.is(b.rig.state().frequencyA, 7_074_000);
  await b.close();
});

test('emulator: MD names its modes by digit; 0, 8 and letters are ?;', async () => {
  const b = await bench();
  assert.is(await b.ask('MD;'), 'MD2;');
  assert.is(await b.ask('MD3;MD;MD9;MD;'), 'MD3;MD9;');
  assert.is(await b.ask('MD8;MD0;MDX;MD;'), '?;?;?;MD9;');
  assert.is(b.rig.state().mode, 'FSK-R');
  await b.close();
});

test('emulator: PC reads 3 digits; a set out of 5..100 is clamped like the rig\'s knob', async () => {
  const b = await bench();
  assert.is(await b.ask('PC;'), 'PC100;');
  assert.is(await b.ask('PC050;PC;PC000;PC;PC255;PC;'), 'PC050;PC005;PC100;');
  assert.is(await b.ask('PC5;PCabc;'), '?;?;');
  await b.close();
});

test('emulator: TX/TX0/TX1 key and RX unkeys; IF says so; SM0 reads the meter for the PC setting while transmitting', async () => {
  const b = await bench();
  assert.is(await b.ask('SM0;'), 'SM00000;');
  for (const key of ['TX;', 'TX0;', 'TX1;']) {
    assert.is(await b.ask(key), '');
    assert.is(b.rig.state().ptt, true);
    assert.is(parseInfo((await b.ask('IF;')).trim()).transmitting, true);
    assert.is(await b.ask('SM0;'), 'SM00030;'); // 100 W
    assert.is(await b.ask('RX;'), '');
    assert.is(b.rig.state().ptt, false);
  }
  assert.is(await b.ask('PC025;TX;SM0;RX;'), 'SM00012;');
  assert.is(await b.ask('TX3;SM1;RX1;'), '?;?;?;');
  await b.close();
});

test('emulator: IF is a 38-character answer of the current VFO, mode and TX state', async () => {
  const b = await bench();
  const answer = await b.ask('MD3;IF;');
  assert.is(answer.length, 38);
  const info = parseInfo(answer);
  assert.is(info.frequency, 14_074_000);
  assert.is(info.mode, 'CW');
  assert.is(info.vfo, 'A');
  assert.is(info.transmitting, false);
  assert.is(parseInfo(await b.ask('FR1;IF;')).frequency, 7_074_000);
  await b.close();
});

test('emulator: unknown commands get ?;', async () => {
  const b = await bench();
  assert.is(await b.ask('ZZ;XY123;IF1;'), '?;?;?;');
  await b.close();
});

test('emulator fault: goSilent answers nothing until turned off', async () => {
  const b = await bench();
  b.rig.goSilent(true);
  assert.is(await b.askQuiet('FA;PS;'), '');
  b.rig.goSilent(false);
  assert.is(await b.ask('PS;'), 'PS1;');
  await b.close();
});

test('emulator fault: busyFor(ms) answers ?; until the clock passes ms', async () => {
  const b = await bench();
  b.rig.busyFor(300);
  assert.is(await b.askQuiet('FA;'), '?;');
  b.clock.increment(299);
  assert.is(await b.askQuiet('MD;'), '?;');
  b.clock.increment(1);
  assert.is(await b.ask('MD;'), 'MD2;');
  await b.close();
});

test('emulator fault: dropPowerDuringTx makes SM0 read 0 while transmitting only', async () => {
  const b = await bench();
  b.rig.dropPowerDuringTx(true);
  assert.is(await b.ask('TX;SM0;RX;'), 'SM00000;');
  b.rig.dropPowerDuringTx(false);
  assert.is(await b.ask('TX;SM0;RX;'), 'SM00030;');
  await b.close();
});

test('emulator fault: powerOff (PS0) answers only PS, unkeys, and PS1 brings it back', async () => {
  const b = await bench();
  await b.ask('TX;');
  b.rig.powerOff();
  assert.is(b.rig.state().ptt, false);
  assert.is(await b.askQuiet('FA;ID;MD;'), '');
  assert.is(await b.askQuiet('PS;'), 'PS0;');
  assert.is(await b.ask('PS1;PS;'), 'PS1;');
  assert.is(await b.askQuiet('PS0;'), '');
  assert.is(b.rig.state().powerOn, false);
  b.rig.powerOn();
  assert.is(await b.ask('FA;'), 'FA00014074000;');
  await b.close();
});

test('emulator: bad arguments are TypeError/RangeError naming them; close() is idempotent and detaches', async () => {
  assert.throws(() => createRigEmulator(undefined as never), (e: Error) => e instanceof TypeError && /^options /.test(e.message));
  assert.throws(() => createRigEmulator({ port: {} as never }), (e: Error) => e instanceof TypeError && /^options\.port /.test(e.message));
  const b = await bench();
  assert.throws(() => b.rig.busyFor(-1), (e: Error) => e instanceof RangeError && /^ms /.test(e.message));
  assert.throws(() => b.rig.goSilent('yes' as never), (e: Error) => e instanceof TypeError && /^on /.test(e.message));
  await b.rig.close();
  await b.rig.close();
  assert.is(b.port.listenerCount('data'), 0);
  await new Promise<void>((r) => b.port.close(() => r()));
});

test.run();
