/**
 * A TS-590S-like rig for development and tests: `createRigEmulator({ port })`
 * answers Kenwood CAT commands on a serialport-like duplex, either one end of
 * a socat pty pair opened with `SerialPort` (the other end is what Hamlib or
 * `serialTransport` opens) or a `SerialPortMock` (issue 12, part 4).
 *
 * Written from the Kenwood TS-590S PC command reference: a read (`FA;`)
 * gets an answer of the documented width (`FA00014074000;`), a set
 * (`FA00007074000;`) gets none, and a command it does not know, or with
 * parameters out of range, gets `?;`. Auto information (`AI2;`) is stored and
 * read back, but the emulator never sends unsolicited `IF` answers.
 *
 * Fault injection, for the radio link's tests: `goSilent(true)` answers
 * nothing (a dead cable), `busyFor(ms)` answers `?;` (the rig busy), with time
 * on the injected `clock`; `dropPowerDuringTx(true)` makes `SM0` read 0 while
 * transmitting (a failing PA); `powerOff()` is `PS0`: only `PS` is answered
 * until `PS1;` (or `powerOn()`).
 *
 * @example
 * ```ts
 * const port = new SerialPort({ path: '/tmp/rig-a', baudRate: 9600 });
 * const rig = createRigEmulator({ port });
 * // rigctl -m 2031 -r /tmp/rig-b -s 9600 f   →  14074000
 * await rig.close();
 * ```
 */
import { Subject, type Observable } from 'rxjs';
import * as check from '../../../machines/ports/check.js';
import { realClock, type Clock } from '../../../machines/ports/clock.js';
import {
  catFrames, formatInfo, formatMeter, MAX_FREQUENCY_HZ, MAX_POWER_W, MIN_FREQUENCY_HZ, MIN_POWER_W, modeName, modeDigit, wattsToMeter,
  type CatMode,
} from './codec.js';

/** What the emulator needs of a port: `SerialPort`, `SerialPortMock`, or any duplex stream. */
export interface RigPort {
  write(data: string, callback?: (err: Error | null | undefined) => void): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
}

/** The rig's state, as `state()` returns it. */
export interface RigState {
  /** VFO A and B, Hz. */
  frequencyA: number;
  frequencyB: number;
  /** Receive and transmit VFO (`FR`, `FT`): 0 A, 1 B. */
  rxVfo: 0 | 1;
  txVfo: 0 | 1;
  mode: CatMode;
  /** `PC` setting, watts (5..100). */
  powerW: number;
  /** Transmitting (`TX`), and how (`TX0` mic, `TX1` data, `TX2` tune). */
  ptt: boolean;
  /** `PS`. */
  powerOn: boolean;
  /** `AI` setting (0..4). */
  autoInfo: number;
  /** `DA` data mode. */
  dataMode: boolean;
  /** What `SM0` reads while receiving (S-meter, 0..30). */
  sMeter: number;
}

/** Options of `createRigEmulator`. */
export interface RigEmulatorOptions {
  /** The port to answer on (required). The caller opened it and closes it: `close()` only detaches. */
  port: RigPort;
  /** Timers (`busyFor`). Default: the real clock; pass XState's `SimulatedClock` in tests. */
  clock?: Clock;
  /** Starting state, merged over the defaults (14.074 MHz USB, 100 W, VFO A, on). */
  initial?: Partial<RigState>;
  /** Told of a write that failed (a closed port). Default: ignored, so the emulator never crashes its process. */
  onError?: (err: Error) => void;
}

/** A running emulator. */
export interface RigEmulator {
  /** Every frame received (without `;`), answered or not. */
  readonly commands$: Observable<string>;
  /** A copy of the current state. */
  state(): RigState;
  /** Stop answering (true) or answer again (false). */
  goSilent(on: boolean): void;
  /** Answer `?;` to everything for `ms` (on the clock). */
  busyFor(ms: number): void;
  /** While on, `SM0` reads 0 during transmit: the output power has dropped to 0 W. */
  dropPowerDuringTx(on: boolean): void;
  /** `PS0`: PTT off, and only `PS` is answered until `PS1;` or `powerOn()`. */
  powerOff(): void;
  powerOn(): void;
  /** Detach from the port and clear timers; the port stays open. Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS: RigState = {
  frequencyA: 14_074_000, frequencyB: 7_074_000, rxVfo: 0, txVfo: 0, mode: 'USB', powerW: 100,
  ptt: false, powerOn: true, autoInfo: 0, dataMode: false, sMeter: 0,
};
/** `ID` answer of the TS-590S. */
export const TS590S_ID = '021';
/** `FV` answer: a firmware version, 4 characters. */
export const EMULATOR_FIRMWARE = '1.04';

export function createRigEmulator(options: RigEmulatorOptions): RigEmulator {
  check.object(options, 'options', '{ port }');
  const port = check.shape(options.port, 'options.port', { write: 'function', on: 'function', removeListener: 'function' }, 'a serialport-like duplex ({ write, on, removeListener })');
  const clock = options.clock === undefined ? realClock : check.hasMethods(options.clock, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)');
  const onError = options.onError === undefined ? () => {} : check.func(options.onError, 'options.onError', '(err) => void');
  const state: RigState = { ...DEFAULTS, ...(options.initial === undefined ? {} : check.object(options.initial, 'options.initial')) };

  let silent = false;
  let busyTimer: unknown;
  let powerDrop = false;
  let closed = false;
  const bytes$ = new Subject<Buffer | string>();
  const commands$ = new Subject<string>();

  const reply = (text: string) => {
    if (closed) return;
    try {
      port.write(text, (err) => err && onError(err));
    } catch (err) {
      onError(err as Error);
    }
  };

  const frames = bytes$.pipe(catFrames()).subscribe((frame) => {
    commands$.next(frame);
    if (silent) return;
    const cmd = frame.slice(0, 2).toUpperCase();
    const arg = frame.slice(2);
    if (!state.powerOn && cmd !== 'PS') return;
    if (busyTimer !== undefined) return reply('?;');
    const answer = handle(cmd, arg);
    if (answer !== undefined) reply(answer);
  });

  /** The answer to one command, '' for a set (no answer), '?;' when refused. */
  function handle(cmd: string, arg: string): string | undefined {
    const read = arg === '';
    const digit = (re: RegExp) => (re.test(arg) ? Number(arg) : undefined);
    const set = (ok: boolean, apply: () => void) => (ok ? (apply(), undefined) : '?;');
    switch (cmd) {
      case 'ID':
        return read ? `ID${TS590S_ID};` : '?;';
      case 'FV':
        return read ? `FV${EMULATOR_FIRMWARE};` : '?;';
      case 'PS':
        if (read) return `PS${state.powerOn ? 1 : 0};`;
        return set(/^[01]$/.test(arg), () => (arg === '1' ? api.powerOn() : api.powerOff()));
      case 'AI': {
        if (read) return `AI${state.autoInfo};`;
        const v = digit(/^[0-4]$/);
        return set(v !== undefined, () => (state.autoInfo = v!));
      }
      case 'DA':
        if (read) return `DA${state.dataMode ? 1 : 0};`;
        return set(/^[01]$/.test(arg), () => (state.dataMode = arg === '1'));
      case 'FA':
      case 'FB': {
        const key = cmd === 'FA' ? 'frequencyA' : 'frequencyB';
        if (read) return `${cmd}${String(state[key]).padStart(11, '0')};`;
        const hz = digit(/^\d{11}$/);
        return set(hz !== undefined && hz >= MIN_FREQUENCY_HZ && hz <= MAX_FREQUENCY_HZ, () => (state[key] = hz!));
      }
      case 'FR':
      case 'FT': {
        const key = cmd === 'FR' ? 'rxVfo' : 'txVfo';
        if (read) return `${cmd}${state[key]};`;
        // FR also sets FT on the TS-590S (simplex): the reference says selecting the RX VFO selects TX too.
        return set(/^[01]$/.test(arg), () => {
          state[key] = Number(arg) as 0 | 1;
          if (cmd === 'FR') state.txVfo = state.rxVfo;
        });
      }
      case 'MD': {
        if (read) return `MD${modeDigit(state.mode)};`;
        const mode = /^\d$/.test(arg) ? modeName(arg) : undefined;
        return set(mode !== undefined, () => (state.mode = mode!));
      }
      case 'PC': {
        if (read) return `PC${String(state.powerW).padStart(3, '0')};`;
        // Three digits out of 5..100 are clamped, as the rig's power knob is: Hamlib probes the limits
        // with `PC000;PC;PC255;PC;` and reads them back (kenwood_get_power_minmax).
        const w = digit(/^\d{3}$/);
        return set(w !== undefined, () => (state.powerW = Math.min(MAX_POWER_W, Math.max(MIN_POWER_W, w!))));
      }
      case 'TX':
        return set(/^[0-2]?$/.test(arg), () => (state.ptt = true));
      case 'RX':
        return set(read, () => (state.ptt = false));
      case 'SM': {
        if (arg !== '0') return '?;';
        const meter = state.ptt ? (powerDrop ? 0 : wattsToMeter(state.powerW)) : state.sMeter;
        return formatMeter(meter);
      }
      case 'IF':
        if (!read) return '?;';
        return formatInfo({
          frequency: state.rxVfo === 0 ? state.frequencyA : state.frequencyB,
          ritXitOffset: 0, rit: false, xit: false, memoryChannel: 0,
          transmitting: state.ptt, mode: state.mode, vfo: state.rxVfo === 0 ? 'A' : 'B',
          scanning: false, split: state.rxVfo !== state.txVfo, tone: 'off', toneNumber: 0,
        });
      default:
        return '?;';
    }
  }

  const onData = (chunk: Buffer | string) => bytes$.next(chunk);
  port.on('data', onData);

  const api: RigEmulator = {
    commands$: commands$.asObservable(),
    state: () => ({ ...state }),
    goSilent(on) {
      silent = check.boolean(on, 'on');
    },
    busyFor(ms) {
      check.finiteNumber(ms, 'ms', { min: 0, max: check.MAX_TIMER_MS });
      if (busyTimer !== undefined) clock.clearTimeout(busyTimer);
      busyTimer = clock.setTimeout(() => (busyTimer = undefined), ms);
    },
    dropPowerDuringTx(on) {
      powerDrop = check.boolean(on, 'on');
    },
    powerOff() {
      state.powerOn = false;
      state.ptt = false;
    },
    powerOn() {
      state.powerOn = true;
    },
    async close() {
      if (closed) return;
      closed = true;
      port.removeListener('data', onData);
      if (busyTimer !== undefined) clock.clearTimeout(busyTimer);
      busyTimer = undefined;
      frames.unsubscribe();
      bytes$.complete();
      commands$.complete();
    },
  };
  return api;
}
