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

export function timerIndex(clock: Clock): TimerIndex {
  /** Per source: the id of each pending event, and which `schedule` call it came from (an id may be scheduled again before it fires). */
  const bySource = new Map<AnyActorRef, Map<string, number>>();
  let calls = 0;
  let ids = 0;
  /** Set while XState's `schedule` runs: what to forget when the timer it sets fires. */
  let firing: (() => void) | undefined;

  const forget = (source: AnyActorRef, id: string, call?: number) => {
    const pending = bySource.get(source);
    if (!pending || (call !== undefined && pending.get(id) !== call)) return;
    pending.delete(id);
    if (pending.size === 0) bySource.delete(source);
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
      let n = 0;
      for (const ids of bySource.values()) n += ids.size;
      return n;
    },
    install({ scheduler }) {
      const { schedule, cancel } = scheduler;
      // XState makes a random id for an event scheduled without one; ours is unique without the randomness.
      scheduler.schedule = (source, target, event, delay, id = `statewire.timer.${ids++}`) => {
        const call = ++calls;
        let pending = bySource.get(source);
        if (!pending) bySource.set(source, (pending = new Map()));
        pending.set(id, call);
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
      scheduler.cancelAll = (source) => {
        const pending = bySource.get(source);
        if (!pending) return;
        bySource.delete(source);
        for (const id of pending.keys()) cancel(source, id);
      };
    },
  };
}
