/**
 * An open serialport `SerialPort` as a `Link`: bytes in (`Uint8Array` chunks
 * as they arrive; framing is the caller's, see the CAT codec), writes in
 * order, `close()` closes the port.
 *
 * A send resolves when serialport's write callback runs: the bytes were
 * handed to the OS (the bindings write the whole chunk before calling back),
 * not that they left the UART (that is `port.drain`).
 *
 * How it ends: `close()` is a normal end. A port 'close' with a
 * `disconnected` error (a read failed: EBADF/EIO when the device or the pty's
 * other side is gone) or an 'error' (EIO on a write to a dead peer) ends the
 * link as lost, with a `SerialIOError` in `closed`. A serial line has no
 * hang-up of its own: a peer that merely stops answering is silence, which
 * the connection machine's `staleAfterMs` (or the CAT layer's poll) turns
 * into a lost link.
 */
import type { SerialPort } from 'serialport';
import { LinkClosedError } from '../../machines/ports/errors.js';
import { LinkCore } from '../link-core.js';
import type { CloseInfo, Link, Payload } from '../../machines/ports/transport.js';
import { linkError, type SerialPortError } from './errors.js';

/** The part of a serialport stream the link uses (a `SerialPort` or a `SerialPortMock`). */
export type OpenPort = Pick<SerialPort, 'write' | 'close' | 'drain' | 'on' | 'isOpen' | 'closing'>;

/** Longest wait for written bytes to leave before a deliberate close, ms (I/O housekeeping, not protocol time). */
export const DRAIN_WAIT_MS = 200;

export function wrapPort(port: OpenPort, path: string): Link {
  /** The error that ended the link, translated. */
  let failure: SerialPortError | undefined;

  const core = new LinkCore({
    write: (data, done) => void port.write(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength), done),
    writeError: (err) => new LinkClosedError('link lost while sending', { canceled: false, closeCode: failure?.errno, cause: failure ?? linkError(err, path) }),
  });

  const end = () => {
    const info: Omit<CloseInfo, 'initiatedLocally'> = {};
    if (failure) {
      info.code = failure.errno;
      info.error = failure;
    } else if (core.closing === undefined) {
      info.error = new LinkClosedError(`${path} was closed`, { canceled: false });
    }
    core.end(info, (canceled) =>
      new LinkClosedError(canceled ? 'link closed while sending' : 'link lost while sending', { canceled, closeCode: failure?.errno, cause: failure }),
    );
  };

  /** Close the port unless it is closed or closing; the link ends when it is closed. */
  const shut = () => {
    if (port.isOpen) port.close(() => end()); // the callback runs whether the close worked or not
    else if (!port.closing) end(); // when closing, its 'close' event ends the link
  };
  /**
   * A deliberate close lets what was written leave first (`tcdrain`, at most
   * DRAIN_WAIT_MS): a pty discards unread output when its end closes, and a
   * `RX;` written just before a reopen must reach the rig.
   */
  const drainThenShut = () => {
    if (!port.isOpen || failure) return shut();
    let done = false;
    const go = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      shut();
    };
    const timer = setTimeout(go, DRAIN_WAIT_MS);
    port.drain(go);
  };

  port.on('data', (chunk: Buffer) => {
    if (!core.ended) core.incoming.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  // Always listened to: an unheard 'error' would crash the process.
  port.on('error', (e: Error) => {
    failure ??= linkError(e, path);
    // A failed write does not always close the port; a dead port is no use.
    shut();
  });
  port.on('close', (e?: Error & { disconnected?: boolean }) => {
    if (e?.disconnected) failure ??= linkError(e, path);
    end();
  });

  return {
    incoming$: core.incoming.asObservable(),
    closed: core.closed,
    send(data: Payload): Promise<void> {
      if (core.ended || core.closing || !port.isOpen) {
        return Promise.reject(new LinkClosedError('link is closed', { canceled: core.closing !== undefined, cause: failure }));
      }
      return core.write(data);
    },
    close: () => core.close(drainThenShut),
  };
}
