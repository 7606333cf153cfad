/**
 * Issue 11, defect 8: a permanently failing child silently took down its
 * healthy siblings. A permanent failure now stays `failed` (no restart, no
 * intensity), other restarts wait for backoff, and giving up is never silent.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultLogger, silentLogger } from '../../actors/supervisor.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { ConnectionError } from '../../machines/ports/errors.js';
import type { Transport } from '../../machines/ports/transport.js';
import { inState, topState } from '../../machines/state.js';
import { WebSocketHandshakeError } from '../../transports/websocket/errors.js';
import { startSupervisor } from '../helpers/supervisor.js';

const test = suite('supervisor reliability');

/** Runs `body` with console.error captured; returns what it printed. */
async function capturingConsoleError(body: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  try {
    await body();
  } finally {
    console.error = original;
  }
  return printed;
}

test('supervisor: a 401 among healthy siblings stays failed with its reason; the siblings stay connected, nothing escalates (issue 11, defect 8)', async () => {
  let s!: ReturnType<typeof startSupervisor>;
  const printed = await capturingConsoleError(async () => {
    s = startSupervisor({ id: 'feeds' }); // default options, default logger
    s.sup.startChild({ id: 'a', transport: s.transport('a') });
    // Answers every handshake 401 until `authorized`.
    const inner = s.transport('bad');
    let authorized = false;
    let attempts = 0;
    const bad: Transport = {
      kind: 'mock',
      connect: (o) => {
        attempts++;
        return authorized ? inner.connect(o) : Promise.reject(new WebSocketHandshakeError(401, { url: 'ws://feeds.test/bad', statusMessage: 'Unauthorized' }));
      },
    };
    s.sup.startChild({ id: 'bad', transport: bad });
    s.sup.startChild({ id: 'b', transport: s.transport('b') });
    await s.flush();
    const siblings = { a: s.sup.child('a'), b: s.sup.child('b') };
    // A minute, in steps: before the fix the supervisor gave up within seconds.
    for (let t = 0; t < 60_000; t += 250) await s.advance(250);
    assert.is(s.sup.actor.getSnapshot().value, 'running');
    assert.is(s.sup.report, undefined);
    assert.equal(s.sup.whichChildren().map((c) => [c.id, c.state, c.restarts]), [['a', 'connected', 0], ['bad', 'failed', 0], ['b', 'connected', 0]]);
    assert.is(s.sup.child('a'), siblings.a, 'a never restarted');
    assert.is(s.sup.child('b'), siblings.b, 'b never restarted');
    assert.is(attempts, 2, 'maxPermanentFailures (2) attempts, then no more');
    const handle = s.sup.connection('bad');
    assert.is(handle.state, 'failed');
    assert.instance(handle.lastError, WebSocketHandshakeError);
    assert.is((handle.lastError as WebSocketHandshakeError).statusCode, 401);
    assert.not.ok(s.events.some((e) => e.type === 'EVENT_SUPERVISOR_FAILED'));
    // Back by hand (new credentials, say): at once, a fresh actor.
    authorized = true;
    const again = s.sup.restartChild('bad');
    await s.flush();
    assert.ok(inState(again.getSnapshot(), 'connected'));
    assert.is(s.sup.whichChildren().find((c) => c.id === 'bad')!.restarts, 1);
    await s.sup.shutdown();
  });
  assert.equal(printed, [], 'a failing child is a warning, not printed by the default logger');
});

test('supervisor: a permanent failure of a transient child stays failed too; restartPermanentFailures restarts it and counts it', async () => {
  const s = startSupervisor({ logger: silentLogger });
  const t = s.transport('t');
  t.failNextConnects(1_000, new ConnectionError('credentials rejected', { permanent: true }));
  s.sup.startChild({ id: 't', transport: t, restart: 'transient' });
  for (let i = 0; i < 40; i++) await s.advance(250);
  assert.is(topState(s.sup.child('t')!.getSnapshot()), 'failed');
  assert.is(t.connects, 2);
  await s.sup.shutdown();

  const r = startSupervisor({ logger: silentLogger, restartPermanentFailures: true, maxRestarts: 2, periodMs: 60_000 });
  const p = r.transport('p');
  p.failNextConnects(1_000, new ConnectionError('credentials rejected', { permanent: true }));
  r.sup.startChild({ id: 'p', transport: p });
  for (let i = 0; i < 200 && r.sup.report === undefined; i++) await r.advance(250);
  assert.is(r.sup.report?.offender.id, 'p', 'restarted until the intensity gave out');
  assert.is(r.sup.report?.restarts, 2);
  await r.sup.shutdown();
  assert.throws(() => startSupervisor({ restartPermanentFailures: 'yes' as never }), (e: Error) => e instanceof TypeError && /options\.restartPermanentFailures/.test(e.message));
});

test('supervisor: a child crashing on every start leaves its siblings alone within the intensity; past it, EVENT_SUPERVISOR_FAILED and the default logger say so (issue 11)', async () => {
  const crashing = connectionMachine.provide({
    actions: {
      openLink: () => {
        throw new Error('boom on start');
      },
    },
  });
  let s!: ReturnType<typeof startSupervisor>;
  const printed = await capturingConsoleError(async () => {
    s = startSupervisor({ id: 'radios', maxRestarts: 3, periodMs: 5000 });
    s.sup.startChild({ id: 'a', transport: s.transport('a') });
    s.sup.startChild({ id: 'crash', transport: s.transport('crash'), machine: crashing });
    s.sup.startChild({ id: 'b', transport: s.transport('b') });
    await s.flush();
    const siblings = [s.sup.child('a'), s.sup.child('b')];
    const restartsSeen: number[] = [];
    while (s.sup.report === undefined && s.clock.now() < 10_000) {
      // Until the supervisor gives up, the siblings are the same, connected actors.
      assert.equal([s.sup.child('a'), s.sup.child('b')], siblings);
      assert.ok(siblings.every((ref) => inState(ref!.getSnapshot(), 'connected')));
      restartsSeen.push(s.sup.whichChildren().find((c) => c.id === 'crash')!.restarts);
      await s.advance(10);
    }
    assert.ok(s.clock.now() >= 100 + 200 + 400 - 70, `the three restarts waited their backoff (gave up at ${s.clock.now()} ms)`);
    // It crashed on its first start already (restarts 1 when the loop begins).
    assert.equal([...new Set(restartsSeen)], [1, 2, 3], 'restarted three times, one at a time');
  });
  const report = s.sup.report!;
  assert.equal({ ...report, offender: { ...report.offender, error: undefined } }, {
    supervisor: 'radios',
    errorContext: 'child_terminated',
    reason: 'reached_max_restart_intensity',
    offender: { id: 'crash', kind: 'mock', exit: 'crashed', error: undefined },
    restarts: 3,
  });
  const failed = s.events.filter((e) => e.type === 'EVENT_SUPERVISOR_FAILED');
  assert.is(failed.length, 1);
  assert.is(failed[0]!.connectionId, 'radios');
  assert.is(failed[0]!.state, 'failed');
  assert.equal(failed[0]!.type === 'EVENT_SUPERVISOR_FAILED' && failed[0]!.data.report, report);
  assert.is(printed.length, 1, printed.join('\n'));
  assert.match(printed[0]!, /^statewire: supervisor "radios" gave up \(reached_max_restart_intensity\): child "crash" \(mock\) exited crashed/);
  assert.match(printed[0]!, /boom on start/);
  await s.sup.shutdown();
});

test('supervisor: restart delays grow by backoff and start over once the child is stable (issue 11)', async () => {
  const s = startSupervisor({ logger: silentLogger, maxRestarts: 100, restartBackoff: { jitter: 0 } });
  s.sup.startChild({ id: 'a', transport: s.transport('a'), policy: { maxRetries: 0, stableAfterMs: 1000 } });
  await s.flush();
  /** Drop the link; return how long the restarted child took to connect again, in 1 ms steps of the clock. */
  const restartDelay = async () => {
    const connects = s.mocks.a!.connects;
    s.mocks.a!.drop();
    await s.flush();
    const from = s.clock.now();
    while (s.mocks.a!.connects === connects) await s.advance(1);
    return s.clock.now() - from;
  };
  assert.equal([await restartDelay(), await restartDelay(), await restartDelay(), await restartDelay()], [100, 200, 400, 800]);
  await s.advance(1000); // connected for stableAfterMs: EVENT_CONNECTION_STABLE
  assert.ok(s.events.some((e) => e.type === 'EVENT_CONNECTION_STABLE'));
  assert.is(await restartDelay(), 100, 'the backoff started over');
  // A restart by hand does not wait.
  const connects = s.mocks.a!.connects;
  s.sup.restartChild('a');
  await s.flush();
  assert.is(s.mocks.a!.connects, connects + 1);
  await s.sup.shutdown();
});

test('supervisor: a message sent while a child waits for its restart is queued, then delivered', async () => {
  const s = startSupervisor({ logger: silentLogger });
  s.sup.startChild({ id: 'a', transport: s.transport('a'), policy: { maxRetries: 0 } });
  await s.flush();
  s.mocks.a!.drop();
  await s.flush();
  assert.is(topState(s.sup.child('a')!.getSnapshot()), 'disconnected');
  const sent = s.sup.send('a', 'while restarting');
  await s.advance(110);
  await sent;
  assert.equal(s.mocks.a!.written, ['while restarting']);
  await s.sup.shutdown();
});

test('supervisor: restartBackoff is validated, naming the field', () => {
  assert.throws(() => startSupervisor({ restartBackoff: { factor: 0.5 } }), (e: Error) => e instanceof RangeError && /options\.restartBackoff\.factor/.test(e.message));
  assert.throws(() => startSupervisor({ restartBackoff: { jitterMode: 'wild' as never } }), (e: Error) => e instanceof TypeError && /options\.restartBackoff\.jitterMode must be one of relative, full, decorrelated/.test(e.message));
  assert.throws(() => startSupervisor({ restartBackoff: { maxRetries: 3 } as never }), (e: Error) => e instanceof TypeError && /options\.restartBackoff\.maxRetries is not a backoff option/.test(e.message));
  assert.throws(() => startSupervisor({ restartBackoff: 5 as never }), (e: Error) => e instanceof TypeError && /options\.restartBackoff/.test(e.message));
});

test('supervisor: defaultLogger prints error calls only', async () => {
  const printed = await capturingConsoleError(async () => {
    defaultLogger.debug('d');
    defaultLogger.info('i');
    defaultLogger.warn('w');
    defaultLogger.error('e', { x: 1 });
  });
  assert.equal(printed, ['statewire: e']);
});

test.run();
