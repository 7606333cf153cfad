/**
 * tcpTransport against real loopback peers (Node `net`/`tls` servers on port
 * 0, certificates from openssl): typed connect errors, TLS failures that say
 * which check failed, the TLS session info, the network events, bad input.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type AddressInfo } from 'node:net';
import type { LookupFunction } from 'node:net';
import {
  HostNotFoundError,
  TcpBufferOverflowError,
  TcpConnectionRefusedError,
  TcpConnectionResetError,
  TcpError,
  TcpTimeoutError,
  HostUnreachableError,
  tcpError,
  TlsHandshakeError,
  TlsVerificationError,
} from '../../../transports/tcp/errors.js';
import { tcpTransport, type TcpLink, type TcpNetworkEvent, type TcpTransportOptions } from '../../../transports/tcp/tcp.transport.js';
import { ConnectionError, LinkClosedError } from '../../../machines/ports/errors.js';
import { freePort, until } from '../../helpers/net.js';
import { makeTestPki, tcpServer, tlsServer, type TestCert } from '../../helpers/tls.js';

const test = suite('tcp transport');
const pki = makeTestPki();
const signal = () => new AbortController().signal;
const failure = (p: Promise<unknown>) => p.then(() => assert.unreachable('expected a rejection'), (e: unknown) => e);

/** Connect to a TLS server presenting `cert`, with `tls` options; the server closed after. */
async function tryTls(cert: TestCert, tls: TcpTransportOptions['tls'], host = '127.0.0.1', version: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3') {
  const server = await tlsServer({ cert: cert.cert, key: cert.key, minVersion: version, maxVersion: version });
  try {
    const link = await tcpTransport({ host, port: server.port, tls }).connect({ signal: signal() });
    await link.close();
    return link;
  } catch (e) {
    return e;
  } finally {
    await server.close();
  }
}

test.after(() => pki.remove());

test('tcp: bad input is a TypeError or RangeError naming the argument', () => {
  const is = (cls: ErrorConstructor, re: RegExp) => (e: Error) => e.constructor === cls && re.test(e.message);
  const make = (o: unknown) => () => tcpTransport(o as TcpTransportOptions);
  assert.throws(make(undefined), is(TypeError, /^options must be an object/));
  for (const port of [-1, 65536, 1.5, 0, Infinity]) assert.throws(make({ host: 'localhost', port }), is(RangeError, /^options\.port must be an integer within 1\.\.65535, got /), String(port));
  for (const port of ['443', NaN, undefined, null]) assert.throws(make({ host: 'localhost', port }), is(TypeError, /^options\.port must be an integer/), String(port));
  for (const host of [42, undefined, null, {}, ['a']]) assert.throws(make({ host, port: 1 }), is(TypeError, /^options\.host must be a string \(a host name or an IP address\), got /), String(host));
  assert.throws(make({ host: '', port: 1 }), is(TypeError, /^options\.host must be a non-empty string, got ""/));
  const tls = (t: unknown) => make({ host: 'localhost', port: 1, tls: t });
  assert.throws(tls(true), is(TypeError, /^options\.tls must be an object/));
  assert.throws(tls({ ca: 'not a certificate' }), is(TypeError, /^options\.tls\.ca must be a CA certificate in PEM \(a string or bytes with "-----BEGIN \.\.\."\), got "not a certificate"/));
  assert.throws(tls({ ca: Buffer.from('DER bytes?') }), is(TypeError, /^options\.tls\.ca must be a CA certificate in PEM .*got 10 bytes that are not PEM/));
  assert.throws(tls({ ca: [pki.ca.cert, 7] }), is(TypeError, /^options\.tls\.ca\[1\] must be a CA certificate in PEM/));
  assert.throws(tls({ ca: [] }), is(TypeError, /^options\.tls\.ca must be .*an empty array/));
  assert.throws(tls({ ca: pki.ca.key }), is(TypeError, /^options\.tls\.ca must be a CA certificate in PEM/), 'a key where a certificate goes');
  assert.throws(tls({ cert: pki.client.cert }), is(TypeError, /^options\.tls\.key is required with options\.tls\.cert/));
  assert.throws(tls({ key: pki.client.key }), is(TypeError, /^options\.tls\.cert is required with options\.tls\.key/));
  assert.throws(tls({ cert: pki.client.cert, key: pki.client.cert }), is(TypeError, /^options\.tls\.key must be a private key in PEM/));
  assert.throws(tls({ cert: pki.client.cert, key: pki.server.key }), is(TypeError, /^options\.tls\.key is not the private key of options\.tls\.cert/));
  const garbled = pki.ca.cert.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
  assert.throws(tls({ ca: garbled }), is(TypeError, /^options\.tls\.ca is not a valid PEM certificate/));
  assert.throws(tls({ minVersion: 'TLSv1' }), is(TypeError, /^options\.tls\.minVersion must be one of TLSv1\.2, TLSv1\.3, got "TLSv1"/));
  assert.throws(tls({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }), is(RangeError, /^options\.tls\.minVersion \(TLSv1\.3\) is above options\.tls\.maxVersion/));
  assert.throws(tls({ rejectUnauthorized: 'no' }), is(TypeError, /^options\.tls\.rejectUnauthorized must be a boolean, got "no"/));
  assert.throws(tls({ servername: 5 }), is(TypeError, /^options\.tls\.servername must be a non-empty string/));
  assert.throws(make({ host: 'localhost', port: 1, keepAliveMs: -1 }), is(RangeError, /^options\.keepAliveMs must be a finite number within 0\.\./));
  assert.throws(make({ host: 'localhost', port: 1, noDelay: 1 }), is(TypeError, /^options\.noDelay must be a boolean/));
  assert.throws(make({ host: 'localhost', port: 1, lookup: 'dns' }), is(TypeError, /^options\.lookup must be a function/));
  assert.throws(make({ host: 'localhost', port: 1, maxBufferedBytes: 0 }), is(RangeError, /^options\.maxBufferedBytes/));
  // PEM given as bytes is fine; the transport is made, nothing is opened.
  const t = tcpTransport({ host: 'localhost', port: 1, tls: { ca: Buffer.from(pki.ca.cert), cert: Buffer.from(pki.client.cert), key: pki.client.key } });
  assert.is(t.kind, 'tcp');
  assert.is(t.secure, true);
});

test('tcp: connect to a port nobody listens on rejects with TcpConnectionRefusedError (ERR_CONNECTION_REFUSED, host, port, errno)', async () => {
  const port = await freePort();
  for (const tls of [undefined, { ca: pki.ca.cert }]) {
    const err = await failure(tcpTransport({ host: '127.0.0.1', port, ...(tls ? { tls } : {}) }).connect({ signal: signal() }));
    assert.instance(err, TcpConnectionRefusedError);
    assert.instance(err, ConnectionError);
    const e = err as TcpConnectionRefusedError;
    assert.equal([e.code, e.errno, e.host, e.port, e.kind, e.permanent, e.tls], ['ERR_CONNECTION_REFUSED', 'ECONNREFUSED', '127.0.0.1', port, 'tcp', false, tls !== undefined]);
    assert.is((e.cause as { code?: string }).code, 'ECONNREFUSED');
  }
});

test('tcp: a host that does not resolve rejects with HostNotFoundError (the OS resolver, and an injected lookup)', async () => {
  const real = await failure(tcpTransport({ host: 'no-such-host.invalid', port: 80 }).connect({ signal: signal() }));
  assert.instance(real, HostNotFoundError);
  assert.ok(['ENOTFOUND', 'EAI_AGAIN'].includes((real as HostNotFoundError).errno!), String((real as HostNotFoundError).errno));
  assert.is((real as HostNotFoundError).code, 'ERR_HOST_NOT_FOUND');
  const lookup: LookupFunction = (hostname, _options, callback) =>
    callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
  const injected = await failure(tcpTransport({ host: 'db.internal', port: 5432, lookup }).connect({ signal: signal() }));
  assert.instance(injected, HostNotFoundError);
  assert.match((injected as Error).message, /cannot resolve "db\.internal": no such host \(ENOTFOUND\)/);
});

test('tcp: an injected lookup decides where a name goes', async () => {
  const server = await tcpServer();
  const asked: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    asked.push(hostname);
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
  const link = await tcpTransport({ host: 'service.registry', port: server.port, lookup }).connect({ signal: signal() });
  assert.equal(asked, ['service.registry']);
  assert.is(link.info.remote.address, '127.0.0.1');
  await link.close();
  await server.close();
});

test('tcp: errnos without a live peer to show them map to their classes (ETIMEDOUT, EHOSTUNREACH, ECONNRESET, others)', () => {
  const ctx = { host: '10.0.0.9', port: 22 };
  const of = (code: string) => tcpError(Object.assign(new Error(code), { code }), ctx);
  assert.instance(of('ETIMEDOUT'), TcpTimeoutError);
  assert.is(of('ETIMEDOUT').code, 'ERR_TCP_TIMEOUT');
  assert.instance(of('EHOSTUNREACH'), HostUnreachableError);
  assert.instance(of('ENETUNREACH'), HostUnreachableError);
  assert.instance(of('ECONNRESET'), TcpConnectionResetError);
  assert.instance(of('EPIPE'), TcpConnectionResetError);
  const other = of('EADDRNOTAVAIL');
  assert.is(other.constructor, TcpError);
  assert.equal([other.code, other.errno], ['ERR_TCP', 'EADDRNOTAVAIL']);
  // TLS codes only mean TLS on a TLS connection.
  assert.instance(tcpError(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), { ...ctx, tls: true }), TlsVerificationError);
  assert.instance(tcpError(Object.assign(new Error('x'), { code: 'CERT_REVOKED' }), { ...ctx, tls: true }), TlsVerificationError);
  assert.is((tcpError(Object.assign(new Error('x'), { code: 'CERT_REVOKED' }), { ...ctx, tls: true }) as TlsVerificationError).check, 'revoked');
  assert.is((tcpError(Object.assign(new Error('x'), { code: 'INVALID_PURPOSE' }), { ...ctx, tls: true }) as TlsVerificationError).check, 'other');
});

test('tls: a refused server certificate says which check failed; it is permanent', async () => {
  const cases: Array<[string, TestCert, TcpTransportOptions['tls'], string, string]> = [
    ['signed by another CA', pki.otherServer, { ca: pki.ca.cert }, 'unknown-ca', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['our CA not given (public roots only)', pki.server, {}, 'unknown-ca', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['self-signed', pki.selfSigned, { ca: pki.ca.cert }, 'unknown-ca', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['made for another host', pki.wrongHost, { ca: pki.ca.cert }, 'hostname', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['checked against another servername', pki.server, { ca: pki.ca.cert, servername: 'other.test' }, 'hostname', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['expired', pki.expired, { ca: pki.ca.cert }, 'expired', 'CERT_HAS_EXPIRED'],
    ['not yet valid', pki.notYetValid, { ca: pki.ca.cert }, 'not-yet-valid', 'CERT_NOT_YET_VALID'],
  ];
  for (const [what, cert, tls, check, verifyCode] of cases) {
    const err = await tryTls(cert, tls);
    assert.instance(err, TlsVerificationError, what);
    const e = err as TlsVerificationError;
    assert.equal([e.check, e.verifyCode, e.errno, e.code, e.permanent, e.tls], [check, verifyCode, verifyCode, 'ERR_TLS_VERIFICATION', true, true], what);
  }
  const named = (await tryTls(pki.server, { ca: pki.ca.cert, servername: 'other.test' })) as TlsVerificationError;
  assert.is(named.servername, 'other.test');
  assert.match(named.message, /refused the TLS certificate of 127\.0\.0\.1:\d+: it is not valid for the host name/);
});

test('tls: rejectUnauthorized false connects anyway and says why it is not authorized', async () => {
  const link = (await tryTls(pki.otherServer, { ca: pki.ca.cert, rejectUnauthorized: false })) as TcpLink;
  assert.is(link.info.tls?.authorized, false);
  assert.is(link.info.tls?.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('tls: the link tells the session: protocol, cipher, authorized, the server certificate', async () => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const link = (await tryTls(pki.server, { ca: pki.ca.cert }, 'localhost', version)) as TcpLink;
    const tls = link.info.tls!;
    assert.is(tls.protocol, version);
    assert.type(tls.cipher, 'string');
    assert.match(tls.standardCipher, /^TLS_/);
    assert.is(tls.authorized, true);
    assert.is(tls.authorizationError, undefined);
    assert.is(tls.servername, 'localhost');
    assert.is(tls.peerCertificate?.subject, 'CN=localhost');
    assert.is(tls.peerCertificate?.issuer, 'CN=statewire test CA');
    assert.is(tls.peerCertificate?.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.match(tls.peerCertificate!.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal([link.info.host, link.info.remote.address], ['localhost', '127.0.0.1']);
  }
  // Plain TCP has no TLS info; the addresses are there.
  const server = await tcpServer();
  const link = await tcpTransport({ host: '127.0.0.1', port: server.port }).connect({ signal: signal() });
  assert.is(link.info.tls, undefined);
  assert.equal([link.info.remote.port, link.info.remote.family, link.info.local.address], [server.port, 'IPv4', '127.0.0.1']);
  await link.close();
  await server.close();
});

test('tls: the peer refusing the handshake says why (TLS 1.2 client certificate required, no common version, not TLS at all)', async () => {
  // TLS 1.2: the server refuses a missing client certificate before its Finished: connect rejects. Its alert is a
  // bare "handshake failure"; that the server's certificate had arrived (no cipher mismatch) tells the reason.
  const mtls = await tlsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2' });
  const e12 = await failure(tcpTransport({ host: 'localhost', port: mtls.port, tls: { ca: pki.ca.cert } }).connect({ signal: signal() }));
  await mtls.close();
  assert.instance(e12, TlsHandshakeError);
  const h = e12 as TlsHandshakeError;
  assert.equal([h.reason, h.sslCode, h.code, h.permanent], ['client-certificate-required', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_TLS_HANDSHAKE', true]);

  const v13 = await tlsServer({ cert: pki.server.cert, key: pki.server.key, minVersion: 'TLSv1.3' });
  const ev = await failure(tcpTransport({ host: 'localhost', port: v13.port, tls: { ca: pki.ca.cert, maxVersion: 'TLSv1.2' } }).connect({ signal: signal() }));
  await v13.close();
  assert.instance(ev, TlsHandshakeError);
  assert.is((ev as TlsHandshakeError).reason, 'protocol-version');

  // A plain server answering the ClientHello with text (reading on: a paused socket would never see the client go).
  const plain = createServer((s) => {
    s.on('error', () => {});
    s.resume();
    s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const en = await failure(tcpTransport({ host: '127.0.0.1', port: (plain.address() as AddressInfo).port, tls: {} }).connect({ signal: signal() }));
  await new Promise((r) => plain.close(r));
  assert.instance(en, TlsHandshakeError);
  assert.is((en as TlsHandshakeError).reason, 'not-tls');
});

test('tls: TLS 1.3 client certificate required: the refusal arrives after connect, as the typed error the link closes with', async () => {
  const mtls = await tlsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
  const link = await tcpTransport({ host: 'localhost', port: mtls.port, tls: { ca: pki.ca.cert } }).connect({ signal: signal() });
  const closed = await link.closed;
  assert.is(closed.initiatedLocally, false);
  assert.instance(closed.error, TlsHandshakeError);
  assert.is((closed.error as TlsHandshakeError).reason, 'client-certificate-required');
  // With the client certificate, the server takes it and data flows.
  const ok = await tcpTransport({ host: 'localhost', port: mtls.port, tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } }).connect({ signal: signal() });
  const peer = await mtls.next();
  assert.is(peer.getPeerCertificate().subject.CN, 'statewire test client');
  await ok.send('hi');
  await new Promise((r) => peer.once('data', r));
  await ok.close();
  await mtls.close();
});

test('tcp: events$ tells each attempt: resolving, resolved, connecting, connected, tls-handshake, closed; and a failed one', async () => {
  const server = await tlsServer({ cert: pki.server.cert, key: pki.server.key });
  const t = tcpTransport({ host: 'localhost', port: server.port, tls: { ca: pki.ca.cert } });
  const events: TcpNetworkEvent[] = [];
  const sub = t.events$.subscribe((e) => events.push(e));
  const link = await t.connect({ signal: signal() });
  await link.close();
  assert.equal(events.map((e) => e.type), ['resolving', 'resolved', 'connecting', 'connected', 'tls-handshake', 'closed']);
  assert.ok(events.every((e) => e.attempt === 1 && e.host === 'localhost' && e.port === server.port));
  const hs = events[4] as Extract<TcpNetworkEvent, { type: 'tls-handshake' }>;
  assert.is(hs.tls.protocol, 'TLSv1.3');
  assert.is((events[5] as Extract<TcpNetworkEvent, { type: 'closed' }>).initiatedLocally, true);
  await server.close();

  events.length = 0;
  const refused = tcpTransport({ host: '127.0.0.1', port: await freePort() });
  refused.events$.subscribe((e) => events.push(e));
  await failure(refused.connect({ signal: signal() }));
  assert.equal(events.map((e) => e.type), ['connecting', 'error']);
  assert.instance((events[1] as Extract<TcpNetworkEvent, { type: 'error' }>).error, TcpConnectionRefusedError);
  sub.unsubscribe();
});

test('tcp: a peer that does not read gets the link closed with TcpBufferOverflowError, never an unbounded queue', async () => {
  const server = await tcpServer();
  const link = await tcpTransport({ host: '127.0.0.1', port: server.port, maxBufferedBytes: 256 * 1024 }).connect({ signal: signal() });
  (await server.next()).pause();
  const chunk = new Uint8Array(64 * 1024);
  const sends: Array<Promise<unknown>> = [];
  let done = false;
  void link.closed.then(() => (done = true));
  for (let i = 0; i < 2000 && !done; i++) {
    sends.push(link.send(chunk).catch((e: unknown) => e));
    if (i % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  const info = await link.closed;
  assert.instance(info.error, TcpBufferOverflowError);
  assert.is((info.error as TcpBufferOverflowError).limit, 256 * 1024);
  const outcomes = await Promise.all(sends);
  assert.ok(outcomes.some((o) => o instanceof LinkClosedError), 'sends in flight were rejected');
  await server.close();
});

test('tcp: a remote close of a TLS link is seen as lost, not local', async () => {
  const server = await tlsServer({ cert: pki.server.cert, key: pki.server.key });
  const link = await tcpTransport({ host: 'localhost', port: server.port, tls: { ca: pki.ca.cert } }).connect({ signal: signal() });
  (await server.next()).end();
  const info = await link.closed;
  assert.is(info.initiatedLocally, false);
  await until(() => server.sockets.every((s) => s.destroyed), 'the server socket to close');
  await server.close();
});

test.run();
