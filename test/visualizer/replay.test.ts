/**
 * Replaying a flight recording (issue 17 §4): `loadRecording` refuses what
 * is not a recording with one clear line (and the line number), tolerates a
 * last line cut short; `serveReplay` gives each page its own place in the
 * recording (seek, play, pause, speed) over `/events`; `statewire replay`
 * serves it, and exits 1 or 2 on bad input.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { RecordingError } from '../../actors/recorder.js';
import { loadRecording } from '../../visualizer/replay.js';
import { serveReplay } from '../../visualizer/replay-server.js';
import { recordRun, type Checkpoint } from '../helpers/recorded-run.js';
import { spawnLines } from '../helpers/spawn.js';
import { until } from '../helpers/net.js';

const test = suite('visualizer replay');
let dir: string;
let good: string;
let run: Awaited<ReturnType<typeof recordRun>>;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'statewire-replay-'));
  good = join(dir, 'run.ndjson');
  run = await recordRun(good);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = JSON.stringify({ format: 'statewire-recording', version: 1, supervisor: 's', startedAt: 1, startedAtIso: new Date(1).toISOString(), machine: {} });
const CHILDREN = JSON.stringify({ type: 'children', t: 1, children: [{ id: 'a', kind: 'mock', state: 'connected', restarts: 0, reconnectCount: 0, outbox: 0 }] });
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** What loading `text` says: the error's message and line, or the warnings. */
async function load(text: string) {
  return loadRecording(file('x.ndjson', text)).then(
    (r) => ({ warnings: r.warnings, records: r.records.length }),
    (e: Error) => {
      assert.instance(e, RecordingError);
      return { error: e.message.replace(dir, '<dir>'), line: (e as RecordingError).line };
    },
  );
}

test('replay: what is not a recording is refused with one line saying why (and where); a last line cut short is only a warning', async () => {
  const missing = await loadRecording(join(dir, 'nope.ndjson')).catch((e: RecordingError) => e);
  assert.ok(missing instanceof RecordingError && missing.code === 'ERR_RECORDING' && /^cannot read .*nope\.ndjson: ENOENT/.test(missing.message), String(missing));
  assert.equal(await load(''), { error: '<dir>/x.ndjson is empty: not a statewire recording', line: 1 });
  assert.equal(await load('{\n  "pretty": "json"\n}\n'), { error: '<dir>/x.ndjson is not a statewire recording: line 1 is not JSON (a recording is NDJSON, its header first)', line: 1 });
  assert.equal(await load('{"a":1}\n'), { error: '<dir>/x.ndjson is not a statewire recording: line 1 must be its header, { "format": "statewire-recording", "version": 1, ... }', line: 1 });
  assert.equal(await load(HEADER.replace('"version":1', '"version":2') + '\n'), { error: '<dir>/x.ndjson: recording version 2, this statewire reads version 1', line: 1 });
  assert.equal(await load(`${HEADER}\n${CHILDREN}\nnot json\n{"type":"end","t":2}\n`), { error: '<dir>/x.ndjson: line 3 is not JSON (Unexpected token \'o\', "not json" is not valid JSON): not an NDJSON recording', line: 3 });
  assert.equal(await load(`${HEADER}\n${CHILDREN}\n{"type":"diff","t":2,"set":[{"id":7}],"removed":[]}\n`), { error: '<dir>/x.ndjson: line 3 is not a recording line: "diff" must have "set" (children) and "removed" (ids)', line: 3 });
  assert.equal(await load(`${HEADER}\n{"type":"end","t":2}\n`), { error: '<dir>/x.ndjson: no child list after the header: not a recording', line: 2 });
  assert.equal(await load(`${HEADER}\n${CHILDREN}\n{"type":"event","t":2,"event":{"type":"EVENT_STATE_CHANGE","connectionId":"a","timestamp":2}}\n`), {
    error: '<dir>/x.ndjson: line 3 is not a recording line: an EVENT_STATE_CHANGE must have data.to (the state)',
    line: 3,
  });
  assert.equal(await load(`${HEADER}\n${CHILDREN}\n{"type":"later","t":2}\n{"type":"event","t":3,"event":{"type":"EVENT_STA`), {
    warnings: ['line 4, the last, is cut short (the recording was not stopped): skipped', '1 line of a type this version does not know: skipped'],
    records: 1,
  });
});

interface Page {
  messages: Array<Record<string, any>>;
  send(msg: unknown): void;
  last(type: string): Record<string, any>;
  count(type: string): number;
  close(): Promise<void>;
}
async function openPage(url: string): Promise<Page> {
  const ws = new WebSocket(url);
  const messages: Array<Record<string, any>> = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  const closed = new Promise<void>((r) => ws.on('close', () => r()));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until(() => messages.length > 0, 'hello');
  const of = (type: string) => messages.filter((m) => m.type === type);
  return {
    messages,
    send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    last: (type) => of(type).at(-1)!,
    count: (type) => of(type).length,
    async close() {
      ws.close();
      await closed;
    },
  };
}
const statesOf = (rows: Array<{ id: string; state: string }>) => Object.fromEntries(rows.map((r) => [r.id, r.state]));

test('replay: a page starts at the beginning, seeks (hello: the fleet at t), plays at a speed to the end (batches), pauses; a replay drives no connection', async () => {
  const recording = await loadRecording(good);
  const viz = await serveReplay(recording, { port: 0, batchMs: 20 });
  try {
    const page = await openPage(`ws://127.0.0.1:${viz.port}/events`);
    const hello = page.last('hello');
    assert.is(hello.mode, 'replay');
    assert.equal(hello.timeline, { start: recording.start, end: recording.end, t: recording.start, playing: false, speed: 1, file: good });
    assert.equal(hello.supervisor, { id: 'incident', state: 'running' });
    const middle: Checkpoint = run.checkpoints[1]!;
    page.send({ action: 'seek', t: middle.t });
    await until(() => page.count('hello') === 2, 'the fleet at t');
    assert.equal(statesOf(page.last('hello').rows), middle.states);
    assert.ok(page.last('hello').messages.some((m: any) => m.type === 'power' && m.reading.connectionId === 'conn-5'), 'the power readings up to t');
    assert.ok(page.last('hello').log.length > 0 && page.last('hello').log.every((e: any) => e.timestamp <= middle.t), 'the log up to t');

    // Play from the middle at 1000×: batches carry what changed, until the end, where it stops.
    page.send({ action: 'speed', speed: 1000 });
    page.send({ action: 'play' });
    await until(() => page.last('timeline')?.timeline.playing === true, 'playing');
    await until(() => page.count('batch') > 0 && page.last('batch').timeline.playing === false, 'played to the end', 10_000);
    const rows = new Map(page.last('hello').rows.map((r: any) => [r.id, r]));
    for (const b of page.messages.filter((m) => m.type === 'batch')) {
      for (const r of b.rows) rows.set(r.id, r);
      for (const id of b.removed) rows.delete(id);
    }
    assert.equal(statesOf([...rows.values()] as any), run.final.states, 'the hello and the batches add up to the end');
    assert.is(page.last('batch').timeline.t, recording.end);
    assert.equal(page.messages.filter((m) => m.type === 'batch' && m.supervisor).map((m) => m.supervisor.state), ['stopped'], 'the recording ended: the supervisor stopped');

    // Play again from the end: it starts over from the picture at the start (a hello), not from the end's rows.
    const hellos = page.count('hello');
    page.send({ action: 'play' });
    await until(() => page.count('hello') === hellos + 1, 'the picture at the start');
    assert.is(page.last('hello').timeline.t, recording.start);
    assert.equal(statesOf(page.last('hello').rows), statesOf(hello.rows));
    page.send({ action: 'pause' });
    await until(() => page.last('timeline')?.timeline.playing === false, 'paused');

    page.send({ action: 'drop-link', id: 'conn-0' });
    page.send({ action: 'seek', t: 'soon' });
    page.send({ action: 'speed', speed: 0 });
    page.send({ action: '__proto__' });
    page.send('nonsense');
    page.send({ action: 'select', id: 'no-such-child' });
    await until(() => page.count('error') === 6, 'six errors');
    assert.equal(page.messages.filter((m) => m.type === 'error').map((m) => m.error), [
      'this is a replay: it cannot send events to connections',
      'seek needs a time t (ms), got "soon"',
      'speed must be a number within (0, 10000], got 0',
      'action must be one of seek, play, pause, speed, select, got "__proto__"',
      'not JSON: expected { action, id }',
      'id must be the id of a child or null, got "no-such-child"',
    ]);
    const before = page.count('hello');
    page.send({ action: 'seek', t: recording.end });
    await until(() => page.count('hello') === before + 1, 'back at the end');
    page.send({ action: 'select', id: 'conn-3' });
    await until(() => page.count('history') === 1, 'history');
    assert.ok(page.last('history').events.some((e: any) => e.type === 'EVENT_MAX_RETRIES_EXCEEDED'), 'conn-3 ran out of retries');
    await page.close();
  } finally {
    await viz.close();
  }
});

const cli = (...args: string[]) => spawnLines(process.execPath, ['--import', 'tsx', '-e', `import('./visualizer/cli.ts').then(async (m) => { process.exitCode = await m.main(${JSON.stringify(['replay', ...args])}); })`]);

test('statewire replay: prints the URL and serves the page, uPlot and a replay hello; SIGTERM stops it; bad input exits 1 (unreadable, not NDJSON, no header) or 2 (usage) with one line', async () => {
  const served = cli(good, '--port', '0');
  try {
    const url = await served.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/$/, 20_000);
    for (const path of ['', 'app.js', 'fleet-panel.js', 'power-chart.js', 'timeline.js', 'vendor/uPlot.esm.js', 'vendor/uPlot.min.css']) {
      const res = await fetch(url + path);
      await res.arrayBuffer(); // read: an unread body keeps its socket
      assert.is(res.status, 200, path);
    }
    const page = await openPage(url.replace(/^http/, 'ws') + 'events');
    assert.is(page.last('hello').mode, 'replay');
    await page.close();
    assert.is(await served.kill('SIGTERM'), 0);
    assert.match(served.stderr(), /replaying .*run\.ndjson: supervisor "incident", \d+ records over [\d.]+ s/);
  } finally {
    await served.kill('SIGKILL');
  }
  const notNdjson = file('pretty.json', JSON.stringify({ format: 'statewire-recording' }, null, 2));
  const noHeader = file('other.ndjson', '{"hello":"world"}\n');
  for (const [args, code, message] of [
    [[join(dir, 'missing.ndjson')], 1, /^replay: cannot read .*missing\.ndjson: ENOENT/],
    [[notNdjson], 1, /^replay: .*pretty\.json is not a statewire recording: line 1 is not JSON/],
    [[noHeader], 1, /^replay: .*other\.ndjson is not a statewire recording: line 1 must be its header/],
    [[], 2, /^replay: the recording file is required\nusage:/],
    [[good, '--port', 'x'], 2, /^replay: --port must be an integer within 0\.\.65535, got "x"/],
    [[good, good], 2, /^replay: unknown: /],
  ] as const) {
    const p = cli(...args);
    assert.is(await p.exited, code, `${args.join(' ')}: ${p.stderr()}`);
    assert.match(p.stderr(), message);
    assert.is(p.stdout(), '');
  }
  assert.ok(readFileSync(good, 'utf8').startsWith('{"format":"statewire-recording"'));
});

test.run();
