/**
 * Development certificates (issue 14, §3) checked by real peers: Node's
 * `tls` server and client on loopback (server auth, wrong CA, wrong host,
 * mutual TLS, an expired certificate) and `openssl verify` / `openssl x509`
 * reading the files `writeDevCertificates` and `statewire certs` write.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { createDevCertificates, writeDevCertificates, DEV_CERTIFICATE_FILES, type DevCertificates } from '../../../transports/tcp/certs.js';
import { spawnLines } from '../../helpers/spawn.js';

const test = suite('tcp certs');

/** Made once (three RSA keys each): the set under test, a second CA's set, and an expired set. */
const made = {} as { certs: DevCertificates; other: DevCertificates; expired: DevCertificates; keypairCalls: number };

test.before(async () => {
  // Count Node's native RSA generation: forge's callback API must take that path (not its JavaScript prime search).
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const original = crypto.generateKeyPair;
  let calls = 0;
  crypto.generateKeyPair = ((type: string, ...rest: unknown[]) => {
    if (type === 'rsa') calls++;
    return (original as (...a: unknown[]) => void)(type, ...rest);
  }) as typeof crypto.generateKeyPair;
  try {
    made.certs = await createDevCertificates();
    made.keypairCalls = calls;
  } finally {
    crypto.generateKeyPair = original;
  }
  [made.other, made.expired] = await Promise.all([createDevCertificates(), createDevCertificates({ expired: true })]);
});

interface TlsPeer {
  port: number;
  /** Per accepted connection: was the client's certificate verified, its CN, and why not (`authorizationError`). */
  accepted: Array<{ authorized: boolean; cn: unknown; error: unknown }>;
  /** Handshakes the server refused (`tlsClientError`): their codes. */
  refused: string[];
  close(): Promise<void>;
}

/** A `tls` server on 127.0.0.1, port 0, that writes "hello\n" to each verified connection and ends it. */
async function tlsServer(options: tls.TlsOptions): Promise<TlsPeer> {
  const sockets = new Set<import('node:net').Socket>();
  const peer = { accepted: [], refused: [] } as unknown as TlsPeer;
  const server = tls.createServer(options, (socket) => {
    const cert = socket.getPeerCertificate();
    peer.accepted.push({ authorized: socket.authorized, cn: cert && 'subject' in cert ? cert.subject?.CN : undefined, error: socket.authorizationError ?? null });
    socket.on('error', () => {});
    socket.end('hello\n');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => peer.refused.push(err.code ?? err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.port = (server.address() as AddressInfo).port;
  peer.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return peer;
}

/** Connects and resolves `'ok'` when the server's "hello" arrives, or the error's code when the handshake (or the server) refuses. */
function tryConnect(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    let got = '';
    const done = (outcome: string) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.on('data', (d) => {
      got += d.toString();
      if (got === 'hello\n') done('ok');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('close', () => done(got === 'hello\n' ? 'ok' : 'closed without hello'));
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}

/** A temp dir, removed after `body`. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-certs-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('certs: the RSA keys come from Node\'s native generateKeyPair (forge\'s callback API), one per certificate', () => {
  assert.is(made.keypairCalls, 3);
});

test('certs: a client trusting the CA connects to "localhost" (DNS SAN) and to 127.0.0.1 (IP SAN), TLS 1.2 and 1.3', async () => {
  const { certs } = made;
  const server = await tlsServer({ cert: certs.server.cert, key: certs.server.key });
  try {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const v = { minVersion: version, maxVersion: version };
      assert.is(await tryConnect(server.port, { ca: certs.ca.cert, servername: 'localhost', ...v }), 'ok', `localhost ${version}`);
      assert.is(await tryConnect(server.port, { ca: certs.ca.cert, ...v }), 'ok', `127.0.0.1 ${version}`);
    }
  } finally {
    await server.close();
  }
});

test('certs: a client trusting another CA is refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE); one trusting nothing extra too', async () => {
  const { certs, other } = made;
  const server = await tlsServer({ cert: certs.server.cert, key: certs.server.key });
  try {
    assert.is(await tryConnect(server.port, { ca: other.ca.cert, servername: 'localhost' }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.is(await tryConnect(server.port, { servername: 'localhost' }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  } finally {
    await server.close();
  }
});

test('certs: a host the certificate does not name is refused (ERR_TLS_CERT_ALTNAME_INVALID), by DNS name and by IP', async () => {
  const { certs } = made;
  const server = await tlsServer({ cert: certs.server.cert, key: certs.server.key });
  try {
    assert.is(await tryConnect(server.port, { ca: certs.ca.cert, servername: 'example.test' }), 'ERR_TLS_CERT_ALTNAME_INVALID');
    // Same socket, but the identity checked is 127.0.0.2's: not in the SAN.
    const checkAs = (host: string) => (_: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(host, cert);
    assert.is(await tryConnect(server.port, { ca: certs.ca.cert, checkServerIdentity: checkAs('127.0.0.2') }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    await server.close();
  }
});

test('certs: hosts given are the SAN: DNS names as DNS, IPv4 and IPv6 addresses as IP; the first is the CN', async () => {
  const certs = await createDevCertificates({ hosts: ['api.example.test', '*.svc.test', '10.1.2.3', '::1'] });
  const x509 = new X509Certificate(certs.server.cert);
  assert.is(x509.subjectAltName, 'DNS:api.example.test, DNS:*.svc.test, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1');
  assert.match(x509.subject, /CN=api\.example\.test/);
  assert.ok(x509.checkHost('api.example.test'));
  assert.ok(x509.checkHost('a.svc.test'));
  assert.ok(x509.checkIP('10.1.2.3'));
  assert.not.ok(x509.checkHost('localhost'));
});

test('certs: mutual TLS: a server requiring a client certificate accepts the dev client\'s and refuses a client without one or with another CA\'s', async () => {
  const { certs, other } = made;
  const server = await tlsServer({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true });
  try {
    const base = { ca: certs.ca.cert, servername: 'localhost' };
    assert.is(await tryConnect(server.port, { ...base, cert: certs.client.cert, key: certs.client.key }), 'ok');
    assert.equal(server.accepted, [{ authorized: true, cn: 'statewire development client', error: null }]);

    assert.is.not(await tryConnect(server.port, base), 'ok');
    assert.is.not(await tryConnect(server.port, { ...base, cert: other.client.cert, key: other.client.key }), 'ok');
    assert.is(server.accepted.length, 1, 'neither got through');
    // OpenSSL refuses the first in the handshake and says why; Node drops the second after it, without an event.
    assert.ok(server.refused.includes('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), server.refused.join(', '));
  } finally {
    await server.close();
  }
  // A server that only asks says why it would have refused the second.
  const asking = await tlsServer({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: false });
  try {
    assert.is(await tryConnect(asking.port, { ca: certs.ca.cert, servername: 'localhost', cert: other.client.cert, key: other.client.key }), 'ok');
    assert.equal(asking.accepted, [{ authorized: false, cn: 'statewire development client', error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }]);
  } finally {
    await asking.close();
  }
});

test('certs: expired: true makes server and client certificates a peer refuses with CERT_HAS_EXPIRED (the CA stays valid)', async () => {
  const { expired } = made;
  const now = Date.now();
  assert.ok(Date.parse(new X509Certificate(expired.server.cert).validTo) < now);
  assert.ok(Date.parse(new X509Certificate(expired.client.cert).validTo) < now);
  assert.ok(Date.parse(new X509Certificate(expired.ca.cert).validTo) > now);
  const server = await tlsServer({ cert: expired.server.cert, key: expired.server.key });
  try {
    assert.is(await tryConnect(server.port, { ca: expired.ca.cert, servername: 'localhost' }), 'CERT_HAS_EXPIRED');
  } finally {
    await server.close();
  }
});

test('certs: serial numbers are random and positive; the CA is a CA (critical basicConstraints, keyCertSign), the leaves are not', () => {
  const { certs, other } = made;
  const all = [certs.ca, certs.server, certs.client, other.ca, other.server, other.client].map((p) => new X509Certificate(p.cert));
  const serials = all.map((c) => c.serialNumber);
  assert.is(new Set(serials).size, serials.length, 'all different');
  for (const s of serials) assert.ok(/^[0-7]/.test(s) && s.length === 32, `positive 16-byte serial: ${s}`);
  assert.ok(all[0]!.ca);
  assert.not.ok(all[1]!.ca);
  assert.not.ok(all[2]!.ca);
  assert.ok(all[1]!.verify(all[0]!.publicKey), 'server signed by the CA');
  assert.ok(all[2]!.verify(all[0]!.publicKey), 'client signed by the CA');
  assert.not.ok(all[1]!.verify(all[3]!.publicKey), 'not by the other CA');
  assert.equal(all[1]!.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(all[2]!.keyUsage, ['1.3.6.1.5.5.7.3.2']);
});

test('certs: openssl verify says OK for the server (purpose sslserver) and the client (sslclient); openssl x509 shows the SANs and usages', async () => {
  await inTempDir(async (dir) => {
    const paths = await writeDevCertificates(dir, made.certs);
    const server = await run('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', paths.ca, paths.server]);
    assert.is(server.code, 0, server.out);
    assert.is(server.out.trim(), `${paths.server}: OK`);
    const client = await run('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', paths.ca, paths.client]);
    assert.is(client.code, 0, client.out);
    // extKeyUsage keeps each certificate to its role.
    const swapped = await run('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', paths.ca, paths.client]);
    assert.is.not(swapped.code, 0, swapped.out);
    const wrongCa = await run('openssl', ['verify', '-CAfile', await writeDevCertificates(join(dir, 'other'), made.other).then((p) => p.ca), paths.server]);
    assert.is.not(wrongCa.code, 0, wrongCa.out);

    const text = await run('openssl', ['x509', '-in', paths.server, '-noout', '-text']);
    assert.is(text.code, 0, text.out);
    assert.match(text.out, /DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.match(text.out, /TLS Web Server Authentication/);
    assert.match(text.out, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text.out, /Public-Key: \(2048 bit\)/);
    const ca = await run('openssl', ['x509', '-in', paths.ca, '-noout', '-text']);
    assert.match(ca.out, /CA:TRUE/);
    assert.match(ca.out, /Certificate Sign, CRL Sign/);
    // The keys are the certificates' keys.
    for (const [cert, key] of [[paths.ca, paths.caKey], [paths.server, paths.serverKey], [paths.client, paths.clientKey]] as const) {
      const a = await run('openssl', ['x509', '-in', cert, '-noout', '-pubkey']);
      const b = await run('openssl', ['pkey', '-in', key, '-pubout']);
      assert.is(a.out, b.out, `${cert} matches ${key}`);
    }
  });
});

test('certs: writeDevCertificates: six files, keys 0600 and certificates 0644 whatever the umask, also over an existing 0644 key', async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, 'nested', 'certs');
    const paths = await writeDevCertificates(out, made.certs);
    assert.equal(Object.values(paths), Object.values(DEV_CERTIFICATE_FILES).map((f) => join(out, f)));
    const mode = (p: string) => statSync(p).mode & 0o777;
    for (const key of [paths.caKey, paths.serverKey, paths.clientKey]) assert.is(mode(key), 0o600, key);
    for (const cert of [paths.ca, paths.server, paths.client]) assert.is(mode(cert), 0o644, cert);
    assert.is(mode(out), 0o700);
    assert.is(readFileSync(paths.serverKey, 'utf8'), made.certs.server.key);

    chmodSync(paths.serverKey, 0o644);
    writeFileSync(paths.serverKey, 'old');
    await writeDevCertificates(out, made.other);
    assert.is(mode(paths.serverKey), 0o600);
    assert.is(readFileSync(paths.serverKey, 'utf8'), made.other.server.key);
  });
});

test('certs: bad options are a TypeError or RangeError naming the option, before any key is made', async () => {
  const cases: Array<[unknown, typeof TypeError, RegExp]> = [
    [null, TypeError, /^options must be an object/],
    [{ hosts: 'localhost' }, TypeError, /^options\.hosts must be an array/],
    [{ hosts: [] }, RangeError, /^options\.hosts must name at least one host/],
    [{ hosts: ['localhost', ''] }, TypeError, /^options\.hosts\[1\] must be a non-empty string, got ""/],
    [{ hosts: [42] }, TypeError, /^options\.hosts\[0\] must be a non-empty string, got 42/],
    [{ hosts: ['local host'] }, RangeError, /^options\.hosts\[0\] must be a DNS name or an IP address, got "local host"/],
    [{ days: 0 }, RangeError, /^options\.days must be an integer within 1\.\.36500, got 0/],
    [{ days: 1.5 }, RangeError, /^options\.days must be an integer/],
    [{ days: '30' }, TypeError, /^options\.days must be an integer/],
    [{ keySize: 1024 }, RangeError, /^options\.keySize must be an integer within 2048\.\.16384, got 1024/],
    [{ expired: 'yes' }, TypeError, /^options\.expired must be a boolean/],
  ];
  for (const [options, type, message] of cases) {
    const err = await createDevCertificates(options as never).then(() => undefined, (e: unknown) => e);
    assert.instance(err, type, JSON.stringify(options));
    assert.match((err as Error).message, message);
  }
  const { certs } = made;
  const bad: Array<[unknown, unknown, RegExp]> = [
    ['', certs, /^dir must be a non-empty string/],
    ['/tmp/x', null, /^certs must be an object/],
    ['/tmp/x', { ...certs, client: undefined }, /^certs\.client must be an object/],
    ['/tmp/x', { ...certs, server: { cert: certs.server.cert, key: 'not a key' } }, /^certs\.server\.key must be a PEM string, got "not a key"/],
  ];
  for (const [dir, value, message] of bad) {
    const err = await writeDevCertificates(dir as string, value as DevCertificates).then(() => undefined, (e: unknown) => e);
    assert.instance(err, TypeError);
    assert.match((err as Error).message, message);
  }
});

const cli = (...args: string[]) => spawnLines(process.execPath, ['--import', 'tsx', '-e', `import('./visualizer/cli.ts').then(async (m) => { process.exitCode = await m.main(${JSON.stringify(['certs', ...args])}); })`]);

test('statewire certs --out dir --host h: writes the six files (keys 0600), prints their paths; openssl verifies the server for the hosts given', async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, 'certs');
    const child = cli('--out', out, '--host', 'dev.example.test', '--host', '192.0.2.7', '--days', '7');
    assert.is(await child.exited, 0, child.stderr());
    assert.equal(child.lines, Object.values(DEV_CERTIFICATE_FILES).map((f) => join(out, f)));
    for (const name of ['ca-key.pem', 'server-key.pem', 'client-key.pem']) assert.is(statSync(join(out, name)).mode & 0o777, 0o600, name);
    const verify = await run('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), join(out, 'server.pem')]);
    assert.is(verify.out.trim(), `${join(out, 'server.pem')}: OK`);
    const x509 = new X509Certificate(readFileSync(join(out, 'server.pem')));
    assert.is(x509.subjectAltName, 'DNS:dev.example.test, IP Address:192.0.2.7');
    const days = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
    assert.ok(days > 7 && days < 7.01, `valid ${days} days`);

    // Files there already: left alone without --force, replaced with it.
    const before = readFileSync(join(out, 'ca-key.pem'), 'utf8');
    const again = cli('--out', out);
    assert.is(await again.exited, 1);
    assert.match(again.stderr(), /already holds ca\.pem.*--force/);
    assert.is(readFileSync(join(out, 'ca-key.pem'), 'utf8'), before);
    const forced = cli('--out', out, '--force');
    assert.is(await forced.exited, 0, forced.stderr());
    assert.is.not(readFileSync(join(out, 'ca-key.pem'), 'utf8'), before);
    assert.is(new X509Certificate(readFileSync(join(out, 'server.pem'))).subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  });
});

test('statewire certs: no --out, a bad --days or --host, an unknown flag: usage error (exit 2), nothing written', async () => {
  await inTempDir(async (dir) => {
    for (const args of [[], ['--out'], ['--out', dir, '--days', '0'], ['--out', dir, '--host', 'bad host'], ['--out', dir, '--verbose']]) {
      const child = cli(...args);
      assert.is(await child.exited, 2, args.join(' '));
      assert.match(child.stderr(), /usage: statewire/);
      if (args.includes('bad host')) assert.match(child.stderr(), /^certs: --host must be a DNS name or an IP address, got "bad host"/);
    }
    assert.throws(() => statSync(join(dir, 'ca.pem')));
  });
});

test.run();
