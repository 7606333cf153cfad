/**
 * What every chaos scenario shares: the result it reports, the seeded random,
 * a memory sampler, crash and handle accounting, and small timing helpers.
 *
 * A scenario runs in a process of its own (bench/chaos/scenario.ts), so its
 * heap figures, its crash count and its handle check are its own.
 */
import { seededRandom } from '../../transports/mock/index.js';

/** One invariant a scenario checks; `known` names a defect someone is fixing (the test prints it instead of failing). */
export interface Invariant {
  name: string;
  ok: boolean;
  /** What was seen, in numbers. */
  detail: string;
  /** Set when this invariant fails today because of a known defect (e.g. "hub maxPayload"). */
  known?: string;
}

/** One row of a scenario's table. */
export interface Row {
  /** What this row counts (e.g. "WebSocket clients", "hub viewers"). */
  part: string;
  sent: number;
  received: number;
  duplicates: number;
  lost: number;
  crashes: number;
  leakedHandles: number;
  peakRssMb: number;
  peakHeapMb: number;
}

export interface ScenarioResult {
  scenario: string;
  seed: number;
  quick: boolean;
  durationMs: number;
  /** The one-line summary printed by the runner. */
  summary: string;
  rows: Row[];
  invariants: Invariant[];
  /** Other figures worth keeping (faults injected, errors by name, ...). */
  figures: Record<string, number | string>;
  /** What the scenario found, in words (each with numbers). */
  findings: string[];
}

export interface ScenarioOptions {
  seed: number;
  quick: boolean;
}

export type Random = () => number;

export function random(seed: number): Random {
  return seededRandom(seed);
}

/** An integer in [min, max]. */
export const between = (r: Random, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
export const pick = <T>(r: Random, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

/** A sub-seed for a named part of a scenario, so adding a part does not shift the others' draws. */
export function subSeed(seed: number, name: string): number {
  let h = seed | 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) | 0;
  return h;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it holds or `ms` passed; false on timeout (never throws). */
export async function waitFor(check: () => boolean, ms: number, every = 10): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(every);
  }
  return true;
}

/** `promise`, or `'timeout'` after `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap used after a full GC, bytes (needs --expose-gc; without it, as measured). */
export async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc?.();
  }
  return process.memoryUsage().heapUsed;
}

export const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Samples RSS and heap every `everyMs` and keeps the peaks. */
export class MemoryPeak {
  rss = 0;
  heap = 0;
  #timer: NodeJS.Timeout;
  constructor(everyMs = 50) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }
  sample() {
    const m = process.memoryUsage();
    this.rss = Math.max(this.rss, m.rss);
    this.heap = Math.max(this.heap, m.heapUsed);
  }
  stop(): { rssMb: number; heapMb: number } {
    clearInterval(this.#timer);
    this.sample();
    return { rssMb: mb(this.rss), heapMb: mb(this.heap) };
  }
}

/**
 * Counts what would crash a process: uncaught exceptions and unhandled
 * rejections. While it listens they are counted, not fatal, so the scenario
 * can go on and report them.
 */
export class CrashCounter {
  readonly errors: string[] = [];
  readonly #onError = (e: unknown) => this.errors.push(`uncaught: ${describe(e)}`);
  readonly #onRejection = (e: unknown) => this.errors.push(`unhandled rejection: ${describe(e)}`);
  constructor() {
    process.on('uncaughtException', this.#onError);
    process.on('unhandledRejection', this.#onRejection);
  }
  get count() {
    return this.errors.length;
  }
  stop() {
    process.off('uncaughtException', this.#onError);
    process.off('unhandledRejection', this.#onRejection);
  }
}

export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}${(e as { code?: unknown }).code ? ` ${String((e as { code?: unknown }).code)}` : ''}: ${e.message.slice(0, 160)}`;
  return String(e).slice(0, 160);
}

/** Resource kinds that are the process's own (stdio), never a leak. */
const OWN = new Set(['TTYWrap', 'PipeWrap', 'SignalWrap']);

/** The active resources (`process.getActiveResourcesInfo()`), as counts by kind. */
export function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (!OWN.has(r)) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** Resources open now that were not open at `before`, after letting closing handles finish. */
export async function leakedSince(before: Map<string, number>, settleMs = 300): Promise<string[]> {
  const leaked = () => {
    const now = resources();
    const out: string[] = [];
    for (const [kind, n] of now) for (let i = before.get(kind) ?? 0; i < n; i++) out.push(kind);
    return out;
  };
  // Closing sockets and timers need a few turns; give them up to settleMs.
  await waitFor(() => leaked().length === 0, settleMs, 20);
  return leaked();
}

/** Count occurrences by key. */
export function tally(into: Record<string, number>, key: string, n = 1) {
  into[key] = (into[key] ?? 0) + n;
}

export function invariant(name: string, ok: boolean, detail: string, known?: string): Invariant {
  return known && !ok ? { name, ok, detail, known } : { name, ok, detail };
}
