/**
 * A 0-byte read (end of file: the other side hung up) ends the port instead
 * of serialport's unbounded re-read (serialport/bindings-cpp#162), which spins
 * a core and grows memory until the process dies. /dev/null reads 0 bytes
 * every time, the way a pty whose socat died sometimes does.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { hangUpAware } from '../../../transports/serial/hangup.js';

const test = suite('serial hang-up');

test('a read of 0 bytes rejects as a disconnect (EIO) at once instead of reading again', async () => {
  const fd = openSync('/dev/null', 'r');
  let originalReads = 0;
  const port = { fd, isOpen: true, poller: new EventEmitter(), read: async (_b: Buffer, _o: number, _l: number) => (originalReads++, { bytesRead: 0, buffer: Buffer.alloc(0) }) };
  const binding = hangUpAware({ list: async () => [], open: async (_o: object) => port });
  const opened = (await binding.open({})) as typeof port;
  const err = (await opened.read(Buffer.alloc(16), 0, 16).then(() => assert.unreachable('a 0-byte read must not resolve'), (e: unknown) => e)) as NodeJS.ErrnoException & { disconnect?: boolean };
  assert.is(err.code, 'EIO');
  assert.is(err.disconnect, true, 'serialport closes the port on a disconnect error');
  assert.is(originalReads, 0, 'the recursive read was replaced');
  closeSync(fd);
});

test('a closed port rejects as canceled; other bindings (no fd, mocks) are left alone', async () => {
  const port = { fd: null, isOpen: false, poller: new EventEmitter(), read: async (_b: Buffer, _o: number, _l: number) => ({ bytesRead: 0, buffer: Buffer.alloc(0) }) };
  const mockPort = { read: () => 'mine' };
  const wrappedMock = (await hangUpAware({ list: async () => [], open: async (_o: object) => mockPort }).open({})) as typeof mockPort;
  assert.is(wrappedMock.read(), 'mine');
  const withFd = { ...port, fd: 0 as number | null };
  const opened = (await hangUpAware({ list: async () => [], open: async (_o: object) => withFd }).open({})) as typeof port;
  withFd.fd = null;
  const err = (await opened.read(Buffer.alloc(1), 0, 1).catch((e: unknown) => e)) as { canceled?: boolean };
  assert.is(err.canceled, true);
});

test.run();
