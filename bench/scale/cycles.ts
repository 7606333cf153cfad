/**
 * Start/stop cycles under one supervisor, heap after GC before and after:
 * `cycles.ts <n>`. Run by bench/run.ts (group `scale`).
 *
 * A cycle is one child: started (a fresh id, as a server names each
 * connection), connected, stopped (`stopChild`). In every batch of 100, ten
 * also lose their link and fail (`maxRetries: 0`), so they are restarted after
 * their restart backoff (a delayed restart: its timer, its token, an exit
 * event named after a child never seen before), and ten are restarted by hand
 * (`restartChild`). The clock is XState's `SimulatedClock`, advanced past the
 * backoff, so nothing waits in real time. 20,000 cycles warm up first (JIT,
 * XState's caches).
 */
import { SimulatedClock } from 'xstate';
import { createSupervisor, silentLogger } from '../../actors/supervisor.js';
import { flush } from '../../transports/mock/flush.js';
import { mockTransport, type MockTransport } from '../../transports/mock/mock.transport.js';

const n = Number(process.argv[2] ?? 100_000);
const WARM_UP = 20_000;
const BATCH = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const heap = async () => {
  for (let i = 0; i < 3; i++) {
    await flush();
    gc();
  }
  return process.memoryUsage().heapUsed;
};

const clock = new SimulatedClock();
const sup = createSupervisor({ clock, logger: silentLogger, maxRestarts: 1_000, periodMs: 100 });
let restarts = 0;
sup.actor.on('CHILD_STARTED', (e) => void (e.restarted && restarts++));

async function cycle(from: number, count: number) {
  for (let i = from; i < from + count; i += BATCH) {
    const ids: string[] = [];
    const mocks: MockTransport[] = [];
    for (let j = i; j < i + BATCH; j++) {
      const mock = mockTransport();
      sup.startChild({ id: `c${j}`, transport: mock, policy: { maxRetries: 0 } });
      ids.push(`c${j}`);
      mocks.push(mock);
    }
    await flush();
    for (const mock of mocks.slice(0, 10)) mock.drop('lost');
    await flush();
    clock.increment(200); // past the first restart's backoff (100 ms ±10 %)
    await flush();
    for (const id of ids.slice(10, 20)) sup.restartChild(id);
    await flush();
    const down = ids.filter((id) => sup.child(id)?.getSnapshot().status !== 'active');
    if (down.length) throw new Error(`not running before the stop: ${down.join(', ')}`);
    await Promise.all(ids.map((id) => sup.stopChild(id)));
  }
  if (sup.whichChildren().length !== 0) throw new Error(`${sup.whichChildren().length} children left`);
}

await cycle(0, WARM_UP);
const before = await heap();
const t0 = performance.now();
restarts = 0;
await cycle(WARM_UP, n);
const ms = performance.now() - t0;
const after = await heap();
console.log(
  JSON.stringify({
    figure: 'scale_cycles',
    cycles: n,
    restarts,
    ms: Math.round(ms),
    heapBefore: before,
    heapAfter: after,
    growthPct: Number(((100 * (after - before)) / before).toFixed(2)),
  }),
);
await sup.shutdown();
process.exit(0);
