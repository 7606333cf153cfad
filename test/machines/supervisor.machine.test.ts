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
import { ConnectionError, MessageDroppedError } from '../../machines/ports/errors.js';
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

test('supervisor machine: a child that failed permanently is neither restarted nor counted (issue 11)', () => {
  const s = withQueuedChild();
  const error = new ConnectionError('HTTP 401', { permanent: true });
  const [next, actions] = transition(supervisorMachine, s.snapshot, {
    type: 'xstate.done.actor.b', actorId: 'b', output: { id: 'b', reason: 'permanent_failure', error, reconnectCount: 1 },
  });
  const types: string[] = actions.map((a) => a.type);
  assert.equal(next.context.restartLog, []);
  assert.is(next.context.refs.b, s.child, 'kept, to show it failed');
  assert.equal(types, ['xstate.emit'], 'CHILD_EXITED, and nothing else');
  s.child.stop();
});

test('supervisor machine: any other failure restarts after a delay raised on the actor clock (issue 11)', () => {
  const s = withQueuedChild();
  const [next, actions] = transition(supervisorMachine, s.snapshot, {
    type: 'xstate.done.actor.b', actorId: 'b', output: { id: 'b', reason: 'retries_exhausted', error: undefined, reconnectCount: 10 },
  });
  const types: string[] = actions.map((a) => a.type);
  assert.ok(types.includes('xstate.stopChild'), types.join(', '));
  assert.is.not(next.context.refs.b, s.child, 'a new actor (spawned, not yet connected)');
  const raise = actions.find((a) => a.type === 'xstate.raise') as { params?: { delay?: number; event?: { type: string } } } | undefined;
  assert.is(raise?.params?.event?.type, 'RESTART_DUE');
  assert.ok(raise!.params!.delay! >= 90 && raise!.params!.delay! <= 110, String(raise!.params!.delay));
  assert.is(next.context.restartLog.length, 1);
  assert.equal({ ...next.context.consecutive }, { b: 1 });
  s.child.stop();
});

test.run();
