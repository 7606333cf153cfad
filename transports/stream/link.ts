/**
 * A connected `net.Socket` (UNIX or TCP) as a `Link`: bytes in (`Uint8Array`
 * chunks, as they arrive: framing is the caller's), writes in order, close
 * with a graceful end and a bounded wait.
 *
 * Backpressure (issue 11, defect 4). A peer that writes but never reads made
 * the agent queue a reply per line it sent, without bound (200 k bad lines:
 * 38 MB of heap; 1.3 M: 277 MB). So:
 * - once a write leaves more queued than the socket's high-water mark, the
 *   link stops reading from the socket until it drains (`pause`/`resume`):
 *   what the peer sends next waits in its own buffers, not ours;
 * - past `maxBufferedBytes` queued for writing, the link ends with the typed
 *   error `overflowError` gives (`closed` resolves with it as `error`).
 */
import type { Socket } from 'node:net';
import { LinkClosedError } from '../../machines/ports/errors.js';
import * as check from '../../machines/ports/check.js';
import { LinkCore } from '../link-core.js';
import type { CloseInfo, Link, Payload } from '../../machines/ports/transport.js';

/** Default `maxBufferedBytes`: 8 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface StreamLinkOptions {
  /** How long `close()` waits for the peer after ending our side, ms. Default 1000. */
  closeTimeoutMs?: number;
  /** Translate a socket error into the transport's typed error. */
  toError?: (error: Error & { code?: string }) => Error;
  /**
   * Most bytes the link may hold queued for writing (what the peer has not
   * read yet). A send that leaves more queued ends the link: `closed`
   * resolves with `overflowError(...)` as `error`, that send and every one in
   * flight reject. Default 8 MiB (`DEFAULT_MAX_BUFFERED_BYTES`).
   * @example wrapSocket(socket, { maxBufferedBytes: 1024 * 1024 })
   */
  maxBufferedBytes?: number;
  /** The error that ends a link over `maxBufferedBytes`. Default: a `LinkClosedError` with `closeCode` `'ERR_BUFFER_OVERFLOW'`. */
  overflowError?: (info: { buffered: number; limit: number }) => Error;
}

/** A `maxBufferedBytes` option: `undefined` is the default, anything else an integer >= 1. */
export function checkMaxBufferedBytes(value: unknown, name: string): number {
  return value === undefined ? DEFAULT_MAX_BUFFERED_BYTES : check.integer(value, name, { min: 1 });
}

export function wrapSocket(socket: Socket, options: StreamLinkOptions = {}): Link {
  /** The error that ended the link, translated; `errno` is the OS code behind it. */
  let failure: Error | undefined;
  let errno: string | undefined;
  const toError = options.toError ?? ((e: Error) => e);
  const maxBuffered = checkMaxBufferedBytes(options.maxBufferedBytes, 'options.maxBufferedBytes');
  const overflowError =
    options.overflowError ??
    (({ buffered, limit }) =>
      new LinkClosedError(`the peer is not reading: ${buffered} bytes queued for it, over the ${limit}-byte limit`, { canceled: false, closeCode: 'ERR_BUFFER_OVERFLOW' }));
  let paused = false;
  const onDrain = () => {
    paused = false;
    if (!socket.destroyed) socket.resume();
  };

  const core = new LinkCore({
    write: (data, done) => {
      const below = socket.write(data, done);
      // The peer is behind: over the cap the link ends; under it, read nothing more until it catches up.
      if (socket.writableLength > maxBuffered) {
        failure ??= overflowError({ buffered: socket.writableLength, limit: maxBuffered });
        socket.destroy();
      } else if (!below && !paused) {
        paused = true;
        socket.pause();
        socket.once('drain', onDrain);
      }
    },
    writeError: (err) => new LinkClosedError('link lost while sending', { canceled: false, closeCode: (err as { code?: string }).code ?? errno, cause: failure ?? toError(err) }),
  });

  socket.on('data', (chunk: Buffer) => {
    if (!core.ended) core.incoming.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  socket.on('error', (e: Error & { code?: string }) => {
    if (failure) return;
    failure = toError(e);
    errno = e.code;
  });
  socket.on('close', () => {
    socket.off('drain', onDrain);
    const info: Omit<CloseInfo, 'initiatedLocally'> = {};
    if (failure) {
      info.code = errno ?? (failure as { code?: string }).code;
      info.error = failure;
    } else if (core.closing === undefined) {
      info.error = new LinkClosedError('the peer closed the connection', { canceled: false });
    }
    core.end(info, (canceled) =>
      new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', {
        canceled,
        closeCode: errno,
        cause: failure,
      }),
    );
  });
  // The peer ended its side: end ours too (allowHalfOpen is off by default; this covers sockets made with it on).
  socket.on('end', () => {
    if (!socket.destroyed) socket.end();
  });

  return {
    incoming$: core.incoming.asObservable(),
    closed: core.closed,
    send(data: Payload): Promise<void> {
      if (core.ended || core.closing || socket.destroyed || !socket.writable) {
        return Promise.reject(new LinkClosedError('link is closed', { canceled: core.closing !== undefined, cause: failure }));
      }
      return core.write(data);
    },
    close: () =>
      core.close(() => {
        socket.end();
        const timer = setTimeout(() => socket.destroy(), options.closeTimeoutMs ?? 1000);
        timer.unref();
        void core.closed.then(() => clearTimeout(timer));
      }),
  };
}
