/**
 * Errors of the TCP/TLS transport (`statewire/tcp`). They extend the core
 * `ConnectionError`; their codes join the core `ErrorCode` union.
 *
 * Every one carries the `host` and `port` it was about, the original Node
 * error as `cause` and its code as `errno` (`'ECONNREFUSED'`,
 * `'CERT_HAS_EXPIRED'`, `'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'`).
 * `tcpError` picks the class once, at the boundary; nothing above it reads
 * Node's codes.
 *
 * A TLS failure says which check failed:
 * - `TlsVerificationError` (`check`): we refused the server's certificate
 *   (unknown CA, hostname mismatch, expired, not yet valid, revoked);
 * - `TlsHandshakeError` (`reason`): the peer refused the handshake with an
 *   alert (it required a client certificate, rejected ours, no common
 *   protocol version), or it does not speak TLS at all.
 * Both are `permanent`: retrying will not fix a certificate, so the
 * connection machine goes to `failed` after `policy.maxPermanentFailures`
 * of the same one in a row.
 */
import { ConnectionError, StatewireError, type ErrorCode } from '../../machines/ports/errors.js';

declare module '../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** Any other TCP failure (EADDRNOTAVAIL, an unknown errno). */
    ERR_TCP: true;
    /** The OS gave up connecting (ETIMEDOUT: no answer to the SYN). */
    ERR_TCP_TIMEOUT: true;
    /** No route to the host or its network (EHOSTUNREACH, ENETUNREACH). */
    ERR_TCP_UNREACHABLE: true;
    /** The host name did not resolve (ENOTFOUND; EAI_AGAIN: the resolver failed for now). */
    ERR_HOST_NOT_FOUND: true;
    /** The peer reset the connection or it broke while sending (ECONNRESET, EPIPE). */
    ERR_TCP_RESET: true;
    /** The peer does not read: more than `maxBufferedBytes` queued for it. */
    ERR_TCP_BUFFER_OVERFLOW: true;
    /** We refused the server's certificate: see `TlsVerificationError.check`. */
    ERR_TLS_VERIFICATION: true;
    /** The TLS handshake failed on the peer's side (an alert) or the peer does not speak TLS: see `TlsHandshakeError.reason`. */
    ERR_TLS_HANDSHAKE: true;
    /** The stream ended inside a length-prefixed frame. */
    ERR_FRAME_TRUNCATED: true;
  }
}

/** Where a TCP error happened. */
export interface TcpErrorContext {
  host: string;
  port: number;
  /** True when the connection was (to be) TLS. */
  tls?: boolean;
  cause?: unknown;
  /** Overrides `ConnectionError.permanent`. */
  permanent?: boolean;
  /**
   * TLS handshakes: the server's certificate had arrived when it failed, and
   * whether we had a client certificate to offer. A TLS 1.2 server that
   * requires one says only "handshake failure"; with these it is told from a
   * cipher mismatch (which fails before the server's certificate).
   */
  handshake?: { serverCertificateSeen: boolean; clientCertificate: boolean };
}

const at = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;
const errnoOf = (cause: unknown): string | undefined => {
  const code = (cause as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * A TCP or TLS failure: `host`, `port`, `tls`, the Node error as `cause`, its
 * code as `errno`. The class for errnos without a class of their own (code
 * `ERR_TCP`).
 */
export class TcpError extends ConnectionError {
  override name = 'TcpError';
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;

  constructor(message: string, code: ErrorCode, context: TcpErrorContext) {
    super(message, { kind: 'tcp', code, cause: context.cause, permanent: context.permanent });
    this.host = context.host;
    this.port = context.port;
    this.tls = context.tls === true;
  }
}

/** Nobody listens at `host:port` (ECONNREFUSED). Code `ERR_CONNECTION_REFUSED`, as every transport's. */
export class TcpConnectionRefusedError extends TcpError {
  override name = 'TcpConnectionRefusedError';
  constructor(context: TcpErrorContext) {
    super(`connection refused by ${at(context.host, context.port)} (is the server running?)`, 'ERR_CONNECTION_REFUSED', context);
  }
}

/** The OS gave up connecting (ETIMEDOUT): the host did not answer (a firewall dropping packets, a host that is down). */
export class TcpTimeoutError extends TcpError {
  override name = 'TcpTimeoutError';
  constructor(context: TcpErrorContext) {
    super(`connecting to ${at(context.host, context.port)} timed out (ETIMEDOUT): no answer from the host`, 'ERR_TCP_TIMEOUT', context);
  }
}

/** No route to the host or its network (EHOSTUNREACH, ENETUNREACH). */
export class HostUnreachableError extends TcpError {
  override name = 'HostUnreachableError';
  constructor(context: TcpErrorContext) {
    super(`${at(context.host, context.port)} is unreachable (${errnoOf(context.cause) ?? 'no route'})`, 'ERR_TCP_UNREACHABLE', context);
  }
}

/**
 * The host name did not resolve. `errno` says how: ENOTFOUND (no such name),
 * EAI_AGAIN (the resolver failed, try later). Not permanent: a name may be
 * registered, a resolver come back.
 */
export class HostNotFoundError extends TcpError {
  override name = 'HostNotFoundError';
  constructor(context: TcpErrorContext) {
    const errno = errnoOf(context.cause);
    const why = errno === 'EAI_AGAIN' ? 'the resolver failed for now (EAI_AGAIN)' : `no such host (${errno ?? 'ENOTFOUND'})`;
    super(`cannot resolve ${JSON.stringify(context.host)}: ${why}`, 'ERR_HOST_NOT_FOUND', context);
  }
}

/** The peer reset the connection, or it broke while we were sending (ECONNRESET, EPIPE). */
export class TcpConnectionResetError extends TcpError {
  override name = 'TcpConnectionResetError';
  constructor(context: TcpErrorContext) {
    super(`connection to ${at(context.host, context.port)} reset by the peer (${errnoOf(context.cause) ?? 'ECONNRESET'})`, 'ERR_TCP_RESET', context);
  }
}

/**
 * The peer does not read what we send: more than `maxBufferedBytes` were
 * queued for it, so the connection was closed (the link's `closed` error and
 * the `cause` of the sends that were in flight).
 */
export class TcpBufferOverflowError extends TcpError {
  override name = 'TcpBufferOverflowError';
  /** The limit (`maxBufferedBytes`), bytes. */
  readonly limit: number;
  /** Bytes queued for the peer when the connection was closed. */
  readonly buffered: number;
  constructor(context: TcpErrorContext & { buffered: number; limit: number }) {
    super(
      `closed the connection to ${at(context.host, context.port)}: the peer is not reading (${context.buffered} bytes queued, over the ${context.limit}-byte limit)`,
      'ERR_TCP_BUFFER_OVERFLOW',
      context,
    );
    this.limit = context.limit;
    this.buffered = context.buffered;
  }
}

/** Which check refused the server's certificate. */
export type TlsCheck = 'unknown-ca' | 'hostname' | 'expired' | 'not-yet-valid' | 'revoked' | 'other';

/** Node's (OpenSSL's) verification codes, by the check they belong to. */
const CHECKS: Readonly<Record<string, TlsCheck>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown-ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown-ca',
  CERT_UNTRUSTED: 'unknown-ca',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname',
  HOSTNAME_MISMATCH: 'hostname',
  IP_ADDRESS_MISMATCH: 'hostname',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  CERT_REVOKED: 'revoked',
};

/** Every other code Node gives a refused certificate (from `X509_verify_cert_error_string`'s list). */
const OTHER_VERIFY_CODES = new Set([
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'UNABLE_TO_GET_CRL',
  'CRL_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_SIGNATURE_FAILURE',
]);

const CHECK_TEXT: Readonly<Record<TlsCheck, string>> = {
  'unknown-ca': 'it is not signed by a trusted CA (pass the CA in options.tls.ca)',
  hostname: 'it is not valid for the host name',
  expired: 'it has expired',
  'not-yet-valid': 'it is not valid yet (check the clocks)',
  revoked: 'it was revoked',
  other: 'it failed verification',
};

/**
 * We refused the server's certificate. `check` says which check failed,
 * `verifyCode` Node's code for it (`'CERT_HAS_EXPIRED'`, also in `errno`).
 * Permanent: retrying will not fix a certificate.
 *
 * @example
 * ```ts
 * if (err instanceof TlsVerificationError && err.check === 'hostname') console.error(`connect by the name in the certificate, not ${err.host}`)
 * ```
 */
export class TlsVerificationError extends TcpError {
  override name = 'TlsVerificationError';
  /** Which check failed. */
  readonly check: TlsCheck;
  /** Node's code for it: `'UNABLE_TO_VERIFY_LEAF_SIGNATURE'`, `'ERR_TLS_CERT_ALTNAME_INVALID'`, `'CERT_HAS_EXPIRED'`, ... */
  readonly verifyCode: string;
  /** The name the certificate was checked against (`options.tls.servername`, else the host). */
  readonly servername: string | undefined;

  constructor(check: TlsCheck, verifyCode: string, context: TcpErrorContext & { servername?: string }) {
    const detail = (context.cause as Error | undefined)?.message;
    super(
      `refused the TLS certificate of ${at(context.host, context.port)}: ${CHECK_TEXT[check]} (${verifyCode}${check === 'hostname' && detail ? `: ${detail}` : ''})`,
      'ERR_TLS_VERIFICATION',
      { permanent: true, ...context, tls: true },
    );
    this.check = check;
    this.verifyCode = verifyCode;
    this.servername = context.servername;
  }
}

/** Why the peer refused the handshake. */
export type TlsHandshakeReason =
  /** The server requires a client certificate and we gave none (`options.tls.cert`/`key`). */
  | 'client-certificate-required'
  /** The server refused our client certificate (not signed by a CA it trusts, or unusable). */
  | 'client-certificate-rejected'
  /** No TLS version both sides accept (`minVersion`/`maxVersion`). */
  | 'protocol-version'
  /** The peer does not speak TLS (a plain TCP server, HTTP on that port). */
  | 'not-tls'
  /** A generic handshake failure alert: no common cipher, or (TLS 1.2) a missing client certificate. */
  | 'handshake-failure'
  | 'other';

const ALERTS: ReadonlyArray<readonly [RegExp, TlsHandshakeReason]> = [
  [/CERTIFICATE_REQUIRED/, 'client-certificate-required'],
  [/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|DECRYPT_ERROR|ACCESS_DENIED)/, 'client-certificate-rejected'],
  [/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|TLSV1_ALERT_INAPPROPRIATE_FALLBACK/, 'protocol-version'],
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER_FAILURE/, 'not-tls'],
  [/HANDSHAKE_FAILURE|NO_SHARED_CIPHER/, 'handshake-failure'],
];

const REASON_TEXT: Readonly<Record<TlsHandshakeReason, string>> = {
  'client-certificate-required': 'the server requires a client certificate (options.tls.cert and key)',
  'client-certificate-rejected': 'the server refused our client certificate',
  'protocol-version': 'no TLS version both sides accept',
  'not-tls': 'the peer does not speak TLS',
  'handshake-failure': 'the server refused the handshake (no common cipher, or a client certificate it requires)',
  other: 'the handshake failed',
};

/**
 * The TLS handshake failed on the peer's side (it sent an alert) or the peer
 * does not speak TLS. `reason` says which; `sslCode` is Node's code
 * (`'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'`, also in `errno`).
 * Permanent except for `'other'`.
 *
 * TLS 1.3: the server judges our client certificate after our side of the
 * handshake is done, so a missing or refused client certificate can arrive
 * just after `connect` resolved: then it is the error the link's `closed`
 * reports, not a rejection of `connect`.
 */
export class TlsHandshakeError extends TcpError {
  override name = 'TlsHandshakeError';
  readonly reason: TlsHandshakeReason;
  /** Node's code for it: `'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'`, `'ERR_SSL_WRONG_VERSION_NUMBER'`, ... */
  readonly sslCode: string;

  constructor(reason: TlsHandshakeReason, sslCode: string, context: TcpErrorContext) {
    super(`TLS handshake with ${at(context.host, context.port)} failed: ${REASON_TEXT[reason]} (${sslCode})`, 'ERR_TLS_HANDSHAKE', {
      permanent: reason !== 'other',
      ...context,
      tls: true,
    });
    this.reason = reason;
    this.sslCode = sslCode;
  }
}

/** The typed error for a TLS failure, or undefined when `error` is not one. */
function tlsError(error: Error & { code?: string }, context: TcpErrorContext & { servername?: string }): TcpError | undefined {
  const code = error.code;
  if (code === undefined) return undefined;
  const check = CHECKS[code] ?? (OTHER_VERIFY_CODES.has(code) ? 'other' : undefined);
  if (check) return new TlsVerificationError(check, code, { ...context, cause: error });
  if (code.startsWith('ERR_SSL_')) {
    let reason = ALERTS.find(([pattern]) => pattern.test(code))?.[1] ?? 'other';
    if (reason === 'handshake-failure' && context.handshake?.serverCertificateSeen && !context.handshake.clientCertificate) reason = 'client-certificate-required';
    return new TlsHandshakeError(reason, code, { ...context, cause: error });
  }
  return undefined;
}

/**
 * The typed error for a Node `net`/`tls` error on a connection to
 * `host:port`, while connecting or on the open link.
 *
 * @example tcpError(err, { host: 'db.local', port: 5432, tls: true })
 */
export function tcpError(error: Error & { code?: string }, context: TcpErrorContext & { servername?: string }): TcpError {
  const tls = context.tls ? tlsError(error, context) : undefined;
  if (tls) return tls;
  const ctx = { ...context, cause: error };
  switch (error.code) {
    case 'ECONNREFUSED':
      return new TcpConnectionRefusedError(ctx);
    case 'ETIMEDOUT':
      return new TcpTimeoutError(ctx);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new HostUnreachableError(ctx);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NODATA':
    case 'EAI_NONAME':
      return new HostNotFoundError(ctx);
    case 'ECONNRESET':
    case 'EPIPE':
      return new TcpConnectionResetError(ctx);
    default:
      return new TcpError(`connection to ${at(context.host, context.port)} failed: ${error.message}`, 'ERR_TCP', ctx);
  }
}

/**
 * The stream ended inside a length-prefixed frame: `expected` bytes were
 * announced, `received` arrived (a peer that died mid-write, or a framing
 * mismatch). The frame is not delivered; the stream of frames errors with
 * this instead of completing, so the loss is never silent.
 */
export class TruncatedFrameError extends StatewireError {
  override name = 'TruncatedFrameError';
  /** Bytes the frame's header announced (undefined when the header itself was cut). */
  readonly expected: number | undefined;
  /** Bytes of the frame (or the header) that arrived. */
  readonly received: number;

  constructor(expected: number | undefined, received: number) {
    super(
      expected === undefined
        ? `the stream ended inside a frame header (${received} bytes of it arrived)`
        : `the stream ended inside a frame: ${received} of its ${expected} bytes arrived`,
      'ERR_FRAME_TRUNCATED',
    );
    this.expected = expected;
    this.received = received;
  }
}
