/** createListener (issue 14 §2): accepted TCP connections as supervised actors, connections$, broadcast, graceful close; with real sockets. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { createSupervisor, silentLogger } from '../../../actors/index.js';
import { ListenError } from '../../../machines/ports/errors.js';
import { createListener } from '../../../transports/tcp/listener/listener.js';
import { until } from '../../helpers/net.js';

const test = suite('tcp listener');

function client(port: number): Promise<Socket & { got: string[] }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }) as Socket & { got: string[] };
    s.got = [];
    s.setEncoding('utf8');
    s.on('data', (d: string) => s.got.push(d));
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('accepted connections are supervised children of the given supervisor; data in and out; broadcast reaches each', async () => {
  const sup = createSupervisor({ logger: silentLogger });
  const listener = await createListener({ supervisor: sup });
  assert.is(listener.host, '127.0.0.1', 'loopback by default');
  assert.ok(listener.port > 0);
  const ids: string[] = [];
  listener.connections$.subscribe(({ id, connection }) => {
    ids.push(id);
    connection.data$.subscribe((d) => void connection.send(`echo:${typeof d === 'string' ? d : Buffer.from(d).toString()}`));
  });
  const a = await client(listener.port);
  const b = await client(listener.port);
  await until(() => listener.connections().length === 2, 'two accepted');
  assert.equal(ids, ['tcp-conn-1', 'tcp-conn-2']);
  assert.equal(sup.whichChildren().map((c) => [c.id, c.state]), [['tcp-conn-1', 'connected'], ['tcp-conn-2', 'connected']]);
  a.write('ping');
  await until(() => a.got.join('') === 'echo:ping', 'the echo');
  const result = await listener.broadcast('all\n');
  assert.equal(result, { sent: 2, failed: [] });
  await until(() => a.got.join('').endsWith('all\n') && b.got.join('') === 'all\n', 'the broadcast');
  // A client that leaves frees its child.
  b.destroy();
  await until(() => listener.connections().length === 1 && sup.whichChildren().length === 1, 'the gone client removed');
  const ended = new Promise((r) => a.once('close', r));
  await listener.close();
  await ended;
  assert.equal(sup.whichChildren(), [], 'close() closed every connection');
  await sup.shutdown();
});

test('close() is graceful: stops accepting, closes every connection, resolves when all are gone; idempotent', async () => {
  const listener = await createListener({ logger: silentLogger });
  const clients = await Promise.all([client(listener.port), client(listener.port), client(listener.port)]);
  await until(() => listener.connections().length === 3, 'three accepted');
  const closed = clients.map((c) => new Promise((r) => c.once('close', r)));
  await Promise.all([listener.close(), listener.close()]);
  await Promise.all(closed);
  const refused = await client(listener.port).then((s) => (s.destroy(), false), () => true);
  assert.ok(refused, 'nothing listens after close');
});

test('a taken port is a ListenError; bad options are TypeError/RangeError naming them', async () => {
  const first = await createListener({ logger: silentLogger });
  const err = await createListener({ port: first.port, logger: silentLogger }).catch((e: unknown) => e);
  assert.instance(err, ListenError);
  assert.is((err as ListenError).errno, 'EADDRINUSE');
  await first.close();
  const cases: Array<[unknown, RegExp, typeof TypeError]> = [
    [{ port: 70000 }, /^options\.port /, RangeError],
    [{ port: -1 }, /^options\.port /, RangeError],
    [{ port: '80' }, /^options\.port /, TypeError],
    [{ host: 7 }, /^options\.host /, TypeError],
    [{ tls: { cert: 'not pem', key: 'x' } }, /^options\.tls\.cert must be PEM/, TypeError],
    [{ supervisor: {} }, /^options\.supervisor /, TypeError],
  ];
  for (const [options, message, type] of cases) {
    const e = await createListener(options as never).catch((x: unknown) => x);
    assert.ok(e instanceof type && message.test((e as Error).message), `${JSON.stringify(options)}: ${String(e)}`);
  }
});

test.run();
