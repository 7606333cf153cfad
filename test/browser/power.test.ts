/**
 * The power chart in headless Chromium (issue 12 §6): readings published
 * through `supervisor.connection(id).publish('EVENT_POWER_READING', …)` are
 * drawn live, one line per connection with its legend entry; alarms are dots
 * on the chart and entries in the log, readings are not logged; a page opened
 * afterwards draws the same chart from its `hello`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import type { Page } from 'playwright-core';
import { createSupervisor } from '../../actors/supervisor.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { serveVisualizer } from '../../visualizer/server.js';
import { launchChromium } from '../helpers/browser.js';

const test = suite('browser: power chart');

// Page-side code sees DOM elements; typed structurally (the project compiles without the DOM lib).
type Node = { getAttribute(name: string): string | null; textContent: string | null };

/** What the power panel shows: each line's points and colour, the legend, the marks. */
async function chart(page: Page) {
  const lines = await page.$$eval('#power polyline.power-line', (ps) =>
    (ps as unknown as Node[]).map((p) => ({ id: p.getAttribute('data-connection'), stroke: p.getAttribute('stroke'), points: p.getAttribute('points')! })),
  );
  const legend = await page.$$eval('#power-legend li', (lis) => (lis as unknown as Node[]).map((li) => li.textContent!.trim()));
  const marks = await page.$$eval('#power circle.power-mark', (cs) =>
    (cs as unknown as Node[]).map((c) => `${c.getAttribute('data-connection')} ${c.getAttribute('data-type')} ${c.getAttribute('class')}`),
  );
  const axes = await page.$$eval('#power .axes .title', (ts) => (ts as unknown as Node[]).map((t) => t.textContent));
  return { lines, legend, marks, axes };
}

const xy = (points: string) => points.split(' ').map((p) => p.split(',').map(Number) as [number, number]);

test('power chart: one line per connection, drawn live, with legend and alarm dots; a page opened later draws the same from hello', async () => {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2024, 0, 1, 12));
  const supervisor = createSupervisor({ id: 'radios', clock });
  supervisor.startChild({ id: 'rig-a', transport: mockTransport({ kind: 'serial (simulated)' }) });
  supervisor.startChild({ id: 'rig-b', transport: mockTransport({ kind: 'serial (simulated)' }) });
  await flush();
  const viz = await serveVisualizer(supervisor, { port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
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
    await page.waitForSelector('#power circle.power-mark.critical', { state: 'attached' });
    await page.waitForSelector('#log li[data-type="EVENT_POWER_CRITICAL"]', { state: 'attached' });

    const live = await chart(page);
    assert.equal(live.lines.map((l) => [l.id, xy(l.points).length]), [['rig-a', 4], ['rig-b', 3]]);
    assert.is.not(live.lines[0]!.stroke, live.lines[1]!.stroke, 'each connection its own colour');
    const [p10, p20, p48, p0] = xy(live.lines[0]!.points);
    assert.ok(p10![0] < p20![0] && p20![0] < p48![0] && p48![0] < p0![0], 'time runs left to right');
    assert.ok(p48![1] < p20![1] && p20![1] < p10![1] && p10![1] < p0![1], 'more watts, higher up');
    assert.equal(live.legend, ['rig-a 0.0 W', 'rig-b 7.5 W']);
    assert.equal(live.marks, ['rig-a EVENT_POWER_WARNING power-mark warning', 'rig-a EVENT_POWER_CRITICAL power-mark critical']);
    assert.equal(live.axes, ['watts', 'time (UTC)']);
    assert.match(await page.textContent('#power-note') ?? '', /^7 readings from 2 connections/);
    assert.is((await page.$$('#log li[data-type="EVENT_POWER_READING"]')).length, 0, 'readings are not logged');
    assert.is((await page.$$('#log li[data-type="EVENT_POWER_WARNING"]')).length, 1, 'alarms are');

    const later = await browser.newPage();
    await later.goto(viz.url);
    await later.waitForSelector('#power circle.power-mark.critical', { state: 'attached' });
    assert.equal(await chart(later), live, 'the same chart from hello');
  } finally {
    await browser.close();
    await viz.close();
    await supervisor.shutdown();
  }
});

test.run();
