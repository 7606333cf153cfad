/**
 * Start n mock-transport connections and wait until every one is connected:
 * wall time, CPU time, heap per connection after GC. Run by bench/run.ts
 * (group `scale`), one subject per process: `start.ts <statewire|bare> <n>`.
 *
 * - statewire: `createSupervisor()` (its defaults) and `startChild({ id, transport: mockTransport() })` n times;
 * - machine: n root `connectionMachine` actors, no supervisor (what the connections cost by themselves);
 * - bare: n root XState actors with one invoked callback each (bench/bare.ts), the anchor of the core group.
 *
 * Both are counted connected the same way: every actor's snapshot, read
 * after each macrotask turn.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { createActor } from 'xstate';
import { createSupervisor, type Supervisor } from '../../actors/supervisor.js';
import { connectionMachine } from '../../machines/connection.machine.js';
import { topState } from '../../machines/state.js';
import { mockTransport } from '../../transports/mock/mock.transport.js';
import { bareMachine } from '../bare.js';

const [subject = 'statewire', nArg = '10000'] = process.argv.slice(2);
const n = Number(nArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const turn = () => new Promise((r) => setImmediate(r));
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    await turn();
    gc();
  }
};

type Snap = { value: unknown };
const refs: Array<{ getSnapshot(): Snap }> = [];
let sup: Supervisor | undefined;

await settle();
// Time the main thread spent paused for GC while starting (the GC's own threads are in the CPU time).
let gcMs = 0;
const gcs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
gcs.observe({ entryTypes: ['gc'] });
const heapBefore = process.memoryUsage().heapUsed;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
if (subject === 'statewire') {
  sup = createSupervisor();
  for (let i = 0; i < n; i++) refs.push(sup.startChild({ id: `c${i}`, transport: mockTransport() }) as { getSnapshot(): Snap });
} else if (subject === 'machine') {
  for (let i = 0; i < n; i++) refs.push(createActor(connectionMachine, { input: { id: `c${i}`, transport: mockTransport(), autoConnect: true } }).start() as { getSnapshot(): Snap });
} else if (subject === 'bare') {
  for (let i = 0; i < n; i++) refs.push(createActor(bareMachine, { input: { transport: mockTransport() } }).start());
} else {
  throw new TypeError(`subject must be statewire, machine or bare, got ${subject}`);
}
const state = subject !== 'bare' ? (s: Snap) => topState(s as never) : (s: Snap) => s.value;
let turns = 0;
for (;;) {
  await turn();
  turns++;
  let connected = 0;
  for (const ref of refs) if (state(ref.getSnapshot()) === 'connected') connected++;
  if (connected === n) break;
  if (turns > 10_000) throw new Error(`only ${connected} of ${n} connected`);
}
const startMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setImmediate(r)); // the observer is told asynchronously
gcs.disconnect();
await settle();
const heapAfter = process.memoryUsage().heapUsed;
// Read after the heap: V8 may drop a variable it sees no later read of, and the heap would be measured without the actors.
let alive = 0;
for (const ref of refs) if (state(ref.getSnapshot()) === 'connected') alive++;
if (alive !== n || (sup && sup.whichChildren().length !== n)) throw new Error(`${alive} of ${n} still connected after the heap was read`);
console.log(
  JSON.stringify({
    figure: 'scale_start',
    subject,
    n,
    startMs: Math.round(startMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    gcMs: Math.round(gcMs),
    bytesPerConnection: Math.round((heapAfter - heapBefore) / n),
    turns,
  }),
);
process.exit(0);
