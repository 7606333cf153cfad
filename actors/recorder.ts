/**
 * The flight recorder (issue 17): `supervisor.record(file)` writes the fleet's
 * records (./fleet-records.ts) as NDJSON, one JSON object a line, so an
 * incident can be replayed afterwards (`npx statewire replay <file>`).
 *
 * Line 1 is the header (`RecordingHeader`): the format and its version, the
 * supervisor's id, when the recording started (its clock) and on which
 * machine. Every other line is a `FleetRecord` with its time `t`: the full
 * child list first, then each event of `events$` as it happens (state changes,
 * power readings, alarms), the `diff`s found every `everyMs` (restarts,
 * outbox depths, children added and removed), and `end` last.
 *
 * Lines are written in batches, once per turn of the event loop; they wait
 * in memory while the disk is slower. The recording stops with `stop()`, or
 * by itself when the supervisor stops (after `shutdown()`, or when it fails).
 *
 * @example
 * ```ts
 * const recording = supervisor.record('incident.ndjson');
 * // ... later
 * await recording.stop();
 * // npx statewire replay incident.ndjson
 * ```
 */
import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { arch, hostname, platform } from 'node:os';
import * as check from '../machines/ports/check.js';
import { StatewireError } from '../machines/ports/errors.js';
import { nowOf, type Clock } from '../machines/ports/clock.js';
import { jsonText, watchFleet, type FleetRecord, type FleetSource } from './fleet-records.js';

declare module '../machines/ports/errors.js' {
  interface ErrorCodes {
    /** A recording could not be written, or a file is not a recording this version can read. */
    ERR_RECORDING: true;
  }
}

/** A recording could not be written (`cause`: the OS error), or read (`line`: where it went wrong). */
export class RecordingError extends StatewireError {
  override name = 'RecordingError';
  constructor(
    message: string,
    readonly file: string,
    options: { cause?: unknown; line?: number } = {},
  ) {
    super(message, 'ERR_RECORDING', options);
    this.line = options.line;
  }
  /** The line (1-based) that could not be read, when reading. */
  readonly line: number | undefined;
}

export const RECORDING_FORMAT = 'statewire-recording';
export const RECORDING_VERSION = 1;

/** Line 1 of a recording. */
export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  version: typeof RECORDING_VERSION;
  /** The supervisor's id. */
  supervisor: string;
  /** When the recording started, ms on the supervisor's clock (a `SimulatedClock`'s in tests). */
  startedAt: number;
  /** The same, as an ISO date. */
  startedAtIso: string;
  /** Where it was recorded. */
  machine: { hostname: string; platform: string; arch: string; node: string; pid: number };
}

export interface RecordOptions {
  /**
   * How often the recorder looks for what no event tells (restarts, outbox
   * depths, removed children), in ms of the supervisor's clock, and only
   * after something happened. State changes are recorded as they happen
   * whatever this says. Default 250.
   * @example supervisor.record('run.ndjson', { everyMs: 1000 })
   */
  everyMs?: number;
}

export interface Recording {
  /** The file written. */
  readonly file: string;
  /** Lines written so far, the header included. */
  readonly lines: number;
  /**
   * Stop recording: the last changes, an `end` line, and the file closed.
   * Resolves when it is; rejects with a `RecordingError` when a write failed
   * (what was written before stays readable). The same promise every call.
   */
  stop(): Promise<void>;
}

/**
 * Record `source` (a supervisor) into `file` (created, or truncated). Throws
 * a `RecordingError` at once when the file cannot be opened, a
 * TypeError/RangeError for bad arguments.
 */
export function record(source: FleetSource, file: string, options: RecordOptions = {}): Recording {
  check.nonEmptyString(file, 'file');
  check.object(options, 'options');
  const everyMs = check.integer(options.everyMs ?? 250, 'options.everyMs', { min: 1 });
  const clock: Clock = source.clock;
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (cause) {
    throw new RecordingError(`cannot record to ${file}: ${(cause as Error).message}`, file, { cause });
  }
  let stream: WriteStream;
  try {
    stream = createWriteStream(file, { fd });
  } catch (cause) {
    closeSync(fd);
    throw new RecordingError(`cannot record to ${file}: ${(cause as Error).message}`, file, { cause });
  }
  let failed: RecordingError | undefined;
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  stream.on('error', (cause) => {
    failed ??= new RecordingError(`recording to ${file} failed: ${cause.message}`, file, { cause });
    watch?.stop();
  });

  let lines = 0;
  let pending: string[] = [];
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (!pending.length || failed || stream.destroyed) return;
    stream.write(pending.join(''));
    pending = [];
  };
  const write = (value: object) => {
    pending.push(`${jsonText(value)}\n`);
    lines++;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const startedAt = nowOf(clock);
  const header: RecordingHeader = {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    supervisor: source.id,
    startedAt,
    startedAtIso: new Date(startedAt).toISOString(),
    machine: { hostname: hostname(), platform: platform(), arch: arch(), node: process.version, pid: process.pid },
  };
  write(header);

  let timer: unknown;
  let finishing: Promise<void> | undefined;
  const finish = () =>
    (finishing ??= (async () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      watch?.stop(); // writes the last diff and `end` (unless the supervisor's end already did)
      flush();
      if (!stream.destroyed) stream.end();
      await closed;
      if (failed) throw failed;
    })());

  let watch: ReturnType<typeof watchFleet> | undefined;
  watch = watchFleet(source, {
    onRecord: (r: FleetRecord) => {
      write(r);
      if (r.type === 'end') void finish().catch(() => {}); // stopped by the supervisor: the caller's stop() tells
    },
    onDirty: () => {
      if (timer !== undefined || finishing) return;
      timer = clock.setTimeout(() => {
        timer = undefined;
        watch?.reconcile();
      }, everyMs);
    },
  });

  return {
    file,
    get lines() {
      return lines;
    },
    stop: finish,
  };
}
