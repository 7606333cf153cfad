/**
 * The WebSocket part of the `scale` bench group (issue 15, section 5):
 * N real WebSocket viewers on one server, raw `ws`, socket.io and a
 * TaskLogHub, each run in its own process (bench/scale/ws-server.ts, with
 * its viewers in processes of their own), rounds interleaved with the first
 * subject rotating. `scaleWsSection()` prints each run's JSON line and
 * returns the markdown section.
 *
 * Environment: BENCH_SCALE_VIEWERS (default 15000), BENCH_SCALE_HUB_VIEWERS
 * (default: the same), BENCH_SCALE_ROUNDS (default 3),
 * BENCH_SCALE_STAGE_TIMEOUT_MS (default 180000, per stage of a run).
 *
 * A run that fails (viewers that do not all connect or come back within the
 * stage timeout) is printed to stderr, listed in the section with its
 * message, and sets a failing exit code; the other runs go on.
 */
import { cpus, loadavg } from 'node:os';
import { runFigure } from '../ipc.js';
import { spread } from '../stats.js';
import { SUBJECTS, type SubjectKind } from '../ws/subjects.js';

interface Storm {
  closeMs: number;
  cpuMs: number;
  downMs: number;
  allBackMs: number;
  accepts: number;
  peakPer100ms: number;
  peakPct: number;
  windows: string;
}
interface Run {
  subject: SubjectKind;
  n: number;
  load1: number;
  connectMs: number;
  connectCpuMs: number;
  heapUsedMB: number;
  bytesPerViewer: number;
  storm: Storm;
}

const TARGET_VIEWERS = 15_000;
const TARGET_HEAP_MB = 200;

const label: Record<SubjectKind, string> = {
  ws: 'raw `ws` (`WebSocketServer`, a line sent on each connection)',
  socketio: 'socket.io (websocket transport only, `socket.emit` on each connection)',
  hub: '`TaskLogHub` (one task per viewer, a line queued for each before it connects)',
};

export function scaleWsSection(): string {
  const N = Number(process.env.BENCH_SCALE_VIEWERS ?? TARGET_VIEWERS);
  const HUB_N = Number(process.env.BENCH_SCALE_HUB_VIEWERS ?? N);
  const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 3);
  const STAGE_MS = Number(process.env.BENCH_SCALE_STAGE_TIMEOUT_MS ?? 180_000);
  const nOf = (s: SubjectKind) => (s === 'hub' ? HUB_N : N);
  const procs = Math.ceil(N / 3750);
  const n = (x: number) => x.toLocaleString('en-US');
  const loadBefore = loadavg()[0]!;
  const runs: Record<SubjectKind, Run[]> = { ws: [], socketio: [], hub: [] };
  const failures: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < SUBJECTS.length; j++) {
      const s = SUBJECTS[(i + j) % SUBJECTS.length]!;
      try {
        // Three stages (connect, confirm, storm) and the start: the run's own timeouts fire first.
        runs[s].push(runFigure('scale/ws-server.ts', [s, String(nOf(s)), '--timeout-ms', String(STAGE_MS)], 4 * STAGE_MS + 60_000) as unknown as Run);
      } catch (e) {
        const message = (e as Error).message;
        console.error(message);
        failures.push(`round ${i + 1}, ${s}: ${message.replaceAll('\n', ' ')}`);
        process.exitCode = 1;
      }
    }
  }
  const loads = spread([loadBefore, loadavg()[0]!, ...SUBJECTS.flatMap((s) => runs[s].map((r) => r.load1))]);

  const fmt = (xs: number[], unit = '') => {
    if (xs.length === 0) return '–';
    const { min, median, max } = spread(xs);
    return `**${n(median)}${unit}** (${n(min)}–${n(max)})`;
  };
  const med = (s: SubjectKind, f: (r: Run) => number) => (runs[s].length ? spread(runs[s].map(f)).median : NaN);
  const row = (s: SubjectKind) => {
    const r = runs[s];
    return `| ${label[s]} | ${n(nOf(s))} | ${r.length} | ${fmt(r.map((x) => x.connectMs), ' ms')} | ${fmt(r.map((x) => x.connectCpuMs), ' ms')} | ${fmt(r.map((x) => x.heapUsedMB), ' MB')} | ${fmt(r.map((x) => x.bytesPerViewer))} |`;
  };
  const stormRow = (s: SubjectKind) => {
    const r = runs[s];
    return `| ${label[s]} | ${n(nOf(s))} | ${fmt(r.map((x) => x.storm.closeMs), ' ms')} | ${fmt(r.map((x) => x.storm.peakPer100ms))} | ${fmt(r.map((x) => x.storm.peakPct), ' %')} | ${fmt(r.map((x) => x.storm.allBackMs), ' ms')} | ${fmt(r.map((x) => x.storm.cpuMs), ' ms')} |`;
  };

  // The heap target: the hub's whole heap with 15,000 viewers.
  const hubHeap = med('hub', (r) => r.heapUsedMB);
  const hubPer = med('hub', (r) => r.bytesPerViewer);
  const heapWhy = `A viewer's bytes are its socket (what raw \`ws\` holds), its supervised connection (issue 15, section 2: what a connection holds) and its task (the queue, and the lines sent kept for \`lastSeq\` resumption).`;
  const measuredAtTarget = HUB_N >= TARGET_VIEWERS && runs.hub.length > 0;
  const heapVerdict = !runs.hub.length
    ? `**Not measured**: no hub run finished (see the failures below).`
    : measuredAtTarget
      ? hubHeap < TARGET_HEAP_MB
        ? `**Met**: ${hubHeap} MB with ${n(HUB_N)} viewers (target < ${TARGET_HEAP_MB} MB).`
        : `**Missed**: ${hubHeap} MB with ${n(HUB_N)} viewers (target < ${TARGET_HEAP_MB} MB), ${n(hubPer)} bytes a viewer against ${n(med('socketio', (r) => r.bytesPerViewer))} for socket.io and ${n(med('ws', (r) => r.bytesPerViewer))} for raw \`ws\`. ${heapWhy}`
      : `**Not measured at ${n(TARGET_VIEWERS)}**: the hub ran with ${n(HUB_N)} viewers (BENCH_SCALE_HUB_VIEWERS). Its heap was ${hubHeap} MB, ${n(hubPer)} bytes a viewer; at that cost ${n(TARGET_VIEWERS)} viewers would take about ${Math.round(hubHeap + ((TARGET_VIEWERS - HUB_N) * hubPer) / 2 ** 20)} MB (target < ${TARGET_HEAP_MB} MB). ${heapWhy}`;
  /** Median per viewer of `f`, as a multiple of raw ws's. */
  const vsWs = (s: SubjectKind, f: (r: Run) => number) => {
    const x = med(s, f) / nOf(s) / (med('ws', f) / N);
    return Number.isFinite(x) ? `${x.toFixed(1)}×` : '–';
  };

  return `## Scale: ${n(N)} WebSocket viewers on one server, and a reconnect storm

Each run is one server process (\`bench/scale/ws-server.ts\`) with its viewers
in ${procs} process${procs === 1 ? '' : 'es'} of their own (\`bench/scale/ws-clients.ts\`,
at most 3,750 sockets each; \`ulimit -n\` is 20,000 per process), all on
127.0.0.1. Each server runs as its users configure it by default (the hub
and socket.io ping every 25 s, raw \`ws\` does not). ${ROUNDS} rounds, the subjects interleaved and the first rotating;
each cell is the **median** (min–max) of the runs. The 1-minute load average
was ${loads.min.toFixed(1)}–${loads.max.toFixed(1)} through the runs (median ${loads.median.toFixed(1)}), on ${cpus().length} cores shared with
other work: the times (and how long the viewers' own processes take) scatter
with it; the server's CPU time and its heap much less.

**Connect.** The viewer processes are started and loaded first, then told to
go at once; each opens its viewers with at most 100 between "opening" and
"first line" at a time. *Time until all are connected* runs from the go to
the moment the server counts every viewer; each viewer must also report the
line every subject sends a new connection (the hub: the line queued for its
task before the viewers came, which a viewer gets on connect). *Heap* is the
server process's \`heapUsed\` after GC with every viewer connected; *bytes a
viewer* is its growth over the bare http server, divided by the viewers (the
hub's includes its task's state).

| server | viewers | runs | time until all are connected | server CPU meanwhile | heap, whole process | bytes a viewer |
|---|---|---|---|---|---|---|
${SUBJECTS.map(row).join('\n')}

- Total heap with ${n(TARGET_VIEWERS)} hub viewers, target < ${TARGET_HEAP_MB} MB: ${heapVerdict}
- Time until all are connected, per viewer, against raw \`ws\` (no target): hub ${vsWs('hub', (r) => r.connectMs)}, socket.io ${vsWs('socketio', (r) => r.connectMs)}; the server's CPU per viewer meanwhile: hub ${vsWs('hub', (r) => r.connectCpuMs)}, socket.io ${vsWs('socketio', (r) => r.connectCpuMs)}. The hub makes each viewer a supervised connection (\`supervisor.adopt\`): its time is what a connection costs to start, beside what a socket costs to accept (issue 15, section 1).

**Reconnect storm.** The server stops listening and closes gracefully (raw
\`ws\`: 1001 to every client; socket.io: \`io.close()\`; the hub:
\`hub.close()\`), then a new server (the hub: a new \`TaskLogHub\`, a line
queued for every task) listens on the same port, 1 s after the close began or
when it ended, whichever is later. Every viewer retries on its own, on
socket.io-client's default schedule (1 s doubling to 5 s, ±50 %): raw \`ws\`
and hub viewers are \`ws\` clients with that retry loop, socket.io's are
socket.io-client with its built-in reconnection. TCP accepts are counted per
100 ms from the new listen; *all back* is when the server counts every viewer
again (and each has had its line). A close that takes longer than about 7 s
puts every viewer's retries on the 5 s cap, so storms after closes of
different lengths compare.

| server | viewers | close | peak accepts per 100 ms | as % of viewers | all back | server CPU, close to all back |
|---|---|---|---|---|---|---|
${SUBJECTS.map(stormRow).join('\n')}

Accepts per 100 ms after the restart, the first 4 s (median run by peak):

${SUBJECTS.filter((s) => runs[s].length)
  .map((s) => {
    const sorted = [...runs[s]].sort((a, b) => a.storm.peakPer100ms - b.storm.peakPer100ms);
    return `- ${s}: ${sorted[Math.floor((sorted.length - 1) / 2)]!.storm.windows}`;
  })
  .join('\n')}
${failures.length ? `\n**Failed runs** (not in the tables):\n\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}`;
}
