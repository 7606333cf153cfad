/** unixSocketListener: stale files, live sockets, regular files, mode, supervised connections. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { AddressInUseError } from '../../../transports/unix/errors.js';
import { unixSocketListener } from '../../../transports/unix/listener/listener.js';
import { until } from '../../helpers/net.js';
import { rawUnixServer, staleSocket, tempDir } from '../../helpers/unix.js';

const test = suite('unix listener');

test('a stale socket file (its server died) is replaced', async () => {
  const tmp = tempDir();
  const path = tmp.path('stale.sock');
  await staleSocket(path); // a server in another process, killed: its socket file stays behind
  assert.ok(statSync(path).isSocket(), 'the dead server left its socket file');
  const l = unixSocketListener({ path });
  await l.listen();
  const c = createConnection({ path });
  await new Promise((r) => c.once('connect', r));
  await until(() => l.supervisor.whichChildren().length === 1, 'the connection supervised');
  c.destroy();
  await l.close();
  assert.not.ok(existsSync(path), 'close() removes the socket file');
  tmp.remove();
});

test('a live socket is an AddressInUseError, and is left alone', async () => {
  const tmp = tempDir();
  const path = tmp.path('live.sock');
  const live = await rawUnixServer(path);
  const err = await unixSocketListener({ path }).listen().then(() => undefined, (e: unknown) => e);
  assert.instance(err, AddressInUseError);
  assert.is((err as AddressInUseError).socketPath, path);
  assert.match((err as Error).message, /listening/);
  const c = createConnection({ path });
  await new Promise((r) => c.once('connect', r));
  c.destroy();
  await live.close();
  tmp.remove();
});

test('a regular file at the path is never deleted', async () => {
  const tmp = tempDir();
  const path = tmp.path('precious.txt');
  writeFileSync(path, 'keep me');
  const err = await unixSocketListener({ path }).listen().then(() => undefined, (e: unknown) => e);
  assert.instance(err, AddressInUseError);
  assert.match((err as Error).message, /not a socket/);
  assert.is(readFileSync(path, 'utf8'), 'keep me');
  tmp.remove();
});

test('mode: the socket file gets 0o660 by default, or the mode given', async () => {
  const tmp = tempDir();
  const a = unixSocketListener({ path: tmp.path('a.sock') });
  const b = unixSocketListener({ path: tmp.path('b.sock'), mode: 0o600 });
  await a.listen();
  await b.listen();
  assert.is(statSync(tmp.path('a.sock')).mode & 0o777, 0o660);
  assert.is(statSync(tmp.path('b.sock')).mode & 0o777, 0o600);
  await a.close();
  await b.close();
  tmp.remove();
});

test('accepted connections are temporary children with reconnect off; a client that leaves is removed', async () => {
  const tmp = tempDir();
  const l = unixSocketListener({ path: tmp.path('s.sock') });
  const ids: string[] = [];
  l.accepted$.subscribe(({ id }) => ids.push(id));
  await l.listen();
  const c = createConnection({ path: tmp.path('s.sock') });
  await until(() => l.supervisor.whichChildren()[0]?.state === 'connected', 'connected child');
  assert.equal(l.supervisor.whichChildren().map((x) => [x.kind, x.restart]), [['unix', 'temporary']]);
  const got = new Promise<string>((r) => c.once('data', (d) => r(d.toString())));
  await l.supervisor.send(ids[0]!, 'hello\n');
  assert.is(await got, 'hello\n');
  c.end();
  await until(() => l.supervisor.whichChildren().length === 0, 'the child removed');
  await l.close();
  tmp.remove();
});

test('bad options are TypeError/RangeError naming the option', () => {
  assert.throws(() => unixSocketListener({ path: '' }), (e: Error) => e instanceof TypeError && /options\.path/.test(e.message));
  assert.throws(() => unixSocketListener({ path: '/tmp/' + 'x'.repeat(200) }), (e: Error) => e instanceof RangeError && /107 bytes/.test(e.message));
  assert.throws(() => unixSocketListener({ path: '/tmp/x.sock', mode: 0o1777 }), (e: Error) => e instanceof RangeError && /options\.mode/.test(e.message));
});

test.run();
