/**
 * Fleets at a glance in headless Chromium (issue 17 §2): 10,000 mock
 * connections under one supervisor. The page's counts per state and per kind
 * are the supervisor's (`whichChildren()`), before and after states change in
 * bulk; the list holds only the rows in its scroll window; a click on a filter
 * answers within a second (the bound: a correctness check, not a
 * benchmark); a burst of changes arrives in a few batches, not one message each.
 * With STATEWIRE_SCREENSHOT_DIR set, `fleet-10k.png` is written there.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { SimulatedClock } from 'xstate';
import type { Page } from 'playwright-core';
import { createSupervisor } from '../../actors/supervisor.js';
import { mockTransport, type MockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';
import { serveVisualizer } from '../../visualizer/server.js';
import { launchChromium } from '../helpers/browser.js';

const test = suite('browser: fleet');

const N = 10_000;
const KINDS = ['websocket (simulated)', 'unix (simulated)', 'serial (simulated)'];
/** The bound for a filter click. */
const ANSWER_MS = 1000;
/** Fewer DOM rows than this, however large the fleet. */
const ROWS_MAX = 200;

// Page-side code sees DOM elements; typed structurally (the project compiles without the DOM lib).
type El = { getAttribute(name: string): string | null; textContent: string | null };

const countBy = <T>(items: T[], key: (item: T) => string) => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

/** The page's counts: per state (the chips, zeros left out) and per kind (the kinds table). */
async function pageCounts(page: Page) {
  const chips = await page.$$eval('#fleet-states button[data-state]', (bs) => (bs as unknown as El[]).map((b) => [b.getAttribute('data-state')!, Number(b.getAttribute('data-count'))] as const));
  const kinds = await page.$$eval('#fleet-kinds tbody tr', (trs) => (trs as unknown as Array<El & { querySelector(s: string): El }>).map((tr) => [tr.getAttribute('data-kind')!, Number(tr.querySelector('td[data-count]').getAttribute('data-count'))] as const));
  return { byState: Object.fromEntries(chips.filter(([s, n]) => s !== '' && n > 0)), byKind: Object.fromEntries(kinds), total: chips.find(([s]) => s === '')![1] };
}

const domRows = (page: Page) => page.$$eval('#children tr[data-child]', (rows) => rows.length);

/** Wait (at most `ms`) until the list shows `shown` rows, every drawn one passing `check`; the time it took. */
async function answered(page: Page, shown: number, check: string, ms: number): Promise<number> {
  const start = Date.now();
  await page.waitForFunction(
    ([n, body]) => {
      const document = (globalThis as unknown as { document: { querySelector(s: string): unknown; querySelectorAll(s: string): Iterable<unknown> } }).document;
      const label = document.querySelector('#fleet-shown') as unknown as { dataset: { shown: string } } | null;
      const rows = [...document.querySelectorAll('#children tr[data-child]')] as unknown as Array<{ dataset: { child: string; state: string } }>;
      return label?.dataset.shown === String(n) && rows.length > 0 && rows.every((r) => new Function('row', `return ${body}`)(r.dataset));
    },
    [shown, check] as const,
    { timeout: ms, polling: 'raf' },
  );
  return Date.now() - start;
}

test(`fleet: ${N.toLocaleString('en-US')} connections: counts match the supervisor's, before and after bulk changes; the list stays small; filters answer within a second`, async () => {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2024, 0, 1, 12));
  const supervisor = createSupervisor({ id: 'fleet', clock });
  const mocks: MockTransport[] = [];
  const id = (i: number) => `c-${String(i).padStart(5, '0')}`;
  for (let i = 0; i < N; i++) {
    const transport = mockTransport({ kind: KINDS[i % KINDS.length]! });
    mocks.push(transport);
    // transient: a child told to disconnect stays disconnected (a normal exit is not restarted).
    supervisor.startChild({ id: id(i), transport, restart: 'transient' });
  }
  await flush();
  const viz = await serveVisualizer(supervisor, { port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const frames: number[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload).length)));
    await page.goto(viz.url);
    await page.waitForSelector(`#fleet-states button[data-state=""][data-count="${N}"]`, { timeout: 30_000 });

    const expected = () => {
      const children = supervisor.whichChildren();
      return { byState: countBy(children, (c) => c.state), byKind: countBy(children, (c) => c.kind), total: children.length };
    };
    assert.equal(await pageCounts(page), expected(), 'every child connected, a third of each kind');
    const rows = await domRows(page);
    assert.ok(rows > 0 && rows < ROWS_MAX, `${rows} rows in the DOM`);
    // Scrolled to the bottom: the last child is drawn, still in a small window.
    await page.$eval('#children-scroll', (box) => ((box as unknown as { scrollTop: number; scrollHeight: number }).scrollTop = 1e9));
    await page.waitForSelector(`#children tr[data-child="${id(N - 1)}"]`, { timeout: 5000 });
    assert.ok((await domRows(page)) < ROWS_MAX, 'the bottom of the list: as few rows');
    await page.$eval('#children-scroll', (box) => ((box as unknown as { scrollTop: number }).scrollTop = 0));

    // In bulk: 1,000 links dropped (reconnecting: their backoff waits on the simulated clock), 500 told to disconnect.
    const before = frames.length;
    for (let i = 0; i < 1000; i++) mocks[i]!.drop('switch rebooted');
    for (let i = 1000; i < 1500; i++) supervisor.child(id(i))!.send({ type: 'DISCONNECT' });
    await flush();
    await page.waitForSelector('#fleet-states button[data-state="reconnecting"][data-count="1000"]', { timeout: 30_000 });
    await page.waitForSelector('#fleet-states button[data-state="disconnected"][data-count="500"]', { timeout: 30_000 });
    assert.equal(await pageCounts(page), expected(), 'the counts after the bulk change');
    assert.equal((await pageCounts(page)).byState, { connected: 8500, reconnecting: 1000, disconnected: 500 });
    const burst = frames.length - before;
    assert.ok(burst < 100, `1,500 children changed (about 6,000 events): ${burst} frames, not one per change`);
    assert.ok(await page.$('#chart text.count[data-state="reconnecting"][data-count="1000"]'), 'the statechart shows the count in its state');

    // A click on a filter answers within a second: only reconnecting rows, 1,000 of them.
    const byState = await (async () => {
      await page.click('#fleet-states button[data-state="reconnecting"]');
      return answered(page, 1000, "row.state === 'reconnecting'", ANSWER_MS);
    })().catch((e: Error) => assert.unreachable(`the state filter did not answer within ${ANSWER_MS} ms: ${e.message.split('\n')[0]}`));
    // Kind and state together; then a search by id (filters cleared first).
    const serial = 1000 / 3;
    const byKind = await (async () => {
      await page.click('#fleet-kinds button[data-kind="serial (simulated)"]');
      return answered(page, Math.floor(serial), "row.state === 'reconnecting' && row.kind === 'serial (simulated)'", ANSWER_MS);
    })().catch((e: Error) => assert.unreachable(`the kind filter did not answer within ${ANSWER_MS} ms: ${e.message.split('\n')[0]}`));
    assert.ok(await page.$$eval('#children tr[data-child] td:nth-child(3)', (tds) => (tds as unknown as El[]).every((td) => td.textContent === 'serial (simulated)')), 'only serial rows');
    await page.click('#fleet-clear');
    await page.fill('#fleet-search', 'c-0042');
    const byText = await answered(page, 10, "row.child.startsWith('c-0042')", ANSWER_MS + 200).catch((e: Error) =>
      assert.unreachable(`the search did not answer within ${ANSWER_MS} ms (+ its 80 ms debounce): ${e.message.split('\n')[0]}`),
    );
    console.log(`  fleet of ${N}: filter answered in ${byState} ms (state), ${byKind} ms (kind), ${byText} ms (search); ${burst} frames for the burst`);

    // Selecting a child: its details, and its marker alone on the statechart (a large fleet draws only the selected one).
    await page.click('#children tr[data-child="c-00425"]');
    await page.waitForSelector('#detail[data-child="c-00425"] dd[data-field="state"]:has-text("reconnecting")', { timeout: 5000 });
    await page.waitForSelector('#chart g.marker[data-child="c-00425"][data-state="reconnecting"]', { timeout: 5000 });
    assert.is((await page.$$('#chart g.marker')).length, 1);
    await page.waitForSelector('#detail .detail-log li[data-type="EVENT_STATE_CHANGE"]', { timeout: 5000 });
    if (process.env.STATEWIRE_SCREENSHOT_DIR) {
      await page.click('#fleet-clear');
      await page.screenshot({ path: join(process.env.STATEWIRE_SCREENSHOT_DIR, 'fleet-10k.png'), fullPage: true });
    }
  } finally {
    await browser.close();
    await viz.close();
    await supervisor.shutdown();
  }
});

test.run();
