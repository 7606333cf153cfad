/**
 * `npm run screenshots`: the README's pictures of the visualizer, taken in
 * headless Chromium (the same browser and the same shots as
 * test/browser/statechart.test.ts), never by hand. Each shot starts a scene,
 * a supervisor with mock connections held in every state of the connection
 * statechart (demo-like names and kinds; nothing real and nothing timed, so
 * the picture is the same each run), serves the visualizer over it, opens
 * the page, waits until it shows what the shot is about, and writes
 * `docs/<file>`.
 *
 * To add a view, add a `Shot` to `SHOTS`.
 *
 * `npm run screenshots -- --out <dir>` writes elsewhere; `--only <name>` takes one shot.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { from } from 'rxjs';
import type { AnyStateMachine } from 'xstate';
import { createSupervisor, silentLogger, type Supervisor } from '../actors/supervisor.js';
import { ConnectionError } from '../machines/ports/errors.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import { mockTransport, type MockTransport } from '../transports/mock/mock.transport.js';
import { loadRecording, serveReplay, serveVisualizer, type PowerReading } from '../visualizer/index.js';
import { launchChromium } from '../test/helpers/browser.js';
import { recordRun } from '../test/helpers/recorded-run.js';

/** A supervisor with mock connections and the visualizer over it. */
export interface Scene {
  url: string;
  supervisor: Supervisor;
  close(): Promise<void>;
}

export interface SceneOptions {
  /** The machine the page draws (`serveVisualizer`'s `machine`). Default: the connection machine. */
  machine?: AnyStateMachine;
  /**
   * That many more mock connections (`node-00000`, ...; websocket, unix and
   * serial in turn), every tenth held reconnecting and every twentieth
   * disconnected (issue 17: a fleet at a glance). Default 0.
   */
  fleet?: number;
}

/** Where each child of the scene is held, as the markers will show it. */
export const SCENE_STATES: Record<string, string> = {
  'ws-echo': 'connected',
  'edge-agent': 'connected',
  radio: 'connected',
  tcp: 'connected',
  'apigw-1': 'connected',
  spare: 'connected',
  dialing: 'connecting',
  flaky: 'reconnecting',
  'rig-2': 'tx_dropped',
  expired: 'failed',
  idle: 'disconnected',
};

const HOUR = 3_600_000;

/** Poll `done` (no timing asserted: only a bound on how long a scene may take to settle). */
async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`scene: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Start the scene: every child settled in its `SCENE_STATES` state before this resolves. */
export async function startScene(options: SceneOptions = {}): Promise<Scene> {
  const supervisor = createSupervisor({ id: 'demo', logger: silentLogger });
  const start = (id: string, kind: string, spec: { policy?: object; autoConnect?: boolean } = {}, hold?: (t: MockTransport) => void) => {
    const transport = mockTransport({ kind });
    hold?.(transport); // before it starts: a child connects as soon as it is started
    supervisor.startChild({ id, transport, ...spec });
    return transport;
  };
  for (const [id, kind] of [['ws-echo', 'websocket'], ['edge-agent', 'unix'], ['radio', 'serial'], ['tcp', 'tcp'], ['apigw-1', 'apigateway'], ['spare', 'mock']] as const) start(id, kind);
  // Held where they are for an hour: a connect that never answers, a retry an hour away, a rejected token.
  start('dialing', 'tcp', { policy: { connectTimeoutMs: HOUR } }, (t) => t.hangNextConnects(1_000));
  start('flaky', 'websocket', { policy: { initialBackoffMs: HOUR, maxBackoffMs: HOUR, jitter: 0 } }, (t) => t.failNextConnects(1_000));
  const rig = start('rig-2', 'serial', { policy: { fastPathTimeoutMs: HOUR } });
  const expired = new ConnectionError('401 Unauthorized: token expired', { kind: 'apigateway', permanent: true });
  start('expired', 'apigateway', { policy: { maxPermanentFailures: 1 } }, (t) => t.failNextConnects(1_000, expired));
  start('idle', 'unix', { autoConnect: false });
  const fleet = options.fleet ?? 0;
  const fleetKinds = ['websocket', 'unix', 'serial'];
  const fleetId = (i: number) => `node-${String(i).padStart(5, '0')}`;
  for (let i = 0; i < fleet; i++) {
    start(fleetId(i), fleetKinds[i % 3]!, i % 10 === 0 ? { policy: { initialBackoffMs: HOUR, maxBackoffMs: HOUR, jitter: 0 } } : i % 20 === 5 ? { autoConnect: false } : {}, (t) => {
      if (i % 10 === 0) t.failNextConnects(1_000);
    });
  }
  const stateOf = (id: string) => supervisor.whichChildren().find((c) => c.id === id)?.state;
  try {
    await until(() => stateOf('rig-2') === 'connected', 'rig-2 connected');
    rig.hangNextConnects(1_000);
    supervisor.child('rig-2')!.send({ type: 'TX_DROP' });
    await until(() => Object.entries(SCENE_STATES).every(([id, state]) => stateOf(id) === state), 'every child in its state');
    if (fleet) await until(() => stateOf(fleetId(0)) === 'reconnecting' && stateOf(fleetId(1)) === 'connected', 'the fleet in its states', 60_000);
  } catch (error) {
    await supervisor.shutdown();
    throw error;
  }
  // A radio's output power, a minute of readings ending now, for the power panel.
  const now = Date.now();
  const readings: PowerReading[] = Array.from({ length: 60 }, (_, i) => ({ connectionId: 'radio', watts: i < 45 ? 100 - (i % 7) : 48 + (i % 3), at: now - (60 - i) * 1000 }));
  const viz = await serveVisualizer(supervisor, {
    port: 0,
    power$: from(readings),
    labels: { spare: 'simulated', radio: 'emulated TS-590S', 'apigw-*': 'API Gateway (emulator)' },
    ...(options.machine ? { machine: options.machine } : {}),
  });
  return {
    url: viz.url,
    supervisor,
    async close() {
      await viz.close();
      await supervisor.shutdown();
    },
  };
}

/** One picture: the scene it needs, what the page must show first, and what to capture. */
export interface Shot {
  name: string;
  /** File name under the output directory (`docs/`). */
  file: string;
  scene?: SceneOptions;
  /** A page other than the scene's (a replay): what to open, and how to close it. Default: `startScene(scene)`. */
  start?(): Promise<{ url: string; close(): Promise<void> }>;
  viewport: { width: number; height: number };
  /** Waits (and clicks) until the page shows what the shot is about. */
  prepare(page: Page): Promise<void>;
  /** The element to capture; the whole page when absent. */
  selector?: string;
}

/** The page is live and has drawn the statechart with every scene child's marker (when the chart is the connection machine). */
async function chartReady(page: Page, markers: boolean) {
  await page.waitForSelector('#conn.s-connected');
  await page.waitForSelector('#chart g.state');
  if (markers) for (const [id, state] of Object.entries(SCENE_STATES)) await page.waitForSelector(`#chart g.marker[data-child="${id}"][data-state="${state}"]`, { state: 'attached' });
}

/** Connections in the fleet shot. */
const FLEET = 10_000;

export const SHOTS: Shot[] = [
  {
    name: 'visualizer',
    file: 'visualizer.png',
    viewport: { width: 1400, height: 1000 },
    prepare: async (page) => {
      await chartReady(page, true);
      await page.waitForSelector('#power-legend li[data-connection="radio"]', { state: 'attached' });
    },
  },
  {
    name: 'statechart',
    file: 'statechart.png',
    viewport: { width: 1400, height: 1000 },
    selector: '#chart-panel',
    prepare: async (page) => {
      await chartReady(page, true);
      // A selected connection: its active states highlighted.
      await page.click('#chart g.marker[data-child="ws-echo"]');
      await page.waitForSelector('#chart g.state.current');
    },
  },
  {
    name: 'statechart-supervisor',
    file: 'statechart-supervisor.png',
    scene: { machine: supervisorMachine },
    viewport: { width: 1000, height: 800 },
    selector: '#chart-panel',
    prepare: (page) => chartReady(page, false),
  },
  {
    // Issue 17 §2: a fleet of 10,000 at a glance, the reconnecting ones filtered.
    name: 'fleet',
    file: 'fleet.png',
    scene: { fleet: FLEET },
    viewport: { width: 1400, height: 1000 },
    selector: '#fleet-panel',
    prepare: async (page) => {
      await page.waitForSelector(`#fleet-states button[data-state=""][data-count="${FLEET + Object.keys(SCENE_STATES).length}"]`, { timeout: 60_000 });
      await page.click('#fleet-states button[data-state="reconnecting"]');
      await page.waitForSelector('#children tr[data-child="node-00010"]');
    },
  },
  {
    // Issue 17 §3: the radio's output power (uPlot), the zero line and the legend.
    name: 'power',
    file: 'power.png',
    viewport: { width: 1400, height: 1000 },
    selector: '#power-panel',
    prepare: async (page) => {
      await page.waitForSelector('#power-legend li[data-connection="radio"]');
      await page.waitForSelector('#power canvas');
    },
  },
  {
    // Issue 17 §4: a recorded incident replayed, scrubbed to its middle.
    name: 'replay',
    file: 'replay.png',
    viewport: { width: 1400, height: 1000 },
    start: startReplay,
    prepare: async (page) => {
      await page.waitForSelector('#timeline-panel:not([hidden])');
      const middle = await page.$eval('#timeline', (r) => {
        const range = r as unknown as { min: string; max: string };
        return Math.round(Number(range.min) + (Number(range.max) - Number(range.min)) / 3);
      });
      await page.$eval('#timeline', (range, t) => {
        const r = range as unknown as { value: string; dispatchEvent(e: unknown): void };
        r.value = String(t);
        r.dispatchEvent(new (globalThis as unknown as { Event: new (type: string) => unknown }).Event('change'));
      }, middle);
      await page.waitForSelector(`#timeline[data-t="${middle}"]`, { state: 'attached' });
      await page.waitForSelector('#fleet-states button[data-state="reconnecting"]:not([data-count="0"])');
    },
  },
];

/** A recorded incident (test/helpers/recorded-run.ts), served by `serveReplay`. */
async function startReplay(): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'statewire-shot-replay-'));
  try {
    const file = join(dir, 'incident.ndjson');
    await recordRun(file);
    const viz = await serveReplay(await loadRecording(file), { port: 0, labels: { 'temp-*': 'temporary' } });
    return {
      url: viz.url,
      async close() {
        await viz.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Take `shot` with `browser` into `dir`; returns the file written. */
export async function takeShot(browser: Browser, shot: Shot, dir: string): Promise<string> {
  const scene = shot.start ? await shot.start() : await startScene(shot.scene);
  const page = await browser.newPage({ viewport: shot.viewport });
  try {
    await page.goto(scene.url);
    await shot.prepare(page);
    const path = join(dir, shot.file);
    if (shot.selector) await page.locator(shot.selector).screenshot({ path });
    else await page.screenshot({ path, fullPage: true });
    return path;
  } finally {
    await page.close();
    await scene.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: fileURLToPath(new URL('../docs/', import.meta.url)) }, only: { type: 'string' } } });
  const shots = SHOTS.filter((s) => !values.only || s.name === values.only);
  if (!shots.length) throw new RangeError(`--only must be one of ${SHOTS.map((s) => s.name).join(', ')}, got ${values.only}`);
  mkdirSync(values.out, { recursive: true });
  const browser = await launchChromium();
  try {
    for (const shot of shots) console.log(`${shot.name}: ${await takeShot(browser, shot, values.out)}`);
  } finally {
    await browser.close();
  }
}
