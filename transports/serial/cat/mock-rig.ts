/**
 * `mockRig()`: the TS-590S emulator on a `SerialPortMock` port, for trying a
 * radio link without a rig, socat or a pty. It returns a `path` and a
 * `binding` to hand to `serialTransport`: whatever opens that path through
 * that binding talks to the emulator (`rig`, with its fault injection).
 *
 * The emulator follows the port: when the link closes it and opens it again
 * (a reconnect, the radio link's TX-drop fast path), the emulator answers on
 * the newly opened port. While no port is open, its answers are lost (as on a
 * pty with nothing on the other end) and reported to `onError`.
 *
 * Ports live in `SerialPortMock.binding`'s table, shared by the process; each
 * `mockRig()` makes its own path (`/dev/statewire-mock-rig-<pid>-<n>`)
 * unless given one. SerialPortMock has no way to remove one port, so the path
 * stays listed after `close()` (opening it again gives a port nobody answers).
 *
 * @example
 * ```ts
 * import { mockRig, RadioLink, serialTransport } from 'statewire/serial';
 * const { path, binding, rig, close } = mockRig();
 * const radio = new RadioLink({ supervisor, transport: serialTransport({ path, binding }) });
 * rig.dropPowerDuringTx(true); // the power alarms fire while keyed
 * await radio.stopMonitoring();
 * await close();
 * ```
 */
import { EventEmitter } from 'node:events';
import { SerialPortMock } from 'serialport';
import * as check from '../../../machines/ports/check.js';
import { createRigEmulator, type RigEmulator, type RigEmulatorOptions, type RigPort } from './rig-emulator.js';

/** Options of `mockRig`: the emulator's, without `port`, and the mock port's path. */
export interface MockRigOptions extends Omit<RigEmulatorOptions, 'port'> {
  /**
   * The mock port's path. Default: a new `/dev/statewire-mock-rig-<pid>-<n>`.
   * A path already created in `SerialPortMock.binding` is created again
   * (its buffered data dropped); it must not be open.
   * @example mockRig({ path: '/dev/ttyUSB0' })
   */
  path?: string;
}

/** What `mockRig` returns. */
export interface MockRig {
  /** The port to open: `serialTransport({ path, binding })`. */
  readonly path: string;
  /** `SerialPortMock.binding`, with the emulator attached to each port opened at `path`. */
  readonly binding: typeof SerialPortMock.binding;
  /** The emulator: its state and fault injection (`goSilent`, `busyFor`, `dropPowerDuringTx`, `powerOff`). */
  readonly rig: RigEmulator;
  /** Detach the emulator (`rig.close()`); a port the link holds stays open (the link closes it). Idempotent. */
  close(): Promise<void>;
}

type MockPort = Awaited<ReturnType<typeof SerialPortMock.binding.open>>;

let made = 0;

export function mockRig(options: MockRigOptions = {}): MockRig {
  check.object(options, 'options', '{ path?, clock?, initial?, onError? }');
  const path = options.path === undefined ? `/dev/statewire-mock-rig-${process.pid}-${++made}` : check.nonEmptyString(options.path, 'options.path');
  const mock = SerialPortMock.binding;
  mock.createPort(path, { echo: false, record: false });

  /** What the link writes, as the emulator's `data`. */
  const written = new EventEmitter();
  /** The port the link has open now (the newest one opened at `path`). */
  let current: MockPort | undefined;

  // The rig's side of whichever port is open: a write reaches the link as data it reads.
  const port: RigPort = {
    write(data, callback) {
      try {
        if (!current?.isOpen) throw new Error(`${path}: no port open, the answer is lost`);
        current.emitData(data);
        callback?.(null);
      } catch (err) {
        callback?.(err as Error);
      }
      return true;
    },
    on: (event, listener) => written.on(event, listener),
    removeListener: (event, listener) => written.removeListener(event, listener),
  };
  const { path: _path, ...emulatorOptions } = options;
  const rig = createRigEmulator({ ...emulatorOptions, port });

  const binding: typeof SerialPortMock.binding = {
    ...mock,
    list: () => mock.list(),
    async open(openOptions) {
      const opened = await mock.open(openOptions);
      if (openOptions.path !== path) return opened;
      const write = opened.write.bind(opened);
      // After serialport hands the bytes over, the emulator reads them (as the far end of a cable would).
      opened.write = async (buffer: Buffer) => {
        await write(buffer);
        if (current === opened) written.emit('data', Buffer.from(buffer));
      };
      current = opened;
      return opened;
    },
  };

  return {
    path,
    binding,
    rig,
    async close() {
      current = undefined;
      await rig.close();
    },
  };
}
