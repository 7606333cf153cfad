/** ConnectionManager (issue 14 §1): cached supervised connections per ServerLocation, network events, graceful shutdown; real sockets. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSupervisor, silentLogger } from '../../../actors/index.js';
import { createDevCertificates } from '../../../transports/tcp/certs.js';
import { TcpConnectionRefusedError } from '../../../transports/tcp/errors.js';
import { createListener } from '../../../transports/tcp/listener/listener.js';
import { delimited, encodeLengthPrefixed, lengthPrefixed } from '../../../transports/tcp/framing.js';
import { CacheKeyConflictError, ConnectionManager, type NetworkEvent } from '../../../transports/tcp/manager/connection-manager.js';
import { freePort, until } from '../../helpers/net.js';

const test = suite('tcp connection manager');

test('connect: one supervised connection per location; the cache returns the same one, never a duplicate', async () => {
  const a = await createListener({ logger: silentLogger });
  const b = await createListener({ logger: silentLogger });
  const sup = createSupervisor({ logger: silentLogger });
  const manager = new ConnectionManager({ supervisor: sup });
  const servers = [
    { host: '127.0.0.1', port: a.port, enableTLS: false, cacheKey: 'a' },
    { host: '127.0.0.1', port: b.port, enableTLS: false, cacheKey: 'b' },
  ];
  const [ha, hb] = await manager.connect(servers);
  assert.is(ha!.state, 'connected');
  assert.is(hb!.state, 'connected');
  assert.is(manager.connection('a'), ha);
  const again = await manager.connect([servers[0]!]);
  assert.is(again[0], ha, 'reused');
  assert.equal(sup.whichChildren().map((c) => c.id).sort(), ['a', 'b'], 'no duplicate child');
  await until(() => a.connections().length === 1 && b.connections().length === 1, 'one accepted connection per server');
  await assert.not.throws(() => manager.connection('nope'));
  assert.is(manager.connection('nope'), undefined);
  await manager.gracefulShutdown();
  assert.equal(sup.whichChildren(), []);
  await until(() => a.connections().length === 0 && b.connections().length === 0, 'the servers saw the clients leave');
  await sup.shutdown();
  await a.close();
  await b.close();
});

test('a cacheKey used twice for different servers is a CacheKeyConflictError; nothing is started', async () => {
  const manager = new ConnectionManager({ logger: silentLogger });
  const err = await manager
    .connect([
      { host: '127.0.0.1', port: 1111, enableTLS: false, cacheKey: 'k' },
      { host: '127.0.0.1', port: 2222, enableTLS: false, cacheKey: 'k' },
    ])
    .catch((e: unknown) => e);
  assert.instance(err, CacheKeyConflictError);
  assert.is((err as CacheKeyConflictError).code, 'ERR_TCP_CACHE_KEY_CONFLICT');
  assert.equal(manager.supervisor.whichChildren(), []);
  const bad: Array<[unknown, RegExp]> = [
    ['x', /^servers must be an array/],
    [[{ host: '127.0.0.1', port: 99999, enableTLS: false, cacheKey: 'p' }], /^servers\[0\]\.port /],
    [[{ host: 5, port: 80, enableTLS: false, cacheKey: 'p' }], /^servers\[0\]\.host /],
    [[{ host: 'h', port: 80, enableTLS: 'yes', cacheKey: 'p' }], /^servers\[0\]\.enableTLS /],
    [[{ host: 'h', port: 80, enableTLS: false, cacheKey: '' }], /^servers\[0\]\.cacheKey /],
  ];
  for (const [servers, message] of bad) {
    const e = await manager.connect(servers as never).catch((x: unknown) => x);
    assert.ok((e instanceof TypeError || e instanceof RangeError) && message.test((e as Error).message), `${message}: ${String(e)}`);
  }
  await manager.gracefulShutdown();
});

test('events$: resolving, resolved, connecting, connected, the TLS handshake with protocol and cipher, closed', async () => {
  const certs = await createDevCertificates();
  const listener = await createListener({ tls: { cert: certs.server.cert, key: certs.server.key }, logger: silentLogger });
  const manager = new ConnectionManager({ logger: silentLogger });
  const events: NetworkEvent[] = [];
  manager.events$.subscribe((e) => events.push(e));
  await manager.connect([{ host: 'localhost', port: listener.port, enableTLS: true, cacheKey: 'secure', tls: { ca: certs.ca.cert } }]);
  await manager.gracefulShutdown();
  assert.equal(events.map((e) => e.type), ['resolving', 'resolved', 'connecting', 'connected', 'tls-handshake', 'closed']);
  const tls = events[4] as Extract<NetworkEvent, { type: 'tls-handshake' }>;
  assert.match(tls.tls.protocol, /^TLSv1\.[23]$/);
  assert.ok(tls.tls.cipher && tls.tls.authorized);
  assert.ok(events.every((e) => e.cacheKey === 'secure' && e.host === 'localhost' && e.port === listener.port && e.at > 0));
  assert.equal((events[5] as Extract<NetworkEvent, { type: 'closed' }>).initiatedLocally, true);
  await listener.close();
});

test('maxReconnectionAttempts: a server that never answers fails the connect with the typed error, and an error event per attempt', async () => {
  const port = await freePort();
  const manager = new ConnectionManager({ logger: silentLogger });
  const errors: NetworkEvent[] = [];
  manager.events$.subscribe((e) => e.type === 'error' && errors.push(e));
  const err = await manager.connect([{ host: '127.0.0.1', port, enableTLS: false, cacheKey: 'down' }], { maxReconnectionAttempts: 2, timeoutMs: 1000 }).catch((e: unknown) => e);
  assert.instance(err, TcpConnectionRefusedError);
  assert.is((err as TcpConnectionRefusedError).code, 'ERR_CONNECTION_REFUSED');
  assert.is(errors.length, 3, 'the first try and 2 retries');
  assert.is(manager.connection('down'), undefined, 'a failed connection leaves the cache');
  await manager.gracefulShutdown();
  const late = await manager.connect([]).catch((e: unknown) => e);
  assert.is((late as { code?: string }).code, 'ERR_TCP_MANAGER_SHUT_DOWN');
});

test('framing chosen per connection: frames(cacheKey) cuts length-prefixed and delimited streams; chunks as they came without', async () => {
  const server = await createListener({ logger: silentLogger });
  const accepted: Array<(d: Uint8Array | string) => Promise<void>> = [];
  server.connections$.subscribe(({ connection }) => accepted.push((d) => connection.send(d)));
  const manager = new ConnectionManager({ logger: silentLogger });
  const at = { host: '127.0.0.1', port: server.port, enableTLS: false };
  // One after the other, so the listener's first accepted connection is lp's.
  await manager.connect([{ ...at, cacheKey: 'lp', framing: lengthPrefixed({ bytes: 2 }) }]);
  await until(() => accepted.length === 1, 'lp accepted');
  await manager.connect([{ ...at, cacheKey: 'nl', framing: delimited({ delimiter: '\n' }) }]);
  await until(() => accepted.length === 2, 'both accepted');
  const got: Record<string, string[]> = { lp: [], nl: [] };
  for (const key of ['lp', 'nl'] as const) manager.frames(key).subscribe((f) => got[key]!.push(Buffer.from(f).toString()));
  const [toLp, toNl] = accepted as [(d: Uint8Array | string) => Promise<void>, (d: Uint8Array | string) => Promise<void>];
  const two = Buffer.concat([encodeLengthPrefixed('one', { bytes: 2 }), encodeLengthPrefixed('two', { bytes: 2 })]);
  await toLp(two);
  const three = encodeLengthPrefixed('three', { bytes: 2 });
  await toLp(three.subarray(0, 3));
  await toNl('alpha\nbe');
  await toLp(three.subarray(3));
  await toNl('ta\n');
  await until(() => got.lp!.length === 3 && got.nl!.length === 2, 'the frames');
  assert.equal(got, { lp: ['one', 'two', 'three'], nl: ['alpha', 'beta'] });
  const bad = await manager.connect([{ ...at, cacheKey: 'bad', framing: 7 as never }]).catch((e: unknown) => e);
  assert.ok(bad instanceof TypeError && /servers\[0\]\.framing/.test(bad.message), String(bad));
  await manager.gracefulShutdown();
  await server.close();
});

test.run();
