import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { SerialPortMock } from 'serialport';
import { serialTransport, type SerialTransportOptions } from '../../../transports/serial/serial.transport.js';
import {
  SerialIOError,
  SerialOpenError,
  SerialPermissionDeniedError,
  SerialPortError,
  SerialPortLockedError,
  SerialPortNotFoundError,
} from '../../../transports/serial/errors.js';
import { ConnectionError, LinkClosedError } from '../../../machines/ports/errors.js';
import type { Link } from '../../../machines/ports/transport.js';
import { until } from '../../helpers/net.js';
import { ptyPair, type PtyPair } from '../../helpers/pty.js';

const test = suite('serial errors');
const signal = () => new AbortController().signal;
const failure = (p: Promise<unknown>) => p.then(() => assert.unreachable('expected a rejection'), (e: unknown) => e);

let pty: PtyPair | undefined;
const links: Link[] = [];
test.after.each(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
  await pty?.close();
  pty = undefined;
  SerialPortMock.binding.reset();
});

type MockPort = Awaited<ReturnType<typeof SerialPortMock.binding.open>>;
/** `SerialPortMock.binding`, keeping the port bindings it opens (to emit data and read what was written). */
function capturing(opened: MockPort[]): typeof SerialPortMock.binding {
  const mock = SerialPortMock.binding;
  return { ...mock, open: async (options) => { const port = await mock.open(options); opened.push(port); return port; } };
}

test('serial: a path that does not exist rejects with SerialPortNotFoundError (path, errno, cause)', async () => {
  pty = await ptyPair();
  const err = await failure(serialTransport({ path: pty.path('nope') }).connect({ signal: signal() }));
  assert.instance(err, SerialPortNotFoundError);
  assert.instance(err, ConnectionError);
  const e = err as SerialPortNotFoundError;
  assert.is(e.code, 'ERR_SERIAL_NOT_FOUND');
  assert.is(e.kind, 'serial');
  assert.is(e.path, pty.path('nope'));
  assert.is(e.errno, 'ENOENT');
  assert.instance(e.cause, Error);
});

test('serial: a regular file is not a serial port: a typed, permanent error, not a hang', async () => {
  pty = await ptyPair();
  const file = pty.path('plain.txt');
  writeFileSync(file, 'not a tty');
  const err = await failure(serialTransport({ path: file }).connect({ signal: signal() }));
  assert.instance(err, SerialOpenError);
  assert.is((err as SerialOpenError).errno, 'ENOTTY');
  assert.is((err as SerialOpenError).code, 'ERR_SERIAL_OPEN');
  assert.is((err as SerialOpenError).permanent, true);
});

test('serial: a port another process holds rejects with SerialPortLockedError', async () => {
  pty = await ptyPair();
  const first = await serialTransport({ path: pty.a }).connect({ signal: signal() });
  links.push(first);
  const err = await failure(serialTransport({ path: pty.a }).connect({ signal: signal() }));
  assert.instance(err, SerialPortLockedError);
  assert.is((err as SerialPortLockedError).code, 'ERR_SERIAL_LOCKED');
  assert.is((err as SerialPortLockedError).path, pty.a);
});

test('serial: EACCES from the binding maps to SerialPermissionDeniedError (the tests run as root, so the binding says it)', async () => {
  const binding = { ...SerialPortMock.binding, open: () => Promise.reject(new Error('Error: Permission denied, cannot open /dev/ttyS9')) };
  const err = await failure(serialTransport({ path: '/dev/ttyS9', binding }).connect({ signal: signal() }));
  assert.instance(err, SerialPermissionDeniedError);
  assert.is((err as SerialPermissionDeniedError).errno, 'EACCES');
  assert.is((err as SerialPermissionDeniedError).code, 'ERR_SERIAL_PERMISSION');
});

test('serial: the peer hangs up (socat killed) while connected: the link ends as lost with a SerialIOError', async () => {
  pty = await ptyPair();
  const link = await serialTransport({ path: pty.a }).connect({ signal: signal() });
  links.push(link);
  let completed = false;
  link.incoming$.subscribe({ complete: () => (completed = true) });
  await pty.kill();
  // serialport may notice only on the next read or write: a write to a pty whose other side is gone fails with EIO.
  const sent = await link.send('FA;').then(() => undefined, (e: unknown) => e);
  const info = await link.closed;
  assert.is(info.initiatedLocally, false);
  assert.instance(info.error, SerialIOError);
  assert.is((info.error as SerialIOError).code, 'ERR_SERIAL_IO');
  assert.ok(['EIO', 'EBADF', 'ENXIO'].includes((info.error as SerialIOError).errno!), String((info.error as SerialIOError).errno));
  assert.ok(completed, 'incoming$ completes');
  if (sent !== undefined) assert.instance(sent, LinkClosedError);
  await failure(link.send('late;'));
});

test('serial: SerialPortMock.binding works through the binding option (write recorded, data emitted, close)', async () => {
  SerialPortMock.binding.createPort('/dev/ROBOT', { echo: false, record: true });
  const opened: MockPort[] = [];
  const link = await serialTransport({ path: '/dev/ROBOT', baudRate: 115200, binding: capturing(opened) }).connect({ signal: signal() });
  links.push(link);
  assert.is(opened.length, 1);
  await link.send('FA;');
  await link.send(new Uint8Array([0x49, 0x44, 0x3b]));
  assert.is(opened[0]!.recording.toString(), 'FA;ID;');
  let got = '';
  link.incoming$.subscribe((d) => (got += typeof d === 'string' ? d : Buffer.from(d).toString()));
  opened[0]!.emitData('FA00014074000;');
  await until(() => got === 'FA00014074000;', 'the emitted answer');
  await link.close();
  assert.is((await link.closed).initiatedLocally, true);
  assert.not.ok(opened[0]!.isOpen);
});

test('serial: options left undefined reach serialport as its defaults, not as undefined', async () => {
  SerialPortMock.binding.createPort('/dev/ROBOT', { echo: false, record: true });
  const opened: MockPort[] = [];
  const options: SerialTransportOptions = { path: '/dev/ROBOT', binding: capturing(opened), dataBits: undefined, stopBits: undefined, parity: undefined, rtscts: undefined };
  links.push(await serialTransport(options).connect({ signal: signal() }));
  const { dataBits, stopBits, parity, rtscts, baudRate } = opened[0]!.openOptions;
  assert.equal({ dataBits, stopBits, parity, rtscts, baudRate }, { dataBits: 8, stopBits: 1, parity: 'none', rtscts: false, baudRate: 9600 });
});

test('serial: a mock port never created is SerialPortNotFoundError', async () => {
  const err = await failure(serialTransport({ path: '/dev/NOBODY', binding: SerialPortMock.binding }).connect({ signal: signal() }));
  assert.instance(err, SerialPortNotFoundError);
});

test('serial: an abort while the port opens rejects as canceled, and the port it opened is closed', async () => {
  SerialPortMock.binding.createPort('/dev/ROBOT', { echo: false, record: true });
  const opened: MockPort[] = [];
  const ac = new AbortController();
  const p = serialTransport({ path: '/dev/ROBOT', binding: capturing(opened) }).connect({ signal: ac.signal });
  ac.abort();
  const err = await failure(p);
  assert.instance(err, LinkClosedError);
  assert.is((err as LinkClosedError).canceled, true);
  await until(() => opened.length === 1 && !opened[0]!.isOpen, 'the late-opened port to be closed');
});

test('serial: bad options are a TypeError or RangeError naming the option', () => {
  const cases: Array<[unknown, typeof TypeError, RegExp]> = [
    [null, TypeError, /^options must be an object/],
    [{ path: '' }, TypeError, /^options\.path /],
    [{ path: 1 }, TypeError, /^options\.path /],
    [{ path: '/dev/x', baudRate: 0 }, RangeError, /^options\.baudRate must be an integer >= 1, got 0/],
    [{ path: '/dev/x', baudRate: 9600.5 }, RangeError, /^options\.baudRate /],
    [{ path: '/dev/x', baudRate: '9600' }, TypeError, /^options\.baudRate /],
    [{ path: '/dev/x', dataBits: 9 }, RangeError, /^options\.dataBits must be an integer within 5\.\.8, got 9/],
    [{ path: '/dev/x', stopBits: 3 }, RangeError, /^options\.stopBits must be one of 1, 1\.5, 2, got 3/],
    [{ path: '/dev/x', stopBits: '1' }, TypeError, /^options\.stopBits /],
    [{ path: '/dev/x', parity: 'weird' }, TypeError, /^options\.parity must be one of none, even, odd, mark, space/],
    [{ path: '/dev/x', rtscts: 'yes' }, TypeError, /^options\.rtscts must be a boolean/],
    [{ path: '/dev/x', binding: {} }, TypeError, /^options\.binding must have open and list/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => serialTransport(options as SerialTransportOptions), (e: Error) => e instanceof type && message.test(e.message), JSON.stringify(options));
  }
});

test('serial: every error class is a SerialPortError with the serial kind', () => {
  for (const e of [new SerialPortNotFoundError('/p'), new SerialPermissionDeniedError('/p'), new SerialPortLockedError('/p'), new SerialIOError('/p'), new SerialOpenError('/p')]) {
    assert.instance(e, SerialPortError);
    assert.is(e.kind, 'serial');
    assert.is(e.path, '/p');
    assert.ok(e.code.startsWith('ERR_SERIAL_'));
  }
});

test.run();
