/**
 * A supervised run with something in it, recorded (issue 17 §4): 12 mock
 * children of three kinds on a SimulatedClock, then links dropped (two of
 * them failing until their retries run out, so the supervisor restarts them),
 * a temporary child failing for good (removed), one stopped, one restarted by
 * hand, one told to disconnect, one TX drop, and power readings with alarms.
 * Time moves in 500 ms steps, so the recorder (every 250 ms) keeps up; at
 * each checkpoint the supervisor's own answer (`whichChildren()`) is kept
 * for the replay to match.
 */
import { SimulatedClock } from 'xstate';
import { createSupervisor } from '../../actors/supervisor.js';
import { mockTransport, type MockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';

export interface Checkpoint {
  t: number;
  states: Record<string, string>;
  restarts: Record<string, number>;
}

export const T0 = Date.UTC(2024, 5, 1, 9, 30);
const KINDS = ['websocket (simulated)', 'unix (simulated)', 'serial (simulated)'];
const POLICY = { initialBackoffMs: 1000, maxBackoffMs: 1000, factor: 1, jitter: 0, maxRetries: 2, stableAfterMs: 5000 };

export async function recordRun(file: string): Promise<{ checkpoints: Checkpoint[]; final: Checkpoint; lines: number }> {
  const clock = new SimulatedClock();
  clock.set(T0);
  const sup = createSupervisor({ id: 'incident', clock, maxRestarts: 100, periodMs: 60_000, restartBackoff: { initialBackoffMs: 1000, jitter: 0 }, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  const mocks = new Map<string, MockTransport>();
  const start = (id: string, i: number, restart: 'permanent' | 'temporary') => {
    const transport = mockTransport({ kind: KINDS[i % 3]! });
    mocks.set(id, transport);
    sup.startChild({ id, transport, restart, policy: POLICY });
  };
  for (let i = 0; i < 9; i++) start(`conn-${i}`, i, 'permanent');
  for (let i = 0; i < 3; i++) start(`temp-${i}`, i, 'temporary');
  await flush();
  const recording = sup.record(file);
  const checkpoints: Checkpoint[] = [];
  // What happens next is stamped 1 ms later: "the fleet at t" holds everything stamped t.
  const checkpoint = (): Checkpoint => {
    const children = sup.whichChildren();
    clock.increment(1);
    return { t: clock.now() - 1, states: Object.fromEntries(children.map((c) => [c.id, c.state])), restarts: Object.fromEntries(children.map((c) => [c.id, c.restarts])) };
  };
  const steps = async (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.increment(500);
      await flush();
    }
  };
  try {
    await steps(4);
    checkpoints.push(checkpoint()); // all connected

    for (const id of ['conn-0', 'conn-1', 'conn-2']) mocks.get(id)!.drop('peer gone');
    for (const id of ['conn-3', 'conn-4']) {
      mocks.get(id)!.failNextConnects(3);
      mocks.get(id)!.drop('cable pulled');
    }
    mocks.get('temp-0')!.failNextConnects(100);
    mocks.get('temp-0')!.drop('browser closed');
    await sup.stopChild('temp-1');
    const rig = sup.connection('conn-5');
    for (const watts of [48, 47.5, 0, 0, 0]) {
      rig.publish('EVENT_POWER_READING', { watts });
      if (watts === 0) rig.publish('EVENT_POWER_WARNING', { watts, consecutiveZeros: 1 });
      await steps(1);
    }
    rig.publish('EVENT_POWER_CRITICAL', { watts: 0, consecutiveZeros: 3 });
    checkpoints.push(checkpoint()); // in the middle of it: reconnecting, failed, restarting

    await steps(20);
    checkpoints.push(checkpoint()); // settled: the temporary one gone, the others back

    sup.restartChild('conn-6');
    sup.child('conn-7')!.send({ type: 'DISCONNECT' });
    sup.child('conn-8')!.send({ type: 'TX_DROP' });
    await steps(6);
    return { checkpoints, final: checkpoint(), lines: recording.lines };
  } finally {
    await recording.stop();
    await sup.shutdown();
  }
}
