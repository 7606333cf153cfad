/**
 * `tcpServer({ host, port, tls })`: the TCP/TLS `Listener` (the server side of
 * the transport). Each accepted connection is a `Link` (over
 * `transports/stream/link.ts`); supervising them is `accept()`'s job
 * (`createListener` does both).
 *
 * Safe defaults: it listens on loopback (127.0.0.1) unless told otherwise.
 * With `tls`, a peer that fails the handshake (no client certificate when one
 * is required, a bad one, plain bytes on a TLS port) is dropped and never
 * emitted: it never reaches the supervisor and never crashes the process.
 */
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Subject } from 'rxjs';
import * as check from '../../machines/ports/check.js';
import { ClosedError, ListenError } from '../../machines/ports/errors.js';
import type { Accepted, Listener } from '../../machines/ports/transport.js';
import { checkMaxBufferedBytes, wrapSocket } from '../stream/link.js';
import { checkHost, checkPort } from './tcp.transport.js';

/** TLS settings of a listener. */
export interface TcpServerTlsOptions {
  /** The server's certificate (PEM) and key (PEM). */
  cert: string;
  key: string;
  /** CA(s) that sign client certificates (PEM), for mutual TLS. */
  ca?: string | string[];
  /** Ask clients for a certificate. Default false. */
  requestCert?: boolean;
  /** With `requestCert`, refuse clients without a valid one. Default true. */
  rejectUnauthorized?: boolean;
  /** Oldest TLS version accepted. Default Node's (TLSv1.2). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface TcpServerOptions {
  /** Default 127.0.0.1: loopback only. */
  host?: string;
  /** Default 0: a free port (read it from `address()` after `listen()`). */
  port?: number;
  tls?: TcpServerTlsOptions;
  /** Per connection: most bytes queued for a peer that does not read before its connection is closed. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Disable Nagle on accepted sockets. Default true (lower latency for small frames). */
  noDelay?: boolean;
}

/** A PEM block (`-----BEGIN ...-----`), or a TypeError naming it. */
function checkPem(value: unknown, name: string): string {
  if (typeof value !== 'string' || !/-----BEGIN [A-Z0-9 ]+-----/.test(value)) {
    throw new TypeError(`${name} must be PEM text (-----BEGIN ...-----), got ${check.describe(typeof value === 'string' ? `${value.slice(0, 20)}…` : value)}`);
  }
  return value;
}


function serverTls(tls: unknown) {
  const t = check.object(tls, 'options.tls', '{ cert, key, ca?, requestCert?, rejectUnauthorized?, minVersion? }') as TcpServerTlsOptions;
  const out: Record<string, unknown> = { cert: checkPem(t.cert, 'options.tls.cert'), key: checkPem(t.key, 'options.tls.key') };
  if (t.ca !== undefined) out.ca = Array.isArray(t.ca) ? t.ca.map((c, i) => checkPem(c, `options.tls.ca[${i}]`)) : checkPem(t.ca, 'options.tls.ca');
  if (t.requestCert !== undefined) out.requestCert = check.boolean(t.requestCert, 'options.tls.requestCert');
  if (t.rejectUnauthorized !== undefined) out.rejectUnauthorized = check.boolean(t.rejectUnauthorized, 'options.tls.rejectUnauthorized');
  if (t.minVersion !== undefined) out.minVersion = check.oneOf(t.minVersion, 'options.tls.minVersion', ['TLSv1.2', 'TLSv1.3'] as const);
  return out;
}

export function tcpServer(options: TcpServerOptions = {}): Listener & { address(): AddressInfo | undefined; readonly secure: boolean } {
  check.object(options, 'options', '{ host?, port?, tls?, maxBufferedBytes?, noDelay? }');
  const host = options.host === undefined ? '127.0.0.1' : checkHost(options.host, 'options.host');
  const port = options.port === undefined ? 0 : checkPort(options.port, 'options.port', { allowZero: true });
  const tls = options.tls === undefined ? undefined : serverTls(options.tls);
  const noDelay = options.noDelay === undefined ? true : check.boolean(options.noDelay, 'options.noDelay');
  const maxBufferedBytes = checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes');
  const accepted = new Subject<Accepted>();
  let server: Server | undefined;
  let closing: Promise<void> | undefined;
  const where = () => `${host}:${port}`;

  const onSocket = (socket: Socket | TLSSocket) => {
    if (closing) return void socket.destroy();
    socket.setNoDelay(noDelay);
    accepted.next({ link: wrapSocket(socket, { maxBufferedBytes }), remote: `${socket.remoteAddress}:${socket.remotePort}` });
  };

  return {
    kind: tls ? 'tls' : 'tcp',
    secure: tls !== undefined,
    accepted$: accepted.asObservable(),
    address: () => (server?.address() as AddressInfo | null) ?? undefined,
    async listen() {
      if (closing) throw new ClosedError('listener', `listener on ${where()} is closed`, 'ERR_LISTENER_CLOSED');
      if (server) throw new ClosedError('listener', `already listening on ${where()}`, 'ERR_ALREADY_LISTENING');
      const srv: Server = tls ? createTlsServer(tls, onSocket) : createNetServer(onSocket);
      // A failed handshake or a peer that resets before it: drop it, never crash.
      srv.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
      srv.on('error', () => {});
      server = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(where(), { cause: e })));
        srv.listen(port, host, () => resolve());
      });
    },
    close() {
      // net.Server's close callback runs once every accepted socket has closed too.
      closing ??= new Promise<void>((resolve) => {
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }).then(() => accepted.complete());
      return closing;
    },
  };
}
