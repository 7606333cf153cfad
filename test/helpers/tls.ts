/**
 * Test certificates made with the `openssl` CLI (an independent source: our
 * own dev-certificate helper is tested against them), and TLS peers on
 * loopback port 0.
 *
 * `makeTestPki()` writes every certificate to a temp dir (openssl s_server
 * and s_client read files) and returns the PEM text too; `remove()` deletes
 * the dir. EC P-256 keys: fast to make.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { handOut, tempDir } from './unix.js';
import { spawnLines, type Spawned } from './spawn.js';

export interface TestCert {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signs the others. */
  ca: TestCert;
  /** Server certificate: CN and SAN localhost, SAN 127.0.0.1, signed by `ca`. */
  server: TestCert;
  /** Client certificate (clientAuth), signed by `ca`. */
  client: TestCert;
  /** A CA nobody trusts, and a server and a client certificate it signed. */
  otherCa: TestCert;
  otherServer: TestCert;
  otherClient: TestCert;
  /** Signed by `ca`, valid only for wrong.example. */
  wrongHost: TestCert;
  /** Signed by `ca` for localhost/127.0.0.1, valid 2020-01-01 to 2020-01-02. */
  expired: TestCert;
  /** Signed by `ca` for localhost/127.0.0.1, valid from 2099. */
  notYetValid: TestCert;
  /** A self-signed server certificate for localhost/127.0.0.1. */
  selfSigned: TestCert;
  remove(): void;
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makeTestPki(): TestPki {
  const tmp = tempDir();
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const load = (name: string): TestCert => ({
    certPath: tmp.path(`${name}.pem`),
    keyPath: tmp.path(`${name}.key`),
    cert: readFileSync(tmp.path(`${name}.pem`), 'utf8'),
    key: readFileSync(tmp.path(`${name}.key`), 'utf8'),
  });
  writeFileSync(tmp.path('server.ext'), SERVER_EXT);
  writeFileSync(tmp.path('client.ext'), CLIENT_EXT);
  writeFileSync(tmp.path('wrong.ext'), SERVER_EXT.replace('DNS:localhost,IP:127.0.0.1', 'DNS:wrong.example'));

  const makeCa = (name: string, cn: string) => {
    openssl('req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '3650', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    return load(name);
  };
  const csr = (name: string, cn: string) => openssl('req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  const sign = (name: string, cn: string, ca: string, ext: string) => {
    csr(name, cn);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '30', '-extfile', ext);
    return load(name);
  };
  /** `openssl ca` takes explicit start and end dates (x509 -req does not, in OpenSSL 3.0). */
  const signDated = (name: string, start: string, end: string) => {
    csr(name, 'localhost');
    mkdirSync(tmp.path('db'), { recursive: true });
    writeFileSync(tmp.path('db/index.txt'), '');
    writeFileSync(tmp.path('db/serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
    writeFileSync(
      tmp.path('ca.cnf'),
      '[ca]\ndefault_ca = d\n[d]\ndatabase = db/index.txt\nserial = db/serial\nnew_certs_dir = db\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n',
    );
    openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`,
      '-startdate', start, '-enddate', end, '-extfile', 'server.ext', '-notext');
    return load(name);
  };

  const ca = makeCa('ca', 'statewire test CA');
  const otherCa = makeCa('other-ca', 'untrusted test CA');
  openssl('req', '-x509', ...EC, '-keyout', 'self.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  return {
    dir: tmp.dir,
    ca,
    server: sign('server', 'localhost', 'ca', 'server.ext'),
    client: sign('client', 'statewire test client', 'ca', 'client.ext'),
    otherCa,
    otherServer: sign('other-server', 'localhost', 'other-ca', 'server.ext'),
    otherClient: sign('other-client', 'untrusted client', 'other-ca', 'client.ext'),
    wrongHost: sign('wrong', 'wrong.example', 'ca', 'wrong.ext'),
    expired: signDated('expired', '20200101000000Z', '20200102000000Z'),
    notYetValid: signDated('future', '20990101000000Z', '20990102000000Z'),
    selfSigned: load('self'),
    remove: tmp.remove,
  };
}

/** A server on 127.0.0.1 port 0 whose accepted sockets are handed out in order. */
export interface TestServer<S extends Socket = Socket> {
  port: number;
  sockets: S[];
  /** The next accepted socket (or one already accepted and not yet taken). */
  next(): Promise<S>;
  close(): Promise<void>;
}

function serve<S extends Socket>(server: NetServer | TlsServer, event: 'connection' | 'secureConnection'): Promise<TestServer<S>> {
  const peer = handOut<S>(server, event);
  // Failed handshakes (the point of several tests) are not test failures.
  server.on('tlsClientError', () => {});
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, ...peer })));
}

/** A plain TCP server on loopback. */
export function tcpServer(): Promise<TestServer> {
  return serve(createNetServer(), 'connection');
}

/** A TLS server on loopback (`cert`/`key` from `options`, e.g. `pki.server`). */
export function tlsServer(options: TlsOptions): Promise<TestServer<TLSSocket>> {
  return serve(createTlsServer(options), 'secureConnection');
}

/** An `openssl s_server` process, listening. */
export interface OpensslServer {
  port: number;
  spawned: Spawned;
  /** SIGKILL it (by pid) and wait for the exit. Idempotent. */
  kill(): Promise<void>;
}

/**
 * `openssl s_server -rev` on 127.0.0.1 (an echo server that sends each line
 * back reversed), on `port` (0: any free one, read back from its "ACCEPT"
 * line). `args` adds options: `['-tls1_3']`, `['-Verify', '1', '-CAfile', ca]`.
 */
export async function opensslServer(cert: TestCert, args: string[], port = 0): Promise<OpensslServer> {
  const spawned = spawnLines('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert.certPath, '-key', cert.keyPath, '-rev', ...args]);
  // "ACCEPT 127.0.0.1:41327" for port 0; a bare "ACCEPT" for a given port.
  const line = await spawned.waitFor(/^ACCEPT/).catch(async (e: unknown) => {
    await spawned.kill('SIGKILL');
    throw e;
  });
  return {
    port: port || Number(/:(\d+)$/.exec(line)![1]),
    spawned,
    kill: async () => void (await spawned.kill('SIGKILL')),
  };
}
