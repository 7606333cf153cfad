/**
 * The supervisor statechart: OTP supervision on top of XState, which has none
 * of its own. It owns the children (connection actors), restarts them by
 * strategy and restart type, counts restarts in a sliding window on the actor
 * clock, and escalates to `failed` past the intensity.
 *
 * Exits it sees:
 * - abnormal: a child reaches its final `failed` state (`xstate.done.actor.*`,
 *   read as `CHILD_DONE`) or crashes (`xstate.error.actor.*`, read as
 *   `CHILD_ERROR`; always handled here, so a child's error can neither stop
 *   the supervisor nor crash the process);
 * - normal: `CHILD_EXIT` (the child settled in `disconnected` by DISCONNECT or,
 *   with `reconnect: false`, a closed link). The handle reports these.
 *
 * Issue 11 (a 401 took down every sibling in about 3 s):
 * - a child that ended `failed` with `reason: 'permanent_failure'` (its
 *   output) is not restarted, whatever its restart type, and does not count
 *   toward the intensity: restarting cannot fix rejected credentials. It stays
 *   `failed` until `RESTART_CHILD` (unless `restartPermanentFailures`);
 * - every other restart is delayed by backoff, as Akka's BackoffSupervisor
 *   does: the new actor is spawned at once (so sends queue in its outbox and
 *   handles follow it) but connected only after `backoffDelay(n,
 *   restartBackoff)`, n counting the child's restarts since it was last
 *   stable (`CHILD_STABLE`).
 */
import { createActor, emit, enqueueActions, setup, type ActorRefFrom, type AnyActorRef, type AnyStateMachine } from 'xstate';
import { MessageDroppedError, type DropReason, type SupervisorReport } from './ports/errors.js';
import type { Transport } from './ports/transport.js';
import { clockNow } from './ports/clock.js';
import { backoffDelay } from './backoff.js';
import { ChildList } from './child-list.js';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionOutput, OutboxEntry } from './events.js';
import type { LinkRegistry } from './link-registry.js';
import type { OutboxOptions } from './outbox.js';
import { defaultRestartBackoff, type BackoffPolicy, type ReconnectPolicy } from './policy.js';
import { inState } from './state.js';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
export type RestartType = 'permanent' | 'transient' | 'temporary';
export type ExitKind = 'normal' | 'failed' | 'crashed';

/** A child spec with every default filled in (see `ChildSpec` in actors/supervisor.ts). */
export interface ResolvedChildSpec {
  id: string;
  transport: Transport;
  restart: RestartType;
  policy: Partial<ReconnectPolicy> | undefined;
  outbox: OutboxOptions | undefined;
  shutdownMs: number;
  autoConnect: boolean;
  /** The machine to run; `connectionMachine` or a `.provide()`d variant of it. */
  machine: AnyStateMachine;
  random: (() => number) | undefined;
}

export interface SupervisorInput {
  id: string;
  strategy: Strategy;
  maxRestarts: number;
  periodMs: number;
  /** Passed in every child's input (see `LinkRegistry`); the handle's data path reads it. */
  links?: LinkRegistry;
  /** Restart a child that failed permanently (a 401) like any other. Default false: it stays `failed`. */
  restartPermanentFailures?: boolean;
  /** Delay of a child's n-th restart since it was last stable (resolved: see `resolveBackoff`). Default `defaultRestartBackoff`. */
  restartBackoff?: BackoffPolicy;
  /** Jitter source for `restartBackoff`. Default Math.random. */
  random?: () => number;
}

/**
 * The child registries (`specs`, `refs`, `restarts`, ...) are mutable and
 * updated in place by this machine's own actions, so starting, finding or
 * stopping a child is O(1) rather than a copy or a scan of every registry
 * (10,000 children took minutes with copies). Nothing outside this file
 * writes them; snapshots of a supervisor are not meant to be persisted (they
 * hold live actor refs).
 */
export interface SupervisorContext extends SupervisorInput {
  /** Children in start order (iterable; `get(id)`, `from(id)`, `reversed()`). */
  specs: ChildList<ResolvedChildSpec>;
  refs: Record<string, AnyActorRef>;
  /** Restarts per child; a child never restarted has no entry. */
  restarts: Record<string, number>;
  /** Clock times of the restarts inside the window. */
  restartLog: number[];
  report: SupervisorReport | undefined;
  /** Automatic restarts of a child since it was last stable: the backoff's attempt number. */
  consecutive: Record<string, number>;
  /** The delay of a child's last restart (decorrelated jitter draws the next from it). */
  lastDelay: Record<string, number>;
  /** Children spawned by a delayed restart, waiting for their `RESTART_DUE` (child id → its token). */
  waiting: Record<string, number>;
  /** The same, by token: the children each delayed restart will connect, in start order. */
  due: Map<number, Set<string>>;
  /** The last token given to a delayed restart. */
  token: number;
}

export type SupervisorEvent =
  | { type: 'START_CHILD'; spec: ResolvedChildSpec }
  | { type: 'RESTART_CHILD'; id: string }
  /** Take a child out of supervision before it is stopped (its exits no longer count). */
  | { type: 'RELEASE_CHILD'; id: string }
  | { type: 'REMOVE_CHILD'; id: string }
  | { type: 'CHILD_EXIT'; id: string; ref: AnyActorRef; exit: ExitKind; error?: unknown }
  /** The child was connected for its `stableAfterMs` (EVENT_CONNECTION_STABLE): its restart backoff starts over. The handle reports it. */
  | { type: 'CHILD_STABLE'; id: string; ref: AnyActorRef }
  /** A delayed restart's backoff elapsed: connect the children it spawned (raised by this machine on its clock). */
  | { type: 'RESTART_DUE'; token: number }
  | { type: 'SHUTDOWN' }
  | { type: 'SHUTDOWN_DONE' }
  | { type: `xstate.done.actor.${string}`; actorId: string; output: unknown }
  | { type: `xstate.error.actor.${string}`; actorId: string; error: unknown }
  /** A child's `xstate.done.actor.<id>` / `xstate.error.actor.<id>` as the machine reads it (see `childExitEvent`). */
  | { type: 'CHILD_DONE'; actorId: string; output: unknown }
  | { type: 'CHILD_ERROR'; actorId: string; error: unknown };

export type SupervisorEmitted =
  | { type: 'CHILD_STARTED'; id: string; ref: AnyActorRef; restarted: boolean }
  | {
      type: 'CHILD_EXITED';
      id: string;
      exit: ExitKind;
      /** Restarted (now, or after `delayMs`). False when it stays down (a permanent failure) or the supervisor gives up. */
      restart: boolean;
      error?: unknown;
      /** For a `failed` exit: why (the child's output), e.g. `'permanent_failure'`. */
      reason?: ConnectionOutput['reason'];
      /** For a restart: how long until the new actor connects, ms on the actor clock. */
      delayMs?: number;
    }
  | { type: 'SUPERVISOR_FAILED'; report: SupervisorReport };

export type ConnectionRef = ActorRefFrom<typeof connectionMachine>;

/** A stopped or crashed child's queued messages will never go out: tell their senders. */
export function rejectOutboxOf(ref: AnyActorRef | undefined, reason: DropReason): number {
  const context = (ref?.getSnapshot() as { context?: { id?: string; outbox?: OutboxEntry[] } } | undefined)?.context;
  const outbox = context?.outbox ?? [];
  // Settling a settled promise is a no-op, so a ticket already rejected by the
  // child itself (in `failed`) is not told twice.
  for (const entry of outbox) entry.ticket?.reject(new MessageDroppedError(context!.id ?? '?', reason));
  return outbox.length;
}

/**
 * Stop the children a stopped supervisor actor left running. XState stops
 * the actors a machine lists in `snapshot.children` when it stops; ours are
 * not listed there (see `spawnOne`), so a supervisor stopped from outside
 * (`actor.stop()`, rather than SHUTDOWN or giving up, which stop them in
 * reverse start order) leaves them to this. Their queued senders are told.
 */
export function stopOrphans(context: SupervisorContext): void {
  for (const spec of context.specs.reversed()) {
    const ref = context.refs[spec.id] as (AnyActorRef & { _stop?: () => void }) | undefined;
    if (!ref || ref.getSnapshot().status !== 'active') continue;
    rejectOutboxOf(ref, 'stopped');
    // `stop()` refuses an actor with a parent; `_stop()` is what the parent's own stopChild calls.
    ref._stop?.();
  }
}

/**
 * The named actions and their params, spelled out and passed to `setup`
 * (rather than inferred from the implementations) so that actions can enqueue
 * one another with their params type-checked: TypeScript cannot infer the
 * action names from the very object that defines them.
 */
// A type, not an interface: XState needs it to have an implicit index signature.
type SupervisorActions = {
  rejectOutbox: { ref: AnyActorRef; reason: DropReason };
  stopOne: { ref: AnyActorRef | undefined; reason: DropReason };
  spawnOne: { spec: ResolvedChildSpec; restarted: boolean; connect: boolean };
  startOne: { ref: AnyActorRef };
  unwait: { id: string };
  connectDue: undefined;
  childStable: undefined;
  startChild: undefined;
  restartChild: undefined;
  releaseChild: undefined;
  removeChild: undefined;
  handleExit: undefined;
  stopAll: undefined;
  emitFailed: undefined;
};

export type SupervisorOutput = SupervisorReport | { reason: 'shutdown' };

const machine = setup<
  SupervisorContext,
  SupervisorEvent,
  // No actor is named: each child runs the machine its spec names
  // (`connectionMachine` or a `.provide()`d variant of it).
  Record<string, AnyStateMachine>,
  Record<never, string>,
  SupervisorActions,
  { gaveUp: undefined },
  never,
  string,
  SupervisorInput,
  SupervisorOutput,
  SupervisorEmitted
>({
  actors: {},
  guards: {
    gaveUp: ({ context }) => context.report !== undefined,
  },
  actions: {
    /** Tell the senders of a child's queued messages that they will not go out. */
    rejectOutbox: (_, params) => {
      rejectOutboxOf(params.ref, params.reason);
    },
    /**
     * Stop one child. Its senders are told by an action of their own, queued
     * before the stop: nothing observable happens while XState computes the
     * transition (a pure `transition()` returns both as actions to run).
     */
    stopOne: enqueueActions(({ enqueue }, params) => {
      if (!params.ref) return;
      enqueue({ type: 'rejectOutbox', params: { ref: params.ref, reason: params.reason } });
      enqueue.stopChild(params.ref);
    }),
    /**
     * Spawn the actor for `spec`, announce it, and connect it when `connect` says so.
     *
     * Issue 15: the actor is made with `createActor(machine, { parent: self })`
     * rather than XState's `spawn`. It is this machine's child in every way
     * XState uses (its done and error events come here, `stopChild` stops it,
     * it shares the system: clock, inspection, `systemId`s), but it is not
     * listed in `snapshot.children`, which XState copies on every spawn and
     * stop (`{ ...snapshot.children, [id]: ref }`): n children cost O(n²),
     * 27 s for 10,000. `context.refs` is the list; `stopAll` and `stopOrphans`
     * do what XState would do with `snapshot.children` when the machine stops.
     */
    spawnOne: enqueueActions(({ context, enqueue, self }, params) => {
      const { spec, restarted, connect } = params;
      const ref = createActor(spec.machine, {
        id: spec.id,
        parent: self,
        input: {
          id: spec.id,
          transport: spec.transport,
          policy: spec.policy,
          outbox: spec.outbox,
          // Connected below, after CHILD_STARTED: XState defers emitted events
          // until after the transition, so a child connecting on its own would
          // emit its first events before anyone listens.
          autoConnect: false,
          ...(spec.random ? { random: spec.random } : {}),
          links: context.links,
        },
      });
      // The registries are updated in place (see SupervisorContext), here rather
      // than in an assign: XState clones the snapshot for every assign, per child.
      context.refs[spec.id] = ref;
      enqueue({ type: 'startOne', params: { ref } });
      enqueue.emit({ type: 'CHILD_STARTED' as const, id: spec.id, ref, restarted });
      if (connect) enqueue.sendTo(ref, { type: 'CONNECT' });
    }),
    /** Start an actor `spawnOne` made (an action of its own, so a pure `transition()` starts nothing). */
    startOne: (_, params) => {
      params.ref.start();
    },
    /** The child no longer waits for a delayed restart; a timer nobody waits for any more is canceled. */
    unwait: enqueueActions(({ context, enqueue }, params) => {
      const token = context.waiting[params.id];
      if (token === undefined) return;
      delete context.waiting[params.id];
      const ids = context.due.get(token);
      ids?.delete(params.id);
      if (ids?.size) return;
      context.due.delete(token);
      enqueue.cancel(restartTimerId(token));
    }),
    startChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'START_CHILD' || event.spec.id in context.refs || context.specs.has(event.spec.id)) return;
      // `restarts` holds children restarted at least once: no entry is 0.
      context.specs.push(event.spec);
      enqueue({ type: 'spawnOne', params: { spec: event.spec, restarted: false, connect: event.spec.autoConnect } });
    }),
    /** A restart by hand: at once, and the child's backoff starts over. The way back from a permanent failure. */
    restartChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESTART_CHILD') return;
      const spec = context.specs.get(event.id);
      if (!spec) return;
      enqueue({ type: 'unwait', params: { id: spec.id } });
      enqueue({ type: 'stopOne', params: { ref: context.refs[event.id], reason: 'stopped' } });
      context.restarts[event.id] = (context.restarts[event.id] ?? 0) + 1;
      delete context.consecutive[event.id];
      delete context.lastDelay[event.id];
      enqueue({ type: 'spawnOne', params: { spec, restarted: true, connect: spec.autoConnect } });
    }),
    releaseChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RELEASE_CHILD') return;
      enqueue({ type: 'unwait', params: { id: event.id } });
      context.specs.delete(event.id);
    }),
    removeChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'REMOVE_CHILD') return;
      enqueue({ type: 'unwait', params: { id: event.id } });
      enqueue({ type: 'stopOne', params: { ref: context.refs[event.id], reason: 'stopped' } });
      delete context.refs[event.id];
      delete context.restarts[event.id];
      delete context.consecutive[event.id];
      delete context.lastDelay[event.id];
      context.specs.delete(event.id);
    }),
    /** A delayed restart is due: connect, in start order, the children it spawned that still wait for it. */
    connectDue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESTART_DUE') return;
      const ids = context.due.get(event.token) ?? [];
      context.due.delete(event.token);
      for (const id of ids) {
        if (context.waiting[id] !== event.token) continue;
        delete context.waiting[id];
        const spec = context.specs.get(id);
        const ref = context.refs[id];
        // Connected by hand meanwhile: leave it be (CONNECT would cut a `reconnecting` backoff short).
        if (spec && ref && spec.autoConnect && inState(ref.getSnapshot() as { value?: unknown }, 'disconnected')) enqueue.sendTo(ref, { type: 'CONNECT' });
      }
    }),
    childStable: enqueueActions(({ context, event }) => {
      if (event.type !== 'CHILD_STABLE' || context.refs[event.id] !== event.ref) return;
      delete context.consecutive[event.id];
      delete context.lastDelay[event.id];
    }),
    /** An exit: restart by type and strategy, or escalate past the intensity. */
    handleExit: enqueueActions(({ context, event, enqueue, self }) => {
      const exit = toExit(event, context);
      if (!exit) return;
      const spec = context.specs.get(exit.id);
      if (!spec) return; // released (being stopped) or unknown: not ours to restart
      const base = { type: 'CHILD_EXITED' as const, id: exit.id, exit: exit.exit, error: exit.error, ...(exit.reason ? { reason: exit.reason } : {}) };
      // Restarting cannot fix a permanent failure (credentials rejected): it
      // stays `failed`, outside the intensity count, until restarted by hand.
      const stays = exit.reason === 'permanent_failure' && context.restartPermanentFailures !== true;
      const restart = !stays && (spec.restart === 'permanent' || (spec.restart === 'transient' && exit.exit !== 'normal'));
      if (!restart) {
        enqueue.emit({ ...base, restart: false });
        // OTP: a temporary child that exits is removed. A transient child after
        // a normal exit stays, idle in `disconnected`, until told to CONNECT.
        if (spec.restart === 'temporary') enqueue.raise({ type: 'REMOVE_CHILD', id: exit.id });
        return;
      }
      const now = clockNow(self);
      const restartLog = [...context.restartLog.filter((t) => t > now - context.periodMs), now];
      if (restartLog.length > context.maxRestarts) {
        const report: SupervisorReport = {
          supervisor: context.id,
          errorContext: 'child_terminated',
          reason: 'reached_max_restart_intensity',
          offender: { id: exit.id, kind: spec.transport.kind, exit: exit.exit, error: exit.error },
          restarts: restartLog.length - 1,
        };
        enqueue.emit({ ...base, restart: false });
        enqueue.assign({ report, restartLog });
        return;
      }
      // The n-th restart since the child was last stable waits backoffDelay(n).
      const attempt = (context.consecutive[exit.id] ?? 0) + 1;
      const delayMs = backoffDelay(attempt, context.restartBackoff ?? defaultRestartBackoff, context.random ?? Math.random, context.lastDelay[exit.id]);
      context.consecutive[exit.id] = attempt;
      context.lastDelay[exit.id] = delayMs;
      enqueue.emit({ ...base, restart: true, delayMs });
      // Which children go down and come back, in start order.
      const affected =
        context.strategy === 'one_for_all' ? [...context.specs] : context.strategy === 'rest_for_one' ? context.specs.from(spec.id) : [spec];
      for (const s of affected) enqueue({ type: 'unwait', params: { id: s.id } });
      for (const s of [...affected].reverse()) {
        enqueue({ type: 'stopOne', params: { ref: context.refs[s.id], reason: s.id === exit.id ? 'failed' : 'stopped' } });
      }
      for (const s of affected) context.restarts[s.id] = (context.restarts[s.id] ?? 0) + 1;
      enqueue.assign({ restartLog });
      // Spawned now (sends queue in the new outbox, handles follow the new actor), connected after the delay.
      for (const s of affected) enqueue({ type: 'spawnOne', params: { spec: s, restarted: true, connect: delayMs === 0 && s.autoConnect } });
      if (delayMs === 0) return;
      const token = context.token + 1;
      // After the unwaits above have run (they are queued before this assign).
      enqueue.assign(({ context: c }) => {
        for (const s of affected) c.waiting[s.id] = token;
        c.due.set(token, new Set(affected.map((s) => s.id)));
        return { token, waiting: c.waiting, due: c.due };
      });
      enqueue.raise({ type: 'RESTART_DUE', token }, { id: restartTimerId(token), delay: delayMs });
    }),
    /** Escalation: every child stopped in reverse start order. */
    stopAll: enqueueActions(({ context, enqueue }) => {
      for (const s of context.specs.reversed()) enqueue({ type: 'stopOne', params: { ref: context.refs[s.id], reason: 'stopped' } });
      enqueue.assign({ refs: Object.create(null) as Record<string, AnyActorRef> });
    }),
    emitFailed: emit(({ context }) => ({ type: 'SUPERVISOR_FAILED' as const, report: context.report! })),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    ...input,
    specs: new ChildList<ResolvedChildSpec>(),
    // No prototype: a child may be called 'constructor' or '__proto__'.
    refs: Object.create(null) as Record<string, AnyActorRef>,
    restarts: Object.create(null) as Record<string, number>,
    restartLog: [],
    report: undefined,
    consecutive: Object.create(null) as Record<string, number>,
    lastDelay: Object.create(null) as Record<string, number>,
    waiting: Object.create(null) as Record<string, number>,
    due: new Map<number, Set<string>>(),
    token: 0,
  }),
  initial: 'running',
  states: {
    running: {
      always: { guard: 'gaveUp', target: 'failed' },
      on: {
        START_CHILD: { actions: 'startChild' },
        RESTART_CHILD: { actions: 'restartChild' },
        RELEASE_CHILD: { actions: 'releaseChild' },
        REMOVE_CHILD: { actions: 'removeChild' },
        CHILD_EXIT: { actions: 'handleExit' },
        CHILD_STABLE: { actions: 'childStable' },
        RESTART_DUE: { actions: 'connectDue' },
        CHILD_DONE: { actions: 'handleExit' },
        CHILD_ERROR: { actions: 'handleExit' },
        // Only a `.provide()`d copy sees these (see childExitEvent).
        'xstate.done.actor.*': { actions: 'handleExit' },
        'xstate.error.actor.*': { actions: 'handleExit' },
        SHUTDOWN: 'stopping',
      },
    },
    // Shutting down: children are stopped one by one by the handle, in
    // reverse start order; their exits are not restarts any more.
    stopping: {
      on: {
        RELEASE_CHILD: { actions: 'releaseChild' },
        REMOVE_CHILD: { actions: 'removeChild' },
        CHILD_DONE: {},
        CHILD_ERROR: {},
        'xstate.done.actor.*': {},
        'xstate.error.actor.*': {},
        SHUTDOWN_DONE: 'stopped',
      },
    },
    failed: {
      type: 'final',
      entry: ['stopAll', 'emitFailed'],
    },
    stopped: {
      type: 'final',
      entry: 'stopAll',
    },
  },
  output: ({ context }): SupervisorOutput => context.report ?? { reason: 'shutdown' },
});

/**
 * A child's exit as the machine reads it: `xstate.done.actor.<id>` becomes
 * `CHILD_DONE`, `xstate.error.actor.<id>` `CHILD_ERROR` (issue 15). XState
 * memoizes each state node's candidate transitions per event type, for good
 * (`candidates-<type>`), so every child id that ever ended `failed` or crashed
 * kept about 200 bytes in the cache: a server naming each connection afresh
 * grew without end. Two types do not grow. `supervisorMachine.transition` reads
 * events through this (a `.provide()`d copy does not, and handles the
 * `xstate.*.actor.*` events as before).
 */
function childExitEvent(event: SupervisorEvent): SupervisorEvent {
  if (!('actorId' in event)) return event;
  if (event.type.startsWith('xstate.done.actor.')) return { type: 'CHILD_DONE', actorId: event.actorId, output: (event as { output?: unknown }).output };
  if (event.type.startsWith('xstate.error.actor.')) return { type: 'CHILD_ERROR', actorId: event.actorId, error: (event as { error?: unknown }).error };
  return event;
}
const transition = machine.transition.bind(machine);
machine.transition = (snapshot, event, actorScope) => transition(snapshot, childExitEvent(event), actorScope);

export const supervisorMachine = machine;

const restartTimerId = (token: number) => `restart:${token}`;

function toExit(
  event: SupervisorEvent,
  context: SupervisorContext,
): { id: string; exit: ExitKind; error?: unknown; reason?: ConnectionOutput['reason'] } | undefined {
  if (event.type === 'CHILD_EXIT') {
    // A late notice from an actor that was already replaced is ignored.
    return context.refs[event.id] === event.ref ? { id: event.id, exit: event.exit, error: event.error } : undefined;
  }
  if ('actorId' in event && (event.type === 'CHILD_DONE' || event.type.startsWith('xstate.done.actor.'))) {
    const ref = context.refs[event.actorId];
    const lastError = (ref?.getSnapshot() as { context?: { lastError?: unknown } } | undefined)?.context?.lastError;
    // The child's output says why (ConnectionOutput); a custom machine may end with anything.
    const output = (event as { output?: unknown }).output as Partial<ConnectionOutput> | undefined;
    const reason = output?.reason === 'permanent_failure' || output?.reason === 'retries_exhausted' ? output.reason : undefined;
    return { id: event.actorId, exit: 'failed', error: reason && output!.error !== undefined ? output!.error : lastError, ...(reason ? { reason } : {}) };
  }
  if ('actorId' in event && (event.type === 'CHILD_ERROR' || event.type.startsWith('xstate.error.actor.'))) {
    return { id: event.actorId, exit: 'crashed', error: (event as { error: unknown }).error };
  }
  return undefined;
}

