/**
 * Independent TLS peers: `openssl s_server` for our client and `openssl
 * s_client` against our side, TLS 1.2 and 1.3, certificates made by the
 * openssl CLI. Refusals say which check failed; mutual TLS is required and
 * presented; a restarted server is reconnected to with backoff. Every
 * openssl process is killed by its pid.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { filter, firstValueFrom } from 'rxjs';
import { createSupervisor, silentLogger } from '../../../actors/supervisor.js';
import type { ConnectionLogEvent } from '../../../machines/events.js';
import { wrapSocket } from '../../../transports/stream/link.js';
import { TlsHandshakeError, TlsVerificationError, type TlsCheck } from '../../../transports/tcp/errors.js';
import { tcpTransport, type TcpLink } from '../../../transports/tcp/tcp.transport.js';
import { until } from '../../helpers/net.js';
import { spawnLines, type Spawned } from '../../helpers/spawn.js';
import { makeTestPki, opensslServer, tlsServer, type OpensslServer, type TestCert } from '../../helpers/tls.js';

const test = suite('tcp openssl');
const pki = makeTestPki();
const VERSIONS = [
  ['TLSv1.2', '-tls1_2'],
  ['TLSv1.3', '-tls1_3'],
] as const;
const signal = () => new AbortController().signal;
const servers: OpensslServer[] = [];
const clients: Spawned[] = [];

async function server(cert: TestCert, args: string[], port = 0) {
  const s = await opensslServer(cert, args, port);
  servers.push(s);
  return s;
}

/** Everything the link receives, as text. */
function reader(link: TcpLink) {
  let got = '';
  link.incoming$.subscribe((d) => (got += Buffer.from(d as Uint8Array).toString()));
  return { text: () => got, until: (want: string) => until(() => got.includes(want), `"${want.trim()}" from the peer`) };
}

test.after.each(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
  await Promise.all(clients.splice(0).map((c) => c.kill('SIGKILL')));
});
test.after(() => pki.remove());

test('openssl s_server: our client exchanges bytes over TLS 1.2 and 1.3 (s_server -rev echoes each line reversed)', async () => {
  for (const [version, flag] of VERSIONS) {
    const s = await server(pki.server, [flag]);
    const link = await tcpTransport({ host: 'localhost', port: s.port, tls: { ca: pki.ca.cert } }).connect({ signal: signal() });
    assert.is(link.info.tls?.protocol, version);
    assert.is(link.info.tls?.authorized, true);
    assert.is(link.info.tls?.peerCertificate?.subject, 'CN=localhost');
    const r = reader(link);
    await link.send('hello statewire\n');
    await link.send('second line\n');
    await r.until('enil dnoces\n');
    assert.is(r.text(), 'eriwetats olleh\nenil dnoces\n');
    await link.close();
    await s.kill();
  }
});

test('openssl s_client: verifies our TLS server (1.2 and 1.3) and exchanges bytes with our stream link', async () => {
  for (const [version, flag] of VERSIONS) {
    const ours = await tlsServer({ cert: pki.server.cert, key: pki.server.key });
    const client = spawnLines(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${ours.port}`, '-CAfile', pki.ca.certPath, '-verify_return_error', '-verify_hostname', 'localhost', '-servername', 'localhost', '-brief', flag],
      { stdin: true },
    );
    clients.push(client);
    const link = wrapSocket(await ours.next());
    let got = '';
    link.incoming$.subscribe((d) => (got += Buffer.from(d as Uint8Array).toString()));
    client.child.stdin!.write('from s_client\n');
    await until(() => got === 'from s_client\n', 'the line from s_client');
    await link.send('from statewire\n');
    await client.waitFor(/^from statewire$/);
    // -brief reports the session on stderr.
    await until(() => /Verification: OK/.test(client.stderr()), 's_client to report its verification');
    assert.match(client.stderr(), new RegExp(`Protocol version: ${version.replace('.', '\\.')}`));
    await link.close();
    await client.exited;
    await ours.close();
  }
});

test('openssl s_server: a refused certificate says which check failed (unknown CA, host name, expired), TLS 1.2 and 1.3', async () => {
  const cases: Array<[TestCert, TlsCheck, string]> = [
    [pki.otherServer, 'unknown-ca', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    [pki.wrongHost, 'hostname', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    [pki.expired, 'expired', 'CERT_HAS_EXPIRED'],
  ];
  for (const [, flag] of VERSIONS) {
    for (const [cert, check, code] of cases) {
      const s = await server(cert, [flag]);
      const err = await tcpTransport({ host: 'localhost', port: s.port, tls: { ca: pki.ca.cert } })
        .connect({ signal: signal() })
        .then((link) => (void link.close(), undefined), (e: unknown) => e);
      assert.instance(err, TlsVerificationError, `${check} ${flag}`);
      assert.equal([(err as TlsVerificationError).check, (err as TlsVerificationError).verifyCode, (err as TlsVerificationError).permanent], [check, code, true]);
      await s.kill();
    }
  }
});

test('openssl s_server -Verify: mutual TLS required and presented; a missing or untrusted client certificate is refused with the reason', async () => {
  const required = (flag: string) => server(pki.server, [flag, '-Verify', '1', '-CAfile', pki.ca.certPath, '-verify_return_error']);
  const connect = (port: number, client?: TestCert) =>
    tcpTransport({ host: 'localhost', port, tls: { ca: pki.ca.cert, ...(client ? { cert: client.cert, key: client.key } : {}) } }).connect({ signal: signal() });
  /** The reason of a refusal: a rejected connect (TLS 1.2), or the error the link closes with (TLS 1.3: after our side's handshake). */
  const refusal = async (p: Promise<TcpLink>) => {
    const outcome = await p.then((link) => link.closed.then((info) => info.error), (e: unknown) => e);
    assert.instance(outcome, TlsHandshakeError, String(outcome));
    return (outcome as TlsHandshakeError).reason;
  };
  for (const [version, flag] of VERSIONS) {
    const s = await required(flag);
    const link = await connect(s.port, pki.client);
    assert.is(link.info.tls?.protocol, version);
    const r = reader(link);
    await link.send('mutual\n');
    await r.until('lautum\n');
    await link.close();
    assert.is(await refusal(connect(s.port)), 'client-certificate-required', `no certificate, ${version}`);
    assert.is(await refusal(connect(s.port, pki.otherClient)), 'client-certificate-rejected', `untrusted certificate, ${version}`);
  }
  // A bare handshake-failure alert before the server's certificate is a cipher mismatch, not a client certificate.
  const camellia = await server(pki.server, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CAMELLIA128-SHA256']);
  assert.is(await refusal(connect(camellia.port, pki.client)), 'handshake-failure');
});

test('openssl s_server restarted: the supervised connection reconnects with backoff and data flows again', async () => {
  const first = await server(pki.server, ['-tls1_3']);
  const port = first.port;
  const sup = createSupervisor({ logger: silentLogger });
  const events: ConnectionLogEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  sup.startChild({
    id: 'tls-peer',
    transport: tcpTransport({ host: '127.0.0.1', port, tls: { ca: pki.ca.cert } }),
    policy: { initialBackoffMs: 20, maxBackoffMs: 200, maxRetries: 1000 },
  });
  try {
    const handle = sup.connection('tls-peer');
    let got = '';
    handle.data$.subscribe((d) => (got += Buffer.from(d as Uint8Array).toString()));
    await firstValueFrom(handle.state$.pipe(filter((s) => s === 'connected')));
    await handle.send('before\n');
    await until(() => got === 'erofeb\n', 'the echo before the restart');

    await first.kill();
    await firstValueFrom(handle.state$.pipe(filter((s) => s === 'reconnecting')));
    // At least two attempts fail while the server is away: the connection keeps trying, on its backoff.
    await until(() => events.filter((e) => e.type === 'EVENT_RECONNECT_FAILED').length >= 2, 'two failed attempts');
    await server(pki.server, ['-tls1_3'], port);
    await firstValueFrom(handle.state$.pipe(filter((s) => s === 'connected')));
    await handle.send('after\n');
    await until(() => got === 'erofeb\nretfa\n', 'the echo after the restart');

    const types = events.map((e) => e.type);
    assert.ok(types.includes('EVENT_RECONNECT_START'));
    assert.ok(types.includes('EVENT_RECONNECT_OK'));
    const failed = events.filter((e): e is Extract<ConnectionLogEvent, { type: 'EVENT_RECONNECT_FAILED' }> => e.type === 'EVENT_RECONNECT_FAILED');
    assert.ok(failed.every((e) => e.data.error?.code === 'ERR_CONNECTION_REFUSED'), JSON.stringify(failed.map((e) => e.data.error)));
    const attempts = events.filter((e): e is Extract<ConnectionLogEvent, { type: 'EVENT_RECONNECT_START' }> => e.type === 'EVENT_RECONNECT_START').map((e) => e.data.attempt);
    assert.equal(attempts, attempts.map((_, i) => i + 1), 'attempts count up one by one');
  } finally {
    await sup.shutdown();
  }
});

test.run();
