/**
 * The `scale` group's sections (issue 15) on starting and cycling
 * connections, written by bench/run.ts. Each takes the runner that starts a
 * subject in its own process and returns its markdown.
 */
import { cpus, loadavg } from 'node:os';

type Figure = Record<string, number | string>;
/** Run `bench/<script> ...args` in its own process (with --expose-gc) and return its last JSON line. */
export type RunSubject = (script: string, ...args: string[]) => Figure;

const SUBJECTS = ['statewire', 'machine', 'bare'] as const;
type Subject = (typeof SUBJECTS)[number];
const LABEL: Record<Subject, string> = {
  statewire: '`createSupervisor()` + `startChild` (mock transport)',
  machine: '`connectionMachine` root actors, no supervisor',
  bare: 'bare XState actor with one invoked callback (bench/bare.ts)',
};

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs)} / ${median(xs)} / ${Math.max(...xs)}`;
const fmt = (n: number) => n.toLocaleString('en-US');
/** The log-log slope between two sizes: 1 is linear, 2 quadratic. */
const slope = (n1: number, t1: number, n2: number, t2: number) => Math.log(t2 / t1) / Math.log(n2 / n1);
const met = (ok: boolean) => (ok ? 'met' : '**missed**');

export function startSection(node: RunSubject): string {
  const sizes = (process.env.BENCH_SCALE_SIZES ?? '1000,10000,100000').split(',').map(Number);
  const rounds = Number(process.env.BENCH_SCALE_ROUNDS ?? 3);
  const load = loadavg()[0]!.toFixed(1);
  const runs: Record<Subject, Record<number, Figure[]>> = { statewire: {}, machine: {}, bare: {} };
  for (const s of SUBJECTS) for (const n of sizes) runs[s][n] = [];
  // Interleaved: each round runs every size and subject, the first subject rotating.
  for (let r = 0; r < rounds; r++) {
    for (const n of sizes) {
      for (let j = 0; j < SUBJECTS.length; j++) {
        const s = SUBJECTS[(r + j) % SUBJECTS.length]!;
        runs[s][n]!.push(node('scale/start.ts', s, String(n)));
      }
    }
  }
  const values = (s: Subject, n: number, key: string) => runs[s][n]!.map((f) => Number(f[key]));
  const med = (s: Subject, n: number, key = 'startMs') => median(values(s, n, key));
  const [small, mid, large] = [sizes[0]!, sizes[Math.min(1, sizes.length - 1)]!, sizes.at(-1)!];
  const rows = sizes.flatMap((n) =>
    SUBJECTS.map(
      (s) =>
        `| ${fmt(n)} | ${LABEL[s]} | ${spread(values(s, n, 'startMs'))} | ${spread(values(s, n, 'cpuMs'))} | ${fmt(med(s, n, 'gcMs'))} | ${fmt(med(s, n, 'bytesPerConnection'))} |`,
    ),
  );
  const exponent = (s: Subject, key = 'startMs') => slope(small, med(s, small, key), large, med(s, large, key));
  const upper = (s: Subject, key = 'startMs') => slope(mid, med(s, mid, key), large, med(s, large, key));
  const growth = med('statewire', large) / med('statewire', mid);
  const growthRounds = runs.statewire[large]!.map((f, i) => (Number(f.startMs) / Number(runs.statewire[mid]![i]!.startMs)).toFixed(1)).join(', ');
  const growthCpu = med('statewire', large, 'cpuMs') / med('statewire', mid, 'cpuMs');
  const vsBare = med('statewire', mid) / med('bare', mid);
  const vsBareRounds = runs.statewire[mid]!.map((f, i) => (Number(f.startMs) / Number(runs.bare[mid]![i]!.startMs)).toFixed(2)).join(', ');
  const vsBareCpu = med('statewire', mid, 'cpuMs') / med('bare', mid, 'cpuMs');
  const vsMachineCpu = med('statewire', mid, 'cpuMs') / med('machine', mid, 'cpuMs');
  return `## Scale: starting ${sizes.map(fmt).join(' / ')} connections

Each subject starts n connections on the mock transport in its own process
and waits until every one is connected (each actor's snapshot read after
each macrotask turn). Time is from the first start to all connected: wall
clock, and the process's CPU time (user + system, \`process.cpuUsage\`: on a
machine shared with other work it is steadier than the wall clock; it can
exceed it, the garbage collector has threads of its own). GC pauses: the
main thread's, summed while starting (\`PerformanceObserver\`, \`gc\`). Heap is
per connection, after GC. ${rounds} round${rounds === 1 ? '' : 's'}, each running every size and subject,
the first subject rotating; min / median / max of the rounds. 1-minute load
average at the start: ${load} on ${cpus().length} cores.

| n | subject | start, ms wall (min / median / max) | CPU ms (min / median / max) | GC pauses, ms (median) | heap bytes per connection (median) |
|---|---|---|---|---|---|
${rows.join('\n')}

| target | figure | |
|---|---|---|
| ${fmt(large)} start in ≤ 12× the time of ${fmt(mid)} (supervised) | **${growth.toFixed(1)}×** wall (per round: ${growthRounds}); ${growthCpu.toFixed(1)}× CPU (root connection actors: ${(med('machine', large, 'cpuMs') / med('machine', mid, 'cpuMs')).toFixed(1)}×) | ${met(growth <= 12)} |
| ${fmt(mid)} supervised start in ≤ 3× the time of ${fmt(mid)} bare actors | **${vsBare.toFixed(2)}×** wall (per round: ${vsBareRounds}); ${vsBareCpu.toFixed(2)}× CPU | ${met(vsBare <= 3)} |
| growth exponent ≤ 1.1 (log-log slope of the median wall time, ${fmt(small)} → ${fmt(large)}) | **${exponent('statewire').toFixed(2)}** (CPU: ${exponent('statewire', 'cpuMs').toFixed(2)}; ${fmt(mid)} → ${fmt(large)}: ${upper('statewire').toFixed(2)}) | ${met(exponent('statewire') <= 1.1)} |

On this shared machine one round can differ from the next by 2–3× in wall
time (see min and max, and the load average above): read the medians and the
CPU time, not a single round.

The same slopes for the other subjects: root \`connectionMachine\` actors
${exponent('machine').toFixed(2)}, bare actors ${exponent('bare').toFixed(2)} (${fmt(mid)} → ${fmt(large)}: ${upper('machine').toFixed(2)} and
${upper('bare').toFixed(2)}). The smallest size carries the JIT's warm-up, which flattens the
slopes from it; between the larger sizes the garbage collector's share grows
with the heap, for every subject.

Supervised connections cost ${vsMachineCpu.toFixed(2)}× the CPU of the same
connection actors started as roots with no supervisor: the supervision tree
itself (registries, handle, events) is no longer what starting costs. What is
left between a supervised connection and a bare actor is the connection
actor itself (the connection machine, its transport actor), which the
lighter-connection part of issue 15 works on. Before the tree changed, the
supervisor spawned every child with XState's \`spawn\`, which copies the
parent's \`children\` map each time: 10,000 children took about 27 s and
100,000 would have taken hours (O(n²)).
`;
}

export function cyclesSection(node: RunSubject): string {
  const n = Number(process.env.BENCH_SCALE_CYCLES ?? 100_000);
  const f = node('scale/cycles.ts', String(n));
  const growth = Number(f.growthPct);
  const mb = (b: number | string) => (Number(b) / 2 ** 20).toFixed(1);
  return `## Scale: ${fmt(n)} start/stop cycles under one supervisor

A cycle is one child: started under a fresh id (as a server names each
connection), connected, stopped with \`stopChild\`; in each batch of 100,
ten also fail (lost link, \`maxRetries: 0\`) and are restarted after their
restart backoff, and ten are restarted by hand (\`restartChild\`): ${fmt(Number(f.restarts))}
restarts in all. XState's \`SimulatedClock\` is advanced past the backoff, so
nothing waits in real time. 20,000 cycles warm up first (JIT, XState's
caches); heap after GC before and after.

| cycles | time | heap before | heap after | growth |
|---|---|---|---|---|
| ${fmt(n)} | ${fmt(Number(f.ms))} ms | ${mb(f.heapBefore!)} MiB | ${mb(f.heapAfter!)} MiB | **${growth.toFixed(1)} %** |

Target: within 5 % — ${met(Math.abs(growth) <= 5)}. Before issue 15, each child that
failed or crashed left about 200 bytes behind for good: XState memoizes a
state node's transitions per event type, and a child's exit arrives as
\`xstate.done.actor.<its id>\`; the supervisor machine now reads it as
\`CHILD_DONE\` (or \`CHILD_ERROR\`).
`;
}
