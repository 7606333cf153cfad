/**
 * `tcpTransport({ host, port, tls })`: a link over TCP, or TLS with `tls`
 * (`net.connect` / `tls.connect`, on `transports/stream/link.ts`). Inbound
 * data arrives as `Uint8Array` chunks; framing is the caller's (`framing.ts`).
 *
 * Failures are typed (`errors.ts`): refused, DNS, other socket errors, and a
 * refused certificate as a `TlsVerificationError` whose `check` says which
 * check failed (`unknown-ca`, `hostname`, `expired`, ...); that one is
 * permanent (retrying cannot fix a certificate). Safe default:
 * `rejectUnauthorized` is true.
 *
 * A TLS link tells its session: `link.tls` is `{ protocol, cipher, authorized }`.
 *
 * @example
 * ```ts
 * supervisor.startChild({ id: 'db', transport: tcpTransport({ host: 'db.internal', port: 7000, tls: { ca } }) });
 * ```
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import * as check from '../../machines/ports/check.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import type { ConnectOptions, Link, Transport } from '../../machines/ports/transport.js';
import { checkMaxBufferedBytes, wrapSocket } from '../stream/link.js';
import { tcpConnectError } from './errors.js';
import { checkPem, checkPort } from './tcp.server.js';

/** TLS settings of a client. */
export interface TcpTlsOptions {
  /** CA(s) to trust (PEM). Default: Node's bundled roots. */
  ca?: string | string[];
  /** Client certificate and key (PEM), for mutual TLS. */
  cert?: string;
  key?: string;
  /** Name to check the certificate against (SNI). Default: `host` (unless it is an IP address). */
  servername?: string;
  /** Refuse a certificate that fails verification. Default true. */
  rejectUnauthorized?: boolean;
  /** Oldest TLS version. Default Node's (TLSv1.2). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Newest TLS version. Default Node's (TLSv1.3). */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface TcpTransportOptions {
  host: string;
  port: number;
  tls?: TcpTlsOptions;
  /** TCP keep-alive probe delay, ms (0 or unset: off). */
  keepAliveMs?: number;
  /** Disable Nagle. Default true. */
  noDelay?: boolean;
  /** Most bytes queued for a peer that does not read before the link is closed. Default 8 MiB. */
  maxBufferedBytes?: number;
}

/** A TLS link's session. */
export interface TlsSession {
  protocol: string | null;
  cipher: string | null;
  authorized: boolean;
}

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

function clientTls(tls: unknown, host: string): ConnectionOptions {
  const t = check.object(tls, 'options.tls', '{ ca?, cert?, key?, servername?, rejectUnauthorized?, minVersion?, maxVersion? }') as TcpTlsOptions;
  // Only the keys given: Node 20's tls.connect treats an undefined value as a value.
  const out: ConnectionOptions = {};
  if (t.ca !== undefined) out.ca = Array.isArray(t.ca) ? t.ca.map((c, i) => checkPem(c, `options.tls.ca[${i}]`)) : checkPem(t.ca, 'options.tls.ca');
  if (t.cert !== undefined) out.cert = checkPem(t.cert, 'options.tls.cert');
  if (t.key !== undefined) out.key = checkPem(t.key, 'options.tls.key');
  if ((t.cert === undefined) !== (t.key === undefined)) throw new TypeError('options.tls.cert and options.tls.key go together (mutual TLS needs both)');
  const servername = t.servername === undefined ? host : check.nonEmptyString(t.servername, 'options.tls.servername');
  // SNI takes a host name, never an IP address; the certificate is still checked against `host`.
  if (!/^[\d.]+$|:/.test(servername)) out.servername = servername;
  out.rejectUnauthorized = t.rejectUnauthorized === undefined ? true : check.boolean(t.rejectUnauthorized, 'options.tls.rejectUnauthorized');
  if (t.minVersion !== undefined) out.minVersion = check.oneOf(t.minVersion, 'options.tls.minVersion', VERSIONS);
  if (t.maxVersion !== undefined) out.maxVersion = check.oneOf(t.maxVersion, 'options.tls.maxVersion', VERSIONS);
  return out;
}

export function tcpTransport(options: TcpTransportOptions): Transport & { readonly host: string; readonly port: number; readonly secure: boolean } {
  check.object(options, 'options', '{ host, port, tls?, keepAliveMs?, noDelay?, maxBufferedBytes? }');
  const host = check.nonEmptyString(options.host, 'options.host');
  const port = checkPort(options.port, 'options.port');
  if (port === 0) throw new RangeError('options.port must be within 1..65535, got 0');
  const tls = options.tls === undefined ? undefined : clientTls(options.tls, host);
  const keepAliveMs = check.duration(options.keepAliveMs, 'options.keepAliveMs', { allowZero: true }) ?? 0;
  const noDelay = options.noDelay === undefined ? true : check.boolean(options.noDelay, 'options.noDelay');
  const maxBufferedBytes = checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes');
  const linkOptions = { maxBufferedBytes, toError: (e: Error & { code?: string }) => tcpConnectError(e, host, port) };

  return {
    kind: tls ? 'tls' : 'tcp',
    host,
    port,
    secure: tls !== undefined,
    connect({ signal }: ConnectOptions): Promise<Link> {
      if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('options.signal must be an AbortSignal'));
      if (signal.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true }));
      return new Promise<Link>((resolve, reject) => {
        const socket: Socket | TLSSocket = tls ? tlsConnect({ host, port, ...tls }) : netConnect({ host, port });
        const onAbort = () => {
          socket.destroy();
          reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('error', (e: Error & { code?: string }) => {
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          reject(tcpConnectError(e, host, port));
        });
        socket.once(tls ? 'secureConnect' : 'connect', () => {
          signal.removeEventListener('abort', onAbort);
          socket.removeAllListeners('error');
          socket.setNoDelay(noDelay);
          if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
          const link = wrapSocket(socket, linkOptions);
          if (tls) {
            const s = socket as TLSSocket;
            const session: TlsSession = { protocol: s.getProtocol(), cipher: s.getCipher()?.name ?? null, authorized: s.authorized };
            Object.defineProperty(link, 'tls', { value: session, enumerable: true });
          }
          resolve(link);
        });
      });
    },
  };
}
