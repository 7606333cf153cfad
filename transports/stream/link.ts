/**
 * A connected `net.Socket` (UNIX or TCP) as a `Link`: bytes in (`Uint8Array`
 * chunks, as they arrive: framing is the caller's), writes in order, close
 * with a graceful end and a bounded wait.
 */
import type { Socket } from 'node:net';
import { Subject } from 'rxjs';
import { LinkClosedError } from '../../errors.js';
import type { CloseInfo, Link, Payload } from '../transport.js';

export interface StreamLinkOptions {
  /** How long `close()` waits for the peer after ending our side, ms. Default 1000. */
  closeTimeoutMs?: number;
  /** Translate a socket error into the transport's typed error. */
  toError?: (error: Error & { code?: string }) => Error;
}

export function wrapSocket(socket: Socket, options: StreamLinkOptions = {}): Link {
  const incoming = new Subject<Payload>();
  let resolveClosed!: (info: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((r) => (resolveClosed = r));
  let ended = false;
  let closing: Promise<void> | undefined;
  let error: (Error & { code?: string }) | undefined;
  const pending = new Set<{ reject(e: Error): void }>();
  const toError = options.toError ?? ((e: Error) => e);

  socket.on('data', (chunk: Buffer) => {
    if (!ended) incoming.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  socket.on('error', (e: Error & { code?: string }) => {
    error ??= e;
  });
  socket.on('close', () => {
    ended = true;
    const local = closing !== undefined;
    for (const p of pending) {
      p.reject(
        new LinkClosedError(local ? 'link closed while sending' : 'link lost while sending', {
          canceled: local,
          closeCode: error?.code,
          cause: error ? toError(error) : undefined,
        }),
      );
    }
    pending.clear();
    incoming.complete();
    const info: CloseInfo = { initiatedLocally: local };
    if (error) {
      info.code = error.code;
      info.error = toError(error);
    } else if (!local) {
      info.error = new LinkClosedError('the peer closed the connection', { canceled: false });
    }
    resolveClosed(info);
  });
  // The peer ended its side: end ours too (allowHalfOpen is off by default; this covers sockets made with it on).
  socket.on('end', () => {
    if (!socket.destroyed) socket.end();
  });

  return {
    incoming$: incoming.asObservable(),
    closed,
    send(data: Payload): Promise<void> {
      if (ended || closing || socket.destroyed || !socket.writable) {
        return Promise.reject(new LinkClosedError('link is closed', { canceled: closing !== undefined, cause: error ? toError(error) : undefined }));
      }
      return new Promise<void>((resolve, reject) => {
        const p = { reject };
        pending.add(p);
        socket.write(data, (err) => {
          if (!pending.delete(p)) return;
          if (err) reject(new LinkClosedError('link lost while sending', { canceled: false, closeCode: (err as { code?: string }).code, cause: toError(err) }));
          else resolve();
        });
      });
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        if (ended) return resolve();
        void closed.then(() => resolve());
        for (const p of pending) p.reject(new LinkClosedError('link closed while sending', { canceled: true }));
        pending.clear();
        socket.end();
        const timer = setTimeout(() => socket.destroy(), options.closeTimeoutMs ?? 1000);
        timer.unref();
        void closed.then(() => clearTimeout(timer));
      });
      return closing;
    },
  };
}
