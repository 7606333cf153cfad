/**
 * The `scale-ws` bench harness end to end, small (issue 15, section 5): a
 * TaskLogHub in one process, 200 viewers in two others, connect, heap, the
 * server restarted and every viewer back. Figures are printed by the bench,
 * never asserted here: this checks the harness counts right, and that a run
 * that cannot finish says why and leaves no process behind.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnLines, tsxArgs } from './helpers/spawn.js';

const test = suite('bench scale-ws');
const SCRIPT = 'bench/scale/ws-server.ts';

/** What ws-server.ts prints (its JSON shape; nothing imports bench/). */
interface Figure {
  figure: string;
  subject: string;
  n: number;
  processes: number;
  connectMs: number;
  heapUsedMB: number;
  bytesPerViewer: number;
  viewers: { connected: number; back: number };
  storm: { accepts: number; peakPer100ms: number; allBackMs: number; windows: string; viewers: { connected: number; back: number; lost: number } };
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

test('scale-ws: 200 hub viewers in 2 processes connect, get their queued line, and all come back after a restart', async () => {
  const run = spawnLines(process.execPath, ['--expose-gc', ...tsxArgs(SCRIPT, 'hub', '200', '--procs', '2', '--down-ms', '0', '--timeout-ms', '30000')]);
  const code = await run.exited;
  assert.is(code, 0, run.stderr());
  const f = JSON.parse(run.lines.at(-1)!) as Figure;
  assert.is(f.figure, 'scale-ws');
  assert.is(f.subject, 'hub');
  assert.is(f.n, 200);
  assert.is(f.processes, 2);
  assert.is(f.viewers.connected, 200);
  assert.ok(f.heapUsedMB > 0 && f.bytesPerViewer > 0);
  // Every viewer lost its first connection once and got its line again on a second one.
  assert.is(f.storm.viewers.back, 200);
  assert.is(f.storm.viewers.lost, 200);
  assert.ok(f.storm.accepts >= 200, `accepts ${f.storm.accepts}`);
  assert.is(f.storm.windows.split(' ').reduce((a, w) => a + Number(w), 0) <= f.storm.accepts, true);
  assert.ok(f.storm.peakPer100ms >= 1 && f.storm.peakPer100ms <= f.storm.accepts);
});

test('scale-ws: viewers that do not all connect in time fail the run with how many did, and its viewer processes are killed', async () => {
  // --in-flight 0: no viewer may start opening, so none ever connects.
  const run = spawnLines(process.execPath, ['--expose-gc', ...tsxArgs(SCRIPT, 'ws', '20', '--procs', '2', '--in-flight', '0', '--timeout-ms', '500')]);
  const code = await run.exited;
  assert.is(code, 1);
  const message = run.stderr();
  assert.match(message, /ws 20: connecting, \d+ s in, the server counts 0 of 20: gave up after 500 ms/);
  const pids = /viewer processes ([\d, ]+) killed/.exec(message)?.[1]?.split(', ').map(Number);
  assert.is(pids?.length, 2, message);
  // SIGKILLed on exit; reaped by init a moment later.
  for (let i = 0; i < 100 && !pids!.every(gone); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(pids!.every(gone), `viewer processes ${pids!.join(', ')} still running`);
});

test.run();
