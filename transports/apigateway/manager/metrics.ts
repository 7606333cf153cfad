/**
 * What an `ApiGatewayManager` counts: latencies in fixed memory (a
 * log-bucketed histogram, about ±4.5 % per value, 2 KB whatever the number of
 * requests) and counts by outcome. Recording is a few additions, so it stays
 * on the broadcast fast path; quantiles are computed only for a snapshot.
 */
import { Observable } from 'rxjs';
import type { Clock } from '../../../machines/ports/clock.js';
import { describeError, type ErrorDescription } from '../../../machines/ports/errors.js';
import type { FailureKind } from './errors.js';

/** Latency quantiles in ms (0 when nothing was recorded). */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** A snapshot of an `ApiGatewayManager`'s metrics, counted since it was made. */
export interface ApiGatewayMetrics {
  /** PostToConnection requests that succeeded (by `send`, `broadcast`, progress reports). */
  sent: number;
  /** Requests that failed for good, by kind; `store`: background store calls (gone deletes, `updateLastPing`) that failed. */
  errors: Record<FailureKind | 'store', number>;
  /** 429 answers that were retried. */
  retries: number;
  /** Gone connections this manager removed from the store (the store said it removed them). */
  removed: number;
  /** Broadcasts finished (with or without failures). */
  broadcasts: number;
  /** `send`/`broadcast` calls not finished yet. */
  inFlight: number;
  /** Each PostToConnection, from its first try to its outcome (429 retries and their waits included, rate-cap waits not). */
  sendLatencyMs: LatencySummary;
  /** Each broadcast, from its call to its outcome. */
  broadcastLatencyMs: LatencySummary;
  /** The last background store failure, if any. */
  lastStoreError?: ErrorDescription;
}

const MIN_MS = 0.01;
/** 8 buckets per doubling. */
const STEPS = 8;
/** 0.01 ms × 2^30: past 3 hours every value goes in the last bucket. */
const BUCKETS = 30 * STEPS + 2;
const SCALE = STEPS / Math.LN2;

/** Latencies in ms, in fixed memory. Bucket 0 holds [0, 0.01); bucket i ≥ 1 holds [0.01·2^((i-1)/8), 0.01·2^(i/8)). */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #min = Infinity;
  #max = 0;

  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const i = v < MIN_MS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(v / MIN_MS) * SCALE));
    this.#counts[i]!++;
    this.#count++;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** The `q` quantile (0..1): the middle of the bucket it falls in, kept within the smallest and largest values seen (the largest, past the last bound). */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    let i = 0;
    for (; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) break;
    }
    // The last bucket is open-ended: the largest value is the best estimate there.
    if (i >= BUCKETS - 1) return this.#max;
    const mid = i === 0 ? 0 : MIN_MS * Math.pow(2, (i - 0.5) / STEPS);
    return Math.min(this.#max, Math.max(this.#min, mid));
  }

  summary(): LatencySummary {
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return { count: this.#count, p50: round(this.quantile(0.5)), p99: round(this.quantile(0.99)), max: round(this.#max) };
  }
}

/** The counters behind `ApiGatewayMetrics`; `changes` grows on every update, so a stream can skip idle intervals. */
export class ManagerMetrics {
  sent = 0;
  retries = 0;
  removed = 0;
  broadcasts = 0;
  changes = 0;
  readonly errors: Record<FailureKind | 'store', number> = { gone: 0, tooLarge: 0, throttled: 0, other: 0, store: 0 };
  readonly sendLatency = new LatencyHistogram();
  readonly broadcastLatency = new LatencyHistogram();
  lastStoreError: ErrorDescription | undefined;

  ok(ms: number): void {
    this.sent++;
    this.changes++;
    this.sendLatency.record(ms);
  }

  failed(kind: FailureKind, ms: number | undefined): void {
    this.errors[kind]++;
    this.changes++;
    if (ms !== undefined) this.sendLatency.record(ms);
  }

  storeFailed(err: unknown): void {
    this.errors.store++;
    this.changes++;
    this.lastStoreError = describeError(err);
  }

  snapshot(inFlight: number): ApiGatewayMetrics {
    return {
      sent: this.sent,
      errors: { ...this.errors },
      retries: this.retries,
      removed: this.removed,
      broadcasts: this.broadcasts,
      inFlight,
      sendLatencyMs: this.sendLatency.summary(),
      broadcastLatencyMs: this.broadcastLatency.summary(),
      ...(this.lastStoreError ? { lastStoreError: this.lastStoreError } : {}),
    };
  }
}

/**
 * `metrics$`: a snapshot on subscribe, then one every `intervalMs` (on
 * `clock`) in which `metrics` changed, and a last one when `finished$` fires
 * (then it completes). A timer runs only while someone subscribes, and with
 * real time it never keeps the process alive.
 */
export function metricsStream(
  metrics: ManagerMetrics,
  snapshot: () => ApiGatewayMetrics,
  o: { clock: Clock; intervalMs: number; finished$: Observable<void>; finished: () => boolean },
): Observable<ApiGatewayMetrics> {
  return new Observable<ApiGatewayMetrics>((subscriber) => {
    subscriber.next(snapshot());
    if (o.finished()) return subscriber.complete();
    let seen = metrics.changes;
    let timer: unknown;
    const arm = () => {
      timer = o.clock.setTimeout(tick, o.intervalMs);
      (timer as { unref?: () => void } | null)?.unref?.();
    };
    const tick = () => {
      if (metrics.changes !== seen) {
        seen = metrics.changes;
        subscriber.next(snapshot());
      }
      arm();
    };
    arm();
    const end = o.finished$.subscribe(() => {
      o.clock.clearTimeout(timer);
      subscriber.next(snapshot());
      subscriber.complete();
    });
    return () => {
      o.clock.clearTimeout(timer);
      end.unsubscribe();
    };
  });
}
