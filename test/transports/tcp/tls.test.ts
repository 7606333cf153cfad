/**
 * tcpTransport over TLS with real certificates (createDevCertificates) and a
 * real server (createListener): the session is told, and a refused
 * certificate says which check failed: unknown CA, hostname mismatch,
 * expired; mutual TLS required and presented, or refused.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSupervisor, silentLogger } from '../../../actors/index.js';
import { createDevCertificates, type DevCertificates } from '../../../transports/tcp/certs.js';
import { TlsHandshakeError, TlsVerificationError, TcpError } from '../../../transports/tcp/errors.js';
import { createListener, type TcpListener } from '../../../transports/tcp/listener/listener.js';
import { tcpTransport, type TcpLink } from '../../../transports/tcp/tcp.transport.js';
import { until } from '../../helpers/net.js';

const test = suite('tcp tls');
let certs: DevCertificates;
let other: DevCertificates;
let expired: DevCertificates;

test.before(async () => {
  [certs, other, expired] = await Promise.all([createDevCertificates(), createDevCertificates(), createDevCertificates({ expired: true })]);
});

const signal = () => new AbortController().signal;
const echo = (l: TcpListener) => l.connections$.subscribe(({ connection }) => connection.data$.subscribe((d) => void connection.send(d)));

test('TLS 1.2 and 1.3: connect, the session is told, bytes round-trip', async () => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const listener = await createListener({ tls: { cert: certs.server.cert, key: certs.server.key }, logger: silentLogger });
    echo(listener);
    const link = await tcpTransport({ host: '127.0.0.1', port: listener.port, tls: { ca: certs.ca.cert, minVersion: version, maxVersion: version } }).connect({ signal: signal() });
    const session = (link as TcpLink).info.tls!;
    assert.is(session.protocol, version);
    assert.ok(session.authorized);
    assert.ok(session.cipher);
    const got: string[] = [];
    link.incoming$.subscribe((d) => got.push(Buffer.from(d as Uint8Array).toString()));
    await link.send('hello');
    await until(() => got.join('') === 'hello', 'the echo');
    await link.close();
    await listener.close();
  }
});

test('a refused certificate says which check failed: unknown CA, hostname, expired; and it is permanent', async () => {
  const good = await createListener({ tls: { cert: certs.server.cert, key: certs.server.key }, logger: silentLogger });
  const old = await createListener({ tls: { cert: expired.server.cert, key: expired.server.key }, logger: silentLogger });
  const fail = (p: Promise<unknown>): Promise<TlsVerificationError> =>
    p.then(
      () => {
        throw new Error('the handshake must fail');
      },
      (e: unknown) => e as TlsVerificationError,
    );
  const unknownCa = await fail(tcpTransport({ host: '127.0.0.1', port: good.port, tls: { ca: other.ca.cert } }).connect({ signal: signal() }));
  assert.instance(unknownCa, TlsVerificationError);
  assert.is(unknownCa.check, 'unknown-ca');
  assert.is(unknownCa.permanent, true);
  const hostname = await fail(tcpTransport({ host: '127.0.0.1', port: good.port, tls: { ca: certs.ca.cert, servername: 'example.test' } }).connect({ signal: signal() }));
  assert.instance(hostname, TlsVerificationError);
  assert.is(hostname.check, 'hostname');
  const stale = await fail(tcpTransport({ host: '127.0.0.1', port: old.port, tls: { ca: expired.ca.cert } }).connect({ signal: signal() }));
  assert.instance(stale, TlsVerificationError);
  assert.is(stale.check, 'expired');
  assert.is(stale.verifyCode, 'CERT_HAS_EXPIRED');
  await good.close();
  await old.close();
});

test('mutual TLS: a client certificate required and presented is accepted; none is refused with a typed error', async () => {
  const listener = await createListener({
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true },
    logger: silentLogger,
  });
  echo(listener);
  const link = await tcpTransport({ host: 'localhost', port: listener.port, tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } }).connect({ signal: signal() });
  const got: string[] = [];
  link.incoming$.subscribe((d) => got.push(Buffer.from(d as Uint8Array).toString()));
  await link.send('mtls');
  await until(() => got.join('') === 'mtls', 'the echo over mutual TLS');
  await link.close();
  // Without a certificate: TLS 1.3 reports the server's refusal after the handshake, as the link ends.
  const bare = await tcpTransport({ host: 'localhost', port: listener.port, tls: { ca: certs.ca.cert } })
    .connect({ signal: signal() })
    .then(async (l) => (await l.closed).error, (e: unknown) => e);
  assert.ok(bare instanceof TcpError || bare instanceof Error, String(bare));
  assert.match(String((bare as Error).message), /certificate|alert|handshake|reset|closed/i);
  await until(() => listener.connections().length === 0, 'the refused client never became a connection');
  await listener.close();
});

test('mutual TLS: a supervised connection without a client certificate ends failed (permanent_failure), not retried forever', async () => {
  const listener = await createListener({
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true },
    logger: silentLogger,
  });
  const sup = createSupervisor({ logger: silentLogger });
  sup.startChild({
    id: 'nocert',
    transport: tcpTransport({ host: 'localhost', port: listener.port, tls: { ca: certs.ca.cert } }),
    policy: { initialBackoffMs: 10, maxBackoffMs: 20, maxRetries: 50 },
  });
  const handle = sup.connection('nocert');
  const states: string[] = [];
  handle.state$.subscribe((s) => states.push(s));
  await until(() => handle.state === 'failed', 'failed after two identical refusals');
  assert.is(states.filter((s) => s === 'connected').length, 2, 'each refusal came after the handshake (TLS 1.3)');
  const error = handle.lastError as TlsHandshakeError;
  assert.instance(error, TlsHandshakeError, String(error));
  assert.is(error.reason, 'client-certificate-required');
  assert.ok(error.permanent);
  await sup.shutdown();
  await listener.close();
});

test('a supervised TLS connection reconnects with backoff when the server restarts on the same port', async () => {
  let listener = await createListener({ tls: { cert: certs.server.cert, key: certs.server.key }, logger: silentLogger });
  const port = listener.port;
  const sup = createSupervisor({ logger: silentLogger });
  sup.startChild({ id: 'db', transport: tcpTransport({ host: 'localhost', port, tls: { ca: certs.ca.cert } }), policy: { initialBackoffMs: 50, maxBackoffMs: 200 } });
  const db = sup.connection('db');
  const states: string[] = [];
  db.state$.subscribe((s) => states.push(s));
  await until(() => db.state === 'connected', 'connected');
  await listener.close();
  await until(() => states.includes('reconnecting'), 'the loss noticed');
  listener = await createListener({ port, tls: { cert: certs.server.cert, key: certs.server.key }, logger: silentLogger });
  await until(() => db.state === 'connected' && states.lastIndexOf('connected') > states.indexOf('reconnecting'), 'back after the restart');
  await sup.shutdown();
  await listener.close();
});

test('bad input: port out of range, a host that is not a string, a certificate that is not PEM', () => {
  const cases: Array<[unknown, typeof TypeError, RegExp]> = [
    [{ host: 'x', port: 70000 }, RangeError, /^options\.port /],
    [{ host: 'x', port: 0 }, RangeError, /^options\.port /],
    [{ host: 7, port: 80 }, TypeError, /^options\.host /],
    [{ host: 'x', port: 80, tls: { ca: 'hello' } }, TypeError, /^options\.tls\.ca must be a CA certificate in PEM/],
    [{ host: 'x', port: 80, tls: { cert: certs.client.cert } }, TypeError, /^options\.tls\.key is required with options\.tls\.cert/],
  ];
  for (const [o, type, message] of cases) assert.throws(() => tcpTransport(o as never), (e: unknown) => e instanceof type && message.test((e as Error).message), String(message));
});

test.run();
