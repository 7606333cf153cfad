/**
 * catClient over real ptys (issue 12 §5): `serialTransport` opens one end of a
 * socat pty pair, the TS-590S emulator answers on a `SerialPort` opened on the
 * other. The same behaviours as cat-client.test.ts (which runs on
 * SerialPortMock and a simulated clock), here with bytes on a port: the
 * kernel's tty layer, serialport's reads and writes, and real time.
 *
 * Timeouts run on real time: the tests that wait for one use a small
 * `timeoutMs`; the others use a generous one, which costs nothing when the
 * rig answers. No duration is asserted.
 */
import { suite } from 'uvu';
import { catRoundTrips } from '../../../helpers/cat.js';
import * as assert from 'uvu/assert';
import { filter, firstValueFrom } from 'rxjs';
import { SerialPort } from 'serialport';
import { serialTransport } from '../../../../transports/serial/serial.transport.js';
import { SerialIOError } from '../../../../transports/serial/errors.js';
import { createRigEmulator, type RigEmulator } from '../../../../transports/serial/cat/rig-emulator.js';
import { catClient, CatLinkLostError, CatTimeoutError, type CatClient, type CatClientOptions } from '../../../../transports/serial/cat/cat-client.js';
import { ConnectionError } from '../../../../machines/ports/errors.js';
import type { Link } from '../../../../machines/ports/transport.js';
import { ptyPair, type PtyPair } from '../../../helpers/pty.js';

const test = suite('cat client over a pty');
const failure = (p: Promise<unknown>) => p.then(() => assert.unreachable('expected a rejection'), (e: unknown) => e);

interface Rig {
  pty: PtyPair;
  /** The emulator's end (B), a real SerialPort. */
  rigPort: SerialPort;
  rig: RigEmulator;
  /** serialTransport's link on end A. */
  link: Link;
  client: CatClient;
  /** Every frame the rig read, in order (without `;`). */
  seen: string[];
  count(command: string): number;
}

let open: Rig | undefined;

/** A socat pair, the emulator on end B, `serialTransport` + `catClient` on end A (115200 baud, which a pty ignores). */
async function rigOnPty(options: CatClientOptions = {}): Promise<Rig> {
  const pty = await ptyPair();
  const rigPort = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
  // A write to a pty whose other side is gone fails with EIO: serialport calls back with it (the
  // emulator's onError) and also emits 'error', which unheard would crash the test process.
  rigPort.on('error', () => {});
  const r = { pty, rigPort } as Rig;
  open = r;
  await new Promise<void>((resolve, reject) => rigPort.open((e) => (e ? reject(e) : resolve())));
  r.rig = createRigEmulator({ port: rigPort });
  r.seen = [];
  r.rig.commands$.subscribe((c) => r.seen.push(c));
  r.count = (command) => r.seen.filter((c) => c === command).length;
  r.link = await serialTransport({ path: pty.a, baudRate: 115200 }).connect({ signal: new AbortController().signal });
  r.client = catClient(r.link, { timeoutMs: 1000, ...options });
  return r;
}

test.after.each(async () => {
  const r = open;
  open = undefined;
  if (!r) return;
  r.client?.close();
  await r.rig?.close();
  await r.link?.close();
  if (r.rigPort.isOpen) await new Promise((resolve) => r.rigPort.close(resolve));
  await r.pty.close();
});

test('catClient over a pty: frequency, mode, PC, PTT, SM0 meter in watts, PS and IF round trips with the emulator', async () => {
  const { client, rig } = await rigOnPty();
  await catRoundTrips(client, rig);
});

test('catClient over a pty: commands issued together reach the rig one at a time and are answered in order', async () => {
  const r = await rigOnPty();
  const results = await Promise.all([
    r.client.getFrequency(),
    r.client.setMode('AM'),
    r.client.getMode(),
    r.client.setFrequency(3_573_000),
    r.client.getFrequency(),
    r.client.setPower(25),
    r.client.getPower(),
    r.client.powerStatus(),
  ]);
  assert.equal(results, [14_074_000, undefined, 'AM', undefined, 3_573_000, undefined, 25, true]);
  assert.equal(r.seen, ['FA', 'MD5', 'MD', 'FA00003573000', 'FA', 'PC025', 'PC', 'PS']);
});

test('catClient over a pty: a busy rig (?;) is asked again after the busy delay, and answers', async () => {
  // retries 10 of busyDelayMs 50: the busy spell of 100 ms ends well within them even on a loaded machine.
  const r = await rigOnPty({ busyDelayMs: 50, retries: 10 });
  r.rig.busyFor(100);
  assert.is(await r.client.getFrequency(), 14_074_000);
  assert.ok(r.count('FA') > 1, `FA sent ${r.count('FA')} times`);
  assert.is(await r.client.getMode(), 'USB');
});

test('catClient over a pty: a silent rig times out after the retries and PS; is not answered either: CatLinkLostError', async () => {
  const r = await rigOnPty({ timeoutMs: 50, retries: 3 });
  r.rig.goSilent(true);
  const err = (await failure(r.client.getFrequency())) as CatLinkLostError;
  assert.instance(err, CatLinkLostError);
  assert.instance(err, ConnectionError);
  assert.is(err.code, 'ERR_CAT_LINK_LOST');
  assert.is(err.command, 'FA');
  assert.is(r.count('FA'), 4); // 1 + 3 retries
  assert.is(r.count('PS'), 1); // then the PS check
  // Silence is not a dead port: the link is still open, and the next command works once the rig speaks.
  r.rig.goSilent(false);
  assert.is(await r.client.getFrequency(), 14_074_000);
});

test('catClient over a pty: a rig switched off answers only PS: a CatTimeoutError with powerOn false', async () => {
  const r = await rigOnPty({ timeoutMs: 50, retries: 1 });
  r.rig.powerOff();
  assert.is(await r.client.powerStatus(), false);
  const err = (await failure(r.client.getMode())) as CatTimeoutError;
  assert.instance(err, CatTimeoutError);
  assert.is(err.code, 'ERR_CAT_TIMEOUT');
  assert.is(err.command, 'MD');
  assert.is(err.powerOn, false);
  assert.is(err.attempts, 2);
  assert.is(r.count('MD'), 2);
  r.rig.powerOn();
  assert.is(await r.client.getMode(), 'USB');
});

/*
 * What serialport does when socat dies (both pty masters closed), measured
 * with serialport 13 / bindings-cpp 13 on Linux: there is no EIO on a read.
 * - Usually (about 9 runs in 10): libuv's poll of the waiting read sees
 *   POLLERR and reports it as UV_EBADF; the read rejects with
 *   Error('bad file descriptor') (no `code`), and serialport's stream closes
 *   the port and emits 'close' with a DisconnectedError (`disconnected:
 *   true`). The link ends lost with a SerialIOError, errno EBADF (read from
 *   the message).
 * - Otherwise: the poll reports the port readable, and every read() of the
 *   hung-up tty returns 0. bindings-cpp's unixRead retries a 0-byte read at
 *   once (serialport/bindings-cpp#162, open), so serialport spins on reads
 *   (most of a core) and notices nothing, until a write fails with EIO:
 *   serialport calls back with it, emits 'error', and closes the port
 *   ('close' with a DisconnectedError). Here the CAT client's retry after
 *   `timeoutMs` is that write. The link ends lost, errno EIO.
 * Either way the command rejects with a CatLinkLostError.
 */
test('catClient over a pty: socat killed under a command: CatLinkLostError, and the link ends lost (SerialIOError, EBADF or EIO)', async () => {
  const r = await rigOnPty({ timeoutMs: 100, retries: 3 });
  r.rig.goSilent(true); // the command is still waiting for its answer when the pty goes away
  const reached = firstValueFrom(r.rig.commands$.pipe(filter((c) => c === 'FA')));
  const running = failure(r.client.getFrequency());
  await reached;
  await r.pty.kill();
  const err = (await running) as CatLinkLostError;
  assert.instance(err, CatLinkLostError);
  assert.is(err.code, 'ERR_CAT_LINK_LOST');
  assert.is(err.command, 'FA');
  const info = await r.link.closed;
  assert.is(info.initiatedLocally, false, 'lost, not closed by us');
  assert.instance(info.error, SerialIOError);
  const errno = (info.error as SerialIOError).errno;
  assert.ok(errno === 'EBADF' || errno === 'EIO', `errno ${errno}`);
  assert.is(info.code, errno);
  // Later commands fail at once with the same typed error, nothing is written.
  const late = (await failure(r.client.getMode())) as CatLinkLostError;
  assert.instance(late, CatLinkLostError);
  assert.is(late.command, 'MD');
});

test.run();
