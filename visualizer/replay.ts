/**
 * Reading a flight recording (issue 17 §4): `loadRecording(file)` checks and
 * parses what `supervisor.record(file)` wrote (actors/recorder.ts), and a
 * `ReplayCursor` gives the fleet at any time `t` of it (the same fold as the
 * live visualizer: actors/fleet-records.ts), with the log and the power
 * readings up to `t`, and moves forward for playback.
 *
 * Seeking is fast both ways: the fleet is kept at up to 32 points of the
 * recording (keyframes), and a seek folds only the records after the nearest
 * one before `t`.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { RECORDING_FORMAT, RECORDING_VERSION, RecordingError, type RecordingHeader } from '../actors/recorder.js';
import type { FleetRecord } from '../actors/fleet-records.js';
import type { ConnectionLogEvent } from '../machines/events.js';
import { FleetModel } from './fleet.js';
import { POWER_CONNECTIONS, POWER_HISTORY, isPowerAlarm, readingOf, type PowerReading } from './power.js';

export interface RecordingFile {
  file: string;
  header: RecordingHeader;
  /** In the order written; `t` never goes back (a clock that did is held at its last time). */
  records: FleetRecord[];
  /** `t` of the first and the last record. */
  start: number;
  end: number;
  /** What was skipped: a last line cut short (a recording that was not stopped), records of unknown types. */
  warnings: string[];
}

const KEYFRAMES = 32;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isChild = (c: unknown) => isObject(c) && typeof c.id === 'string' && typeof c.state === 'string' && typeof c.kind === 'string';

/** Why `value` is not a record of this version, or undefined when it is one; `unknown` for a type this version does not know. */
function problem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  if (!finite(value.t)) return 'no time ("t")';
  switch (value.type) {
    case 'children':
      return Array.isArray(value.children) && value.children.every(isChild) ? undefined : '"children" must be a list of { id, kind, state, ... }';
    case 'event': {
      const e = value.event;
      if (!(isObject(e) && typeof e.type === 'string' && typeof e.connectionId === 'string' && finite(e.timestamp))) return '"event" must be { type, connectionId, timestamp, ... }';
      // A state change moves its child's row: without a state to move to, the fleet could not be folded.
      if (e.type === 'EVENT_STATE_CHANGE' && !(isObject(e.data) && typeof e.data.to === 'string')) return 'an EVENT_STATE_CHANGE must have data.to (the state)';
      return undefined;
    }
    case 'diff':
      return Array.isArray(value.set) && value.set.every(isChild) && Array.isArray(value.removed) && value.removed.every((id) => typeof id === 'string')
        ? undefined
        : '"diff" must have "set" (children) and "removed" (ids)';
    case 'end':
      return undefined;
    default:
      return 'unknown';
  }
}

/**
 * Read and check a recording. Throws a `RecordingError` (with `line` where
 * it applies) when the file cannot be read, is not NDJSON, or does not start
 * with a recording header of this version.
 */
export async function loadRecording(file: string): Promise<RecordingFile> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (cause) {
    throw new RecordingError(`cannot read ${file}: ${(cause as Error).message}`, file, { cause });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let header: RecordingHeader | undefined;
  const records: FleetRecord[] = [];
  const warnings: string[] = [];
  let n = 0;
  let unknown = 0;
  /** A line that did not parse: an error, unless it turns out to be the last one (cut short). */
  let broken: { line: number; message: string } | undefined;
  try {
    for await (const text of lines) {
      n++;
      if (broken) throw new RecordingError(`${file}: line ${broken.line} is not JSON (${broken.message}): not an NDJSON recording`, file, { line: broken.line });
      if (!text.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        if (n === 1) throw new RecordingError(`${file} is not a statewire recording: line 1 is not JSON (a recording is NDJSON, its header first)`, file, { line: 1 });
        broken = { line: n, message: (error as Error).message };
        continue;
      }
      if (!header) {
        header = checkHeader(value, file);
        continue;
      }
      const why = problem(value);
      if (why === 'unknown') {
        unknown++;
        continue;
      }
      if (why) throw new RecordingError(`${file}: line ${n} is not a recording line: ${why}`, file, { line: n });
      const record = value as FleetRecord;
      const last = records[records.length - 1];
      if (last && record.t < last.t) record.t = last.t;
      records.push(record);
    }
  } catch (error) {
    if (error instanceof RecordingError) throw error;
    throw new RecordingError(`cannot read ${file}: ${(error as Error).message}`, file, { cause: error });
  } finally {
    lines.close();
    stream.destroy();
  }
  if (!header) throw new RecordingError(`${file} is empty: not a statewire recording`, file, { line: 1 });
  if (broken) warnings.push(`line ${broken.line}, the last, is cut short (the recording was not stopped): skipped`);
  if (unknown) warnings.push(`${unknown} line${unknown > 1 ? 's' : ''} of a type this version does not know: skipped`);
  if (!records.length || records[0]!.type !== 'children') throw new RecordingError(`${file}: no child list after the header: not a recording`, file, { line: 2 });
  return { file, header, records, start: records[0]!.t, end: records[records.length - 1]!.t, warnings };
}

function checkHeader(value: unknown, file: string): RecordingHeader {
  const wrong = (why: string) => new RecordingError(`${file} is not a statewire recording: ${why}`, file, { line: 1 });
  if (!isObject(value) || value.format !== RECORDING_FORMAT) throw wrong(`line 1 must be its header, { "format": "${RECORDING_FORMAT}", "version": ${RECORDING_VERSION}, ... }`);
  if (value.version !== RECORDING_VERSION) {
    throw new RecordingError(`${file}: recording version ${JSON.stringify(value.version)}, this statewire reads version ${RECORDING_VERSION}`, file, { line: 1 });
  }
  if (typeof value.supervisor !== 'string' || !finite(value.startedAt)) throw wrong('its header has no "supervisor" id or "startedAt" time');
  return value as unknown as RecordingHeader;
}

/** What a stretch of the recording says beside the fleet: log events (readings apart), readings, alarms. */
export interface ReplayNews {
  log: ConnectionLogEvent[];
  power: PowerReading[];
  alarms: ConnectionLogEvent[];
}

/** The fleet at points of a recording, kept once for every page that replays it. */
export class ReplayIndex {
  readonly keyframes: Array<{ index: number; model: FleetModel; supervisor: string }> = [];

  constructor(readonly recording: RecordingFile) {
    const { records } = recording;
    const every = Math.max(1000, Math.ceil(records.length / KEYFRAMES));
    const model = new FleetModel();
    let supervisor = 'running';
    for (let i = 0; i < records.length; i++) {
      if (i % every === 0) this.keyframes.push({ index: i, model: model.clone(), supervisor });
      supervisor = supervisorAfter(supervisor, records[i]!);
      model.apply(records[i]!);
      model.take();
    }
  }

  /** How many records have `t <= t` (they are in time order). */
  count(t: number): number {
    const { records } = this.recording;
    let lo = 0;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (records[mid]!.t <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const supervisorAfter = (state: string, record: FleetRecord) =>
  record.type === 'end' ? 'stopped' : record.type === 'event' && record.event.type === 'EVENT_SUPERVISOR_FAILED' ? 'failed' : state;

/** One page's place in a recording: the fleet at `t`, moved by `seek` and `advance`. */
export class ReplayCursor {
  model = new FleetModel();
  /** Records folded in so far (the next one to fold). */
  next = 0;
  t: number;
  supervisor = 'running';

  constructor(readonly index: ReplayIndex) {
    this.t = index.recording.start;
    this.seek(this.t);
  }

  get recording(): RecordingFile {
    return this.index.recording;
  }

  /** The fleet at `t` (clamped to the recording): from the nearest keyframe before it. */
  seek(t: number): void {
    const { start, end } = this.recording;
    this.t = Math.min(end, Math.max(start, t));
    const upto = this.index.count(this.t);
    let frame = this.index.keyframes[0]!;
    for (const k of this.index.keyframes) if (k.index <= upto) frame = k;
    if (!(this.next <= upto && this.next >= frame.index)) {
      this.model = frame.model.clone();
      this.next = frame.index;
      this.supervisor = frame.supervisor;
    }
    this.#fold(upto);
    this.model.take();
  }

  /** Move forward to `t`: what changed (`model.take()` after) and what was said on the way. */
  advance(t: number): ReplayNews {
    this.t = Math.min(this.recording.end, Math.max(this.t, t));
    return this.#fold(this.index.count(this.t));
  }

  #fold(upto: number): ReplayNews {
    const news: ReplayNews = { log: [], power: [], alarms: [] };
    const { records } = this.recording;
    for (; this.next < upto; this.next++) {
      const record = records[this.next]!;
      this.model.apply(record);
      this.supervisor = supervisorAfter(this.supervisor, record);
      if (record.type !== 'event') continue;
      const reading = readingOf(record.event);
      if (reading) news.power.push(reading);
      else {
        news.log.push(record.event);
        if (isPowerAlarm(record.event)) news.alarms.push(record.event);
      }
    }
    return news;
  }

  /**
   * What a page opened at `t` shows beside the fleet: the newest `logMax` log
   * events and `perConnection` readings of each of (at most) 64 connections
   * before it, with their alarms. Looks back through `scanMax` records at most.
   */
  past({ logMax = 200, perConnection = POWER_HISTORY, scanMax = 200_000 } = {}): ReplayNews {
    const log: ConnectionLogEvent[] = [];
    const readings = new Map<string, PowerReading[]>();
    const alarms: ConnectionLogEvent[] = [];
    const { records } = this.recording;
    for (let i = this.next - 1, seen = 0; i >= 0 && seen < scanMax; i--, seen++) {
      const record = records[i]!;
      if (record.type !== 'event') continue;
      const reading = readingOf(record.event);
      if (reading) {
        const list = readings.get(reading.connectionId) ?? (readings.size < POWER_CONNECTIONS ? [] : undefined);
        if (list && list.length < perConnection) readings.set(reading.connectionId, (list.push(reading), list));
      } else {
        if (log.length < logMax) log.push(record.event);
        if (isPowerAlarm(record.event) && alarms.length < perConnection * POWER_CONNECTIONS) alarms.push(record.event);
      }
    }
    return { log: log.reverse(), power: [...readings.values()].flatMap((list) => list.reverse()), alarms: alarms.reverse() };
  }

  /** The newest `max` events of child `id` up to the cursor. */
  history(id: string, max = 100, scanMax = 500_000): ConnectionLogEvent[] {
    const out: ConnectionLogEvent[] = [];
    const { records } = this.recording;
    for (let i = this.next - 1, seen = 0; i >= 0 && seen < scanMax && out.length < max; i--, seen++) {
      const record = records[i]!;
      if (record.type === 'event' && record.event.connectionId === id && !readingOf(record.event)) out.push(record.event);
    }
    return out.reverse();
  }
}
