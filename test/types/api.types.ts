/**
 * Type tests: checked by `npm run typecheck` (tsc), never run. Each
 * `@ts-expect-error` fails the type check if the line below it compiles.
 */
import { createActor } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { createSupervisor } from '../../actors/supervisor.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { ConnectionState, LogEvent, type ConnectionLogEvent, type LogEventType } from '../../machines/events.js';
import { inState, topState } from '../../machines/state.js';

// A transport adds its own structured events the way it adds error codes: by declaration merging.
declare module '../../machines/ports/events.js' {
  interface ConnectionEventData {
    EVENT_TYPES_TEST_ONLY: { n: number };
  }
}

const transport = mockTransport();
const actor = createActor(connectionMachine, { input: { id: 'a', transport } });

actor.send({ type: 'CONNECT' });
actor.send({ type: 'SEND', data: 'x', volatile: true });
actor.send({ type: 'RECONNECT', fastPath: true });

// @ts-expect-error unknown event type
actor.send({ type: 'CONECT' });
// @ts-expect-error SEND needs data
actor.send({ type: 'SEND' });
// @ts-expect-error data must be a string or Uint8Array
actor.send({ type: 'SEND', data: 42 });
// @ts-expect-error fastPath is a boolean
actor.send({ type: 'RECONNECT', fastPath: 'yes' });

// @ts-expect-error input needs a transport
createActor(connectionMachine, { input: { id: 'a' } });
// @ts-expect-error overflow policy is one of three names
createActor(connectionMachine, { input: { id: 'a', transport, outbox: { overflow: 'drop-random' } } });
// @ts-expect-error policy fields are typed
createActor(connectionMachine, { input: { id: 'a', transport, policy: { maxRetries: 'ten' } } });

const sup = createSupervisor();
// @ts-expect-error restart type is one of three names
sup.startChild({ id: 'b', transport, restart: 'always' });
// @ts-expect-error strategy is one of three names
createSupervisor({ strategy: 'all_for_one' });

const state: ConnectionState = ConnectionState.TX_DROPPED;
// @ts-expect-error not a state
const bad: ConnectionState = 'offline';
const ev: LogEventType = LogEvent.STATE_CHANGE;
// @ts-expect-error power events are the serial transport's (by augmentation), not the generic machine's
void LogEvent.POWER_WARNING;
void [state, bad, ev];

// The six names through topState/inState; `active` only groups connecting, connected and tx_dropped.
const snapshot = actor.getSnapshot();
const top: ConnectionState = topState(snapshot);
inState(snapshot, 'connected');
// @ts-expect-error `active` is not a state name
inState(snapshot, 'active');
snapshot.matches({ active: 'tx_dropped' });
snapshot.matches('reconnecting');
// @ts-expect-error connected sits inside `active`
snapshot.matches('connected');
void top;

// Structured events: `data` is typed by `type`, no casts.
sup.events$.subscribe((e) => {
  if (e.type === 'EVENT_STATE_CHANGE') {
    const to: ConnectionState = e.data.to;
    const why: string | undefined = e.data.error?.message;
    void [to, why];
  }
  if (e.type === 'EVENT_RECONNECT_OK') {
    const fast: boolean = e.data.fastPath;
    void fast;
  }
  if (e.type === 'EVENT_TYPES_TEST_ONLY') {
    const n: number = e.data.n;
    void n;
  }
  // @ts-expect-error not every event has `to`: narrow on `type` first
  void e.data.to;
});
const augmented: ConnectionLogEvent = { type: 'EVENT_TYPES_TEST_ONLY', connectionId: 'a', timestamp: 0, state: 'connected', reconnectCount: 0, data: { n: 1 } };
// @ts-expect-error an event's data has its type's shape
const wrong: ConnectionLogEvent = { type: 'EVENT_RECONNECT_OK', connectionId: 'a', timestamp: 0, state: 'connected', reconnectCount: 0, data: { attempt: 1 } };
void [augmented, wrong];
