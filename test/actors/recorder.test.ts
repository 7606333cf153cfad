/**
 * The flight recorder (issue 17 §4): `supervisor.record(file)` writes a
 * header and the fleet's records as NDJSON; folded back (the visualizer's
 * replay, visualizer/replay.ts) they give the states, kinds and restarts the
 * supervisor had, at every checkpoint of a run and at its end.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { SimulatedClock, createActor, createMachine } from 'xstate';
import { createSupervisor } from '../../actors/supervisor.js';
import { RecordingError, record, type RecordingHeader } from '../../actors/recorder.js';
import type { FleetRecord } from '../../actors/fleet-records.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { ReplayCursor, ReplayIndex, loadRecording } from '../../visualizer/replay.js';
import { recordRun, T0 } from '../helpers/recorded-run.js';

const test = suite('recorder');
let dir: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'statewire-recorder-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

test('recorder: a supervised run, recorded and replayed, has the states and restarts the supervisor had at each checkpoint and at the end', async () => {
  const file = join(dir, 'run.ndjson');
  const run = await recordRun(file);
  const [header, first, ...rest] = lines(file) as [RecordingHeader & Record<string, any>, FleetRecord, ...FleetRecord[]];
  assert.is(header.format, 'statewire-recording');
  assert.is(header.version, 1);
  assert.is(header.supervisor, 'incident');
  assert.is(header.startedAt, T0);
  assert.is(header.startedAtIso, new Date(T0).toISOString());
  assert.is(header.machine.hostname, hostname());
  assert.is(header.machine.node, process.version);
  assert.is(first.type, 'children');
  assert.is(rest.at(-1)!.type, 'end');
  const types = new Set<string>(rest.map((r) => (r.type === 'event' ? r.event.type : r.type)));
  for (const t of ['EVENT_STATE_CHANGE', 'EVENT_RECONNECT_START', 'EVENT_MAX_RETRIES_EXCEEDED', 'EVENT_POWER_READING', 'EVENT_POWER_CRITICAL', 'diff']) assert.ok(types.has(t), `${t} recorded`);

  const recording = await loadRecording(file);
  assert.equal(recording.warnings, []);
  const cursor = new ReplayCursor(new ReplayIndex(recording));
  const at = (t: number) => {
    cursor.seek(t);
    const rows = cursor.model.all();
    return { t, states: Object.fromEntries(rows.map((r) => [r.id, r.state])), restarts: Object.fromEntries(rows.map((r) => [r.id, r.restarts])) };
  };
  assert.ok(new Set(Object.values(run.checkpoints[1]!.states)).size >= 2, `the middle checkpoint has children in several states: ${JSON.stringify(run.checkpoints[1]!.states)}`);
  assert.ok(!('temp-1' in run.checkpoints[1]!.states) && !('temp-0' in run.checkpoints[2]!.states), 'children left');
  assert.ok(Object.values(run.final.restarts).some((n) => n > 0), 'children were restarted');
  for (const cp of run.checkpoints) assert.equal(at(cp.t), cp, `at ${cp.t - T0} ms`);
  // Backwards too (from a keyframe), and forwards again.
  assert.equal(at(run.checkpoints[0]!.t), run.checkpoints[0]);
  assert.equal(at(recording.end), { ...run.final, t: recording.end }, 'the end: what the supervisor had when the recording stopped');
  // Kinds, from the same fold.
  assert.equal(cursor.model.counts().byKind, { 'websocket (simulated)': 3, 'unix (simulated)': 3, 'serial (simulated)': 4 });
});

test('recorder: it ends by itself when the supervisor shuts down; stop() then resolves; nothing is recorded after', async () => {
  const file = join(dir, 'shutdown.ndjson');
  const sup = createSupervisor({ id: 'short', clock: new SimulatedClock() });
  sup.startChild({ id: 'a', transport: mockTransport() });
  await flush();
  const recording = sup.record(file);
  await sup.shutdown();
  await recording.stop();
  await recording.stop();
  const records = lines(file).slice(1) as FleetRecord[];
  const end = records.at(-1)!;
  assert.equal(end.type === 'end' && end.reason, 'supervisor stopped');
  assert.is(records.filter((r) => r.type === 'end').length, 1);
  assert.ok(records.some((r) => r.type === 'event' && r.event.type === 'EVENT_STATE_CHANGE' && r.event.data.to === 'disconnected'));
  assert.is(recording.lines, records.length + 1);
});

test('recorder: an event whose data JSON cannot hold is recorded as near as JSON can (a BigInt as digits and n, a cycle marked); a file that cannot be opened throws a RecordingError at once; bad arguments are TypeErrors', async () => {
  const file = join(dir, 'odd.ndjson');
  const sup = createSupervisor({ id: 'odd', clock: new SimulatedClock() });
  try {
    sup.startChild({ id: 'a', transport: mockTransport() });
    await flush();
    const recording = sup.record(file, { everyMs: 1000 });
    sup.connection('a').publish('EVENT_POWER_READING', { watts: 10n as unknown as number });
    const loop: Record<string, unknown> = { name: 'loop', shared: { x: 1 } };
    loop.self = loop;
    loop.again = loop.shared; // seen twice but not a cycle: kept
    sup.connection('a').publish('EVENT_POWER_READING', loop as never);
    await recording.stop();
    const [odd, cyclic] = lines(file).filter((r) => r.type === 'event' && r.event.type === 'EVENT_POWER_READING');
    assert.equal(odd.event.data, { watts: '10n' });
    assert.is(odd.event.connectionId, 'a');
    assert.equal(cyclic.event.data, { name: 'loop', shared: { x: 1 }, self: '[Circular]', again: { x: 1 } });

    assert.throws(
      () => sup.record(join(dir, 'no', 'such', 'dir.ndjson')),
      (e: Error) => e instanceof RecordingError && e.code === 'ERR_RECORDING' && /^cannot record to .*dir\.ndjson: ENOENT/.test(e.message),
    );
    assert.throws(() => sup.record(''), (e: Error) => e instanceof TypeError && /^file must be a non-empty string/.test(e.message));
    assert.throws(() => sup.record(join(dir, 'x.ndjson'), { everyMs: 0 }), (e: Error) => e instanceof RangeError && /^options\.everyMs/.test(e.message));
  } finally {
    await sup.shutdown();
  }
});

test('recorder: a supervisor actor that fails ends the recording (reason "supervisor failed") and closes the file; the failure is not thrown again as an uncaught error', async () => {
  const file = join(dir, 'failed.ndjson');
  const actor = createActor(
    createMachine({
      on: {
        BOOM: {
          actions: () => {
            throw new Error('boom');
          },
        },
      },
    }),
  );
  // The supervisor's own observer: it handles the error (it logs it).
  actor.subscribe({ error: () => {} });
  actor.start();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const source = { id: 'failing', clock: new SimulatedClock(), events$: new Subject<never>(), actor, whichChildren: () => [], child: () => undefined };
    const recording = record(source, file);
    actor.send({ type: 'BOOM' });
    await recording.stop();
    await new Promise((r) => setTimeout(r, 10)); // XState reports an unhandled error from a timer
    assert.equal(uncaught, []);
    const last = lines(file).at(-1)!;
    assert.is(last.type, 'end');
    assert.is(last.reason, 'supervisor failed');
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

test.run();
