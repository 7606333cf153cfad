import { SimulatedClock } from 'xstate';
import { createSupervisor, type SupervisorOptions } from '../../actors/supervisor.js';
import type { ConnectionLogEvent } from '../../machines/events.js';
import { mockTransport, type MockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { recordCoverage } from './coverage.js';

/** A supervisor on a SimulatedClock, its events recorded, with mock transports by id. */
export function startSupervisor(options: SupervisorOptions = {}) {
  const clock = new SimulatedClock();
  const sup = createSupervisor({ clock, inspect: recordCoverage, ...options });
  const events: ConnectionLogEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  const mocks: Record<string, MockTransport> = Object.create(null);
  /** Close order of links, by child id. */
  const closes: string[] = [];
  const transport = (id: string) => {
    const mock = mockTransport();
    const connect = mock.connect.bind(mock);
    // Wrap connect to learn when each of this child's links closes.
    mock.connect = async (o) => {
      const link = await connect(o);
      void link.closed.then(() => closes.push(id));
      return link;
    };
    return (mocks[id] = mock);
  };
  return {
    sup,
    clock,
    events,
    mocks,
    closes,
    transport,
    async advance(ms: number) {
      clock.increment(ms);
      await flush();
    },
    flush,
  };
}
