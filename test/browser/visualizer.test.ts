/**
 * The demo in headless Chromium: the page draws every state of
 * connectionMachine, the radio link's power readings draw a line in the power
 * chart, and "drop link" on a connection moves its marker to reconnecting and
 * back to connected. A screenshot goes to the test's temp dir.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionState } from '../../machines/events.js';
import { launchChromium } from '../helpers/browser.js';
import { spawnLines, tsxArgs } from '../helpers/spawn.js';

const test = suite('browser: visualizer');

test('the statechart shows every state; drop link moves the marker to reconnecting and back to connected', async () => {
  // Faults far apart: only our click moves things.
  const demo = spawnLines(process.execPath, tsxArgs('examples/demo.ts', '--port', '0', '--faults-every', '600000', '--quiet'));
  const url = /visualizer at (http:\S+)/.exec(await demo.waitFor(/visualizer at http/, 20_000))![1]!;
  const browser = await launchChromium();
  const dir = mkdtempSync(join(tmpdir(), 'statewire-viz-'));
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url);
    await page.waitForSelector('#conn.s-connected');
    const drawn = await page.$$eval('#chart g.state', (gs) => gs.map((g) => (g as unknown as { dataset: { state: string } }).dataset.state));
    // The six names among the states drawn (issue 17: the whole statechart, `active` a frame around three of them).
    for (const state of Object.values(ConnectionState)) assert.ok(drawn.includes(state), `${state} is drawn`);
    assert.ok((await page.$$('#chart g.edge')).length >= 10, 'transitions are drawn as arrows');
    await page.waitForSelector('#chart g.marker[data-child="ws-echo"][data-state="connected"]', { timeout: 15_000 });
    await page.waitForSelector('#children tr[data-child="edge-agent"]');
    assert.ok(await page.$('#children tr[data-child="spare"] td:nth-child(2):has-text("simulated")'), 'mock children are labelled simulated');
    await page.waitForSelector('#children tr[data-child="tcp"] td:nth-child(2):has-text("TLS")', { timeout: 10_000 });
    assert.ok(await page.$('#children tr[data-child="radio"] td:nth-child(2):has-text("emulated TS-590S")'), 'the radio link is labelled with its emulated rig');
    // API Gateway connections come and go (apigw-<n>): one `apigw-*` label covers them all.
    await page.waitForSelector('#children tr[data-child^="apigw-"] td:nth-child(2):has-text("API Gateway (emulator)")', { timeout: 15_000 });
    // The radio link is keyed every few seconds: its power readings draw a line in the power chart.
    await page.waitForSelector('#power-legend li[data-connection="radio"]', { state: 'attached', timeout: 20_000 });
    await page.click('button[data-action="drop-link"][data-child="ws-echo"]');
    await page.waitForSelector('#chart g.marker[data-child="ws-echo"][data-state="reconnecting"]', { timeout: 5000 });
    await page.waitForSelector('#chart g.marker[data-child="ws-echo"][data-state="connected"]', { timeout: 15_000 });
    await page.waitForSelector('#log li[data-type="EVENT_RECONNECT_OK"]', { state: 'attached' });
    const shot = join(dir, 'visualizer.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000);
  } finally {
    await browser.close();
    await demo.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(demo.lines.includes('shut down cleanly'), demo.lines.slice(-5).join('\n'));
});

test.run();
