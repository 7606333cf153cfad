/**
 * The laid-out statechart in headless Chromium (issue 17 §1, §5): for each
 * shipped machine (connection, supervisor) and a user's, the page draws every
 * transition's label in full, no two labels overlap, and no label covers a
 * state's title, measured with getBoundingClientRect as drawn. The README's
 * screenshots are taken here too, by the same shots `npm run screenshots`
 * takes (scripts/screenshots.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { AnyStateMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { machineChart } from '../../visualizer/graph.js';
import { SHOTS, startScene, takeShot } from '../../scripts/screenshots.js';
import { launchChromium } from '../helpers/browser.js';
import { userMachine } from '../fixtures/user-machine.js';

const test = suite('browser: statechart');

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  text: string;
}

interface Drawn {
  svg: Rect;
  labels: Array<Rect & { edge: string; box: Rect }>;
  titles: Array<Rect & { state: Rect }>;
}

/** Strict overlap; half a pixel of anti-aliasing slack. */
const overlap = (a: Rect, b: Rect) => a.x + 0.5 < b.x + b.width && b.x + 0.5 < a.x + a.width && a.y + 0.5 < b.y + b.height && b.y + 0.5 < a.y + a.height;
const within = (inner: Rect, outer: Rect) =>
  inner.x >= outer.x - 0.5 && inner.y >= outer.y - 0.5 && inner.x + inner.width <= outer.x + outer.width + 0.5 && inner.y + inner.height <= outer.y + outer.height + 0.5;
const show = (r: Rect) => `"${r.text}" at ${Math.round(r.x)},${Math.round(r.y)} ${Math.round(r.width)}x${Math.round(r.height)}`;

/**
 * What the page drew, measured in the page: a string, so that tsx's helpers
 * (`__name`) do not end up in code that runs in the browser.
 */
const MEASURE = `(() => {
  const rect = (e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height, text: e.textContent ?? '' };
  };
  const svg = document.getElementById('chart');
  return {
    svg: rect(svg),
    labels: [...svg.querySelectorAll('g.edge')].flatMap((g) =>
      [...g.querySelectorAll('text.label')].map((t) => ({ ...rect(t), edge: g.dataset.id, box: rect(g.querySelector('rect.label-bg')) }))),
    titles: [...svg.querySelectorAll('g.state')].map((g) => ({ ...rect(g.querySelector('text.title')), state: rect(g.firstElementChild) })),
  };
})()`;

let browser: Browser;
test.before(async () => {
  browser = await launchChromium();
});
test.after(async () => {
  await browser?.close();
});

const MACHINES: Array<[string, AnyStateMachine | undefined, AnyStateMachine]> = [
  ['connection (the default)', undefined, connectionMachine],
  ['supervisor', supervisorMachine, supervisorMachine],
  ['a user machine', userMachine, userMachine],
];

for (const [name, given, machine] of MACHINES) {
  test(`statechart (${name}): every label in full, none on another label or on a state's title`, async () => {
    const scene = await startScene(given ? { machine: given } : {});
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(scene.url);
      await page.waitForSelector('#chart g.edge text.label');
      const drawn = (await page.evaluate(MEASURE)) as Drawn;
      const chart = machineChart(machine);
      // Full text: every transition's label, exactly, once.
      assert.equal(drawn.labels.map((l) => l.text).sort(), chart.transitions.map((t) => t.label).sort());
      for (const l of drawn.labels) {
        assert.ok(l.width > 0 && l.height > 0, `${show(l)} is drawn`);
        assert.ok(within(l, l.box), `${show(l)} fits its label box ${show(l.box)}`);
        assert.ok(within(l, drawn.svg), `${show(l)} is inside the chart`);
      }
      for (const [i, a] of drawn.labels.entries()) for (const b of drawn.labels.slice(i + 1)) assert.not.ok(overlap(a, b), `${show(a)} overlaps ${show(b)}`);
      for (const t of drawn.titles) {
        assert.ok(within(t, t.state), `title ${show(t)} inside its state`);
        for (const l of drawn.labels) {
          assert.not.ok(overlap(l, t), `${show(l)} covers the title ${show(t)}`);
          assert.not.ok(overlap(l.box, t), `the label box of ${show(l)} covers the title ${show(t)}`);
        }
      }
      assert.ok(drawn.titles.length >= chart.root.children.length + 1);
    } finally {
      await page.close();
      await scene.close();
    }
  });
}

test('statechart: a click on a marker highlights the states its connection is in', async () => {
  const scene = await startScene();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    await page.goto(scene.url);
    await page.click('#chart g.marker[data-child="rig-2"][data-state="tx_dropped"]');
    await page.waitForSelector('#chart g.state.current');
    const current = await page.$$eval('#chart g.state.current', (gs) => gs.map((g) => g.getAttribute('data-id')).sort());
    assert.equal(current, ['connection.active', 'connection.active.tx_dropped']);
    await page.click('#chart g.marker[data-child="rig-2"]');
    await page.waitForSelector('#chart g.state.current', { state: 'detached' });
  } finally {
    await page.close();
    await scene.close();
  }
});

test('screenshots: every shot of `npm run screenshots` is taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statewire-shots-'));
  try {
    for (const shot of SHOTS) {
      const file = await takeShot(browser, shot, dir);
      assert.ok(statSync(file).size > 10_000, `${shot.name}: ${file}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
