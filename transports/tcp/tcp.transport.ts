/**
 * `tcpTransport({ host, port, tls? })`: a client connection over TCP, or TLS
 * over TCP. Inbound data arrives as `Uint8Array` chunks as the socket reads
 * them: framing is the caller's (`lengthPrefixed`, `delimited` in
 * framing.ts). One `connect()` is one attempt (a DNS lookup, a TCP connect,
 * a TLS handshake); the connection machine owns retries and the timeout.
 *
 * Connect failures are typed (errors.ts), each with `host`, `port`, the Node
 * error as `cause` and its code as `errno`: `TcpConnectionRefusedError`,
 * `TcpTimeoutError`, `HostNotFoundError`, `HostUnreachableError`, and for TLS
 * `TlsVerificationError` (`check`: which check refused the server's
 * certificate) and `TlsHandshakeError` (`reason`: the server refused us),
 * both permanent.
 *
 * The link is a `TcpLink`: `info` says where it goes and, for TLS, what the
 * handshake settled (protocol, cipher, the server's certificate). The
 * transport's `events$` tells each attempt's steps (resolving, connecting,
 * connected, the TLS handshake, closed, error), for a network monitor.
 *
 * @example
 * ```ts
 * const sup = createSupervisor();
 * sup.startChild({ id: 'db', transport: tcpTransport({ host: 'db.internal', port: 7000, tls: { ca: readFileSync('ca.pem', 'utf8') } }) });
 * sup.connection('db').data$.pipe(lengthPrefixed({ bytes: 4 })).subscribe(onFrame);
 * ```
 */
import { connect as netConnect, isIP, type LookupFunction, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Subject, type Observable } from 'rxjs';
import * as check from '../../machines/ports/check.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import type { CloseInfo, ConnectOptions, Link, Transport } from '../../machines/ports/transport.js';
import { checkMaxBufferedBytes, wrapSocket, type StreamLinkOptions } from '../stream/link.js';
import { TcpBufferOverflowError, tcpError, type TcpError } from './errors.js';
import { resolveTls, tlsSessionInfo, type TcpTlsOptions, type TlsSessionInfo } from './tls.js';

export { DEFAULT_MAX_BUFFERED_BYTES } from '../stream/link.js';

export interface TcpTransportOptions {
  /** Host name or IP address of the server. @example host: 'db.internal' */
  host: string;
  /** TCP port of the server, an integer within 1..65535. */
  port: number;
  /**
   * Speak TLS over the connection, with these options (`{}`: verify the
   * server against Node's public roots). Default: plain TCP.
   * @example tls: { ca: caPem, cert: clientPem, key: clientKeyPem, minVersion: 'TLSv1.3' }
   */
  tls?: TcpTlsOptions;
  /**
   * Turn on TCP keepalive, first probe after this many ms of silence (the OS
   * then decides the interval and count). Default: off. A silent peer is
   * otherwise only noticed by `policy.staleAfterMs` or a write.
   */
  keepAliveMs?: number;
  /** Send small writes at once (no Nagle delay). Default true: a link carries messages, not a bulk stream. */
  noDelay?: boolean;
  /** Most bytes queued for a peer that does not read before the link is closed with a `TcpBufferOverflowError`. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** How long `close()` waits for the peer after ending our side, ms. Default 1000. */
  closeTimeoutMs?: number;
  /**
   * Resolve `host` with this instead of the OS resolver (`dns.lookup`'s
   * signature, as `net.connect` takes it): a service registry, a fixed table.
   * Its errors become `HostNotFoundError`s when their code is ENOTFOUND or EAI_AGAIN.
   * @example lookup: (host, opts, cb) => cb(null, [{ address: registry.get(host), family: 4 }])
   */
  lookup?: LookupFunction;
}

/** An end of a connection. */
export interface TcpAddress {
  address: string;
  port: number;
  /** `'IPv4'` or `'IPv6'`. */
  family: string;
}

/** Where a link goes, and its TLS session. */
export interface TcpLinkInfo {
  /** The host and port it was asked for. */
  host: string;
  port: number;
  local: TcpAddress;
  remote: TcpAddress;
  /** The TLS session, for a TLS link. */
  tls?: TlsSessionInfo;
}

/** A link `tcpTransport` opened. */
export interface TcpLink extends Link {
  readonly info: TcpLinkInfo;
}

/**
 * One step of a connection attempt, on `TcpTransport.events$`. `attempt`
 * counts this transport's `connect()` calls from 1, so the steps of one
 * attempt can be told from the next.
 */
export type TcpNetworkEvent = { attempt: number; host: string; port: number } & (
  | { type: 'resolving' }
  | { type: 'resolved'; address: string; family: string }
  | { type: 'connecting'; tls: boolean }
  /** TCP is connected; for TLS the handshake starts. */
  | { type: 'connected'; local: TcpAddress; remote: TcpAddress }
  | { type: 'tls-handshake'; tls: TlsSessionInfo }
  /** An open link ended. */
  | { type: 'closed'; initiatedLocally: boolean; code?: number | string; error?: unknown }
  /** The attempt failed (`phase: 'connect'`); an open link's failure shows as `closed` with its `error`. */
  | { type: 'error'; phase: 'connect'; error: TcpError }
);

export interface TcpTransport extends Transport {
  readonly kind: 'tcp';
  readonly host: string;
  readonly port: number;
  /** True when it speaks TLS. */
  readonly secure: boolean;
  connect(options: ConnectOptions): Promise<TcpLink>;
  /** The steps of every attempt and the end of every link, as they happen. Hot: subscribe first. Never errors. */
  readonly events$: Observable<TcpNetworkEvent>;
}

/** `value` as a TCP port: an integer within 1..65535 (0..65535 with `allowZero`, for a listener). */
export function checkPort(value: unknown, name: string, { allowZero = false }: { allowZero?: boolean } = {}): number {
  return check.integer(value, name, { min: allowZero ? 0 : 1, max: 65535 });
}

/** `value` as a host: a non-empty string. */
export function checkHost(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string (a host name or an IP address), got ${check.describe(value)}`);
  return check.nonEmptyString(value, name);
}

function address(socket: Socket, side: 'local' | 'remote'): TcpAddress {
  return side === 'local'
    ? { address: socket.localAddress ?? '', port: socket.localPort ?? 0, family: socket.localFamily ?? '' }
    : { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily ?? '' };
}

/** The server's certificate arrived (a failed handshake got that far). */
function serverCertificateSeen(socket: TLSSocket): boolean {
  const cert = socket.getPeerCertificate();
  return cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
}

export function tcpTransport(options: TcpTransportOptions): TcpTransport {
  check.object(options, 'options', '{ host, port, tls?, keepAliveMs?, noDelay? }');
  const host = checkHost(options.host, 'options.host');
  const port = checkPort(options.port, 'options.port');
  const tls = options.tls === undefined ? undefined : resolveTls(options.tls);
  const keepAliveMs = check.duration(options.keepAliveMs, 'options.keepAliveMs', { allowZero: true });
  const noDelay = options.noDelay === undefined ? true : check.boolean(options.noDelay, 'options.noDelay');
  const maxBufferedBytes = checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes');
  const closeTimeoutMs = check.duration(options.closeTimeoutMs, 'options.closeTimeoutMs', { allowZero: true });
  const context = { host, port, tls: tls !== undefined, ...(tls?.servername ? { servername: tls.servername } : {}) };
  const linkOptions: StreamLinkOptions = {
    toError: (e) => tcpError(e, context),
    maxBufferedBytes,
    overflowError: ({ buffered, limit }) => new TcpBufferOverflowError({ ...context, buffered, limit }),
    ...(closeTimeoutMs === undefined ? {} : { closeTimeoutMs }),
  };
  const lookup = options.lookup === undefined ? undefined : check.func(options.lookup, 'options.lookup', '(hostname, options, callback) like dns.lookup');
  // Node sends SNI for a host name, never for an IP address.
  const sni = tls?.servername ?? (isIP(host) === 0 ? host : undefined);
  const events = new Subject<TcpNetworkEvent>();
  let attempts = 0;

  // Only keys with values: Node 20's tls.connect trips on some `undefined` ones.
  const where: NetConnectOpts = lookup ? { host, port, lookup } : { host, port };
  function open(): Socket {
    if (!tls) return netConnect(where);
    const o: ConnectionOptions = { ...where, secureContext: tls.context, ...tls.connectOptions };
    return tlsConnect(o);
  }

  return {
    kind: 'tcp',
    host,
    port,
    secure: tls !== undefined,
    events$: events.asObservable(),
    connect({ signal }: ConnectOptions): Promise<TcpLink> {
      if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('options.signal must be an AbortSignal'));
      if (signal.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
      const attempt = ++attempts;
      const base = { attempt, host, port };
      return new Promise<TcpLink>((resolve, reject) => {
        // A name is looked up first: 'connecting' follows its first answer.
        let connecting = isIP(host) !== 0;
        events.next(connecting ? { ...base, type: 'connecting', tls: tls !== undefined } : { ...base, type: 'resolving' });
        const socket = open();
        const ready = tls ? 'secureConnect' : 'connect';
        const onLookup = (err: Error | null, addr: string, family: string | number | null) => {
          if (err) return; // the 'error' that follows says it
          events.next({ ...base, type: 'resolved', address: addr, family: typeof family === 'number' ? `IPv${family}` : String(family) });
          if (!connecting) {
            connecting = true;
            events.next({ ...base, type: 'connecting', tls: tls !== undefined });
          }
        };
        const onConnect = () => {
          if (noDelay) socket.setNoDelay(true);
          if (keepAliveMs !== undefined) socket.setKeepAlive(true, keepAliveMs);
          events.next({ ...base, type: 'connected', local: address(socket, 'local'), remote: address(socket, 'remote') });
        };
        const settle = () => {
          signal.removeEventListener('abort', onAbort);
          socket.off('lookup', onLookup);
          socket.off('connect', onConnect);
          socket.off('error', onError);
          socket.off('close', onClose);
          socket.off(ready, onReady);
        };
        const onAbort = () => {
          settle();
          socket.destroy();
          reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
        };
        const onError = (e: Error & { code?: string }) => {
          settle();
          const error = tcpError(e, tls ? { ...context, handshake: { serverCertificateSeen: serverCertificateSeen(socket as TLSSocket), clientCertificate: tls.clientCertificate } } : context);
          socket.destroy();
          events.next({ ...base, type: 'error', phase: 'connect', error });
          reject(error);
        };
        // Node reports a close before the handshake as an error (ECONNRESET); should one come without, the attempt still ends.
        const onClose = () => onError(Object.assign(new Error('the peer closed the connection while it was being set up'), { code: 'ECONNRESET' }));
        const onReady = () => {
          settle();
          // Plain TCP: this is the 'connect' event (`onConnect` ran just before). TLS: the handshake is done.
          const info: TcpLinkInfo = { host, port, local: address(socket, 'local'), remote: address(socket, 'remote') };
          if (tls) {
            info.tls = tlsSessionInfo(socket as TLSSocket, sni);
            events.next({ ...base, type: 'tls-handshake', tls: info.tls });
          }
          const link: TcpLink = Object.assign(wrapSocket(socket, linkOptions), { info });
          void link.closed.then((closed: CloseInfo) => events.next({ ...base, type: 'closed', ...closed }));
          resolve(link);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.on('lookup', onLookup);
        socket.once('connect', onConnect);
        socket.once('error', onError);
        socket.once('close', onClose);
        // Plain TCP: `onReady` and `onConnect` are both 'connect' listeners; `onConnect`, added first, runs first.
        socket.once(ready, onReady);
      });
    },
  };
}
