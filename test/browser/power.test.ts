/**
 * The power and health charts in headless Chromium (issue 12 §6, issue 17 §3):
 * readings published through `supervisor.connection(id).publish('EVENT_POWER_READING', …)`
 * are drawn live by uPlot (served from node_modules), one line per
 * connection, each reading a point on the canvas; the zero line (PowerMonitor's
 * 0.1 W) is drawn dashed; warning and critical alarms are marks on the chart
 * and entries in the log, readings are not logged; a page opened afterwards
 * draws the same chart from its `hello`. Each child's reconnects are a
 * sparkline in its row and in the detail pane.
 * With STATEWIRE_SCREENSHOT_DIR set, `power.png` is written there.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { SimulatedClock } from 'xstate';
import type { Page } from 'playwright-core';
import { createSupervisor } from '../../actors/supervisor.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { serveVisualizer } from '../../visualizer/server.js';
import { launchChromium } from '../helpers/browser.js';

const test = suite('browser: power chart');

// Page-side code sees DOM elements; typed structurally (the project compiles without the DOM lib).
type El = { getAttribute(name: string): string | null; textContent: string | null };

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/**
 * What the chart shows: its series and data, and for each reading whether a
 * pixel of its line's colour is on the canvas at its place (within 3 px);
 * for the zero line, how much of it has its colour.
 */
async function chart(page: Page): Promise<{ labels: string[]; zero: number[]; drawn: Array<{ label: string; points: Array<{ watts: number; onCanvas: boolean }> }>; zeroShare: number }> {
  // A string, not a function: tsx's helpers (`__name`) do not exist in the page.
  return page.evaluate(`(${CHART_IN_PAGE})(${JSON.stringify(colors)})`);
}

/** Runs in the page: `hexes` maps each series label (and `zero`) to its [r, g, b]. */
const CHART_IN_PAGE = `function (hexes) {
  var u = window.__statewire.powerChart;
  function near(x, y, rgb, radius) {
    var img = u.ctx.getImageData(Math.round(x) - radius, Math.round(y) - radius, 2 * radius + 1, 2 * radius + 1);
    var hits = 0;
    for (var i = 0; i < img.data.length; i += 4) {
      if (Math.abs(img.data[i] - rgb[0]) < 30 && Math.abs(img.data[i + 1] - rgb[1]) < 30 && Math.abs(img.data[i + 2] - rgb[2]) < 30) hits++;
    }
    return hits;
  }
  var labels = u.series.map(function (s) { return s.label; });
  var drawn = labels.slice(2).map(function (label, i) {
    var points = [];
    u.data[0].forEach(function (x, j) {
      var y = u.data[i + 2][j];
      if (y !== null && y !== undefined) points.push({ watts: y, onCanvas: near(u.valToPos(x, 'x', true), u.valToPos(y, 'y', true), hexes[label], 3) > 0 });
    });
    return { label: label, points: points };
  });
  // The zero line: along the plot, at its height (dashed: a share of the points).
  var y = u.valToPos(u.data[1][0], 'y', true);
  var xs = u.data[0];
  var x0 = u.valToPos(xs[0], 'x', true), x1 = u.valToPos(xs[xs.length - 1], 'x', true);
  var on = 0, all = 0;
  for (var x = x0; x < x1; x += 4, all++) if (near(x, y, hexes.zero, 1) > 0) on++;
  return { labels: labels, zero: Array.from(u.data[1]), drawn: drawn, zeroShare: on / Math.max(1, all) };
}`;

let colors: Record<string, number[]> = {};

async function marks(page: Page) {
  return page.$$eval('#power .power-mark', (ms) => (ms as unknown as El[]).map((m) => `${m.getAttribute('data-connection')} ${m.getAttribute('data-type')} ${m.getAttribute('class')}`));
}
const legend = (page: Page) => page.$$eval('#power-legend li[data-connection]', (lis) => (lis as unknown as El[]).map((li) => li.textContent!.trim()));

test('power chart: uPlot draws each reading as a point on its line, the 0.1 W zero line, alarm marks and the legend, live; a page opened later draws the same from hello', async () => {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2024, 0, 1, 12));
  const supervisor = createSupervisor({ id: 'radios', clock });
  supervisor.startChild({ id: 'rig-a', transport: mockTransport({ kind: 'serial (simulated)' }) });
  supervisor.startChild({ id: 'rig-b', transport: mockTransport({ kind: 'serial (simulated)' }) });
  await flush();
  const viz = await serveVisualizer(supervisor, { port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(viz.url);
    await page.waitForSelector('#conn.s-connected');
    await page.waitForSelector('#children tr[data-child="rig-b"]');
    const a = supervisor.connection('rig-a');
    const b = supervisor.connection('rig-b');
    for (const [watts, other] of [[10, 5], [20, 6], [48.5, 7.5], [0, undefined]] as const) {
      a.publish('EVENT_POWER_READING', { watts });
      if (other !== undefined) b.publish('EVENT_POWER_READING', { watts: other });
      clock.increment(1000);
    }
    a.publish('EVENT_POWER_WARNING', { watts: 0, consecutiveZeros: 1 });
    a.publish('EVENT_POWER_CRITICAL', { watts: 0, consecutiveZeros: 3 });
    await page.waitForSelector('#power .power-mark.critical', { state: 'attached' });
    await page.waitForSelector('#power-legend li[data-connection="rig-b"]');
    await page.waitForSelector('#log li[data-type="EVENT_POWER_CRITICAL"]', { state: 'attached' });
    const swatches = await page.$$eval('#power-legend li[data-connection] .swatch', (ss) => (ss as unknown as Array<{ style: { background: string } }>).map((s) => s.style.background));
    const hex = (css: string) => rgb(`#${css.match(/\d+/g)!.map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`);
    colors = { 'rig-a': hex(swatches[0]!), 'rig-b': hex(swatches[1]!), zero: rgb('#c53030') };
    assert.is.not(swatches[0], swatches[1], 'each connection its own colour');

    const live = await chart(page);
    assert.equal(live.labels, ['time', 'zero (< 0.1 W)', 'rig-a', 'rig-b']);
    assert.equal(live.drawn.map((l) => [l.label, l.points.map((p) => p.watts)]), [['rig-a', [10, 20, 48.5, 0]], ['rig-b', [5, 6, 7.5]]]);
    for (const line of live.drawn) for (const p of line.points) assert.ok(p.onCanvas, `${line.label}'s ${p.watts} W is drawn on the canvas`);
    assert.ok(live.zero.every((w) => w === 0.1), 'the zero line: 0.1 W all along');
    assert.ok(live.zeroShare > 0.3, `the zero line is drawn (dashed): ${(live.zeroShare * 100).toFixed(0)} % of the points along it`);
    assert.equal(await legend(page), ['rig-a 0.0 W', 'rig-b 7.5 W']);
    assert.match((await page.textContent('#power-legend li.threshold')) ?? '', /zero line 0\.1 W: 1 zero reading in a row warn \(ring\), 3 are critical \(dot\)/);
    assert.equal(await marks(page), ['rig-a EVENT_POWER_WARNING power-mark warning', 'rig-a EVENT_POWER_CRITICAL power-mark critical']);
    assert.match((await page.textContent('#power-note')) ?? '', /^7 readings from 2 connections/);
    assert.is((await page.$$('#log li[data-type="EVENT_POWER_READING"]')).length, 0, 'readings are not logged');
    assert.is((await page.$$('#log li[data-type="EVENT_POWER_WARNING"]')).length, 1, 'alarms are');
    if (process.env.STATEWIRE_SCREENSHOT_DIR) await page.locator('#power-panel').screenshot({ path: join(process.env.STATEWIRE_SCREENSHOT_DIR, 'power.png') });

    const later = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await later.goto(viz.url);
    await later.waitForSelector('#power .power-mark.critical', { state: 'attached' });
    assert.equal(await chart(later), live, 'the same chart from hello');
    assert.equal(await marks(later), await marks(page));
  } finally {
    await browser.close();
    await viz.close();
    await supervisor.shutdown();
  }
});

test('health: each child\'s reconnects are a sparkline in its row and, larger, in the detail pane', async () => {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2024, 0, 1, 12));
  const supervisor = createSupervisor({ id: 'health', clock });
  const flaky = mockTransport();
  supervisor.startChild({ id: 'flaky', transport: flaky, policy: { initialBackoffMs: 1000, jitter: 0 } });
  supervisor.startChild({ id: 'steady', transport: mockTransport() });
  await flush();
  const viz = await serveVisualizer(supervisor, { port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(viz.url);
    await page.waitForSelector('#children tr[data-child="steady"] svg.spark[data-reconnects="0"]');
    for (let i = 0; i < 3; i++) {
      flaky.drop('noise');
      await flush();
      clock.increment(60_000); // back after its backoff; the three a minute apart
      await flush();
    }
    await page.waitForSelector('#children tr[data-child="flaky"][data-state="connected"] svg.spark[data-reconnects="3"]');
    assert.is(await page.$$eval('#children tr[data-child="flaky"] svg.spark rect', (rs) => rs.length), 3, 'three bars: a minute apart, in three buckets');
    assert.ok(await page.$('#children tr[data-child="steady"] svg.spark[data-reconnects="0"]'));
    await page.click('#children tr[data-child="flaky"] td.id');
    await page.waitForSelector('#detail[data-child="flaky"] .detail-spark svg.spark[data-reconnects="3"]');
    await page.waitForSelector('#detail .detail-log li[data-type="EVENT_RECONNECT_OK"]');
  } finally {
    await browser.close();
    await viz.close();
    await supervisor.shutdown();
  }
});

test.run();
