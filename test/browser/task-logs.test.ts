/**
 * A real browser viewer: headless Chromium loads the task-log page served on
 * 127.0.0.1; its own WebSocket connects to the hub. The page shows the queued
 * lines, then the live ones, in order, with their progress; after the hub
 * drops it, it reconnects and resumes without gaps.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTaskLogServer } from '../../examples/task-logs.js';
import { launchChromium } from '../helpers/browser.js';

const test = suite('browser: task logs');

test('Chromium shows queued then live lines, in order, with progress; resumes after a drop', async () => {
  const server = await startTaskLogServer();
  const browser = await launchChromium();
  const dir = mkdtempSync(join(tmpdir(), 'statewire-browser-'));
  try {
    const page = await browser.newPage();
    const hub = server.hub;
    await hub.sendLog('job-7', 'info', 'queued one', { progress: 10 });
    await hub.sendLog('job-7', 'warning', 'queued two', { progress: 20 });
    await hub.sendLog('job-7', 'info', 'queued three', { progress: 30 });
    assert.is(hub.queuedCount('job-7'), 3);
    await page.goto(server.pageUrl('job-7'));
    await page.waitForSelector('#status[data-state="connected"]');
    await page.waitForFunction("document.querySelectorAll('#log li').length === 3");
    assert.is(hub.queuedCount('job-7'), 0);
    for (const [i, p] of [[4, 50], [5, 80]] as const) {
      assert.is(await hub.sendLog('job-7', 'info', `live ${i}`, { progress: p }), 'sent');
    }
    await page.waitForFunction("document.querySelectorAll('#log li').length === 5");
    // The viewer's actor is stopped under it (its socket closes); the page reconnects with lastSeq.
    await hub.supervisor.stopChild(hub.supervisor.whichChildren()[0]!.id);
    assert.not.ok(hub.isConnected('job-7'));
    await hub.sendLog('job-7', 'error', 'while away', { progress: 90 });
    await hub.sendLog('job-7', 'info', 'finished', { progress: 100, finished: true });
    await page.waitForSelector('body[data-finished="true"]', { timeout: 10_000 });
    // Page-side code sees DOM elements; typed structurally (the project compiles without the DOM lib).
    type Row = { dataset: Record<string, string>; textContent: string | null; className: string };
    const rows = await page.$$eval('#log li', (lis) =>
      (lis as unknown as Row[]).map((li) => ({ seq: Number(li.dataset.seq), progress: Number(li.dataset.progress), text: li.textContent ?? '', cls: li.className })),
    );
    assert.equal(rows.map((r) => r.text.replace(/^\S+ /, '')), [
      '[info] queued one (10 %)',
      '[warning] queued two (20 %)',
      '[info] queued three (30 %)',
      '[info] live 4 (50 %)',
      '[info] live 5 (80 %)',
      '[error] while away (90 %)',
      '[info] finished (100 %)',
    ]);
    assert.equal(rows.map((r) => r.progress), [10, 20, 30, 50, 80, 90, 100]);
    assert.is(await page.$eval('#bar', (el) => (el as unknown as { value: number }).value), 100);
    await page.screenshot({ path: join(dir, 'task-logs.png') });
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
