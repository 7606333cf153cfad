/**
 * Development certificates for TLS on loopback and a LAN (issue 14, §3): a
 * private CA, a server certificate it signs for the given host names and IP
 * addresses, and a client certificate for mutual TLS. All PEM strings, made
 * with node-forge; the RSA keys come from Node's native `crypto.generateKeyPair`
 * (forge takes that path when given a callback), so a 2048-bit key costs
 * milliseconds, not the seconds forge's pure-JavaScript prime search takes.
 *
 * These are for development and tests: the CA key sits next to the
 * certificates, and nothing here rotates or revokes. `statewire certs --out
 * <dir>` writes the same set to disk.
 *
 * @example
 * ```ts
 * const certs = await createDevCertificates({ hosts: ['localhost', '127.0.0.1'] });
 * tls.createServer({ cert: certs.server.cert, key: certs.server.key }, onSocket).listen(0);
 * tls.connect({ port, host: '127.0.0.1', ca: certs.ca.cert }); // verified: 127.0.0.1 is in the SAN
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import * as check from '../../machines/ports/check.js';

/** A certificate and its private key, both PEM. */
export interface PemPair {
  /** `-----BEGIN CERTIFICATE-----`… */
  cert: string;
  /** `-----BEGIN RSA PRIVATE KEY-----`… (PKCS#1, unencrypted). */
  key: string;
}

/** What `createDevCertificates` returns. */
export interface DevCertificates {
  /** The CA: give `ca.cert` to peers as `ca` (trust anchor); `ca.key` signs the others. */
  ca: PemPair;
  /** For a TLS server (`cert`, `key`): SAN = `hosts`, extKeyUsage serverAuth. */
  server: PemPair;
  /** For a TLS client under mutual TLS (`cert`, `key`): extKeyUsage clientAuth. */
  client: PemPair;
}

export interface DevCertificatesOptions {
  /**
   * Names the server certificate is valid for (its subjectAltName): each one
   * that parses as an IPv4/IPv6 address becomes an IP entry, any other a DNS
   * entry (`*.example.test` wildcards allowed). The first is also the
   * subject's CN. Default `['localhost', '127.0.0.1']`.
   */
  hosts?: readonly string[];
  /** Validity in days, an integer within 1..36500. Default 30. */
  days?: number;
  /** RSA modulus in bits, an integer within 2048..16384 (OpenSSL 3 refuses smaller keys at its default level). Default 2048. */
  keySize?: number;
  /**
   * Make the server and client certificates already expired (valid from
   * `days + 1` days ago until yesterday; the CA stays valid), so a peer's
   * check fails with `CERT_HAS_EXPIRED`: for tests of that failure. Default false.
   */
  expired?: boolean;
}

const DAY_MS = 86_400_000;
/** Slack before "now" in notBefore: a peer whose clock is a little behind still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** Letters, digits, `-` and `_` in dot-separated labels, an optional leading `*.`: what a DNS subjectAltName may hold here. */
const DNS_NAME = /^(\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Checks `options.hosts`: an array of one or more DNS names or IP addresses. */
function checkHosts(hosts: unknown): string[] {
  if (!Array.isArray(hosts)) throw new TypeError(`options.hosts must be an array of host names or IP addresses, got ${check.describe(hosts)}`);
  if (hosts.length === 0) throw new RangeError('options.hosts must name at least one host, got an empty array');
  return hosts.map((host, i) => {
    check.nonEmptyString(host, `options.hosts[${i}]`);
    if (isIP(host) === 0 && (host.length > 253 || !DNS_NAME.test(host))) {
      throw new RangeError(`options.hosts[${i}] must be a DNS name or an IP address, got ${check.describe(host)}`);
    }
    return host;
  });
}

/** An RSA key pair, generated natively: forge hands the work to Node's `crypto.generateKeyPair` when a callback is given. */
function generateKeyPair(bits: number): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001, workers: -1 }, (err, keys) => (err ? reject(err) : resolve(keys)));
  });
}

/** 16 random bytes as hex, the first byte in 0x40..0x7f: a positive DER INTEGER with no leading zero byte (RFC 5280 §4.1.2.2). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}

interface CertSpec {
  subject: forge.pki.CertificateField[];
  publicKey: forge.pki.rsa.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extensions: object[];
  /** The issuer's certificate and key; absent for the self-signed CA. */
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  /** The signing key when self-signed. */
  selfKey?: forge.pki.rsa.PrivateKey;
}

function makeCertificate(spec: CertSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : spec.subject);
  const authority = spec.issuer
    ? [{ name: 'authorityKeyIdentifier', keyIdentifier: spec.issuer.cert.generateSubjectKeyIdentifier().getBytes() }]
    : [];
  cert.setExtensions([...spec.extensions, { name: 'subjectKeyIdentifier' }, ...authority]);
  cert.sign(spec.issuer?.key ?? spec.selfKey!, forge.md.sha256.create());
  return cert;
}

/**
 * A CA, a server certificate for `hosts` and a client certificate, all PEM.
 * Bad options are a TypeError (wrong kind) or a RangeError (out of range)
 * naming the option, before any key is made.
 */
export async function createDevCertificates(options: DevCertificatesOptions = {}): Promise<DevCertificates> {
  check.object(options, 'options', '{ hosts, days, keySize, expired }');
  const hosts = checkHosts(options.hosts ?? ['localhost', '127.0.0.1']);
  const days = check.integer(options.days ?? 30, 'options.days', { min: 1, max: 36_500 });
  const keySize = check.integer(options.keySize ?? 2048, 'options.keySize', { min: 2048, max: 16_384 });
  const expired = check.boolean(options.expired ?? false, 'options.expired');

  const now = Date.now();
  const ca = { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
  const leaf = expired ? { notBefore: new Date(now - (days + 1) * DAY_MS), notAfter: new Date(now - DAY_MS) } : ca;

  const [caKeys, serverKeys, clientKeys] = await Promise.all([generateKeyPair(keySize), generateKeyPair(keySize), generateKeyPair(keySize)]);
  const org = { name: 'organizationName', value: 'statewire development' };

  const caCert = makeCertificate({
    subject: [{ name: 'commonName', value: 'statewire development CA' }, org],
    publicKey: caKeys.publicKey,
    ...ca,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
    selfKey: caKeys.privateKey,
  });
  const issuer = { cert: caCert, key: caKeys.privateKey };

  const serverCert = makeCertificate({
    subject: [{ name: 'commonName', value: hosts[0]! }, org],
    publicKey: serverKeys.publicKey,
    ...leaf,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      // GeneralName types (RFC 5280): 2 dNSName, 7 iPAddress.
      { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    ],
    issuer,
  });
  const clientCert = makeCertificate({
    subject: [{ name: 'commonName', value: 'statewire development client' }, org],
    publicKey: clientKeys.publicKey,
    ...leaf,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    issuer,
  });

  const pem = (cert: forge.pki.Certificate, keys: forge.pki.rsa.KeyPair): PemPair => ({
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  });
  return { ca: pem(caCert, caKeys), server: pem(serverCert, serverKeys), client: pem(clientCert, clientKeys) };
}

/** Where `writeDevCertificates` put each file. */
export interface DevCertificatePaths {
  ca: string;
  caKey: string;
  server: string;
  serverKey: string;
  client: string;
  clientKey: string;
}

/** The file names `writeDevCertificates` uses, as `statewire certs` prints them. */
export const DEV_CERTIFICATE_FILES: Readonly<DevCertificatePaths> = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  server: 'server.pem',
  serverKey: 'server-key.pem',
  client: 'client.pem',
  clientKey: 'client-key.pem',
};

const PEM = /^-----BEGIN [A-Z0-9 ]+-----\r?\n[\s\S]+-----END [A-Z0-9 ]+-----\s*$/;

/** Writes `text` to `path` with `mode`, also when the file exists already (the mode is set before anything is written). */
async function writeWithMode(path: string, text: string, mode: number): Promise<void> {
  const file = await open(path, 'w', mode);
  try {
    await file.chmod(mode);
    await file.writeFile(text);
  } finally {
    await file.close();
  }
}

/**
 * Writes `certs` into `dir` (made if missing, mode 0700 when new):
 * `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`, `client.pem`,
 * `client-key.pem`. Existing files are replaced. Certificates get mode 0644,
 * keys 0600 whatever the umask or the old file's mode. Resolves with the paths.
 */
export async function writeDevCertificates(dir: string, certs: DevCertificates): Promise<DevCertificatePaths> {
  check.nonEmptyString(dir, 'dir');
  check.object(certs, 'certs', '{ ca, server, client } (from createDevCertificates)');
  for (const part of ['ca', 'server', 'client'] as const) {
    const pair = check.object(certs[part] as PemPair | undefined, `certs.${part}`, '{ cert, key }');
    for (const field of ['cert', 'key'] as const) {
      if (typeof pair[field] !== 'string' || !PEM.test(pair[field])) throw new TypeError(`certs.${part}.${field} must be a PEM string, got ${check.describe(pair[field])}`);
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = Object.fromEntries(Object.entries(DEV_CERTIFICATE_FILES).map(([k, name]) => [k, join(dir, name)])) as unknown as DevCertificatePaths;
  await writeWithMode(paths.ca, certs.ca.cert, 0o644);
  await writeWithMode(paths.caKey, certs.ca.key, 0o600);
  await writeWithMode(paths.server, certs.server.cert, 0o644);
  await writeWithMode(paths.serverKey, certs.server.key, 0o600);
  await writeWithMode(paths.client, certs.client.cert, 0o644);
  await writeWithMode(paths.clientKey, certs.client.key, 0o600);
  return paths;
}
