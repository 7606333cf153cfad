/**
 * supervisorMachine as a pure function (issue 10): computing a transition
 * has no observable effect. Stopping a child rejects its queued senders in an
 * action of its own (`rejectOutbox`), queued before the stop, not while XState
 * works out the next state.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, initialTransition, transition } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { MessageDroppedError } from '../../machines/ports/errors.js';
import { supervisorMachine, type ResolvedChildSpec } from '../../machines/supervisor.machine.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';

const test = suite('supervisor machine');

/** A pure supervisor snapshot holding one live, disconnected child with a queued message. */
function withQueuedChild() {
  const [snapshot] = initialTransition(supervisorMachine, { id: 'sup', strategy: 'one_for_one', maxRestarts: 3, periodMs: 5000 });
  const transport = mockTransport();
  const child = createActor(connectionMachine, { input: { id: 'b', transport } }).start();
  let rejected: Error | undefined;
  child.send({ type: 'SEND', data: 'queued', ticket: { resolve() {}, reject: (e) => (rejected = e) } });
  const spec: ResolvedChildSpec = {
    id: 'b', transport, restart: 'permanent', policy: undefined, outbox: undefined, shutdownMs: 100, autoConnect: false, machine: connectionMachine, random: undefined,
  };
  snapshot.context.specs.push(spec);
  snapshot.context.refs.b = child;
  return { snapshot, child, rejected: () => rejected };
}

for (const event of [{ type: 'REMOVE_CHILD', id: 'b' }, { type: 'RESTART_CHILD', id: 'b' }] as const) {
  test(`supervisor machine: ${event.type} rejects queued senders in an action, before the stop, not while computing`, () => {
    const s = withQueuedChild();
    const [, actions] = transition(supervisorMachine, s.snapshot, event);
    assert.is(s.rejected(), undefined, 'nothing happened while the transition was computed');
    const types: string[] = actions.map((a) => a.type);
    const reject = types.indexOf('rejectOutbox');
    assert.ok(reject >= 0 && reject < types.indexOf('xstate.stopChild'), types.join(', '));
    const action = actions[reject]!;
    assert.equal(action.params, { ref: s.child, reason: 'stopped' });
    // Run as XState would: now the sender is told.
    (action as { exec?: (info: unknown, params: unknown) => void }).exec?.(action.info, action.params);
    assert.instance(s.rejected(), MessageDroppedError);
    s.child.stop();
  });
}

test.run();
