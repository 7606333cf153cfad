/**
 * Replay in headless Chromium (issue 17 §4): a recorded run served by
 * `serveReplay`; scrubbing the timeline shows the counts the supervisor had at
 * that time, playing runs to the end (the counts it had when the recording
 * stopped) and the play button turns back to "play"; the buttons that drive
 * connections are disabled. With STATEWIRE_SCREENSHOT_DIR set, `replay.png`
 * is written there.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { loadRecording } from '../../visualizer/replay.js';
import { serveReplay } from '../../visualizer/replay-server.js';
import { launchChromium } from '../helpers/browser.js';
import { recordRun, type Checkpoint } from '../helpers/recorded-run.js';

const test = suite('browser: replay');

type El = { getAttribute(name: string): string | null };

const countsOf = (cp: Checkpoint) => {
  const out: Record<string, number> = {};
  for (const state of Object.values(cp.states)) out[state] = (out[state] ?? 0) + 1;
  return out;
};
async function pageCounts(page: Page) {
  const chips = await page.$$eval('#fleet-states button[data-state]', (bs) => (bs as unknown as El[]).map((b) => [b.getAttribute('data-state')!, Number(b.getAttribute('data-count'))] as const));
  return Object.fromEntries(chips.filter(([s, n]) => s !== '' && n > 0));
}
/** Wait until the page's counts per state are `want` (a failed wait says what the page had). */
async function countsBecome(page: Page, want: Record<string, number>, what: string) {
  const selectors = Object.entries(want).map(([s, n]) => `#fleet-states button[data-state="${s}"][data-count="${n}"]`);
  const total = Object.values(want).reduce((a, b) => a + b, 0);
  try {
    await Promise.all([...selectors, `#fleet-states button[data-state=""][data-count="${total}"]`].map((s) => page.waitForSelector(s, { timeout: 10_000 })));
  } catch {
    assert.unreachable(`${what}: the page shows ${JSON.stringify(await pageCounts(page))}, not ${JSON.stringify(want)}`);
  }
  assert.equal(await pageCounts(page), want, what);
}
/** Drag the timeline to `t` (what a user's drag ends with: input, then change). */
const scrub = (page: Page, t: number) =>
  page.$eval('#timeline', (range, value) => {
    const r = range as unknown as { value: string; dispatchEvent(e: unknown): void };
    r.value = String(value);
    const E = (globalThis as unknown as { Event: new (type: string) => unknown }).Event;
    r.dispatchEvent(new E('input'));
    r.dispatchEvent(new E('change'));
  }, t);

test('replay: scrubbing the timeline shows the counts of that time; play runs to the end; pause; nothing drives connections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statewire-replay-page-'));
  const file = join(dir, 'incident.ndjson');
  const run = await recordRun(file);
  const recording = await loadRecording(file);
  const viz = await serveReplay(recording, { port: 0, labels: { 'temp-*': 'temporary' } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(viz.url);
    await page.waitForSelector('#conn:has-text("replay")');
    assert.ok(await page.isVisible('#timeline-panel'), 'the timeline is shown');
    await countsBecome(page, { connected: 12 }, 'at the start');
    assert.ok(await page.$eval('button[data-action="drop-link"][data-child="conn-0"]', (b) => (b as unknown as { disabled: boolean }).disabled), 'a replay drives nothing');

    const [, middle, settled] = run.checkpoints as [Checkpoint, Checkpoint, Checkpoint];
    await scrub(page, middle.t);
    await countsBecome(page, countsOf(middle), 'scrubbed to the middle of the incident');
    await page.waitForSelector(`#timeline[data-t="${middle.t}"]`, { state: 'attached' });
    await scrub(page, settled.t);
    await countsBecome(page, countsOf(settled), 'scrubbed to when it settled');
    await scrub(page, recording.start);
    await countsBecome(page, { connected: 12 }, 'and back to the start');
    if (process.env.STATEWIRE_SCREENSHOT_DIR) {
      await scrub(page, middle.t);
      await countsBecome(page, countsOf(middle), 'the middle again');
      await page.screenshot({ path: join(process.env.STATEWIRE_SCREENSHOT_DIR, 'replay.png'), fullPage: true });
    }

    await page.selectOption('#speed', '600');
    await page.waitForSelector('#speed', { state: 'attached' });
    await page.click('#play');
    await page.waitForSelector('#play[data-playing="true"]', { state: 'attached' });
    await page.waitForSelector(`#timeline[data-t="${recording.end}"]`, { state: 'attached', timeout: 20_000 });
    await page.waitForSelector('#play[data-playing="false"]:has-text("play")');
    await countsBecome(page, countsOf(run.final), 'played to the end');
    assert.is(await page.textContent('#sup-state'), 'stopped');
  } finally {
    await browser.close();
    await viz.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
