/**
 * A connected `net.Socket` (UNIX or TCP) as a `Link`: bytes in (`Uint8Array`
 * chunks, as they arrive: framing is the caller's), writes in order, close
 * with a graceful end and a bounded wait.
 */
import type { Socket } from 'node:net';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { LinkCore } from '../link-core.js';
import type { CloseInfo, Link, Payload } from '../../machines/ports/transport.js';

export interface StreamLinkOptions {
  /** How long `close()` waits for the peer after ending our side, ms. Default 1000. */
  closeTimeoutMs?: number;
  /** Translate a socket error into the transport's typed error. */
  toError?: (error: Error & { code?: string }) => Error;
}

export function wrapSocket(socket: Socket, options: StreamLinkOptions = {}): Link {
  let error: (Error & { code?: string }) | undefined;
  const toError = options.toError ?? ((e: Error) => e);
  const core = new LinkCore({
    write: (data, done) => void socket.write(data, done),
    writeError: (err) => new LinkClosedError('link lost while sending', { canceled: false, closeCode: (err as { code?: string }).code, cause: toError(err) }),
  });

  socket.on('data', (chunk: Buffer) => {
    if (!core.ended) core.incoming.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  socket.on('error', (e: Error & { code?: string }) => {
    error ??= e;
  });
  socket.on('close', () => {
    const info: Omit<CloseInfo, 'initiatedLocally'> = {};
    if (error) {
      info.code = error.code;
      info.error = toError(error);
    } else if (core.closing === undefined) {
      info.error = new LinkClosedError('the peer closed the connection', { canceled: false });
    }
    core.end(info, (canceled) =>
      new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', {
        canceled,
        closeCode: error?.code,
        cause: error ? toError(error) : undefined,
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
        return Promise.reject(new LinkClosedError('link is closed', { canceled: core.closing !== undefined, cause: error ? toError(error) : undefined }));
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
