import { createActor, SimulatedClock, type InspectionEvent } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionEmitted, ConnectionInput, ConnectionLogEvent } from '../../machines/events.js';
import { topState } from '../../machines/state.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { recordCoverage } from './coverage.js';

export { flush };

/** A connection actor on a SimulatedClock and a mock transport, with its events recorded. */
export function startConnection(input: Partial<ConnectionInput> = {}, machine = connectionMachine) {
  const clock = new SimulatedClock();
  const mock = mockTransport();
  const emitted: ConnectionEmitted[] = [];
  const actor = createActor(machine, {
    input: { id: 'c1', transport: mock, ...input },
    clock,
    inspect: (e: InspectionEvent) => recordCoverage(e),
  });
  actor.on('*', (e) => emitted.push(e as ConnectionEmitted));
  // Errors are asserted through the snapshot; without an observer XState would rethrow them globally.
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const log = () => emitted.filter((e): e is ConnectionLogEvent => e.type !== 'DATA');
  return {
    actor,
    clock,
    mock,
    emitted,
    errors,
    /** Log event types, in order. */
    types: () => log().map((e) => e.type),
    state: () => topState(actor.getSnapshot()),
    /** Advance the clock by `ms` and let the mock's promises settle. */
    async advance(ms: number) {
      clock.increment(ms);
      await flush();
    },
    async send(event: Parameters<typeof actor.send>[0]) {
      actor.send(event);
      await flush();
    },
    stop() {
      actor.stop();
    },
  };
}
