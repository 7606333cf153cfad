/** Examples run as users run them: spawned, watched, stopped with Ctrl-C. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const test = suite('examples');
const root = fileURLToPath(new URL('..', import.meta.url));

test('examples: basic.ts prints structured events for both connections and exits cleanly on SIGINT', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/basic.ts', '--faults-every', '100'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!(out.includes('EVENT_TX_DROP_DETECTED') && out.includes('EVENT_RECONNECT_FAILED')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  const code = await exited;
  assert.is(code, 0, err);
  assert.match(out, /radio\s+EVENT_STATE_CHANGE\s+connecting/);
  assert.match(out, /agent\s+EVENT_RECONNECT_FAILED/);
  assert.match(out, /radio\s+EVENT_TX_DROP_DETECTED/);
  assert.match(out, /shut down cleanly\n$/);
});

test('examples: task-logs.ts serves the page, runs the task, and exits cleanly on SIGINT', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/task-logs.ts', '--port', '0', '--steps', '3', '--interval', '10'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!out.includes('task finished') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const url = /open (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out)?.[1];
  assert.ok(url, out + err);
  const html = await (await fetch(url!)).text();
  assert.match(html, /new WebSocket\(/);
  assert.match(out, /hub queued \{"taskId":"import-2026","queued":3\}/);
  child.kill('SIGINT');
  assert.is(await exited, 0, err);
  assert.match(out, /shut down cleanly\n$/);
});

test.run();
