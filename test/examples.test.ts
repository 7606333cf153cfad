/** Examples run as users run them: spawned, watched, stopped with Ctrl-C. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { freePort } from './helpers/net.js';

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

test('npm start: prints the visualizer URL, serves the page, and exits cleanly on SIGINT within the shutdown timeout', async () => {
  // As a user runs it: npm in its own process group, Ctrl-C sent to the group.
  const child = spawn('npm', ['start', '--', '--port', '0', '--quiet'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(code === null ? String(signal) : String(code))));
  const deadline = Date.now() + 30_000;
  while (!/visualizer at http/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const url = /visualizer at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
  assert.ok(url, out + err);
  const html = await (await fetch(url!)).text();
  assert.match(html, /<svg id="chart"/);
  const graph = (await (await fetch(`${url}graph.json`)).json()) as { states: unknown[] };
  assert.is(graph.states.length, 6);
  const t0 = Date.now();
  process.kill(-child.pid!, 'SIGINT');
  const code = await exited;
  // npm passes Ctrl-C on and then ends by that signal itself; the demo under it must exit 0 after a clean shutdown.
  assert.ok(code === '0' || code === 'SIGINT', `npm ended with ${code}: ${err}`);
  assert.not.match(err, /Error|ELIFECYCLE/);
  assert.ok(Date.now() - t0 < 5000, `exited in ${Date.now() - t0} ms (the demo's shutdown timeout is 5000 ms)`);
  assert.match(out, /shut down cleanly\n$/);
});

test('npm start: the fault injector makes every connection state appear (faster pace)', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--port', '0', '--faults-every', '300'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const states = ['disconnected', 'connecting', 'connected', 'reconnecting', 'tx_dropped', 'failed'];
  const seen = () => states.filter((s) => new RegExp(`→ ${s}\\b`).test(out));
  const deadline = Date.now() + 20_000;
  while (seen().length < states.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  assert.is(await exited, 0);
  assert.equal(seen(), states);
});

test('npm start -- --help lists the options', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--help'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.is(code, 0);
  for (const opt of ['--port', '--faults-every', '--inspect', '--inspect-port']) assert.match(out, new RegExp(opt));
});

test('npm start -- --inspect: the local @statelyai/inspect bridge receives the system\'s inspection events', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--port', '0', '--inspect', '--inspect-port', String(port), '--quiet'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/visualizer at http/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // What the Stately inspector page would get: the bridge relays (and replays) the inspector's messages.
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const got: string[] = [];
  ws.on('message', (d) => got.push(String(d)));
  ws.on('error', () => {});
  while (!got.some((m) => m.includes('@xstate.snapshot')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(got.some((m) => m.includes('@xstate.snapshot') && m.includes('ws-echo')), `bridge got ${got.length} messages; ${err}`);
  ws.terminate();
  child.kill('SIGINT');
  assert.is(await exited, 0, err);
  assert.match(out, /shut down cleanly/);
});

test.run();
