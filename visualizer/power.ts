/**
 * The power panel's data (issue 12 §6): output-power readings of radio links,
 * `{ connectionId, watts, at }`, derived from the supervisor's `events$`
 * (`EVENT_POWER_READING`, which a radio facade publishes through its handle),
 * and the power alarms that mark the chart. `PowerHistory` keeps the recent
 * ones per connection so a page opened later draws the recent curve.
 *
 * The event types are compared as strings: the serial kind declares them
 * (transports/serial/cat/power-monitor.ts) and the visualizer imports no
 * transport, so any kind may publish them.
 */
import { filter, map, type Observable } from 'rxjs';
import * as check from '../machines/ports/check.js';
import type { ConnectionLogEvent } from '../machines/ports/events.js';

/** One output-power reading: which connection, how many watts, when (ms, the supervisor's clock). */
export interface PowerReading {
  connectionId: string;
  watts: number;
  at: number;
}

export const POWER_READING = 'EVENT_POWER_READING';
/** Alarms drawn on the chart as marks (they also stay in the page's log). */
export const POWER_ALARMS: ReadonlySet<string> = new Set(['EVENT_POWER_WARNING', 'EVENT_POWER_CRITICAL', 'EVENT_POWER_TREND_WARNING']);
/**
 * What the chart draws: the zero line (a reading under `zeroW` is a zero) and,
 * in its legend, how many zeros in a row make a warning and a critical alarm.
 * The defaults are the radio link's PowerMonitor's (transports/serial/cat/
 * power-monitor.ts; test/visualizer/power.test.ts checks they agree).
 */
export interface PowerThresholds {
  zeroW: number;
  warningAfter: number;
  criticalAfter: number;
}
export const DEFAULT_POWER_THRESHOLDS: Readonly<PowerThresholds> = { zeroW: 0.1, warningAfter: 1, criticalAfter: 3 };

/** `value` (a partial `PowerThresholds`) checked and completed with the defaults. */
export function powerThresholds(value: Partial<PowerThresholds> | undefined, name: string): PowerThresholds {
  if (value === undefined) return { ...DEFAULT_POWER_THRESHOLDS };
  check.object(value, name);
  const zeroW = check.finiteNumber(value.zeroW ?? DEFAULT_POWER_THRESHOLDS.zeroW, `${name}.zeroW`, { min: 0 });
  const warningAfter = check.integer(value.warningAfter ?? DEFAULT_POWER_THRESHOLDS.warningAfter, `${name}.warningAfter`, { min: 1 });
  const criticalAfter = check.integer(value.criticalAfter ?? DEFAULT_POWER_THRESHOLDS.criticalAfter, `${name}.criticalAfter`, { min: warningAfter });
  return { zeroW, warningAfter, criticalAfter };
}

/** Readings (and alarms) kept per connection: the page keeps as many. */
export const POWER_HISTORY = 300;
/** Connections with a history; the one heard from longest ago is forgotten first. */
export const POWER_CONNECTIONS = 64;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const wattsOf = (data: unknown): unknown => (data !== null && typeof data === 'object' && Object.hasOwn(data, 'watts') ? (data as { watts: unknown }).watts : undefined);

/** `value` as a reading, or undefined when it is not one (any stream may carry anything). */
export function asReading(value: unknown): PowerReading | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { connectionId, watts, at } = value as Partial<Record<keyof PowerReading, unknown>>;
  if (typeof connectionId !== 'string' || !finite(watts) || !finite(at)) return undefined;
  return { connectionId, watts, at };
}

/** The reading an `EVENT_POWER_READING` carries, or undefined for any other event (or a malformed one). */
export function readingOf(event: ConnectionLogEvent): PowerReading | undefined {
  if ((event.type as string) !== POWER_READING) return undefined;
  return asReading({ connectionId: event.connectionId, watts: wattsOf(event.data), at: event.timestamp });
}

/** Whether `event` is a power alarm the chart can place (it has watts). */
export function isPowerAlarm(event: ConnectionLogEvent): boolean {
  return POWER_ALARMS.has(event.type) && finite(wattsOf(event.data));
}

/** The readings among a supervisor's events (`supervisor.events$`). */
export function powerReadings(events$: Observable<ConnectionLogEvent>): Observable<PowerReading> {
  return events$.pipe(
    map(readingOf),
    filter((r): r is PowerReading => r !== undefined),
  );
}

/** The newest readings and alarms, per connection, bounded both ways. */
export class PowerHistory {
  readonly #byId = new Map<string, { readings: PowerReading[]; alarms: ConnectionLogEvent[] }>();

  constructor(
    readonly perConnection = POWER_HISTORY,
    readonly connections = POWER_CONNECTIONS,
  ) {}

  add(reading: PowerReading): void {
    this.#push(this.#entry(reading.connectionId).readings, reading);
  }

  alarm(event: ConnectionLogEvent): void {
    this.#push(this.#entry(event.connectionId).alarms, event);
  }

  /** What a page that just connected is sent, as `/events` messages: readings, then alarms (as log entries). */
  messages(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const { readings } of this.#byId.values()) for (const reading of readings) out.push({ type: 'power', reading });
    for (const { alarms } of this.#byId.values()) for (const event of alarms) out.push({ type: 'log', event });
    return out;
  }

  #entry(id: string) {
    let entry = this.#byId.get(id);
    if (entry) this.#byId.delete(id); // re-inserted last: Map order is "heard from longest ago" first
    else entry = { readings: [], alarms: [] };
    this.#byId.set(id, entry);
    if (this.#byId.size > this.connections) this.#byId.delete(this.#byId.keys().next().value!);
    return entry;
  }

  #push<T>(list: T[], item: T) {
    list.push(item);
    if (list.length > this.perConnection) list.splice(0, list.length - this.perConnection);
  }
}
