/**
 * `PowerMonitor`: the seed's output-power watchdog, usable alone (issue 12,
 * part 3). Feed it readings in watts (`updatePower`); it says when the rig
 * transmits nothing:
 *
 * - a reading under `zeroThresholdW` (0.1 W) is a zero;
 * - 1 zero in a row (`warningAfter`) returns `EVENT_POWER_WARNING`,
 *   3 (`criticalAfter`) `EVENT_POWER_CRITICAL`, every reading while it lasts
 *   (as the seed does); any non-zero reading starts the count over and returns null;
 * - the last 10 readings (`historySize`) are kept.
 *
 * Beyond the seed: `trend()` fits a line through the history. Output falling
 * steadily (at least `trendMinReadings` readings, a fall of `trendDropRatio`
 * of the first reading, and a projected zero within `trendHorizon`
 * readings) is `falling: true` before it reaches zero: a failing PA or a
 * bad antenna match shows there first.
 *
 * @example
 * ```ts
 * const monitor = new PowerMonitor();
 * monitor.updatePower(48); // null
 * monitor.updatePower(0);  // 'EVENT_POWER_WARNING'
 * ```
 */
import * as check from '../../../machines/ports/check.js';

declare module '../../../machines/ports/events.js' {
  interface ConnectionEventData {
    /** One output-power reading of a radio link (`SM0` while transmitting), in watts. */
    EVENT_POWER_READING: { watts: number };
    /** Output power read zero `consecutiveZeros` times in a row (from `warningAfter`, 1). */
    EVENT_POWER_WARNING: { watts: number; consecutiveZeros: number };
    /** Output power read zero `consecutiveZeros` times in a row (from `criticalAfter`, 3). */
    EVENT_POWER_CRITICAL: { watts: number; consecutiveZeros: number };
    /** Not in the seed: output power falling steadily; at this slope it reaches zero in about `readingsToZero` readings. */
    EVENT_POWER_TREND_WARNING: { watts: number; slopeWattsPerReading: number; readingsToZero: number };
  }
}

/** The seed's power poll interval, ms. */
export const POWER_POLL_INTERVAL = 1000;
/** A reading under this many watts is a zero. */
export const POWER_ZERO_THRESHOLD = 0.1;
/** Zero readings in a row for a warning. */
export const POWER_WARNING_COUNT = 1;
/** Zero readings in a row for a critical alarm. */
export const POWER_CRITICAL_COUNT = 3;
/** Readings kept. */
export const POWER_HISTORY_SIZE = 10;

/** What `updatePower` returns when the output is zero. */
export type PowerAlarm = 'EVENT_POWER_WARNING' | 'EVENT_POWER_CRITICAL';
/** The monitor's verdict on the latest reading: `unknown` before any. */
export type PowerLevel = 'unknown' | 'normal' | 'warning' | 'critical';

export interface PowerTrend {
  /** Least-squares slope over the history, watts per reading (negative: falling). */
  slopeWattsPerReading: number;
  /** At this slope, readings until zero (Infinity when not falling). */
  readingsToZero: number;
  /** Falling steadily enough to warn (see the module comment). */
  falling: boolean;
}

export interface PowerMonitorOptions {
  /** Default 0.1 W. */
  zeroThresholdW?: number;
  /** Default 1. */
  warningAfter?: number;
  /** Default 3 (>= warningAfter). */
  criticalAfter?: number;
  /** Default 10. */
  historySize?: number;
  /** Readings needed before a trend is judged. Default 5. */
  trendMinReadings?: number;
  /** Fall, as a share of the oldest reading in the history, for a trend warning. Default 0.2. */
  trendDropRatio?: number;
  /** A trend warns when zero is projected within this many readings. Default 10. */
  trendHorizon?: number;
}

export class PowerMonitor {
  readonly zeroThresholdW: number;
  readonly warningAfter: number;
  readonly criticalAfter: number;
  readonly historySize: number;
  readonly #trendMin: number;
  readonly #trendDrop: number;
  readonly #trendHorizon: number;
  #history: number[] = [];
  #zeros = 0;

  constructor(options: PowerMonitorOptions = {}) {
    check.object(options, 'options');
    this.zeroThresholdW = check.finiteNumber(options.zeroThresholdW ?? POWER_ZERO_THRESHOLD, 'options.zeroThresholdW', { min: 0 });
    this.warningAfter = check.integer(options.warningAfter ?? POWER_WARNING_COUNT, 'options.warningAfter', { min: 1, max: 1000 });
    this.criticalAfter = check.integer(options.criticalAfter ?? POWER_CRITICAL_COUNT, 'options.criticalAfter', { min: this.warningAfter, max: 1000 });
    this.historySize = check.integer(options.historySize ?? POWER_HISTORY_SIZE, 'options.historySize', { min: 2, max: 10_000 });
    this.#trendMin = check.integer(options.trendMinReadings ?? 5, 'options.trendMinReadings', { min: 2, max: this.historySize });
    this.#trendDrop = check.finiteNumber(options.trendDropRatio ?? 0.2, 'options.trendDropRatio', { min: 0, max: 1 });
    this.#trendHorizon = check.finiteNumber(options.trendHorizon ?? 10, 'options.trendHorizon', { min: 0 });
  }

  /** Record a reading: an alarm while the output reads zero, else null. A RangeError for a negative or non-finite reading. */
  updatePower(watts: number): PowerAlarm | null {
    check.finiteNumber(watts, 'watts', { min: 0 });
    this.#history.push(watts);
    if (this.#history.length > this.historySize) this.#history.shift();
    if (watts >= this.zeroThresholdW) {
      this.#zeros = 0;
      return null;
    }
    this.#zeros++;
    if (this.#zeros >= this.criticalAfter) return 'EVENT_POWER_CRITICAL';
    if (this.#zeros >= this.warningAfter) return 'EVENT_POWER_WARNING';
    return null;
  }

  /** The last readings, oldest first (a copy). */
  get history(): number[] {
    return [...this.#history];
  }

  get consecutiveZeros(): number {
    return this.#zeros;
  }

  get lastReading(): number | undefined {
    return this.#history.at(-1);
  }

  get level(): PowerLevel {
    if (this.#history.length === 0) return 'unknown';
    if (this.#zeros >= this.criticalAfter) return 'critical';
    if (this.#zeros >= this.warningAfter) return 'warning';
    return 'normal';
  }

  /** The trend over the history (see the module comment). */
  trend(): PowerTrend {
    const h = this.#history;
    const n = h.length;
    if (n < 2) return { slopeWattsPerReading: 0, readingsToZero: Infinity, falling: false };
    const meanX = (n - 1) / 2;
    const meanY = h.reduce((a, b) => a + b, 0) / n;
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      num += (i - meanX) * (h[i]! - meanY);
      den += (i - meanX) ** 2;
    }
    const slope = num / den;
    const last = h[n - 1]!;
    const readingsToZero = slope < 0 ? last / -slope : Infinity;
    const falling =
      n >= this.#trendMin && slope < 0 && last >= this.zeroThresholdW && h[0]! - last >= this.#trendDrop * h[0]! && readingsToZero <= this.#trendHorizon;
    return { slopeWattsPerReading: slope, readingsToZero, falling };
  }

  /** Forget the history and the zero count (a new transmission, a new rig). */
  reset(): void {
    this.#history = [];
    this.#zeros = 0;
  }
}
