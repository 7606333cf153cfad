/**
 * Reading the time. XState's clock interface has only setTimeout/clearTimeout;
 * `SimulatedClock` (and statewire's supervisor clock) also have `now()`. This
 * is the one place where a machine falls back to the wall clock, so timestamps
 * follow a simulated clock in tests.
 */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  now?(): number;
}

export function clockNow(actor: unknown): number {
  const clock = (actor as { clock?: Clock } | undefined)?.clock;
  return typeof clock?.now === 'function' ? clock.now() : Date.now();
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
