/**
 * Type tests: checked by `npm run typecheck` (tsc), never run. Each
 * `@ts-expect-error` fails the type check if the line below it compiles.
 */
import { createActor } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { createSupervisor } from '../../actors/supervisor.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { ConnectionState, LogEvent, type LogEventType } from '../../machines/events.js';

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
const ev: LogEventType = LogEvent.POWER_WARNING;
void [state, bad, ev];

// Snapshots match the state names.
actor.getSnapshot().matches('tx_dropped');
