/**
 * TLS options of the TCP transport: checked once, when the transport is
 * made, into one `SecureContext` every connect reuses (the PEMs are parsed
 * once, and a bad one is a TypeError at once, not a failed connect later).
 * And what a link tells about its TLS session after the handshake.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext, type ConnectionOptions, type SecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import * as check from '../../machines/ports/check.js';

/** PEM text, as a string or the bytes of one. */
export type Pem = string | Uint8Array;

/** TLS versions a connection may use. Older ones are not offered. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TcpTlsOptions {
  /**
   * The CA certificate(s) that sign the server's certificate (PEM; several
   * concatenated, or an array). Default: Node's bundled public roots.
   * @example ca: readFileSync('certs/ca.pem', 'utf8')
   */
  ca?: Pem | Pem[];
  /** Our client certificate (PEM), for servers that require one (mutual TLS). Needs `key`. */
  cert?: Pem;
  /** The private key of `cert` (PEM, unencrypted). Needs `cert`. */
  key?: Pem;
  /**
   * The name sent in SNI and checked against the server's certificate.
   * Default: `host` (for a host name; an IP address is checked as an IP).
   * @example servername: 'api.internal' // connecting by IP to a certificate made for a name
   */
  servername?: string;
  /**
   * Refuse a server whose certificate does not verify. Default true. With
   * false the connection is made anyway and `link.info.tls.authorized` is
   * false, with the reason in `authorizationError`: for tests only.
   */
  rejectUnauthorized?: boolean;
  /** Lowest TLS version offered. Default `'TLSv1.2'`. */
  minVersion?: TlsVersion;
  /** Highest TLS version offered. Default `'TLSv1.3'`. */
  maxVersion?: TlsVersion;
}

/** The server's certificate, as the link saw it in the handshake. */
export interface PeerCertificateInfo {
  /** `'CN=localhost, O=Example'` */
  subject: string;
  issuer: string;
  /** `'DNS:localhost, IP Address:127.0.0.1'`, when it has one. */
  subjectAltName?: string;
  /** Validity, as OpenSSL prints it (`'Jan  1 00:00:00 2030 GMT'`). */
  validFrom: string;
  validTo: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
  serialNumber: string;
}

/** A TLS session after its handshake. */
export interface TlsSessionInfo {
  /** `'TLSv1.3'`, `'TLSv1.2'`. */
  protocol: string;
  /** The cipher suite, OpenSSL's name (`'TLS_AES_256_GCM_SHA384'`, `'ECDHE-ECDSA-AES128-GCM-SHA256'`). */
  cipher: string;
  /** The cipher suite's IANA name (`'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'`). */
  standardCipher: string;
  /** The server's certificate verified against `ca` and the name. Always true unless `rejectUnauthorized` is false. */
  authorized: boolean;
  /** Why it did not verify, when `authorized` is false. */
  authorizationError?: string;
  /** The name sent in SNI (`options.tls.servername`, else a host that is not an IP address), when one was sent. */
  servername?: string;
  peerCertificate?: PeerCertificateInfo;
}

/** The checked TLS options: the shared context and the per-connect options (never an `undefined` value: Node 20's tls.connect rejects some). */
export interface ResolvedTls {
  context: SecureContext;
  connectOptions: ConnectionOptions;
  servername: string | undefined;
  /** A client certificate is offered. */
  clientCertificate: boolean;
}

const describePem = (value: unknown) => (value instanceof Uint8Array ? `${value.byteLength} bytes that are not PEM` : check.describe(value));

const CERT_BLOCK = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----[\s\S]*?-----END (?:TRUSTED |X509 )?CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )?PRIVATE KEY-----/;

function pemText(value: unknown, name: string, what: string): string {
  const text = typeof value === 'string' ? value : value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1') : undefined;
  if (text === undefined || !text.includes('-----BEGIN')) throw new TypeError(`${name} must be ${what} in PEM (a string or bytes with "-----BEGIN ..."), got ${describePem(value)}`);
  return text;
}

/**
 * The certificates in `value`, each parsed: Node's `ca` option skips a block
 * it cannot parse without a word (the server then fails as "unknown CA"), so
 * each one is checked here.
 */
function pemCertificates(value: unknown, name: string, what: string): X509Certificate[] {
  const text = pemText(value, name, what);
  const blocks = text.match(CERT_BLOCK);
  if (!blocks) throw new TypeError(`${name} must be ${what} in PEM ("-----BEGIN CERTIFICATE-----"), got ${/PRIVATE KEY/.test(text) ? 'a private key' : 'another PEM block'}`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new TypeError(`${name} is not a valid PEM certificate${blocks.length > 1 ? ` (block ${i + 1})` : ''}: ${(e as Error).message}`, { cause: e });
    }
  });
}

function pemPrivateKey(value: unknown, name: string): KeyObject {
  const text = pemText(value, name, 'a private key');
  const block = KEY_BLOCK.exec(text)?.[0];
  if (!block) throw new TypeError(`${name} must be a private key in PEM ("-----BEGIN PRIVATE KEY-----"), got ${/-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----/.test(text) ? 'a certificate' : 'another PEM block'}`);
  try {
    return createPrivateKey(block);
  } catch (e) {
    throw new TypeError(`${name} is not a valid PEM private key: ${(e as Error).message}`, { cause: e });
  }
}

/** Check `options.tls` and build its secure context. Throws TypeError/RangeError naming the option. */
export function resolveTls(tls: unknown, name = 'options.tls'): ResolvedTls {
  const o = check.object(tls as TcpTlsOptions, name, '{ ca?, cert?, key?, servername?, rejectUnauthorized?, minVersion?, maxVersion? }');
  const ctx: SecureContextOptions = {};
  if (o.ca !== undefined) {
    const list = Array.isArray(o.ca) ? o.ca : [o.ca];
    if (list.length === 0) throw new TypeError(`${name}.ca must be a PEM certificate or a non-empty array of them, got an empty array`);
    ctx.ca = list.flatMap((c, i) => pemCertificates(c, Array.isArray(o.ca) ? `${name}.ca[${i}]` : `${name}.ca`, 'a CA certificate').map((x) => x.toString()));
  }
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new TypeError(`${name}.${o.cert === undefined ? 'cert' : 'key'} is required with ${name}.${o.cert === undefined ? 'key' : 'cert'} (a client certificate and its private key)`);
  }
  if (o.cert !== undefined) {
    const chain = pemCertificates(o.cert, `${name}.cert`, 'a certificate');
    const key = pemPrivateKey(o.key, `${name}.key`);
    if (!chain[0]!.checkPrivateKey(key)) throw new TypeError(`${name}.key is not the private key of ${name}.cert`);
    ctx.cert = chain.map((x) => x.toString()).join('');
    ctx.key = key.export({ type: 'pkcs8', format: 'pem' });
  }
  if (o.servername !== undefined) check.nonEmptyString(o.servername, `${name}.servername`);
  if (o.rejectUnauthorized !== undefined) check.boolean(o.rejectUnauthorized, `${name}.rejectUnauthorized`);
  const versions = ['TLSv1.2', 'TLSv1.3'] as const;
  if (o.minVersion !== undefined) ctx.minVersion = check.oneOf(o.minVersion, `${name}.minVersion`, versions);
  if (o.maxVersion !== undefined) ctx.maxVersion = check.oneOf(o.maxVersion, `${name}.maxVersion`, versions);
  if (ctx.minVersion === 'TLSv1.3' && ctx.maxVersion === 'TLSv1.2') throw new RangeError(`${name}.minVersion (TLSv1.3) is above ${name}.maxVersion (TLSv1.2)`);
  ctx.minVersion ??= 'TLSv1.2';

  const connectOptions: ConnectionOptions = { rejectUnauthorized: o.rejectUnauthorized ?? true };
  if (o.servername !== undefined) connectOptions.servername = o.servername;
  let context: SecureContext;
  try {
    context = createSecureContext(ctx);
  } catch (e) {
    // Each PEM parsed above: what is left is OpenSSL refusing the combination (a key type it will not use).
    throw new TypeError(`${name} was refused by OpenSSL: ${(e as Error).message}`, { cause: e });
  }
  return { context, connectOptions, servername: o.servername, clientCertificate: o.cert !== undefined };
}

/** `CN=localhost, O=Example` from Node's `{ CN: 'localhost', O: 'Example' }` (values repeat as arrays). */
function distinguishedName(dn: Record<string, string | string[]> | undefined): string {
  if (!dn) return '';
  return Object.entries(dn)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`))
    .join(', ');
}

/** What a connected TLS socket tells about its session. */
export function tlsSessionInfo(socket: TLSSocket, servername: string | undefined): TlsSessionInfo {
  const cipher = socket.getCipher();
  const info: TlsSessionInfo = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: cipher.name,
    standardCipher: cipher.standardName,
    authorized: socket.authorized,
  };
  if (!socket.authorized && socket.authorizationError) info.authorizationError = String(socket.authorizationError);
  if (servername !== undefined) info.servername = servername;
  const peer = socket.getPeerCertificate();
  if (peer && Object.keys(peer).length > 0) {
    info.peerCertificate = {
      subject: distinguishedName(peer.subject as unknown as Record<string, string | string[]>),
      issuer: distinguishedName(peer.issuer as unknown as Record<string, string | string[]>),
      validFrom: peer.valid_from,
      validTo: peer.valid_to,
      fingerprint256: peer.fingerprint256,
      serialNumber: peer.serialNumber,
    };
    if (peer.subjectaltname) info.peerCertificate.subjectAltName = peer.subjectaltname;
  }
  return info;
}
