/**
 * `RadioLink`: the seed's ConnectionManager for a CAT-controlled rig, on the
 * connection machine and the supervisor (issue 12, part 3).
 *
 * One supervised child (`id`, default `'radio'`) holds the serial link; the
 * CAT client runs on it through `handleLink`, so it survives reconnects. The
 * link's states, retries and backoff are the machine's; what is the radio's
 * is here:
 *
 * - **Monitoring** (`startMonitoring`): every `monitorIntervalMs` (1 s) with
 *   no answer from the rig in between, it asks `IF;` (which also says
 *   whether the rig transmits). A rig that answers nothing (the CAT client's
 *   retries and `PS;` check, then `CatLinkLostError`) is a lost link: the
 *   fast path while transmitting, else a reconnect with backoff. The
 *   machine's `staleAfterMs` (default 3 × the interval) catches silence too.
 * - **TX drop fast path**: `markTxDrop()`, a lost link while PTT is keyed, or
 *   `safeReconnect({ fastPath: true })`: `RX;` is sent first (on the live
 *   link, and again first thing on the next one: it waits in the outbox), then the
 *   machine's `TX_DROP`: `tx_dropped`, a reopen with no backoff within
 *   `fastPathTimeoutMs` (500 ms), `EVENT_TX_DROP_DETECTED` and
 *   `EVENT_FAST_PATH_ACTIVE`. Falls back to backoff if the reopen fails.
 * - **Power** (`startPowerPolling`): every `POWER_POLL_INTERVAL` (1 s) while
 *   transmitting, `SM0;` read as watts feeds the `PowerMonitor` and is
 *   published as `EVENT_POWER_READING` through the supervisor (`power$`,
 *   the visualizer's chart), with `EVENT_POWER_WARNING` / `_CRITICAL` /
 *   `_TREND_WARNING` when the monitor says so.
 *
 * @example
 * ```ts
 * const radio = new RadioLink({ supervisor, transport: serialTransport({ path: '/dev/ttyUSB0' }) });
 * radio.startMonitoring();
 * radio.startPowerPolling();
 * radio.power$.subscribe(({ watts }) => console.log(`${watts} W`));
 * await radio.ptt(true);
 * ```
 */
import { filter, map, type Observable, type OperatorFunction } from 'rxjs';
import { connectedOutcome, handleLink, type ConnectionHandle, type ReconnectPolicy, type Supervisor } from '../../../actors/index.js';
import * as check from '../../../machines/ports/check.js';
import { nowOf, type Clock } from '../../../machines/ports/clock.js';
import { ClosedError } from '../../../machines/ports/errors.js';
import type { ConnectionLogEvent, ConnectionState, LogEventOf } from '../../../machines/ports/events.js';
import { checkTransport, type Transport } from '../../../machines/ports/transport.js';
import { catClient, CatLinkLostError, type CatClient, type CatClientOptions } from './cat-client.js';
import { POWER_POLL_INTERVAL, PowerMonitor, type PowerLevel, type PowerMonitorOptions, type PowerTrend } from './power-monitor.js';

declare module '../../../machines/ports/errors.js' {
  interface ErrorCodes {
    /** `safeReconnect` on a stopped radio link, or the link stopped before it was back. */
    ERR_RADIO_LINK_STOPPED: true;
    /** The radio link went to `failed` before `safeReconnect` saw it back. */
    ERR_RADIO_LINK_FAILED: true;
  }
}

/** Default time between monitoring polls (`IF;`), ms. */
export const MONITOR_INTERVAL = 1000;
/** Longest wait for the `RX;` write before the fast path reopens the port, ms. */
export const RX_WRITE_WAIT_MS = 100;
/** Window over which link failures lower the health score, ms. */
export const HEALTH_WINDOW_MS = 5 * 60_000;

/** One power reading, as `power$` gives it. */
export interface PowerReading {
  connectionId: string;
  watts: number;
  /** ms since the epoch, on the actor clock. */
  at: number;
}

export interface RadioLinkOptions {
  /** The supervisor the radio's connection runs under (its clock times everything here). */
  supervisor: Supervisor;
  /** The link to the rig: `serialTransport({ path, baudRate })`. */
  transport: Transport;
  /** The child id. Default `'radio'`. */
  id?: string;
  /** Over the radio's defaults: retries forever, backoff 250 ms..5 s, stale after 3 × `monitorIntervalMs`, fast path 500 ms. */
  policy?: Partial<ReconnectPolicy>;
  /** The CAT client's timeout, retries and busy delay (its clock is the supervisor's). */
  cat?: Omit<CatClientOptions, 'clock'>;
  /** Monitoring poll, ms. Default 1000. */
  monitorIntervalMs?: number;
  /** Power poll while transmitting, ms. Default `POWER_POLL_INTERVAL` (1000). */
  powerPollIntervalMs?: number;
  /** The power monitor's thresholds. */
  power?: PowerMonitorOptions;
}

/** What `getConnectionStatus()` returns. */
export interface RadioLinkStatus {
  id: string;
  state: ConnectionState;
  /** Reconnections since the radio link was made (successful ones, fast path or not). */
  reconnectCount: number;
  /** When the rig last sent anything, ms since the epoch (actor clock); null before it has. */
  lastDataTime: number | null;
  /** Last output-power reading, watts; null before one. */
  lastPowerReading: number | null;
  powerLevel: PowerLevel;
  /** Beyond the seed: the least-squares trend over the last readings. */
  powerTrend: PowerTrend;
  /** PTT keyed, as far as this link knows (it keyed it, or `IF;` said so). */
  ptt: boolean;
  /** Beyond the seed: 0..100, see `healthScore`. */
  healthScore: number;
  /** The error behind the last failure, if any. */
  lastError: unknown;
}

/**
 * The health score: 100 for a connected link with good power, minus 10 for
 * each link loss or failed attempt in the last `HEALTH_WINDOW_MS` (at most
 * 40), 20 for a power warning (40 critical), 15 for falling power, 40 while
 * (re)connecting; 0 when disconnected or failed. Kept as a pure function so
 * it is documented by its tests.
 */
export function healthScore(input: { state: ConnectionState; recentFailures: number; powerLevel: PowerLevel; powerFalling: boolean }): number {
  if (input.state === 'disconnected' || input.state === 'failed') return 0;
  let score = 100;
  if (input.state !== 'connected') score -= 40;
  score -= Math.min(40, 10 * input.recentFailures);
  if (input.powerLevel === 'warning') score -= 20;
  if (input.powerLevel === 'critical') score -= 40;
  if (input.powerFalling) score -= 15;
  return Math.max(0, score);
}

/** `events$` → `power$`: the `EVENT_POWER_READING`s as `{ connectionId, watts, at }` (use on `supervisor.events$` for every radio). */
export function powerReadings(): OperatorFunction<ConnectionLogEvent, PowerReading> {
  return (events$) =>
    events$.pipe(
      filter((e): e is LogEventOf<'EVENT_POWER_READING'> => e.type === 'EVENT_POWER_READING'),
      map((e) => ({ connectionId: e.connectionId, watts: e.data.watts, at: e.timestamp })),
    );
}

export class RadioLink {
  readonly id: string;
  /** CAT commands on this link (frequency, mode, power...). `ptt` here is tracked for the fast path. */
  readonly cat: CatClient;
  readonly power: PowerMonitor;
  /** This link's structured events: the machine's and the radio's (power, alarms). Completes after `stopMonitoring()`. */
  readonly events$: Observable<ConnectionLogEvent>;
  /** This link's power readings. */
  readonly power$: Observable<PowerReading>;

  readonly #handle: ConnectionHandle;
  readonly #clock: Clock;
  readonly #monitorMs: number;
  readonly #powerMs: number;
  #ptt = false;
  #lastData: number | null = null;
  #reconnects = 0;
  #failures: number[] = [];
  #monitorTimer: unknown;
  #powerTimer: unknown;
  #monitoring = false;
  #polling = false;
  #stopped = false;
  #trendFalling = false;
  #fastPathing = false;
  #subs: Array<{ unsubscribe(): void }> = [];

  constructor(options: RadioLinkOptions) {
    check.object(options, 'options', '{ supervisor, transport }');
    const { supervisor } = options;
    check.hasMethods(supervisor, 'options.supervisor', ['startChild', 'connection'], '(createSupervisor())');
    checkTransport(options.transport, 'options.transport');
    this.id = options.id === undefined ? 'radio' : check.nonEmptyString(options.id, 'options.id');
    this.#monitorMs = check.duration(options.monitorIntervalMs, 'options.monitorIntervalMs', { allowZero: false }) ?? MONITOR_INTERVAL;
    this.#powerMs = check.duration(options.powerPollIntervalMs, 'options.powerPollIntervalMs', { allowZero: false }) ?? POWER_POLL_INTERVAL;
    if (options.policy !== undefined) check.object(options.policy, 'options.policy');
    if (options.cat !== undefined) check.object(options.cat, 'options.cat');
    this.power = new PowerMonitor(options.power);
    this.#clock = supervisor.clock;

    supervisor.startChild({
      id: this.id,
      transport: options.transport,
      policy: {
        maxRetries: Infinity,
        initialBackoffMs: 250,
        maxBackoffMs: 5000,
        staleAfterMs: 3 * this.#monitorMs,
        ...options.policy,
      },
    });
    const handle = (this.#handle = supervisor.connection(this.id));
    const client = catClient(handleLink(handle), { ...options.cat, clock: this.#clock });
    this.cat = {
      ...client,
      ptt: async (on: boolean) => {
        check.boolean(on, 'on');
        // Counted as keyed from the moment TX1 is asked: a link lost during the write is a TX drop.
        if (on) this.#ptt = true;
        try {
          await client.ptt(on);
        } catch (error) {
          // TX1; never left (link down, a fast path under way): not keyed, or the power poll would read false 0 W alarms.
          if (on) this.#ptt = false;
          throw error;
        }
        if (!on) this.#ptt = false;
      },
      info: async () => {
        const info = await client.info();
        this.#ptt = info.transmitting;
        return info;
      },
    };
    this.events$ = handle.events$;
    this.power$ = handle.events$.pipe(powerReadings());

    let previous: ConnectionState = handle.state;
    this.#subs.push(
      handle.data$.subscribe(() => {
        this.#lastData = nowOf(this.#clock);
      }),
      handle.events$.subscribe((e) => {
        if (e.type === 'EVENT_RECONNECT_OK') this.#reconnects++;
        if (e.type === 'EVENT_RECONNECT_FAILED' || (e.type === 'EVENT_STATE_CHANGE' && e.data.from === 'connected' && e.data.to !== 'connected')) {
          this.#failures.push(e.timestamp);
        }
      }),
      handle.state$.subscribe((state) => {
        // The link died under a transmission: the fast path (RX; waits in the outbox for the next link).
        if (previous === 'connected' && state === 'reconnecting' && this.#ptt) this.#fastPath();
        previous = state;
      }),
    );
  }

  /** Keyed (`TX1;`) or not (`RX;`): the same as `cat.ptt(on)`. */
  ptt(on: boolean): Promise<void> {
    return this.cat.ptt(on);
  }

  /** Start the monitoring poll (idempotent). A TypeError-free no-op after `stopMonitoring()`. */
  startMonitoring(): void {
    if (this.#stopped || this.#monitoring) return;
    this.#monitoring = true;
    this.#scheduleMonitor();
  }

  /** Start polling output power while transmitting (idempotent). */
  startPowerPolling(): void {
    if (this.#stopped || this.#polling) return;
    this.#polling = true;
    this.#schedulePower();
  }

  /** The rig was heard from (called for every inbound chunk; call it for data you learn of elsewhere). Also resets the stale timer. */
  updateLastDataTime(): void {
    this.#lastData = nowOf(this.#clock);
    this.#handle.command('DATA_RECEIVED');
  }

  /** A transmission dropped mid-frame: `RX;` first, then the fast path. */
  markTxDrop(): void {
    if (this.#stopped) return;
    this.#fastPath();
  }

  /**
   * Reconnect, unkeying first: `fastPath: true` is `markTxDrop()`; otherwise
   * `RX;` when keyed, then a reconnect with backoff. Resolves when connected
   * again; rejects with a `ClosedError` if the link fails or is stopped first.
   */
  safeReconnect(options: { fastPath?: boolean } = {}): Promise<void> {
    check.object(options, 'options');
    const fast = options.fastPath === undefined ? false : check.boolean(options.fastPath, 'options.fastPath');
    if (this.#stopped) return Promise.reject(new ClosedError(`radio link ${this.id}`, `radio link ${this.id} is stopped`, 'ERR_RADIO_LINK_STOPPED'));
    const back = this.#connected(true);
    if (fast) this.#fastPath();
    else {
      if (this.#ptt) void this.#unkey();
      this.#handle.command('RECONNECT');
    }
    return back;
  }

  /** Resolves when the link is connected (at once if it is); rejects with a `ClosedError` if it fails or is stopped first. */
  whenConnected(): Promise<void> {
    if (this.#stopped) return Promise.reject(new ClosedError(`radio link ${this.id}`, `radio link ${this.id} is stopped`, 'ERR_RADIO_LINK_STOPPED'));
    return this.#connected(false);
  }

  getConnectionStatus(): RadioLinkStatus {
    const now = nowOf(this.#clock);
    this.#failures = this.#failures.filter((t) => now - t < HEALTH_WINDOW_MS);
    const state = this.#handle.state;
    const trend = this.power.trend();
    return {
      id: this.id,
      state,
      reconnectCount: this.#reconnects,
      lastDataTime: this.#lastData,
      lastPowerReading: this.power.lastReading ?? null,
      powerLevel: this.power.level,
      powerTrend: trend,
      ptt: this.#ptt,
      healthScore: healthScore({ state, recentFailures: this.#failures.length, powerLevel: this.power.level, powerFalling: trend.falling }),
      lastError: this.#handle.lastError,
    };
  }

  /**
   * Stop gracefully: the polls stop, PTT is turned off (`RX;`, when the link
   * is up), then the connection is stopped and removed from the supervisor.
   * Idempotent; resolves when the port is closed.
   */
  async stopMonitoring(): Promise<void> {
    if (this.#stopped) return this.#handle.closed.then(() => {});
    this.#stopped = true;
    this.#monitoring = this.#polling = false;
    this.#clock.clearTimeout(this.#monitorTimer);
    this.#clock.clearTimeout(this.#powerTimer);
    if (this.#handle.state === 'connected') {
      // Written before the port closes; an error only means the link was already gone.
      await this.#handle.send('RX;', { volatile: true }).catch(() => {});
      this.#ptt = false;
    }
    this.cat.close();
    for (const s of this.#subs.splice(0)) s.unsubscribe();
    await this.#handle.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stopMonitoring();
  }

  /** `RX;`: on a live link written now (resolves once handed to the OS); on a lost one it waits in the outbox and goes first on the next. */
  #unkey(): Promise<void> {
    this.#ptt = false;
    return this.#handle.send('RX;').catch(() => {});
  }

  /**
   * The fast path: `RX;` first, then `TX_DROP`. On a live link the `TX_DROP`
   * waits for the `RX;` write (at most `RX_WRITE_WAIT_MS`), since the
   * machine's reopen closes the port and would cancel a write in flight.
   */
  #fastPath(): void {
    if (this.#fastPathing || this.#handle.state === 'tx_dropped') return;
    this.#fastPathing = true;
    const live = this.#handle.state === 'connected';
    const rx = this.#unkey();
    const go = () => {
      if (!this.#fastPathing) return;
      this.#fastPathing = false;
      this.#clock.clearTimeout(timer);
      if (this.#stopped) return;
      this.#handle.command('TX_DROP');
      // And again, first thing on the reopened link: a rig that missed the first (a hung CAT) is unkeyed then.
      if (live) void this.#handle.send('RX;').catch(() => {});
    };
    const timer = live ? this.#clock.setTimeout(go, RX_WRITE_WAIT_MS) : undefined;
    if (live) void rx.then(go);
    else go();
  }

  /** Resolves when the link is connected (`next`: the next time, after leaving `connected`); rejects if it fails or ends first. */
  async #connected(next: boolean): Promise<void> {
    const outcome = await connectedOutcome(this.#handle, { next });
    if (outcome === 'failed') throw new ClosedError(`radio link ${this.id}`, `radio link ${this.id} failed before it reconnected`, 'ERR_RADIO_LINK_FAILED');
    if (outcome === 'gone') throw new ClosedError(`radio link ${this.id}`, `radio link ${this.id} stopped before it reconnected`, 'ERR_RADIO_LINK_STOPPED');
  }

  #scheduleMonitor(): void {
    if (!this.#monitoring) return;
    this.#monitorTimer = this.#clock.setTimeout(() => void this.#monitorTick(), this.#monitorMs);
  }

  async #monitorTick(): Promise<void> {
    const quietFor = this.#lastData === null ? Infinity : nowOf(this.#clock) - this.#lastData;
    if (this.#handle.state === 'connected' && quietFor >= this.#monitorMs) {
      try {
        await this.cat.info();
      } catch (error) {
        this.#onCatError(error);
      }
    }
    this.#scheduleMonitor();
  }

  #schedulePower(): void {
    if (!this.#polling) return;
    this.#powerTimer = this.#clock.setTimeout(() => void this.#powerTick(), this.#powerMs);
  }

  async #powerTick(): Promise<void> {
    if (this.#handle.state === 'connected' && this.#ptt) {
      try {
        this.#record(await this.cat.readPowerMeter());
      } catch (error) {
        this.#onCatError(error);
      }
    }
    this.#schedulePower();
  }

  #record(watts: number): void {
    if (this.#stopped) return;
    const alarm = this.power.updatePower(watts);
    this.#handle.publish('EVENT_POWER_READING', { watts });
    if (alarm) this.#handle.publish(alarm, { watts, consecutiveZeros: this.power.consecutiveZeros });
    const trend = this.power.trend();
    if (trend.falling && !this.#trendFalling) {
      this.#handle.publish('EVENT_POWER_TREND_WARNING', { watts, slopeWattsPerReading: trend.slopeWattsPerReading, readingsToZero: trend.readingsToZero });
    }
    this.#trendFalling = trend.falling;
  }

  /** A CAT command failed: nothing answering on a connected link is a lost link. */
  #onCatError(error: unknown): void {
    if (this.#stopped || !(error instanceof CatLinkLostError) || this.#handle.state !== 'connected') return;
    if (this.#ptt) this.#fastPath();
    else this.#handle.command('RECONNECT');
  }
}
