/**
 * The demo's radio: the TS-590S emulator, on a socat pty pair when `socat`
 * is on PATH (the link opens a real serial device, as it would a USB CAT
 * cable), else on SerialPortMock (`mockRig()`). Either way
 * `serialTransport(rig.transportOptions)` reaches it.
 *
 * The pty pair's links (`rig`, `cat`) go in `dir`. socat runs in its own
 * process group, so a Ctrl-C at the terminal does not kill it before the
 * radio link has unkeyed the rig; `close()` kills it by its pid (and so does
 * the process's exit, should the demo die first).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SerialPort } from 'serialport';
import { createRigEmulator, mockRig, type RigEmulator, type SerialTransportOptions } from '../transports/serial/index.js';

export interface EmulatedRig {
  /** `'pty'` (socat) or `'SerialPortMock'`. */
  readonly kind: 'pty' | 'SerialPortMock';
  /** What to pass to `serialTransport`. */
  readonly transportOptions: SerialTransportOptions;
  readonly rig: RigEmulator;
  /** socat's pid (pty only). */
  readonly socatPid?: number;
  /** Told once if socat exits before `close()` (pty only). */
  onSocatExit?: (why: string) => void;
  /** Detach the emulator, close its port, kill socat and wait for it. Idempotent. */
  close(): Promise<void>;
}

/** Whether an executable `name` is in one of PATH's directories. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The emulator on a pty pair when socat is on PATH and starts; else (or if socat fails) on SerialPortMock. */
export async function startEmulatedRig(dir: string): Promise<EmulatedRig> {
  if (onPath('socat')) {
    const pty = await onPty(dir).catch((error: Error) => {
      console.error(`radio: socat did not give a pty pair (${error.message}); using SerialPortMock`);
      return undefined;
    });
    if (pty) return pty;
  }
  const mock = mockRig();
  return { kind: 'SerialPortMock', transportOptions: { path: mock.path, binding: mock.binding }, rig: mock.rig, close: () => mock.close() };
}

/** How long socat may take to make the pair, ms. */
const SOCAT_READY_MS = 5000;

async function onPty(dir: string): Promise<EmulatedRig> {
  const rigPath = join(dir, 'rig');
  const catPath = join(dir, 'cat');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${rigPath}`, `pty,raw,echo=0,link=${catPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let closing = false;
  const exited = new Promise<string>((resolve) => {
    socat.once('error', (err) => resolve(err.message));
    socat.once('exit', (code, signal) => resolve(`socat exited (${signal ?? code})`));
  });
  const kill = () => {
    if (socat.exitCode === null && socat.signalCode === null && socat.pid !== undefined) {
      try {
        process.kill(socat.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', kill);
  let log = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), SOCAT_READY_MS);
    socat.stderr!.on('data', (d: Buffer) => {
      if (log.length < 4096) log += d.toString();
      if (/starting data transfer loop/.test(log)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const stop = async () => {
    closing = true;
    kill();
    await exited;
    process.removeListener('exit', kill);
  };
  if (!ready) {
    await stop();
    throw new Error(log.trim().split('\n').at(-1) || 'no pty pair in time');
  }

  const port = new SerialPort({ path: rigPath, baudRate: 9600, autoOpen: false });
  port.on('error', () => {}); // the rig's end: a write after socat died is nobody's business but the link's
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (error) {
    await stop();
    throw error;
  }
  const rig = createRigEmulator({ port });
  const emulated: EmulatedRig = {
    kind: 'pty',
    transportOptions: { path: catPath },
    rig,
    socatPid: socat.pid,
    async close() {
      await rig.close();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await stop();
    },
  };
  void exited.then((why) => {
    if (!closing) emulated.onSocatExit?.(why);
  });
  return emulated;
}
