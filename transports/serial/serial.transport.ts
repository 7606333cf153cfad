/**
 * `serialTransport({ path, baudRate })`: a link over a serial port (a USB CAT
 * cable, a pty made by socat, or `SerialPortMock` through `binding`), opened
 * with `serialport` (an optional peer dependency: only `statewire/serial`
 * loads it). Inbound data arrives as `Uint8Array` chunks; framing is the
 * caller's.
 *
 * Open failures are typed (`errors.ts`), each with `path`, `errno` and
 * serialport's error as `cause`: ENOENT → `SerialPortNotFoundError`,
 * EACCES/EPERM → `SerialPermissionDeniedError`, "Cannot lock port"/EBUSY →
 * `SerialPortLockedError`, anything else → `SerialOpenError` (ENOTTY: the
 * path is not a serial port; permanent). On an open link, EIO and
 * disconnects end it with a `SerialIOError`.
 *
 * @example
 * ```ts
 * import { serialTransport } from 'statewire/serial';
 * supervisor.startChild({ id: 'rig', transport: serialTransport({ path: '/dev/ttyUSB0', baudRate: 115200 }) });
 * ```
 */
import { SerialPort, type SerialPortMock } from 'serialport';
import * as check from '../../machines/ports/check.js';
import { LinkClosedError } from '../../machines/ports/errors.js';
import type { ConnectOptions, Link, Transport } from '../../machines/ports/transport.js';
import { openError } from './errors.js';
import { hangUpAware } from './hangup.js';
import { wrapPort } from './link.js';

/** Parity settings serialport knows. */
export const PARITIES = ['none', 'even', 'odd', 'mark', 'space'] as const;
export type SerialParity = (typeof PARITIES)[number];

/** Stop-bit settings serialport knows. */
export const STOP_BITS = [1, 1.5, 2] as const;
export type SerialStopBits = (typeof STOP_BITS)[number];

/** A serialport binding: the platform's (the default) or `SerialPortMock.binding`. */
export type SerialBinding = typeof SerialPort.binding | typeof SerialPortMock.binding;

export interface SerialTransportOptions {
  /**
   * The port: `/dev/ttyUSB0`, `/dev/serial/by-id/...`, `COM3`, a pty path.
   * @example serialTransport({ path: '/dev/ttyUSB0' })
   */
  path: string;
  /**
   * Line speed, bits per second: an integer > 0. Default 9600 (the TS-590S
   * factory setting; CAT cables often run at 115200).
   * @example serialTransport({ path, baudRate: 115200 })
   */
  baudRate?: number;
  /** Data bits per character, 5..8. Default: serialport's (8). */
  dataBits?: 5 | 6 | 7 | 8;
  /** Stop bits: 1, 1.5 or 2. Default: serialport's (1). */
  stopBits?: SerialStopBits;
  /** Parity: none, even, odd, mark or space. Default: serialport's (`'none'`). */
  parity?: SerialParity;
  /** RTS/CTS hardware flow control. Default: serialport's (false). */
  rtscts?: boolean;
  /**
   * The serialport binding. Default: the platform's. Tests pass
   * `SerialPortMock.binding` (after `SerialPortMock.binding.createPort(path)`).
   * @example serialTransport({ path: '/dev/ROBOT', binding: SerialPortMock.binding })
   */
  binding?: SerialBinding;
}

let DEFAULT_BINDING: typeof SerialPort.binding | undefined;

/** The options serialport gets: only those given (serialport treats an `undefined` as a value, not a default). */
function portOptions(options: SerialTransportOptions) {
  const out: Record<string, unknown> = {
    path: check.nonEmptyString(options.path, 'options.path'),
    baudRate: check.integer(options.baudRate ?? 9600, 'options.baudRate', { min: 1 }),
    autoOpen: false,
  };
  if (options.dataBits !== undefined) out.dataBits = check.integer(options.dataBits, 'options.dataBits', { min: 5, max: 8 });
  if (options.stopBits !== undefined) {
    const stopBits = check.finiteNumber(options.stopBits, 'options.stopBits');
    if (!(STOP_BITS as readonly number[]).includes(stopBits)) throw new RangeError(`options.stopBits must be one of ${STOP_BITS.join(', ')}, got ${check.describe(stopBits)}`);
    out.stopBits = stopBits;
  }
  if (options.parity !== undefined) out.parity = check.oneOf(options.parity, 'options.parity', PARITIES);
  if (options.rtscts !== undefined) out.rtscts = check.boolean(options.rtscts, 'options.rtscts');
  // The platform's, with a 0-byte read treated as the hang-up it is (hangup.ts).
  out.binding =
    options.binding === undefined
      ? (DEFAULT_BINDING ??= hangUpAware(SerialPort.binding))
      : check.hasMethods(options.binding, 'options.binding', ['open', 'list'], '(a serialport binding, e.g. SerialPortMock.binding)');
  return out;
}

export function serialTransport(options: SerialTransportOptions): Transport & { readonly path: string } {
  check.object(options, 'options', '{ path, baudRate?, dataBits?, stopBits?, parity?, rtscts?, binding? }');
  const settings = portOptions(options);
  const path = options.path;
  /**
   * The last link's end. A reconnect (the TX-drop fast path reopens at once)
   * must not open the port while the old one is still closing: serialport's
   * lock would refuse it ("Cannot lock port"), so `connect` waits for it.
   */
  let previous: Promise<unknown> | undefined;

  function open(signal: AbortSignal): Promise<Link> {
    return new Promise<Link>((resolve, reject) => {
      let port: SerialPort;
      try {
        port = new SerialPort(settings as unknown as ConstructorParameters<typeof SerialPort>[0]);
      } catch (e) {
        reject(openError(e, path));
        return;
      }
      let aborted = false;
      const onAbort = () => {
        aborted = true;
        reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // An open cannot be interrupted: an abort rejects at once, and a port that opens after it is closed.
      port.open((err) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) {
          if (!err) port.close(() => {});
        } else if (err) reject(openError(err, path));
        else {
          const link = wrapPort(port, path);
          const closed = (previous = link.closed.then(() => {
            if (previous === closed) previous = undefined;
          }));
          resolve(link);
        }
      });
    });
  }

  return {
    kind: 'serial',
    path,
    connect({ signal }: ConnectOptions): Promise<Link> {
      if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('options.signal must be an AbortSignal'));
      if (signal.aborted) return Promise.reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
      const closing = previous;
      if (!closing) return open(signal);
      return new Promise<Link>((resolve, reject) => {
        const onAbort = () => reject(new LinkClosedError('connect aborted', { canceled: true, cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        void closing.then(() => {
          signal.removeEventListener('abort', onAbort);
          if (!signal.aborted) open(signal).then(resolve, reject);
        });
      });
    },
  };
}
