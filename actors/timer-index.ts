/**
 * Delayed events of a supervisor's actor system, indexed by the actor that
 * scheduled them (issue 15).
 *
 * XState's scheduler finds an actor's delayed events, when the actor stops,
 * by scanning every delayed event of the system (`scheduler.cancelAll`, run
 * on every stop). Each connection holds one or two (its connect timeout, its
 * `stableAfterMs`), so stopping n connections cost O(n²): shutting 10,000
 * down took 19 s of CPU, and a hub whose viewers all went away paid the same.
 * With the index, a stop cancels only the stopping actor's own events.
 *
 * The system's `scheduler` (public in XState's `ActorSystem` type) is wrapped:
 * `schedule` records the event under its source, `cancel` and `cancelAll`
 * use the record. An event that fires is forgotten through the clock: the
 * system runs on the clock returned here, whose `setTimeout`, called by
 * XState inside `schedule`, wraps the callback. Nothing else changes: the
 * original `schedule` and `cancel` still do the work.
 */
import type { AnyActorRef } from 'xstate';
import type { Clock } from '../machines/ports/clock.js';

interface Scheduler {
  schedule(source: AnyActorRef, target: AnyActorRef, event: { type: string }, delay: number, id: string | undefined): void;
  cancel(source: AnyActorRef, id: string): void;
  cancelAll(source: AnyActorRef): void;
}

export interface TimerIndex {
  /** The clock to create the root actor with. */
  readonly clock: Clock;
  /** Index the scheduler of the system the root actor made (before it starts). */
  install(system: { scheduler: Scheduler }): void;
  /** Delayed events pending, over every actor (tests: what fired or was canceled is forgotten). */
  readonly pending: number;
}

/** An actor's pending delayed events: the id, and which `schedule` call it came from (an id may be scheduled again before it fires). */
type Pending = Array<{ id: string; call: number }>;
/**
 * Kept on the actor itself, not in a table keyed by actor: with 100,000
 * connections a shared table costs a cache miss or two on every schedule,
 * cancel and fire (measured: about 5 µs a connection started). An actor has
 * one to three pending at a time, so a small array.
 */
const PENDING = Symbol('statewire.pendingTimers');
type Source = AnyActorRef & { [PENDING]?: Pending };

export function timerIndex(clock: Clock): TimerIndex {
  let calls = 0;
  let ids = 0;
  let count = 0;
  /** Set while XState's `schedule` runs: what to forget when the timer it sets fires. */
  let firing: (() => void) | undefined;

  const forget = (source: Source, id: string, call?: number) => {
    const pending = source[PENDING];
    const i = pending ? pending.findIndex((p) => p.id === id) : -1;
    if (i < 0 || (call !== undefined && pending![i]!.call !== call)) return;
    pending!.splice(i, 1);
    count--;
  };

  const indexed: Clock = {
    setTimeout(fn, ms) {
      const done = firing;
      firing = undefined;
      return clock.setTimeout(
        done
          ? () => {
              done();
              fn();
            }
          : fn,
        ms,
      );
    },
    clearTimeout: (id) => clock.clearTimeout(id),
    ...(typeof clock.now === 'function' ? { now: () => clock.now!() } : {}),
  };

  return {
    clock: indexed,
    get pending() {
      return count;
    },
    install({ scheduler }) {
      const { schedule, cancel } = scheduler;
      // XState makes a random id for an event scheduled without one; ours is unique without the randomness.
      scheduler.schedule = (ref, target, event, delay, id = `statewire.timer.${ids++}`) => {
        const source = ref as Source;
        const call = ++calls;
        const pending = (source[PENDING] ??= []);
        const i = pending.findIndex((p) => p.id === id);
        if (i >= 0) pending[i]!.call = call;
        else {
          pending.push({ id, call });
          count++;
        }
        firing = () => forget(source, id, call);
        try {
          schedule(source, target, event, delay, id);
        } finally {
          firing = undefined;
        }
      };
      scheduler.cancel = (source, id) => {
        forget(source, id);
        cancel(source, id);
      };
      scheduler.cancelAll = (ref) => {
        const source = ref as Source;
        const pending = source[PENDING];
        if (!pending?.length) return;
        source[PENDING] = [];
        count -= pending.length;
        for (const { id } of pending) cancel(source, id);
      };
    },
  };
}
