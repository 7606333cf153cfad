/** Heap bytes per connected connection actor. Run by bench/run.ts: `heap.ts <statewire|bare> <n>`. */
import { createActor } from 'xstate';
import { createSupervisor } from '../actors/supervisor.js';
import { mockTransport } from '../transports/mock/mock.transport.js';
import { bareMachine } from './bare.js';

const [mode = 'statewire', nArg = '10000'] = process.argv.slice(2);
const n = Number(nArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
};

await settle();
const before = process.memoryUsage().heapUsed;
const t0 = performance.now();
const keep: unknown[] = [];
if (mode === 'statewire') {
  const sup = createSupervisor();
  for (let i = 0; i < n; i++) sup.startChild({ id: `c${i}`, transport: mockTransport() });
  keep.push(sup);
  await settle();
  const connected = sup.whichChildren().filter((c) => c.state === 'connected').length;
  if (connected !== n) throw new Error(`only ${connected} of ${n} connected`);
} else {
  for (let i = 0; i < n; i++) keep.push(createActor(bareMachine, { input: { transport: mockTransport() } }).start());
  await settle();
  const connected = keep.filter((a) => (a as { getSnapshot(): { value: unknown } }).getSnapshot().value === 'connected').length;
  if (connected !== n) throw new Error(`only ${connected} of ${n} connected`);
}
const ms = performance.now() - t0;
await settle();
const after = process.memoryUsage().heapUsed;
// For bench/heap-diff.ts: where the bytes go.
if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
console.log(JSON.stringify({ figure: 'heap_bytes_per_connection', subject: mode, n, bytesPerConnection: Math.round((after - before) / n), startMs: Math.round(ms) }));
keep.length = 0;
process.exit(0);
