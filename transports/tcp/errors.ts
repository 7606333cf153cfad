/**
 * Errors of the TCP/TLS transport (`statewire/tcp`). They extend the core
 * `ConnectionError`; their codes join the core `ErrorCode` union. OS and TLS
 * errors are translated once, at the boundary (`tcpConnectError`).
 */
import { ConnectionError } from '../../machines/ports/errors.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** Nothing listens at the address (ECONNREFUSED). */
    ERR_TCP_REFUSED: true;
    /** The host name does not resolve (ENOTFOUND, EAI_AGAIN). */
    ERR_TCP_DNS: true;
    /** Any other socket failure (ETIMEDOUT, ECONNRESET, EHOSTUNREACH, ...). */
    ERR_TCP_SOCKET: true;
    /** The server's certificate was refused: `check` says which check failed. Permanent. */
    ERR_TLS_VERIFY: true;
    /** The handshake failed otherwise (a protocol alert: no client certificate, no common version). */
    ERR_TLS_HANDSHAKE: true;
  }
}

/** A TCP failure for `host:port`; `errno` is the OS code. */
export class TcpError extends ConnectionError {
  override name = 'TcpError';
  readonly host: string;
  readonly port: number;
  constructor(message: string, host: string, port: number, code: 'ERR_TCP_REFUSED' | 'ERR_TCP_DNS' | 'ERR_TCP_SOCKET' | 'ERR_TLS_HANDSHAKE', options: { cause?: unknown } = {}) {
    super(message, { kind: 'tcp', code, cause: options.cause });
    this.host = host;
    this.port = port;
  }
}

/** Which certificate check failed. */
export type TlsCheck = 'unknown-ca' | 'hostname' | 'expired' | 'not-yet-valid' | 'revoked' | 'other';

const CHECKS: Record<string, TlsCheck> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown-ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-ca',
  CERT_SIGNATURE_FAILURE: 'unknown-ca',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname',
  HOSTNAME_MISMATCH: 'hostname',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  CERT_REVOKED: 'revoked',
};

/** The server's certificate was refused. Retrying cannot fix a certificate: permanent. */
export class TlsVerificationError extends ConnectionError {
  override name = 'TlsVerificationError';
  /** Which check failed. */
  readonly check: TlsCheck;
  /** OpenSSL's / Node's code (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...). */
  readonly tlsCode: string;
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, tlsCode: string, options: { cause?: unknown } = {}) {
    const check = CHECKS[tlsCode] ?? 'other';
    const what = { 'unknown-ca': 'signed by a CA we do not trust', hostname: `not valid for ${host}`, expired: 'expired', 'not-yet-valid': 'not valid yet', revoked: 'revoked', other: 'refused' }[check];
    super(`TLS: the certificate of ${host}:${port} is ${what} (${tlsCode})`, { kind: 'tcp', code: 'ERR_TLS_VERIFY', cause: options.cause, permanent: true });
    this.check = check;
    this.tlsCode = tlsCode;
    this.host = host;
    this.port = port;
  }
}

/** Translate a connect failure (OS or TLS) into the kind's typed error. */
export function tcpConnectError(error: Error & { code?: string }, host: string, port: number): ConnectionError {
  const code = error.code ?? '';
  if (code in CHECKS || (code.startsWith('CERT_') && !code.startsWith('ERR_'))) return new TlsVerificationError(host, port, code, { cause: error });
  if (code === 'ECONNREFUSED') return new TcpError(`nothing listens at ${host}:${port} (ECONNREFUSED)`, host, port, 'ERR_TCP_REFUSED', { cause: error });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new TcpError(`${host} does not resolve (${code})`, host, port, 'ERR_TCP_DNS', { cause: error });
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /alert|handshake|ssl/i.test(error.message)) {
    return new TcpError(`TLS handshake with ${host}:${port} failed: ${error.message}`, host, port, 'ERR_TLS_HANDSHAKE', { cause: error });
  }
  return new TcpError(`connection to ${host}:${port} failed: ${error.message}`, host, port, 'ERR_TCP_SOCKET', { cause: error });
}
