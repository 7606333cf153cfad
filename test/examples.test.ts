/** Examples run as users run them: spawned, watched, stopped with Ctrl-C. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { loadRecording } from '../visualizer/replay.js';
import { freePort, until } from './helpers/net.js';
import { spawnLines, tsxArgs, type Spawned } from './helpers/spawn.js';
import { tempDir } from './helpers/unix.js';

const test = suite('examples');
const example = (script: string, ...args: string[]) => spawnLines(process.execPath, tsxArgs(`examples/${script}`, ...args));

/** Run `script` with its temp dir (`os.tmpdir()`, from TMPDIR) in `dir`, where the test can see what it leaves behind; `env` overrides more variables. */
function exampleIn(dir: string, script: string, args: string[], env: Record<string, string> = {}): Spawned {
  const vars = { TMPDIR: dir, ...env };
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars); // spawn copies the environment now
  try {
    return example(script, ...args);
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Pids of the processes whose command line mentions `text` (Linux: /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Send `signal` and wait at most `ms` for the exit code. A demo that does not
 * exit (something of its own still running) is killed, with what it left
 * running in `dir` (found by pid), so the test fails instead of hanging.
 */
async function stopIn(dir: string, child: Spawned, signal: NodeJS.Signals, ms = 15_000): Promise<number | null | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)));
  const code = await Promise.race([child.kill(signal), hung]);
  clearTimeout(timer);
  if (code === 'hung') {
    await child.kill('SIGKILL');
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
  }
  return code;
}

/** What is still running in `dir`, killed (by pid) so that a failing test leaves nothing behind. */
function leftRunning(dir: string): number[] {
  const pids = processesMentioning(dir);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  return pids;
}

/** The first power reading of `connectionId` from the visualizer at `url` (its /events WebSocket: `hello` and `batch` messages). */
async function powerReading(url: string, connectionId: string, ms = 20_000): Promise<{ watts: number } | undefined> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}events`);
  ws.on('error', () => {});
  let found: { watts: number } | undefined;
  ws.on('message', (data) => {
    type Reading = { connectionId: string; watts: number };
    const msg = JSON.parse(String(data)) as { type: string; power?: Reading[]; messages?: Array<{ type: string; reading?: Reading }> };
    const readings = msg.type === 'batch' ? (msg.power ?? []) : msg.type === 'hello' ? (msg.messages ?? []).flatMap((m) => (m.type === 'power' && m.reading ? [m.reading] : [])) : [];
    found ??= readings.find((r) => r.connectionId === connectionId && r.watts > 0);
  });
  await until(() => found !== undefined, `a power reading of ${connectionId}`, ms).catch(() => {});
  ws.terminate();
  return found;
}

/** Watch the visualizer at `url` (its /events WebSocket) until `done(hello labels, states seen by child id)` holds; what it saw. */
async function watchEvents(url: string, done: (labels: Record<string, string>, seen: Map<string, Set<string>>) => boolean, ms = 20_000) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}events`);
  ws.on('error', () => {});
  let labels: Record<string, string> = {};
  const seen = new Map<string, Set<string>>();
  const row = (r: { id: string; state: string }) => {
    if (!seen.has(r.id)) seen.set(r.id, new Set());
    seen.get(r.id)!.add(r.state);
  };
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { type: string; labels?: Record<string, string>; rows?: Array<{ id: string; state: string }> };
    if (msg.type === 'hello') labels = msg.labels ?? {};
    for (const r of msg.rows ?? []) row(r);
  });
  await until(() => done(labels, seen), 'the visualizer to show it', ms).catch(() => {});
  ws.terminate();
  return { labels, seen };
}

test('examples: basic.ts prints structured events for both connections and exits cleanly on SIGINT', async () => {
  const child = example('basic.ts', '--faults-every', '100');
  await child.waitFor(/EVENT_TX_DROP_DETECTED/, 15_000);
  await child.waitFor(/EVENT_RECONNECT_FAILED/, 15_000);
  assert.is(await child.kill('SIGINT'), 0, child.stderr());
  const out = child.stdout();
  assert.match(out, /radio\s+EVENT_STATE_CHANGE\s+connecting/);
  assert.match(out, /agent\s+EVENT_RECONNECT_FAILED/);
  assert.match(out, /radio\s+EVENT_TX_DROP_DETECTED/);
  assert.match(out, /shut down cleanly\n$/);
});

test('examples: basic.ts exits cleanly on SIGTERM too (issue 11, defect 11)', async () => {
  const child = example('basic.ts', '--faults-every', '100');
  await child.waitFor(/EVENT_TX_DROP_DETECTED/, 15_000); // a fault: its signal handlers are in place
  assert.is(await child.kill('SIGTERM'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
});

test('examples: embed.ts embeds connectionMachine with invoke, reacts to DATA, and prints the failure reason from onDone, exiting by itself', async () => {
  const child = example('embed.ts');
  // It must end by itself: wait for its last line, then for the exit (killed only if it hangs).
  await child.waitFor(/^connection failed:/, 15_000).catch(() => child.kill());
  const timer = setTimeout(() => void child.kill(), 5000);
  const code = await child.exited;
  clearTimeout(timer);
  assert.is(code, 0, child.stderr());
  const out = child.stdout();
  assert.match(out, /^radio connecting -> connected$/m);
  assert.match(out, /^sent \["FA;"\]$/m);
  assert.match(out, /^radio says FA00014074000;$/m);
  assert.match(out, /^radio connected -> reconnecting \(link lost: cable pulled\)$/m);
  assert.match(out, /^radio gave up after 3 retries$/m);
  assert.match(out, /connection failed: retries_exhausted, ConnectionError ERR_CONNECTION: connect ECONNREFUSED \(mock\) \(3 retries\)\n$/);
  assert.is(child.stderr(), '');
});

test('examples: task-logs.ts serves the page, runs the task, and exits cleanly on SIGINT', async () => {
  const child = example('task-logs.ts', '--port', '0', '--steps', '3', '--interval', '10');
  await child.waitFor(/task finished/, 15_000);
  const url = /open (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(child.stdout())?.[1];
  assert.ok(url, child.stdout() + child.stderr());
  const html = await (await fetch(url!)).text();
  assert.match(html, /new WebSocket\(/);
  assert.match(child.stdout(), /hub queued \{"taskId":"import-2026","queued":3\}/);
  assert.is(await child.kill('SIGINT'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
});

test('examples: task-logs.ts exits cleanly on SIGTERM too (issue 11, defect 11)', async () => {
  const child = example('task-logs.ts', '--port', '0', '--steps', '1000', '--interval', '10');
  await child.waitFor(/"queued":3\}/, 15_000); // a few steps in: its signal handlers are in place
  assert.is(await child.kill('SIGTERM'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
});

test('examples: cluster.ts starts its own redis-server, two hubs and a producer; the viewer gets every line once as it moves between hubs; it exits by itself (issue 16)', async () => {
  const child = example('cluster.ts');
  assert.is(await Promise.race([child.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]), 0, child.stdout() + child.stderr());
  const out = child.stdout();
  assert.match(out, /started redis-server at redis:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /checkout: queued\n  install: queued\n  compile: queued/);
  assert.match(out, /viewer of build-7 on hub B got #1 checkout[\s\S]*#3 compile[\s\S]*test: sent[\s\S]*hub B got #4 test/);
  assert.match(out, /viewer of build-7 on hub A got #5 package\n  viewer of build-7 on hub A got #6 done/);
  assert.match(out, /the viewer got seq 1, 2, 3, 4, 5, 6: each line once/);
  assert.match(out, /closed\n$/);
  assert.is(child.stderr(), '');
});

test('examples: cluster.ts without redis-server on PATH and without REDIS_URL says so and exits 0', async () => {
  const tmp = tempDir();
  try {
    const { REDIS_URL: _, ...env } = process.env;
    const child = spawnLines(process.execPath, tsxArgs('examples/cluster.ts'), { env: { ...env, PATH: tmp.dir } });
    assert.is(await child.exited, 0, child.stderr());
    assert.match(child.stdout(), /redis-server is not on PATH and REDIS_URL is not set: nothing to run/);
  } finally {
    tmp.remove();
  }
});

test('npm start: SIGTERM (a service manager stopping it) shuts down like Ctrl-C: exit code 0, the agent socket file and the temp dir removed (issue 11, defect 11); --record leaves a recording that replays (issue 17)', async () => {
  const tmp = tempDir();
  const recorded = join(tmp.dir, 'demo.ndjson');
  const child = exampleIn(tmp.dir, 'demo.ts', ['--port', '0', '--quiet', '--record', recorded]);
  await child.waitFor(/visualizer at http/, 30_000);
  // The demo's agent listens in $TMPDIR/statewire-demo-*/edge.sock.
  const made = readdirSync(tmp.dir).filter((name) => name.startsWith('statewire-demo-'));
  assert.is(made.length, 1, readdirSync(tmp.dir).join(', '));
  const socket = join(tmp.dir, made[0]!, 'edge.sock');
  assert.ok(existsSync(socket), 'the agent socket exists while it runs');
  assert.is(await child.kill('SIGTERM'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
  assert.not.ok(existsSync(socket), 'socket file removed');
  assert.equal(readdirSync(tmp.dir).filter((name) => name.startsWith('statewire-demo-')), [], 'temp dir removed');
  assert.match(child.stdout(), new RegExp(`^recorded \\d+ lines to ${recorded}: npx statewire replay `, 'm'));
  const recording = await loadRecording(recorded);
  assert.is(recording.header.supervisor, 'demo');
  assert.equal(recording.records.at(-1)!.type, 'end');
  assert.ok(recording.records[0]!.type === 'children' && recording.records[0]!.children.length === 0, 'recorded from the start: no child yet');
  assert.ok(recording.records.some((r) => r.type === 'event' && r.event.connectionId === 'ws-echo' && r.event.type === 'EVENT_STATE_CHANGE'), 'ws-echo is in it');
  tmp.remove();
});

test('npm start: the radio is a RadioLink to the emulator on a socat pty pair in the temp dir; its power readings reach the visualizer; SIGINT leaves no socat behind (issue 12 §6)', async () => {
  const tmp = tempDir();
  const child = exampleIn(tmp.dir, 'demo.ts', ['--port', '0', '--quiet']);
  const url = /visualizer at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(await child.waitFor(/visualizer at http/, 30_000))?.[1];
  assert.ok(url, child.stdout() + child.stderr());
  const [made] = readdirSync(tmp.dir).filter((name) => name.startsWith('statewire-demo-'));
  assert.match(child.stdout(), new RegExp(`^radio: emulated TS-590S \\(pty\\) at ${join(tmp.dir, made!, 'cat')}$`, 'm'));
  const socat = processesMentioning(tmp.dir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('socat'));
  assert.is(socat.length, 1, 'one socat, making the pty pair in the temp dir');
  const graph = (await (await fetch(`${url}graph.json`)).json()) as { states: unknown[] };
  assert.ok(graph.states.length > 0);
  const reading = await powerReading(url!, 'radio');
  assert.ok(reading, `no power reading of radio on /events; ${child.stderr()}`);
  assert.ok(reading!.watts >= 5 && reading!.watts <= 100, `a reading within the PC range: ${reading!.watts} W`);
  assert.is(await stopIn(tmp.dir, child, 'SIGINT'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
  assert.equal(leftRunning(tmp.dir), [], `nothing left running (socat was ${socat.join(', ')})`);
  assert.equal(readdirSync(tmp.dir).filter((name) => name.startsWith('statewire-demo-')), [], 'temp dir (and the pty links) removed');
  tmp.remove();
});

test('npm start: API Gateway connections through the emulator in process: apigw children connect over the AWS SDK (on /events, labelled), a browser at the printed URL becomes one and gets the ticks, SIGINT leaves nothing running (issue 13)', async () => {
  const tmp = tempDir();
  const child = exampleIn(tmp.dir, 'demo.ts', ['--port', '0', '--quiet']);
  const url = /visualizer at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(await child.waitFor(/visualizer at http/, 30_000))?.[1];
  assert.ok(url, child.stdout() + child.stderr());
  assert.match(child.stdout(), /^apigw: API Gateway emulator at ws:\/\/127\.0\.0\.1:\d+\/prod \(management API http:\/\/127\.0\.0\.1:\d+\/prod\)$/m);
  const apigw = (seen: Map<string, Set<string>>) => [...seen].filter(([id, states]) => /^apigw-\d+$/.test(id) && states.has('connected')).map(([id]) => id);
  const { labels, seen } = await watchEvents(url!, (_labels, seen) => apigw(seen).length >= 3);
  assert.ok(apigw(seen).length >= 3, `apigw children connected: ${apigw(seen).join(', ') || 'none'}; ${child.stderr()}`);
  assert.is(labels['apigw-*'], 'API Gateway (emulator)');
  // A browser of our own, at the printed URL: its connection becomes a child too, and the demo's ticks reach it.
  const browser = new WebSocket(/^apigw: API Gateway emulator at (\S+)/m.exec(child.stdout())![1]!);
  browser.on('error', () => {});
  const got: string[] = [];
  browser.on('message', (data) => got.push(String(data)));
  let closedBy: number | undefined;
  browser.on('close', (code) => (closedBy = code));
  await until(() => got.some((m) => JSON.parse(m).type === 'tick'), 'a tick at our browser', 20_000).catch(() => {});
  assert.ok(got.some((m) => JSON.parse(m).type === 'tick'), `our browser got ${JSON.stringify(got)}; ${child.stderr()}`);
  assert.is(await stopIn(tmp.dir, child, 'SIGINT'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
  assert.match(child.stdout(), /^apigw: the browsers received \d+ messages$/m);
  await until(() => closedBy !== undefined, 'our browser closed', 5000).catch(() => {}); // its close event may come after the exit
  assert.ok(closedBy === 1000 || closedBy === 1001, `our browser was disconnected by the shutdown (close ${closedBy})`);
  browser.terminate();
  assert.not.match(child.stderr(), /NodeDeprecationWarning|AWS SDK/, 'no SDK warning');
  assert.equal(leftRunning(tmp.dir), []);
  assert.equal(readdirSync(tmp.dir).filter((name) => name.startsWith('statewire-demo-')), [], 'temp dir removed');
  tmp.remove();
});

test('npm start: without socat on PATH the radio runs on SerialPortMock (mockRig), with power readings all the same', async () => {
  const tmp = tempDir();
  // An empty PATH: no socat (node is started by its full path).
  const child = exampleIn(tmp.dir, 'demo.ts', ['--port', '0', '--quiet'], { PATH: tmp.dir });
  const url = /visualizer at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(await child.waitFor(/visualizer at http/, 30_000))?.[1];
  assert.ok(url, child.stdout() + child.stderr());
  assert.match(child.stdout(), /^radio: emulated TS-590S \(SerialPortMock\) at \/dev\/statewire-mock-rig-\d+-1$/m);
  const reading = await powerReading(url!, 'radio');
  assert.ok(reading, `no power reading of radio on /events; ${child.stderr()}`);
  assert.is(await stopIn(tmp.dir, child, 'SIGTERM'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly\n$/);
  assert.equal(leftRunning(tmp.dir), []);
  assert.equal(readdirSync(tmp.dir).filter((name) => name.startsWith('statewire-demo-')), [], 'temp dir removed');
  tmp.remove();
});

test('npm start: prints the visualizer URL, serves the page, and exits cleanly on SIGINT within the shutdown timeout', async () => {
  // As a user runs it: npm in its own process group, Ctrl-C sent to the group.
  const child = spawnLines('npm', ['start', '--', '--port', '0', '--quiet'], { detached: true });
  const url = /visualizer at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(await child.waitFor(/visualizer at http/, 30_000))?.[1];
  assert.ok(url, child.stdout() + child.stderr());
  const html = await (await fetch(url!)).text();
  assert.match(html, /<svg id="chart"/);
  const graph = (await (await fetch(`${url}graph.json`)).json()) as { states: unknown[] };
  assert.is(graph.states.length, 6);
  const t0 = Date.now();
  await child.kill('SIGINT');
  const code = await child.ended;
  // npm passes Ctrl-C on and then ends by that signal itself; the demo under it must exit 0 after a clean shutdown.
  assert.ok(code === '0' || code === 'SIGINT', `npm ended with ${code}: ${child.stderr()}`);
  assert.not.match(child.stderr(), /Error|ELIFECYCLE/);
  assert.ok(Date.now() - t0 < 5000, `exited in ${Date.now() - t0} ms (the demo's shutdown timeout is 5000 ms)`);
  assert.match(child.stdout(), /shut down cleanly\n$/);
});

test('npm start: the fault injector makes every connection state appear (faster pace)', async () => {
  const child = example('demo.ts', '--port', '0', '--faults-every', '300');
  const states = ['disconnected', 'connecting', 'connected', 'reconnecting', 'tx_dropped', 'failed'];
  const seen = () => states.filter((s) => new RegExp(`→ ${s}\\b`).test(child.stdout()));
  // API Gateway's faults: a child whose browser left sees 410 and fails, then is removed; a burst meets 429.
  const apigw = {
    connected: /^\S+ apigw-\d+\s+connecting\s+→ connected$/m,
    failed: /^\S+ apigw-\d+\s+reconnecting\s+→ failed$/m,
    removed: /^\S+ apigw: apigw-\d+: gone \(410\), removed/m,
    throttled: /^\S+ apigw: burst: \d+ messages to [1-9]\d* connections, [1-9]\d* answers 429/m,
  };
  // TCP/TLS: the ConnectionManager's TLS connection, handshake told, back after the server restarts.
  const tcp = {
    handshake: /^\S+ tcp: TLS handshake done, TLSv1\.3 \S+$/m,
    restarted: /^\S+ tcp\s+reconnecting\s+→ connecting$/m,
  };
  const all = () => seen().length === states.length && [...Object.values(apigw), ...Object.values(tcp)].every((re) => re.test(child.stdout()));
  await until(all, 'every state, and the API Gateway faults', 60_000).catch(() => {});
  assert.is(await child.kill('SIGINT'), 0);
  assert.equal(seen(), states);
  for (const [what, re] of Object.entries(apigw)) assert.match(child.stdout(), re, `apigw: ${what}`);
  for (const [what, re] of Object.entries(tcp)) assert.match(child.stdout(), re, `tcp: ${what}`);
  assert.match(child.stdout(), /^tcp: TLS connection to localhost:\d+ \(development CA\)$/m);
});

test('npm start -- --help lists the options', async () => {
  const child = example('demo.ts', '--help');
  assert.is(await child.exited, 0);
  for (const opt of ['--port', '--faults-every', '--inspect', '--inspect-port', '--quiet']) assert.match(child.stdout(), new RegExp(opt));
  assert.match(child.stdout(), /socat/, 'says where the radio runs');
  assert.match(child.stdout(), /API\s+Gateway\s+emulator\s+in\s+process/, 'says where the API Gateway connections go');
});

test('npm start -- --inspect: the local @statelyai/inspect bridge receives the system\'s inspection events', async () => {
  const port = await freePort();
  const child = example('demo.ts', '--port', '0', '--inspect', '--inspect-port', String(port), '--quiet');
  await child.waitFor(/visualizer at http/, 30_000);
  // What the Stately inspector page would get: the bridge relays (and replays) the inspector's messages.
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const got: string[] = [];
  ws.on('message', (d) => got.push(String(d)));
  ws.on('error', () => {});
  await until(() => got.some((m) => m.includes('@xstate.snapshot')), 'inspection events at the bridge', 30_000).catch(() => {});
  assert.ok(got.some((m) => m.includes('@xstate.snapshot') && m.includes('ws-echo')), `bridge got ${got.length} messages; ${child.stderr()}`);
  ws.terminate();
  // Loopback only: nothing answers on the machine's other addresses.
  const others = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal).map((a) => a!.address);
  for (const host of [...others, '::1']) {
    const reached = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    assert.not.ok(reached, `the bridge answered on ${host}`);
  }
  // A page from another origin cannot read the events.
  const foreign = new WebSocket(`ws://127.0.0.1:${port}`, { origin: 'https://elsewhere.example' });
  const refused = await new Promise<number>((resolve) => {
    foreign.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    foreign.on('open', () => resolve(101));
    foreign.on('error', () => {});
  });
  foreign.terminate();
  assert.is(refused, 401);
  assert.is(await child.kill('SIGINT'), 0, child.stderr());
  assert.match(child.stdout(), /shut down cleanly/);
});

test('npm start -- --inspect with the inspector port taken: one line, exit code 2', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as AddressInfo).port;
  const child = example('demo.ts', '--port', '0', '--inspect', '--inspect-port', String(port), '--quiet');
  assert.is(await child.exited, 2, child.stderr());
  assert.is(child.stderr(), `--inspect-port ${port}: address already in use\n`);
  await new Promise((r) => taken.close(r));
});

test('npm start -- --inspect without @statelyai/inspect installed: one line saying how to install it, exit code 2', async () => {
  // A resolve hook makes the package unresolvable, as in an app that did not install the optional peer.
  const hooks = `export async function resolve(specifier, context, next) {
    if (specifier === '@statelyai/inspect' || specifier.startsWith('@statelyai/inspect/')) return next(specifier, { ...context, parentURL: 'file:///nonexistent/app.js' });
    return next(specifier, context);
  }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const child = spawnLines(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, 'examples/demo.ts', '--port', '0', '--inspect', '--quiet']);
  assert.is(await child.exited, 2, child.stderr());
  assert.is(child.stderr(), '--inspect needs @statelyai/inspect: npm install @statelyai/inspect\n');
  assert.is(child.stdout(), '');
});

test.run();
