/**
 * The actor system's clock: the one place statewire reads the wall clock.
 *
 * XState's clock interface has only setTimeout/clearTimeout; `SimulatedClock`
 * (and `realClock` below, the supervisor's default) also have `now()`.
 * Machines and actors never call `setTimeout` or `Date.now()` themselves:
 * delays run on the actor clock, and time readings go through `clockNow()`,
 * so a `SimulatedClock` drives both in tests.
 */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  now?(): number;
}

/**
 * Real time, with `now()`: the default clock of a supervisor's actor system.
 * Pass XState's `SimulatedClock` instead to drive time by hand.
 */
export const realClock: Required<Clock> = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

/**
 * The current time on `actor`'s clock. An actor created with XState's default
 * clock (which has no `now()`) reads `realClock`.
 */
export function clockNow(actor: unknown): number {
  const clock = (actor as { clock?: Clock } | undefined)?.clock;
  return (typeof clock?.now === 'function' ? clock : realClock).now!();
}

/** The current time on `clock` (its `now()`, or the real clock's when it has none): for facades holding a clock. */
export function nowOf(clock: Clock | undefined): number {
  return (typeof clock?.now === 'function' ? clock : realClock).now!();
}
