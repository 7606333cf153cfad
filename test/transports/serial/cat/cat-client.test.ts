/** catClient against the TS-590S emulator, over serialTransport on SerialPortMock (issue 12, part 2). */
import { suite } from 'uvu';
import { catRoundTrips } from '../../../helpers/cat.js';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { SerialPortMock } from 'serialport';
import { SimulatedClock } from 'xstate';
import { serialTransport } from '../../../../transports/serial/serial.transport.js';
import { createRigEmulator, type RigEmulator, type RigPort } from '../../../../transports/serial/cat/rig-emulator.js';
import { catClient, CatLinkLostError, CatRejectedError, CatTimeoutError, type CatClient } from '../../../../transports/serial/cat/cat-client.js';
import { ConnectionError, LinkClosedError } from '../../../../machines/ports/errors.js';
import type { Link } from '../../../../machines/ports/transport.js';

const test = suite('cat client');

type MockPort = Awaited<ReturnType<typeof SerialPortMock.binding.open>>;
const failure = (p: Promise<unknown>) => p.then(() => assert.unreachable('expected a rejection'), (e: unknown) => e);
const ticks = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/**
 * The rig's side of the mock port the link opened: what the link writes
 * reaches the emulator as `data`, what the emulator writes is emitted to the link.
 */
function rigSide(mock: MockPort): RigPort {
  const events = new EventEmitter();
  const write = mock.write.bind(mock);
  mock.write = async (buffer: Buffer) => {
    await write(buffer);
    events.emit('data', Buffer.from(buffer));
  };
  return {
    write(data, callback) {
      mock.emitData(data);
      callback?.(null);
      return true;
    },
    on: (event, listener) => events.on(event, listener),
    removeListener: (event, listener) => events.removeListener(event, listener),
  };
}

let seq = 0;
interface Bench {
  link: Link;
  rig: RigEmulator;
  client: CatClient;
  clock: SimulatedClock;
  /** How many times the rig read `command` (without `;`). */
  count(command: string): number;
  /** Settle `promise`, moving the simulated clock on by `stepMs` whenever it waits (bounded). */
  drive<T>(promise: Promise<T>, stepMs?: number): Promise<T>;
  close(): Promise<void>;
}

async function bench(): Promise<Bench> {
  const path = `/dev/ROBOT-CAT-${process.pid}-${seq++}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: true });
  const opened: MockPort[] = [];
  const binding = { ...SerialPortMock.binding, open: async (o: Parameters<typeof SerialPortMock.binding.open>[0]) => { const p = await SerialPortMock.binding.open(o); opened.push(p); return p; } };
  const link = await serialTransport({ path, binding }).connect({ signal: new AbortController().signal });
  const clock = new SimulatedClock();
  const rig = createRigEmulator({ port: rigSide(opened[0]!), clock });
  const seen: string[] = [];
  const sub = rig.commands$.subscribe((c) => seen.push(c));
  const client = catClient(link, { clock });
  return {
    link, rig, client, clock,
    count: (command) => seen.filter((c) => c === command).length,
    async drive(promise, stepMs = 100) {
      let settled = false;
      const done = promise.finally(() => (settled = true));
      void done.catch(() => {});
      for (let turn = 0; turn < 1000 && !settled; turn++) {
        await ticks();
        if (!settled) clock.increment(stepMs);
      }
      return promise;
    },
    async close() {
      client.close();
      sub.unsubscribe();
      await rig.close();
      await link.close();
    },
  };
}

test('catClient: frequency, mode, power, PTT, meter, PS and IF round trips with the emulator', async () => {
  const b = await bench();
  await catRoundTrips(b.client, b.rig);
  await b.close();
});

test('catClient: commands issued together run one at a time, in order', async () => {
  const b = await bench();
  const results = await Promise.all([b.client.getFrequency(), b.client.setMode('AM'), b.client.getMode(), b.client.setFrequency(3_573_000), b.client.getFrequency()]);
  assert.equal(results, [14_074_000, undefined, 'AM', undefined, 3_573_000]);
  await b.close();
});

test('catClient: a busy rig (?;) is asked again after the busy delay, and answers', async () => {
  const b = await bench();
  b.rig.busyFor(250);
  assert.is(await b.drive(b.client.getFrequency()), 14_074_000);
  assert.ok(b.count('FA') > 1, `FA sent ${b.count('FA')} times`);
  assert.ok(b.count('FA') <= 4);
  await b.close();
});

test('catClient: busy through every retry rejects with CatRejectedError (ERR_CAT_REJECTED)', async () => {
  const b = await bench();
  b.rig.busyFor(100_000);
  const err = (await failure(b.drive(b.client.getMode()))) as CatRejectedError;
  assert.instance(err, CatRejectedError);
  assert.instance(err, ConnectionError);
  assert.is(err.code, 'ERR_CAT_REJECTED');
  assert.is(err.answer, '?');
  assert.is(err.attempts, 4);
  assert.is(b.count('MD'), 4);
  await b.close();
});

test('catClient: a silent rig times out after the retries, PS; is not answered either: CatLinkLostError', async () => {
  const b = await bench();
  b.rig.goSilent(true);
  const err = (await failure(b.drive(b.client.getFrequency()))) as CatLinkLostError;
  assert.instance(err, CatLinkLostError);
  assert.is(err.code, 'ERR_CAT_LINK_LOST');
  assert.is(b.count('FA'), 4); // 1 + 3 retries
  assert.is(b.count('PS'), 1); // then the PS check
  // The client goes on: the rig speaks again, the next command works.
  b.rig.goSilent(false);
  assert.is(await b.client.getFrequency(), 14_074_000);
  await b.close();
});

test('catClient: a rig switched off answers only PS: PS0 read, and a timeout error saying the power is off', async () => {
  const b = await bench();
  b.rig.powerOff();
  assert.is(await b.client.powerStatus(), false);
  const err = (await failure(b.drive(b.client.getFrequency()))) as CatTimeoutError;
  assert.instance(err, CatTimeoutError);
  assert.is(err.code, 'ERR_CAT_TIMEOUT');
  assert.is(err.powerOn, false);
  assert.is(err.attempts, 4);
  b.rig.powerOn();
  assert.is(await b.client.powerStatus(), true);
  await b.close();
});

test('catClient: the retries and timeout options are honoured', async () => {
  const b = await bench();
  const client = catClient(b.link, { clock: b.clock, retries: 0, timeoutMs: 50 });
  b.rig.goSilent(true);
  b.client.close(); // one client on the link at a time
  const err = await failure(b.drive(client.getMode(), 10));
  assert.instance(err, CatLinkLostError);
  assert.is(b.count('MD'), 1);
  client.close();
  await b.close();
});

test('catClient: bad input throws before anything is sent', async () => {
  const b = await bench();
  const { client } = b;
  assert.throws(() => client.setMode('XYZ' as never), (e: Error) => e instanceof TypeError && /mode/.test(e.message));
  assert.throws(() => client.setFrequency(100), (e: Error) => e instanceof RangeError && /hz/.test(e.message));
  assert.throws(() => client.setFrequency(61_000_000), RangeError);
  assert.throws(() => client.setFrequency(7.5e6 + 0.5), TypeError);
  assert.throws(() => client.ptt('yes' as never), (e: Error) => e instanceof TypeError && /on/.test(e.message));
  assert.throws(() => client.ptt(1 as never), TypeError);
  assert.throws(() => client.setPower(101), RangeError);
  await ticks();
  assert.is(b.rig.state().frequencyA, 14_074_000);
  assert.is(b.count('MD') + b.count('TX1') + b.count('FA'), 0);
  assert.throws(() => catClient({} as never), TypeError);
  assert.throws(() => catClient(b.link, { retries: -1 }), RangeError);
  assert.throws(() => catClient(b.link, { timeoutMs: 0 }), RangeError);
  await b.close();
});

test('catClient: close() rejects the running and the queued commands, and later ones', async () => {
  const b = await bench();
  b.rig.goSilent(true);
  const running = failure(b.client.getFrequency());
  const queued = failure(b.client.getMode());
  await ticks();
  b.client.close();
  for (const err of [await running, await queued, await failure(b.client.getPower())]) {
    assert.instance(err, LinkClosedError);
    assert.is((err as LinkClosedError).canceled, true);
  }
  await b.close();
});

test('catClient: the link ending under a command rejects it with CatLinkLostError', async () => {
  const b = await bench();
  b.rig.goSilent(true);
  const running = failure(b.client.getFrequency());
  await ticks();
  await b.link.close();
  const err = (await running) as CatLinkLostError;
  assert.instance(err, CatLinkLostError);
  assert.is(err.command, 'FA', 'the error names the command the link ended under');
  assert.instance(await failure(b.client.getMode()), CatLinkLostError);
  await b.close();
});

test.after.each(() => SerialPortMock.binding.reset());

test.run();
