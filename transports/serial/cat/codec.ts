/**
 * Kenwood CAT (TS-590S family) framing and command helpers.
 *
 * On the wire a command and its answer are ASCII: a two-letter command,
 * parameters of fixed width, and `;` as the terminator (`FA00014074000;`).
 * There is no length prefix and no checksum, so a reader splits the byte
 * stream on `;` itself: `catFrames()` does that as an RxJS operator, because
 * framing is not the transport's job (issue 12, part 2).
 *
 * The format and parse helpers are pure and follow the Kenwood TS-590S PC
 * command reference (command formats, answer lengths). Bad arguments throw a
 * TypeError or RangeError naming the argument (machines/ports/check.ts);
 * a malformed answer from the rig throws a `TypeError` naming `answer`: the
 * caller decides whether that means "resend".
 *
 * @example
 * ```ts
 * link.incoming$.pipe(catFrames()).subscribe((frame) => {
 *   if (frame.startsWith('FA')) console.log(parseFrequency(frame)); // 14074000
 * });
 * link.send(formatFrequency('A', 7_074_000)); // 'FA00007074000;'
 * ```
 */
import { Observable, type OperatorFunction } from 'rxjs';
import * as check from '../../../machines/ports/check.js';

/** The byte that ends every command and answer. */
export const CAT_TERMINATOR = ';';
/** Default cap on one frame's length (terminator excluded). The longest TS-590S answer (`IF`) is 37 characters. */
export const DEFAULT_MAX_CAT_FRAME = 128;

/** Why `catFrames()` threw bytes away. */
export interface CatGarbage {
  reason: 'too-long' | 'not-ascii';
  /** The dropped text (at most `maxFrameLength` characters of it). */
  text: string;
}

/** Options of `catFrames()`. */
export interface CatFramesOptions {
  /** Longest frame kept, in characters without the `;`, an integer >= 2. Default 128. A longer run is dropped up to and including its `;`. */
  maxFrameLength?: number;
  /** Told about each dropped run, e.g. to log it. Default: nothing. */
  onGarbage?: (garbage: CatGarbage) => void;
}

/**
 * Bytes in, `;`-terminated frames out (without the `;`). Keeps a partial
 * frame across chunks, emits several frames from one chunk, and strips
 * nothing but the terminator. Bytes are read one to one as Latin-1, so
 * binary garbage never throws. A frame longer than `maxFrameLength` is
 * dropped (up to its `;`), as is one holding a byte outside printable ASCII
 * (line noise, a rig booting); empty frames (`;;`) are skipped.
 *
 * @example
 * ```ts
 * of('FA000140', '74000;MD2;').pipe(catFrames()) // emits 'FA00014074000', 'MD2'
 * ```
 */
export function catFrames(options: CatFramesOptions = {}): OperatorFunction<Uint8Array | string, string> {
  check.object(options, 'options');
  const max = check.integer(options.maxFrameLength ?? DEFAULT_MAX_CAT_FRAME, 'options.maxFrameLength', { min: 2 });
  const onGarbage = options.onGarbage === undefined ? undefined : check.func(options.onGarbage, 'options.onGarbage', '(garbage) => void');
  return (source) =>
    new Observable<string>((subscriber) => {
      let partial = '';
      // Past the cap we drop everything up to the next terminator.
      let discarding = false;
      const drop = (reason: CatGarbage['reason'], text: string) => onGarbage?.({ reason, text: text.slice(0, max) });
      return source.subscribe({
        next(chunk) {
          const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
          let start = 0;
          for (;;) {
            const end = text.indexOf(CAT_TERMINATOR, start);
            const piece = text.slice(start, end === -1 ? undefined : end);
            if (end === -1) {
              if (!discarding) {
                partial += piece;
                if (partial.length > max) {
                  drop('too-long', partial);
                  partial = '';
                  discarding = true;
                }
              }
              return;
            }
            start = end + 1;
            if (discarding) {
              discarding = false;
              continue;
            }
            const frame = partial + piece;
            partial = '';
            if (frame.length > max) drop('too-long', frame);
            else if (!/^[\x20-\x7e]*$/.test(frame)) drop('not-ascii', frame);
            else if (frame !== '') subscriber.next(frame);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

// ---------------------------------------------------------------- frequency

/** Lowest frequency the TS-590S tunes (receive), Hz. */
export const MIN_FREQUENCY_HZ = 30_000;
/** Highest frequency the TS-590S tunes (receive), Hz. */
export const MAX_FREQUENCY_HZ = 60_000_000;

/** A VFO: `A` (FA) or `B` (FB). */
export type Vfo = 'A' | 'B';

/** `hz` checked: an integer within 30 kHz..60 MHz (TS-590S receive range). */
export function checkFrequency(hz: unknown, name = 'hz'): number {
  return check.integer(hz, name, { min: MIN_FREQUENCY_HZ, max: MAX_FREQUENCY_HZ });
}

/** `FA`/`FB` set command: `formatFrequency('A', 14_074_000) // 'FA00014074000;'` (11 digits, Hz). */
export function formatFrequency(vfo: Vfo, hz: number): string {
  check.oneOf(vfo, 'vfo', ['A', 'B']);
  return `F${vfo}${String(checkFrequency(hz)).padStart(11, '0')};`;
}

/** Hz from an `FA`/`FB` answer (`'FA00014074000'` or with its `;`). */
export function parseFrequency(answer: string): number {
  const m = /^F[AB](\d{11});?$/.exec(answerText(answer));
  if (!m) throw new TypeError(`answer must be FA or FB with 11 digits, got ${check.describe(answer)}`);
  return Number(m[1]);
}

// --------------------------------------------------------------------- mode

/** TS-590S operating modes by their `MD` digit (8 is unused on the TS-590S). */
export const MODE_BY_DIGIT = { 1: 'LSB', 2: 'USB', 3: 'CW', 4: 'FM', 5: 'AM', 6: 'FSK', 7: 'CW-R', 9: 'FSK-R' } as const;
/** A TS-590S operating mode. */
export type CatMode = (typeof MODE_BY_DIGIT)[keyof typeof MODE_BY_DIGIT];
/** Every mode name, in digit order. */
export const CAT_MODES = Object.values(MODE_BY_DIGIT) as CatMode[];

/** The `MD` digit of a mode name: `modeDigit('USB') // 2`. TypeError naming `mode` for an unknown name. */
export function modeDigit(mode: CatMode): number {
  check.oneOf(mode, 'mode', CAT_MODES);
  return Number(Object.entries(MODE_BY_DIGIT).find(([, name]) => name === mode)![0]);
}

/** The mode name of an `MD` digit, or undefined for a digit the TS-590S does not use (0, 8). */
export function modeName(digit: number | string): CatMode | undefined {
  return (MODE_BY_DIGIT as Record<string, CatMode>)[String(digit)];
}

/** `MD` set command: `formatMode('CW') // 'MD3;'`. */
export function formatMode(mode: CatMode): string {
  return `MD${modeDigit(mode)};`;
}

/** The mode of an `MD` answer (`'MD2'` → `'USB'`). */
export function parseMode(answer: string): CatMode {
  const m = /^MD(\d);?$/.exec(answerText(answer));
  const mode = m ? modeName(m[1]!) : undefined;
  if (!mode) throw new TypeError(`answer must be MD with a mode digit 1..9 (not 8), got ${check.describe(answer)}`);
  return mode;
}

// -------------------------------------------------------------------- power

/** Lowest and highest `PC` output power setting of the TS-590S, watts (AM tops out at 25 W on the rig itself). */
export const MIN_POWER_W = 5;
export const MAX_POWER_W = 100;

/** `PC` set command: `formatPower(50) // 'PC050;'`. RangeError outside 5..100 W, TypeError for a non-integer. */
export function formatPower(watts: number): string {
  return `PC${String(check.integer(watts, 'watts', { min: MIN_POWER_W, max: MAX_POWER_W })).padStart(3, '0')};`;
}

/** Watts from a `PC` answer (`'PC050'` → 50). */
export function parsePower(answer: string): number {
  const m = /^PC(\d{3});?$/.exec(answerText(answer));
  if (!m) throw new TypeError(`answer must be PC with 3 digits, got ${check.describe(answer)}`);
  return Number(m[1]);
}

/**
 * The TS-590 `SM0` meter reading (0..30 while transmitting) to watts, from
 * the seed's table; linear between its points.
 */
export const METER_TO_WATTS: readonly (readonly [meter: number, watts: number])[] = [
  [0, 0], [3, 5], [6, 10], [8, 15], [12, 25], [17, 50], [30, 100],
];
/** Largest `SM0` reading. */
export const MAX_METER = 30;

/** Watts for a meter reading: `meterToWatts(10) // 20`. RangeError outside 0..30. */
export function meterToWatts(meter: number): number {
  check.finiteNumber(meter, 'meter', { min: 0, max: MAX_METER });
  for (let i = 1; i < METER_TO_WATTS.length; i++) {
    const [m1, w1] = METER_TO_WATTS[i]!;
    if (meter <= m1) {
      const [m0, w0] = METER_TO_WATTS[i - 1]!;
      return w0 + ((meter - m0) * (w1 - w0)) / (m1 - m0);
    }
  }
  return METER_TO_WATTS[METER_TO_WATTS.length - 1]![1];
}

/** The inverse of `meterToWatts`, rounded to a whole meter step (what an emulator shows for an output power). */
export function wattsToMeter(watts: number): number {
  check.finiteNumber(watts, 'watts', { min: 0, max: MAX_POWER_W });
  for (let i = 1; i < METER_TO_WATTS.length; i++) {
    const [m1, w1] = METER_TO_WATTS[i]!;
    if (watts <= w1) {
      const [m0, w0] = METER_TO_WATTS[i - 1]!;
      return Math.round(m0 + ((watts - w0) * (m1 - m0)) / (w1 - w0));
    }
  }
  return MAX_METER;
}

/** The meter reading of an `SM0` answer (`'SM00012'` → 12). */
export function parseMeter(answer: string): number {
  const m = /^SM0(\d{4});?$/.exec(answerText(answer));
  if (!m || Number(m[1]) > MAX_METER) throw new TypeError(`answer must be SM0 with 4 digits 0000..0030, got ${check.describe(answer)}`);
  return Number(m[1]);
}

/** `SM0` answer for a meter reading: `formatMeter(12) // 'SM00012;'`. */
export function formatMeter(meter: number): string {
  return `SM0${String(check.integer(meter, 'meter', { min: 0, max: MAX_METER })).padStart(4, '0')};`;
}

// ------------------------------------------------------------- power status

/** `PS` set command: `formatPowerStatus(true) // 'PS1;'`. */
export function formatPowerStatus(on: boolean): string {
  return `PS${check.boolean(on, 'on') ? 1 : 0};`;
}

/** Whether a `PS` answer says the rig is on (`'PS1'` → true). */
export function parsePowerStatus(answer: string): boolean {
  const m = /^PS([01]);?$/.exec(answerText(answer));
  if (!m) throw new TypeError(`answer must be PS0 or PS1, got ${check.describe(answer)}`);
  return m[1] === '1';
}

// ----------------------------------------------------------------------- IF

/**
 * The `IF` answer, decoded. Offsets in the 38-character answer (TS-590S PC
 * command reference, "IF"; 0-based, `IF` at 0..1, `;` at 37):
 *
 * | chars  | field (reference)        | here                      |
 * |--------|--------------------------|---------------------------|
 * | 2–12   | P1 frequency, 11 digits  | `frequency` (Hz)          |
 * | 13–17  | P2 5 spaces              | (checked, dropped)        |
 * | 18–22  | P3 RIT/XIT offset ±9999  | `ritXitOffset` (Hz)       |
 * | 23     | P4 RIT 0/1               | `rit`                     |
 * | 24     | P5 XIT 0/1               | `xit`                     |
 * | 25–27  | P6+P7 memory channel     | `memoryChannel` (000..119)|
 * | 28     | P8 0 RX, 1 TX            | `transmitting`            |
 * | 29     | P9 mode (as `MD`)        | `mode`                    |
 * | 30     | P10 0 VFO A, 1 B, 2 mem  | `vfo`                     |
 * | 31     | P11 scan 0/1             | `scanning`                |
 * | 32     | P12 split 0/1            | `split`                   |
 * | 33     | P13 tone 0 off, 1 tone, 2 CTCSS, 3 cross | `tone`    |
 * | 34–35  | P14 tone number          | `toneNumber`              |
 * | 36     | P15 (0)                  | (checked, dropped)        |
 */
export interface CatInfo {
  frequency: number;
  ritXitOffset: number;
  rit: boolean;
  xit: boolean;
  memoryChannel: number;
  transmitting: boolean;
  mode: CatMode;
  vfo: 'A' | 'B' | 'memory';
  scanning: boolean;
  split: boolean;
  tone: 'off' | 'tone' | 'ctcss' | 'cross';
  toneNumber: number;
}

const IF_ANSWER = /^IF(\d{11}) {5}([+-]\d{4})([01])([01])(\d{3})([01])(\d)([012])([01])([01])([0-3])(\d{2})(\d);?$/;
const TONES = ['off', 'tone', 'ctcss', 'cross'] as const;
const VFOS = ['A', 'B', 'memory'] as const;

/** Decode an `IF` answer (37 characters, or 38 with its `;`). TypeError naming `answer` when it is not one. */
export function parseInfo(answer: string): CatInfo {
  const m = IF_ANSWER.exec(answerText(answer));
  const mode = m ? modeName(m[7]!) : undefined;
  if (!m || !mode) throw new TypeError(`answer must be a 38-character IF answer, got ${check.describe(answer)}`);
  return {
    frequency: Number(m[1]),
    ritXitOffset: Number(m[2]),
    rit: m[3] === '1',
    xit: m[4] === '1',
    memoryChannel: Number(m[5]),
    transmitting: m[6] === '1',
    mode,
    vfo: VFOS[Number(m[8])]!,
    scanning: m[9] === '1',
    split: m[10] === '1',
    tone: TONES[Number(m[11])]!,
    toneNumber: Number(m[12]),
  };
}

/** Encode an `IF` answer (what a rig, or the emulator, sends): the inverse of `parseInfo`. */
export function formatInfo(info: CatInfo): string {
  check.object(info, 'info');
  const offset = check.integer(info.ritXitOffset, 'info.ritXitOffset', { min: -9999, max: 9999 });
  const bit = (b: boolean) => (b ? '1' : '0');
  return [
    'IF',
    String(checkFrequency(info.frequency, 'info.frequency')).padStart(11, '0'),
    '     ',
    `${offset < 0 ? '-' : '+'}${String(Math.abs(offset)).padStart(4, '0')}`,
    bit(info.rit),
    bit(info.xit),
    String(check.integer(info.memoryChannel, 'info.memoryChannel', { min: 0, max: 999 })).padStart(3, '0'),
    bit(info.transmitting),
    String(modeDigit(info.mode)),
    String(VFOS.indexOf(check.oneOf(info.vfo, 'info.vfo', VFOS))),
    bit(info.scanning),
    bit(info.split),
    String(TONES.indexOf(check.oneOf(info.tone, 'info.tone', TONES))),
    String(check.integer(info.toneNumber, 'info.toneNumber', { min: 0, max: 99 })).padStart(2, '0'),
    '0',
    ';',
  ].join('');
}

/** `answer` when it is a string (with or without its `;`); TypeError naming `answer` otherwise. */
function answerText(answer: unknown): string {
  if (typeof answer !== 'string') throw new TypeError(`answer must be a string, got ${check.describe(answer)}`);
  return answer;
}
