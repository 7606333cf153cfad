/**
 * The connection statechart (ARCHITECTURE.md, "The connection statechart").
 * Pure: no sockets, no timers of its own. Time comes from named delays on the
 * actor clock; I/O from the injected transport through a `LinkSession` per
 * attempt, run inside the connection actor (or, for a machine given its own
 * `transport` actor, through that child).
 */
import { assign, emit, enqueueActions, raise, setup, StateMachine, type AnyActorRef, type AnyStateMachine } from 'xstate';
import {
  ConnectTimeoutError,
  ConnectionFailedError,
  ConnectionError,
  LinkClosedError,
  StaleLinkError,
  StatewireError,
  MessageDroppedError,
  OutboxOverflowError,
  describeError,
} from './ports/errors.js';
import { backoffDelay } from './backoff.js';
import { clockNow } from './ports/clock.js';
import {
  LogEvent,
  type ConnectionCommand,
  type ConnectionEmitted,
  type ConnectionInput,
  type ConnectionOutput,
  type ConnectionEventData,
  type ConnectionState,
  type LinkReport,
  type LogEventOf,
  type LogEventType,
  type NoData,
  type OutboxEntry,
  type SendTicket,
} from './events.js';
import type { LinkRegistry } from './link-registry.js';
import { enqueue, resolveOutbox, type OverflowPolicy } from './outbox.js';
import { resolvePolicy, type ReconnectPolicy } from './policy.js';
import { transportActor, type TransportActorInput } from './transport.actor.js';
import { LinkSession } from './link-session.js';
import * as check from './ports/check.js';
import { checkTransport, type Transport } from './ports/transport.js';

export interface ConnectionContext {
  id: string;
  kind: string;
  transport: Transport;
  policy: ReconnectPolicy;
  outboxLimit: number;
  overflow: OverflowPolicy;
  outbox: OutboxEntry[];
  /** Retries since the last stable connection (the seed's reconnect_attempts). */
  reconnectCount: number;
  /** Attempt number of the current transport actor; older reports are ignored. */
  gen: number;
  /** Last of the six named states entered (for EVENT_STATE_CHANGE's `from`). */
  state: ConnectionState;
  lastError: unknown;
  /** Passed on to each transport actor; the live link itself is never kept here. */
  links: LinkRegistry | undefined;
  /** Identity of the last permanent failure and how many times in a row it happened. */
  permanentKey: string | undefined;
  permanentCount: number;
  autoConnect: boolean;
  random: () => number;
  /** Why it went to `failed`, set on the way there: the output's `reason`. */
  failure: ConnectionOutput['reason'] | undefined;
  /**
   * The delay of the current (or last) retry, picked on entering `reconnecting`;
   * undefined after a stable connection. `jitterMode: 'decorrelated'` draws the
   * next delay from it (issue 11).
   */
  backoffMs: number | undefined;
}

export type ConnectionEvent =
  | ConnectionCommand
  | LinkReport
  | { type: 'LINK_DOWN'; error: unknown }
  | { type: 'xstate.error.actor.link'; error: unknown };

const LINK = 'link';

/**
 * The links of the connection actors that run them in-process, by actor.
 * A transport actor per connection (an XState actor, its callback's closures,
 * an AbortSignal) cost more heap than the rest of the connection (issue 15):
 * the stock transport runs as a `LinkSession` of the connection actor itself,
 * kept here as XState keeps a callback actor's state (a WeakMap by actor), and
 * closed by `ConnectionStateMachine.transition` when the actor stops.
 */
const sessions = new WeakMap<AnyActorRef, LinkSession>();

/** Whether `self` runs its links in-process: a `ConnectionStateMachine` whose `transport` actor is the stock one. */
function inProcess(self: AnyActorRef): boolean {
  const logic = (self as unknown as { logic?: unknown }).logic;
  return logic instanceof ConnectionStateMachine && logic.implementations.actors.transport === transportActor;
}

function openSession(self: AnyActorRef, input: TransportActorInput): void {
  sessions.get(self)?.stop();
  // `self.send` is bound to the actor by XState: the reports go to its mailbox, as a child's sendBack would.
  sessions.set(self, new LinkSession(input, self.send));
}

function dropSession(self: AnyActorRef): void {
  const session = sessions.get(self);
  if (!session) return;
  sessions.delete(self);
  session.stop();
}

function sendOnSession(self: AnyActorRef, connectionId: string, data: OutboxEntry['data'], ticket: SendTicket | undefined): void {
  const session = sessions.get(self);
  if (session) session.send(data, ticket);
  else ticket?.reject(new LinkClosedError('link is not open', { canceled: false, connectionId }));
}

function validateInput(input: ConnectionInput): void {
  check.object(input, 'input', '{ id, transport }');
  check.nonEmptyString(input.id, 'input.id');
  checkTransport(input.transport, 'input.transport');
  if (input.random !== undefined) check.func(input.random, 'input.random');
  if (input.links !== undefined) {
    check.shape(input.links, 'input.links', { opened: 'function', closed: 'function' }, 'a LinkRegistry ({ opened(id, gen, link), closed(id, gen) })');
  }
}

const connectionSetup = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
    output: {} as ConnectionOutput,
    emitted: {} as ConnectionEmitted,
  },
  actors: { transport: transportActor },
  delays: {
    // Picked by `pickBackoff` on entry, before XState schedules the delay.
    backoff: ({ context }) => context.backoffMs ?? 0,
    connectTimeout: ({ context }) => context.policy.connectTimeoutMs,
    fastPathTimeout: ({ context }) => context.policy.fastPathTimeoutMs,
    stableAfter: ({ context }) => context.policy.stableAfterMs,
    staleAfter: ({ context }) => context.policy.staleAfterMs,
  },
  guards: {
    isCurrentLink: ({ context, event }) => 'gen' in event && event.gen === context.gen,
    isFastPath: ({ event }) => event.type === 'RECONNECT' && event.fastPath === true,
    reconnectEnabled: ({ context }) => context.policy.reconnect,
    retriesExhausted: ({ context }) => context.reconnectCount >= context.policy.maxRetries,
    permanentRepeated: ({ context }) => context.permanentCount >= context.policy.maxPermanentFailures,
    staleCheckOff: ({ context }) => !(context.policy.staleAfterMs > 0),
    autoConnectPending: ({ context }) => context.autoConnect,
    isVolatile: ({ event }) => event.type === 'SEND' && event.volatile === true,
  },
  actions: {
    /** Record the state entered and emit EVENT_STATE_CHANGE. */
    enterState: enqueueActions(({ context, event, enqueue, self }, params: { state: ConnectionState }) => {
      const from = context.state;
      enqueue.assign({ state: params.state });
      if (from === params.state) return;
      // The error only when this change is because of it.
      const becauseOfError =
        params.state === 'reconnecting' || params.state === 'failed' || (params.state === 'disconnected' && event.type === 'LINK_DOWN');
      const data: ConnectionEventData['EVENT_STATE_CHANGE'] = { from, to: params.state };
      if (becauseOfError && context.lastError !== undefined) data.error = describeError(context.lastError);
      enqueue.emit(logEvent(self, { ...context, state: params.state }, LogEvent.STATE_CHANGE, data));
    }),
    /** An event that carries nothing but its type. */
    log: emit(({ context, self }, params: { type: NoDataEvent }) => logEvent(self, context, params.type, {})),
    openLink: enqueueActions(({ context, enqueue, self }) => {
      const gen = context.gen + 1;
      enqueue.assign({ gen });
      const input: TransportActorInput = { transport: context.transport, gen, connectionId: context.id, links: context.links };
      if (inProcess(self)) enqueue(() => openSession(self, input));
      else enqueue.spawnChild('transport', { id: LINK, input });
    }),
    dropLink: enqueueActions(({ context, enqueue, self }) => {
      // No attempt yet (the initial state): nothing to drop, and no action for XState to queue at start.
      if (context.gen === 0) return;
      if (inProcess(self)) enqueue(() => dropSession(self));
      else enqueue.stopChild(LINK);
    }),
    closeLink: enqueueActions(({ context, enqueue, self }) => {
      if (!inProcess(self)) return void enqueue.sendTo(LINK, { type: 'LINK_CLOSE' });
      const gen = context.gen;
      enqueue(() => {
        const session = sessions.get(self);
        if (session) session.closeAndReport();
        else self.send({ type: 'LINK_CLOSED', gen }); // nothing open: closed already
      });
    }),
    recordError: assign({
      lastError: ({ context, event }) => {
        if ('error' in event) return toConnectionError(event.error, context);
        return context.lastError;
      },
    }),
    recordTimeout: assign({
      lastError: ({ context }, params: { ms: 'connect' | 'fastPath' }) =>
        new ConnectTimeoutError(params.ms === 'connect' ? context.policy.connectTimeoutMs : context.policy.fastPathTimeoutMs, {
          connectionId: context.id,
          kind: context.kind,
        }),
    }),
    startRetry: enqueueActions(({ context, enqueue, self }) => {
      const reconnectCount = context.reconnectCount + 1;
      enqueue.assign({ reconnectCount });
      enqueue.emit(logEvent(self, { ...context, reconnectCount }, LogEvent.RECONNECT_START, { attempt: reconnectCount }));
    }),
    resetRetries: assign({ reconnectCount: 0, lastError: undefined, permanentKey: undefined, permanentCount: 0, backoffMs: undefined }),
    /** The next retry's delay. Kept in context: decorrelated jitter draws it from the previous one. */
    pickBackoff: assign({
      backoffMs: ({ context }) => backoffDelay(context.reconnectCount + 1, context.policy, context.random, context.backoffMs),
    }),
    /** Count identical permanent failures in a row (an auth rejection), whether the attempt failed or its link was lost before it was stable; any other outcome resets the count, and so does a stable link (`resetRetries`). */
    countPermanent: assign(({ context }) => {
      const key = permanentKey(context.lastError);
      if (key === undefined) return { permanentKey: undefined, permanentCount: 0 };
      return { permanentKey: key, permanentCount: key === context.permanentKey ? context.permanentCount + 1 : 1 };
    }),
    clearAutoConnect: assign({ autoConnect: false }),
    // Recorded by the transition rather than read back from the guards in
    // `output`: a guard swapped with provide() cannot make the reason lie.
    recordFailure: assign({ failure: (_, params: { reason: ConnectionOutput['reason'] }) => params.reason }),
    emitReconnectOk: enqueueActions(({ context, enqueue, self }, params: { fastPath: boolean }) => {
      if (params.fastPath || context.reconnectCount > 0) {
        enqueue.emit(logEvent(self, context, LogEvent.RECONNECT_OK, { attempt: context.reconnectCount, fastPath: params.fastPath }));
      }
    }),
    emitAttemptFailed: emit(({ context, self }) =>
      logEvent(self, context, LogEvent.RECONNECT_FAILED, { attempt: context.reconnectCount, error: describeError(context.lastError) }),
    ),
    /** SEND while connected: hand it to the link. */
    forward: enqueueActions(({ context, event, enqueue, self }) => {
      const { data, ticket } = event as Extract<ConnectionEvent, { type: 'SEND' }>;
      if (inProcess(self)) enqueue(() => sendOnSession(self, context.id, data, ticket));
      else enqueue.sendTo(LINK, { type: 'LINK_SEND', data, ticket });
    }),
    /** SEND while not connected: queue it, never silently dropping anything. */
    queue: enqueueActions(({ context, event, enqueue, self }) => {
      const e = event as Extract<ConnectionEvent, { type: 'SEND' }>;
      const entry: OutboxEntry = { data: e.data, ticket: e.ticket };
      const { queue, dropped } = enqueue_(context, entry);
      if (queue !== context.outbox) enqueue.assign({ outbox: queue });
      if (dropped) {
        // Settled as an action, not while the transition is computed (XState may compute without executing).
        const error = new OutboxOverflowError(context.id, context.outboxLimit, context.overflow);
        enqueue(() => dropped.ticket?.reject(error));
        enqueue.emit(logEvent(self, context, LogEvent.OUTBOX_OVERFLOW, { limit: context.outboxLimit, overflow: context.overflow, droppedNew: dropped === entry }));
      }
    }),
    dropVolatile: enqueueActions(({ context, event, enqueue, self }) => {
      const e = event as Extract<ConnectionEvent, { type: 'SEND' }>;
      const error = new MessageDroppedError(context.id, 'volatile', `volatile message to "${context.id}" dropped while ${context.state}`);
      enqueue(() => e.ticket?.reject(error));
      enqueue.emit(logEvent(self, context, LogEvent.MESSAGE_DROPPED, { reason: 'volatile', count: 1 }));
    }),
    /** On (re)connect: queued messages go first, in order, before any newer SEND. */
    flushOutbox: enqueueActions(({ context, enqueue, self }) => {
      const { outbox, id } = context;
      if (outbox.length === 0) return;
      if (inProcess(self)) {
        enqueue(() => {
          for (const entry of outbox) sendOnSession(self, id, entry.data, entry.ticket);
        });
      } else {
        for (const entry of outbox) enqueue.sendTo(LINK, { type: 'LINK_SEND', data: entry.data, ticket: entry.ticket });
      }
      enqueue.assign({ outbox: [] });
    }),
    /** In `failed` nothing will be sent again: tell every queued sender. */
    rejectOutbox: enqueueActions(({ context, enqueue, self }) => {
      if (context.outbox.length === 0) return;
      const error = new ConnectionFailedError(context.id, context.reconnectCount, { cause: context.lastError });
      const outbox = context.outbox;
      enqueue(() => {
        for (const entry of outbox) entry.ticket?.reject(error);
      });
      enqueue.emit(logEvent(self, context, LogEvent.MESSAGE_DROPPED, { reason: 'failed', count: context.outbox.length }));
      enqueue.assign({ outbox: [] });
    }),
    emitData: emit(({ context, event, self }) => ({
      type: 'DATA' as const,
      connectionId: context.id,
      timestamp: clockNow(self),
      data: (event as Extract<LinkReport, { type: 'LINK_DATA' }>).data,
    })),
    raiseStale: raise(({ context }) => ({
      type: 'LINK_DOWN' as const,
      error: new StaleLinkError(context.policy.staleAfterMs, { connectionId: context.id, kind: context.kind }),
    })),
    linkCrashed: raise(({ context, event }) => ({
      type: 'LINK_FAILED' as const,
      gen: context.gen,
      error: (event as { error?: unknown }).error,
    })),
    raiseDown: raise(({ event }) => ({ type: 'LINK_DOWN' as const, error: (event as { error?: unknown }).error })),
  },
});

const definition = connectionSetup.createMachine({
  id: 'connection',
  context: ({ input }) => {
    validateInput(input);
    const outbox = resolveOutbox(input.outbox, 'input.outbox');
    return {
      id: input.id,
      kind: input.transport.kind,
      transport: input.transport,
      policy: resolvePolicy(input.policy, 'input.policy'),
      outboxLimit: outbox.limit,
      overflow: outbox.overflow,
      outbox: [],
      reconnectCount: 0,
      gen: 0,
      state: 'disconnected',
      lastError: undefined,
      links: input.links,
      permanentKey: undefined,
      permanentCount: 0,
      autoConnect: input.autoConnect === true,
      random: input.random ?? Math.random,
      failure: undefined,
      backoffMs: undefined,
    };
  },
  initial: 'disconnected',
  on: {
    SEND: [{ guard: 'isVolatile', actions: 'dropVolatile' }, { actions: 'queue' }],
    // A transport actor that throws is a failed attempt (or a lost link), never a crash.
    'xstate.error.actor.link': { actions: 'linkCrashed' },
  },
  states: {
    disconnected: {
      entry: { type: 'enterState', params: { state: 'disconnected' } },
      initial: 'idle',
      states: {
        idle: {
          entry: 'dropLink',
          always: { guard: 'autoConnectPending', target: '#connection.active.connecting', actions: 'clearAutoConnect' },
        },
        // DISCONNECT while a link existed: wait until it is really closed.
        closing: {
          on: { LINK_CLOSED: { guard: 'isCurrentLink', target: 'idle' } },
        },
      },
      on: {
        CONNECT: { target: 'active.connecting', actions: 'resetRetries' },
      },
    },
    /**
     * The states with a link, or one on its way: what they share is here, once.
     * `active` is a grouping, not a state name (the six names are a public
     * contract: `topState`, EVENT_STATE_CHANGE); it has no entry or exit of its own.
     */
    active: {
      // Drawn as a frame around its children, not as a state (visualizer/graph.ts).
      meta: { group: true },
      // Only named because XState requires one: every transition into `active` names its child.
      initial: 'connecting',
      on: {
        DISCONNECT: { target: '#connection.disconnected.closing', actions: 'closeLink' },
        // A transition of `active` to one of its children exits the current
        // child first, even when it is that child: in tx_dropped, TX_DROP and
        // RECONNECT {fastPath} re-enter it (a new attempt, the timer restarted).
        TX_DROP: '.tx_dropped',
        RECONNECT: [{ guard: 'isFastPath', target: '.tx_dropped' }, { target: 'reconnecting' }],
        // An attempt that fails (connecting, tx_dropped); `connected` handles it its own way.
        LINK_FAILED: { guard: 'isCurrentLink', target: 'reconnecting', actions: ['recordError', 'countPermanent', 'emitAttemptFailed'] },
      },
      states: {
        connecting: {
          entry: [{ type: 'enterState', params: { state: 'connecting' } }, 'dropLink', 'openLink'],
          after: {
            connectTimeout: { target: '#connection.reconnecting', actions: [{ type: 'recordTimeout', params: { ms: 'connect' } }, 'countPermanent', 'emitAttemptFailed'] },
          },
          on: {
            LINK_OPEN: { guard: 'isCurrentLink', target: 'connected', actions: { type: 'emitReconnectOk', params: { fastPath: false } } },
          },
        },
        connected: {
          entry: [{ type: 'enterState', params: { state: 'connected' } }, 'flushOutbox'],
          // Targetless, so it fires once per entry and never re-enters the state.
          after: {
            stableAfter: { actions: [{ type: 'log', params: { type: LogEvent.CONNECTION_STABLE } }, 'resetRetries'] },
          },
          initial: 'checking',
          states: {
            // Stale-link detection: a resettable timer, only when staleAfterMs is set.
            checking: { always: [{ guard: 'staleCheckOff', target: 'unwatched' }, { target: 'watching' }] },
            unwatched: {},
            watching: {
              after: { staleAfter: { actions: 'raiseStale' } },
              on: {
                DATA_RECEIVED: { target: 'watching', reenter: true },
                LINK_DATA: { guard: 'isCurrentLink', target: 'watching', reenter: true, actions: 'emitData' },
              },
            },
          },
          on: {
            SEND: { actions: 'forward' },
            LINK_DATA: { guard: 'isCurrentLink', actions: 'emitData' },
            LINK_LOST: { guard: 'isCurrentLink', actions: 'raiseDown' },
            // The transport actor crashed (a transport broke the contract): the link is as good as lost.
            LINK_FAILED: { guard: 'isCurrentLink', actions: 'raiseDown' },
            // A lost link: retry, or (server-side links, `reconnect: false`) just end.
            LINK_DOWN: [
              // A link refused right after it opened (TLS 1.3 reports a missing client certificate
              // after the handshake) counts as a permanent failure too; only a stable link forgets them.
              { guard: 'reconnectEnabled', target: '#connection.reconnecting', actions: ['recordError', 'countPermanent'] },
              { target: '#connection.disconnected', actions: 'recordError' },
            ],
          },
        },
        tx_dropped: {
          entry: [
            { type: 'enterState', params: { state: 'tx_dropped' } },
            { type: 'log', params: { type: LogEvent.TX_DROP_DETECTED } },
            { type: 'log', params: { type: LogEvent.FAST_PATH_ACTIVE } },
            'dropLink',
            'openLink',
          ],
          after: {
            fastPathTimeout: { target: '#connection.reconnecting', actions: [{ type: 'recordTimeout', params: { ms: 'fastPath' } }, 'countPermanent', 'emitAttemptFailed'] },
          },
          on: {
            LINK_OPEN: { guard: 'isCurrentLink', target: 'connected', actions: { type: 'emitReconnectOk', params: { fastPath: true } } },
          },
        },
      },
    },
    reconnecting: {
      entry: [{ type: 'enterState', params: { state: 'reconnecting' } }, 'dropLink', 'pickBackoff'],
      always: [
        {
          guard: 'retriesExhausted',
          target: 'failed',
          actions: [{ type: 'recordFailure', params: { reason: 'retries_exhausted' } }, { type: 'log', params: { type: LogEvent.MAX_RETRIES_EXCEEDED } }],
        },
        // The same permanent failure again (credentials rejected twice): retrying will not help.
        { guard: 'permanentRepeated', target: 'failed', actions: { type: 'recordFailure', params: { reason: 'permanent_failure' } } },
      ],
      after: {
        backoff: { target: 'active.connecting', actions: 'startRetry' },
      },
      on: {
        CONNECT: { target: 'active.connecting', actions: 'startRetry' },
        DISCONNECT: 'disconnected',
        TX_DROP: 'active.tx_dropped',
        RECONNECT: [{ guard: 'isFastPath', target: 'active.tx_dropped' }],
      },
    },
    failed: {
      type: 'final',
      entry: [{ type: 'enterState', params: { state: 'failed' } }, 'dropLink', 'rejectOutbox'],
    },
  },
  // What a parent gets in onDone / xstate.done.actor.<id> and toPromise resolves with (`ConnectionOutput`).
  output: ({ context }) => failureOutput(context),
});

type AnyMachineClass = new (config: unknown, implementations?: unknown) => AnyStateMachine;

/**
 * `connectionMachine`'s class: a StateMachine that closes the links its actors
 * run in-process. XState v5 runs no exit actions when an actor is stopped, so
 * the place to see the stop (and a transition that throws, which leaves the
 * actor in error) is the machine logic's own `transition`. `provide()` keeps
 * the class, so every variant closes its links too.
 */
class ConnectionStateMachine extends (StateMachine as unknown as AnyMachineClass) {
  override transition(snapshot: never, event: { type: string }, actorScope: { self: AnyActorRef }) {
    if (event.type === 'xstate.stop') dropSession(actorScope.self);
    try {
      return super.transition(snapshot, event, actorScope as never);
    } catch (error) {
      dropSession(actorScope.self);
      throw error;
    }
  }

  override provide(implementations: Parameters<AnyStateMachine['provide']>[0]): AnyStateMachine {
    const variant = super.provide(implementations);
    return new ConnectionStateMachine(variant.config, variant.implementations);
  }
}

export const connectionMachine = new ConnectionStateMachine(definition.config, definition.implementations) as unknown as typeof definition;

function enqueue_(context: ConnectionContext, entry: OutboxEntry) {
  return enqueue(context.outbox, entry, { limit: context.outboxLimit, overflow: context.overflow });
}

/** The types whose `data` is empty (the `log` action's). */
type NoDataEvent = { [K in LogEventType]: ConnectionEventData[K] extends NoData ? K : never }[LogEventType];

function logEvent<K extends LogEventType>(self: unknown, context: ConnectionContext, type: K, data: ConnectionEventData[K]): LogEventOf<K> {
  return {
    type,
    connectionId: context.id,
    timestamp: clockNow(self),
    state: context.state,
    reconnectCount: context.reconnectCount,
    data,
  };
}

/** Identity of a permanent failure (`ConnectionError.permanent`), or undefined for any other outcome. */
function permanentKey(error: unknown): string | undefined {
  if (!(error instanceof ConnectionError) || !error.permanent) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return `${error.code}|${String(status ?? '')}|${error.message}`;
}

function failureOutput(context: ConnectionContext): ConnectionOutput {
  const { id, reconnectCount, lastError } = context;
  // toConnectionError lets any coded, named error through; the output promises an ErrorCode.
  const error = lastError === undefined || lastError instanceof StatewireError ? lastError : wrapError(lastError, context);
  if (context.failure === 'permanent_failure') {
    // Always a ConnectionError (countPermanent counts nothing else), unless a guard was swapped with provide().
    return { id, reason: 'permanent_failure', error: error instanceof ConnectionError ? error : wrapError(error ?? 'permanent failure', context), reconnectCount };
  }
  return { id, reason: 'retries_exhausted', error, reconnectCount };
}

function wrapError(error: unknown, context: ConnectionContext): ConnectionError {
  return new ConnectionError(error instanceof Error ? error.message : `link failed: ${String(error)}`, {
    connectionId: context.id,
    kind: context.kind,
    cause: error,
  });
}

function toConnectionError(error: unknown, context: ConnectionContext): unknown {
  if (error instanceof Error && (error as { code?: unknown }).code && error.name !== 'Error') return error;
  return wrapError(error, context);
}
